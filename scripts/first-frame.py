# Time from exec to the first dashboard frame, read back through a pseudo-terminal.
# Usage: cargo build --release && python3 scripts/first-frame.py target/release/heaplab
import os, pty, select, signal, sys, time, struct, fcntl, termios, statistics
def once(binary):
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.execv(binary, [binary])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    start = time.monotonic(); seen = b""
    while True:
        r, _, _ = select.select([fd], [], [], 5)
        if not r: raise SystemExit("no frame in 5 s")
        seen += os.read(fd, 65536)
        if b"04-04" in seen and b"quit" in seen:
            t = time.monotonic() - start; break
    os.write(fd, b"q"); os.waitpid(pid, 0); os.close(fd)
    return t * 1000
times = [once(sys.argv[1]) for _ in range(10)]
print(f"first frame: median {statistics.median(times):.0f} ms, max {max(times):.0f} ms over {len(times)} starts")

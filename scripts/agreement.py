"""Do heaplab's three views agree on throughput?

For every experiment's `naive` and `optimized` variant this measures operations per second
three ways, one after the other (never in parallel):

  dashboard  `heaplab run ID --variant V --record F.csv` in a 140x40 pseudo-terminal for
             --seconds, then `q`; ops / measured_secs of the last `running` row of F.csv
             (the recorded counters are cumulative since the warm-up ended)
  trace      `heaplab run ID --variant V --trace --duration SECONDS --interval 0.5`;
             the median of the lines' ops_per_sec
  bench      `heaplab bench ID --variant V --format json --time 1`; results[0].ops_per_sec

and prints a Markdown table with the ratios dashboard/bench and trace/bench, then how many
rows have both ratios within 20% (0.80..1.25). Progress goes to stderr.

Usage (standard library only, Python 3.11):
  cargo build --release && python3 scripts/agreement.py [--exe target/release/heaplab] [--seconds 4] [IDS...]
With no IDS, every experiment in `heaplab list --format json`.
"""
import argparse, csv, fcntl, json, os, select, statistics, struct, subprocess, sys, tempfile, termios, time

VARIANTS = ("naive", "optimized")
LOW, HIGH = 0.80, 1.25


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def drain(fd, seconds):
    """Read and discard whatever the program writes to the terminal for `seconds`."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if select.select([fd], [], [], min(left, 0.1))[0]:
            try:
                if not os.read(fd, 65536):
                    return
            except OSError:  # EIO: the slave side is closed, the program has gone
                return


def dashboard(exe, exp, variant, seconds):
    with tempfile.TemporaryDirectory() as tmp:
        record = os.path.join(tmp, "record.csv")
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
        env = dict(os.environ, TERM="xterm-256color")
        proc = subprocess.Popen(
            [exe, "run", exp, "--variant", variant, "--record", record],
            stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))  # make it the controlling tty
        os.close(slave)
        try:
            drain(master, seconds)
            os.write(master, b"q")
            end = time.monotonic() + 10
            while proc.poll() is None and time.monotonic() < end:
                drain(master, 0.1)
            if proc.poll() is None:
                log("  dashboard did not exit within 10 s of 'q': killed")
                proc.kill()
                proc.wait()
                return None
        finally:
            os.close(master)
        if proc.returncode != 0:
            log(f"  dashboard exited with status {proc.returncode}")
        try:
            with open(record, newline="") as f:
                rows = [r for r in csv.DictReader(f) if r["phase"] == "running"]
        except (OSError, KeyError, csv.Error) as e:
            log(f"  dashboard record unreadable: {e}")
            return None
        if not rows:
            log("  dashboard record has no 'running' row")
            return None
        last = rows[-1]
        secs = float(last["measured_secs"])
        return int(last["ops"]) / secs if secs > 0 else None


def trace(exe, exp, variant, seconds):
    cmd = [exe, "run", exp, "--variant", variant, "--trace",
           "--duration", f"{seconds:g}", "--interval", "0.5"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        log("  trace timed out")
        return None
    rates = [float(field.split("=", 1)[1]) for line in out.stdout.splitlines()
             for field in line.split() if field.startswith("ops_per_sec=")]
    if out.returncode != 0 or not rates:
        log(f"  trace: status {out.returncode}, {len(rates)} lines; {out.stderr.strip()[-200:]}")
    return statistics.median(rates) if rates else None


def bench(exe, exp, variant):
    cmd = [exe, "bench", exp, "--variant", variant, "--format", "json", "--time", "1"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        result = json.loads(out.stdout)["results"][0]
    except (subprocess.TimeoutExpired, ValueError, KeyError, IndexError) as e:
        log(f"  bench failed: {type(e).__name__} {e}")
        return None
    if result.get("status") != "ok":
        log(f"  bench row status {result.get('status')}: {result.get('error')}")
        return None
    return result.get("ops_per_sec")


def rate(x):
    """3 significant digits with a k or M suffix: 660, 95.5 k, 1.25 M."""
    if x is None:
        return "n/a"
    x = float(f"{x:.3g}")
    for div, suffix in ((1e6, " M"), (1e3, " k"), (1, "")):
        if x >= div or div == 1:
            v = x / div
            return (f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}") + suffix


def ratio(a, b):
    return a / b if a is not None and b else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exe", default="target/release/heaplab")
    ap.add_argument("--seconds", type=float, default=4.0,
                    help="how long the dashboard and the trace run (default 4)")
    ap.add_argument("ids", nargs="*", help="experiment ids (default: all)")
    args = ap.parse_args()
    exe = os.path.abspath(args.exe)

    try:
        catalog = json.loads(subprocess.run([exe, "list", "--format", "json"], check=True,
                                            capture_output=True, text=True).stdout)
    except (OSError, subprocess.CalledProcessError, ValueError) as e:
        sys.exit(f"cannot list experiments with {exe}: {e}")
    variants = {e["id"]: {v["name"] for v in e["variants"]} for e in catalog}
    ids = args.ids or [e["id"] for e in catalog]
    for i in ids:
        if i not in variants:
            sys.exit(f"unknown experiment {i!r}; known: {', '.join(variants)}")

    print("| experiment | variant | dashboard ops/s | trace ops/s | bench ops/s | dashboard/bench | trace/bench |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    rows, outliers = 0, []
    for exp in ids:
        for v in VARIANTS:
            if v not in variants[exp]:
                log(f"{exp}: no variant {v}, skipped")
                continue
            log(f"{exp} {v}: dashboard {args.seconds:g} s, trace {args.seconds:g} s, bench 1 s")
            d = dashboard(exe, exp, v, args.seconds)
            t = trace(exe, exp, v, args.seconds)
            b = bench(exe, exp, v)
            rd, rt = ratio(d, b), ratio(t, b)
            cells = [rate(d), rate(t), rate(b)] + ["n/a" if r is None else f"{r:.2f}" for r in (rd, rt)]
            print(f"| {exp} | {v} | " + " | ".join(cells) + " |", flush=True)
            rows += 1
            if not all(r is not None and LOW <= r <= HIGH for r in (rd, rt)):
                outliers.append(f"{exp} {v} ({cells[3]}, {cells[4]})")
    print(f"\n{rows - len(outliers)} of {rows} rows have dashboard/bench and trace/bench both "
          f"within 20% ({LOW:.2f}..{HIGH:.2f})" +
          (f"; not: {'; '.join(outliers)}" if outliers else "."))


if __name__ == "__main__":
    main()

//! The CI example of docs/ci.md, run as a CI job would: `scripts/ci-memory.sh` on two builds
//! of a small user crate, the base and a change that brings back an allocation. The change
//! fails the job and the comment shows the regression; the base against itself passes.

mod user_crate;

use std::process::Command;

use user_crate::UserCrate;

/// A lab whose `reused` variant keeps its buffer (`change`: allocates a new one per call).
fn lab(reused_body: &str) -> String {
    format!(
        r#"
#[global_allocator]
static ALLOC: heaplab::Counting = heaplab::Counting::system();

fn main() -> std::process::ExitCode {{
    heaplab::Lab::new()
        .experiment("join", |e| {{
            e.size("words", 16)
                .variant("fresh", |size| move || vec!["word"; size].join(" ").len())
                .variant("reused", |size| {{
                    let mut buffer = String::with_capacity(size * 5);
                    move || {{
                        {reused_body}
                        for _ in 0..size {{
                            buffer.push_str("word ");
                        }}
                        buffer.trim_end().len()
                    }}
                }})
        }})
        .main()
}}
"#
    )
}

#[test]
fn the_ci_script_fails_a_change_that_allocates_and_passes_one_that_does_not() {
    let built = UserCrate::new()
        .bin("base", &lab("buffer.clear();"))
        .bin("change", &lab("buffer = String::with_capacity(size * 5);"))
        .build();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/ci-memory.sh");
    let run = |base: &str, new: &str| {
        let dir = built.dir.path().join(format!("ci-{base}-{new}"));
        let out = Command::new("sh")
            .arg(script)
            .arg(built.bin(base))
            .arg(built.bin(new))
            .env("HEAPLAB_CI_DIR", &dir)
            .env("HEAPLAB_CI_ITERATIONS", "200")
            .env("HEAPLAB_CI_RUNS", "2")
            .output()
            .expect("sh runs");
        let comment = std::fs::read_to_string(dir.join("comment.md")).unwrap_or_default();
        (out, comment)
    };

    let (out, comment) = run("base", "change");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}\n{comment}");
    assert!(
        stderr.contains("regression: join reused (size 16): allocs/op 0 → 1.00"),
        "{stderr}"
    );
    // The comment: what a pull request shows, the regression first.
    assert!(comment.contains("reused"), "{comment}");
    assert!(comment.contains("0 → 1.00"), "{comment}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        comment,
        "the script prints the comment"
    );

    let (out, comment) = run("base", "base");
    assert!(
        out.status.success(),
        "{}\n{comment}",
        String::from_utf8_lossy(&out.stderr)
    );
}

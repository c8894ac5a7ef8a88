//! Independent verifiers written against the reference libraries (Standard
//! Webhooks, Stripe), run from the venv `scripts/test-deps.sh` prepares.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `tests/peers/<script>` with `input` on stdin and returns its stdout;
/// panics with its stderr when it fails.
pub fn run_peer(script: &str, args: &[&str], input: &str) -> String {
    let root = crate::workspace_root().join("tests");
    let python = root.join("../.tools/moto/bin/python");
    assert!(
        python.exists(),
        "the test venv is missing at {}: run scripts/test-deps.sh",
        python.display()
    );
    let mut child = Command::new(python)
        .arg(root.join("peers").join(script))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("python output");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

//! The deployment files in `deploy/` are what docs/deploy.md installs: the
//! systemd units pass `systemd-analyze verify`, pointed at the binaries this
//! build made (verify checks that ExecStart is executable).

use std::process::Command;

use cartback_testing::process::bin_path;
use cartback_testing::workspace_root;

#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "SKIPPED: systemd-analyze is not installed, so the units in deploy/systemd cannot be verified here"
        );
        return;
    }
    let units = workspace_root().join("deploy/systemd");
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = bin_path("cartback-api")
        .parent()
        .unwrap()
        .display()
        .to_string();
    let mut copies = Vec::new();
    for name in ["cartback-api.service", "cartback-worker.service"] {
        let text = std::fs::read_to_string(units.join(name)).unwrap();
        assert!(
            text.contains("ExecStart=/usr/local/bin/"),
            "{name} runs the binaries docs/deploy.md installs"
        );
        assert!(
            text.contains("EnvironmentFile=/etc/cartback/cartback.env"),
            "{name}"
        );
        let copy = dir.path().join(name);
        std::fs::write(
            &copy,
            text.replace("/usr/local/bin/", &format!("{bin_dir}/")),
        )
        .unwrap();
        copies.push(copy);
    }
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .args(&copies)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "systemd-analyze verify: {stderr}");
    // Verify warns about unknown settings and bad values without failing.
    assert!(stderr.trim().is_empty(), "systemd-analyze verify: {stderr}");
}

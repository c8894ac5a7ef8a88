//! A real SMTP server for tests: maildev 3.0.0, installed into `.tools/maildev` by
//! `scripts/test-deps.sh`, read back through its REST API (`GET /api/email`).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::process::{Running, free_port, wait_for};

pub struct Maildev {
    pub smtp_port: u16,
    pub web_port: u16,
    _process: Running,
    http: reqwest::blocking::Client,
}

fn maildev_bin() -> PathBuf {
    let root = crate::workspace_root();
    let bin = root.join(".tools/maildev/node_modules/.bin/maildev");
    assert!(
        bin.exists(),
        "maildev is not installed at {}: run scripts/test-deps.sh",
        bin.display()
    );
    bin
}

impl Maildev {
    pub fn start() -> Maildev {
        Maildev::start_with(&[])
    }

    /// With SMTP authentication required: `user` / `pass`.
    pub fn start_with_auth(user: &str, pass: &str) -> Maildev {
        Maildev::start_with(&["--incoming-user", user, "--incoming-pass", pass])
    }

    /// Implicit TLS (SMTPS) with the given certificate and key.
    pub fn start_implicit_tls(cert: &std::path::Path, key: &std::path::Path) -> Maildev {
        Maildev::start_with(&[
            "--incoming-secure",
            "--incoming-cert",
            &cert.to_string_lossy(),
            "--incoming-key",
            &key.to_string_lossy(),
        ])
    }

    /// Plain SMTP that offers STARTTLS with the given certificate and key.
    pub fn start_starttls(cert: &std::path::Path, key: &std::path::Path) -> Maildev {
        Maildev::start_with(&[
            "--incoming-cert",
            &cert.to_string_lossy(),
            "--incoming-key",
            &key.to_string_lossy(),
        ])
    }

    fn start_with(extra: &[&str]) -> Maildev {
        let smtp_port = free_port();
        let web_port = free_port();
        let child = Command::new(maildev_bin())
            .args(extra)
            .args([
                "--ip",
                "127.0.0.1",
                "--web-ip",
                "127.0.0.1",
                "-s",
                &smtp_port.to_string(),
                "-w",
                &web_port.to_string(),
                "--silent",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn maildev");
        let maildev = Maildev {
            smtp_port,
            web_port,
            _process: Running {
                child,
                name: "maildev".to_owned(),
            },
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("http client"),
        };
        // Node takes seconds to start on a busy machine; what is tested comes after.
        wait_for("maildev to listen", Duration::from_secs(120), || {
            maildev.try_emails().is_some()
                && std::net::TcpStream::connect(("127.0.0.1", smtp_port)).is_ok()
        });
        maildev
    }

    pub fn smtp_url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.smtp_port)
    }

    fn try_emails(&self) -> Option<Vec<Value>> {
        let url = format!("http://127.0.0.1:{}/api/email", self.web_port);
        self.http.get(url).send().ok()?.json().ok()
    }

    /// Every email the server has received, as maildev's JSON.
    /// The worker's environment for sending through this server.
    pub fn worker_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("CARTBACK_EMAIL_PROVIDER", "smtp".to_owned()),
            ("CARTBACK_SMTP_URL", self.smtp_url()),
        ]
    }

    pub fn emails(&self) -> Vec<Value> {
        self.try_emails().expect("maildev /api/email")
    }

    /// The raw RFC 5322 source of one email, headers included (maildev's JSON
    /// keeps only a few headers).
    pub fn source(&self, id: &str) -> String {
        let url = format!("http://127.0.0.1:{}/api/email/{id}/source", self.web_port);
        self.http
            .get(url)
            .send()
            .and_then(|r| r.text())
            .expect("maildev source")
    }

    /// Recipient addresses of every email received.
    pub fn recipients(&self) -> Vec<String> {
        self.emails()
            .iter()
            .flat_map(|mail| {
                mail["to"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|to| to["address"].as_str().map(str::to_owned))
            })
            .collect()
    }
}

/// An SMTP server that offers STARTTLS and refuses mail before the upgrade:
/// nodemailer's smtp-server (`tests/peers/starttls-smtp.js`), since maildev hides
/// STARTTLS. Each accepted message lands as `<n>.eml` in [`StartTlsPeer::received`].
pub struct StartTlsPeer {
    pub port: u16,
    dir: tempfile::TempDir,
    _process: Running,
}

impl StartTlsPeer {
    pub fn start(cert: &std::path::Path, key: &std::path::Path) -> StartTlsPeer {
        let root = crate::workspace_root().join("tests");
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let child = Command::new("node")
            .arg(root.join("peers/starttls-smtp.js"))
            .arg(port.to_string())
            .arg(cert)
            .arg(key)
            .arg(dir.path())
            .env("NODE_PATH", root.join("../.tools/maildev/node_modules"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn node (the STARTTLS peer)");
        let peer = StartTlsPeer {
            port,
            dir,
            _process: Running {
                child,
                name: "starttls-smtp".to_owned(),
            },
        };
        wait_for(
            "the STARTTLS peer to listen",
            Duration::from_secs(120),
            || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
        );
        peer
    }

    /// The raw messages accepted so far, oldest first.
    pub fn received(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("read peer dir")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).expect("read eml"))
            .collect()
    }
}

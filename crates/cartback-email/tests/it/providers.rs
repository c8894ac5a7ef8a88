//! The file and SMTP adapters against real peers: the file system and maildev.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use cartback_email::conformance::{Received, check_received, sample_message};
use cartback_testing::maildev::{Maildev, StartTlsPeer};
use cartback_testing::tls::TestCa;

use crate::common::raw::received_from_raw;
use cartback_email::{
    EmailError, EmailMessage, EmailProvider, FileProvider, Idempotency, Mailbox, SmtpConfig,
    SmtpProvider,
};

fn message(key: &str) -> EmailMessage {
    EmailMessage {
        from: Mailbox {
            name: Some("Zoë's Shop".to_owned()),
            email: "shop@example.com".to_owned(),
        },
        to: Mailbox {
            name: Some("Sam\r\nBcc: evil@example.net".to_owned()),
            email: "sam@example.com".to_owned(),
        },
        reply_to: None,
        subject: "Ihr Warenkorb wartet – 🛒".to_owned(),
        html: "<p>Your <b>cart</b></p>".to_owned(),
        text: "Your cart".to_owned(),
        headers: vec![
            (
                "List-Unsubscribe".to_owned(),
                "<https://cartback.example/u/tok>".to_owned(),
            ),
            (
                "List-Unsubscribe-Post".to_owned(),
                "List-Unsubscribe=One-Click".to_owned(),
            ),
        ],
        idempotency_key: key.to_owned(),
        tags: vec!["step-1".to_owned()],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_provider_writes_one_safe_eml_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let provider = FileProvider::new(dir.path().join("outbox"));
    assert!(matches!(provider.idempotency(), Idempotency::Keyed { .. }));
    provider.send(&message("cart_1:0:0")).await.unwrap();
    provider.send(&message("cart_1:0:0")).await.unwrap();
    let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(
        files.len(),
        1,
        "a retry with the same key replaces, never adds"
    );
    let eml = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(eml.contains("multipart/alternative"));
    assert!(eml.contains("text/plain") && eml.contains("text/html"));
    assert!(eml.contains("List-Unsubscribe: <https://cartback.example/u/tok>"));
    let subject = eml.lines().find(|l| l.starts_with("Subject: ")).unwrap();
    assert!(
        subject.is_ascii() && subject.contains("=?"),
        "unicode subject is encoded: {subject}"
    );
    assert!(
        !eml.lines()
            .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
        "no header injection:\n{eml}"
    );
    assert!(eml.contains("Message-ID: <cart_1.0.0@example.com>"));
    assert!(
        !std::fs::read_dir(dir.path().join("outbox"))
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".tmp")),
        "no temporary file is left behind"
    );
}

#[tokio::test]
async fn invalid_headers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let provider = FileProvider::new(dir.path());
    let mut bad = message("k");
    bad.headers
        .push(("X-Evil".to_owned(), "a\r\nBcc: x@y.z".to_owned()));
    assert!(matches!(
        provider.send(&bad).await,
        Err(EmailError::InvalidMessage(_))
    ));
    let mut bad = message("k");
    bad.headers.push(("Bad Name".to_owned(), "v".to_owned()));
    assert!(matches!(
        provider.send(&bad).await,
        Err(EmailError::InvalidMessage(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_delivers_to_a_real_server() {
    let maildev = tokio::task::spawn_blocking(Maildev::start).await.unwrap();
    let provider = SmtpProvider::new(SmtpConfig::from_url(&maildev.smtp_url()).unwrap()).unwrap();
    assert_eq!(provider.idempotency(), Idempotency::None);
    provider.send(&message("cart_9:0:1")).await.unwrap();
    let (emails, source) = tokio::task::spawn_blocking(move || {
        let emails = maildev.emails();
        let source = maildev.source(emails[0]["id"].as_str().unwrap());
        (emails, source)
    })
    .await
    .unwrap();
    assert_eq!(emails.len(), 1);
    let mail = &emails[0];
    assert_eq!(mail["subject"], "Ihr Warenkorb wartet – 🛒");
    assert_eq!(mail["to"][0]["address"], "sam@example.com");
    assert_eq!(mail["from"][0]["address"], "shop@example.com");
    assert_eq!(mail["from"][0]["name"], "Zoë's Shop");
    assert_eq!(mail["text"].as_str().unwrap().trim(), "Your cart");
    assert!(mail["html"].as_str().unwrap().contains("<b>cart</b>"));
    assert!(
        source.contains("List-Unsubscribe: <https://cartback.example/u/tok>\r\n"),
        "{source}"
    );
    assert!(source.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
    assert!(
        !source.to_ascii_lowercase().contains("\r\nbcc:"),
        "no header injection"
    );
    assert!(mail["calculatedBcc"].as_array().is_none_or(Vec::is_empty));
}

/// A scripted SMTP server: greets, accepts EHLO and MAIL, answers RCPT with `reply`.
async fn scripted_server(reply: &'static str) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 test ESMTP\r\n").await.unwrap();
        while let Ok(Some(line)) = lines.next_line().await {
            let upper = line.to_ascii_uppercase();
            let answer = if upper.starts_with("EHLO") {
                "250 test\r\n".to_owned()
            } else if upper.starts_with("RCPT") {
                format!("{reply}\r\n")
            } else if upper.starts_with("QUIT") {
                let _ = write.write_all(b"221 bye\r\n").await;
                break;
            } else {
                "250 ok\r\n".to_owned()
            };
            if write.write_all(answer.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    port
}

/// A scripted SMTP server that takes the whole message, then at its final dot
/// either answers `reply` or, with None, closes the connection without a word.
async fn server_ending_data_with(reply: Option<&'static str>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let (read, mut write) = socket.into_split();
        let mut lines = BufReader::new(read).lines();
        write.write_all(b"220 test ESMTP\r\n").await.unwrap();
        let mut in_data = false;
        while let Ok(Some(line)) = lines.next_line().await {
            if in_data {
                if line == "." {
                    match reply {
                        Some(reply) => {
                            let _ = write.write_all(format!("{reply}\r\n").as_bytes()).await;
                            in_data = false;
                            continue;
                        }
                        None => return,
                    }
                }
                continue;
            }
            let upper = line.to_ascii_uppercase();
            let answer = if upper.starts_with("EHLO") {
                "250 test\r\n"
            } else if upper.starts_with("DATA") {
                in_data = true;
                "354 go ahead\r\n"
            } else if upper.starts_with("QUIT") {
                let _ = write.write_all(b"221 bye\r\n").await;
                break;
            } else {
                "250 ok\r\n"
            };
            if write.write_all(answer.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    port
}

/// After the message has gone, only the server's reply to the final dot tells
/// what happened: without one the outcome is unknown, never "sent" and never a
/// plain retry (which could email the shopper twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_without_a_reply_to_the_final_dot_is_unknown() {
    let smtp = |port: u16| {
        let mut config = SmtpConfig::from_url(&format!("smtp://127.0.0.1:{port}")).unwrap();
        config.timeout = Duration::from_secs(5);
        SmtpProvider::new(config).unwrap()
    };
    let port = server_ending_data_with(None).await;
    let result = smtp(port).send(&message("k-lost")).await;
    assert!(
        matches!(result, Err(EmailError::Unknown { .. })),
        "{result:?}"
    );
    assert!(!result.unwrap_err().is_retryable());

    let port = server_ending_data_with(Some("451 4.3.0 try later")).await;
    let result = smtp(port).send(&message("k-later")).await;
    assert!(
        matches!(result, Err(EmailError::Transient { .. })),
        "{result:?}"
    );
    let port = server_ending_data_with(Some("250 2.0.0 queued as X1")).await;
    let receipt = smtp(port).send(&message("k-ok")).await.unwrap();
    assert!(
        receipt
            .provider_message_id
            .is_some_and(|id| id.contains("queued as X1"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_errors_are_classified() {
    let smtp = |port: u16| {
        let mut config = SmtpConfig::from_url(&format!("smtp://127.0.0.1:{port}")).unwrap();
        config.timeout = Duration::from_secs(5);
        SmtpProvider::new(config).unwrap()
    };
    let port = scripted_server("550 5.1.1 mailbox unavailable").await;
    let result = smtp(port).send(&message("k1")).await;
    match result {
        Err(EmailError::Permanent { message }) => {
            assert!(message.contains("mailbox unavailable"), "{message}")
        }
        other => panic!("expected permanent, got {other:?}"),
    }
    let port = scripted_server("421 4.7.0 try again later").await;
    let result = smtp(port).send(&message("k2")).await;
    assert!(
        matches!(result, Err(EmailError::Transient { .. })),
        "{result:?}"
    );
    let port = scripted_server("452 4.5.3 too many recipients").await;
    let result = smtp(port).send(&message("k3")).await;
    assert!(
        result.as_ref().is_err_and(EmailError::is_retryable),
        "{result:?}"
    );
    // Nobody listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let result = smtp(closed).send(&message("k4")).await;
    assert!(
        matches!(result, Err(EmailError::Transient { .. })),
        "{result:?}"
    );
}

/// maildev's parsed JSON plus the raw source's headers, as the conformance kit wants it.
fn received_from_maildev(mail: &serde_json::Value, source: &str) -> Received {
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let head = source.split("\r\n\r\n").next().unwrap_or_default();
    // Unfold continuation lines before splitting headers.
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    Received {
        from_email: text(&mail["from"][0]["address"]).unwrap_or_default(),
        from_name: text(&mail["from"][0]["name"]).filter(|n| !n.is_empty()),
        to_email: text(&mail["to"][0]["address"]).unwrap_or_default(),
        to_name: text(&mail["to"][0]["name"]).filter(|n| !n.is_empty()),
        subject: text(&mail["subject"]).unwrap_or_default(),
        html: text(&mail["html"]).unwrap_or_default(),
        text: text(&mail["text"]).unwrap_or_default(),
        headers: unfolded
            .lines()
            .filter_map(|line| line.split_once(": "))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect(),
        idempotency_key: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_passes_the_conformance_kit() {
    let maildev = tokio::task::spawn_blocking(Maildev::start).await.unwrap();
    let provider = SmtpProvider::new(SmtpConfig::from_url(&maildev.smtp_url()).unwrap()).unwrap();
    let message = sample_message("cart_7:0:0");
    provider.send(&message).await.unwrap();
    let received = tokio::task::spawn_blocking(move || {
        let mail = maildev.emails().remove(0);
        let source = maildev.source(mail["id"].as_str().unwrap());
        received_from_maildev(&mail, &source)
    })
    .await
    .unwrap();
    check_received(&message, &received, false).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_authenticates_when_the_server_requires_it() {
    let maildev = tokio::task::spawn_blocking(|| Maildev::start_with_auth("shop", "s3cret pass"))
        .await
        .unwrap();
    let port = maildev.smtp_port;
    let without =
        SmtpProvider::new(SmtpConfig::from_url(&format!("smtp://127.0.0.1:{port}")).unwrap())
            .unwrap();
    let refused = without.send(&message("auth:0:0")).await;
    assert!(
        refused.is_err(),
        "the server requires authentication: {refused:?}"
    );
    let wrong = SmtpProvider::new(
        SmtpConfig::from_url(&format!("smtp://shop:nope@127.0.0.1:{port}")).unwrap(),
    )
    .unwrap();
    let result = wrong.send(&message("auth:0:1")).await;
    assert!(
        matches!(result, Err(EmailError::Permanent { .. })),
        "bad credentials are final: {result:?}"
    );
    let with = SmtpProvider::new(
        SmtpConfig::from_url(&format!("smtp://shop:s3cret%20pass@127.0.0.1:{port}")).unwrap(),
    )
    .unwrap();
    with.send(&message("auth:0:2")).await.unwrap();
    let emails = tokio::task::spawn_blocking(move || maildev.emails())
        .await
        .unwrap();
    assert_eq!(emails.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_passes_the_conformance_kit() {
    let dir = tempfile::tempdir().unwrap();
    let message = sample_message("cart_8:0:0");
    FileProvider::new(dir.path()).send(&message).await.unwrap();
    let eml = std::fs::read_to_string(dir.path().join("cart_8-0-0.eml")).unwrap();
    let received = received_from_raw(&eml);
    check_received(&message, &received, false).unwrap();
}

/// An SMTP provider for `url` that trusts `ca` (PEM) on top of the public roots.
fn smtp_trusting(url: &str, ca: Option<String>) -> SmtpProvider {
    let mut config = SmtpConfig::from_url(url).unwrap();
    config.timeout = Duration::from_secs(10);
    config.ca_certificates_pem = ca;
    SmtpProvider::new(config).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_speaks_implicit_tls_and_checks_the_certificate() {
    let (ca, maildev) = tokio::task::spawn_blocking(|| {
        let ca = TestCa::generate();
        let maildev = Maildev::start_implicit_tls(&ca.server_cert, &ca.server_key);
        (ca, maildev)
    })
    .await
    .unwrap();
    let url = format!("smtps://127.0.0.1:{}", maildev.smtp_port);

    // Without the private CA the server's certificate is not trusted: nothing is sent.
    let untrusted = smtp_trusting(&url, None).send(&message("tls:0:0")).await;
    assert!(
        matches!(&untrusted, Err(EmailError::Transient { message, .. }) if message.to_ascii_lowercase().contains("certificate")),
        "{untrusted:?}"
    );
    // Plain text against a TLS port fails too, and never falls back.
    let plain = smtp_trusting(&format!("smtp://127.0.0.1:{}", maildev.smtp_port), None)
        .send(&message("tls:0:1"))
        .await;
    assert!(plain.is_err(), "{plain:?}");

    let message = sample_message("tls:0:2");
    smtp_trusting(&url, Some(ca.ca_pem_text()))
        .send(&message)
        .await
        .unwrap();
    let received = tokio::task::spawn_blocking(move || {
        let emails = maildev.emails();
        assert_eq!(emails.len(), 1, "only the trusted send arrived");
        let source = maildev.source(emails[0]["id"].as_str().unwrap());
        received_from_maildev(&emails[0], &source)
    })
    .await
    .unwrap();
    check_received(&message, &received, false).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_upgrades_with_starttls() {
    let (ca, peer) = tokio::task::spawn_blocking(|| {
        let ca = TestCa::generate();
        let peer = StartTlsPeer::start(&ca.server_cert, &ca.server_key);
        (ca, peer)
    })
    .await
    .unwrap();
    let url = format!("smtp://127.0.0.1:{}?tls=starttls", peer.port);
    let untrusted = smtp_trusting(&url, None)
        .send(&message("starttls:0:0"))
        .await;
    assert!(untrusted.is_err(), "{untrusted:?}");
    // Without the upgrade the peer refuses the mail: proof the upgrade happened below.
    let plain = smtp_trusting(&format!("smtp://127.0.0.1:{}", peer.port), None)
        .send(&message("starttls:0:1"))
        .await;
    assert!(
        matches!(&plain, Err(EmailError::Permanent { message }) if message.contains("STARTTLS")),
        "{plain:?}"
    );
    let message = sample_message("starttls:0:2");
    smtp_trusting(&url, Some(ca.ca_pem_text()))
        .send(&message)
        .await
        .unwrap();
    let raws = peer.received();
    assert_eq!(raws.len(), 1, "only the upgraded, trusted send arrived");
    check_received(&message, &received_from_raw(&raws[0]), false).unwrap();
}

#[test]
fn smtp_ca_settings_are_checked() {
    let with_ca = |url: &str, pem: &str| {
        let mut config = SmtpConfig::from_url(url).unwrap();
        config.ca_certificates_pem = Some(pem.to_owned());
        SmtpProvider::new(config)
    };
    assert!(with_ca("smtps://mail.example", "not a certificate").is_err());
    let ca = TestCa::generate();
    assert!(
        with_ca("smtp://mail.example:25", &ca.ca_pem_text()).is_err(),
        "a CA with plain SMTP would be silently unused"
    );
    assert!(with_ca("smtps://mail.example", &ca.ca_pem_text()).is_ok());
}

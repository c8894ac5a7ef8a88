#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is how a test fails, helpers included"
)]

use std::time::Duration;

use cartback_webhooks::{
    Deliverer, DelivererConfig, DeliveryOutcome, generate_secret, retake_signature, signed_headers,
    standard_signature, verify_standard,
};
use wiremock::matchers::{body_bytes, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BODY: &[u8] = br#"{"type":"cart.recovered","data":{"cart_id":"c_123"}}"#;

fn local() -> Deliverer {
    Deliverer::new(DelivererConfig {
        allow_private: true,
        ..DelivererConfig::default()
    })
    .unwrap()
}

async fn server_replying(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

fn headers() -> Vec<(&'static str, String)> {
    let secret = generate_secret();
    signed_headers(&[&secret], "msg_1", 1_700_000_000, BODY).unwrap()
}

#[tokio::test]
async fn signed_headers_arrive_exactly() {
    let newest = generate_secret();
    let previous = generate_secret();
    let timestamp = 1_700_000_000;
    let headers = signed_headers(&[&newest, &previous], "msg_abc", timestamp, BODY).unwrap();
    let standard = standard_signature(&[&newest, &previous], "msg_abc", timestamp, BODY).unwrap();
    let retake = retake_signature(&newest, BODY);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .and(header("content-type", "application/json"))
        .and(header(
            "user-agent",
            concat!("cartback-webhooks/", env!("CARGO_PKG_VERSION")),
        ))
        .and(header("webhook-id", "msg_abc"))
        .and(header("webhook-timestamp", "1700000000"))
        .and(header("x-webhook-signature", retake.as_str()))
        .and(body_bytes(BODY))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let outcome = local()
        .deliver(&format!("{}/hook", server.uri()), &headers, BODY)
        .await;
    assert_eq!(outcome, DeliveryOutcome::Delivered { status: 204 });

    // What a receiver sees verifies with either secret.
    let received = server.received_requests().await.unwrap();
    let request = &received[0];
    let got = |name: &str| {
        request
            .headers
            .get(name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    // Checked here: wiremock's header matcher splits values at commas.
    assert_eq!(got("webhook-signature"), standard);
    for secret in [&newest, &previous] {
        assert!(verify_standard(
            &[secret],
            &got("webhook-id"),
            got("webhook-timestamp").parse().unwrap(),
            &request.body,
            &got("webhook-signature"),
            timestamp + 5,
            300,
        ));
    }
}

#[tokio::test]
async fn configured_user_agent_replaces_the_default() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("user-agent", "shop-hooks/2"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let deliverer = Deliverer::new(DelivererConfig {
        allow_private: true,
        user_agent: Some("shop-hooks/2".to_owned()),
        ..DelivererConfig::default()
    })
    .unwrap();
    let outcome = deliverer.deliver(&server.uri(), &headers(), BODY).await;
    assert_eq!(outcome, DeliveryOutcome::Delivered { status: 200 });
}

#[tokio::test]
async fn status_mapping() {
    let soon = chrono::Utc::now() + chrono::Duration::seconds(120);
    let http_date = soon.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let cases = [
        (
            ResponseTemplate::new(200).set_body_string("ok"),
            Some(DeliveryOutcome::Delivered { status: 200 }),
        ),
        (ResponseTemplate::new(410), Some(DeliveryOutcome::Gone)),
        (
            ResponseTemplate::new(429).insert_header("Retry-After", "7"),
            Some(DeliveryOutcome::RetryAfter {
                status: 429,
                after: Duration::from_secs(7),
            }),
        ),
        (
            ResponseTemplate::new(500).set_body_string("database\nis down"),
            Some(DeliveryOutcome::Failed {
                status: Some(500),
                error: "HTTP 500: database is down".to_owned(),
            }),
        ),
        (
            ResponseTemplate::new(429),
            Some(DeliveryOutcome::Failed {
                status: Some(429),
                error: "HTTP 429".to_owned(),
            }),
        ),
        (
            ResponseTemplate::new(404).set_body_string("x".repeat(100_000)),
            Some(DeliveryOutcome::Failed {
                status: Some(404),
                error: format!("HTTP 404: {}", "x".repeat(200)),
            }),
        ),
        (
            ResponseTemplate::new(302).insert_header("Location", "http://169.254.169.254/"),
            Some(DeliveryOutcome::Failed {
                status: Some(302),
                error: "HTTP 302: redirects are not followed".to_owned(),
            }),
        ),
        // Checked separately below: the wait depends on the clock.
        (
            ResponseTemplate::new(503).insert_header("Retry-After", http_date.as_str()),
            None,
        ),
    ];
    let deliverer = local();
    for (template, expected) in cases {
        let server = server_replying(template).await;
        let outcome = deliverer
            .deliver(&format!("{}/hook", server.uri()), &headers(), BODY)
            .await;
        match expected {
            Some(expected) => assert_eq!(outcome, expected),
            None => match outcome {
                DeliveryOutcome::RetryAfter { status: 503, after } => assert!(
                    after > Duration::from_secs(100) && after <= Duration::from_secs(120),
                    "{after:?}"
                ),
                other => panic!("expected RetryAfter, got {other:?}"),
            },
        }
    }
}

#[tokio::test]
async fn timeout_is_a_failure_without_status() {
    let server =
        server_replying(ResponseTemplate::new(200).set_delay(Duration::from_secs(1))).await;
    let deliverer = Deliverer::new(DelivererConfig {
        timeout: Duration::from_millis(200),
        allow_private: true,
        user_agent: None,
    })
    .unwrap();
    let outcome = deliverer
        .deliver(&format!("{}/hook", server.uri()), &headers(), BODY)
        .await;
    assert_eq!(
        outcome,
        DeliveryOutcome::Failed {
            status: None,
            error: "timed out after 200ms".to_owned(),
        }
    );
}

#[tokio::test]
async fn connection_refused_is_a_failure() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let outcome = local()
        .deliver(&format!("http://127.0.0.1:{port}/hook"), &headers(), BODY)
        .await;
    assert_eq!(
        outcome,
        DeliveryOutcome::Failed {
            status: None,
            error: "connection refused".to_owned(),
        }
    );
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let server = server_replying(ResponseTemplate::new(200)).await;
    let port = server.address().port();
    let guarded = Deliverer::new(DelivererConfig::default()).unwrap();
    for url in [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://localhost:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
    ] {
        let outcome = guarded.deliver(&url, &headers(), BODY).await;
        assert!(
            matches!(outcome, DeliveryOutcome::Refused { .. }),
            "{url}: {outcome:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
    let outcome = guarded
        .deliver("ftp://example.com/hook", &headers(), BODY)
        .await;
    assert!(matches!(outcome, DeliveryOutcome::Refused { .. }));
}

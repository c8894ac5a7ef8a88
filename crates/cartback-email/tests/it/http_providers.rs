//! Resend, SendGrid and Mailgun against wiremock servers that check the exact
//! request each provider documents, then the conformance kit on what they received,
//! then every failure class.

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{basic_auth, body_partial_json, header, header_regex, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use cartback_email::conformance::{
    Failure, Received, check_failure, check_received, sample_message,
};
use cartback_email::{
    EmailProvider, MailgunConfig, MailgunProvider, MailgunRegion, ResendConfig, ResendProvider,
    SendGridConfig, SendGridProvider,
};

/// Splits `"Name" <email>` (as the APIs take it) into its parts.
fn parse_mailbox(text: &str) -> (String, Option<String>) {
    match text.rsplit_once(" <") {
        Some((name, email)) => {
            let name = name
                .trim_matches('"')
                .replace("\\\"", "\"")
                .replace("\\\\", "\\");
            (email.trim_end_matches('>').to_owned(), Some(name))
        }
        None => (text.to_owned(), None),
    }
}

fn failures() -> Vec<(Failure, ResponseTemplate)> {
    vec![
        (
            Failure::AuthRejected,
            ResponseTemplate::new(401).set_body_json(json!({"message": "invalid key"})),
        ),
        (
            Failure::Rejected,
            ResponseTemplate::new(422).set_body_json(json!({"message": "invalid from"})),
        ),
        (
            Failure::RateLimited {
                retry_after: Duration::from_secs(17),
            },
            ResponseTemplate::new(429).insert_header("Retry-After", "17"),
        ),
        (Failure::Unavailable, ResponseTemplate::new(500)),
    ]
}

async fn check_failures(provider: &dyn EmailProvider, server: &MockServer) {
    for (failure, response) in failures() {
        server.reset().await;
        Mock::given(method("POST"))
            .respond_with(response)
            .mount(server)
            .await;
        let result = provider.send(&sample_message("k-fail")).await;
        check_failure(failure, &result).unwrap();
    }
}

#[tokio::test]
async fn resend() {
    let server = MockServer::start().await;
    let message = sample_message("cart_1:0:0");
    Mock::given(method("POST"))
        .and(path("/emails"))
        .and(header("authorization", "Bearer re_test_key"))
        .and(header("content-type", "application/json"))
        .and(header("idempotency-key", "cart_1:0:0"))
        .and(body_partial_json(json!({
            "subject": message.subject,
            "html": message.html,
            "text": message.text,
            "to": ["\"Jürgen \\\"Jo\\\" ÑúñezBcc: intruder@example.net\" <jo@example.org>"],
            "tags": [{"name": "cart-recovery", "value": "true"}, {"name": "step-1", "value": "true"}],
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "re_msg_1"})))
        .expect(1)
        .mount(&server)
        .await;
    let mut config = ResendConfig::new("re_test_key", "unused");
    config.base_url = server.uri();
    let provider = ResendProvider::new(config).unwrap();
    let receipt = provider.send(&message).await.unwrap();
    assert_eq!(receipt.provider_message_id.as_deref(), Some("re_msg_1"));

    let request = &server.received_requests().await.unwrap()[0];
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    let (from_email, from_name) = parse_mailbox(body["from"].as_str().unwrap());
    let (to_email, to_name) = parse_mailbox(body["to"][0].as_str().unwrap());
    let received = Received {
        from_email,
        from_name,
        to_email,
        to_name,
        subject: body["subject"].as_str().unwrap().to_owned(),
        html: body["html"].as_str().unwrap().to_owned(),
        text: body["text"].as_str().unwrap().to_owned(),
        headers: body["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect(),
        idempotency_key: request
            .headers
            .get("idempotency-key")
            .map(|v| v.to_str().unwrap().to_owned()),
    };
    check_received(&message, &received, true).unwrap();
    check_failures(&provider, &server).await;
}

#[tokio::test]
async fn sendgrid() {
    let server = MockServer::start().await;
    let message = sample_message("cart_2:0:1");
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .and(header("authorization", "Bearer SG.test"))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({
            "personalizations": [{"to": [{"email": "jo@example.org"}]}],
            "from": {"email": "shop@example.com", "name": "Zoë's Café"},
            "subject": message.subject,
            "content": [{"type": "text/plain", "value": message.text}, {"type": "text/html", "value": message.html}],
            "headers": {"List-Unsubscribe": "<https://cartback.example/u/tok_123>"},
            "categories": ["cart-recovery", "step-1"],
        })))
        .respond_with(ResponseTemplate::new(202).insert_header("X-Message-Id", "sg_msg_1"))
        .expect(1)
        .mount(&server)
        .await;
    let mut config = SendGridConfig::new("SG.test", "unused");
    config.base_url = server.uri();
    let provider = SendGridProvider::new(config).unwrap();
    let receipt = provider.send(&message).await.unwrap();
    assert_eq!(receipt.provider_message_id.as_deref(), Some("sg_msg_1"));

    let request = &server.received_requests().await.unwrap()[0];
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    let to = &body["personalizations"][0]["to"][0];
    let received = Received {
        from_email: body["from"]["email"].as_str().unwrap().to_owned(),
        from_name: body["from"]["name"].as_str().map(str::to_owned),
        to_email: to["email"].as_str().unwrap().to_owned(),
        to_name: to["name"].as_str().map(str::to_owned),
        subject: body["subject"].as_str().unwrap().to_owned(),
        text: body["content"][0]["value"].as_str().unwrap().to_owned(),
        html: body["content"][1]["value"].as_str().unwrap().to_owned(),
        headers: body["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect(),
        idempotency_key: None,
    };
    check_received(&message, &received, false).unwrap();
    check_failures(&provider, &server).await;
}

/// The named parts of a multipart/form-data body, in order.
fn form_fields(content_type: &str, body: &[u8]) -> Vec<(String, String)> {
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .unwrap()
        .trim_matches('"');
    let text = String::from_utf8(body.to_vec()).unwrap();
    text.split(&format!("--{boundary}"))
        .filter_map(|part| {
            let (head, value) = part.split_once("\r\n\r\n")?;
            let name = head.split("name=\"").nth(1)?.split('"').next()?.to_owned();
            Some((name, value.trim_end_matches("\r\n").to_owned()))
        })
        .collect()
}

#[tokio::test]
async fn mailgun() {
    let server = MockServer::start().await;
    let message = sample_message("cart_3:1:0");
    Mock::given(method("POST"))
        .and(path("/v3/mg.shop.example/messages"))
        .and(basic_auth("api", "key-test"))
        .and(header_regex(
            "content-type",
            "^multipart/form-data; boundary=",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": "<mg_1@mg.shop.example>", "message": "Queued. Thank you."}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let mut config = MailgunConfig::new("key-test", "mg.shop.example", MailgunRegion::Eu);
    assert_eq!(config.base_url, "https://api.eu.mailgun.net");
    assert_eq!(MailgunRegion::Us.base_url(), "https://api.mailgun.net");
    config.base_url = server.uri();
    let provider = MailgunProvider::new(config).unwrap();
    let receipt = provider.send(&message).await.unwrap();
    assert_eq!(
        receipt.provider_message_id.as_deref(),
        Some("<mg_1@mg.shop.example>")
    );

    let request = &server.received_requests().await.unwrap()[0];
    let content_type = request
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    let fields = form_fields(content_type, &request.body);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (from_email, from_name) = parse_mailbox(&field("from"));
    let (to_email, to_name) = parse_mailbox(&field("to"));
    let received = Received {
        from_email,
        from_name,
        to_email,
        to_name,
        subject: field("subject"),
        html: field("html"),
        text: field("text"),
        headers: fields
            .iter()
            .filter_map(|(n, v)| n.strip_prefix("h:").map(|h| (h.to_owned(), v.clone())))
            .collect(),
        idempotency_key: None,
    };
    check_received(&message, &received, false).unwrap();
    let tags: Vec<&str> = fields
        .iter()
        .filter(|(n, _)| n == "o:tag")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(tags, ["cart-recovery", "step-1"]);
    check_failures(&provider, &server).await;
    assert!(
        MailgunProvider::new(MailgunConfig::new("k", "bad/domain", MailgunRegion::Us)).is_err()
    );
}

#[tokio::test]
async fn unreachable_providers_are_transient() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut config = ResendConfig::new("re_x", "unused");
    config.base_url = format!("http://{closed}");
    let result = ResendProvider::new(config)
        .unwrap()
        .send(&sample_message("k"))
        .await;
    check_failure(Failure::Unavailable, &result).unwrap();
}

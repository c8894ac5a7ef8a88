//! The SSRF guard of tenants' providers, from the outside: settings built with
//! `Trust::Tenant` refuse loopback targets (names included) unless private targets
//! are allowed, and no adapter follows a redirect.

use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use cartback_email::conformance::sample_message;
use cartback_email::{EmailError, ProviderSettings, Trust};

const GUARDED: Trust = Trust::Tenant {
    allow_private: false,
};
const ALLOWED: Trust = Trust::Tenant {
    allow_private: true,
};

/// The stub's address with `localhost` as its host: a name, not a literal.
fn by_name(server: &MockServer) -> String {
    format!("http://localhost:{}", server.address().port())
}

fn http_settings(provider: &str, base_url: String) -> ProviderSettings {
    let settings = match provider {
        "mailgun" => {
            json!({"provider": "mailgun", "apiKey": "key-0123456789abcdef", "domain": "mg.shop.example", "baseUrl": base_url})
        }
        other => json!({"provider": other, "apiKey": "key-0123456789abcdef", "baseUrl": base_url}),
    };
    serde_json::from_value(settings).unwrap()
}

#[tokio::test]
async fn a_loopback_base_url_is_refused_with_the_guard_and_used_without() {
    for provider in ["resend", "sendgrid", "mailgun"] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "m-1"})))
            .mount(&server)
            .await;
        for base in [by_name(&server), server.uri()] {
            let settings = http_settings(provider, base.clone());
            match settings.build(GUARDED) {
                Err(EmailError::Refused { message }) => {
                    assert!(message.contains("private"), "{provider} {base}: {message}")
                }
                Err(other) => panic!("{provider} {base}: {other}"),
                Ok(_) => panic!("{provider} {base}: built with the guard on"),
            }
            let open = settings.build(ALLOWED).unwrap();
            open.send(&sample_message("k-1")).await.unwrap();
            // The operator's own settings are never checked.
            let operator = settings.build(Trust::Operator).unwrap();
            operator.send(&sample_message("k-2")).await.unwrap();
        }
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            4,
            "{provider}: only the allowed sends arrived"
        );
    }
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_its_body_not_quoted() {
    let target = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("internal secrets"))
        .mount(&target)
        .await;
    let redirecting = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/admin", target.uri()).as_str())
                .set_body_string("REDIRECT-BODY"),
        )
        .mount(&redirecting)
        .await;
    for provider in ["resend", "sendgrid", "mailgun"] {
        let settings = http_settings(provider, redirecting.uri());
        for trust in [ALLOWED, Trust::Operator] {
            let sent = settings
                .build(trust)
                .unwrap()
                .send(&sample_message("k"))
                .await;
            match sent {
                Err(EmailError::Permanent { message }) => {
                    assert!(
                        message.contains("redirects are not followed"),
                        "{provider}: {message}"
                    );
                    assert!(!message.contains("REDIRECT-BODY"), "{provider}: {message}");
                }
                other => panic!("{provider}: {other:?}"),
            }
        }
    }
    assert!(
        target.received_requests().await.unwrap().is_empty(),
        "the redirect target got nothing"
    );
}

#[tokio::test]
async fn smtp_and_ses_targets_are_checked_too() {
    for url in [
        "smtp://localhost:2525",
        "smtp://127.0.0.1:2525",
        "smtps://user:pass@[::1]:465",
        "smtp://mail.localhost:25",
    ] {
        let settings = ProviderSettings::Smtp {
            url: url.to_owned(),
            ca_certificate: None,
        };
        assert!(
            matches!(settings.build(GUARDED), Err(EmailError::Refused { .. })),
            "{url}"
        );
        assert!(settings.build(ALLOWED).is_ok(), "{url}");
        assert_eq!(settings.target_field(), "url");
        assert_eq!(settings.chosen_target().unwrap().0, "url");
    }
    for endpoint in [
        "http://169.254.169.254/",
        "http://localhost:4566",
        "http://[::ffff:127.0.0.1]/",
    ] {
        let settings = ProviderSettings::Ses {
            region: "eu-west-1".into(),
            access_key_id: Some("AKIAEXAMPLE".into()),
            secret_access_key: Some("secret".into()),
            endpoint_url: Some(endpoint.to_owned()),
        };
        assert!(
            matches!(settings.build(GUARDED), Err(EmailError::Refused { .. })),
            "{endpoint}"
        );
        assert!(settings.build(ALLOWED).is_ok(), "{endpoint}");
        assert_eq!(settings.target_field(), "endpointUrl");
    }
}

#[tokio::test]
async fn save_time_host_check_resolves_names() {
    use cartback_email::check_host;
    assert!(check_host("localhost", 443, false).await.is_err());
    assert!(check_host("127.0.0.1", 443, false).await.is_err());
    assert!(check_host("localhost", 443, true).await.is_ok());
    // A name that does not resolve is left to the connect-time guard.
    assert!(check_host("no-such-host.invalid", 443, false).await.is_ok());
}

//! The SES v2 adapter against moto's server mode: the raw MIME arrives with every
//! header, and SES's refusals are classified.

use cartback_email::conformance::{check_received, sample_message};
use cartback_testing::moto::Moto;

use crate::common::raw::received_from_raw;
use cartback_email::{EmailError, EmailProvider, SesConfig, SesCredentials, SesProvider};

fn config(endpoint: &str) -> SesConfig {
    SesConfig {
        region: "us-east-1".to_owned(),
        credentials: SesCredentials::Static {
            access_key_id: "AKIDTEST".to_owned(),
            secret_access_key: "secret-test".to_owned(),
        },
        endpoint_url: Some(endpoint.to_owned()),
        // The operator's own settings in these tests: a local moto server.
        refuse_private: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_sends_the_raw_message_with_every_header() {
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    let provider = SesProvider::new(config(&moto.endpoint)).unwrap();
    let message = sample_message("cart_5:0:0");

    // An unverified sender is refused for good.
    let refused = provider.send(&message).await;
    assert!(
        matches!(refused, Err(EmailError::Permanent { .. })),
        "{refused:?}"
    );

    // Verify the sender the way an operator would, then send.
    let moto = tokio::task::spawn_blocking(move || {
        moto.verify_identity("shop@example.com");
        moto
    })
    .await
    .unwrap();
    let receipt = provider.send(&message).await.unwrap();
    assert!(receipt.provider_message_id.is_some());

    let raws = tokio::task::spawn_blocking(move || moto.sent_raw_messages())
        .await
        .unwrap();
    assert_eq!(raws.len(), 1);
    check_received(&message, &received_from_raw(&raws[0]), false).unwrap();
    assert!(raws[0].contains("Message-ID: <cart_5.0.0@example.com>"));
}

#[tokio::test]
async fn ses_settings_are_checked_and_unreachable_is_transient() {
    let mut bad = config("http://127.0.0.1:9");
    bad.credentials = SesCredentials::Static {
        access_key_id: "AKIDTEST".to_owned(),
        secret_access_key: " ".to_owned(),
    };
    assert!(SesProvider::new(bad).is_err());
    let mut no_region = config("http://127.0.0.1:9");
    no_region.region = String::new();
    assert!(SesProvider::new(no_region).is_err());
    assert!(
        cartback_email::ses_credentials(&Some("AKIDTEST".to_owned()), &None).is_err(),
        "a key id without its secret is refused"
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let provider = SesProvider::new(config(&format!("http://{closed}"))).unwrap();
    let result = provider.send(&sample_message("k")).await;
    assert!(
        result.as_ref().is_err_and(EmailError::is_retryable),
        "{result:?}"
    );
}

/// SES's refusals as its REST API sends them (moto cannot throttle): each one
/// lands in the class the worker retries on, or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_refusals_are_classified() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let cases = [
        (429, "TooManyRequestsException", "rate"),
        (400, "ThrottlingException", "rate"),
        (500, "InternalFailure", "transient"),
        (503, "ServiceUnavailable", "transient"),
        (400, "MessageRejected", "permanent"),
        (403, "AccessDeniedException", "permanent"),
    ];
    for (status, code, class) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/email/outbound-emails"))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("x-amzn-ErrorType", code)
                    .set_body_json(serde_json::json!({"message": format!("{code} from the test")})),
            )
            .expect(1)
            .mount(&server)
            .await;
        let provider = SesProvider::new(config(&server.uri())).unwrap();
        let result = provider.send(&sample_message("k")).await;
        let ok = match (&result, class) {
            (Err(EmailError::RateLimited { message, .. }), "rate") => message.contains(code),
            (Err(EmailError::Transient { message, .. }), "transient") => message.contains(code),
            (Err(EmailError::Permanent { message }), "permanent") => {
                message.contains(code) && message.contains("from the test")
            }
            _ => false,
        };
        assert!(ok, "{status} {code}: expected {class}, got {result:?}");
        // `expect(1)`: exactly one request, the SDK did not retry behind our back.
        server.verify().await;
    }
}

use cartback_stripe::{CheckoutRequest, LineItem, StripeClient, StripeError};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn request() -> CheckoutRequest {
    CheckoutRequest {
        client_reference_id: "cart_42".into(),
        customer_email: Some("ana+shop@example.com".into()),
        currency: "EUR".into(),
        line_items: vec![
            LineItem {
                name: "Café & croissant [large]".into(),
                unit_amount_minor: 1250,
                quantity: 2,
                image_url: Some("https://shop.example/img/1.png?w=200&h=200".into()),
            },
            LineItem {
                name: "Gift card = 10%".into(),
                unit_amount_minor: 500,
                quantity: 1,
                image_url: None,
            },
        ],
        success_url: "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}".into(),
        cancel_url: Some("https://shop.example/cart".into()),
        metadata: vec![
            ("cart_id".into(), "cart_42".into()),
            ("session_id".into(), "sess 7/8".into()),
        ],
        expires_at: Some(1_700_003_600),
        discount_code_hint: None,
    }
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Decodes a form body independently of how it was encoded.
fn decode_form(body: &[u8]) -> Vec<(String, String)> {
    let text = std::str::from_utf8(body).unwrap();
    let url = reqwest::Url::parse(&format!("http://decode.invalid/?{text}")).unwrap();
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn creates_a_session_with_the_documented_form() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .and(header("authorization", "Bearer sk_test_123"))
        .and(header("idempotency-key", "cart_42-cycle-1"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "cs_test_a1b2",
            "object": "checkout.session",
            "url": "https://checkout.stripe.com/c/pay/cs_test_a1b2#fid",
            "expires_at": 1_700_003_600,
            "payment_status": "unpaid",
        })))
        .expect(1)
        .mount(&server)
        .await;

    let client = StripeClient::new(&format!("{}/", server.uri())).unwrap();
    let session = client
        .create_checkout_session("sk_test_123", &request(), Some("cart_42-cycle-1"))
        .await
        .unwrap();
    assert_eq!(session.id, "cs_test_a1b2");
    assert_eq!(
        session.url,
        "https://checkout.stripe.com/c/pay/cs_test_a1b2#fid"
    );
    assert_eq!(session.expires_at, Some(1_700_003_600));

    let received = server.received_requests().await.unwrap();
    assert_eq!(
        decode_form(&received[0].body),
        pairs(&[
            ("mode", "payment"),
            ("client_reference_id", "cart_42"),
            ("customer_email", "ana+shop@example.com"),
            (
                "success_url",
                "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}"
            ),
            ("cancel_url", "https://shop.example/cart"),
            ("expires_at", "1700003600"),
            ("metadata[cart_id]", "cart_42"),
            ("metadata[session_id]", "sess 7/8"),
            ("payment_intent_data[metadata][cart_id]", "cart_42"),
            ("payment_intent_data[metadata][session_id]", "sess 7/8"),
            ("line_items[0][quantity]", "2"),
            ("line_items[0][price_data][currency]", "eur"),
            ("line_items[0][price_data][unit_amount]", "1250"),
            (
                "line_items[0][price_data][product_data][name]",
                "Café & croissant [large]"
            ),
            (
                "line_items[0][price_data][product_data][images][0]",
                "https://shop.example/img/1.png?w=200&h=200"
            ),
            ("line_items[1][quantity]", "1"),
            ("line_items[1][price_data][currency]", "eur"),
            ("line_items[1][price_data][unit_amount]", "500"),
            (
                "line_items[1][price_data][product_data][name]",
                "Gift card = 10%"
            ),
        ])
    );
    // A literal '+' must arrive encoded, or it would decode as a space.
    let raw = std::str::from_utf8(&received[0].body).unwrap();
    assert!(
        raw.contains("customer_email=ana%2Bshop%40example.com"),
        "{raw}"
    );
}

#[tokio::test]
async fn optional_fields_are_left_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "id": "cs_test_min",
            "url": "https://checkout.stripe.com/c/pay/cs_test_min",
        })))
        .mount(&server)
        .await;
    let minimal = CheckoutRequest {
        customer_email: None,
        cancel_url: None,
        metadata: vec![],
        expires_at: None,
        discount_code_hint: Some("SAVE10".into()),
        line_items: vec![LineItem {
            name: "Mug".into(),
            unit_amount_minor: 900,
            quantity: 3,
            image_url: None,
        }],
        ..request()
    };
    let client = StripeClient::new(&server.uri()).unwrap();
    let session = client
        .create_checkout_session("sk_test_123", &minimal, None)
        .await
        .unwrap();
    assert_eq!(session.expires_at, None);
    let received = server.received_requests().await.unwrap();
    assert!(received[0].headers.get("idempotency-key").is_none());
    assert_eq!(
        decode_form(&received[0].body),
        pairs(&[
            ("mode", "payment"),
            ("client_reference_id", "cart_42"),
            (
                "success_url",
                "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}"
            ),
            ("allow_promotion_codes", "true"),
            ("line_items[0][quantity]", "3"),
            ("line_items[0][price_data][currency]", "eur"),
            ("line_items[0][price_data][unit_amount]", "900"),
            ("line_items[0][price_data][product_data][name]", "Mug"),
        ])
    );
}

#[tokio::test]
async fn stripe_errors_are_mapped() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/checkout/sessions"))
        .respond_with(ResponseTemplate::new(402).set_body_json(serde_json::json!({
            "error": {
                "type": "invalid_request_error",
                "code": "parameter_invalid_integer",
                "message": "Invalid integer: abc",
                "param": "line_items[0][price_data][unit_amount]",
            }
        })))
        .mount(&server)
        .await;
    let client = StripeClient::new(&server.uri()).unwrap();
    let err = client
        .create_checkout_session("sk_test_123", &request(), None)
        .await
        .unwrap_err();
    match err {
        StripeError::Api {
            status,
            code,
            message,
        } => {
            assert_eq!(status, 402);
            assert_eq!(code.as_deref(), Some("parameter_invalid_integer"));
            assert_eq!(message, "Invalid integer: abc");
        }
        other => panic!("expected Api, got {other:?}"),
    }
}

#[tokio::test]
async fn non_json_errors_and_bad_bodies() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer sk_bad"))
        .respond_with(ResponseTemplate::new(502).set_body_string("Bad Gateway"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer sk_weird"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"id\":\"cs_1\"}"))
        .mount(&server)
        .await;
    let client = StripeClient::new(&server.uri()).unwrap();
    let err = client
        .create_checkout_session("sk_bad", &request(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StripeError::Api { status: 502, code: None, message } if message == "Bad Gateway"),
        "{err:?}"
    );
    let err = client
        .create_checkout_session("sk_weird", &request(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StripeError::Decode(_)), "{err:?}");
}

#[tokio::test]
async fn unreachable_is_transport() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = StripeClient::new(&format!("http://127.0.0.1:{port}")).unwrap();
    let err = client
        .create_checkout_session("sk_test_123", &request(), None)
        .await
        .unwrap_err();
    assert!(matches!(&err, StripeError::Transport(_)), "{err:?}");
    assert!(!err.to_string().contains("sk_test_123"));
    assert!(StripeClient::new("not a url").is_err());
}

//! Signed webhooks end to end: the real api and worker, a loopback receiver, and
//! every delivery checked by the reference Standard Webhooks library and by
//! Retake's formula.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use cartback_store::crypto::MasterKeys;
use cartback_store::webhooks::{
    DeliveryRow, EndpointRow, NewEndpoint, Replay, create_endpoint, get_endpoint, list_deliveries,
    replay_delivery,
};
use cartback_store::{Backend, Store};
use cartback_testing::TestDatabase;
use cartback_testing::app::{Api, Tenant, cart_update, create_tenant, spawn_worker};
use cartback_testing::http_stub::{HttpStub, Recorded, Reply};
use cartback_testing::maildev::Maildev;
use cartback_testing::on_both_backends;
use cartback_testing::process::{Running, wait_for};
use cartback_testing::python::run_peer;

struct Setup {
    db: TestDatabase,
    master_key: String,
    tenant: Tenant,
    api: Api,
}

fn setup(backend: Backend, delay: &str) -> Setup {
    setup_with(backend, delay, &[])
}

/// [`setup`] with more of the api's environment.
fn setup_with(backend: Backend, delay: &str, api_env: &[(&str, String)]) -> Setup {
    let db = TestDatabase::new(backend);
    let master_key = MasterKeys::generate();
    let tenant = create_tenant(&db.url, delay);
    let mut env = vec![("CARTBACK_MASTER_KEY", master_key.clone())];
    env.extend(api_env.iter().map(|(k, v)| (*k, v.clone())));
    let api = Api::start(&db.url, &env);
    Setup {
        db,
        master_key,
        tenant,
        api,
    }
}

impl Setup {
    fn store(&self) -> Store {
        Store::open(&self.db.url, 1).unwrap()
    }

    /// An endpoint stored as the api stores it (secret sealed), and its secret.
    fn endpoint(&self, url: &str, events: &[&str]) -> (EndpointRow, String) {
        let secret = cartback_webhooks::generate_secret();
        let keys = MasterKeys::from_config(Some(&self.master_key), None).unwrap();
        let sealed = keys
            .seal(
                cartback_store::crypto::Purpose::WebhookSecret,
                &self.tenant.id,
                secret.as_bytes(),
            )
            .unwrap();
        let events: Vec<String> = events.iter().map(|e| (*e).to_owned()).collect();
        let row = create_endpoint(
            &mut self.store().conn().unwrap(),
            &NewEndpoint {
                tenant_id: &self.tenant.id,
                url,
                description: None,
                events: &events,
                sealed_secret: &sealed,
                enabled: true,
                abandoned_event: cartback_store::webhooks::AbandonedEvent::All,
                now: chrono::Utc::now(),
            },
        )
        .unwrap();
        (row, secret)
    }

    fn worker(&self, maildev: Option<&Maildev>, allow_private: bool, schedule: &str) -> Running {
        self.worker_with(maildev, allow_private, schedule, &[])
    }

    fn worker_with(
        &self,
        maildev: Option<&Maildev>,
        allow_private: bool,
        schedule: &str,
        extra: &[(&str, String)],
    ) -> Running {
        let mut env = vec![
            ("CARTBACK_NO_MIGRATE", "true".to_owned()),
            ("CARTBACK_MASTER_KEY", self.master_key.clone()),
            ("CARTBACK_WEBHOOK_RETRY_SCHEDULE", schedule.to_owned()),
            ("CARTBACK_WEBHOOK_TIMEOUT", "5s".to_owned()),
            (
                "CARTBACK_ALLOW_PRIVATE_WEBHOOK_TARGETS",
                allow_private.to_string(),
            ),
        ];
        match maildev {
            Some(maildev) => env.extend(maildev.worker_env()),
            None => {
                let outbox =
                    std::env::temp_dir().join(format!("cartback-outbox-{}", self.tenant.id));
                env.push(("CARTBACK_OUTBOX_DIR", outbox.display().to_string()));
            }
        }
        env.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
        spawn_worker(&self.db.url, &env)
    }

    fn deliveries(&self, endpoint: &str) -> Vec<DeliveryRow> {
        list_deliveries(
            &mut self.store().conn().unwrap(),
            &self.tenant.id,
            endpoint,
            None,
            1,
            100,
        )
        .unwrap()
        .0
    }
}

fn body_json(request: &Recorded) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

fn events_of(stub: &HttpStub) -> Vec<(String, Value)> {
    stub.requests()
        .iter()
        .map(|r| {
            let body = body_json(r);
            (body["event"].as_str().unwrap().to_owned(), body)
        })
        .collect()
}

/// Runs the reference verifiers over the requests: (standard, retake) per request.
fn verify(requests: &[Recorded], secrets: &[&str]) -> Vec<(bool, bool)> {
    let input: Vec<Value> = requests
        .iter()
        .map(|r| {
            let headers: serde_json::Map<String, Value> = r
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            json!({"headers": headers, "body": String::from_utf8(r.body.clone()).unwrap()})
        })
        .collect();
    let out = run_peer(
        "verify_webhooks.py",
        secrets,
        &Value::Array(input).to_string(),
    );
    let results: Vec<Value> = serde_json::from_str(&out).unwrap();
    results
        .iter()
        .map(|r| (r["standard"] == json!(true), r["retake"] == json!(true)))
        .collect()
}

/// Checks each payload against `WebhookPayload` of the api's `/openapi.json`
/// with the reference JSON Schema validator: None when it is valid.
fn against_the_document(api: &Api, payloads: &[Value]) -> Vec<Option<String>> {
    let document: Value = api
        .http
        .get(format!("{}/openapi.json", api.base))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let input = json!({"document": document, "schema": "WebhookPayload", "instances": payloads});
    let out = run_peer("validate_schema.py", &[], &input.to_string());
    serde_json::from_str(&out).unwrap()
}

/// Track → email → order: `cart.recovered` with the revenue; an order without any
/// email: `cart.converted`; a cart without an address: `cart.abandoned` for the
/// shop to act on. Every delivery verifies; a tampered one does not.
fn recovered_and_converted_orders_reach_a_verified_receiver(backend: Backend) {
    let setup = setup(backend, "1s");
    let maildev = Maildev::start();
    let receiver = HttpStub::start();
    let (endpoint, secret) = setup.endpoint(&format!("{}/hooks", receiver.base_url), &["*"]);
    let _worker = setup.worker(Some(&maildev), true, "100ms,200ms");
    let key = &setup.tenant.secret;

    assert_eq!(
        setup
            .api
            .track(key, &cart_update("sess-a", Some("ann@example.com")))
            .0,
        200
    );
    assert_eq!(setup.api.track(key, &cart_update("sess-b", None)).0, 200);
    assert_eq!(
        setup
            .api
            .track(key, &cart_update("sess-c", Some("cy@example.com")))
            .0,
        200
    );
    let (status, body) = setup.api.track(
        key,
        &json!({"event": "ORDER_COMPLETE", "sessionId": "sess-c", "orderId": "INV-C", "total": 100.00}),
    );
    assert_eq!(
        (status, body["cartStatus"].clone()),
        (200, json!("converted")),
        "{body}"
    );

    wait_for("the recovery email to ann", Duration::from_secs(30), || {
        events_of(&receiver)
            .iter()
            .any(|(e, b)| e == "email.sent" && b["data"]["sessionId"] == "sess-a")
    });
    assert_eq!(maildev.emails().len(), 1);
    // The shopper clicks the recovery link: email.clicked.
    let text = maildev.emails()[0]["text"].as_str().unwrap().to_owned();
    let start = text.find("/r/").expect("a recovery link");
    let token: String = text[start + 3..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let no_redirects = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let click = no_redirects
        .get(format!("{}/r/{token}", setup.api.base))
        .send()
        .unwrap();
    assert_eq!(click.status().as_u16(), 302);
    wait_for("email.clicked", Duration::from_secs(30), || {
        events_of(&receiver)
            .iter()
            .any(|(e, b)| e == "email.clicked" && b["data"]["sessionId"] == "sess-a")
    });
    let (status, body) = setup.api.track(
        key,
        &json!({"event": "ORDER_COMPLETE", "sessionId": "sess-a", "orderId": "INV-A", "total": 100.00, "currency": "USD"}),
    );
    assert_eq!(
        (status, body["cartStatus"].clone()),
        (200, json!("recovered")),
        "{body}"
    );
    wait_for("cart.recovered", Duration::from_secs(30), || {
        events_of(&receiver)
            .iter()
            .any(|(e, _)| e == "cart.recovered")
    });
    wait_for(
        "cart.abandoned for the cart without an address",
        Duration::from_secs(30),
        || {
            events_of(&receiver)
                .iter()
                .any(|(e, b)| e == "cart.abandoned" && b["data"]["sessionId"] == "sess-b")
        },
    );

    let events = events_of(&receiver);
    let recovered = &events
        .iter()
        .find(|(e, _)| e == "cart.recovered")
        .unwrap()
        .1;
    assert_eq!(recovered["data"]["sessionId"], "sess-a");
    assert_eq!(recovered["data"]["orderId"], "INV-A");
    assert_eq!(recovered["data"]["revenue"], json!(100.0));
    assert_eq!(recovered["data"]["revenueMinor"], json!(10000));
    assert_eq!(recovered["data"]["currency"], "USD");
    assert_eq!(recovered["data"]["items"][0]["name"], "Product");
    assert_eq!(recovered["data"]["emailsSent"], json!(1));
    let converted = &events
        .iter()
        .find(|(e, _)| e == "cart.converted")
        .unwrap()
        .1;
    assert_eq!(converted["data"]["sessionId"], "sess-c");
    assert!(converted["data"].get("revenue").is_none());
    let abandoned_b = events
        .iter()
        .find(|(e, b)| e == "cart.abandoned" && b["data"]["sessionId"] == "sess-b")
        .unwrap();
    assert_eq!(abandoned_b.1["data"]["customerEmail"], Value::Null);
    assert!(
        events
            .iter()
            .all(|(_, b)| b["timestamp"].is_string() && b["data"]["cartId"].is_string())
    );

    let requests = receiver.requests();
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/hooks");
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert!(request.header("webhook-id").unwrap().starts_with("msg_"));
    }
    let mut ids: Vec<&str> = requests
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), requests.len(), "one webhook-id per event");
    assert!(
        verify(&requests, &[&secret])
            .iter()
            .all(|&(standard, retake)| standard && retake),
        "every delivery verifies"
    );
    let mut tampered = requests[0].clone();
    let text = String::from_utf8(tampered.body.clone()).unwrap();
    tampered.body = text
        .replacen("\"data\":{", "\"data\":{\"injected\":1,", 1)
        .into_bytes();
    assert_eq!(verify(&[tampered], &[&secret]), vec![(false, false)]);
    assert_eq!(
        verify(
            &requests[..1],
            &["whsec_d3JvbmcgLSB3cm9uZyAtIHdyb25nIC0gd3Jvbmc="]
        ),
        vec![(false, false)]
    );
    // Every delivery is what the API's document says a webhook is; a payload
    // with a field of the wrong type or without the cart is not.
    let bodies: Vec<Value> = requests.iter().map(body_json).collect();
    let complaints = against_the_document(&setup.api, &bodies);
    assert!(complaints.iter().all(Option::is_none), "{complaints:?}");
    let mut wrong_type = recovered.clone();
    wrong_type["data"]["orderTotalMinor"] = json!("10000");
    let mut no_cart = converted.clone();
    no_cart["data"].as_object_mut().unwrap().remove("cartId");
    let mut unknown_event = converted.clone();
    unknown_event["event"] = json!("cart.teleported");
    let complaints = against_the_document(&setup.api, &[wrong_type, no_cart, unknown_event]);
    assert!(complaints.iter().all(Option::is_some), "{complaints:?}");
    // The store agrees: everything succeeded at the first attempt.
    let rows = setup.deliveries(&endpoint.id);
    assert_eq!(rows.len(), requests.len());
    assert!(rows.iter().all(|d| d.status.as_str() == "succeeded"
        && d.attempts == 1
        && d.last_status_code == Some(200)));
}
on_both_backends!(recovered_and_converted_orders_reach_a_verified_receiver);

/// Seed 000's webhook handler ported as it is: on `cart.abandoned` it looks the
/// shopper up and sends its own recovery email. Its endpoint asks for Retake's
/// meaning (`abandonedEvent: "unemailable"`), so it hears only of the cart
/// cartback cannot email, and no shopper gets two emails; an endpoint left at
/// the default hears of both carts.
fn retakes_handler_gets_only_the_carts_cartback_cannot_email(backend: Backend) {
    let setup = setup_with(
        backend,
        "1s",
        &[("CARTBACK_ALLOW_PRIVATE_TARGETS", "true".to_owned())],
    );
    let maildev = Maildev::start();
    let retake = HttpStub::start();
    let crm = HttpStub::start();
    let key = &setup.tenant.secret;
    let (status, created) = setup.api.v1(
        "POST",
        "/webhook-endpoints",
        key,
        Some(
            &json!({"url": format!("{}/api/webhooks/retake", retake.base_url),
                     "events": ["cart.abandoned", "email.sent", "cart.recovered"],
                     "abandonedEvent": "unemailable"}),
        ),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["abandonedEvent"], "unemailable");
    let (status, every) = setup.api.v1(
        "POST",
        "/webhook-endpoints",
        key,
        Some(&json!({"url": format!("{}/hooks", crm.base_url), "events": ["cart.abandoned"]})),
    );
    assert_eq!(status, 201, "{every}");
    assert_eq!(every["abandonedEvent"], "all");
    let _worker = setup.worker(Some(&maildev), true, "100ms,200ms");

    // One shopper left an address, the other did not (a guest checkout).
    assert_eq!(
        setup
            .api
            .track(key, &cart_update("sess-known", Some("ann@example.com")))
            .0,
        200
    );
    assert_eq!(
        setup.api.track(key, &cart_update("sess-guest", None)).0,
        200
    );
    let abandoned = |stub: &HttpStub| -> Vec<String> {
        let mut sessions: Vec<String> = events_of(stub)
            .into_iter()
            .filter(|(e, _)| e == "cart.abandoned")
            .map(|(_, b)| {
                b["data"]["sessionId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        sessions.sort();
        sessions
    };
    wait_for(
        "both carts abandoned, one emailed",
        Duration::from_secs(30),
        || abandoned(&crm).len() == 2 && maildev.emails().len() == 1,
    );
    wait_for("email.sent to the handler", Duration::from_secs(30), || {
        events_of(&retake).iter().any(|(e, _)| e == "email.sent")
    });
    assert_eq!(abandoned(&crm), ["sess-guest", "sess-known"]);
    // The handler is told only of the guest's cart: it emails that shopper,
    // cartback emailed the other, and nobody gets two.
    assert_eq!(abandoned(&retake), ["sess-guest"]);
    assert_eq!(maildev.emails().len(), 1);

    // Set back to every cart, the endpoint hears of the next abandonment of a
    // cart cartback emails too.
    let (status, changed) = setup.api.v1(
        "PATCH",
        &format!("/webhook-endpoints/{}", created["id"].as_str().unwrap()),
        key,
        Some(&json!({"abandonedEvent": "all"})),
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["abandonedEvent"], "all");
    assert_eq!(
        setup
            .api
            .track(key, &cart_update("sess-second", Some("bo@example.com")))
            .0,
        200
    );
    wait_for(
        "cart.abandoned of the emailed cart",
        Duration::from_secs(30),
        || abandoned(&retake).contains(&"sess-second".to_owned()),
    );
    // A value that is neither is refused.
    let (status, refused) = setup.api.v1(
        "PATCH",
        &format!("/webhook-endpoints/{}", created["id"].as_str().unwrap()),
        key,
        Some(&json!({"abandonedEvent": "none"})),
    );
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["details"][0]["field"], "abandonedEvent");
}

on_both_backends!(retakes_handler_gets_only_the_carts_cartback_cannot_email);

/// A failing receiver: the same webhook-id on every attempt, the schedule's
/// waits, a 429's Retry-After honoured; a 410 disables its endpoint; an endpoint
/// that never recovers ends dead, and a replay delivers it with the same id.
fn retries_gone_dead_and_replay(backend: Backend) {
    let setup = setup(backend, "1s");
    let times: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let seen = times.clone();
    let flaky = HttpStub::start_with(move |_, index| {
        seen.lock().unwrap().push(Instant::now());
        match index {
            1 => Reply::json(500, r#"{"error":"boom"}"#),
            2 => Reply::json(429, "{}").with_header("Retry-After", "1"),
            _ => Reply::json(200, "{}"),
        }
    });
    let gone = HttpStub::start_with(|_, _| Reply::json(410, "{}"));
    // Down for the three attempts the schedule allows, up for the replay.
    let down = HttpStub::start_with(|_, index| {
        if index <= 3 {
            Reply::json(503, "{}")
        } else {
            Reply::json(204, "")
        }
    });
    let (flaky_endpoint, secret) = setup.endpoint(&flaky.base_url, &["cart.abandoned"]);
    let (gone_endpoint, _) = setup.endpoint(&gone.base_url, &["cart.abandoned"]);
    let (down_endpoint, down_secret) = setup.endpoint(&down.base_url, &["cart.abandoned"]);
    let _worker = setup.worker(None, true, "100ms,150ms");
    assert_eq!(
        setup
            .api
            .track(&setup.tenant.secret, &cart_update("sess-x", None))
            .0,
        200
    );

    wait_for(
        "three attempts at the flaky receiver",
        Duration::from_secs(30),
        || {
            setup
                .deliveries(&flaky_endpoint.id)
                .first()
                .is_some_and(|d| d.status.as_str() == "succeeded")
        },
    );
    let requests = flaky.requests();
    assert_eq!(requests.len(), 3);
    let ids: Vec<&str> = requests
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "stable webhook-id: {ids:?}"
    );
    assert!(verify(&requests, &[&secret]).iter().all(|&(s, r)| s && r));
    let times = times.lock().unwrap().clone();
    assert!(
        times[2] - times[1] >= Duration::from_millis(950),
        "Retry-After: 1 honoured"
    );
    let delivery = &setup.deliveries(&flaky_endpoint.id)[0];
    assert_eq!(
        (delivery.attempts, delivery.last_status_code),
        (3, Some(200))
    );

    wait_for(
        "the 410 to disable its endpoint",
        Duration::from_secs(30),
        || {
            let row = get_endpoint(
                &mut setup.store().conn().unwrap(),
                &setup.tenant.id,
                &gone_endpoint.id,
            )
            .unwrap()
            .unwrap();
            row.enabled == 0
        },
    );
    let dead = &setup.deliveries(&gone_endpoint.id)[0];
    assert_eq!(
        (dead.status.as_str(), dead.last_status_code, dead.attempts),
        ("dead", Some(410), 1)
    );
    assert_eq!(gone.requests().len(), 1, "no retry after a 410");

    wait_for(
        "the down endpoint's delivery to die",
        Duration::from_secs(30),
        || {
            setup
                .deliveries(&down_endpoint.id)
                .first()
                .is_some_and(|d| d.status.as_str() == "dead")
        },
    );
    let dead = &setup.deliveries(&down_endpoint.id)[0];
    assert_eq!(dead.attempts, 3);
    assert!(
        dead.last_error.as_deref().unwrap().contains("gave up"),
        "{dead:?}"
    );
    let replay = replay_delivery(
        &mut setup.store().conn().unwrap(),
        &setup.tenant.id,
        &down_endpoint.id,
        &dead.id,
        chrono::Utc::now(),
    )
    .unwrap();
    assert!(matches!(replay, Replay::Queued(_)));
    wait_for("the replay to arrive", Duration::from_secs(30), || {
        setup
            .deliveries(&down_endpoint.id)
            .first()
            .is_some_and(|d| d.status.as_str() == "succeeded")
    });
    let requests = down.requests();
    assert_eq!(requests.len(), 4);
    assert!(
        requests
            .iter()
            .all(|r| r.header("webhook-id") == Some(dead.id.as_str()))
    );
    assert!(
        verify(&requests[3..], &[&down_secret])
            .iter()
            .all(|&(s, r)| s && r)
    );
}
on_both_backends!(retries_gone_dead_and_replay);

/// Without the allow flag the worker refuses loopback targets: nothing arrives.
#[test]
fn private_targets_are_refused_without_the_flag() {
    let setup = setup(Backend::Sqlite, "1s");
    let receiver = HttpStub::start();
    let (endpoint, _) = setup.endpoint(&receiver.base_url, &["cart.abandoned"]);
    let _worker = setup.worker(None, false, "100ms");
    assert_eq!(
        setup
            .api
            .track(&setup.tenant.secret, &cart_update("sess-p", None))
            .0,
        200
    );
    wait_for(
        "the delivery to be refused",
        Duration::from_secs(30),
        || {
            setup
                .deliveries(&endpoint.id)
                .first()
                .is_some_and(|d| d.status.as_str() == "dead")
        },
    );
    let dead = &setup.deliveries(&endpoint.id)[0];
    assert!(
        dead.last_error.as_deref().unwrap().contains("refused"),
        "{dead:?}"
    );
    assert!(receiver.requests().is_empty());
}

/// A tenant that puts Stripe payment links into its emails: the worker creates a
/// Checkout Session for the cart (one per send, keyed for Stripe's idempotency)
/// and the email carries its URL.
fn payment_link_in_the_recovery_email(backend: Backend) {
    let setup = setup(backend, "1s");
    let maildev = Maildev::start();
    let stripe = HttpStub::start_with(|_, index| {
        Reply::json(
            200,
            &format!(
                r#"{{"id":"cs_test_{index}","url":"https://checkout.stripe.test/c/pay/cs_test_{index}","expires_at":1900000000}}"#
            ),
        )
    });
    let (status, answer) = setup.api.call(
        "PUT",
        "/api/v1/integrations/stripe",
        &setup.tenant.secret,
        Some(
            &json!({"secretKey": "sk_test_emails", "linksInEmails": true,
                     "successUrl": "https://shop.example/thanks"}),
        ),
    );
    assert_eq!(status, 200, "{answer}");
    let _worker = setup.worker_with(
        Some(&maildev),
        true,
        "100ms",
        &[("CARTBACK_STRIPE_API_BASE", stripe.base_url.clone())],
    );
    let id = setup
        .api
        .track(
            &setup.tenant.secret,
            &cart_update("sess-pay", Some("pat@example.com")),
        )
        .1["cartId"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for(
        "the email with a payment link",
        Duration::from_secs(30),
        || !maildev.emails().is_empty(),
    );
    let mail = &maildev.emails()[0];
    let html = mail["html"].as_str().unwrap();
    let text = mail["text"].as_str().unwrap();
    assert!(
        html.contains("https://checkout.stripe.test/c/pay/cs_test_1"),
        "{html}"
    );
    assert!(
        text.contains("https://checkout.stripe.test/c/pay/cs_test_1"),
        "{text}"
    );
    let calls = stripe.requests();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(
        (call.method.as_str(), call.path.as_str()),
        ("POST", "/v1/checkout/sessions")
    );
    assert_eq!(call.header("authorization"), Some("Bearer sk_test_emails"));
    assert!(
        call.header("idempotency-key")
            .unwrap()
            .starts_with("cartback-send-")
    );
    let form: Vec<(String, String)> = reqwest::Url::parse(&format!(
        "http://x/?{}",
        String::from_utf8(call.body.clone()).unwrap()
    ))
    .unwrap()
    .query_pairs()
    .map(|(k, v)| (k.into_owned(), v.into_owned()))
    .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(field("client_reference_id"), Some(id.as_str()));
    assert_eq!(field("customer_email"), Some("pat@example.com"));
    assert_eq!(field("success_url"), Some("https://shop.example/thanks"));
    assert_eq!(
        field("line_items[0][price_data][unit_amount]"),
        Some("10000")
    );
    assert_eq!(field("line_items[0][price_data][currency]"), Some("usd"));
    assert_eq!(field("metadata[session_id]"), Some("sess-pay"));
}
on_both_backends!(payment_link_in_the_recovery_email);

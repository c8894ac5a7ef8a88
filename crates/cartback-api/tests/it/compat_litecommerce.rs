//! Seed 001 (litecommerce) in process, on SQLite and PostgreSQL: a client
//! written from the seed's own examples, which all go through its `api()`
//! helper (`api("/public/abandoned-carts", {method, body})` under
//! `/api/v1`), with cartback's keys in place of litecommerce's tenant header
//! and member session. Every request and answer the seed shows: the capture
//! (`{ok, wasCreated}`, no id or email), its upsert on `sessionId`, the 8–200
//! rule, `variantId` and `subtotalInCents` kept, and the merchant list with
//! `filter=pending|recovered|all` and the seed's field names.

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use cartback_domain::RecoveryPolicy;
use cartback_store::Backend;
use cartback_store::carts::{CartRelease, claim_due_carts};
use cartback_store::sends::{
    FinishedSend, SendDecision, SendResult, StartSend, settle, start_send,
};
use cartback_testing::app::{Tenant, error_fields};
use cartback_testing::on_both_backends;

use crate::harness::{Call, InProcess};

/// The seed's `api(path, init)`: `fetch("/api/v1" + path, init)` with the
/// shop's key in the header its storefront (publishable key) or back office
/// (secret key) sends, answering (status, JSON).
fn api(
    server: &InProcess,
    key: &str,
    path: &str,
    method: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let mut call = Call::new(method, &format!("/api/v1{path}")).header("X-API-Key", key);
    if let Some(body) = body {
        call = call
            .header("Content-Type", "application/json")
            .body(body.to_owned());
    }
    let answer = server.send(call);
    (answer.status, answer.json())
}

/// The seed's capture example, `JSON.stringify`'d as its storefront sends it.
fn capture_body(session: &str, email: Option<&str>) -> String {
    let mut body = json!({
        "sessionId": session,
        "snapshot": {
            "items": [{"itemId": "trail-pack", "variantId": "38l-slate", "name": "Trail Pack 38L",
                       "quantity": 1, "unitPriceInCents": 18900}],
            "subtotalInCents": 18900,
            "totalInCents": 18900,
        },
    });
    if let Some(email) = email {
        body["email"] = json!(email);
    }
    body.to_string()
}

/// Sends the cart's first recovery email through the store, as the worker
/// does when its delay has passed: claimed (as if two hours from now, when
/// it is due), started and recorded as sent now, so an order placed after
/// this call comes after the email.
fn email_once(server: &InProcess, tenant: &Tenant, cart_id: &str) {
    let mut conn = server.store.conn().unwrap();
    let later = Utc::now() + TimeDelta::hours(2);
    let lease = later + TimeDelta::minutes(1);
    let claimed = claim_due_carts(&mut conn, "w1", later, lease, 50).unwrap();
    assert!(claimed.iter().any(|c| c.id == cart_id));
    let decide = |_: &cartback_store::carts::CartRow| {
        Ok(Some(SendDecision {
            step: 0,
            mark_abandoned: true,
        }))
    };
    let StartSend::Ready { send, .. } = start_send(
        &mut conn,
        &tenant.id,
        cart_id,
        "w1",
        Utc::now(),
        lease,
        decide,
    )
    .unwrap() else {
        panic!("a send to deliver");
    };
    let sent = [FinishedSend {
        send_id: send.id,
        result: SendResult::Sent {
            provider: "file".to_owned(),
            provider_message_id: None,
            coupon_code: None,
        },
    }];
    let keys: Vec<_> = claimed
        .iter()
        .map(cartback_store::carts::CartKey::of)
        .collect();
    settle(&mut conn, "w1", Utc::now(), &sent, &[], &keys, |row| {
        Ok(CartRelease {
            status: row.status,
            next_step: if row.id == cart_id { 1 } else { 0 },
            next_action_at: None,
            quarantine: None,
        })
    })
    .unwrap();
}

/// The sorted cart ids of a list: litecommerce's (`carts`) or the native one (`data`).
fn ids_in(list: &Value, key: &str) -> Vec<String> {
    let mut ids: Vec<String> = list[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn ids(list: &Value) -> Vec<String> {
    ids_in(list, "carts")
}

fn capture_and_list(backend: Backend) {
    let server = InProcess::start(backend);
    // The default policy: three emails, so a cart emailed once is still pending.
    let shop = server.tenant_with("Trail shop", RecoveryPolicy::default());
    let storefront = shop.publishable.as_str();
    let back_office = shop.secret.as_str();

    // The seed's capture: `{ ok: true, wasCreated }`, deliberately without a
    // row id or the email.
    let session = "sess_3f9a2c71b8e04d55";
    let (status, answer) = api(
        &server,
        storefront,
        "/public/abandoned-carts",
        "POST",
        Some(&capture_body(session, Some("dana@example.com"))),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"ok": true, "wasCreated": true}));
    // Repeated calls update the one row.
    let (status, answer) = api(
        &server,
        storefront,
        "/public/abandoned-carts",
        "POST",
        Some(&capture_body(session, None)),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"ok": true, "wasCreated": false}));

    // The line keeps its product and variant apart; the subtotal is kept.
    let (status, cart) = api(
        &server,
        back_office,
        &format!("/carts/{session}"),
        "GET",
        None,
    );
    assert_eq!(status, 200, "{cart}");
    let cart = &cart["data"];
    assert_eq!(cart["items"][0]["id"], "trail-pack");
    assert_eq!(cart["items"][0]["variantId"], "38l-slate");
    assert_eq!(cart["subtotal"], "189.00");
    assert_eq!(cart["subtotalMinor"], 18900);
    assert_eq!(cart["totalMinor"], 18900);
    // A capture without an email keeps the one given before.
    assert_eq!(cart["customerEmail"], "dana@example.com");
    let emailed_id = cart["id"].as_str().unwrap().to_owned();

    // A second cart, never given an email: it can be stored, not emailed.
    let anonymous = "sess_7c21e9d04a6b3f18";
    let (status, _) = api(
        &server,
        storefront,
        "/public/abandoned-carts",
        "POST",
        Some(&capture_body(anonymous, None)),
    );
    assert_eq!(status, 200);

    // The merchant list, `filter=pending` by default: nothing is pending
    // while the carts are still active, as the native list says.
    let merchant = |query: &str| -> Value {
        let (status, list) = api(
            &server,
            back_office,
            &format!("/merchant/abandoned-carts{query}"),
            "GET",
            None,
        );
        assert_eq!(status, 200, "{query}: {list}");
        list
    };
    let native = |status: &str| -> Vec<String> {
        let (code, page) = api(
            &server,
            back_office,
            &format!("/carts?status={status}&per_page=250"),
            "GET",
            None,
        );
        assert_eq!(code, 200, "{page}");
        ids_in(&page, "data")
    };
    assert_eq!(ids(&merchant("")), Vec::<String>::new());
    assert_eq!(ids(&merchant("?filter=pending")), native("pending"));
    assert_eq!(ids(&merchant("?filter=all")).len(), 2);

    // Its first recovery email goes out: the cart is abandoned with emails
    // still to come (pending), and the seed's stamps say so.
    email_once(&server, &shop, &emailed_id);
    let pending = merchant("?filter=pending");
    assert_eq!(ids(&pending), std::slice::from_ref(&emailed_id));
    assert_eq!(ids(&pending), native("pending"));
    assert_eq!(pending["total"], 1);
    let row = &pending["carts"][0];
    assert_eq!(row["sessionId"], session);
    assert_eq!(row["email"], "dana@example.com");
    assert_eq!(row["status"], "abandoned");
    assert_eq!(row["recoveryEmailCount"], 1);
    assert!(row["recoveryEmailSentAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(row["recoveredAt"], Value::Null);
    assert_eq!(
        row["snapshot"],
        json!({"items": [{"itemId": "trail-pack", "variantId": "38l-slate", "name": "Trail Pack 38L",
                          "quantity": 1, "unitPriceInCents": 18900}],
               "subtotalInCents": 18900, "totalInCents": 18900, "currency": "USD"})
    );

    // The order arrives after the email: the cart is recovered, and
    // `recoveredAt` is stamped (the attribution the seed never wired).
    let (status, answer) = server.track(
        back_office,
        &json!({"event": "ORDER_COMPLETE", "sessionId": session, "orderId": "INV-1", "total": 189.00}),
    );
    assert_eq!(status, 200, "{answer}");
    let recovered = merchant("?filter=recovered");
    assert_eq!(ids(&recovered), std::slice::from_ref(&emailed_id));
    assert_eq!(ids(&recovered), native("recovered"));
    assert!(
        recovered["carts"][0]["recoveredAt"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(ids(&merchant("?filter=pending")), Vec::<String>::new());
    assert_eq!(ids(&merchant("?filter=all")).len(), 2);
    let paged = merchant("?filter=all&perPage=1&page=2");
    assert_eq!(paged["carts"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            paged["page"].clone(),
            paged["perPage"].clone(),
            paged["total"].clone()
        ),
        (json!(2), json!(1), json!(2))
    );

    // Captured before the shopper gave an address, filled in once they do:
    // the one row takes the email, and now it can be emailed.
    let (status, answer) = api(
        &server,
        storefront,
        "/public/abandoned-carts",
        "POST",
        Some(&capture_body(anonymous, Some("lee@example.com"))),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"ok": true, "wasCreated": false}));
    let (status, cart) = api(
        &server,
        back_office,
        &format!("/carts/{anonymous}"),
        "GET",
        None,
    );
    assert_eq!(status, 200, "{cart}");
    assert_eq!(cart["data"]["customerEmail"], "lee@example.com");
    let all = merchant("?filter=all");
    assert_eq!(all["total"], 2);
    let filled = all["carts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["sessionId"] == anonymous)
        .expect("the anonymous capture is listed");
    assert_eq!(filled["email"], "lee@example.com");
    assert_eq!(filled["recoveryEmailCount"], 0);
    assert_eq!(filled["recoveryEmailSentAt"], Value::Null);
}

fn every_refusal(backend: Backend) {
    let server = InProcess::start(backend);
    let shop = server.tenant("Trail shop", TimeDelta::hours(1));
    let other = server.tenant("Other shop", TimeDelta::hours(1));
    let storefront = shop.publishable.as_str();

    // sessionId: required, 8 to 200 characters (16 with a publishable key,
    // which anyone can read from the page).
    let short = capture_body("sess_1", None);
    let (status, answer) = api(
        &server,
        storefront,
        "/public/abandoned-carts",
        "POST",
        Some(&short),
    );
    assert_eq!(status, 422, "{answer}");
    assert_eq!(error_fields(&answer), ["sessionId"]);
    let (status, answer) = api(
        &server,
        &shop.secret,
        "/public/abandoned-carts",
        "POST",
        Some(&capture_body(&"s".repeat(201), None)),
    );
    assert_eq!(status, 422, "{answer}");
    assert_eq!(error_fields(&answer), ["sessionId"]);
    // snapshot: required; amounts in whole cents; a bad email.
    let (status, answer) = api(
        &server,
        storefront,
        "/public/abandoned-carts",
        "POST",
        Some(
            &json!({"sessionId": "sess_3f9a2c71b8e04d55", "email": "dana-at-example",
                    "snapshot": {"items": [{"itemId": "p", "variantId": "v", "name": "Pack",
                                            "quantity": 1, "unitPriceInCents": 189.5}],
                                 "subtotalInCents": "18900"}})
            .to_string(),
        ),
    );
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        error_fields(&answer),
        [
            "snapshot.items[0].unitPriceInCents",
            "snapshot.subtotalInCents",
            "email"
        ]
    );
    let (status, answer) = api(
        &server,
        storefront,
        "/public/abandoned-carts",
        "POST",
        Some(r#"{"sessionId": "sess_3f9a2c71b8e04d55"}"#),
    );
    assert_eq!(status, 422, "{answer}");
    assert_eq!(error_fields(&answer), ["snapshot"]);
    // No key at all: the seed's "no auth" would let anyone write into any shop.
    let answer = server.send(
        Call::new("POST", "/api/v1/public/abandoned-carts")
            .header("Content-Type", "application/json")
            .body(capture_body("sess_3f9a2c71b8e04d55", None)),
    );
    assert_eq!(answer.status, 401);

    // The merchant list: a secret key only, known filters and parameters.
    let (status, answer) = api(
        &server,
        storefront,
        "/merchant/abandoned-carts",
        "GET",
        None,
    );
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["error"]["code"], "FORBIDDEN");
    let (status, _) = api(
        &server,
        "sk_nonsense",
        "/merchant/abandoned-carts",
        "GET",
        None,
    );
    assert_eq!(status, 401);
    for (query, fields) in [
        ("?filter=abandoned", vec!["filter"]),
        ("?filter=", vec!["filter"]),
        ("?status=pending", vec!["status"]),
        ("?perPage=0&page=x", vec!["page", "perPage"]),
    ] {
        let (status, answer) = api(
            &server,
            &shop.secret,
            &format!("/merchant/abandoned-carts{query}"),
            "GET",
            None,
        );
        assert_eq!(status, 422, "{query}: {answer}");
        let mut got = error_fields(&answer);
        got.sort();
        assert_eq!(got, fields, "{query}");
    }
    // Another shop's captures are not listed.
    api(
        &server,
        storefront,
        "/public/abandoned-carts",
        "POST",
        Some(&capture_body("sess_3f9a2c71b8e04d55", None)),
    );
    let (status, list) = api(
        &server,
        &other.secret,
        "/merchant/abandoned-carts?filter=all",
        "GET",
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(list["carts"], json!([]));
}

on_both_backends!(capture_and_list, every_refusal);

use cartback_stripe::{
    StripeOrder, parse_order_event, stripe_signature_header, verify_stripe_signature,
};

const CHECKOUT_COMPLETED: &str = r#"{
  "id": "evt_1PZkQ2LkdIwHu7ixc0aBcDeF",
  "object": "event",
  "api_version": "2024-06-20",
  "created": 1720000123,
  "data": {
    "object": {
      "id": "cs_test_a1MvhZ0pQ2v8Xc",
      "object": "checkout.session",
      "amount_subtotal": 3000,
      "amount_total": 2700,
      "client_reference_id": "cart_42",
      "currency": "eur",
      "customer": null,
      "customer_details": {
        "address": {"city": "Lisboa", "country": "PT", "line1": null, "line2": null, "postal_code": null, "state": null},
        "email": "ana@example.com",
        "name": "Ana Silva",
        "phone": null,
        "tax_exempt": "none",
        "tax_ids": []
      },
      "customer_email": "old@example.com",
      "expires_at": 1720086500,
      "livemode": false,
      "metadata": {"cart_id": "cart_42", "session_id": "sess_9", "other": "x"},
      "mode": "payment",
      "payment_intent": "pi_3PZkPzLkdIwHu7ix",
      "payment_status": "paid",
      "status": "complete",
      "success_url": "https://shop.example/thanks",
      "total_details": {"amount_discount": 300, "amount_shipping": 0, "amount_tax": 0}
    }
  },
  "livemode": false,
  "pending_webhooks": 1,
  "request": {"id": null, "idempotency_key": null},
  "type": "checkout.session.completed"
}"#;

const PAYMENT_SUCCEEDED: &str = r#"{
  "id": "evt_3PZkPzLkdIwHu7ix1XyZ",
  "object": "event",
  "api_version": "2024-06-20",
  "created": 1720000456,
  "data": {
    "object": {
      "id": "pi_3PZkPzLkdIwHu7ix",
      "object": "payment_intent",
      "amount": 4599,
      "amount_capturable": 0,
      "amount_received": 4599,
      "currency": "usd",
      "customer": "cus_QQ1",
      "description": null,
      "latest_charge": "ch_3PZkPzLkdIwHu7ix",
      "metadata": {"cart_id": "cart_77"},
      "payment_method_types": ["card"],
      "receipt_email": "bo@example.com",
      "status": "succeeded"
    }
  },
  "livemode": true,
  "pending_webhooks": 2,
  "request": {"id": "req_abc", "idempotency_key": "k1"},
  "type": "payment_intent.succeeded"
}"#;

#[test]
fn checkout_session_completed() {
    let order = parse_order_event(CHECKOUT_COMPLETED.as_bytes()).unwrap();
    assert_eq!(
        order,
        Some(StripeOrder {
            event_id: "evt_1PZkQ2LkdIwHu7ixc0aBcDeF".into(),
            event_type: "checkout.session.completed".into(),
            object_id: "cs_test_a1MvhZ0pQ2v8Xc".into(),
            client_reference_id: Some("cart_42".into()),
            metadata_cart_id: Some("cart_42".into()),
            metadata_session_id: Some("sess_9".into()),
            email: Some("ana@example.com".into()),
            amount_minor: Some(2700),
            currency: Some("EUR".into()),
            created: Some(1720000123),
            payment_intent_id: Some("pi_3PZkPzLkdIwHu7ix".into()),
        })
    );
}

#[test]
fn checkout_session_email_falls_back_and_free_orders_count() {
    let text = CHECKOUT_COMPLETED
        .replace(r#""email": "ana@example.com""#, r#""email": null"#)
        .replace(
            r#""payment_status": "paid""#,
            r#""payment_status": "no_payment_required""#,
        );
    let order = parse_order_event(text.as_bytes()).unwrap().unwrap();
    assert_eq!(order.email.as_deref(), Some("old@example.com"));
}

#[test]
fn a_session_and_its_payment_intent_name_one_order() {
    let session = parse_order_event(CHECKOUT_COMPLETED.as_bytes())
        .unwrap()
        .unwrap();
    let intent = parse_order_event(PAYMENT_SUCCEEDED.as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(session.order_ref(), intent.order_ref());
    let without = CHECKOUT_COMPLETED.replace(r#""payment_intent": "pi_3PZkPzLkdIwHu7ix","#, "");
    let session = parse_order_event(without.as_bytes()).unwrap().unwrap();
    assert_eq!(session.order_ref(), "cs_test_a1MvhZ0pQ2v8Xc");
}

#[test]
fn unpaid_checkout_session_is_not_an_order_yet() {
    let text = CHECKOUT_COMPLETED.replace(
        r#""payment_status": "paid""#,
        r#""payment_status": "unpaid""#,
    );
    assert_eq!(parse_order_event(text.as_bytes()).unwrap(), None);
}

#[test]
fn payment_intent_succeeded() {
    let order = parse_order_event(PAYMENT_SUCCEEDED.as_bytes()).unwrap();
    assert_eq!(
        order,
        Some(StripeOrder {
            event_id: "evt_3PZkPzLkdIwHu7ix1XyZ".into(),
            event_type: "payment_intent.succeeded".into(),
            object_id: "pi_3PZkPzLkdIwHu7ix".into(),
            client_reference_id: None,
            metadata_cart_id: Some("cart_77".into()),
            metadata_session_id: None,
            email: Some("bo@example.com".into()),
            amount_minor: Some(4599),
            currency: Some("USD".into()),
            created: Some(1720000456),
            payment_intent_id: Some("pi_3PZkPzLkdIwHu7ix".into()),
        })
    );
    let without_received = PAYMENT_SUCCEEDED.replace(r#""amount_received": 4599,"#, "");
    let order = parse_order_event(without_received.as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(order.amount_minor, Some(4599));
}

#[test]
fn other_events_are_ignored() {
    let refunded = r#"{
      "id": "evt_9",
      "object": "event",
      "created": 1720000999,
      "data": {"object": {"id": "ch_1", "object": "charge", "amount_refunded": 100}},
      "type": "charge.refunded"
    }"#;
    assert_eq!(parse_order_event(refunded.as_bytes()).unwrap(), None);
    // An ignored type need not look like an order at all.
    let odd = r#"{"id":"evt_10","type":"customer.created","data":{"object":{}}}"#;
    assert_eq!(parse_order_event(odd.as_bytes()).unwrap(), None);
}

#[test]
fn bad_json_is_an_error() {
    assert!(parse_order_event(b"not json").is_err());
    assert!(parse_order_event(br#"{"id":"evt_1"}"#).is_err());
    // A relevant type without an object id cannot be used as an order.
    let no_id =
        r#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"amount":5}}}"#;
    assert!(parse_order_event(no_id.as_bytes()).is_err());
}

#[test]
fn verify_then_parse() {
    let secret = "whsec_endpoint_secret";
    let header = stripe_signature_header(secret, PAYMENT_SUCCEEDED.as_bytes(), 1720000460);
    let t = verify_stripe_signature(
        &header,
        PAYMENT_SUCCEEDED.as_bytes(),
        &[secret],
        1720000470,
        300,
    )
    .unwrap();
    assert_eq!(t, 1720000460);
    assert!(
        parse_order_event(PAYMENT_SUCCEEDED.as_bytes())
            .unwrap()
            .is_some()
    );
}

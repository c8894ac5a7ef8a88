//! Webhook endpoints, the delivery outbox and order attribution, on both backends.

use chrono::{TimeDelta, Utc};
use serde_json::Value;

use cartback_domain::{AttributionMode, CartStatus, MatchedBy, OrderAttribution, OrderSource};
use cartback_store::DbConn;
use cartback_store::carts::upsert_cart;
use cartback_store::events::{CartEventKind, NewCartEvent, list_events, record_events};
use cartback_store::orders::{NewOrder, record_order};
use cartback_store::webhooks::{
    AttemptResult, DeliveryStatus, EndpointChanges, NewEndpoint, Replay, claim_due_deliveries,
    create_endpoint, finish_attempts, get_endpoint, list_deliveries, replay_delivery,
    rotate_secret, update_endpoint,
};

use crate::common::*;
use cartback_testing::on_both_backends;

fn endpoint(conn: &mut DbConn, tenant_id: &str, events: &[&str]) -> String {
    let events: Vec<String> = events.iter().map(|e| (*e).to_owned()).collect();
    create_endpoint(
        conn,
        &NewEndpoint {
            tenant_id,
            url: "https://hooks.example/in",
            description: Some("crm"),
            events: &events,
            sealed_secret: "sealed-1",
            enabled: true,
            abandoned_event: cartback_store::webhooks::AbandonedEvent::All,
            now: Utc::now(),
        },
    )
    .unwrap()
    .id
}

fn event(tenant_id: &str, cart_id: &str, kind: CartEventKind) -> NewCartEvent {
    NewCartEvent {
        tenant_id: tenant_id.to_owned(),
        cart_id: cart_id.to_owned(),
        kind,
        step: Some(0),
        detail: Some("smtp".to_owned()),
    }
}

on_both_backends!(
    events_queue_one_delivery_per_subscribed_endpoint,
    |db: &TestDatabase| {
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let other = tenant(&mut conn, "Other");
        let now = Utc::now();
        let cart =
            upsert_cart(&mut conn, &upsert(&shop, "s-1", Some("a@example.com"), now)).unwrap();
        let abandoned_only = endpoint(&mut conn, &shop.id, &["cart.abandoned"]);
        let everything = endpoint(&mut conn, &shop.id, &["*"]);
        let elsewhere = endpoint(&mut conn, &other.id, &["*"]);
        let switched_off = endpoint(&mut conn, &shop.id, &["*"]);
        let off = EndpointChanges {
            enabled: Some(false),
            ..EndpointChanges::default()
        };
        update_endpoint(&mut conn, &shop.id, &switched_off, &off, now).unwrap();

        record_events(
            &mut conn,
            &[
                event(&shop.id, &cart.id, CartEventKind::Abandoned),
                event(&shop.id, &cart.id, CartEventKind::Sent),
                // Skips are history only.
                event(&shop.id, &cart.id, CartEventKind::Skipped),
                NewCartEvent {
                    detail: Some("550 mailbox unavailable".to_owned()),
                    ..event(&shop.id, &cart.id, CartEventKind::Failed)
                },
                event(&shop.id, &cart.id, CartEventKind::Unsubscribed),
            ],
            now,
        )
        .unwrap();
        let count = |conn: &mut DbConn, tenant: &str, id: &str| {
            list_deliveries(conn, tenant, id, None, 1, 50).unwrap().1
        };
        assert_eq!(count(&mut conn, &shop.id, &abandoned_only), 1);
        assert_eq!(count(&mut conn, &shop.id, &everything), 4);
        assert_eq!(count(&mut conn, &other.id, &elsewhere), 0);
        assert_eq!(count(&mut conn, &shop.id, &switched_off), 0);

        let (rows, _) = list_deliveries(&mut conn, &shop.id, &everything, None, 1, 50).unwrap();
        let sent = rows.iter().find(|d| d.event == "email.sent").unwrap();
        let payload: Value = serde_json::from_str(&sent.payload).unwrap();
        assert_eq!(payload["event"], "email.sent");
        assert_eq!(payload["data"]["cartId"], cart.id.as_str());
        assert_eq!(payload["data"]["sessionId"], "s-1");
        assert_eq!(payload["data"]["total"], 12.5);
        assert_eq!(payload["data"]["totalMinor"], 1250);
        assert_eq!(payload["data"]["currency"], "USD");
        assert_eq!(payload["data"]["items"][0]["price"], 12.5);
        // Stored as the policy's index 0, announced as the first email: 1.
        assert_eq!(payload["data"]["step"], 1);
        assert_eq!(payload["data"]["provider"], "smtp");
        assert!(payload["timestamp"].as_str().unwrap().ends_with('Z'));
        let failed = rows.iter().find(|d| d.event == "email.failed").unwrap();
        let payload: Value = serde_json::from_str(&failed.payload).unwrap();
        assert_eq!(payload["data"]["error"], "550 mailbox unavailable");
        assert_eq!(payload["data"]["step"], 1);
        assert!(rows.iter().any(|d| d.event == "cart.unsubscribed"));
        // Another tenant cannot see the endpoint.
        assert!(
            get_endpoint(&mut conn, &other.id, &everything)
                .unwrap()
                .is_none()
        );
    }
);

on_both_backends!(
    deliveries_are_leased_retried_disabled_and_replayed,
    |db: &TestDatabase| {
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let now = Utc::now();
        let cart = upsert_cart(&mut conn, &upsert(&shop, "s-1", None, now)).unwrap();
        let hook = endpoint(&mut conn, &shop.id, &["cart.abandoned", "cart.expired"]);
        record_events(
            &mut conn,
            &[
                event(&shop.id, &cart.id, CartEventKind::Abandoned),
                event(&shop.id, &cart.id, CartEventKind::Expired),
            ],
            now,
        )
        .unwrap();
        let lease = now + TimeDelta::seconds(30);
        let claimed = claim_due_deliveries(&mut conn, "w1", now, lease, 10).unwrap();
        assert_eq!(claimed.len(), 2);
        assert!(claimed.iter().all(|c| c.delivery.attempts == 1));
        assert_eq!(claimed[0].endpoint.id, hook);
        // Leased: nobody else gets them until the lease ends.
        assert!(
            claim_due_deliveries(&mut conn, "w2", now, lease, 10)
                .unwrap()
                .is_empty()
        );
        let first = &claimed[0].delivery;
        let second = &claimed[1].delivery;
        let retry_at = now + TimeDelta::seconds(5);
        finish_attempts(
            &mut conn,
            "w1",
            &[AttemptResult {
                delivery_id: first.id.clone(),
                tenant_id: shop.id.clone(),
                endpoint_id: hook.clone(),
                status: DeliveryStatus::Pending,
                next_attempt_at: Some(retry_at),
                status_code: Some(500),
                error: Some("HTTP 500".to_owned()),
                disable_endpoint: None,
            }],
            now,
        )
        .unwrap();
        // A worker that lost its lease writes nothing.
        let stale = finish_attempts(
            &mut conn,
            "w2",
            &[AttemptResult {
                delivery_id: second.id.clone(),
                tenant_id: shop.id.clone(),
                endpoint_id: hook.clone(),
                status: DeliveryStatus::Succeeded,
                next_attempt_at: None,
                status_code: Some(200),
                error: None,
                disable_endpoint: None,
            }],
            now,
        )
        .unwrap();
        assert_eq!(stale, 0);
        assert!(
            claim_due_deliveries(&mut conn, "w1", now + TimeDelta::seconds(1), lease, 10)
                .unwrap()
                .is_empty()
        );
        let again = claim_due_deliveries(&mut conn, "w1", retry_at, retry_at, 10).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].delivery.id, first.id, "the webhook-id is stable");
        assert_eq!(again[0].delivery.attempts, 2);
        // A 410 disables the endpoint and cancels what still waits for it.
        finish_attempts(
            &mut conn,
            "w1",
            &[AttemptResult {
                delivery_id: first.id.clone(),
                tenant_id: shop.id.clone(),
                endpoint_id: hook.clone(),
                status: DeliveryStatus::Dead,
                next_attempt_at: None,
                status_code: Some(410),
                error: Some("410 Gone".to_owned()),
                disable_endpoint: Some("the receiver answered 410 Gone".to_owned()),
            }],
            now,
        )
        .unwrap();
        let disabled = get_endpoint(&mut conn, &shop.id, &hook).unwrap().unwrap();
        assert_eq!(disabled.enabled, 0);
        assert!(disabled.disabled_reason.unwrap().contains("410"));
        assert_eq!(
            replay_delivery(&mut conn, &shop.id, &hook, &first.id, now).unwrap(),
            Replay::EndpointDisabled
        );
        let on = EndpointChanges {
            enabled: Some(true),
            ..EndpointChanges::default()
        };
        update_endpoint(&mut conn, &shop.id, &hook, &on, now).unwrap();
        let Replay::Queued(replayed) =
            replay_delivery(&mut conn, &shop.id, &hook, &first.id, now).unwrap()
        else {
            panic!("replay refused")
        };
        assert_eq!(replayed.id, first.id);
        assert_eq!(replayed.status.as_str(), "pending");
        assert_eq!(
            replay_delivery(&mut conn, &shop.id, &hook, &first.id, now).unwrap(),
            Replay::AlreadyPending
        );
        let (cancelled, _) = list_deliveries(
            &mut conn,
            &shop.id,
            &hook,
            Some(DeliveryStatus::Cancelled),
            1,
            10,
        )
        .unwrap();
        // The other delivery was still waiting when the endpoint went away.
        assert_eq!(cancelled.len(), 1);
        assert_eq!(cancelled[0].id, second.id);
        // Rotation keeps the old secret signing during the overlap only.
        let rotated = rotate_secret(
            &mut conn,
            &shop.id,
            &hook,
            "sealed-2",
            now + TimeDelta::hours(1),
            now,
        )
        .unwrap()
        .unwrap();
        assert_eq!(rotated.signing_secrets(now), vec!["sealed-2", "sealed-1"]);
        assert_eq!(
            rotated.signing_secrets(now + TimeDelta::hours(2)),
            vec!["sealed-2"]
        );
    }
);

fn order(tenant_id: &str, order_ref: &str) -> NewOrder {
    NewOrder {
        tenant_id: tenant_id.to_owned(),
        order_ref: Some(order_ref.to_owned()),
        session_id: None,
        cart_id: None,
        cart_token: None,
        customer_email: None,
        total_minor: Some(4200),
        currency: "EUR".to_owned(),
        source: OrderSource::Stripe,
        attribution_mode: AttributionMode::Sent,
        attribution_window: TimeDelta::days(7),
        now: Utc::now(),
    }
}

on_both_backends!(
    orders_match_by_cart_id_then_newest_open_cart_by_email,
    |db: &TestDatabase| {
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let hook = endpoint(&mut conn, &shop.id, &["cart.converted", "cart.recovered"]);
        let now = Utc::now();
        let older = upsert_cart(
            &mut conn,
            &upsert(
                &shop,
                "s-old",
                Some("Ann@Example.com"),
                now - TimeDelta::hours(5),
            ),
        )
        .unwrap();
        let newer = upsert_cart(
            &mut conn,
            &upsert(
                &shop,
                "s-new",
                Some("ann@example.com"),
                now - TimeDelta::hours(1),
            ),
        )
        .unwrap();
        let by_email = NewOrder {
            customer_email: Some("ANN@example.com".to_owned()),
            ..order(&shop.id, "pi_1")
        };
        let outcome = record_order(&mut conn, &by_email).unwrap();
        assert_eq!(
            outcome.closed_cart,
            Some((newer.id.clone(), CartStatus::Converted))
        );
        assert_eq!(outcome.order.matched_by, Some(MatchedBy::Email));
        assert_eq!(outcome.order.source, OrderSource::Stripe);
        // The cart id beats the email.
        let by_id = NewOrder {
            cart_id: Some(older.id.clone()),
            customer_email: Some("ann@example.com".to_owned()),
            ..order(&shop.id, "pi_2")
        };
        let outcome = record_order(&mut conn, &by_id).unwrap();
        assert_eq!(outcome.order.matched_by, Some(MatchedBy::CartId));
        assert_eq!(outcome.order.cart_id.as_deref(), Some(older.id.as_str()));
        // No open cart left for the address: recorded, unmatched.
        let outcome = record_order(
            &mut conn,
            &NewOrder {
                customer_email: Some("ann@example.com".into()),
                ..order(&shop.id, "pi_3")
            },
        )
        .unwrap();
        assert_eq!(outcome.order.attribution, OrderAttribution::Unmatched);
        // Each closed cart says so in its history and in one webhook.
        let history = list_events(&mut conn, &shop.id, &newer.id).unwrap();
        assert_eq!(history.last().unwrap().kind.as_str(), "converted");
        let (rows, total) = list_deliveries(&mut conn, &shop.id, &hook, None, 1, 10).unwrap();
        assert_eq!(total, 2);
        let payload: Value = serde_json::from_str(
            &rows
                .iter()
                .find(|d| d.cart_id.as_deref() == Some(newer.id.as_str()))
                .unwrap()
                .payload,
        )
        .unwrap();
        assert_eq!(payload["event"], "cart.converted");
        assert_eq!(payload["data"]["orderId"], "pi_1");
        assert_eq!(payload["data"]["matchedBy"], "email");
        assert_eq!(payload["data"]["orderTotal"], 42.0);
        assert!(payload["data"].get("revenue").is_none());
        // A repeat is idempotent.
        let again = record_order(&mut conn, &by_email).unwrap();
        assert!(again.duplicate);
        assert_eq!(
            list_deliveries(&mut conn, &shop.id, &hook, None, 1, 10)
                .unwrap()
                .1,
            2
        );
    }
);

on_both_backends!(
    master_key_rotation_reseals_endpoint_and_stripe_secrets,
    |db: &TestDatabase| {
        use cartback_store::crypto::{CryptoError, MasterKeys, Purpose};
        use cartback_store::stripe::{StripeAccount, find_stripe_account, set_stripe_account};
        use cartback_store::webhooks::reseal_secrets;
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let (old, new) = (MasterKeys::generate(), MasterKeys::generate());
        let before = MasterKeys::from_config(Some(&old), None).unwrap();
        let now = Utc::now();
        let events = vec!["*".to_owned()];
        // Sealed before purposes existed: the first format still opens, and
        // rotation upgrades it.
        let sealed = before.seal_first_format(&shop.id, b"whsec_one").unwrap();
        let hook = create_endpoint(
            &mut conn,
            &NewEndpoint {
                tenant_id: &shop.id,
                url: "https://hooks.example/in",
                description: None,
                events: &events,
                sealed_secret: &sealed,
                enabled: true,
                abandoned_event: cartback_store::webhooks::AbandonedEvent::All,
                now,
            },
        )
        .unwrap();
        let second = before
            .seal(Purpose::WebhookSecret, &shop.id, b"whsec_two")
            .unwrap();
        rotate_secret(
            &mut conn,
            &shop.id,
            &hook.id,
            &second,
            now + TimeDelta::hours(1),
            now,
        )
        .unwrap();
        let key = before.seal_first_format(&shop.id, b"sk_test_1").unwrap();
        set_stripe_account(
            &mut conn,
            &StripeAccount {
                tenant_id: &shop.id,
                sealed_secret_key: Some(&key),
                sealed_webhook_secrets: None,
                masked: "{}",
                success_url: None,
                cancel_url: None,
                links_in_emails: false,
                now,
            },
        )
        .unwrap();
        let rotated = MasterKeys::from_config(Some(&new), Some(&old)).unwrap();
        assert_eq!(reseal_secrets(&mut conn, &rotated).unwrap(), 2);
        assert_eq!(
            reseal_secrets(&mut conn, &rotated).unwrap(),
            0,
            "already done"
        );
        let only_new = MasterKeys::from_config(Some(&new), None).unwrap();
        let row = get_endpoint(&mut conn, &shop.id, &hook.id)
            .unwrap()
            .unwrap();
        assert_eq!(
            only_new
                .open(Purpose::WebhookSecret, &shop.id, &row.secret)
                .unwrap(),
            b"whsec_two"
        );
        let previous = row.previous_secret.as_deref().unwrap();
        assert!(previous.starts_with("cbx2."), "upgraded: {previous}");
        assert_eq!(
            only_new
                .open(Purpose::WebhookSecret, &shop.id, previous)
                .unwrap(),
            b"whsec_one"
        );
        let account = find_stripe_account(&mut conn, &shop.id).unwrap().unwrap();
        let stripe_key = account.secret_key.as_deref().unwrap();
        assert_eq!(
            only_new
                .open(Purpose::StripeSecretKey, &shop.id, stripe_key)
                .unwrap(),
            b"sk_test_1"
        );
        // Now bound to their purposes: swapped, neither opens.
        assert_eq!(
            only_new.open(Purpose::WebhookSecret, &shop.id, stripe_key),
            Err(CryptoError::Corrupt)
        );
        assert_eq!(
            only_new.open(Purpose::StripeSecretKey, &shop.id, previous),
            Err(CryptoError::Corrupt)
        );
    }
);

on_both_backends!(
    an_unemailable_endpoint_hears_only_of_carts_cartback_cannot_email,
    |db: &TestDatabase| {
        use cartback_store::suppressions::{SuppressionReason, add_suppression};
        use cartback_store::webhooks::{AbandonedEvent, list_endpoints};

        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let now = Utc::now();
        let every = endpoint(&mut conn, &shop.id, &["cart.abandoned"]);
        let retake = create_endpoint(
            &mut conn,
            &NewEndpoint {
                tenant_id: &shop.id,
                url: "https://hooks.example/retake",
                description: None,
                events: &["*".to_owned()],
                sealed_secret: "sealed-2",
                enabled: true,
                abandoned_event: AbandonedEvent::Unemailable,
                now,
            },
        )
        .unwrap();
        let stored = list_endpoints(&mut conn, &shop.id).unwrap();
        let scope = |id: &str| stored.iter().find(|e| e.id == id).unwrap().abandoned_event;
        assert_eq!(scope(&retake.id), AbandonedEvent::Unemailable);
        assert_eq!(scope(&every), AbandonedEvent::All);
        let mut cart = |session: &str, email: Option<&str>| {
            upsert_cart(&mut conn, &upsert(&shop, session, email, now))
                .unwrap()
                .id
        };
        let emailable = cart("s-mail", Some("dana@example.com"));
        let anonymous = cart("s-anon", None);
        let suppressed = cart("s-supp", Some("bounced@example.com"));
        let refused = cart("s-refused", Some("noconsent@example.com"));
        let complained = cart("s-complained", Some("angry@example.com"));
        add_suppression(
            &mut conn,
            &shop.id,
            "angry@example.com",
            SuppressionReason::Complained,
            None,
            now,
        )
        .unwrap();
        add_suppression(
            &mut conn,
            &shop.id,
            "Bounced@example.com",
            SuppressionReason::Bounced,
            None,
            now,
        )
        .unwrap();
        // The shop asks for consent: a cart without it is not emailed.
        let policy = cartback_domain::RecoveryPolicy {
            require_consent: true,
            ..shop.recovery_policy().unwrap()
        };
        cartback_store::tenants::set_policy(&mut conn, &shop.id, &policy, now.naive_utc()).unwrap();
        // …and the first cart's shopper gave it, so it stays emailable.
        let mut consented = upsert(&shop, "s-mail", Some("dana@example.com"), now);
        consented.consent = Some(true);
        upsert_cart(&mut conn, &consented).unwrap();

        let abandoned: Vec<NewCartEvent> =
            [&emailable, &anonymous, &suppressed, &refused, &complained]
                .into_iter()
                .map(|id| NewCartEvent {
                    step: None,
                    detail: None,
                    ..event(&shop.id, id, CartEventKind::Abandoned)
                })
                .collect();
        record_events(&mut conn, &abandoned, now).unwrap();
        // Other events are not filtered: email.sent of the emailable cart arrives.
        record_events(
            &mut conn,
            &[event(&shop.id, &emailable, CartEventKind::Sent)],
            now,
        )
        .unwrap();

        let carts_told = |conn: &mut DbConn, endpoint: &str, name: &str| {
            let (rows, _) = list_deliveries(conn, &shop.id, endpoint, None, 1, 50).unwrap();
            let mut ids: Vec<String> = rows
                .into_iter()
                .filter(|d| d.event == name)
                .filter_map(|d| d.cart_id)
                .collect();
            ids.sort();
            ids
        };
        let mut all = vec![
            emailable.clone(),
            anonymous.clone(),
            suppressed.clone(),
            refused.clone(),
            complained.clone(),
        ];
        all.sort();
        assert_eq!(carts_told(&mut conn, &every, "cart.abandoned"), all);
        // No address, or one that bounced: the shop may have a better one.
        // A complaint or a missing consent is a no from the shopper, to
        // every sender: not announced.
        let mut unemailable = vec![anonymous, suppressed];
        unemailable.sort();
        assert_eq!(
            carts_told(&mut conn, &retake.id, "cart.abandoned"),
            unemailable
        );
        assert_eq!(
            carts_told(&mut conn, &retake.id, "email.sent"),
            std::slice::from_ref(&emailable)
        );

        // Switched back to every cart through a change.
        let back = EndpointChanges {
            abandoned_event: Some(AbandonedEvent::All),
            ..EndpointChanges::default()
        };
        update_endpoint(&mut conn, &shop.id, &retake.id, &back, now).unwrap();
        record_events(
            &mut conn,
            &[NewCartEvent {
                step: None,
                detail: None,
                ..event(&shop.id, &emailable, CartEventKind::Abandoned)
            }],
            now,
        )
        .unwrap();
        assert!(carts_told(&mut conn, &retake.id, "cart.abandoned").contains(&emailable));
    }
);

//! A tenant's status in storage: carts and webhook deliveries of a suspended or
//! closed tenant are parked by the claims (nothing goes out for it) and come
//! back when it is resumed; a merchant's status change records what analytics
//! count (an `abandoned` event, a manual order).

use chrono::{TimeDelta, Utc};

use cartback_domain::{CartStatus, OrderAttribution, OrderSource, TenantStatus};
use cartback_store::analytics::count_abandoned_recovered;
use cartback_store::cart_admin::{CartPatch, PatchOutcome, patch_cart};
use cartback_store::carts::{claim_due_carts, find_cart, upsert_cart};
use cartback_store::orders::list_orders_for_cart;
use cartback_store::tenants::{find_tenant, set_tenant_status};
use cartback_store::webhooks::{
    DeliveryStatus, NewEndpoint, claim_due_deliveries, create_endpoint, list_deliveries,
};

use crate::common::*;
use cartback_testing::on_both_backends;

on_both_backends!(
    unserved_tenants_are_parked_and_resumed,
    |db: &TestDatabase| {
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Paused");
        let other = tenant(&mut conn, "Open");
        let then = Utc::now() - TimeDelta::hours(2);
        for (owner, session) in [(&shop, "paused-1"), (&shop, "paused-2"), (&other, "open-1")] {
            upsert_cart(
                &mut conn,
                &upsert(owner, session, Some("a@example.com"), then),
            )
            .unwrap();
        }
        let hook = create_endpoint(
            &mut conn,
            &NewEndpoint {
                tenant_id: &shop.id,
                url: "https://hooks.example/in",
                description: None,
                events: &["*".to_owned()],
                sealed_secret: "sealed",
                enabled: true,
                abandoned_event: cartback_store::webhooks::AbandonedEvent::All,
                now: Utc::now(),
            },
        )
        .unwrap();

        let before = set_tenant_status(
            &mut conn,
            &shop.id,
            TenantStatus::Suspended,
            Utc::now().naive_utc(),
        )
        .unwrap();
        assert_eq!(before, TenantStatus::Active);
        assert_eq!(
            find_tenant(&mut conn, &shop.id).unwrap().unwrap().status,
            TenantStatus::Suspended
        );

        // A hand-made abandonment queues a webhook delivery for the suspended shop.
        let abandon = CartPatch {
            status: Some(CartStatus::Abandoned),
            ..CartPatch::default()
        };
        assert!(matches!(
            patch_cart(&mut conn, &shop.id, "paused-1", &abandon, Utc::now()).unwrap(),
            PatchOutcome::Updated(_)
        ));

        let now = Utc::now();
        let claimed =
            claim_due_carts(&mut conn, "w1", now, now + TimeDelta::minutes(5), 50).unwrap();
        let ids: Vec<&str> = claimed.iter().map(|c| c.session_id.as_str()).collect();
        assert_eq!(
            ids,
            ["open-1"],
            "only the active tenant's cart is handed to the worker"
        );
        for session in ["paused-1", "paused-2"] {
            let cart = cartback_store::carts::find_cart_by_session(&mut conn, &shop.id, session)
                .unwrap()
                .unwrap();
            assert_eq!(cart.next_action_at, None, "{session} parked");
            assert_eq!(cart.locked_by, None);
        }
        let deliveries =
            claim_due_deliveries(&mut conn, "w1", now, now + TimeDelta::minutes(5), 50).unwrap();
        assert!(
            deliveries.is_empty(),
            "no webhook leaves for a suspended shop"
        );
        let (pending, _) = list_deliveries(
            &mut conn,
            &shop.id,
            &hook.id,
            Some(DeliveryStatus::Pending),
            1,
            50,
        )
        .unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(
            pending[0].attempts, 0,
            "a parked delivery counts no attempt"
        );
        assert_eq!(pending[0].next_attempt_at, None);

        // Closing keeps them parked; resuming wakes both carts and the delivery.
        set_tenant_status(
            &mut conn,
            &shop.id,
            TenantStatus::Closed,
            Utc::now().naive_utc(),
        )
        .unwrap();
        let again = claim_due_carts(
            &mut conn,
            "w1",
            Utc::now(),
            Utc::now() + TimeDelta::minutes(5),
            50,
        )
        .unwrap();
        assert!(again.is_empty());
        let was = set_tenant_status(
            &mut conn,
            &shop.id,
            TenantStatus::Active,
            Utc::now().naive_utc(),
        )
        .unwrap();
        assert_eq!(was, TenantStatus::Closed);
        let later = Utc::now() + TimeDelta::seconds(1);
        let mut woken: Vec<String> =
            claim_due_carts(&mut conn, "w2", later, later + TimeDelta::minutes(5), 50)
                .unwrap()
                .into_iter()
                .map(|c| c.session_id)
                .collect();
        woken.sort();
        assert_eq!(woken, ["paused-1", "paused-2"]);
        let deliveries =
            claim_due_deliveries(&mut conn, "w2", later, later + TimeDelta::minutes(5), 50)
                .unwrap();
        assert_eq!(deliveries.len(), 1);
        assert_eq!(deliveries[0].delivery.attempts, 1);
        assert!(matches!(
            set_tenant_status(
                &mut conn,
                "ten_missing",
                TenantStatus::Closed,
                Utc::now().naive_utc()
            ),
            Err(cartback_store::StoreError::NotFound)
        ));
    }
);

on_both_backends!(
    a_cart_marked_recovered_by_hand_is_an_order,
    |db: &TestDatabase| {
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let start = Utc::now() - TimeDelta::minutes(1);
        let cart = upsert_cart(
            &mut conn,
            &upsert(&shop, "manual-1", Some("a@example.com"), start),
        )
        .unwrap();
        let to = |status| CartPatch {
            status: Some(status),
            ..CartPatch::default()
        };
        patch_cart(
            &mut conn,
            &shop.id,
            &cart.id,
            &to(CartStatus::Abandoned),
            Utc::now(),
        )
        .unwrap();
        patch_cart(
            &mut conn,
            &shop.id,
            &cart.id,
            &to(CartStatus::Recovered),
            Utc::now(),
        )
        .unwrap();
        // A repeat changes nothing and records no second order.
        patch_cart(
            &mut conn,
            &shop.id,
            &cart.id,
            &to(CartStatus::Recovered),
            Utc::now(),
        )
        .unwrap();

        let orders = list_orders_for_cart(&mut conn, &shop.id, &cart.id).unwrap();
        assert_eq!(orders.len(), 1);
        let order = &orders[0];
        assert_eq!(order.source, OrderSource::Manual);
        assert_eq!(order.attribution, OrderAttribution::Recovered);
        assert_eq!(order.total_minor, Some(1250));
        assert_eq!(
            order.order_ref,
            format!("manual_{}_{}", cart.id, cart.cycle)
        );
        let stored = find_cart(&mut conn, &shop.id, &cart.id).unwrap().unwrap();
        assert_eq!(stored.status, CartStatus::Recovered);
        assert!(stored.ordered_at.is_some());
        let counts = count_abandoned_recovered(
            &mut conn,
            &shop.id,
            start,
            Utc::now() + TimeDelta::seconds(1),
        )
        .unwrap();
        assert_eq!(
            counts,
            (1, 1),
            "the abandonment and the recovery both count"
        );

        // Converted by hand is an order too, counted as converted.
        let other = upsert_cart(&mut conn, &upsert(&shop, "manual-2", None, start)).unwrap();
        patch_cart(
            &mut conn,
            &shop.id,
            &other.id,
            &to(CartStatus::Converted),
            Utc::now(),
        )
        .unwrap();
        let orders = list_orders_for_cart(&mut conn, &shop.id, &other.id).unwrap();
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].attribution, OrderAttribution::Converted);
    }
);

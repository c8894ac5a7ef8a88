//! What the dashboard's Carts, Webhooks and Suppressions pages read, on both
//! backends: keyset pages of carts, a cart's timeline with its webhook
//! deliveries, the suppression search, the endpoint limit and erasure.

use chrono::{TimeDelta, Utc};

use cartback_domain::CartStatus;
use cartback_store::cart_admin::{
    CartCursor, CartFilter, CartPageFrom, StatusFilter, erase_cart_for_good, find_cart_by_any_id,
    list_carts_keyset,
};
use cartback_store::carts::upsert_cart;
use cartback_store::events::{CartEventKind, NewCartEvent, record_events};
use cartback_store::suppressions::{
    SuppressionReason, add_suppression, list_suppressions_matching,
};
use cartback_store::timeline::{TimelineEntry, cart_timeline};
use cartback_store::webhooks::{MAX_ENDPOINTS, NewEndpoint, create_endpoint_within_limit};

use crate::common::*;
use cartback_testing::on_both_backends;

on_both_backends!(carts_page_by_keyset_both_ways, |db: &TestDatabase| {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = tenant(&mut conn, "Shop");
    let other = tenant(&mut conn, "Other");
    let start = Utc::now() - TimeDelta::hours(1);
    // Seven carts a second apart, and two more created at the same instant
    // (the id breaks the tie), newest last.
    let mut ids = Vec::new();
    for i in 0..7 {
        let email = format!("shopper{i}@example.com");
        let cart = upsert_cart(
            &mut conn,
            &upsert(
                &shop,
                &format!("s-{i}"),
                Some(&email),
                start + TimeDelta::seconds(i),
            ),
        )
        .unwrap();
        ids.push(cart.id);
    }
    let same = start + TimeDelta::seconds(10);
    for session in ["t-a", "t-b"] {
        ids.push(
            upsert_cart(&mut conn, &upsert(&shop, session, None, same))
                .unwrap()
                .id,
        );
    }
    upsert_cart(
        &mut conn,
        &upsert(&other, "x-1", Some("shopper1@example.com"), same),
    )
    .unwrap();
    // Newest first: the two ties ordered by id, descending.
    let mut ties = vec![ids[7].clone(), ids[8].clone()];
    ties.sort_by(|a, b| b.cmp(a));
    let mut expected = ties;
    expected.extend(ids[..7].iter().rev().cloned());
    let all = CartFilter::default();
    let mut seen = Vec::new();
    let mut from = CartPageFrom::Start;
    let mut pages = 0;
    loop {
        let page = list_carts_keyset(&mut conn, &shop.id, &all, &from, 4).unwrap();
        pages += 1;
        assert!(page.carts.len() <= 4);
        assert_eq!(page.has_newer, pages > 1);
        seen.extend(page.carts.iter().map(|c| c.id.clone()));
        if !page.has_older {
            break;
        }
        from = CartPageFrom::After(CartCursor::of(page.carts.last().unwrap()));
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected, "every cart once, newest first");
    // Back from the last page: the previous page again, in the same order.
    let last = list_carts_keyset(&mut conn, &shop.id, &all, &from, 4).unwrap();
    let back = CartPageFrom::Before(CartCursor::of(&last.carts[0]));
    let previous = list_carts_keyset(&mut conn, &shop.id, &all, &back, 4).unwrap();
    let previous_ids: Vec<&str> = previous.carts.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        previous_ids,
        expected[4..8]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    assert!(previous.has_newer && previous.has_older);
    // The cursor survives its text form.
    let cursor = CartCursor::of(&last.carts[0]);
    assert_eq!(CartCursor::from_token(&cursor.to_token()), Some(cursor));
    assert_eq!(CartCursor::from_token("1.2"), None);
    assert_eq!(CartCursor::from_token("x.0.cart_1"), None);
    assert_eq!(CartCursor::from_token("1.5000000000.cart_1"), None);
    assert_eq!(CartCursor::from_token("1.0.cart'--"), None);
    // Filters apply to keyset pages like to the API's: an address, any case.
    let by_email = CartFilter {
        email: Some("SHOPPER1@example.com".to_owned()),
        ..CartFilter::default()
    };
    let found =
        list_carts_keyset(&mut conn, &shop.id, &by_email, &CartPageFrom::Start, 10).unwrap();
    assert_eq!(found.carts.len(), 1, "not the other shop's cart");
    assert_eq!(found.carts[0].id, ids[1]);
    assert!(!found.has_older && !found.has_newer);
    let abandoned = CartFilter {
        status: Some(StatusFilter::Is(CartStatus::Abandoned)),
        ..CartFilter::default()
    };
    let none =
        list_carts_keyset(&mut conn, &shop.id, &abandoned, &CartPageFrom::Start, 10).unwrap();
    assert!(none.carts.is_empty());
    assert_eq!(
        StatusFilter::parse("pending"),
        Ok(Some(StatusFilter::Pending))
    );
    assert_eq!(StatusFilter::parse(" all "), Ok(None));
    assert!(StatusFilter::parse("lost").is_err());
});

on_both_backends!(
    a_timeline_holds_deliveries_and_erasure_hides_the_cart,
    |db: &TestDatabase| {
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let other = tenant(&mut conn, "Other");
        let now = Utc::now();
        let cart = upsert_cart(
            &mut conn,
            &upsert(&shop, "s-1", Some("Ann@Example.com"), now),
        )
        .unwrap();
        let events = ["*".to_owned()];
        let endpoint = create_endpoint_within_limit(
            &mut conn,
            &NewEndpoint {
                tenant_id: &shop.id,
                url: "https://hooks.example/in",
                description: None,
                events: &events,
                sealed_secret: "sealed",
                enabled: true,
                abandoned_event: cartback_store::webhooks::AbandonedEvent::All,
                now,
            },
        )
        .unwrap()
        .unwrap();
        record_events(
            &mut conn,
            &[NewCartEvent {
                tenant_id: shop.id.clone(),
                cart_id: cart.id.clone(),
                kind: CartEventKind::Abandoned,
                step: None,
                detail: None,
            }],
            now,
        )
        .unwrap();
        let timeline = cart_timeline(&mut conn, &shop.id, "s-1", true)
            .unwrap()
            .unwrap();
        assert_eq!(timeline.cart.id, cart.id);
        assert_eq!(timeline.deliveries.len(), 1);
        assert_eq!(timeline.deliveries[0].endpoint_id, endpoint.id);
        assert_eq!(timeline.deliveries[0].event, "cart.abandoned");
        let kinds: Vec<&str> = timeline
            .entries()
            .into_iter()
            .map(|(_, entry)| match entry {
                TimelineEntry::Created => "created",
                TimelineEntry::Event(_) => "event",
                TimelineEntry::Email(_) => "email",
                TimelineEntry::Order(_) => "order",
                TimelineEntry::Delivery(_) => "delivery",
            })
            .collect();
        assert_eq!(kinds, ["created", "event", "delivery"]);
        let without = cart_timeline(&mut conn, &shop.id, &cart.id, false)
            .unwrap()
            .unwrap();
        assert!(without.deliveries.is_empty());
        // Another shop sees nothing of it.
        assert!(
            cart_timeline(&mut conn, &other.id, &cart.id, true)
                .unwrap()
                .is_none()
        );
        assert!(
            erase_cart_for_good(&mut conn, &other.id, &cart.id, now)
                .unwrap()
                .is_none()
        );

        let erased = erase_cart_for_good(&mut conn, &shop.id, &cart.id, now)
            .unwrap()
            .unwrap();
        assert_eq!(erased.cart.customer_email, None);
        assert!(erased.cart.erased_at.is_some());
        assert!(
            find_cart_by_any_id(&mut conn, &shop.id, &cart.id, false)
                .unwrap()
                .is_none()
        );
        let page = list_carts_keyset(
            &mut conn,
            &shop.id,
            &CartFilter::default(),
            &CartPageFrom::Start,
            10,
        )
        .unwrap();
        assert!(page.carts.is_empty(), "an erased cart leaves the list");
    }
);

on_both_backends!(
    suppressions_search_and_endpoints_stop_at_the_limit,
    |db: &TestDatabase| {
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let other = tenant(&mut conn, "Other");
        let now = Utc::now();
        for (i, email) in [
            "ann@example.com",
            "bo_b@example.com",
            "cy%@shop.test",
            "dan@example.com",
        ]
        .iter()
        .enumerate()
        {
            let at = now + TimeDelta::seconds(i64::try_from(i).unwrap());
            add_suppression(
                &mut conn,
                &shop.id,
                email,
                SuppressionReason::Manual,
                None,
                at,
            )
            .unwrap();
        }
        add_suppression(
            &mut conn,
            &other.id,
            "ann@other.test",
            SuppressionReason::Bounced,
            None,
            now,
        )
        .unwrap();
        let search = |conn: &mut cartback_store::DbConn, text: Option<&str>| {
            let (rows, total) = list_suppressions_matching(conn, &shop.id, text, 0, 50).unwrap();
            (rows.into_iter().map(|r| r.email).collect::<Vec<_>>(), total)
        };
        let (all, total) = search(&mut conn, None);
        assert_eq!(total, 4);
        assert_eq!(all[0], "dan@example.com", "newest first");
        assert_eq!(
            search(&mut conn, Some("ANN")),
            (vec!["ann@example.com".to_owned()], 1)
        );
        // LIKE's wildcards are plain characters in a search.
        assert_eq!(
            search(&mut conn, Some("_")),
            (vec!["bo_b@example.com".to_owned()], 1)
        );
        assert_eq!(
            search(&mut conn, Some("%")),
            (vec!["cy%@shop.test".to_owned()], 1)
        );
        assert_eq!(search(&mut conn, Some("nobody")).1, 0);
        let (two, total) =
            list_suppressions_matching(&mut conn, &shop.id, Some("example"), 1, 2).unwrap();
        assert_eq!((two.len(), total), (2, 3));

        let events = ["*".to_owned()];
        let new = NewEndpoint {
            tenant_id: &shop.id,
            url: "https://hooks.example/in",
            description: None,
            events: &events,
            sealed_secret: "sealed",
            enabled: true,
            abandoned_event: cartback_store::webhooks::AbandonedEvent::All,
            now,
        };
        for _ in 0..MAX_ENDPOINTS {
            assert!(
                create_endpoint_within_limit(&mut conn, &new)
                    .unwrap()
                    .is_some()
            );
        }
        assert!(
            create_endpoint_within_limit(&mut conn, &new)
                .unwrap()
                .is_none()
        );
        let elsewhere = NewEndpoint {
            tenant_id: &other.id,
            ..new
        };
        assert!(
            create_endpoint_within_limit(&mut conn, &elsewhere)
                .unwrap()
                .is_some()
        );
    }
);

//! The carts list's abandonment filters and `pending`, on both backends: the
//! time a cart was abandoned as the worker and a PATCH keep it, the partial
//! index's migration back-filling it, and pending as the tenant's policy
//! defines it.

use chrono::{DateTime, NaiveDateTime, TimeDelta, TimeZone, Utc};
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};

use cartback_domain::{CartStatus, RecoveryPolicy, RecoveryStep, Tz, local_day_span};
use cartback_store::cart_admin::{
    CartFilter, CartPageFrom, CartPatch, PatchOutcome, StatusFilter, just_before, list_carts,
    list_carts_keyset, patch_cart,
};
use cartback_store::carts::{CartRelease, claim_due_carts, find_cart, release_cart, upsert_cart};
use cartback_store::events::{CartEventKind, record_event};
use cartback_store::schema::carts;
use cartback_store::tenants::set_policy;
use cartback_store::{DbConn, StoreResult};

use crate::common::*;
use cartback_testing::on_both_backends;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn ids(conn: &mut DbConn, tenant: &str, filter: &CartFilter) -> Vec<String> {
    let (rows, total) = list_carts(conn, tenant, filter, 1, 100).unwrap();
    assert_eq!(usize::try_from(total).unwrap(), rows.len());
    let keyset = list_carts_keyset(conn, tenant, filter, &CartPageFrom::Start, 100).unwrap();
    assert_eq!(keyset.carts, rows, "both kinds of page agree");
    let mut ids: Vec<String> = rows.into_iter().map(|c| c.id).collect();
    ids.sort();
    ids
}

fn sorted(list: &[&str]) -> Vec<String> {
    let mut list: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    list.sort();
    list
}

/// The whole local day `date` as the list's exclusive bounds.
fn day(filter: CartFilter, date: (i32, u32, u32), zone: Tz) -> CartFilter {
    let date = chrono::NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap();
    let (start, end) = local_day_span(date, zone);
    CartFilter {
        abandoned_after: Some(just_before(start)),
        abandoned_before: Some(end.naive_utc()),
        ..filter
    }
}

on_both_backends!(abandoned_today_in_the_shops_zone, |db: &TestDatabase| {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = tenant(&mut conn, "Shop");
    let other = tenant(&mut conn, "Other");
    let t0 = utc(2026, 12, 5, 10, 0, 0);
    let mut cart = |tenant: &cartback_store::tenants::Tenant, session: &str| {
        upsert_cart(
            &mut conn,
            &upsert(tenant, session, Some("a@example.com"), t0),
        )
        .unwrap()
        .id
    };
    let (late, midnight, evening, active, theirs) = (
        cart(&shop, "late"),
        cart(&shop, "midnight"),
        cart(&shop, "evening"),
        cart(&shop, "active"),
        cart(&other, "theirs"),
    );
    // The worker claims every due cart, then lets each go: abandoned at the
    // moment it decides so, in Amsterdam (+1 in December) 23:59:59 on the
    // 5th, midnight on the 6th, 23:59 on the 6th; one stays active.
    let claimed = claim_due_carts(
        &mut conn,
        "w1",
        t0 + TimeDelta::hours(2),
        t0 + TimeDelta::days(3),
        10,
    )
    .unwrap();
    assert_eq!(claimed.len(), 5);
    let release = |conn: &mut DbConn, tenant: &str, id: &str, status, at| {
        let held = release_cart(
            conn,
            tenant,
            id,
            "w1",
            at,
            |_| -> StoreResult<CartRelease> {
                Ok(CartRelease {
                    status,
                    next_step: 1,
                    next_action_at: None,
                    quarantine: None,
                })
            },
        )
        .unwrap();
        assert!(held);
    };
    let abandoned = CartStatus::Abandoned;
    release(
        &mut conn,
        &shop.id,
        &late,
        abandoned,
        utc(2026, 12, 5, 22, 59, 59),
    );
    release(
        &mut conn,
        &shop.id,
        &midnight,
        abandoned,
        utc(2026, 12, 5, 23, 0, 0),
    );
    release(
        &mut conn,
        &shop.id,
        &evening,
        abandoned,
        utc(2026, 12, 6, 22, 59, 0),
    );
    release(
        &mut conn,
        &shop.id,
        &active,
        CartStatus::Active,
        utc(2026, 12, 6, 12, 0, 0),
    );
    release(
        &mut conn,
        &other.id,
        &theirs,
        abandoned,
        utc(2026, 12, 6, 12, 0, 0),
    );
    let stored = find_cart(&mut conn, &shop.id, &midnight).unwrap().unwrap();
    assert_eq!(
        stored.abandoned_at,
        Some(utc(2026, 12, 5, 23, 0, 0).naive_utc())
    );

    let amsterdam = Tz::Europe__Amsterdam;
    let all = CartFilter::default();
    assert_eq!(
        ids(
            &mut conn,
            &shop.id,
            &day(all.clone(), (2026, 12, 6), amsterdam)
        ),
        sorted(&[&midnight, &evening]),
        "the 6th in Amsterdam starts at 23:00 UTC on the 5th"
    );
    assert_eq!(
        ids(
            &mut conn,
            &shop.id,
            &day(all.clone(), (2026, 12, 5), amsterdam)
        ),
        sorted(&[&late])
    );
    assert_eq!(
        ids(
            &mut conn,
            &shop.id,
            &day(all.clone(), (2026, 12, 6), Tz::UTC)
        ),
        sorted(&[&evening]),
        "in UTC the 6th starts an hour later"
    );
    assert_eq!(
        ids(
            &mut conn,
            &shop.id,
            &day(all.clone(), (2026, 12, 5), Tz::UTC)
        ),
        sorted(&[&late, &midnight])
    );
    // One side alone; the bounds are exclusive.
    let after = CartFilter {
        abandoned_after: Some(utc(2026, 12, 5, 23, 0, 0).naive_utc()),
        ..all.clone()
    };
    assert_eq!(ids(&mut conn, &shop.id, &after), sorted(&[&evening]));
    let before = CartFilter {
        abandoned_before: Some(utc(2026, 12, 5, 23, 0, 0).naive_utc()),
        ..all.clone()
    };
    assert_eq!(ids(&mut conn, &shop.id, &before), sorted(&[&late]));
    // With a status filter too; a tracked update makes a cart active again
    // and forgets when it was abandoned.
    let abandoned_today = day(
        CartFilter {
            status: Some(StatusFilter::Is(CartStatus::Abandoned)),
            ..all.clone()
        },
        (2026, 12, 6),
        amsterdam,
    );
    assert_eq!(
        ids(&mut conn, &shop.id, &abandoned_today),
        sorted(&[&midnight, &evening])
    );
    let back = upsert_cart(
        &mut conn,
        &upsert(
            &shop,
            "evening",
            Some("a@example.com"),
            utc(2026, 12, 7, 8, 0, 0),
        ),
    )
    .unwrap();
    assert_eq!((back.status, back.abandoned_at), (CartStatus::Active, None));
    assert_eq!(
        ids(&mut conn, &shop.id, &day(all, (2026, 12, 6), amsterdam)),
        sorted(&[&midnight])
    );
});

on_both_backends!(a_patch_keeps_the_abandonment_time, |db: &TestDatabase| {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = tenant(&mut conn, "Shop");
    let t0 = utc(2026, 12, 6, 9, 0, 0);
    let id = upsert_cart(&mut conn, &upsert(&shop, "s-1", Some("a@example.com"), t0))
        .unwrap()
        .id;
    let mut patch = |status: CartStatus, at: DateTime<Utc>| -> Option<NaiveDateTime> {
        let change = CartPatch {
            status: Some(status),
            ..CartPatch::default()
        };
        match patch_cart(&mut conn, &shop.id, &id, &change, at).unwrap() {
            PatchOutcome::Updated(cart) => cart.abandoned_at,
            other => panic!("{other:?}"),
        }
    };
    let first = t0 + TimeDelta::hours(1);
    assert_eq!(
        patch(CartStatus::Abandoned, first),
        Some(first.naive_utc()),
        "abandoned by hand: abandoned now"
    );
    assert_eq!(
        patch(CartStatus::Abandoned, first + TimeDelta::hours(1)),
        Some(first.naive_utc()),
        "still abandoned: the first time stays"
    );
    assert_eq!(patch(CartStatus::Active, first + TimeDelta::hours(2)), None);
    let again = first + TimeDelta::hours(3);
    assert_eq!(patch(CartStatus::Abandoned, again), Some(again.naive_utc()));
    assert_eq!(
        patch(CartStatus::Recovered, again + TimeDelta::hours(1)),
        Some(again.naive_utc()),
        "a recovered cart keeps when it was abandoned"
    );
});

on_both_backends!(pending_means_an_email_still_to_come, |db: &TestDatabase| {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = tenant(&mut conn, "Shop");
    let now = Utc::now();
    // Two steps, a cap of three: two emails a cart.
    let policy = RecoveryPolicy {
        steps: vec![
            RecoveryStep::after(3_600_000),
            RecoveryStep::after(86_400_000),
        ],
        max_emails_per_cart: 3,
        min_cart_value_minor: 1000,
        ..RecoveryPolicy::default()
    };
    set_policy(&mut conn, &shop.id, &policy, now.naive_utc()).unwrap();
    let mut carts = std::collections::BTreeMap::new();
    for session in [
        "waiting",
        "second-step",
        "done",
        "no-email",
        "unsubscribed",
        "too-small",
        "active",
        "no-consent",
    ] {
        let email = (session != "no-email").then_some("a@example.com");
        let id = upsert_cart(&mut conn, &upsert(&shop, session, email, now))
            .unwrap()
            .id;
        let status = if session == "active" {
            "active"
        } else {
            "abandoned"
        };
        let next_step = match session {
            "second-step" => 1,
            "done" => 2,
            _ => 0,
        };
        let total = if session == "too-small" { 999 } else { 1250 };
        let unsubscribed = (session == "unsubscribed").then_some(now.naive_utc());
        let consent = (session != "no-consent").then_some(1);
        diesel::update(carts::table.filter(carts::id.eq(&id)))
            .set((
                carts::status.eq(status),
                carts::next_step.eq(next_step),
                carts::total_minor.eq(total),
                carts::unsubscribed_at.eq(unsubscribed),
                carts::consent.eq(consent),
            ))
            .execute(&mut conn)
            .unwrap();
        carts.insert(session, id);
    }
    let status = |status| CartFilter {
        status: Some(status),
        ..CartFilter::default()
    };
    let pending = status(StatusFilter::Pending);
    assert_eq!(
        ids(&mut conn, &shop.id, &pending),
        sorted(&[
            &carts["waiting"],
            &carts["second-step"],
            &carts["no-consent"]
        ])
    );
    assert_eq!(
        ids(
            &mut conn,
            &shop.id,
            &status(StatusFilter::Is(CartStatus::Abandoned))
        )
        .len(),
        7,
        "abandoned: every abandoned cart"
    );
    // The policy of now decides: consent required, one email a cart.
    let stricter = RecoveryPolicy {
        max_emails_per_cart: 1,
        require_consent: true,
        ..policy
    };
    set_policy(&mut conn, &shop.id, &stricter, now.naive_utc()).unwrap();
    assert_eq!(
        ids(&mut conn, &shop.id, &pending),
        sorted(&[&carts["waiting"]])
    );
});

on_both_backends!(
    the_migration_back_fills_abandonment_times,
    |db: &TestDatabase| {
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let t0 = utc(2026, 11, 1, 9, 0, 0);
        let mut cart = |session: &str, status: &str| {
            let id = upsert_cart(&mut conn, &upsert(&shop, session, None, t0))
                .unwrap()
                .id;
            diesel::update(carts::table.filter(carts::id.eq(&id)))
                .set((
                    carts::status.eq(status),
                    carts::abandoned_at.eq(None::<NaiveDateTime>),
                ))
                .execute(&mut conn)
                .unwrap();
            id
        };
        let (by_event, by_hand, recovered, active) = (
            cart("by-event", "abandoned"),
            cart("by-hand", "abandoned"),
            cart("recovered", "recovered"),
            cart("active", "active"),
        );
        for (id, at) in [
            (&by_event, utc(2026, 11, 1, 10, 0, 0)),
            (&by_event, utc(2026, 11, 2, 10, 0, 0)),
            (&recovered, utc(2026, 11, 3, 10, 0, 0)),
        ] {
            record_event(
                &mut conn,
                &shop.id,
                id,
                CartEventKind::Abandoned,
                None,
                None,
                at,
            )
            .unwrap();
        }
        // The migration as shipped, run again over rows it would find.
        let up = match &*conn {
            DbConn::Postgres(_) => include_str!(
                "../../../../migrations/postgres/2026-12-06-101800_cart_filters/up.sql"
            ),
            DbConn::Sqlite(_) => {
                include_str!("../../../../migrations/sqlite/2026-12-06-101800_cart_filters/up.sql")
            }
        };
        batch_execute(&mut conn, "DROP INDEX carts_tenant_abandoned_idx");
        batch_execute(&mut conn, up);
        let abandoned_at = |conn: &mut DbConn, id: &str| {
            find_cart(conn, &shop.id, id).unwrap().unwrap().abandoned_at
        };
        assert_eq!(
            abandoned_at(&mut conn, &by_event),
            Some(utc(2026, 11, 2, 10, 0, 0).naive_utc()),
            "the latest abandonment of its history"
        );
        assert_eq!(
            abandoned_at(&mut conn, &recovered),
            Some(utc(2026, 11, 3, 10, 0, 0).naive_utc())
        );
        let hand = find_cart(&mut conn, &shop.id, &by_hand).unwrap().unwrap();
        assert_eq!(
            hand.abandoned_at,
            Some(hand.updated_at),
            "no history: its last change"
        );
        assert_eq!(abandoned_at(&mut conn, &active), None);
    }
);

fn batch_execute(conn: &mut DbConn, sql: &str) {
    use diesel::connection::SimpleConnection;
    match conn {
        DbConn::Postgres(pg) => pg.batch_execute(sql).unwrap(),
        DbConn::Sqlite(sqlite) => sqlite.batch_execute(sql).unwrap(),
    }
}

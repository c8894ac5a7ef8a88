//! The worker's analytics pass, on both backends: every tenant's summary is
//! brought up to date in its own time zone, a year back, and a second pass
//! finds nothing to do.

use std::sync::Arc;

use chrono::{Days, TimeDelta, Utc};
use diesel::prelude::*;

use cartback_domain::{
    CartItem, CartStatus, MAX_PERIOD_DAYS, RecoveryPolicy, local_date, start_of_local_day,
};
use cartback_email::FileProvider;
use cartback_store::analytics::summary::{read_mark, sealed_until};
use cartback_store::cart_admin::{CartPatch, patch_cart};
use cartback_store::carts::{CartUpsert, upsert_cart};
use cartback_store::schema::analytics_days;
use cartback_store::tenants::{NewTenant, create_tenant};
use cartback_store::{Backend, Store};
use cartback_testing::TestDatabase;
use cartback_testing::on_both_backends;
use cartback_worker::{Worker, WorkerConfig};

async fn summarises(backend: Backend) {
    let db = TestDatabase::new(backend);
    let store = Store::open(&db.url, 4).unwrap();
    store.migrate().unwrap();
    let mut conn = store.conn().unwrap();
    let now = Utc::now();
    let policy = RecoveryPolicy {
        time_zone: "Asia/Kolkata".into(),
        ..RecoveryPolicy::default()
    };
    let zone = policy.zone();
    let tenant = create_tenant(
        &mut conn,
        &NewTenant {
            name: "Shop".to_owned(),
            from_email: "shop@example.com".to_owned(),
            from_name: None,
            recovery_url: None,
            policy,
        },
        now.naive_utc(),
    )
    .unwrap();
    // A cart abandoned by hand three days ago: one `abandoned` event.
    let past = now - TimeDelta::days(3);
    let cart = upsert_cart(
        &mut conn,
        &CartUpsert {
            tenant_id: tenant.id.clone(),
            session_id: "s-1".to_owned(),
            items: vec![CartItem {
                id: "sku".to_owned(),
                name: "Mug".to_owned(),
                unit_price_minor: 100,
                quantity: 1,
                image_url: None,
                url: None,
                variant_id: None,
            }],
            total_minor: 100,
            subtotal_minor: None,
            currency: "EUR".to_owned(),
            customer_email: None,
            customer_name: None,
            locale: None,
            consent: None,
            now: past,
            next_action_at: past + TimeDelta::hours(1),
        },
    )
    .unwrap();
    let abandon = CartPatch {
        status: Some(CartStatus::Abandoned),
        ..CartPatch::default()
    };
    patch_cart(&mut conn, &tenant.id, &cart.id, &abandon, past).unwrap();
    drop(conn);

    let outbox = tempfile::tempdir().unwrap();
    let worker = Worker::new(
        store.clone(),
        Arc::new(FileProvider::new(outbox.path())),
        WorkerConfig::default(),
    );
    assert_eq!(worker.summarise_once().await.unwrap(), 1);
    let mut conn = store.conn().unwrap();
    let mark = read_mark(&mut conn, &tenant.id).unwrap().unwrap();
    assert_eq!(mark.zone, "Asia/Kolkata");
    assert!(mark.until <= sealed_until(Utc::now(), zone));
    assert!(mark.until >= sealed_until(now, zone));
    let oldest = local_date(now, zone)
        .checked_sub_days(Days::new(u64::from(MAX_PERIOD_DAYS - 1)))
        .unwrap();
    assert_eq!(mark.from, start_of_local_day(oldest, zone));
    let rows = || -> i64 {
        analytics_days::table
            .filter(analytics_days::tenant_id.eq(&tenant.id))
            .filter(analytics_days::kind.eq("abandoned"))
            .select(analytics_days::events)
            .load::<i64>(&mut *store.conn().unwrap())
            .unwrap()
            .into_iter()
            .sum()
    };
    assert_eq!(rows(), 1, "the abandonment is counted once");
    drop(conn);
    assert_eq!(worker.summarise_once().await.unwrap(), 1);
    assert_eq!(rows(), 1, "and not again");
}

on_both_backends!(async summarises);

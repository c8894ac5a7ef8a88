//! The worker's retention pass, on both backends: old finished carts go, in
//! batches, and `0` keeps everything.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use diesel::prelude::*;

use cartback_domain::{CartItem, CartStatus, RecoveryPolicy};
use cartback_email::FileProvider;
use cartback_store::cart_admin::{CartPatch, patch_cart};
use cartback_store::carts::{CartUpsert, upsert_cart};
use cartback_store::schema::carts;
use cartback_store::tenants::{NewTenant, create_tenant};
use cartback_store::{Backend, Store};
use cartback_testing::TestDatabase;
use cartback_testing::on_both_backends;
use cartback_worker::{Worker, WorkerConfig};

async fn purges(backend: Backend) {
    let db = TestDatabase::new(backend);
    let store = Store::open(&db.url, 4).unwrap();
    store.migrate().unwrap();
    let mut conn = store.conn().unwrap();
    let now = Utc::now();
    let tenant = create_tenant(
        &mut conn,
        &NewTenant {
            name: "Shop".to_owned(),
            from_email: "shop@example.com".to_owned(),
            from_name: None,
            recovery_url: None,
            policy: RecoveryPolicy::default(),
        },
        now.naive_utc(),
    )
    .unwrap();
    for n in 0..5 {
        let cart = upsert_cart(
            &mut conn,
            &CartUpsert {
                tenant_id: tenant.id.clone(),
                session_id: format!("s-{n}"),
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
                customer_email: Some(format!("p{n}@example.com")),
                customer_name: None,
                locale: None,
                consent: None,
                now,
                next_action_at: now + TimeDelta::hours(1),
            },
        )
        .unwrap();
        // Four old expired carts and one open one of the same age.
        if n < 4 {
            patch_cart(
                &mut conn,
                &tenant.id,
                &cart.id,
                &CartPatch {
                    status: Some(CartStatus::Expired),
                    ..CartPatch::default()
                },
                now,
            )
            .unwrap();
        }
        diesel::update(carts::table.filter(carts::id.eq(&cart.id)))
            .set(carts::updated_at.eq((now - TimeDelta::days(10)).naive_utc()))
            .execute(&mut conn)
            .unwrap();
    }
    drop(conn);
    let outbox = tempfile::tempdir().unwrap();
    let config = |days| WorkerConfig {
        retention_days: days,
        retention_batch: 3,
        ..WorkerConfig::default()
    };
    let keep = Worker::new(
        store.clone(),
        Arc::new(FileProvider::new(outbox.path())),
        config(0),
    );
    assert_eq!(keep.purge_once().await.unwrap().total(), 0);
    let worker = Worker::new(
        store.clone(),
        Arc::new(FileProvider::new(outbox.path())),
        config(7),
    );
    let purged = worker.purge_once().await.unwrap();
    assert_eq!(purged.carts, 4, "two batches of at most three");
    let left: i64 = carts::table
        .count()
        .get_result(&mut *store.conn().unwrap())
        .unwrap();
    assert_eq!(left, 1, "the open cart stays");
}

on_both_backends!(async purges);

//! Helpers shared by the storage tests.

use chrono::{DateTime, TimeDelta, Utc};

use cartback_domain::{CartItem, RecoveryPolicy};
use cartback_store::carts::CartUpsert;
use cartback_store::tenants::{NewTenant, Tenant, create_tenant};
use cartback_store::{DbConn, Store};
use cartback_testing::TestDatabase;

pub fn open(db: &TestDatabase) -> Store {
    let store = Store::open(&db.url, 4).unwrap();
    store.migrate().unwrap();
    store
}

pub fn tenant(conn: &mut DbConn, name: &str) -> Tenant {
    create_tenant(
        conn,
        &NewTenant {
            name: name.to_owned(),
            from_email: "shop@example.com".to_owned(),
            from_name: None,
            recovery_url: Some("https://shop.example/cart".to_owned()),
            policy: RecoveryPolicy::default(),
        },
        Utc::now().naive_utc(),
    )
    .unwrap()
}

pub fn item(id: &str, price: i64) -> CartItem {
    CartItem {
        id: id.to_owned(),
        name: format!("Item {id}"),
        unit_price_minor: price,
        quantity: 1,
        image_url: None,
        url: None,
        variant_id: None,
    }
}

pub fn upsert(
    tenant: &Tenant,
    session: &str,
    email: Option<&str>,
    now: DateTime<Utc>,
) -> CartUpsert {
    CartUpsert {
        tenant_id: tenant.id.clone(),
        session_id: session.to_owned(),
        items: vec![item("a", 1250)],
        total_minor: 1250,
        subtotal_minor: None,
        currency: "USD".to_owned(),
        customer_email: email.map(str::to_owned),
        customer_name: None,
        locale: None,
        consent: None,
        now,
        next_action_at: now + TimeDelta::hours(1),
    }
}

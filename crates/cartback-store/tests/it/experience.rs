//! A tenant's email settings (design, branding, copy) written alone, on both
//! backends: the policy beside them stays as it was.

use cartback_domain::RecoveryPolicy;
use cartback_store::tenants::{NewTenant, create_tenant, find_tenant, set_experience};
use cartback_store::{Backend, Store, StoreError};
use cartback_testing::TestDatabase;

fn experience_alone(backend: Backend) {
    let db = TestDatabase::new(backend);
    let store = Store::open(&db.url, 2).unwrap();
    store.migrate().unwrap();
    let mut conn = store.conn().unwrap();
    let now = chrono::Utc::now().naive_utc();
    let policy = RecoveryPolicy::with_single_delay(chrono::TimeDelta::minutes(5));
    let tenant = create_tenant(
        &mut conn,
        &NewTenant {
            name: "Shop".into(),
            from_email: "shop@example.com".into(),
            from_name: None,
            recovery_url: None,
            policy: policy.clone(),
        },
        now,
    )
    .unwrap();
    let later = now + chrono::TimeDelta::seconds(5);
    let settings = r##"{"design":"bold_banner","brandColor":"#0f766e"}"##;
    set_experience(&mut conn, &tenant.id, settings, later).unwrap();
    let stored = find_tenant(&mut conn, &tenant.id).unwrap().unwrap();
    assert_eq!(stored.experience, settings);
    assert_eq!(stored.recovery_policy().unwrap(), policy);
    assert!(stored.updated_at > tenant.updated_at);
    assert!(matches!(
        set_experience(&mut conn, "ten_missing", "{}", later),
        Err(StoreError::NotFound)
    ));
}

#[test]
fn experience_alone_on_sqlite() {
    experience_alone(Backend::Sqlite);
}

#[test]
fn experience_alone_on_postgres() {
    experience_alone(Backend::Postgres);
}

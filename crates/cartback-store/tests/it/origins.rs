//! A tenant's allowed browser origins, stored and read back on both backends.

use cartback_store::StoreError;
use cartback_store::origins::*;
use cartback_store::{Backend, Store};
use cartback_testing::TestDatabase;

fn round_trip(backend: Backend) {
    let db = TestDatabase::new(backend);
    let store = Store::open(&db.url, 2).unwrap();
    store.migrate().unwrap();
    let mut conn = store.conn().unwrap();
    let now = chrono::Utc::now().naive_utc();
    let tenant = cartback_store::tenants::create_tenant(
        &mut conn,
        &cartback_store::tenants::NewTenant {
            name: "Shop".into(),
            from_email: "shop@example.com".into(),
            from_name: None,
            recovery_url: None,
            policy: cartback_domain::RecoveryPolicy::default(),
        },
        now,
    )
    .unwrap();
    assert!(
        get_allowed_origins(&mut conn, &tenant.id)
            .unwrap()
            .is_empty()
    );
    let origins = vec![
        "https://shop.example".to_owned(),
        "http://localhost:3000".to_owned(),
    ];
    set_allowed_origins(&mut conn, &tenant.id, &origins, now).unwrap();
    assert_eq!(get_allowed_origins(&mut conn, &tenant.id).unwrap(), origins);
    assert!(matches!(
        get_allowed_origins(&mut conn, "ten_missing"),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        set_allowed_origins(&mut conn, "ten_missing", &origins, now),
        Err(StoreError::NotFound)
    ));
}

#[test]
fn origins_round_trip_on_sqlite() {
    round_trip(Backend::Sqlite);
}

#[test]
fn origins_round_trip_on_postgres() {
    round_trip(Backend::Postgres);
}

#[test]
fn unreadable_text_allows_nothing() {
    assert!(parse_origins("not json").is_empty());
    assert!(parse_origins("").is_empty());
    assert_eq!(
        parse_origins(r#"["https://a.example"]"#),
        ["https://a.example"]
    );
}

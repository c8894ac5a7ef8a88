//! A tenant's Stripe account settings: set, replace, find, delete, per tenant.

use cartback_store::Store;
use cartback_store::connection::Backend;
use cartback_store::stripe::*;
use cartback_store::tenants::{NewTenant, create_tenant};
use cartback_testing::TestDatabase;
use chrono::{DateTime, Utc};

fn account<'a>(tenant_id: &'a str, key: Option<&'a str>, now: DateTime<Utc>) -> StripeAccount<'a> {
    StripeAccount {
        tenant_id,
        sealed_secret_key: key,
        sealed_webhook_secrets: Some("sealed-list"),
        masked: "{}",
        success_url: Some("https://shop.example/thanks"),
        cancel_url: None,
        links_in_emails: true,
        now,
    }
}

#[test]
fn set_replace_find_delete_on_sqlite() {
    set_replace_find_delete_per_tenant(Backend::Sqlite);
}

#[test]
fn set_replace_find_delete_on_postgres() {
    set_replace_find_delete_per_tenant(Backend::Postgres);
}

fn set_replace_find_delete_per_tenant(backend: Backend) {
    let db = TestDatabase::new(backend);
    let store = Store::open(&db.url, 1).unwrap();
    store.migrate().unwrap();
    let mut conn = store.conn().unwrap();
    let new = |name: &str| NewTenant {
        name: name.into(),
        from_email: "shop@example.com".into(),
        from_name: None,
        recovery_url: None,
        policy: Default::default(),
    };
    // Whole seconds, so both backends give back exactly what was stored.
    let first = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let a = create_tenant(&mut conn, &new("A"), first.naive_utc())
        .unwrap()
        .id;
    let b = create_tenant(&mut conn, &new("B"), first.naive_utc())
        .unwrap()
        .id;
    let row = set_stripe_account(&mut conn, &account(&a, Some("k1"), first)).unwrap();
    assert_eq!(row.secret_key.as_deref(), Some("k1"));
    assert_eq!(row.links_in_emails, 1);
    let later = first + chrono::TimeDelta::seconds(5);
    let row = set_stripe_account(&mut conn, &account(&a, None, later)).unwrap();
    assert_eq!(row.secret_key, None);
    assert_eq!(row.created_at, first.naive_utc());
    assert_eq!(row.updated_at, later.naive_utc());
    assert!(find_stripe_account(&mut conn, &b).unwrap().is_none());
    assert!(!delete_stripe_account(&mut conn, &b).unwrap());
    assert!(delete_stripe_account(&mut conn, &a).unwrap());
    assert!(find_stripe_account(&mut conn, &a).unwrap().is_none());
}

#[test]
fn changes_merge_and_seal_on_sqlite() {
    changes_merge_and_seal(Backend::Sqlite);
}

#[test]
fn changes_merge_and_seal_on_postgres() {
    changes_merge_and_seal(Backend::Postgres);
}

/// A change seals what it is given, keeps what it leaves out and clears what
/// it sets to none; the hints and counts follow.
fn changes_merge_and_seal(backend: Backend) {
    use cartback_store::crypto::{MasterKeys, Purpose};
    let db = TestDatabase::new(backend);
    let store = Store::open(&db.url, 1).unwrap();
    store.migrate().unwrap();
    let mut conn = store.conn().unwrap();
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let tenant = create_tenant(
        &mut conn,
        &NewTenant {
            name: "A".into(),
            from_email: "shop@example.com".into(),
            from_name: None,
            recovery_url: None,
            policy: Default::default(),
        },
        now.naive_utc(),
    )
    .unwrap()
    .id;
    let keys = MasterKeys::from_config(Some(&MasterKeys::generate()), None).unwrap();
    let row = change_stripe_account(
        &mut conn,
        &keys,
        &tenant,
        StripeChange {
            secret_key: Some(Some(("sk_test_abcdefgh".into(), "sk_test_…".into()))),
            webhook_secrets: Some(Some(vec!["whsec_one12345".into(), "whsec_two12345".into()])),
            links_in_emails: Some(true),
            ..StripeChange::default()
        },
        now,
    )
    .unwrap();
    let sealed = row.secret_key.clone().unwrap();
    assert_ne!(sealed, "sk_test_abcdefgh", "stored sealed");
    let opened = keys
        .open(Purpose::StripeSecretKey, &tenant, &sealed)
        .unwrap();
    assert_eq!(opened, b"sk_test_abcdefgh");
    assert_eq!(row.secret_key_hint().as_deref(), Some("sk_test_…"));
    assert_eq!(row.webhook_secret_count(), 2);
    // Only the signing secret changes; the key and the links stay.
    let row = change_stripe_account(
        &mut conn,
        &keys,
        &tenant,
        StripeChange {
            webhook_secrets: Some(Some(vec!["whsec_three1234".into()])),
            ..StripeChange::default()
        },
        now,
    )
    .unwrap();
    assert_eq!(row.secret_key.as_deref(), Some(sealed.as_str()));
    assert_eq!(row.secret_key_hint().as_deref(), Some("sk_test_…"));
    assert_eq!(row.webhook_secret_count(), 1);
    assert_eq!(row.links_in_emails, 1);
    let secrets = keys
        .open(
            Purpose::StripeWebhookSecret,
            &tenant,
            row.webhook_secrets.as_deref().unwrap(),
        )
        .unwrap();
    assert_eq!(secrets, br#"["whsec_three1234"]"#);
    // Clearing the key leaves no hint.
    let row = change_stripe_account(
        &mut conn,
        &keys,
        &tenant,
        StripeChange {
            secret_key: Some(None),
            ..StripeChange::default()
        },
        now,
    )
    .unwrap();
    assert_eq!(row.secret_key, None);
    assert_eq!(row.secret_key_hint(), None);
    assert_eq!(row.webhook_secret_count(), 1);
}

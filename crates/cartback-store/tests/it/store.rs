//! Storage tests: every test runs on SQLite and on PostgreSQL, each in its own
//! throwaway database.

use std::collections::BTreeMap;

use chrono::{TimeDelta, Utc};
use diesel::QueryableByName;
use diesel::RunQueryDsl;
use diesel::sql_types::Text;

use cartback_domain::{AttributionMode, CartStatus, MatchedBy, OrderAttribution, OrderSource};
use cartback_store::api_keys::{KeyKind, authenticate, create_key, list_keys, revoke_key};
use cartback_store::carts::{
    CartKey, CartRelease, claim_due_carts, count_carts, find_cart, find_cart_by_session,
    release_cart, upsert_cart, upsert_carts,
};
use cartback_store::events::{CartEventKind, NewCartEvent, list_events, record_event};
use cartback_store::orders::{NewOrder, find_order, record_order};
use cartback_store::sends::{
    BatchTenants, FinishedSend, SendDecision, SendResult, StartSend, list_sends_for_cart, settle,
    start_send, start_sends,
};
use cartback_store::{Backend, DbConn};
use cartback_testing::TestDatabase;

use crate::common::*;
use cartback_testing::on_both_backends;

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    nullable: String,
}

/// Tables, columns, portable types and nullability, as the backend reports them.
fn logical_schema(conn: &mut DbConn) -> BTreeMap<String, Vec<(String, String, bool)>> {
    let columns: Vec<Column> = match conn {
        DbConn::Postgres(pg) => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name, \
             data_type::text AS data_type, is_nullable::text AS nullable \
             FROM information_schema.columns WHERE table_schema = 'public' \
             AND table_name <> '__diesel_schema_migrations'",
        )
        .load(pg)
        .unwrap(),
        DbConn::Sqlite(sqlite) => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
             CASE WHEN p.\"notnull\" = 1 OR p.pk > 0 THEN 'NO' ELSE 'YES' END AS nullable \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             AND m.name <> '__diesel_schema_migrations'",
        )
        .load(sqlite)
        .unwrap(),
    };
    let mut schema: BTreeMap<String, Vec<(String, String, bool)>> = BTreeMap::new();
    for c in columns {
        let portable = match c.data_type.to_lowercase().as_str() {
            "text" => "text",
            "integer" => "integer",
            "bigint" => "bigint",
            "timestamp" | "timestamp without time zone" => "timestamp",
            other => panic!(
                "non-portable column type {other} in {}.{}",
                c.table_name, c.column_name
            ),
        };
        schema.entry(c.table_name).or_default().push((
            c.column_name,
            portable.to_owned(),
            c.nullable == "YES",
        ));
    }
    for columns in schema.values_mut() {
        columns.sort();
    }
    schema
}

#[test]
fn both_backends_have_the_same_logical_schema() {
    let sqlite = TestDatabase::new(Backend::Sqlite);
    let postgres = TestDatabase::new(Backend::Postgres);
    let a = logical_schema(&mut open(&sqlite).conn().unwrap());
    let b = logical_schema(&mut open(&postgres).conn().unwrap());
    assert!(a.contains_key("carts") && a.contains_key("recovery_sends"));
    assert_eq!(a, b);
}

on_both_backends!(migrations_go_up_down_up, |db: &TestDatabase| {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let before = logical_schema(&mut conn);
    cartback_store::migrate::revert_all(&mut conn).unwrap();
    assert!(logical_schema(&mut conn).is_empty());
    cartback_store::run_migrations(&mut conn).unwrap();
    assert_eq!(before, logical_schema(&mut conn));
});

on_both_backends!(keys_authenticate_until_revoked, |db: &TestDatabase| {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = tenant(&mut conn, "Shop");
    let now = Utc::now().naive_utc();
    let key = create_key(&mut conn, &shop.id, KeyKind::Secret, Some("ci"), now).unwrap();
    assert!(key.secret.starts_with("sk_"));
    assert_ne!(key.key.key_hash, key.secret, "only the hash is stored");
    let found = authenticate(&mut conn, &key.secret).unwrap().unwrap();
    assert_eq!(found.tenant_id, shop.id);
    assert!(authenticate(&mut conn, "sk_wrong").unwrap().is_none());
    let other = tenant(&mut conn, "Other");
    assert!(
        revoke_key(&mut conn, &other.id, &key.key.id, now).is_err(),
        "another tenant cannot revoke it"
    );
    revoke_key(&mut conn, &shop.id, &key.key.id, now).unwrap();
    assert!(authenticate(&mut conn, &key.secret).unwrap().is_none());
    assert_eq!(list_keys(&mut conn, &shop.id).unwrap().len(), 1);
});

// The upsert's SQL is written from the domain's `on_cart_update`; this runs
// every status through both of its statements (the single upsert and the
// batch, which tries the active-only one first) and holds the result to it.
on_both_backends!(
    a_tracked_update_does_what_on_cart_update_says,
    |db: &TestDatabase| {
        use cartback_domain::on_cart_update;
        use cartback_store::schema::carts;
        use diesel::prelude::*;
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let t0 = Utc::now() - TimeDelta::hours(2);
        let later = t0 + TimeDelta::hours(1);
        for status in CartStatus::ALL {
            for batch in [false, true] {
                let session = format!("s-{}-{batch}", status.as_str());
                let first = upsert_cart(&mut conn, &upsert(&shop, &session, None, t0)).unwrap();
                let stamp = t0.naive_utc();
                diesel::update(carts::table.filter(carts::id.eq(&first.id)))
                    .set((
                        carts::status.eq(status.as_str()),
                        carts::cycle.eq(3),
                        carts::next_step.eq(2),
                        carts::last_sent_at.eq(Some(stamp)),
                        carts::ordered_at.eq(status.is_terminal().then_some(stamp)),
                    ))
                    .execute(&mut *conn)
                    .unwrap();
                let update = upsert(&shop, &session, None, later);
                let row = if batch {
                    upsert_carts(&mut conn, &[update]).pop().unwrap().unwrap()
                } else {
                    upsert_cart(&mut conn, &update).unwrap()
                };
                let expected = on_cart_update(status);
                let case = format!("{} (batch: {batch})", status.as_str());
                assert_eq!(row.status, expected.status, "{case}");
                assert_eq!(row.cycle, if expected.new_cycle { 4 } else { 3 }, "{case}");
                assert_eq!(
                    row.next_step,
                    if expected.new_cycle { 0 } else { 2 },
                    "{case}"
                );
                assert_eq!(row.last_sent_at.is_none(), expected.new_cycle, "{case}");
                assert_eq!(
                    row.ordered_at,
                    (status.is_terminal() && !expected.new_cycle).then_some(stamp),
                    "{case}"
                );
                let created = if expected.new_cycle { later } else { t0 };
                assert_eq!(
                    row.created_at.and_utc().timestamp_millis(),
                    created.timestamp_millis(),
                    "{case}"
                );
            }
        }
    }
);

// Statuses, kinds and JSON are typed columns: a value written behind the
// store's back that no variant accepts is reported as corrupt, never read as
// some default.
on_both_backends!(a_corrupt_stored_value_is_an_error, |db: &TestDatabase| {
    use cartback_store::StoreError;
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = tenant(&mut conn, "Shop");
    let now = Utc::now();
    let cart = upsert_cart(&mut conn, &upsert(&shop, "s-1", None, now)).unwrap();
    let corrupt = |conn: &mut DbConn, sql: &str| {
        diesel::sql_query(sql.replace("{id}", &cart.id))
            .execute(conn)
            .unwrap();
    };
    corrupt(
        &mut conn,
        "UPDATE carts SET status = 'lost' WHERE id = '{id}'",
    );
    match find_cart(&mut conn, &shop.id, &cart.id) {
        Err(StoreError::Corrupt(message)) => {
            assert!(message.contains("carts.status"), "{message}");
            assert!(message.contains("lost"), "{message}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    corrupt(
        &mut conn,
        "UPDATE carts SET status = 'active', items = '{\"not\": \"a list\"}' WHERE id = '{id}'",
    );
    match find_cart(&mut conn, &shop.id, &cart.id) {
        Err(StoreError::Corrupt(message)) => {
            assert!(
                !message.contains("a list"),
                "the data is not quoted: {message}"
            );
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    corrupt(&mut conn, "UPDATE carts SET items = '[]' WHERE id = '{id}'");
    assert!(find_cart(&mut conn, &shop.id, &cart.id).unwrap().is_some());
    record_event(
        &mut conn,
        &shop.id,
        &cart.id,
        CartEventKind::Clicked,
        None,
        None,
        now,
    )
    .unwrap();
    corrupt(
        &mut conn,
        "UPDATE cart_events SET kind = 'teleported' WHERE cart_id = '{id}'",
    );
    match list_events(&mut conn, &shop.id, &cart.id) {
        Err(StoreError::Corrupt(message)) => {
            assert!(message.contains("cart_events.kind"), "{message}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let order = NewOrder {
        tenant_id: shop.id.clone(),
        order_ref: Some("INV-9".to_owned()),
        session_id: Some("s-1".to_owned()),
        cart_id: None,
        cart_token: None,
        customer_email: None,
        total_minor: Some(900),
        currency: "USD".to_owned(),
        source: OrderSource::Track,
        attribution_mode: AttributionMode::Sent,
        attribution_window: TimeDelta::days(7),
        now,
    };
    record_order(&mut conn, &order).unwrap();
    let recorded = find_order(&mut conn, &shop.id, "INV-9").unwrap().unwrap();
    assert_eq!(
        (recorded.attribution, recorded.matched_by, recorded.source),
        (
            OrderAttribution::Converted,
            Some(MatchedBy::Session),
            OrderSource::Track
        )
    );
    // Each order column in turn, the others set back to what they were.
    for (column, bad, good) in [
        ("attribution", "maybe", "'converted'"),
        ("matched_by", "telepathy", "'session'"),
        ("source", "shopify", "'track'"),
    ] {
        corrupt(
            &mut conn,
            &format!("UPDATE orders SET {column} = '{bad}' WHERE cart_id = '{{id}}'"),
        );
        match find_order(&mut conn, &shop.id, "INV-9") {
            Err(StoreError::Corrupt(message)) => {
                assert!(message.contains(&format!("orders.{column}")), "{message}");
                assert!(message.contains(bad), "{message}");
            }
            other => panic!("expected Corrupt for {column}, got {other:?}"),
        }
        corrupt(
            &mut conn,
            &format!("UPDATE orders SET {column} = {good} WHERE cart_id = '{{id}}'"),
        );
    }
    // No key matched: NULL, not corrupt.
    corrupt(
        &mut conn,
        "UPDATE orders SET matched_by = NULL WHERE cart_id = '{id}'",
    );
    let unmatched = find_order(&mut conn, &shop.id, "INV-9").unwrap().unwrap();
    assert_eq!(unmatched.matched_by, None);
});

on_both_backends!(
    upsert_updates_the_same_cart_and_isolates_tenants,
    |db: &TestDatabase| {
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let other = tenant(&mut conn, "Other");
        let t0 = Utc::now();
        let first =
            upsert_cart(&mut conn, &upsert(&shop, "s-1", Some("a@example.com"), t0)).unwrap();
        let mut change = upsert(&shop, "s-1", None, t0 + TimeDelta::seconds(5));
        change.items.push(item("b", 100));
        change.total_minor = 1350;
        let second = upsert_cart(&mut conn, &change).unwrap();
        assert_eq!(first.id, second.id);
        assert_eq!(second.item_count, 2);
        assert_eq!(second.total_minor, 1350);
        assert_eq!(
            second.customer_email.as_deref(),
            Some("a@example.com"),
            "an update without email keeps it"
        );
        assert_eq!(second.created_at, first.created_at);
        assert!(second.last_activity_at > first.last_activity_at);
        // Same session id, other tenant: another cart, invisible across tenants.
        let theirs = upsert_cart(&mut conn, &upsert(&other, "s-1", None, t0)).unwrap();
        assert_ne!(theirs.id, first.id);
        assert!(
            find_cart(&mut conn, &other.id, &first.id)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            find_cart_by_session(&mut conn, &shop.id, "s-1")
                .unwrap()
                .unwrap()
                .id,
            first.id
        );
    }
);

on_both_backends!(
    claims_are_exclusive_and_leases_expire,
    |db: &TestDatabase| {
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let t0 = Utc::now() - TimeDelta::hours(2);
        for i in 0..10 {
            upsert_cart(
                &mut conn,
                &upsert(&shop, &format!("s-{i}"), Some("a@example.com"), t0),
            )
            .unwrap();
        }
        let now = Utc::now();
        let lease = now + TimeDelta::seconds(30);
        let a = claim_due_carts(&mut conn, "worker-a", now, lease, 6).unwrap();
        let b = claim_due_carts(&mut conn, "worker-b", now, lease, 6).unwrap();
        assert_eq!(a.len(), 6);
        assert_eq!(b.len(), 4);
        assert!(a.iter().all(|c| b.iter().all(|d| d.id != c.id)));
        assert!(
            claim_due_carts(&mut conn, "worker-c", now, lease, 6)
                .unwrap()
                .is_empty()
        );
        // Once the lease runs out, the cart is due again for anyone.
        let later = lease + TimeDelta::seconds(1);
        let again = claim_due_carts(
            &mut conn,
            "worker-c",
            later,
            later + TimeDelta::seconds(30),
            100,
        )
        .unwrap();
        assert_eq!(again.len(), 10);
        assert!(
            again
                .iter()
                .all(|c| c.locked_by.as_deref() == Some("worker-c"))
        );
        // The old holder can no longer release what it lost.
        let released = release_cart(
            &mut conn,
            &shop.id,
            &a[0].id,
            "worker-a",
            later,
            |_| unreachable!(),
        )
        .unwrap();
        assert!(!released);
    }
);

on_both_backends!(a_step_is_sent_at_most_once, |db: &TestDatabase| {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    let shop = tenant(&mut conn, "Shop");
    let t0 = Utc::now() - TimeDelta::hours(2);
    let cart = upsert_cart(&mut conn, &upsert(&shop, "s-1", Some("a@example.com"), t0)).unwrap();
    let now = Utc::now();
    let lease = now + TimeDelta::seconds(30);
    let claimed = claim_due_carts(&mut conn, "w1", now, lease, 10).unwrap();
    assert_eq!(claimed.len(), 1);
    let decide = |_: &cartback_store::carts::CartRow| {
        Ok(Some(SendDecision {
            step: 0,
            mark_abandoned: true,
        }))
    };
    let StartSend::Ready { cart: held, send } =
        start_send(&mut conn, &shop.id, &cart.id, "w1", now, lease, decide).unwrap()
    else {
        panic!("expected a send to deliver");
    };
    assert_eq!(held.status.as_str(), "abandoned");
    assert_eq!(send.attempts, 1);
    assert_eq!(send.idempotency_key, format!("{}:0:0", cart.id));
    let sent = [FinishedSend {
        send_id: send.id.clone(),
        result: SendResult::Sent {
            provider: "file".to_owned(),
            provider_message_id: Some("msg-1".to_owned()),
            coupon_code: None,
        },
    }];
    let keep = |row: &cartback_store::carts::CartRow| {
        Ok(CartRelease {
            status: row.status,
            next_step: u32::try_from(row.next_step).unwrap_or(0),
            next_action_at: None,
            quarantine: None,
        })
    };
    settle(&mut conn, "w2", now, &sent, &[], &[], keep).unwrap();
    assert_eq!(
        list_sends_for_cart(&mut conn, &shop.id, &cart.id).unwrap()[0]
            .status
            .as_str(),
        "sending",
        "only the holder records"
    );
    settle(&mut conn, "w1", now, &sent, &[], &[], keep).unwrap();
    // A second pass over the same step (say, after a crash) finds it done.
    let again = start_send(&mut conn, &shop.id, &cart.id, "w1", now, lease, decide).unwrap();
    assert!(matches!(again, StartSend::AlreadyFinal { .. }));
    let released = release_cart(&mut conn, &shop.id, &cart.id, "w1", now, |row| {
        Ok(CartRelease {
            status: row.status,
            next_step: 1,
            next_action_at: None,
            quarantine: None,
        })
    })
    .unwrap();
    assert!(released);
    let sends = list_sends_for_cart(&mut conn, &shop.id, &cart.id).unwrap();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].status.as_str(), "sent");
    assert_eq!(sends[0].provider_message_id.as_deref(), Some("msg-1"));
    let after = find_cart(&mut conn, &shop.id, &cart.id).unwrap().unwrap();
    assert_eq!(
        (after.next_step, after.locked_by, after.next_action_at),
        (1, None, None)
    );
});

on_both_backends!(
    orders_are_recorded_once_and_close_the_cart,
    |db: &TestDatabase| {
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let now = Utc::now();
        upsert_cart(&mut conn, &upsert(&shop, "s-1", Some("a@example.com"), now)).unwrap();
        let order = NewOrder {
            tenant_id: shop.id.clone(),
            order_ref: Some("INV-1".to_owned()),
            session_id: Some("s-1".to_owned()),
            cart_id: None,
            cart_token: None,
            customer_email: None,
            total_minor: Some(1250),
            currency: "USD".to_owned(),
            source: OrderSource::Track,
            attribution_mode: AttributionMode::Sent,
            attribution_window: TimeDelta::days(7),
            now,
        };
        let first = record_order(&mut conn, &order).unwrap();
        assert!(!first.duplicate);
        assert_eq!(
            first.closed_cart.as_ref().map(|(_, s)| *s),
            Some(CartStatus::Converted)
        );
        assert_eq!(first.order.matched_by, Some(MatchedBy::Session));
        let cart = find_cart_by_session(&mut conn, &shop.id, "s-1")
            .unwrap()
            .unwrap();
        assert_eq!(cart.status.as_str(), "converted");
        assert_eq!(cart.next_action_at, None);
        let second = record_order(&mut conn, &order).unwrap();
        assert!(second.duplicate);
        assert_eq!(second.order.id, first.order.id);
        // An order for a session we never saw is still recorded.
        let unknown = NewOrder {
            order_ref: Some("INV-2".to_owned()),
            session_id: Some("nobody".to_owned()),
            ..order
        };
        let outcome = record_order(&mut conn, &unknown).unwrap();
        assert_eq!(outcome.order.attribution, OrderAttribution::Unmatched);
        assert!(outcome.closed_cart.is_none());
        // A new CART_UPDATE on the converted cart starts a new cycle.
        let revived = upsert_cart(
            &mut conn,
            &upsert(&shop, "s-1", None, now + TimeDelta::minutes(1)),
        )
        .unwrap();
        assert_eq!(
            (revived.status.as_str(), revived.cycle, revived.next_step),
            ("active", 1, 0)
        );
        assert_eq!(revived.id, cart.id);
    }
);

on_both_backends!(run_query_dsl_smoke, |db: &TestDatabase| {
    let store = open(db);
    let mut conn = store.conn().unwrap();
    diesel::sql_query("SELECT 1").execute(&mut *conn).unwrap();
});

on_both_backends!(
    provider_secrets_are_sealed_and_survive_rotation,
    |db: &TestDatabase| {
        use cartback_store::crypto::MasterKeys;
        use cartback_store::email_providers::{
            delete_provider, find_provider, reseal_all, set_provider,
        };
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let old = MasterKeys::generate();
        let keys = MasterKeys::from_config(Some(&old), None).unwrap();
        let secret = "re_TOPSECRET_0123456789";
        let settings = format!(r#"{{"provider":"resend","apiKey":"{secret}"}}"#);
        set_provider(
            &mut conn,
            &keys,
            &shop.id,
            "resend",
            &settings,
            r#"{"provider":"resend","apiKeyHint":"re_…6789"}"#,
            Utc::now(),
        )
        .unwrap();
        let row = find_provider(&mut conn, &shop.id).unwrap().unwrap();
        assert_eq!(row.open(&keys).unwrap(), settings);

        // Nothing in any table holds the secret in clear.
        let dump: Vec<Column> = match &mut *conn {
        DbConn::Postgres(pg) => diesel::sql_query(
            "SELECT 'email_providers' AS table_name, settings AS column_name, masked AS data_type, kind AS nullable FROM email_providers",
        )
        .load(pg)
        .unwrap(),
        DbConn::Sqlite(sqlite) => diesel::sql_query(
            "SELECT 'email_providers' AS table_name, settings AS column_name, masked AS data_type, kind AS nullable FROM email_providers",
        )
        .load(sqlite)
        .unwrap(),
    };
        assert_eq!(dump.len(), 1);
        assert!(dump.iter().all(|c| !c.column_name.contains("TOPSECRET") && !c.data_type.contains("TOPSECRET")));

        // Rotation: the new key seals, the old one still opens until everything is resealed.
        let new = MasterKeys::generate();
        let rotated = MasterKeys::from_config(Some(&new), Some(&old)).unwrap();
        assert_eq!(reseal_all(&mut conn, &rotated).unwrap(), 1);
        assert_eq!(reseal_all(&mut conn, &rotated).unwrap(), 0, "already done");
        let row = find_provider(&mut conn, &shop.id).unwrap().unwrap();
        assert_eq!(Some(row.key_id.as_str()), rotated.current_id());
        let only_new = MasterKeys::from_config(Some(&new), None).unwrap();
        assert_eq!(row.open(&only_new).unwrap(), settings);
        assert!(delete_provider(&mut conn, &shop.id).unwrap());
        assert!(find_provider(&mut conn, &shop.id).unwrap().is_none());
    }
);

on_both_backends!(
    provider_rows_of_the_first_format_open_and_are_upgraded_in_place,
    |db: &TestDatabase| {
        use cartback_store::crypto::{CryptoError, MasterKeys, Purpose};
        use cartback_store::email_providers::{find_provider, reseal_all, set_provider};
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let keys = MasterKeys::from_config(Some(&MasterKeys::generate()), None).unwrap();
        let settings = r#"{"provider":"resend","apiKey":"re_0123456789abcdef"}"#;
        set_provider(
            &mut conn,
            &keys,
            &shop.id,
            "resend",
            settings,
            "{}",
            Utc::now(),
        )
        .unwrap();
        // Put a value sealed as releases before purposes did in its place.
        let old = keys
            .seal_first_format(&shop.id, settings.as_bytes())
            .unwrap();
        diesel::sql_query(match &*conn {
            DbConn::Postgres(_) => "UPDATE email_providers SET settings = $1 WHERE tenant_id = $2",
            DbConn::Sqlite(_) => "UPDATE email_providers SET settings = ? WHERE tenant_id = ?",
        })
        .bind::<diesel::sql_types::Text, _>(&old)
        .bind::<diesel::sql_types::Text, _>(&shop.id)
        .execute(&mut *conn)
        .unwrap();
        let row = find_provider(&mut conn, &shop.id).unwrap().unwrap();
        assert_eq!(
            row.open(&keys).unwrap(),
            settings,
            "the old format still opens"
        );
        // Same master key, no rotation of keys: the format alone is upgraded.
        assert_eq!(reseal_all(&mut conn, &keys).unwrap(), 1);
        assert_eq!(reseal_all(&mut conn, &keys).unwrap(), 0, "already done");
        let row = find_provider(&mut conn, &shop.id).unwrap().unwrap();
        assert!(row.settings.starts_with("cbx2."), "{}", row.settings);
        assert_eq!(row.open(&keys).unwrap(), settings);
        assert_eq!(
            keys.open(Purpose::WebhookSecret, &shop.id, &row.settings),
            Err(CryptoError::Corrupt),
            "bound to its purpose"
        );
    }
);

on_both_backends!(
    a_batch_commits_many_carts_and_the_later_event_of_a_session_wins,
    |db: &TestDatabase| {
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let t0 = Utc::now();
        let existing = upsert_cart(
            &mut conn,
            &upsert(&shop, "known", Some("k@example.com"), t0),
        )
        .unwrap();

        let first = upsert(&shop, "twice", Some("first@example.com"), t0);
        let mut later = upsert(&shop, "twice", None, t0 + TimeDelta::milliseconds(3));
        later.items.push(item("b", 100));
        later.total_minor = 1350;
        let mut batch = vec![first, upsert(&shop, "known", None, t0), later];
        for n in 0..250 {
            batch.push(upsert(&shop, &format!("bulk-{n}"), None, t0));
        }
        let results = upsert_carts(&mut conn, &batch);
        assert_eq!(results.len(), batch.len(), "one answer per event");
        let rows: Vec<_> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(rows[0].id, rows[2].id, "one cart for the session");
        assert_eq!(rows[2].item_count, 2, "the later event's items");
        assert_eq!(rows[2].total_minor, 1350);
        assert_eq!(
            rows[2].customer_email.as_deref(),
            Some("first@example.com"),
            "an email given earlier in the batch is kept"
        );
        assert_eq!(rows[1].id, existing.id, "an existing cart is updated");
        assert_eq!(rows[1].customer_email.as_deref(), Some("k@example.com"));
        assert_eq!(count_carts(&mut conn, &shop.id).unwrap(), 252);
        let stored = find_cart_by_session(&mut conn, &shop.id, "twice")
            .unwrap()
            .unwrap();
        assert_eq!(stored.total_minor, 1350);
    }
);

on_both_backends!(
    one_failing_row_does_not_fail_its_batch_mates,
    |db: &TestDatabase| {
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let t0 = Utc::now();
        let mut orphan = upsert(&shop, "orphan", None, t0);
        // No such tenant: the foreign key refuses this row, and only this row.
        orphan.tenant_id = "tenant_gone".to_owned();
        let batch = vec![
            upsert(&shop, "a", None, t0),
            orphan,
            upsert(&shop, "b", Some("b@example.com"), t0),
        ];
        let results = upsert_carts(&mut conn, &batch);
        assert!(results[0].is_ok(), "{:?}", results[0]);
        assert!(results[1].is_err());
        assert!(results[2].is_ok(), "{:?}", results[2]);
        assert_eq!(count_carts(&mut conn, &shop.id).unwrap(), 2);
        assert!(
            find_cart_by_session(&mut conn, &shop.id, "b")
                .unwrap()
                .is_some()
        );
    }
);

on_both_backends!(
    a_batch_is_started_and_settled_in_two_transactions,
    |db: &TestDatabase| {
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let other = tenant(&mut conn, "Other");
        let t0 = Utc::now() - TimeDelta::hours(2);
        let mut keys = Vec::new();
        for i in 0..5 {
            let owner = if i % 2 == 0 { &shop } else { &other };
            let cart = upsert_cart(
                &mut conn,
                &upsert(owner, &format!("s-{i}"), Some("a@example.com"), t0),
            )
            .unwrap();
            keys.push(CartKey::of(&cart));
        }
        let now = Utc::now();
        let lease = now + TimeDelta::seconds(30);
        assert_eq!(
            claim_due_carts(&mut conn, "w1", now, lease, 4)
                .unwrap()
                .len(),
            4
        );
        // Cart 4 was never claimed by w1; cart 3 no longer wants an email.
        let secrets = BatchTenants {
            link_secrets: [&shop, &other]
                .iter()
                .map(|t| (t.id.clone(), t.link_secret.clone()))
                .collect(),
            customer_history: Default::default(),
            providers: Default::default(),
        };
        let started = start_sends(&mut conn, &keys, "w1", now, lease, &secrets, |row, _| {
            Ok((row.session_id != "s-3").then_some(SendDecision {
                step: 0,
                mark_abandoned: true,
            }))
        })
        .unwrap();
        let claimed_last = started
            .iter()
            .zip(&keys)
            .find(|(s, _)| matches!(s, StartSend::LeaseLost))
            .map(|(_, k)| k.clone())
            .unwrap();
        let mut ready = Vec::new();
        let mut not_due = 0;
        for start in &started {
            match start {
                StartSend::Ready { cart, send } => {
                    assert_eq!(cart.status.as_str(), "abandoned");
                    assert_eq!((send.attempts, send.status.as_str()), (1, "sending"));
                    ready.push((CartKey::of(cart), send.id.clone()));
                }
                StartSend::NotDue { .. } => not_due += 1,
                StartSend::LeaseLost => {}
                StartSend::AlreadyFinal { .. } | StartSend::Unknown { .. } => {
                    panic!("nothing was sent yet")
                }
            }
        }
        assert_eq!((ready.len(), not_due), (3, 1));
        // One sent, one to retry, one dead; then every held cart let go.
        let retry_at = now + TimeDelta::minutes(5);
        let finished = vec![
            FinishedSend {
                send_id: ready[0].1.clone(),
                result: SendResult::Sent {
                    provider: "file".into(),
                    provider_message_id: Some("m-0".into()),
                    coupon_code: Some("SAVE10-AB12".into()),
                },
            },
            FinishedSend {
                send_id: ready[1].1.clone(),
                result: SendResult::Retry {
                    error: "busy".into(),
                    at: retry_at,
                },
            },
            FinishedSend {
                send_id: ready[2].1.clone(),
                result: SendResult::Dead {
                    error: "refused".into(),
                },
            },
        ];
        let release: Vec<CartKey> = keys
            .iter()
            .filter(|k| **k != claimed_last)
            .cloned()
            .chain(std::iter::once(claimed_last.clone()))
            .collect();
        let history = vec![NewCartEvent {
            tenant_id: ready[0].0.tenant_id.clone(),
            cart_id: ready[0].0.cart_id.clone(),
            kind: CartEventKind::Sent,
            step: Some(0),
            detail: Some("file".into()),
        }];
        // Settled a moment after the start: the history is ordered by time.
        let later = now + TimeDelta::milliseconds(5);
        let held = settle(
            &mut conn,
            "w1",
            later,
            &finished,
            &history,
            &release,
            |row| {
                Ok(CartRelease {
                    status: row.status,
                    next_step: 1,
                    next_action_at: None,
                    quarantine: None,
                })
            },
        )
        .unwrap();
        assert_eq!(held, 4, "the cart w1 never held is left alone");
        let status_of = |conn: &mut DbConn, key: &CartKey| {
            let sends = list_sends_for_cart(conn, &key.tenant_id, &key.cart_id).unwrap();
            assert_eq!(sends.len(), 1);
            (
                sends[0].status.as_str().to_owned(),
                sends[0].provider_message_id.clone(),
                sends[0].locked_by.clone(),
            )
        };
        assert_eq!(
            status_of(&mut conn, &ready[0].0),
            ("sent".into(), Some("m-0".into()), None)
        );
        assert_eq!(status_of(&mut conn, &ready[1].0).0, "retry");
        // The cart's history: abandoned when its send was taken, then sent.
        let kinds: Vec<String> = list_events(&mut conn, &ready[0].0.tenant_id, &ready[0].0.cart_id)
            .unwrap()
            .into_iter()
            .map(|e| e.kind.as_str().to_owned())
            .collect();
        assert_eq!(kinds, ["abandoned", "sent"]);
        assert_eq!(status_of(&mut conn, &ready[2].0).0, "dead");
        for key in &keys {
            let cart = find_cart(&mut conn, &key.tenant_id, &key.cart_id)
                .unwrap()
                .unwrap();
            if *key == claimed_last {
                assert_eq!(cart.locked_by, None);
                assert!(cart.next_action_at.is_some(), "untouched: still due");
            } else {
                assert_eq!((cart.locked_by, cart.next_step), (None, 1));
            }
        }
    }
);

on_both_backends!(
    the_start_transaction_knows_the_shoppers_other_carts,
    |db: &TestDatabase| {
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let t0 = Utc::now() - TimeDelta::hours(2);
        // One shopper, two carts (the address in two spellings), and a stranger
        // whose address is suppressed.
        let first =
            upsert_cart(&mut conn, &upsert(&shop, "a", Some("Sam@Example.com"), t0)).unwrap();
        let second =
            upsert_cart(&mut conn, &upsert(&shop, "b", Some("sam@example.com"), t0)).unwrap();
        let third =
            upsert_cart(&mut conn, &upsert(&shop, "c", Some("gone@example.com"), t0)).unwrap();
        cartback_store::suppressions::add_suppression(
            &mut conn,
            &shop.id,
            "GONE@example.com",
            cartback_store::suppressions::SuppressionReason::Manual,
            None,
            Utc::now(),
        )
        .unwrap();
        let now = Utc::now();
        let lease = now + TimeDelta::seconds(30);
        claim_due_carts(&mut conn, "w1", now, lease, 10).unwrap();
        let secrets = BatchTenants {
            link_secrets: std::iter::once((shop.id.clone(), shop.link_secret.clone())).collect(),
            customer_history: std::iter::once(shop.id.clone()).collect(),
            providers: Default::default(),
        };
        let keys: Vec<CartKey> = [&first, &second, &third]
            .into_iter()
            .map(CartKey::of)
            .collect();
        let mut seen = BTreeMap::new();
        let mut order = Vec::new();
        let started = start_sends(
            &mut conn,
            &keys,
            "w1",
            now,
            lease,
            &secrets,
            |row, shopper| {
                seen.insert(row.session_id.clone(), shopper.clone());
                order.push(row.session_id.clone());
                // Email whichever of the shopper's carts comes first (id order).
                let first_of_sam =
                    row.session_id != "c" && !order[..order.len() - 1].iter().any(|s| s != "c");
                Ok(first_of_sam.then_some(SendDecision {
                    step: 0,
                    mark_abandoned: true,
                }))
            },
        )
        .unwrap();
        let (emailed_session, other_session) =
            if order.iter().position(|s| s == "a") < order.iter().position(|s| s == "b") {
                ("a", "b")
            } else {
                ("b", "a")
            };
        let (emailed_cart, other_cart) = if emailed_session == "a" {
            (&first, &second)
        } else {
            (&second, &first)
        };
        assert!(
            !seen[emailed_session].suppressed && seen[emailed_session].emailed_siblings.is_empty()
        );
        assert_eq!(seen[emailed_session].last_emailed_at, None);
        // The batch's own decision for one cart is visible to the shopper's other.
        assert_eq!(seen[other_session].emailed_siblings.len(), 1);
        assert_eq!(
            seen[other_session].emailed_siblings[0].cart_id,
            emailed_cart.id
        );
        assert_eq!(seen[other_session].last_emailed_at, Some(now));
        assert!(seen["c"].suppressed);
        let send = started
            .iter()
            .find_map(|s| match s {
                StartSend::Ready { send, .. } => Some(send.clone()),
                _ => None,
            })
            .unwrap();
        let finished = vec![FinishedSend {
            send_id: send.id.clone(),
            result: SendResult::Sent {
                provider: "file".into(),
                provider_message_id: None,
                coupon_code: None,
            },
        }];
        settle(&mut conn, "w1", now, &finished, &[], &keys, |row| {
            Ok(CartRelease {
                status: row.status,
                next_step: row.next_step as u32 + u32::from(row.id == emailed_cart.id),
                next_action_at: Some(now),
                quarantine: None,
            })
        })
        .unwrap();
        let emailed = find_cart(&mut conn, &shop.id, &emailed_cart.id)
            .unwrap()
            .unwrap();
        assert!(
            emailed.last_sent_at.is_some(),
            "the cart remembers its latest email"
        );
        // A later pass reads the same from the database.
        let later = now + TimeDelta::seconds(1);
        let reclaimed =
            claim_due_carts(&mut conn, "w2", later, later + TimeDelta::seconds(30), 10).unwrap();
        assert!(
            reclaimed.iter().any(|c| c.id == other_cart.id),
            "{reclaimed:?}"
        );
        let mut again = BTreeMap::new();
        start_sends(
            &mut conn,
            &[CartKey::of(other_cart)],
            "w2",
            later,
            later,
            &secrets,
            |row, shopper| {
                again.insert(row.session_id.clone(), shopper.clone());
                Ok(None)
            },
        )
        .unwrap();
        assert_eq!(
            again[other_session].emailed_siblings[0].cart_id,
            emailed_cart.id
        );
        assert!(again[other_session].last_emailed_at.is_some());
    }
);

on_both_backends!(
    a_batch_updates_carts_in_every_state_as_single_events_would,
    |db: &TestDatabase| {
        use cartback_store::schema::carts;
        use diesel::{ExpressionMethods, QueryDsl};
        let store = open(db);
        let mut conn = store.conn().unwrap();
        let shop = tenant(&mut conn, "Shop");
        let t0 = Utc::now() - TimeDelta::hours(2);
        let mut ids = BTreeMap::new();
        for session in ["active", "abandoned", "recovered"] {
            let row = upsert_cart(&mut conn, &upsert(&shop, session, None, t0)).unwrap();
            ids.insert(session, row);
        }
        let sent = t0 + TimeDelta::minutes(30);
        diesel::update(carts::table.filter(carts::id.eq(&ids["abandoned"].id)))
            .set((
                carts::status.eq("abandoned"),
                carts::abandoned_at.eq(Some(sent.naive_utc())),
                carts::next_step.eq(1),
                carts::last_sent_at.eq(Some(sent.naive_utc())),
            ))
            .execute(&mut conn)
            .unwrap();
        diesel::update(carts::table.filter(carts::id.eq(&ids["recovered"].id)))
            .set((
                carts::status.eq("recovered"),
                carts::next_step.eq(2),
                carts::last_sent_at.eq(Some(sent.naive_utc())),
                carts::ordered_at.eq(Some(sent.naive_utc())),
                carts::next_action_at.eq(None::<chrono::NaiveDateTime>),
            ))
            .execute(&mut conn)
            .unwrap();

        let t1 = Utc::now();
        let batch: Vec<_> = ["new", "active", "abandoned", "recovered"]
            .into_iter()
            .map(|session| upsert(&shop, session, Some("s@example.com"), t1))
            .collect();
        let rows: Vec<_> = upsert_carts(&mut conn, &batch)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        for (row, session) in rows.iter().zip(["new", "active", "abandoned", "recovered"]) {
            assert_eq!(row.session_id, session);
            assert_eq!(row.status.as_str(), "active", "{session}");
            assert_eq!(row.customer_email.as_deref(), Some("s@example.com"));
            assert_eq!(row.abandoned_at, None, "{session}");
            let stored = find_cart(&mut conn, &shop.id, &row.id).unwrap().unwrap();
            assert_eq!(&stored, row, "{session}: what the batch returned is stored");
            assert!(stored.next_action_at.unwrap() > t1.naive_utc(), "{session}");
        }
        let [new, active, abandoned, recovered] = &rows[..] else {
            unreachable!()
        };
        assert_eq!(new.cycle, 0);
        assert_eq!(active.id, ids["active"].id);
        assert_eq!(active.created_at, ids["active"].created_at, "same cycle");
        assert_eq!(active.updated_at, new.updated_at, "the batch's time");
        // An abandoned cart is shopping again, in the same cycle, its emails kept.
        assert_eq!((abandoned.cycle, abandoned.next_step), (0, 1));
        assert_eq!(abandoned.created_at, ids["abandoned"].created_at);
        assert!(abandoned.last_sent_at.is_some());
        // A recovered cart starts a new cycle from its first step.
        assert_eq!((recovered.cycle, recovered.next_step), (1, 0));
        assert_eq!(recovered.last_sent_at, None);
        assert_eq!(recovered.ordered_at, None);
        assert_eq!(
            recovered.created_at, new.created_at,
            "the new cycle's start"
        );
        assert_eq!(count_carts(&mut conn, &shop.id).unwrap(), 4);
    }
);

#[test]
fn sqlite_wal_is_checkpointed_in_the_background() {
    // Writers checkpoint by themselves only past thousands of pages; a few hundred
    // pages reaching the database file mean the background thread copied them.
    let db = TestDatabase::new(Backend::Sqlite);
    let store = open(&db);
    let mut conn = store.conn().unwrap();
    let shop = tenant(&mut conn, "Shop");
    let path = db.url.trim_start_matches("sqlite://").to_owned();
    let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let before = size();
    let t0 = Utc::now();
    for round in 0..10 {
        let batch: Vec<_> = (0..200)
            .map(|n| upsert(&shop, &format!("s-{round}-{n}"), Some("x@example.com"), t0))
            .collect();
        assert!(upsert_carts(&mut conn, &batch).iter().all(Result::is_ok));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while size() < before + 200 * 1024 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        size() >= before + 200 * 1024,
        "the database file grew from {before} to {} bytes only",
        size()
    );
}

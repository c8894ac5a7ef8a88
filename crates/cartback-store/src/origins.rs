//! The browser origins a tenant lets capture carts with its publishable key,
//! kept as a JSON array of strings in `tenants.allowed_origins`. Checking that
//! each entry is a well-formed origin is the caller's job (the api does it before
//! saving); this module only reads and writes the list.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::DbConn;
use crate::error::{StoreError, StoreResult};
use crate::schema::tenants;

/// The stored text as a list. An empty or unreadable column reads as no origins,
/// which allows no browser at all (the safe reading).
pub fn parse_origins(stored: &str) -> Vec<String> {
    serde_json::from_str(stored).unwrap_or_default()
}

/// The tenant's allowed origins; `NotFound` when the tenant does not exist.
pub fn get_allowed_origins(conn: &mut DbConn, tenant_id: &str) -> StoreResult<Vec<String>> {
    let stored: Option<String> = tenants::table
        .filter(tenants::id.eq(tenant_id))
        .select(tenants::allowed_origins)
        .first(conn)
        .optional()?;
    stored
        .map(|text| parse_origins(&text))
        .ok_or(StoreError::NotFound)
}

/// Replaces the tenant's allowed origins; `NotFound` when the tenant does not exist.
pub fn set_allowed_origins(
    conn: &mut DbConn,
    tenant_id: &str,
    origins: &[String],
    now: NaiveDateTime,
) -> StoreResult<()> {
    let text = serde_json::to_string(origins)
        .map_err(|e| StoreError::Corrupt(format!("origins do not serialize: {e}")))?;
    let updated = diesel::update(tenants::table.filter(tenants::id.eq(tenant_id)))
        .set((
            tenants::allowed_origins.eq(text),
            tenants::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;
    use crate::{Backend, Store};

    fn round_trip(backend: Backend) {
        let db = TestDatabase::new(backend);
        let store = Store::open(&db.url, 2).unwrap();
        store.migrate().unwrap();
        let mut conn = store.conn().unwrap();
        let now = chrono::Utc::now().naive_utc();
        let tenant = crate::tenants::create_tenant(
            &mut conn,
            &crate::tenants::NewTenant {
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
}

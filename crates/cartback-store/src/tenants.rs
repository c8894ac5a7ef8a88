//! Tenants: one shop each, with its sender identity and recovery policy.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use cartback_domain::{Currency, RecoveryPolicy, ShopSettings, TenantStatus};

use crate::columns::{Stored, text_enum};
use crate::connection::{DbConn, write_transaction};
use crate::error::{StoreError, StoreResult};
use crate::ids::random_id;
use crate::schema::tenants;

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub from_email: String,
    pub from_name: Option<String>,
    pub recovery_url: Option<String>,
    pub policy: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Derives the tokens of recovery and unsubscribe links; never shown.
    pub link_secret: String,
    /// Design, branding and copy of the recovery emails (JSON, `{}` = built-in).
    pub experience: String,
    /// Origins allowed to capture carts from the browser (JSON array).
    pub allowed_origins: String,
    /// Where replies to recovery emails go; the sender when None.
    pub reply_to: Option<String>,
    /// ISO 4217 code of a tracked cart that names no currency.
    pub default_currency: String,
    /// Only an active tenant is served (see [`set_tenant_status`]).
    #[diesel(deserialize_as = Stored<TenantStatus>)]
    pub status: TenantStatus,
}

text_enum!(TenantStatus, "tenants.status", |text| TenantStatus::parse(
    text
)
.ok());

impl std::fmt::Debug for Tenant {
    // Everything but the link secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("from_email", &self.from_email)
            .field("recovery_url", &self.recovery_url)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Tenant {
    /// The stored policy; a tenant row always holds one that validated when written.
    pub fn recovery_policy(&self) -> StoreResult<RecoveryPolicy> {
        serde_json::from_str(&self.policy)
            .map_err(|e| StoreError::Corrupt(format!("tenant {} policy: {e}", self.id)))
    }

    /// The currency of a tracked cart that names none.
    pub fn default_currency(&self) -> Currency {
        Currency::parse(&self.default_currency).unwrap_or(Currency::USD)
    }

    /// The shop's settings, gathered from where each one lives: the row's
    /// columns, the policy's time zone and the email settings' default language
    /// (English when none was chosen).
    pub fn shop_settings(&self) -> StoreResult<ShopSettings> {
        let experience = self.experience_json()?;
        let default_locale = experience
            .get("defaultLocale")
            .and_then(serde_json::Value::as_str)
            .unwrap_or(DEFAULT_LOCALE)
            .to_owned();
        Ok(ShopSettings {
            name: self.name.clone(),
            recovery_url: self.recovery_url.clone(),
            from_email: self.from_email.clone(),
            from_name: self.from_name.clone(),
            reply_to: self.reply_to.clone(),
            time_zone: self.recovery_policy()?.time_zone,
            default_currency: self.default_currency(),
            default_locale,
        })
    }

    fn experience_json(&self) -> StoreResult<serde_json::Map<String, serde_json::Value>> {
        match serde_json::from_str(&self.experience) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            _ => Err(StoreError::Corrupt(format!(
                "tenant {} experience is not a JSON object",
                self.id
            ))),
        }
    }
}

/// The language of carts without one when the shop never chose another.
pub const DEFAULT_LOCALE: &str = "en";

/// What it takes to create a tenant.
#[derive(Debug, Clone)]
pub struct NewTenant {
    pub name: String,
    pub from_email: String,
    pub from_name: Option<String>,
    pub recovery_url: Option<String>,
    pub policy: RecoveryPolicy,
}

pub fn create_tenant(
    conn: &mut DbConn,
    new: &NewTenant,
    now: NaiveDateTime,
) -> StoreResult<Tenant> {
    let policy = serde_json::to_string(&new.policy)
        .map_err(|e| StoreError::Corrupt(format!("policy does not serialize: {e}")))?;
    let tenant = Tenant {
        id: random_id("ten_", 16),
        name: new.name.clone(),
        from_email: new.from_email.clone(),
        from_name: new.from_name.clone(),
        recovery_url: new.recovery_url.clone(),
        policy,
        created_at: now,
        updated_at: now,
        link_secret: random_id("", 43),
        experience: "{}".to_owned(),
        allowed_origins: "[]".to_owned(),
        reply_to: None,
        default_currency: Currency::USD.code().to_owned(),
        status: TenantStatus::Active,
    };
    diesel::insert_into(tenants::table)
        .values((
            tenants::id.eq(&tenant.id),
            tenants::name.eq(&tenant.name),
            tenants::from_email.eq(&tenant.from_email),
            tenants::from_name.eq(&tenant.from_name),
            tenants::recovery_url.eq(&tenant.recovery_url),
            tenants::policy.eq(&tenant.policy),
            tenants::created_at.eq(now),
            tenants::updated_at.eq(now),
            tenants::link_secret.eq(&tenant.link_secret),
            tenants::experience.eq(&tenant.experience),
            tenants::default_currency.eq(&tenant.default_currency),
        ))
        .execute(conn)?;
    Ok(tenant)
}

pub fn find_tenant(conn: &mut DbConn, tenant_id: &str) -> StoreResult<Option<Tenant>> {
    Ok(tenants::table
        .filter(tenants::id.eq(tenant_id))
        .select(Tenant::as_select())
        .first(conn)
        .optional()?)
}

/// The tenants of `ids` that exist (a batch of the worker's carts needs each once).
pub fn find_tenants(conn: &mut DbConn, ids: &[&str]) -> StoreResult<Vec<Tenant>> {
    Ok(tenants::table
        .filter(tenants::id.eq_any(ids))
        .select(Tenant::as_select())
        .load(conn)?)
}

pub fn list_tenants(conn: &mut DbConn) -> StoreResult<Vec<Tenant>> {
    Ok(tenants::table
        .order(tenants::created_at.asc())
        .select(Tenant::as_select())
        .load(conn)?)
}

/// Replaces the policy and the email settings together (either may stay as is).
pub fn set_recovery_settings(
    conn: &mut DbConn,
    tenant_id: &str,
    policy: &RecoveryPolicy,
    experience_json: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let policy = serde_json::to_string(policy)
        .map_err(|e| StoreError::Corrupt(format!("policy does not serialize: {e}")))?;
    let changed = diesel::update(tenants::table.filter(tenants::id.eq(tenant_id)))
        .set((
            tenants::policy.eq(policy),
            tenants::experience.eq(experience_json),
            tenants::updated_at.eq(now),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Works out the next policy and email settings from the stored tenant and
/// stores them, in one write transaction: a change merged into the settings
/// (a `PATCH`) never loses one made meanwhile. `edit` refusing stores nothing.
pub fn edit_recovery_settings<E>(
    conn: &mut DbConn,
    tenant_id: &str,
    now: NaiveDateTime,
    edit: impl FnOnce(&Tenant) -> Result<(RecoveryPolicy, String), E>,
) -> StoreResult<Result<(RecoveryPolicy, String), E>> {
    write_transaction(conn, |conn| {
        let tenant = find_tenant(conn, tenant_id)?.ok_or(StoreError::NotFound)?;
        let (policy, experience_json) = match edit(&tenant) {
            Ok(next) => next,
            Err(refused) => return Ok(Err(refused)),
        };
        set_recovery_settings(conn, tenant_id, &policy, &experience_json, now)?;
        Ok(Ok((policy, experience_json)))
    })
}

/// Replaces the email settings (design, branding, copy) alone.
pub fn set_experience(
    conn: &mut DbConn,
    tenant_id: &str,
    experience_json: &str,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let changed = diesel::update(tenants::table.filter(tenants::id.eq(tenant_id)))
        .set((
            tenants::experience.eq(experience_json),
            tenants::updated_at.eq(now),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub fn set_policy(
    conn: &mut DbConn,
    tenant_id: &str,
    policy: &RecoveryPolicy,
    now: NaiveDateTime,
) -> StoreResult<()> {
    let policy = serde_json::to_string(policy)
        .map_err(|e| StoreError::Corrupt(format!("policy does not serialize: {e}")))?;
    let changed = diesel::update(tenants::table.filter(tenants::id.eq(tenant_id)))
        .set((tenants::policy.eq(policy), tenants::updated_at.eq(now)))
        .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Changes the shop's settings: reads them as they are, lets `edit` compute the
/// new ones (or refuse), and writes each value back where it lives, all in one
/// write transaction so a concurrent change of the recovery policy or the
/// email settings is never lost. Returns what `edit` returned.
pub fn update_shop_settings<E>(
    conn: &mut DbConn,
    tenant_id: &str,
    now: NaiveDateTime,
    edit: impl FnOnce(&ShopSettings) -> Result<ShopSettings, E>,
) -> StoreResult<Result<ShopSettings, E>> {
    write_transaction(conn, |conn| {
        let tenant = find_tenant(conn, tenant_id)?.ok_or(StoreError::NotFound)?;
        let current = tenant.shop_settings()?;
        let next = match edit(&current) {
            Ok(next) => next,
            Err(refused) => return Ok(Err(refused)),
        };
        let mut policy = tenant.recovery_policy()?;
        policy.time_zone = next.time_zone.clone();
        let policy = serde_json::to_string(&policy)
            .map_err(|e| StoreError::Corrupt(format!("policy does not serialize: {e}")))?;
        let mut experience = tenant.experience_json()?;
        // English is the built-in default: storing it would only add a key.
        if next.default_locale == DEFAULT_LOCALE {
            experience.remove("defaultLocale");
        } else {
            experience.insert(
                "defaultLocale".to_owned(),
                serde_json::Value::String(next.default_locale.clone()),
            );
        }
        let experience = serde_json::Value::Object(experience).to_string();
        diesel::update(tenants::table.filter(tenants::id.eq(tenant_id)))
            .set((
                tenants::name.eq(&next.name),
                tenants::recovery_url.eq(&next.recovery_url),
                tenants::from_email.eq(&next.from_email),
                tenants::from_name.eq(&next.from_name),
                tenants::reply_to.eq(&next.reply_to),
                tenants::default_currency.eq(next.default_currency.code()),
                tenants::policy.eq(policy),
                tenants::experience.eq(experience),
                tenants::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(Ok(next))
    })
}

/// Sets the tenant's status. Returns the status it had, or `NotFound`.
///
/// Carts of a tenant that is not served are parked by the worker (no next
/// action, nothing sent); making the tenant active again wakes its open carts
/// at once so the worker decides afresh what each is due, with the usual rules
/// (an email whose time passed goes out now; a cart past its maximum age
/// expires). The api refuses the tenant's keys from the next lookup on (its
/// key cache keeps a resolved key for a few seconds).
pub fn set_tenant_status(
    conn: &mut DbConn,
    tenant_id: &str,
    status: TenantStatus,
    now: NaiveDateTime,
) -> StoreResult<TenantStatus> {
    write_transaction(conn, |conn| {
        let before = find_tenant(conn, tenant_id)?.ok_or(StoreError::NotFound)?;
        diesel::update(tenants::table.filter(tenants::id.eq(tenant_id)))
            .set((
                tenants::status.eq(Stored(status)),
                tenants::updated_at.eq(now),
            ))
            .execute(conn)?;
        if status.is_served() && !before.status.is_served() {
            crate::carts::wake_open_carts(conn, tenant_id, now)?;
            crate::webhooks::wake_parked_deliveries(conn, tenant_id, now)?;
        }
        Ok(before.status)
    })
}

/// Those of `ids` whose tenant is not served (suspended or closed): one
/// indexed read per claimed batch.
pub(crate) fn unserved_among(
    conn: &mut DbConn,
    ids: &[&str],
) -> StoreResult<std::collections::BTreeSet<String>> {
    let active = TenantStatus::Active.as_str();
    Ok(tenants::table
        .filter(tenants::id.eq_any(ids))
        .filter(tenants::status.ne(active))
        .select(tenants::id)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

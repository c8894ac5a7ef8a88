//! Carts: upserted by the api on every CART_UPDATE, claimed by the worker through
//! the `next_action_at` index with a lease (`locked_by`, and `next_action_at` moved to
//! the lease expiry so a crashed worker's carts simply become due again).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};

use std::sync::LazyLock;

use cartback_domain::{
    Attributes, CartFacts, CartItem, CartStatus, SendContext, UpdateOutcome, on_cart_update,
};

use crate::columns::{Json, JsonOrNull, Stored};
use crate::connection::{DbConn, write_transaction};
use crate::error::{StoreError, StoreResult};
use crate::events::{CartEventKind, NewCartEvent, record_events};
use crate::experiments::CartAssignment;
use crate::ids::time_ordered_id;
use crate::schema::carts;
use crate::sql::{dialect, numbered_rows};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = carts)]
pub struct CartRow {
    pub id: String,
    pub tenant_id: String,
    pub session_id: String,
    #[diesel(deserialize_as = Stored<CartStatus>)]
    pub status: CartStatus,
    #[diesel(deserialize_as = Json<Vec<CartItem>>)]
    pub items: Vec<CartItem>,
    pub item_count: i32,
    pub total_minor: i64,
    pub currency: String,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub cycle: i32,
    pub next_step: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_activity_at: NaiveDateTime,
    pub abandoned_at: Option<NaiveDateTime>,
    pub ordered_at: Option<NaiveDateTime>,
    pub deleted_at: Option<NaiveDateTime>,
    pub unsubscribed_at: Option<NaiveDateTime>,
    pub next_action_at: Option<NaiveDateTime>,
    pub locked_by: Option<String>,
    /// BCP 47 tag the storefront gave (`nl-NL`), for the email's language and money.
    pub locale: Option<String>,
    /// 1 when the shopper agreed to recovery emails, 0 when they refused, None when
    /// the storefront did not say.
    pub consent: Option<i32>,
    /// The latest recovery email of the current cycle.
    pub last_sent_at: Option<NaiveDateTime>,
    /// The shop's own id, when it upserts through `PUT /api/v1/carts`.
    pub external_id: Option<String>,
    /// Typed custom attributes.
    #[diesel(deserialize_as = Json<Attributes>)]
    pub attributes: Attributes,
    /// When the personal data was erased (GDPR).
    pub erased_at: Option<NaiveDateTime>,
    /// When the worker quarantined the cart (its processing failed); None once
    /// the shop updates it again.
    pub quarantined_at: Option<NaiveDateTime>,
    /// Raised by every write that changes what the merchant API shows of the
    /// cart (its ETag); the worker's lease alone does not raise it.
    pub version: i64,
    /// The experiment the cart was assigned in (at abandonment), if any.
    pub experiment_id: Option<String>,
    /// Its group there, recorded with the assignment.
    #[diesel(deserialize_as = JsonOrNull<CartAssignment>)]
    pub experiment: Option<CartAssignment>,
    /// The subtotal the storefront gave beside its total (litecommerce's
    /// `subtotalInCents`), in minor units; None when it gave none.
    pub subtotal_minor: Option<i64>,
}

impl CartRow {
    /// What the cart row itself tells the decisions beyond [`CartRow::facts`]: the
    /// shopper's consent and the cart's latest email. Facts about the shopper's
    /// other carts and the suppression list come from [`crate::sends::start_sends`].
    pub fn send_context(&self) -> SendContext {
        SendContext {
            consent: self.consent.map(|c| c != 0),
            cart_last_sent_at: self.last_sent_at.map(|t| t.and_utc()),
            held_out: self.experiment.as_ref().is_some_and(|a| a.held_out),
            ..SendContext::default()
        }
    }

    /// What the pure decision functions need to know about this cart.
    pub fn facts(&self) -> StoreResult<CartFacts> {
        Ok(CartFacts {
            status: self.status,
            item_count: u32::try_from(self.item_count).unwrap_or(0),
            total_minor: self.total_minor,
            has_email: self.customer_email.is_some(),
            unsubscribed: self.unsubscribed_at.is_some(),
            deleted: self.deleted_at.is_some(),
            created_at: self.created_at.and_utc(),
            last_activity_at: self.last_activity_at.and_utc(),
            next_step: u32::try_from(self.next_step).unwrap_or(0),
        })
    }
}

/// A validated CART_UPDATE, ready to store.
#[derive(Debug, Clone)]
pub struct CartUpsert {
    pub tenant_id: String,
    pub session_id: String,
    pub items: Vec<CartItem>,
    pub total_minor: i64,
    /// The storefront's own subtotal, kept as given; None when it sent none.
    pub subtotal_minor: Option<i64>,
    pub currency: String,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    /// BCP 47 tag, already validated; None keeps what the cart had.
    pub locale: Option<String>,
    /// The shopper's answer to the storefront's consent question; None keeps it.
    pub consent: Option<bool>,
    pub now: DateTime<Utc>,
    /// When the worker should first look at the cart (its abandonment time).
    pub next_action_at: DateTime<Utc>,
}

const UPSERT_INSERT: &str = "\
INSERT INTO carts (id, tenant_id, session_id, status, items, item_count, total_minor, currency, \
    customer_email, customer_name, cycle, next_step, created_at, updated_at, last_activity_at, next_action_at, \
    locale, consent, subtotal_minor) ";

/// What every tracked event sets on an existing cart: its contents, what the
/// shopper told (an omitted email, name, locale or consent keeps the stored one),
/// and its activity; a cart a worker holds keeps its lease time.
macro_rules! cart_event_columns {
    () => {
        "items = excluded.items, \
         item_count = excluded.item_count, \
         total_minor = excluded.total_minor, \
         subtotal_minor = excluded.subtotal_minor, \
         currency = excluded.currency, \
         customer_email = COALESCE(excluded.customer_email, carts.customer_email), \
         customer_name = COALESCE(excluded.customer_name, carts.customer_name), \
         locale = COALESCE(excluded.locale, carts.locale), \
         consent = COALESCE(excluded.consent, carts.consent), \
         abandoned_at = NULL, \
         quarantined_at = NULL, \
         version = carts.version + 1, \
         updated_at = excluded.updated_at, \
         last_activity_at = excluded.last_activity_at, \
         next_action_at = CASE WHEN carts.locked_by IS NOT NULL THEN carts.next_action_at \
             ELSE excluded.next_action_at END"
    };
}

/// The update of a cart whose status a tracked event leaves alone and that
/// starts no new cycle (`active`: the shopper is still shopping, the usual
/// case): it assigns only the columns such an update changes. SQLite rewrites
/// the entries of every index over an assigned column even when the value stays
/// the same, so leaving `status` and `created_at` out spares two index rewrites
/// per event. A cart in any other state is not updated (and not returned) by it
/// and goes through [`UPSERT_CONFLICT`].
static UPSERT_CONFLICT_ACTIVE: LazyLock<String> = LazyLock::new(|| {
    let unchanged = sql_statuses(|status| {
        on_cart_update(status)
            == UpdateOutcome {
                status,
                new_cycle: false,
            }
    });
    format!(
        " ON CONFLICT (tenant_id, session_id) DO UPDATE SET {} WHERE carts.status IN ({unchanged}) RETURNING *",
        cart_event_columns!()
    )
});

/// The update of a cart in any state, as the domain's [`on_cart_update`] has
/// it: an abandoned cart becomes active again, a finished one (recovered,
/// converted, expired) starts a new shopping cycle. The SQL is written from
/// that function once per process, so the rule lives in one place; a storage
/// test runs every status through both statements on both backends.
static UPSERT_CONFLICT: LazyLock<String> = LazyLock::new(|| {
    let status = CartStatus::ALL
        .iter()
        .map(|&from| {
            format!(
                "WHEN '{}' THEN '{}' ",
                from.as_str(),
                on_cart_update(from).status.as_str()
            )
        })
        .collect::<String>();
    let new_cycle = format!(
        "carts.status IN ({})",
        sql_statuses(|status| on_cart_update(status).new_cycle)
    );
    format!(
        " ON CONFLICT (tenant_id, session_id) DO UPDATE SET {}, \
        status = CASE carts.status {status}ELSE carts.status END, \
        last_sent_at = CASE WHEN {new_cycle} THEN NULL ELSE carts.last_sent_at END, \
        cycle = CASE WHEN {new_cycle} THEN carts.cycle + 1 ELSE carts.cycle END, \
        next_step = CASE WHEN {new_cycle} THEN 0 ELSE carts.next_step END, \
        created_at = CASE WHEN {new_cycle} THEN excluded.created_at ELSE carts.created_at END, \
        ordered_at = CASE WHEN {new_cycle} THEN NULL ELSE carts.ordered_at END \
        RETURNING *",
        cart_event_columns!()
    )
});

/// The statuses for which `keep` holds, as a list of SQL literals (`NULL`
/// when none, which matches no row).
fn sql_statuses(keep: impl Fn(CartStatus) -> bool) -> String {
    let listed: Vec<String> = CartStatus::ALL
        .into_iter()
        .filter(|&status| keep(status))
        .map(|status| format!("'{}'", status.as_str()))
        .collect();
    if listed.is_empty() {
        "NULL".to_owned()
    } else {
        listed.join(", ")
    }
}

/// Inserts or updates the cart of `(tenant, session)`. A terminal cart
/// (recovered, converted, expired) starts a new shopping cycle; a cart a worker holds
/// keeps its lease (the worker re-reads the cart when it lets go).
pub fn upsert_cart(conn: &mut DbConn, cart: &CartUpsert) -> StoreResult<CartRow> {
    let mut rows = upsert_rows(conn, std::slice::from_ref(cart), &UPSERT_CONFLICT)?;
    rows.pop()
        .ok_or_else(|| StoreError::Corrupt("the upsert returned no row".into()))
}

/// One statement for many carts of distinct `(tenant, session)`: the caller merges
/// repeats first (a statement may not touch a row twice).
fn upsert_rows(
    conn: &mut DbConn,
    carts: &[CartUpsert],
    on_conflict: &'static str,
) -> StoreResult<Vec<CartRow>> {
    let (dialect, timestamp) = match conn {
        DbConn::Sqlite(_) => (&SQLITE_UPSERT, SQLITE_TIMESTAMP),
        DbConn::Postgres(_) => (&POSTGRES_UPSERT, POSTGRES_TIMESTAMP),
    };
    let statement = UpsertFromJson {
        rows: rows_json(carts, timestamp)?,
        dialect,
        on_conflict,
    };
    Ok(match conn {
        DbConn::Sqlite(sqlite) => statement.load::<CartRow>(sqlite)?,
        DbConn::Postgres(pg) => statement.load::<CartRow>(pg)?,
    })
}

/// The batch upsert with every row in one JSON array bound to one parameter. Its
/// text is the same for every batch size, so each connection prepares it once and
/// keeps it (diesel's statement cache; on PostgreSQL a named prepared statement),
/// where a VALUES list would be parsed and planned anew for every batch. The rows
/// come back with the table's columns in order.
struct UpsertFromJson {
    rows: String,
    dialect: &'static JsonRows,
    on_conflict: &'static str,
}

/// How a backend turns the bound array of [`rows_json`] into rows to insert: the
/// text before the parameter and the text after it; `r` is one row's array.
struct JsonRows {
    select: &'static str,
    from: &'static str,
}

/// `jsonb_each` hands each row over as SQLite's binary JSON, which `->>` reads
/// in place; `json_each` handed it over as text that every `->>` parsed again
/// (about 7 % of the api's CPU under ingest load). (`WHERE true` tells
/// SQLite's parser that the `ON CONFLICT` after it belongs to the INSERT.)
const SQLITE_UPSERT: JsonRows = JsonRows {
    select: "SELECT r->>0, r->>1, r->>2, 'active', r->>3, r->>4, r->>5, r->>6, r->>7, r->>8, \
        0, 0, r->>9, r->>9, r->>9, r->>10, r->>11, r->>12, r->>13 \
        FROM (SELECT value AS r FROM jsonb_each(",
    from: ")) WHERE true",
};

/// The same rows parsed once into `jsonb`, with the casts PostgreSQL's types need.
const POSTGRES_UPSERT: JsonRows = JsonRows {
    select: "SELECT r->>0, r->>1, r->>2, 'active', r->>3, (r->>4)::int, (r->>5)::bigint, \
        r->>6, r->>7, r->>8, 0, 0, (r->>9)::timestamp, (r->>9)::timestamp, (r->>9)::timestamp, \
        (r->>10)::timestamp, r->>11, (r->>12)::int, (r->>13)::bigint \
        FROM jsonb_array_elements(",
    from: "::jsonb) AS r",
};

/// Timestamps as diesel binds them on SQLite (so they compare with every other
/// stored timestamp), and cut at PostgreSQL's microseconds as its binary binding does.
const SQLITE_TIMESTAMP: &str = "%F %T%.f";
const POSTGRES_TIMESTAMP: &str = "%F %T%.6f";

impl diesel::query_builder::QueryId for UpsertFromJson {
    type QueryId = ();
    // Cached by its SQL text: one entry per conflict clause.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for UpsertFromJson {
    type SqlType = <carts::table as diesel::query_builder::AsQuery>::SqlType;
}

impl RunQueryDsl<diesel::SqliteConnection> for UpsertFromJson {}
impl RunQueryDsl<diesel::PgConnection> for UpsertFromJson {}

impl<DB> diesel::query_builder::QueryFragment<DB> for UpsertFromJson
where
    DB: diesel::backend::Backend + diesel::sql_types::HasSqlType<Text>,
    String: diesel::serialize::ToSql<Text, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        out.push_sql(UPSERT_INSERT);
        out.push_sql(self.dialect.select);
        out.push_bind_param::<Text, _>(&self.rows)?;
        out.push_sql(self.dialect.from);
        out.push_sql(self.on_conflict);
        Ok(())
    }
}

/// The bound rows: per cart an array of id, tenant, session, items (JSON text),
/// item count, total, currency, email, name, now, next action, locale, consent,
/// subtotal,
/// with timestamps in the backend's `timestamp` format.
fn rows_json(carts: &[CartUpsert], timestamp: &str) -> StoreResult<String> {
    let rows = carts
        .iter()
        .map(|cart| {
            let items = serde_json::to_string(&cart.items)?;
            Ok((
                time_ordered_id("cart_", 20),
                cart.tenant_id.as_str(),
                cart.session_id.as_str(),
                items,
                i32::try_from(cart.items.len()).unwrap_or(i32::MAX),
                cart.total_minor,
                cart.currency.as_str(),
                cart.customer_email.as_deref(),
                cart.customer_name.as_deref(),
                cart.now.naive_utc().format(timestamp).to_string(),
                clamp_schedule(cart.next_action_at)
                    .naive_utc()
                    .format(timestamp)
                    .to_string(),
                cart.locale.as_deref(),
                cart.consent.map(i32::from),
                cart.subtotal_minor,
            ))
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()
        .and_then(|rows| serde_json::to_string(&rows));
    rows.map_err(|e| StoreError::Corrupt(format!("carts do not serialize: {e}")))
}

/// Folds events for one `(tenant, session)` in arrival order into the one write
/// that has the same effect as applying them one after another: the later event's
/// cart wins, and an email, name, locale or consent given earlier is kept when a
/// later one omits it.
fn merge(earlier: &mut CartUpsert, later: &CartUpsert) {
    let email = later
        .customer_email
        .clone()
        .or_else(|| earlier.customer_email.take());
    let name = later
        .customer_name
        .clone()
        .or_else(|| earlier.customer_name.take());
    let locale = later.locale.clone().or_else(|| earlier.locale.take());
    let consent = later.consent.or(earlier.consent);
    *earlier = later.clone();
    earlier.customer_email = email;
    earlier.customer_name = name;
    earlier.locale = locale;
    earlier.consent = consent;
}

/// Upserts many carts in one transaction and one statement (group commit): the
/// result for each input, in input order. Events for the same session are merged
/// (the later wins) and get the same row. If the statement fails, every distinct
/// cart is retried on its own so one bad row cannot fail its batch-mates.
pub fn upsert_carts(conn: &mut DbConn, batch: &[CartUpsert]) -> Vec<StoreResult<CartRow>> {
    use std::collections::BTreeMap;
    // Sorted by key: concurrent batches lock rows in one order, so never deadlock.
    let mut merged: BTreeMap<(&str, &str), CartUpsert> = BTreeMap::new();
    for cart in batch {
        match merged.get_mut(&(cart.tenant_id.as_str(), cart.session_id.as_str())) {
            Some(earlier) => merge(earlier, cart),
            None => {
                merged.insert(
                    (cart.tenant_id.as_str(), cart.session_id.as_str()),
                    cart.clone(),
                );
            }
        }
    }
    let distinct: Vec<CartUpsert> = merged.into_values().collect();
    // Each statement is atomic on its own: no BEGIN/COMMIT round trips, and on
    // SQLite no statement journal. An INSERT takes SQLite's write lock before it
    // reads, so it waits on busy_timeout like BEGIN IMMEDIATE would. New and
    // active carts are written by the first statement; the few in another state
    // (abandoned, finished) by a second one that may change their status.
    let mut by_key: BTreeMap<(String, String), StoreResult<CartRow>> = BTreeMap::new();
    let mut rest = distinct;
    for on_conflict in [&*UPSERT_CONFLICT_ACTIVE, &*UPSERT_CONFLICT] {
        if rest.is_empty() {
            break;
        }
        match upsert_rows(conn, &rest, on_conflict) {
            Ok(rows) => {
                for row in rows {
                    by_key.insert((row.tenant_id.clone(), row.session_id.clone()), Ok(row));
                }
                rest.retain(|cart| {
                    !by_key.contains_key(&(cart.tenant_id.clone(), cart.session_id.clone()))
                });
            }
            // A lost connection fails every cart alike: retrying each alone on
            // it would only repeat the failure once per cart.
            Err(error) if error.is_unavailable() => {
                let message = error.to_string();
                for cart in rest.drain(..) {
                    by_key.insert(
                        (cart.tenant_id.clone(), cart.session_id.clone()),
                        Err(StoreError::Unavailable(message.clone())),
                    );
                }
            }
            Err(error) => {
                tracing::warn!(%error, carts = rest.len(), "batch upsert failed; retrying each cart alone");
                for cart in rest.drain(..) {
                    let result = upsert_cart(conn, &cart);
                    by_key.insert((cart.tenant_id.clone(), cart.session_id.clone()), result);
                }
            }
        }
    }
    batch
        .iter()
        .map(
            |cart| match by_key.get(&(cart.tenant_id.clone(), cart.session_id.clone())) {
                Some(Ok(row)) => Ok(row.clone()),
                // Kept apart from a refusal, so the caller can retry or answer 503.
                Some(Err(error)) if error.is_unavailable() => {
                    Err(StoreError::Unavailable(error.to_string()))
                }
                Some(Err(error)) => Err(StoreError::Rejected(error.to_string())),
                None => Err(StoreError::Corrupt(
                    "the upsert returned no row for a cart".into(),
                )),
            },
        )
        .collect()
}

pub fn find_cart(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
) -> StoreResult<Option<CartRow>> {
    Ok(carts::table
        .filter(carts::tenant_id.eq(tenant_id))
        .filter(carts::id.eq(cart_id))
        .select(CartRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_cart_by_session(
    conn: &mut DbConn,
    tenant_id: &str,
    session_id: &str,
) -> StoreResult<Option<CartRow>> {
    Ok(carts::table
        .filter(carts::tenant_id.eq(tenant_id))
        .filter(carts::session_id.eq(session_id))
        .select(CartRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn count_carts(conn: &mut DbConn, tenant_id: &str) -> StoreResult<i64> {
    Ok(carts::table
        .filter(carts::tenant_id.eq(tenant_id))
        .count()
        .get_result(conn)?)
}

const CLAIM_SQL: &str = "\
UPDATE carts SET locked_by = $1, next_action_at = $2 \
WHERE id IN (SELECT id FROM carts WHERE next_action_at <= $3 ORDER BY next_action_at LIMIT $4 {LOCK}) \
RETURNING tenant_id, id";

#[derive(diesel::QueryableByName)]
struct ClaimedKey {
    #[diesel(sql_type = Text)]
    tenant_id: String,
    #[diesel(sql_type = Text)]
    id: String,
}

/// Takes a lease on up to `limit` carts whose `next_action_at` has come, for
/// `worker` until `lease_until`. Short and self-contained: no I/O happens inside.
///
/// A claimed row the store cannot read (a corrupt status, items or attributes)
/// must not fail the batch, or one tenant's bad row would stop every tenant's
/// emails on every poll: it is quarantined here, with the reason in its
/// history, and left out.
pub fn claim_due_carts(
    conn: &mut DbConn,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<CartRow>> {
    let lock = match conn {
        // Concurrent workers skip each other's rows instead of queueing on them.
        DbConn::Postgres(_) => "FOR UPDATE SKIP LOCKED",
        // SQLite has one writer at a time: the statement itself is the lock.
        DbConn::Sqlite(_) => "",
    };
    let sql = dialect(conn, &CLAIM_SQL.replace("{LOCK}", lock));
    let keys = diesel::sql_query(sql)
        .bind::<Text, _>(worker)
        .bind::<Timestamp, _>(lease_until.naive_utc())
        .bind::<Timestamp, _>(now.naive_utc())
        .bind::<BigInt, _>(limit)
        .load::<ClaimedKey>(conn)?;
    let keys = park_unserved(conn, keys, worker)?;
    let mut rows = match read_claimed(conn, &keys) {
        Ok(rows) => rows,
        // One query reads the whole batch; only when some row in it cannot be
        // read does each row get its own, so the bad one is found.
        Err(StoreError::Corrupt(_)) => {
            let mut rows = Vec::with_capacity(keys.len());
            for key in &keys {
                match find_cart(conn, &key.tenant_id, &key.id) {
                    Ok(Some(row)) => rows.push(row),
                    Ok(None) => {}
                    Err(StoreError::Corrupt(reason)) => {
                        quarantine_unreadable(conn, &key.tenant_id, &key.id, &reason, now)?;
                    }
                    Err(error) => return Err(error),
                }
            }
            rows
        }
        Err(error) => return Err(error),
    };
    // RETURNING order is unspecified; oldest due first.
    rows.sort_by_key(|row| row.last_activity_at);
    Ok(rows)
}

/// Lets go of the claimed carts whose tenant is suspended or closed, with no
/// next action: the worker sends them nothing and they cost no claim until
/// [`wake_open_carts`] runs when the tenant is resumed. Returns the others.
fn park_unserved(
    conn: &mut DbConn,
    keys: Vec<ClaimedKey>,
    worker: &str,
) -> StoreResult<Vec<ClaimedKey>> {
    if keys.is_empty() {
        return Ok(keys);
    }
    let tenant_ids: Vec<&str> = keys.iter().map(|k| k.tenant_id.as_str()).collect();
    let unserved = crate::tenants::unserved_among(conn, &tenant_ids)?;
    if unserved.is_empty() {
        return Ok(keys);
    }
    let (parked, kept): (Vec<ClaimedKey>, Vec<ClaimedKey>) = keys
        .into_iter()
        .partition(|k| unserved.contains(&k.tenant_id));
    for tenant_id in &unserved {
        let ids: Vec<&str> = parked
            .iter()
            .filter(|k| &k.tenant_id == tenant_id)
            .map(|k| k.id.as_str())
            .collect();
        diesel::update(
            carts::table
                .filter(carts::tenant_id.eq(tenant_id))
                .filter(carts::id.eq_any(&ids))
                .filter(carts::locked_by.eq(worker)),
        )
        .set((
            carts::next_action_at.eq(None::<NaiveDateTime>),
            carts::locked_by.eq(None::<String>),
            carts::version.eq(carts::version + 1),
        ))
        .execute(conn)?;
    }
    tracing::info!(
        carts = parked.len(),
        "carts of suspended or closed tenants parked until their tenant is resumed"
    );
    Ok(kept)
}

/// Makes every open cart of the tenant that has no next action due now, so
/// the worker decides afresh what each needs (used when a suspended or closed
/// tenant is resumed: its carts were parked). Carts a worker holds, and
/// deleted, erased or quarantined ones, are left alone.
pub fn wake_open_carts(
    conn: &mut DbConn,
    tenant_id: &str,
    now: NaiveDateTime,
) -> StoreResult<usize> {
    let open = [CartStatus::Active.as_str(), CartStatus::Abandoned.as_str()];
    Ok(diesel::update(
        carts::table
            .filter(carts::tenant_id.eq(tenant_id))
            .filter(carts::status.eq_any(open))
            .filter(carts::next_action_at.is_null())
            .filter(carts::locked_by.is_null())
            .filter(carts::deleted_at.is_null())
            .filter(carts::erased_at.is_null())
            .filter(carts::quarantined_at.is_null()),
    )
    .set((
        carts::next_action_at.eq(Some(now)),
        carts::version.eq(carts::version + 1),
    ))
    .execute(conn)?)
}

/// The claimed carts in one query (a cart erased and purged since the claim is
/// simply absent).
fn read_claimed(conn: &mut DbConn, keys: &[ClaimedKey]) -> StoreResult<Vec<CartRow>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut tenants: Vec<&str> = keys.iter().map(|k| k.tenant_id.as_str()).collect();
    tenants.sort_unstable();
    tenants.dedup();
    let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
    let asked: std::collections::HashSet<(&str, &str)> = keys
        .iter()
        .map(|k| (k.tenant_id.as_str(), k.id.as_str()))
        .collect();
    let rows: Vec<CartRow> = carts::table
        .filter(carts::tenant_id.eq_any(&tenants))
        .filter(carts::id.eq_any(&ids))
        .select(CartRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|row| asked.contains(&(row.tenant_id.as_str(), row.id.as_str())))
        .collect())
}

/// Keeps a cart whose row cannot be read out of every claim until the shop's
/// next update of it, and says why in its history.
fn quarantine_unreadable(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    tracing::error!(cart = %cart_id, tenant = %tenant_id, %reason, "cart quarantined: its stored row is unreadable");
    diesel::update(
        carts::table
            .filter(carts::tenant_id.eq(tenant_id))
            .filter(carts::id.eq(cart_id)),
    )
    .set((
        carts::quarantined_at.eq(Some(now.naive_utc())),
        carts::next_action_at.eq(None::<NaiveDateTime>),
        carts::locked_by.eq(None::<String>),
    ))
    .execute(conn)?;
    record_events(
        conn,
        &[NewCartEvent {
            tenant_id: tenant_id.to_owned(),
            cart_id: cart_id.to_owned(),
            kind: CartEventKind::Quarantined,
            step: None,
            detail: Some(
                format!("cart row unreadable: {reason}")
                    .chars()
                    .take(500)
                    .collect(),
            ),
        }],
        now,
    )?;
    Ok(())
}

/// A cart named by its tenant and id, as the worker refers to the carts it holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CartKey {
    pub tenant_id: String,
    pub cart_id: String,
}

impl CartKey {
    pub fn of(row: &CartRow) -> CartKey {
        CartKey {
            tenant_id: row.tenant_id.clone(),
            cart_id: row.id.clone(),
        }
    }
}

/// Reads every cart of `keys` that `worker` still holds, in id order, locking the
/// rows on PostgreSQL for the rest of the transaction (always in the same order, so
/// two transactions cannot deadlock). Carts whose lease was lost are left out.
pub fn lock_held_carts(
    conn: &mut DbConn,
    keys: &[CartKey],
    worker: &str,
) -> StoreResult<Vec<CartRow>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut tenants: Vec<&str> = keys.iter().map(|k| k.tenant_id.as_str()).collect();
    tenants.sort_unstable();
    tenants.dedup();
    let ids: Vec<&str> = keys.iter().map(|k| k.cart_id.as_str()).collect();
    macro_rules! query {
        () => {
            carts::table
                .filter(carts::tenant_id.eq_any(&tenants))
                .filter(carts::id.eq_any(&ids))
                .filter(carts::locked_by.eq(worker))
                .order(carts::id.asc())
                .select(CartRow::as_select())
        };
    }
    let mut rows = match conn {
        DbConn::Postgres(pg) => query!().for_update().load(pg)?,
        DbConn::Sqlite(sqlite) => query!().load(sqlite)?,
    };
    // A tenant filter over a list can admit a cart of another listed tenant with a
    // listed id only if ids collided across tenants; keep exactly the pairs asked for.
    let asked: std::collections::HashSet<(&str, &str)> = keys
        .iter()
        .map(|k| (k.tenant_id.as_str(), k.cart_id.as_str()))
        .collect();
    rows.retain(|row| asked.contains(&(row.tenant_id.as_str(), row.id.as_str())));
    Ok(rows)
}

/// Lets go of many held carts inside the caller's write transaction, each written
/// as `plan` decides from the cart as it is now. Returns how many were still held
/// (the others' leases were lost and nothing is written for them).
pub fn release_carts(
    conn: &mut DbConn,
    keys: &[CartKey],
    worker: &str,
    now: DateTime<Utc>,
    mut plan: impl FnMut(&CartRow) -> StoreResult<CartRelease>,
) -> StoreResult<usize> {
    let held = lock_held_carts(conn, keys, worker)?;
    let mut releases = Vec::with_capacity(held.len());
    for cart in held {
        let release = if cart.erased_at.is_some() {
            // Erased while held: the erase decided its state; the worker only
            // lets go (the steps it attempted still count).
            let planned = plan(&cart).ok();
            CartRelease {
                status: cart.status,
                next_step: planned
                    .map_or(u32::try_from(cart.next_step).unwrap_or(0), |p| p.next_step),
                next_action_at: None,
                quarantine: None,
            }
        } else {
            plan(&cart)?
        };
        releases.push((cart, release));
    }
    apply_releases(conn, &releases, worker, now)?;
    // The cart's history notes the transitions the releases made, and why a
    // cart was quarantined.
    let mut transitions: Vec<NewCartEvent> = releases
        .iter()
        .filter_map(|(cart, release)| {
            let reason = release.quarantine.as_ref()?;
            Some(NewCartEvent {
                tenant_id: cart.tenant_id.clone(),
                cart_id: cart.id.clone(),
                kind: CartEventKind::Quarantined,
                step: i32::try_from(release.next_step).ok(),
                detail: Some(reason.chars().take(500).collect()),
            })
        })
        .collect();
    transitions.extend(releases.iter().filter_map(|(cart, release)| {
        let kind = match release.status {
            CartStatus::Abandoned => CartEventKind::Abandoned,
            CartStatus::Expired => CartEventKind::Expired,
            _ => return None,
        };
        (cart.status != release.status).then(|| NewCartEvent {
            tenant_id: cart.tenant_id.clone(),
            cart_id: cart.id.clone(),
            kind,
            step: None,
            detail: None,
        })
    }));
    record_events(conn, &transitions, now)?;
    Ok(releases.len())
}

/// How the worker leaves a cart when it lets go of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartRelease {
    pub status: CartStatus,
    pub next_step: u32,
    pub next_action_at: Option<DateTime<Utc>>,
    /// Set when the worker could not process the cart (an evaluation error or
    /// a panic): the reason, for the cart's history. The cart is then kept out
    /// of claims (`quarantined_at` set, `next_action_at` forced to NULL) until
    /// the shop's next update of it.
    pub quarantine: Option<String>,
}

/// Lets go of a held cart, writing what `plan` decides from the cart as it is now
/// (the api may have changed it while the worker held it). Returns false when the
/// lease had been lost, in which case nothing is written.
pub fn release_cart(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
    worker: &str,
    now: DateTime<Utc>,
    plan: impl FnOnce(&CartRow) -> StoreResult<CartRelease>,
) -> StoreResult<bool> {
    let key = CartKey {
        tenant_id: tenant_id.to_owned(),
        cart_id: cart_id.to_owned(),
    };
    let mut plan = Some(plan);
    let held = write_transaction(conn, |conn| {
        release_carts(conn, &[key], worker, now, |cart| match plan.take() {
            Some(plan) => plan(cart),
            None => Err(StoreError::Corrupt("one cart planned twice".into())),
        })
    })?;
    Ok(held == 1)
}

const RELEASE_PREFIX: &str = "WITH v (tenant_id, id, status, abandoned_at, next_step, next_action_at, quarantined_at) AS (VALUES ";
const RELEASE_ROW: &str = "($1, $2, $3, $4, $5, $6, $7)";
const RELEASE_PARAMS: usize = 7;
/// `{worker}` is the parameter number after the rows.
const RELEASE_UPDATE: &str = ") UPDATE carts SET status = v.status, abandoned_at = v.abandoned_at, \
    next_step = v.next_step, next_action_at = v.next_action_at, \
    quarantined_at = v.quarantined_at, locked_by = NULL, version = carts.version + 1 \
FROM v WHERE carts.tenant_id = v.tenant_id AND carts.id = v.id AND carts.locked_by = ${worker}";

/// A schedule as stored: inside the years 1970 to 9999, so SQLite's text
/// comparison keeps time order and PostgreSQL accepts it.
fn clamp_schedule(at: DateTime<Utc>) -> DateTime<Utc> {
    at.clamp(
        cartback_domain::bounds::earliest(),
        cartback_domain::bounds::far_future(),
    )
}

/// Writes many releases with one statement per few hundred carts.
fn apply_releases(
    conn: &mut DbConn,
    releases: &[(CartRow, CartRelease)],
    worker: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    for chunk in releases.chunks(500) {
        let mut sql = String::from(RELEASE_PREFIX);
        sql.push_str(&numbered_rows(RELEASE_ROW, RELEASE_PARAMS, chunk.len()));
        sql.push_str(
            &RELEASE_UPDATE.replace("{worker}", &(chunk.len() * RELEASE_PARAMS + 1).to_string()),
        );
        let mut query = diesel::sql_query(dialect(conn, &sql)).into_boxed();
        for (cart, release) in chunk {
            let newly_abandoned =
                release.status == CartStatus::Abandoned && cart.status != CartStatus::Abandoned;
            let abandoned_at = if newly_abandoned {
                Some(now.naive_utc())
            } else {
                cart.abandoned_at
            };
            // A quarantined cart is never claimed again until the shop updates it.
            let (next_action_at, quarantined_at) = match release.quarantine {
                Some(_) => (None, Some(now.naive_utc())),
                None => (release.next_action_at.map(clamp_schedule), None),
            };
            query = query
                .bind::<Text, _>(cart.tenant_id.clone())
                .bind::<Text, _>(cart.id.clone())
                .bind::<Text, _>(release.status.as_str())
                .bind::<Nullable<Timestamp>, _>(abandoned_at)
                .bind::<Integer, _>(i32::try_from(release.next_step).unwrap_or(i32::MAX))
                .bind::<Nullable<Timestamp>, _>(next_action_at.map(|t| t.naive_utc()))
                .bind::<Nullable<Timestamp>, _>(quarantined_at);
        }
        query.bind::<Text, _>(worker.to_owned()).execute(conn)?;
    }
    Ok(())
}

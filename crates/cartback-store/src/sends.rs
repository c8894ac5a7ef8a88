//! Recovery sends: the outbox. One row per `(cart, cycle, step)`, enforced by a
//! unique constraint, so no crash or second worker can send the same step twice.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use cartback_domain::CartStatus;

use crate::carts::{CartKey, CartRelease, CartRow, lock_held_carts, release_carts};
use crate::columns::{Stored, text_enum};
use crate::connection::{DbConn, write_transaction};
use crate::error::{StoreError, StoreResult};
use crate::events::{CartEventKind, NewCartEvent, record_events};
use crate::ids::time_ordered_id;
use crate::links::link_hashes;
use crate::schema::{carts, recovery_sends};
use crate::sql::{dialect, numbered_rows};
use crate::suppressions::{normalize_email, suppressed_among};

/// Where a send stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// A worker holds it and may be talking to the provider.
    Sending,
    /// The provider accepted it.
    Sent,
    /// A transient failure; it will be tried again at `next_attempt_at`.
    Retry,
    /// Given up: a permanent failure or too many attempts. `last_error` says why.
    Dead,
    /// The cart changed before the send went out (ordered, emptied, revived…).
    Cancelled,
    /// Its worker stopped while the provider had it, and the provider cannot be
    /// asked again without risking a second email: it may or may not have arrived.
    /// Final, never repeated, and not counted as sent.
    Unknown,
}

impl SendStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SendStatus::Sending => "sending",
            SendStatus::Sent => "sent",
            SendStatus::Retry => "retry",
            SendStatus::Dead => "dead",
            SendStatus::Cancelled => "cancelled",
            SendStatus::Unknown => "unknown",
        }
    }
    pub fn parse(value: &str) -> Option<SendStatus> {
        Some(match value {
            "sending" => SendStatus::Sending,
            "sent" => SendStatus::Sent,
            "retry" => SendStatus::Retry,
            "dead" => SendStatus::Dead,
            "cancelled" => SendStatus::Cancelled,
            "unknown" => SendStatus::Unknown,
            _ => return None,
        })
    }
    /// Sent, dead and unknown sends are final: the step is done either way.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            SendStatus::Sent | SendStatus::Dead | SendStatus::Unknown
        )
    }
}

text_enum!(SendStatus, "recovery_sends.status", SendStatus::parse);

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = recovery_sends)]
pub struct SendRow {
    pub id: String,
    pub tenant_id: String,
    pub cart_id: String,
    pub cycle: i32,
    pub step: i32,
    #[diesel(deserialize_as = Stored<SendStatus>)]
    pub status: SendStatus,
    pub attempts: i32,
    pub idempotency_key: String,
    pub locked_by: Option<String>,
    pub locked_until: Option<NaiveDateTime>,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
    pub coupon_code: Option<String>,
    pub recovery_token_hash: Option<String>,
    pub unsubscribe_token_hash: Option<String>,
    pub click_count: i32,
    pub first_clicked_at: Option<NaiveDateTime>,
    pub last_clicked_at: Option<NaiveDateTime>,
}

/// What `start_send` found.
#[derive(Debug)]
pub enum StartSend {
    /// The send row is ours to deliver now (status `sending`, attempts counted).
    Ready { cart: CartRow, send: SendRow },
    /// This step already ended (sent or dead) in an earlier attempt; nothing to deliver.
    AlreadyFinal { cart: CartRow, send: SendRow },
    /// An earlier attempt never came back (its worker stopped while the provider had
    /// it) and the provider cannot safely be asked again: recorded as unknown now,
    /// with a history event, in the same transaction.
    Unknown { cart: CartRow, send: SendRow },
    /// Re-read right before sending, the cart no longer wants this email.
    NotDue { cart: CartRow },
    /// The worker's lease on the cart is gone.
    LeaseLost,
}

/// The decision `start_send` asks for on the freshly locked cart: which step to send
/// now, and whether the cart becomes abandoned with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendDecision {
    pub step: u32,
    pub mark_abandoned: bool,
}

/// In one short transaction: re-reads the held cart, asks `decide` whether a step is
/// still due, and takes the `(cart, cycle, step)` send row for delivery.
pub fn start_send(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    decide: impl FnOnce(&CartRow) -> StoreResult<Option<SendDecision>>,
) -> StoreResult<StartSend> {
    let key = CartKey {
        tenant_id: tenant_id.to_owned(),
        cart_id: cart_id.to_owned(),
    };
    let tenants = BatchTenants {
        link_secrets: crate::tenants::find_tenant(conn, tenant_id)?
            .map(|t| (t.id, t.link_secret))
            .into_iter()
            .collect(),
        customer_history: HashSet::new(),
        providers: HashMap::new(),
    };
    let mut decide = Some(decide);
    let mut found = start_sends(
        conn,
        &[key],
        worker,
        now,
        lease_until,
        &tenants,
        |cart, _| decide.take().map_or(Ok(None), |decide| decide(cart)),
    )?;
    Ok(found.pop().unwrap_or(StartSend::LeaseLost))
}

const INSERT_SENDS_PREFIX: &str = "\
INSERT INTO recovery_sends (id, tenant_id, cart_id, cycle, step, status, attempts, idempotency_key, \
    created_at, updated_at, recovery_token_hash, unsubscribe_token_hash) VALUES ";
const INSERT_SENDS_ROW: &str = "($1, $2, $3, $4, $5, 'retry', 0, $6, $7, $7, $8, $9)";
const INSERT_SENDS_PARAMS: usize = 9;

/// What the worker must know about a cart's shopper, beyond the cart, to decide
/// whether to email them: read in the same transaction that takes the send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShopperFacts {
    /// The address is on the tenant's suppression list.
    pub suppressed: bool,
    /// The latest recovery email to this address, from any of its carts (only
    /// looked up for tenants asked for in `customer_history`).
    pub last_emailed_at: Option<DateTime<Utc>>,
    /// The address's other open carts that were emailed in their current cycle,
    /// including those this batch is about to email.
    pub emailed_siblings: Vec<SiblingCart>,
    /// When the address was sent recovery emails (or possibly sent: `unknown`)
    /// in the 24 hours before now, from any of its carts, this batch's included.
    pub emailed_last_day: Vec<DateTime<Utc>>,
}

/// Another open cart of the same shopper that got an email in its current cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiblingCart {
    pub cart_id: String,
    /// Steps of its sequence already attempted.
    pub next_step: u32,
}

/// What one address's carts tell about the shopper.
#[derive(Default)]
struct AddressHistory {
    last_emailed_at: Option<DateTime<Utc>>,
    emailed_open_carts: Vec<SiblingCart>,
    emailed_last_day: Vec<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct AddressEmail {
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Timestamp)]
    at: NaiveDateTime,
}

#[derive(QueryableByName)]
struct AddressCart {
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Integer)]
    next_step: i32,
    #[diesel(sql_type = Nullable<Timestamp>)]
    last_sent_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    ever_sent_at: Option<NaiveDateTime>,
    /// Its latest sent or unknown send, when it was sent or taken.
    #[diesel(sql_type = Nullable<Timestamp>)]
    emailed_at: Option<NaiveDateTime>,
}

/// Every cart of the addresses of `carts` in tenants that asked for it, through
/// the `(tenant_id, lower(customer_email))` index: when each address was last
/// emailed, and which of its open carts are in a sequence.
fn address_histories(
    conn: &mut DbConn,
    carts: &[CartRow],
    customer_history: &HashSet<String>,
    now: DateTime<Utc>,
) -> StoreResult<HashMap<(String, String), AddressHistory>> {
    let mut by_tenant: HashMap<&str, Vec<String>> = HashMap::new();
    for cart in carts {
        if let Some(email) = cart.customer_email.as_deref()
            && customer_history.contains(&cart.tenant_id)
        {
            by_tenant
                .entry(cart.tenant_id.as_str())
                .or_default()
                .push(normalize_email(email));
        }
    }
    let mut histories: HashMap<(String, String), AddressHistory> = HashMap::new();
    for (tenant, mut emails) in by_tenant {
        emails.sort();
        emails.dedup();
        let list = (0..emails.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT lower(c.customer_email) AS email, c.id, c.status, c.next_step, c.last_sent_at, \
                 (SELECT max(s.sent_at) FROM recovery_sends s \
                  WHERE s.cart_id = c.id AND s.status = 'sent') AS ever_sent_at, \
                 (SELECT max(COALESCE(s.sent_at, s.updated_at)) FROM recovery_sends s \
                  WHERE s.cart_id = c.id AND s.status IN ('sent', 'unknown')) AS emailed_at \
             FROM carts c WHERE c.tenant_id = $1 AND lower(c.customer_email) IN ({list})"
        );
        let mut query = diesel::sql_query(dialect(conn, &sql))
            .into_boxed()
            .bind::<Text, _>(tenant.to_owned());
        for email in &emails {
            query = query.bind::<Text, _>(email.clone());
        }
        let since = now
            .checked_sub_signed(chrono::TimeDelta::days(1))
            .unwrap_or(now);
        // Addresses emailed (or possibly emailed) in the last day: only those
        // need their day's emails read for the daily cap.
        let mut recent: Vec<String> = Vec::new();
        for row in query.load::<AddressCart>(conn)? {
            if row.emailed_at.is_some_and(|at| at.and_utc() > since) {
                recent.push(row.email.clone());
            }
            let history = histories
                .entry((tenant.to_owned(), row.email.clone()))
                .or_default();
            let ever = row.ever_sent_at.map(|t| t.and_utc());
            history.last_emailed_at = history.last_emailed_at.max(ever);
            let open = row.status == CartStatus::Active.as_str()
                || row.status == CartStatus::Abandoned.as_str();
            if open && row.last_sent_at.is_some() {
                history.emailed_open_carts.push(SiblingCart {
                    cart_id: row.id,
                    next_step: u32::try_from(row.next_step).unwrap_or(0),
                });
            }
        }
        recent.sort();
        recent.dedup();
        if recent.is_empty() {
            continue;
        }
        // Their recovery emails of the last day; an unknown send may have
        // arrived, so it counts from when it was taken.
        let recent_list = (0..recent.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let day_sql = format!(
            "SELECT lower(c.customer_email) AS email, COALESCE(s.sent_at, s.updated_at) AS at \
             FROM carts c JOIN recovery_sends s ON s.cart_id = c.id \
             WHERE c.tenant_id = $1 AND lower(c.customer_email) IN ({recent_list}) \
                 AND s.status IN ('sent', 'unknown') \
                 AND COALESCE(s.sent_at, s.updated_at) > ${}",
            recent.len() + 2
        );
        let mut day_query = diesel::sql_query(dialect(conn, &day_sql))
            .into_boxed()
            .bind::<Text, _>(tenant.to_owned());
        for email in &recent {
            day_query = day_query.bind::<Text, _>(email.clone());
        }
        for row in day_query
            .bind::<Timestamp, _>(since.naive_utc())
            .load::<AddressEmail>(conn)?
        {
            histories
                .entry((tenant.to_owned(), row.email))
                .or_default()
                .emailed_last_day
                .push(row.at.and_utc());
        }
    }
    Ok(histories)
}
const INSERT_SENDS_CONFLICT: &str = " ON CONFLICT (cart_id, cycle, step) DO NOTHING";

/// What [`start_sends`] needs to know of the batch's tenants.
#[derive(Debug, Clone, Default)]
pub struct BatchTenants {
    /// Tenant id → its link secret (send rows store their links' token hashes).
    pub link_secrets: HashMap<String, String>,
    /// Tenants whose policy needs the shopper's other carts and emails read (a
    /// cooldown, a daily cap per address).
    pub customer_history: HashSet<String>,
    /// Tenant id → the provider its emails go through now. A tenant missing here
    /// is treated as sending through a provider that never drops repeats.
    pub providers: HashMap<String, SendingThrough>,
}

/// The provider a tenant's emails go through, as far as repeating a send goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendingThrough {
    /// Its kind ("resend", "smtp", …), stored on each send when it is taken.
    pub kind: String,
    /// How long after a send's first attempt the provider still drops a repeat of
    /// its idempotency key (with a margin taken off); None when it never does.
    pub repeat_window: Option<chrono::TimeDelta>,
}

impl SendingThrough {
    /// Whether `send`, taken earlier and never settled, may go to this provider
    /// again with its key: only through the same kind of provider it went to,
    /// while that provider still remembers the key.
    fn may_repeat(&self, send: &SendRow, now: DateTime<Utc>) -> bool {
        let Some(window) = self.repeat_window else {
            return false;
        };
        send.provider.as_deref() == Some(self.kind.as_str())
            && send
                .created_at
                .and_utc()
                .checked_add_signed(window)
                .is_some_and(|until| now < until)
    }
}

/// The batch form of [`start_send`], in one short transaction for all of `keys`:
/// re-reads the held carts and what is known of their shoppers, asks `decide` about
/// each, creates the missing send rows with one statement (their link tokens derived
/// from the tenant's secret in `link_secrets`) and takes every ready one for delivery
/// with another. Returns what was found for each key, in the order of `keys`.
pub fn start_sends(
    conn: &mut DbConn,
    keys: &[CartKey],
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    tenants: &BatchTenants,
    mut decide: impl FnMut(&CartRow, &ShopperFacts) -> StoreResult<Option<SendDecision>>,
) -> StoreResult<Vec<StartSend>> {
    let BatchTenants {
        link_secrets,
        customer_history,
        providers,
    } = tenants;
    write_transaction(conn, |conn| {
        let held = lock_held_carts(conn, keys, worker)?;
        let suppressed = suppressed_in(conn, &held)?;
        let mut histories = address_histories(conn, &held, customer_history, now)?;
        let mut wanted: Vec<(CartRow, SendDecision)> = Vec::with_capacity(held.len());
        let mut found: HashMap<String, StartSend> = HashMap::with_capacity(keys.len());
        for cart in held {
            // An erased or deleted cart is never emailed again: checked here, in
            // the transaction that would take its send (the erase locks the same
            // row, so it either committed before this read or waits for it).
            if cart.erased_at.is_some() || cart.deleted_at.is_some() {
                found.insert(cart.id.clone(), StartSend::NotDue { cart });
                continue;
            }
            let address = cart
                .customer_email
                .as_deref()
                .map(|email| (cart.tenant_id.clone(), normalize_email(email)));
            let history = address.as_ref().and_then(|a| histories.get(a));
            let facts = ShopperFacts {
                suppressed: address.as_ref().is_some_and(|a| suppressed.contains(a)),
                last_emailed_at: history.and_then(|h| h.last_emailed_at),
                emailed_siblings: history
                    .map(|h| {
                        h.emailed_open_carts
                            .iter()
                            .filter(|s| s.cart_id != cart.id)
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default(),
                emailed_last_day: history
                    .map(|h| h.emailed_last_day.clone())
                    .unwrap_or_default(),
            };
            match decide(&cart, &facts)? {
                Some(decision) => {
                    // The shopper's later carts in this batch see this one's email.
                    if let Some(history) = address.and_then(|a| histories.get_mut(&a)) {
                        history.last_emailed_at = Some(now);
                        history.emailed_last_day.push(now);
                        history.emailed_open_carts.push(SiblingCart {
                            cart_id: cart.id.clone(),
                            next_step: decision.step + 1,
                        });
                    }
                    wanted.push((cart, decision));
                }
                None => {
                    found.insert(cart.id.clone(), StartSend::NotDue { cart });
                }
            }
        }
        if !wanted.is_empty() {
            take_send_rows(
                conn,
                wanted,
                Taker {
                    worker,
                    now,
                    lease_until,
                    link_secrets,
                    providers,
                },
                &mut found,
            )?;
        }
        Ok(keys
            .iter()
            .map(|key| found.remove(&key.cart_id).unwrap_or(StartSend::LeaseLost))
            .collect())
    })
}

/// `(tenant, lowercased address)` of the carts' shoppers on a suppression list.
fn suppressed_in(conn: &mut DbConn, carts: &[CartRow]) -> StoreResult<HashSet<(String, String)>> {
    let mut by_tenant: HashMap<&str, Vec<&str>> = HashMap::new();
    for cart in carts {
        if let Some(email) = cart.customer_email.as_deref() {
            by_tenant
                .entry(cart.tenant_id.as_str())
                .or_default()
                .push(email);
        }
    }
    let mut suppressed = HashSet::new();
    for (tenant, emails) in by_tenant {
        for email in suppressed_among(conn, tenant, &emails)? {
            suppressed.insert((tenant.to_owned(), email));
        }
    }
    Ok(suppressed)
}

/// Who takes send rows, when, and what it knows of the batch's tenants.
struct Taker<'a> {
    worker: &'a str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    link_secrets: &'a HashMap<String, String>,
    providers: &'a HashMap<String, SendingThrough>,
}

/// Why a send taken earlier is recorded as unknown rather than sent again.
const UNKNOWN_REASON: &str = "the worker stopped while the provider had this email; \
    it may or may not have arrived, and it is not sent again";

fn take_send_rows(
    conn: &mut DbConn,
    wanted: Vec<(CartRow, SendDecision)>,
    taker: Taker<'_>,
    found: &mut HashMap<String, StartSend>,
) -> StoreResult<()> {
    let Taker {
        worker,
        now,
        lease_until,
        link_secrets,
        providers,
    } = taker;
    let steps: Vec<(CartRow, i32, bool)> = wanted
        .into_iter()
        .map(|(cart, decision)| {
            let step = i32::try_from(decision.step).unwrap_or(i32::MAX);
            (cart, step, decision.mark_abandoned)
        })
        .collect();
    let mut sql = String::from(INSERT_SENDS_PREFIX);
    sql.push_str(&numbered_rows(
        INSERT_SENDS_ROW,
        INSERT_SENDS_PARAMS,
        steps.len(),
    ));
    sql.push_str(INSERT_SENDS_CONFLICT);
    let mut insert = diesel::sql_query(dialect(conn, &sql)).into_boxed();
    for (cart, step, _) in &steps {
        let send_id = time_ordered_id("snd_", 20);
        let Some(secret) = link_secrets.get(&cart.tenant_id) else {
            return Err(StoreError::Corrupt(format!(
                "no link secret for tenant {}",
                cart.tenant_id
            )));
        };
        let (recover_hash, unsubscribe_hash) = link_hashes(secret, &send_id);
        insert = insert
            .bind::<Text, _>(send_id)
            .bind::<Text, _>(cart.tenant_id.clone())
            .bind::<Text, _>(cart.id.clone())
            .bind::<Integer, _>(cart.cycle)
            .bind::<Integer, _>(*step)
            .bind::<Text, _>(format!("{}:{}:{}", cart.id, cart.cycle, step))
            .bind::<Timestamp, _>(now.naive_utc())
            .bind::<Text, _>(recover_hash)
            .bind::<Text, _>(unsubscribe_hash);
    }
    insert.execute(conn)?;

    let mut tenants: Vec<&str> = steps.iter().map(|(c, _, _)| c.tenant_id.as_str()).collect();
    tenants.sort_unstable();
    tenants.dedup();
    let cart_ids: Vec<&str> = steps.iter().map(|(c, _, _)| c.id.as_str()).collect();
    let mut rows: HashMap<(String, i32, i32), SendRow> = recovery_sends::table
        .filter(recovery_sends::tenant_id.eq_any(&tenants))
        .filter(recovery_sends::cart_id.eq_any(&cart_ids))
        .select(SendRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row| ((row.cart_id.clone(), row.cycle, row.step), row))
        .collect();

    let mut abandon: Vec<&str> = Vec::new();
    let mut ready: Vec<(CartRow, SendRow, bool)> = Vec::new();
    let mut unknown: Vec<(CartRow, SendRow)> = Vec::new();
    for (cart, step, mark_abandoned) in &steps {
        let Some(send) = rows.remove(&(cart.id.clone(), cart.cycle, *step)) else {
            return Err(StoreError::Corrupt(format!(
                "send row of cart {} step {step} missing after insert",
                cart.id
            )));
        };
        let status = send.status;
        // Still `sending` from an earlier attempt: the worker that took it stopped
        // before it learned the provider's answer.
        if status == SendStatus::Sending
            && !providers
                .get(&cart.tenant_id)
                .is_some_and(|through| through.may_repeat(&send, now))
        {
            unknown.push((cart.clone(), send));
            continue;
        }
        if status.is_final() {
            found.insert(
                cart.id.clone(),
                StartSend::AlreadyFinal {
                    cart: cart.clone(),
                    send,
                },
            );
            continue;
        }
        let newly_abandoned = *mark_abandoned && cart.status != CartStatus::Abandoned;
        if newly_abandoned {
            abandon.push(cart.id.as_str());
        }
        ready.push((cart.clone(), send, newly_abandoned));
    }
    if !abandon.is_empty() {
        let abandoned: Vec<NewCartEvent> = steps
            .iter()
            .filter(|(cart, _, _)| abandon.contains(&cart.id.as_str()))
            .map(|(cart, _, _)| NewCartEvent {
                tenant_id: cart.tenant_id.clone(),
                cart_id: cart.id.clone(),
                kind: CartEventKind::Abandoned,
                step: None,
                detail: None,
            })
            .collect();
        diesel::update(
            carts::table
                .filter(carts::tenant_id.eq_any(&tenants))
                .filter(carts::id.eq_any(&abandon)),
        )
        .set((
            carts::status.eq(CartStatus::Abandoned.as_str()),
            carts::abandoned_at.eq(now.naive_utc()),
            carts::version.eq(carts::version + 1),
        ))
        .execute(conn)?;
        // After the update: `cart.abandoned` shows the cart abandoned, as it
        // does for a cart that gets no email.
        record_events(conn, &abandoned, now)?;
    }
    if !unknown.is_empty() {
        record_unknown(conn, &unknown, now)?;
        for (cart, send) in unknown {
            let send = SendRow {
                status: SendStatus::Unknown,
                last_error: Some(UNKNOWN_REASON.to_owned()),
                locked_by: None,
                locked_until: None,
                next_attempt_at: None,
                ..send
            };
            found.insert(cart.id.clone(), StartSend::Unknown { cart, send });
        }
    }
    // Each send is taken for its tenant's current provider, which is written down
    // so that a send that never comes back is judged by the provider it went to.
    let mut by_provider: HashMap<Option<&str>, Vec<&str>> = HashMap::new();
    for (cart, send, _) in &ready {
        let kind = providers.get(&cart.tenant_id).map(|p| p.kind.as_str());
        by_provider.entry(kind).or_default().push(send.id.as_str());
    }
    for (kind, send_ids) in by_provider {
        diesel::update(recovery_sends::table.filter(recovery_sends::id.eq_any(&send_ids)))
            .set((
                recovery_sends::status.eq(SendStatus::Sending.as_str()),
                recovery_sends::attempts.eq(recovery_sends::attempts + 1),
                recovery_sends::locked_by.eq(worker),
                recovery_sends::locked_until.eq(lease_until.naive_utc()),
                recovery_sends::next_attempt_at.eq(None::<NaiveDateTime>),
                recovery_sends::updated_at.eq(now.naive_utc()),
                recovery_sends::provider.eq(kind),
            ))
            .execute(conn)?;
    }
    for (mut cart, send, newly_abandoned) in ready {
        if newly_abandoned {
            cart.status = CartStatus::Abandoned;
            cart.abandoned_at = Some(now.naive_utc());
        }
        let provider = providers.get(&cart.tenant_id).map(|p| p.kind.clone());
        let send = SendRow {
            status: SendStatus::Sending,
            attempts: send.attempts + 1,
            provider,
            locked_by: Some(worker.to_owned()),
            locked_until: Some(lease_until.naive_utc()),
            next_attempt_at: None,
            ..send
        };
        found.insert(cart.id.clone(), StartSend::Ready { cart, send });
    }
    Ok(())
}

/// Records sends whose outcome cannot be known: status `unknown` with the reason,
/// and a history entry on each cart.
fn record_unknown(
    conn: &mut DbConn,
    unknown: &[(CartRow, SendRow)],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let send_ids: Vec<&str> = unknown.iter().map(|(_, send)| send.id.as_str()).collect();
    diesel::update(recovery_sends::table.filter(recovery_sends::id.eq_any(&send_ids)))
        .set((
            recovery_sends::status.eq(SendStatus::Unknown.as_str()),
            recovery_sends::last_error.eq(UNKNOWN_REASON),
            recovery_sends::sent_at.eq(None::<NaiveDateTime>),
            recovery_sends::locked_by.eq(None::<String>),
            recovery_sends::locked_until.eq(None::<NaiveDateTime>),
            recovery_sends::next_attempt_at.eq(None::<NaiveDateTime>),
            recovery_sends::updated_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    let events: Vec<NewCartEvent> = unknown
        .iter()
        .map(|(cart, send)| NewCartEvent {
            tenant_id: cart.tenant_id.clone(),
            cart_id: cart.id.clone(),
            kind: CartEventKind::Unknown,
            step: Some(send.step),
            detail: Some(format!(
                "outcome unknown through {}: {UNKNOWN_REASON}",
                send.provider.as_deref().unwrap_or("the provider")
            )),
        })
        .collect();
    record_events(conn, &events, now)
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendResult {
    /// Accepted by `provider`, which may have given its own message id; the email
    /// offered `coupon_code` (shown again when the shopper restores the cart).
    Sent {
        provider: String,
        provider_message_id: Option<String>,
        coupon_code: Option<String>,
    },
    /// A transient failure: try again at `at`.
    Retry { error: String, at: DateTime<Utc> },
    /// Given up for good.
    Dead { error: String },
    /// The request went out but its answer never came, through a provider that
    /// cannot be asked again safely.
    Unknown { error: String },
    /// Never handed to the provider: the cart was erased or deleted after the
    /// send was taken. `reason` says so (no personal data).
    Cancelled { reason: String },
}

/// A send the worker delivered (or failed to), to be recorded by [`settle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedSend {
    pub send_id: String,
    pub result: SendResult,
}

const FINISH_PREFIX: &str = "\
WITH v (id, status, provider, message_id, error, next_attempt_at, coupon_code) AS (VALUES ";
const FINISH_ROW: &str = "($1, $2, $3, $4, $5, $6, $7)";
const FINISH_PARAMS: usize = 7;
/// `{now}` and `{worker}` are the parameter numbers after the rows. Only a send the
/// worker still holds is written.
const FINISH_UPDATE: &str = ") UPDATE recovery_sends SET status = v.status, \
    provider = CASE WHEN v.status = 'sent' THEN v.provider ELSE recovery_sends.provider END, \
    provider_message_id = CASE WHEN v.status = 'sent' THEN v.message_id ELSE recovery_sends.provider_message_id END, \
    coupon_code = CASE WHEN v.status = 'sent' THEN v.coupon_code ELSE recovery_sends.coupon_code END, \
    sent_at = CASE WHEN v.status = 'sent' THEN ${now} ELSE NULL END, \
    last_error = v.error, next_attempt_at = v.next_attempt_at, \
    locked_by = NULL, locked_until = NULL, updated_at = ${now} \
FROM v WHERE recovery_sends.id = v.id AND recovery_sends.locked_by = ${worker} \
    AND recovery_sends.status = 'sending'";

/// Records many sends' results with one statement per few hundred sends, where
/// `worker` still holds them.
fn finish_sends(
    conn: &mut DbConn,
    worker: &str,
    now: DateTime<Utc>,
    finished: &[FinishedSend],
) -> StoreResult<()> {
    for chunk in finished.chunks(500) {
        let after = chunk.len() * FINISH_PARAMS;
        let mut sql = String::from(FINISH_PREFIX);
        sql.push_str(&numbered_rows(FINISH_ROW, FINISH_PARAMS, chunk.len()));
        sql.push_str(
            &FINISH_UPDATE
                .replace("{now}", &(after + 1).to_string())
                .replace("{worker}", &(after + 2).to_string()),
        );
        let mut query = diesel::sql_query(dialect(conn, &sql)).into_boxed();
        for send in chunk {
            let (status, provider, message_id, error, next_attempt_at, coupon) = match &send.result
            {
                SendResult::Sent {
                    provider,
                    provider_message_id,
                    coupon_code,
                } => (
                    SendStatus::Sent,
                    Some(provider.clone()),
                    provider_message_id.clone(),
                    None,
                    None,
                    coupon_code.clone(),
                ),
                SendResult::Retry { error, at } => (
                    SendStatus::Retry,
                    None,
                    None,
                    Some(error.clone()),
                    Some(at.naive_utc()),
                    None,
                ),
                SendResult::Unknown { error } => (
                    SendStatus::Unknown,
                    None,
                    None,
                    Some(error.clone()),
                    None,
                    None,
                ),
                SendResult::Dead { error } => (
                    SendStatus::Dead,
                    None,
                    None,
                    Some(error.clone()),
                    None,
                    None,
                ),
                SendResult::Cancelled { reason } => (
                    SendStatus::Cancelled,
                    None,
                    None,
                    Some(reason.clone()),
                    None,
                    None,
                ),
            };
            query = query
                .bind::<Text, _>(send.send_id.clone())
                .bind::<Text, _>(status.as_str())
                .bind::<Nullable<Text>, _>(provider)
                .bind::<Nullable<Text>, _>(message_id)
                .bind::<Nullable<Text>, _>(error)
                .bind::<Nullable<Timestamp>, _>(next_attempt_at)
                .bind::<Nullable<Text>, _>(coupon);
        }
        query
            .bind::<Timestamp, _>(now.naive_utc())
            .bind::<Text, _>(worker.to_owned())
            .execute(conn)?;
    }
    Ok(())
}

/// Keeps `carts.last_sent_at` true for the carts whose sends just went out: the
/// latest sent email of the cart's current cycle.
fn note_last_sent(conn: &mut DbConn, finished: &[FinishedSend]) -> StoreResult<()> {
    let sent: Vec<&str> = finished
        .iter()
        .filter(|f| matches!(f.result, SendResult::Sent { .. }))
        .map(|f| f.send_id.as_str())
        .collect();
    for chunk in sent.chunks(500) {
        let list = (1..=chunk.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE carts SET version = version + 1, last_sent_at = (SELECT max(s.sent_at) FROM recovery_sends s \
                 WHERE s.cart_id = carts.id AND s.cycle = carts.cycle AND s.status = 'sent') \
             WHERE id IN (SELECT cart_id FROM recovery_sends WHERE id IN ({list}))"
        );
        let mut query = diesel::sql_query(dialect(conn, &sql)).into_boxed();
        for id in chunk {
            query = query.bind::<Text, _>((*id).to_owned());
        }
        query.execute(conn)?;
    }
    Ok(())
}

/// Records a batch's results and lets go of its carts, all in one write
/// transaction: each send's outcome (only where `worker` still holds it), the
/// worker's `events` for the carts' history, then every cart of `release` written
/// as `plan` decides from its current row. Returns how many
/// carts were still held.
pub fn settle(
    conn: &mut DbConn,
    worker: &str,
    now: DateTime<Utc>,
    finished: &[FinishedSend],
    events: &[NewCartEvent],
    release: &[CartKey],
    plan: impl FnMut(&CartRow) -> StoreResult<CartRelease>,
) -> StoreResult<usize> {
    write_transaction(conn, |conn| {
        // Carts erased while their emails were out: what the worker brings back
        // (provider error texts, history details) must not put personal data
        // back into them. Their rows are locked first (PostgreSQL), so an erase
        // either committed before this read or waits and scrubs what follows.
        let erased = erased_among(conn, finished, events)?;
        // Emails turning `sent` are analytics facts of `now`.
        let sent_by: Vec<&str> = finished
            .iter()
            .filter(|f| matches!(f.result, SendResult::Sent { .. }))
            .filter_map(|f| erased.tenants.get(&f.send_id).map(String::as_str))
            .collect();
        crate::analytics::summary::note_writes(conn, &sent_by, now)?;
        let (finished, events) = if erased.is_empty() {
            (Cow::Borrowed(finished), Cow::Borrowed(events))
        } else {
            tracing::info!(
                carts = erased.carts.len(),
                "carts erased while their emails were out; results recorded without personal data"
            );
            scrub_results(finished, events, &erased)
        };
        finish_sends(conn, worker, now, &finished)?;
        note_last_sent(conn, &finished)?;
        record_events(conn, &events, now)?;
        release_carts(conn, release, worker, now, plan)
    })
}

/// The ids of the erased carts among those of `finished` sends and `events`,
/// with their rows locked on PostgreSQL (in id order, like the worker's other
/// locks, so no deadlock).
fn erased_among(
    conn: &mut DbConn,
    finished: &[FinishedSend],
    events: &[NewCartEvent],
) -> StoreResult<Erased> {
    let send_ids: Vec<&str> = finished.iter().map(|f| f.send_id.as_str()).collect();
    let mut send_carts: Vec<(String, String, String)> = Vec::new();
    for chunk in send_ids.chunks(500) {
        send_carts.extend(
            recovery_sends::table
                .filter(recovery_sends::id.eq_any(chunk))
                .select((
                    recovery_sends::id,
                    recovery_sends::tenant_id,
                    recovery_sends::cart_id,
                ))
                .load::<(String, String, String)>(conn)?,
        );
    }
    let mut keys: Vec<(&str, &str)> = send_carts
        .iter()
        .map(|(_, tenant, cart)| (tenant.as_str(), cart.as_str()))
        .chain(
            events
                .iter()
                .map(|e| (e.tenant_id.as_str(), e.cart_id.as_str())),
        )
        .collect();
    keys.sort_unstable_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0)));
    keys.dedup();
    let mut erased_carts: HashSet<(String, String)> = HashSet::new();
    for chunk in keys.chunks(500) {
        let mut tenants: Vec<&str> = chunk.iter().map(|k| k.0).collect();
        tenants.sort_unstable();
        tenants.dedup();
        let ids: Vec<&str> = chunk.iter().map(|k| k.1).collect();
        macro_rules! query {
            () => {
                carts::table
                    .filter(carts::tenant_id.eq_any(&tenants))
                    .filter(carts::id.eq_any(&ids))
                    .order(carts::id.asc())
                    .select((carts::tenant_id, carts::id, carts::erased_at))
            };
        }
        let rows: Vec<(String, String, Option<NaiveDateTime>)> = match conn {
            DbConn::Postgres(pg) => query!().for_update().load(pg)?,
            DbConn::Sqlite(sqlite) => query!().load(sqlite)?,
        };
        erased_carts.extend(
            rows.into_iter()
                .filter(|(_, _, erased_at)| erased_at.is_some())
                .map(|(tenant, id, _)| (tenant, id)),
        );
    }
    let sends = send_carts
        .iter()
        .filter(|(_, tenant, cart)| erased_carts.contains(&(tenant.clone(), cart.clone())))
        .map(|(send_id, _, _)| send_id.clone())
        .collect();
    let tenants = send_carts
        .into_iter()
        .map(|(send_id, tenant, _)| (send_id, tenant))
        .collect();
    Ok(Erased {
        sends,
        carts: erased_carts,
        tenants,
    })
}

/// The erased carts a batch's results are about.
struct Erased {
    /// Ids of the sends of erased carts.
    sends: HashSet<String>,
    /// `(tenant, cart id)` of the erased carts.
    carts: HashSet<(String, String)>,
    /// The tenant of each of the batch's sends.
    tenants: HashMap<String, String>,
}

impl Erased {
    fn is_empty(&self) -> bool {
        self.carts.is_empty()
    }
}

/// The results and events with every text about an erased cart replaced.
fn scrub_results<'a>(
    finished: &[FinishedSend],
    events: &[NewCartEvent],
    erased: &Erased,
) -> (Cow<'a, [FinishedSend]>, Cow<'a, [NewCartEvent]>) {
    let erased_text = || crate::erasure::ERASED_TEXT.to_owned();
    let finished = finished
        .iter()
        .map(|f| {
            if !erased.sends.contains(&f.send_id) {
                return f.clone();
            }
            let result = match &f.result {
                SendResult::Sent { .. } => f.result.clone(),
                SendResult::Retry { at, .. } => SendResult::Retry {
                    error: erased_text(),
                    at: *at,
                },
                SendResult::Dead { .. } => SendResult::Dead {
                    error: erased_text(),
                },
                SendResult::Unknown { .. } => SendResult::Unknown {
                    error: erased_text(),
                },
                SendResult::Cancelled { .. } => SendResult::Cancelled {
                    reason: erased_text(),
                },
            };
            FinishedSend {
                send_id: f.send_id.clone(),
                result,
            }
        })
        .collect();
    let events = events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if e.detail.is_some()
                && erased
                    .carts
                    .contains(&(e.tenant_id.clone(), e.cart_id.clone()))
            {
                e.detail = Some(erased_text());
            }
            e
        })
        .collect();
    (Cow::Owned(finished), Cow::Owned(events))
}

/// The ids of the carts of `keys` that were erased or deleted: their emails
/// must not go out. The worker asks right before handing emails to providers.
pub fn withdrawn_carts(conn: &mut DbConn, keys: &[CartKey]) -> StoreResult<HashSet<String>> {
    let mut withdrawn = HashSet::new();
    for chunk in keys.chunks(500) {
        let mut tenants: Vec<&str> = chunk.iter().map(|k| k.tenant_id.as_str()).collect();
        tenants.sort_unstable();
        tenants.dedup();
        let ids: Vec<&str> = chunk.iter().map(|k| k.cart_id.as_str()).collect();
        let rows: Vec<(String, String)> = carts::table
            .filter(carts::tenant_id.eq_any(&tenants))
            .filter(carts::id.eq_any(&ids))
            .filter(
                carts::erased_at
                    .is_not_null()
                    .or(carts::deleted_at.is_not_null()),
            )
            .select((carts::tenant_id, carts::id))
            .load(conn)?;
        let asked: HashSet<(&str, &str)> = chunk
            .iter()
            .map(|k| (k.tenant_id.as_str(), k.cart_id.as_str()))
            .collect();
        withdrawn.extend(
            rows.iter()
                .filter(|(tenant, id)| asked.contains(&(tenant.as_str(), id.as_str())))
                .map(|(_, id)| id.clone()),
        );
    }
    Ok(withdrawn)
}

/// Every send of a cart, oldest first (the cart's email history).
pub fn list_sends_for_cart(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
) -> StoreResult<Vec<SendRow>> {
    Ok(recovery_sends::table
        .filter(recovery_sends::tenant_id.eq(tenant_id))
        .filter(recovery_sends::cart_id.eq(cart_id))
        .order((recovery_sends::cycle.asc(), recovery_sends::step.asc()))
        .select(SendRow::as_select())
        .load(conn)?)
}

/// Sent emails of one cart cycle: how many, and the first and last time.
pub fn sent_history(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
    cycle: i32,
) -> StoreResult<(u32, Option<NaiveDateTime>, Option<NaiveDateTime>)> {
    let times: Vec<Option<NaiveDateTime>> = recovery_sends::table
        .filter(recovery_sends::tenant_id.eq(tenant_id))
        .filter(recovery_sends::cart_id.eq(cart_id))
        .filter(recovery_sends::cycle.eq(cycle))
        .filter(recovery_sends::status.eq(SendStatus::Sent.as_str()))
        .select(recovery_sends::sent_at)
        .load(conn)?;
    let times: Vec<NaiveDateTime> = times.into_iter().flatten().collect();
    Ok((
        u32::try_from(times.len()).unwrap_or(u32::MAX),
        times.iter().min().copied(),
        times.iter().max().copied(),
    ))
}

/// Cancels sends waiting for a retry (used when an order arrives).
pub fn cancel_waiting_sends(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    Ok(diesel::update(
        recovery_sends::table
            .filter(recovery_sends::tenant_id.eq(tenant_id))
            .filter(recovery_sends::cart_id.eq(cart_id))
            .filter(recovery_sends::status.eq(SendStatus::Retry.as_str())),
    )
    .set((
        recovery_sends::status.eq(SendStatus::Cancelled.as_str()),
        recovery_sends::next_attempt_at.eq(None::<NaiveDateTime>),
        recovery_sends::updated_at.eq(now.naive_utc()),
    ))
    .execute(conn)?)
}

/// Counts sends per status across a tenant (tests, the CLI and health figures).
pub fn count_sends(conn: &mut DbConn, tenant_id: &str, status: SendStatus) -> StoreResult<i64> {
    Ok(recovery_sends::table
        .filter(recovery_sends::tenant_id.eq(tenant_id))
        .filter(recovery_sends::status.eq(status.as_str()))
        .count()
        .get_result(conn)?)
}

//! One claimed batch of carts, start to finish: decide for every cart, take the send
//! rows of those due in one transaction, deliver them concurrently outside any
//! transaction, then record every result and let go of every cart in one more.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::task::JoinSet;

use cartback_domain::{
    CartFacts, CartStatus, Evaluation, RecoveryPolicy, SendContext, VariantCopy,
    address_day_cap_until, evaluate_with, retry_delay,
};
use cartback_email::{EmailError, Idempotency, SendReceipt};
use cartback_store::carts::{CartKey, CartRelease, CartRow};
use cartback_store::events::{CartEventKind, NewCartEvent};
use cartback_store::sends::{
    BatchTenants, FinishedSend, SendDecision, SendResult, SendRow, SendingThrough, ShopperFacts,
    StartSend, settle, start_sends, withdrawn_carts,
};
use cartback_store::templates::{TemplateRow, templates_named};
use cartback_store::tenants::{Tenant, find_tenants};
use cartback_store::{Store, StoreResult};
use cartback_templates::custom_template_of;

use crate::WorkerError;
use crate::config::WorkerConfig;
use crate::experiments::{CartPolicies, assign_and_resolve};
use crate::providers::{ProviderHandle, Providers};
use crate::render::{Offer, coupon_code, render_recovery_email};
use cartback_store::crypto::{MasterKeys, Purpose};
use cartback_store::stripe::find_stripe_account;
use cartback_stripe::{CheckoutRequest, StripeClient, line_items};

/// What a pass learned about one cart that its release must take into account.
#[derive(Debug, Clone, Copy, Default)]
struct CartOutcome {
    /// What the start transaction knew about the shopper (suppression, their
    /// other carts); the release decides with it so it agrees with that decision.
    shopper: Option<SendContext>,
    /// This step ended (sent or dead): the sequence moves past it.
    finished_step: Option<u32>,
    /// This step failed transiently: come back for it at this time.
    retry: Option<(u32, DateTime<Utc>)>,
}

impl CartOutcome {
    /// The step ended (sent, dead or unknown): the sequence moves past it.
    fn finished(step: u32) -> CartOutcome {
        CartOutcome {
            finished_step: Some(step),
            ..CartOutcome::default()
        }
    }
}

/// What the worker writes back on letting go of a cart: decided afresh from the cart
/// as it is at that moment.
fn plan_release(
    row: &CartRow,
    policy: &RecoveryPolicy,
    now: DateTime<Utc>,
    outcome: CartOutcome,
) -> CartRelease {
    match try_plan_release(row, policy, now, outcome) {
        Ok(release) => release,
        Err(reason) => quarantine_release(row, reason),
    }
}

/// The release that quarantines a cart: nothing else about it changes.
fn quarantine_release(row: &CartRow, reason: String) -> CartRelease {
    tracing::error!(cart = %row.id, tenant = %row.tenant_id, %reason, "cart quarantined: the worker could not process it; it waits for the shop's next update");
    CartRelease {
        status: row.status,
        next_step: u32::try_from(row.next_step).unwrap_or(0),
        next_action_at: None,
        quarantine: Some(reason),
    }
}

/// [`evaluate_with`] with a panic caught: the decision functions are pure, so a
/// panic (a bug, or a stored value no bound foresaw) concerns this cart only.
pub(crate) fn evaluate_guarded(
    facts: &CartFacts,
    context: &SendContext,
    policy: &RecoveryPolicy,
    now: DateTime<Utc>,
) -> Result<Evaluation, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        evaluate_with(facts, context, policy, now)
    }))
    .map_err(|panic| format!("evaluation panicked: {}", panic_message(panic.as_ref())))
}

/// The text of a panic's payload, when it has one.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned());
    text.chars().take(300).collect()
}

fn try_plan_release(
    row: &CartRow,
    policy: &RecoveryPolicy,
    now: DateTime<Utc>,
    outcome: CartOutcome,
) -> Result<CartRelease, String> {
    let mut facts = row
        .facts()
        .map_err(|error| format!("cart row unreadable: {error}"))?;
    let context = release_context(row, outcome.shopper);
    if let Some(step) = outcome.finished_step
        && facts.next_step == step
    {
        facts.next_step = step + 1;
    }
    let evaluation = evaluate_guarded(&facts, &context, policy, now)?;
    let status = evaluation.transition.unwrap_or(facts.status);
    let next_action_at = match (evaluation.transition, outcome.retry, evaluation.send_now) {
        (Some(CartStatus::Expired), _, _) => None,
        // The same step is still wanted: come back when its retry is due.
        (_, Some((step, at)), Some(due)) if due == step => Some(at),
        (_, _, Some(_)) => Some(now),
        _ => evaluation.wake_at,
    };
    Ok(CartRelease {
        status,
        next_step: facts.next_step,
        next_action_at,
        quarantine: None,
    })
}

/// The cart's own facts as they are now, with what the start transaction learned
/// about the shopper.
fn release_context(row: &CartRow, shopper: Option<SendContext>) -> SendContext {
    let own = row.send_context();
    match shopper {
        Some(shopper) => SendContext {
            consent: own.consent,
            cart_last_sent_at: own.cart_last_sent_at,
            ..shopper
        },
        None => own,
    }
}

/// The full decision context of a cart, right before its send is taken.
fn start_context(
    row: &CartRow,
    shopper: &ShopperFacts,
    policy: &RecoveryPolicy,
    now: DateTime<Utc>,
) -> SendContext {
    let steps = u32::try_from(policy.steps.len()).unwrap_or(u32::MAX);
    SendContext {
        suppressed: shopper.suppressed,
        address_capped_until: address_day_cap_until(
            &shopper.emailed_last_day,
            policy.max_emails_per_address_per_day,
            now,
        ),
        customer_recently_emailed_at: shopper.last_emailed_at,
        customer_has_active_sequence: shopper
            .emailed_siblings
            .iter()
            .any(|s| s.next_step < policy.max_emails_per_cart.min(steps)),
        ..row.send_context()
    }
}

/// The history entry of a cart that gets no email now: waiting for quiet hours
/// (until when), or skipped with the reason. None when it is simply not due yet.
fn no_send_event(row: &CartRow, evaluation: &Evaluation) -> Option<NewCartEvent> {
    let (kind, detail) = if let Some(waiting) = evaluation.waiting {
        let until = evaluation
            .wake_at
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        (
            CartEventKind::Waiting,
            format!("{} until {until}", waiting.as_str()),
        )
    } else {
        (
            CartEventKind::Skipped,
            evaluation.no_send?.as_str().to_owned(),
        )
    };
    Some(NewCartEvent {
        tenant_id: row.tenant_id.clone(),
        cart_id: row.id.clone(),
        kind,
        step: Some(row.next_step),
        detail: Some(detail),
    })
}

/// One email on its way out.
struct Delivery {
    /// Set when the tenant puts Stripe payment links into its emails.
    payment: Option<Arc<PaymentSetup>>,
    tenant: Tenant,
    policy: RecoveryPolicy,
    coupon: Option<String>,
    /// Every locale of the tenant's own template this step uses, if it uses one.
    custom: Vec<TemplateRow>,
    /// The words the cart's A/B variant sets for this step.
    words: Option<VariantCopy>,
    cart: CartRow,
    send: SendRow,
    provider: Result<ProviderHandle, EmailError>,
}

/// The end of one delivery.
struct Delivered {
    coupon: Option<String>,
    cart: CartRow,
    send: SendRow,
    provider: &'static str,
    /// Whether that provider may be asked again with the same key.
    idempotency: Idempotency,
    /// The cart was erased or deleted before the email reached the provider:
    /// it was not handed over (`outcome` is then meaningless).
    withdrawn: bool,
    outcome: Result<SendReceipt, EmailError>,
}

/// How fresh the re-read of the batch's carts is when a delivery asks whether
/// its cart was erased or deleted: one query per this interval for the whole
/// batch, however many emails it sends.
const WITHDRAWAL_FRESHNESS: Duration = Duration::from_millis(100);

/// The last check right before emails go to their providers: were their carts
/// erased or deleted since their sends were taken? An erase that commits after
/// the send was taken but before this re-read stops the email; one that commits
/// after it cannot (the email is out, or about to be).
struct WithdrawalGate {
    store: Store,
    keys: Vec<CartKey>,
    state: tokio::sync::Mutex<(
        Option<std::time::Instant>,
        std::collections::HashSet<String>,
    )>,
}

impl WithdrawalGate {
    fn new(store: Store, keys: Vec<CartKey>) -> WithdrawalGate {
        WithdrawalGate {
            store,
            keys,
            state: tokio::sync::Mutex::new((None, std::collections::HashSet::new())),
        }
    }

    /// Whether the cart was erased or deleted, as of at most
    /// [`WITHDRAWAL_FRESHNESS`] ago. When the database cannot answer the email
    /// goes out: the transaction that took its send checked the cart already.
    async fn withdrawn(&self, cart_id: &str) -> bool {
        let mut state = self.state.lock().await;
        if state
            .0
            .is_none_or(|read_at| read_at.elapsed() >= WITHDRAWAL_FRESHNESS)
        {
            let (store, keys) = (self.store.clone(), self.keys.clone());
            let read =
                tokio::task::spawn_blocking(move || withdrawn_carts(&mut *store.conn()?, &keys))
                    .await;
            match read {
                Ok(Ok(withdrawn)) => *state = (Some(std::time::Instant::now()), withdrawn),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "re-reading the batch's carts before delivery failed; sending as decided");
                }
                Err(error) => {
                    tracing::warn!(%error, "re-reading the batch's carts before delivery failed; sending as decided");
                }
            }
        }
        state.1.contains(cart_id)
    }
}

/// What the store must know of a provider to decide whether a send that never
/// came back may be repeated. The margin keeps a repeat clear of the moment the
/// provider forgets the key.
fn sending_through(handle: &ProviderHandle) -> SendingThrough {
    const MARGIN: Duration = Duration::from_secs(600);
    SendingThrough {
        kind: handle.provider.kind().to_owned(),
        repeat_window: match handle.provider.idempotency() {
            Idempotency::None => None,
            Idempotency::Keyed { window } => {
                Some(TimeDelta::from_std(window.saturating_sub(MARGIN)).unwrap_or(TimeDelta::MAX))
            }
        },
    }
}

pub(crate) struct Batch {
    pub store: Store,
    pub providers: Providers,
    pub config: WorkerConfig,
    pub stripe: Option<StripeClient>,
}

type ProviderHandles = HashMap<String, Result<ProviderHandle, EmailError>>;
type PaymentSetups = HashMap<String, Arc<PaymentSetup>>;

/// What a payment link for one tenant's emails needs.
pub(crate) struct PaymentSetup {
    secret_key: String,
    success_url: String,
    cancel_url: Option<String>,
}

/// The Stripe setup of each tenant that wants payment links in its emails and
/// can have them (a secret key that opens, somewhere to send the shopper after).
fn payment_setups(
    store: &Store,
    keys: &MasterKeys,
    tenants: &BTreeMap<String, Option<String>>,
) -> HashMap<String, Arc<PaymentSetup>> {
    let mut setups = HashMap::new();
    let Ok(mut conn) = store.conn() else {
        return setups;
    };
    for (tenant_id, recovery_url) in tenants {
        let account = match find_stripe_account(&mut conn, tenant_id) {
            Ok(Some(account)) if account.links_in_emails != 0 => account,
            Ok(_) => continue,
            Err(error) => {
                tracing::warn!(%error, tenant = %tenant_id, "reading the Stripe account failed; no payment link");
                continue;
            }
        };
        let Some(sealed) = &account.secret_key else {
            continue;
        };
        let secret_key = match keys
            .open(Purpose::StripeSecretKey, tenant_id, sealed)
            .map(String::from_utf8)
        {
            Ok(Ok(key)) => key,
            _ => {
                tracing::warn!(tenant = %tenant_id, "the Stripe secret key does not open; no payment link");
                continue;
            }
        };
        let Some(success_url) = account.success_url.clone().or_else(|| recovery_url.clone()) else {
            continue;
        };
        setups.insert(
            tenant_id.clone(),
            Arc::new(PaymentSetup {
                secret_key,
                success_url,
                cancel_url: account.cancel_url.clone().or_else(|| recovery_url.clone()),
            }),
        );
    }
    setups
}

/// A Stripe Checkout Session for the cart, the same one for every retry of the
/// send (Stripe's idempotency key); None when Stripe said no.
async fn payment_link(
    stripe: &StripeClient,
    setup: &PaymentSetup,
    cart: &CartRow,
    send: &SendRow,
) -> Option<String> {
    let items = cart.items.clone();
    if items.is_empty() {
        return None;
    }
    let request = CheckoutRequest {
        client_reference_id: cart.id.clone(),
        customer_email: cart.customer_email.clone(),
        currency: cart.currency.clone(),
        line_items: line_items(&items),
        success_url: setup.success_url.clone(),
        cancel_url: setup.cancel_url.clone(),
        metadata: vec![
            ("cart_id".to_owned(), cart.id.clone()),
            ("session_id".to_owned(), cart.session_id.clone()),
        ],
        // Stripe's longest: a day.
        expires_at: Some((Utc::now() + chrono::TimeDelta::hours(23)).timestamp()),
        discount_code_hint: send.coupon_code.clone(),
    };
    let key = format!("cartback-send-{}", send.id);
    match stripe
        .create_checkout_session(&setup.secret_key, &request, Some(&key))
        .await
    {
        Ok(session) => Some(session.url),
        Err(error) => {
            tracing::warn!(%error, cart = %cart.id, "no payment link for this email");
            None
        }
    }
}

impl Batch {
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> StoreResult<T> + Send + 'static,
    ) -> Result<T, WorkerError> {
        let store = self.store.clone();
        Ok(tokio::task::spawn_blocking(move || work(&store)).await??)
    }

    pub async fn run(&self, claimed: Vec<CartRow>) -> Result<(), WorkerError> {
        let now = Utc::now();
        let tenant_ids: BTreeSet<String> = claimed.iter().map(|c| c.tenant_id.clone()).collect();
        let tenants: HashMap<String, (Tenant, RecoveryPolicy)> = self
            .blocking(move |store| {
                let ids: Vec<&str> = tenant_ids.iter().map(String::as_str).collect();
                find_tenants(&mut *store.conn()?, &ids)
            })
            .await?
            .into_iter()
            .filter_map(|tenant| match tenant.recovery_policy() {
                Ok(policy) => Some((tenant.id.clone(), (tenant, policy))),
                Err(error) => {
                    tracing::error!(tenant = %tenant.id, %error, "tenant policy unreadable; its carts are quarantined");
                    None
                }
            })
            .collect();
        // Carts abandoned now join a running experiment before anything is
        // decided for them: a held-out cart must not get its first email.
        let tenant_policies: HashMap<String, RecoveryPolicy> = tenants
            .iter()
            .map(|(id, (_, policy))| (id.clone(), policy.clone()))
            .collect();
        let (claimed, policies) = self
            .blocking(move |store| {
                let mut claimed = claimed;
                let policies = assign_and_resolve(
                    store,
                    &mut claimed,
                    tenant_policies,
                    now,
                    |cart, policy| {
                        cart.facts()
                            .ok()
                            .and_then(|facts| {
                                evaluate_guarded(&facts, &cart.send_context(), policy, now).ok()
                            })
                            .is_some_and(|e| e.transition == Some(CartStatus::Abandoned))
                    },
                )?;
                Ok((claimed, policies))
            })
            .await?;
        let policies = Arc::new(policies);

        let mut release: Vec<CartKey> = Vec::with_capacity(claimed.len());
        let mut events: Vec<NewCartEvent> = Vec::new();
        let mut outcomes: HashMap<String, CartOutcome> = HashMap::new();
        // Carts this pass could not process, with the reason: released into
        // quarantine so one tenant's bad data never stops the others' emails.
        let mut quarantine: HashMap<String, String> = HashMap::new();
        let mut wanted: Vec<CartKey> = Vec::new();
        for cart in &claimed {
            let Some(policy) = policies.for_cart(cart) else {
                quarantine.insert(
                    cart.id.clone(),
                    "the tenant's recovery policy is unreadable".to_owned(),
                );
                release.push(CartKey::of(cart));
                continue;
            };
            let evaluation = cart
                .facts()
                .map_err(|error| format!("cart row unreadable: {error}"))
                .and_then(|facts| evaluate_guarded(&facts, &cart.send_context(), policy, now));
            let evaluation = match evaluation {
                Ok(evaluation) => evaluation,
                Err(reason) => {
                    quarantine.insert(cart.id.clone(), reason);
                    release.push(CartKey::of(cart));
                    continue;
                }
            };
            if evaluation.send_now.is_some() {
                wanted.push(CartKey::of(cart));
            } else {
                if evaluation.transition == Some(CartStatus::Abandoned) {
                    tracing::info!(cart = %cart.id, reason = evaluation.reason(), "cart abandoned");
                }
                events.extend(no_send_event(cart, &evaluation));
                release.push(CartKey::of(cart));
            }
        }

        let phase = std::time::Instant::now();
        let deliveries = self
            .start(
                wanted,
                &tenants,
                &policies,
                now,
                &mut release,
                &mut outcomes,
                &mut events,
                &mut quarantine,
            )
            .await?;
        let start_ms = phase.elapsed().as_millis();
        let emails = deliveries.len();
        let phase = std::time::Instant::now();
        let finished = self
            .deliver_all(
                deliveries,
                &mut release,
                &mut outcomes,
                &mut events,
                &mut quarantine,
            )
            .await;
        let deliver_ms = phase.elapsed().as_millis();
        let phase = std::time::Instant::now();
        let settled = self
            .settle(finished, events, release, policies, outcomes, quarantine)
            .await;
        tracing::debug!(
            carts = claimed.len(),
            emails,
            start_ms,
            deliver_ms,
            settle_ms = phase.elapsed().as_millis(),
            "batch done"
        );
        settled
    }

    /// Takes the send rows of every cart still due, in one transaction, and pairs
    /// each ready send with its tenant's provider.
    #[expect(
        clippy::too_many_arguments,
        reason = "the pass's four accumulators travel separately; bundling them is a refactor of its own"
    )]
    async fn start(
        &self,
        wanted: Vec<CartKey>,
        tenants: &HashMap<String, (Tenant, RecoveryPolicy)>,
        policies: &Arc<CartPolicies>,
        now: DateTime<Utc>,
        release: &mut Vec<CartKey>,
        outcomes: &mut HashMap<String, CartOutcome>,
        events: &mut Vec<NewCartEvent>,
        quarantine: &mut HashMap<String, String>,
    ) -> Result<Vec<Delivery>, WorkerError> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let lease_until = cartback_domain::bounds::shift(
            now,
            TimeDelta::from_std(self.config.lease).unwrap_or_default(),
        );
        let worker = self.config.worker_id.clone();
        let cart_policies = policies.clone();
        let batch_tenants = BatchTenants {
            link_secrets: tenants
                .iter()
                .map(|(id, (tenant, _))| (id.clone(), tenant.link_secret.clone()))
                .collect(),
            // Only tenants with a cooldown or a daily cap per address need the
            // shopper's other carts and emails read.
            customer_history: tenants
                .iter()
                .filter(|(_, (_, policy))| {
                    policy.customer_cooldown().is_some()
                        || policy.max_emails_per_address_per_day > 0
                })
                .map(|(id, _)| id.clone())
                .collect(),
            providers: HashMap::new(),
        };
        // The providers are looked up before the sends are taken: a send that an
        // earlier worker never finished may be repeated only through a provider
        // that drops repeats of its key (one lookup per tenant, not per email).
        let sending: BTreeSet<String> = wanted.iter().map(|k| k.tenant_id.clone()).collect();
        let with_links: BTreeMap<String, Option<String>> = if self.stripe.is_some() {
            sending
                .iter()
                .filter_map(|id| Some((id.clone(), tenants.get(id)?.0.recovery_url.clone())))
                .collect()
        } else {
            BTreeMap::new()
        };
        let (providers, store) = (self.providers.clone(), self.store.clone());
        let (handles, payments): (ProviderHandles, PaymentSetups) =
            tokio::task::spawn_blocking(move || {
                let handles = sending
                    .into_iter()
                    .map(|tenant| {
                        let handle = providers.for_tenant(&store, &tenant);
                        (tenant, handle)
                    })
                    .collect();
                let payments = if with_links.is_empty() {
                    HashMap::new()
                } else {
                    payment_setups(&store, &providers.keys, &with_links)
                };
                (handles, payments)
            })
            .await?;
        let batch_tenants = BatchTenants {
            providers: handles
                .iter()
                .filter_map(|(tenant, handle)| {
                    Some((tenant.clone(), sending_through(handle.as_ref().ok()?)))
                })
                .collect(),
            ..batch_tenants
        };
        let keys = wanted.clone();
        let (started, contexts, skipped, failed) = self
            .blocking(move |store| {
                let mut contexts: HashMap<String, SendContext> = HashMap::new();
                let mut skipped: Vec<NewCartEvent> = Vec::new();
                let mut failed: Vec<(String, String)> = Vec::new();
                let started = start_sends(
                    &mut *store.conn()?,
                    &keys,
                    &worker,
                    now,
                    lease_until,
                    &batch_tenants,
                    |fresh, shopper| {
                        // Re-read right before sending: ordered, emptied, email removed,
                        // address suppressed, the shopper already in a sequence?
                        let Some(policy) = cart_policies.for_cart(fresh) else {
                            return Ok(None);
                        };
                        let context = start_context(fresh, shopper, policy, now);
                        contexts.insert(fresh.id.clone(), context);
                        let evaluation = match fresh
                            .facts()
                            .map_err(|error| format!("cart row unreadable: {error}"))
                            .and_then(|facts| evaluate_guarded(&facts, &context, policy, now))
                        {
                            Ok(evaluation) => evaluation,
                            Err(reason) => {
                                // Not sent; released into quarantine below.
                                failed.push((fresh.id.clone(), reason));
                                return Ok(None);
                            }
                        };
                        if evaluation.send_now.is_none() {
                            skipped.extend(no_send_event(fresh, &evaluation));
                        }
                        Ok(evaluation.send_now.map(|step| SendDecision {
                            step,
                            mark_abandoned: evaluation.transition == Some(CartStatus::Abandoned),
                        }))
                    },
                )?;
                Ok((started, contexts, skipped, failed))
            })
            .await?;
        events.extend(skipped);
        quarantine.extend(failed);
        for (cart_id, context) in contexts {
            outcomes.entry(cart_id).or_default().shopper = Some(context);
        }

        let mut ready: Vec<(CartRow, SendRow)> = Vec::new();
        for (key, start) in wanted.into_iter().zip(started) {
            match start {
                StartSend::LeaseLost => {
                    tracing::warn!(cart = %key.cart_id, "lease lost before sending; another worker owns the cart");
                }
                StartSend::NotDue { .. } => release.push(key),
                StartSend::AlreadyFinal { send, .. } => {
                    outcomes
                        .entry(key.cart_id.clone())
                        .or_default()
                        .finished_step = u32::try_from(send.step).ok();
                    release.push(key);
                }
                StartSend::Unknown { send, .. } => {
                    // Loud: each one is a shopper who may have got no email, or
                    // one the shop cannot confirm.
                    tracing::warn!(
                        cart = %key.cart_id,
                        step = send.step + 1,
                        provider = send.provider.as_deref().unwrap_or("unknown"),
                        "a send's worker stopped while the provider had it; recorded as unknown, not repeated"
                    );
                    outcomes
                        .entry(key.cart_id.clone())
                        .or_default()
                        .finished_step = u32::try_from(send.step).ok();
                    release.push(key);
                }
                StartSend::Ready { cart, send } => ready.push((cart, send)),
            }
        }

        // The tenants' own templates the ready steps use, read once per batch.
        let mut wanted_templates: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (cart, send) in &ready {
            if let Some(policy) = policies.for_cart(cart)
                && let Some(name) =
                    custom_template_of(policy, u32::try_from(send.step).unwrap_or(0))
            {
                wanted_templates
                    .entry(cart.tenant_id.clone())
                    .or_default()
                    .insert(name.to_owned());
            }
        }
        let custom: Vec<TemplateRow> = if wanted_templates.is_empty() {
            Vec::new()
        } else {
            self.blocking(move |store| {
                let mut conn = store.conn()?;
                let mut rows = Vec::new();
                for (tenant, names) in &wanted_templates {
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    rows.extend(templates_named(&mut conn, tenant, &names)?);
                }
                Ok(rows)
            })
            .await?
        };
        Ok(ready
            .into_iter()
            .filter_map(|(cart, send)| {
                let (tenant, _) = tenants.get(&cart.tenant_id)?;
                let policy = policies.for_cart(&cart)?;
                let provider = handles.get(&cart.tenant_id)?.clone();
                let step = u32::try_from(send.step).unwrap_or(0);
                let custom = custom_template_of(policy, step)
                    .map(|name| {
                        custom
                            .iter()
                            .filter(|t| t.tenant_id == cart.tenant_id && t.name == name)
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                Some(Delivery {
                    words: policies.copy_for(&cart, step),
                    payment: payments.get(&cart.tenant_id).cloned(),
                    custom,
                    coupon: coupon_code(tenant, policy, &cart, step),
                    tenant: tenant.clone(),
                    policy: policy.clone(),
                    cart,
                    send,
                    provider,
                })
            })
            .collect())
    }

    /// Renders and sends every delivery on a task of its own; each provider's
    /// permits bound how many of its sends are in flight.
    async fn deliver_all(
        &self,
        deliveries: Vec<Delivery>,
        release: &mut Vec<CartKey>,
        outcomes: &mut HashMap<String, CartOutcome>,
        events: &mut Vec<NewCartEvent>,
        quarantine: &mut HashMap<String, String>,
    ) -> Vec<FinishedSend> {
        let mut tasks = JoinSet::new();
        let gate = Arc::new(WithdrawalGate::new(
            self.store.clone(),
            deliveries.iter().map(|d| CartKey::of(&d.cart)).collect(),
        ));
        // Which cart and send each task carries, for a task that panics.
        let mut spawned: HashMap<tokio::task::Id, (CartKey, String, i32)> = HashMap::new();
        for delivery in deliveries {
            let about = (
                CartKey::of(&delivery.cart),
                delivery.send.id.clone(),
                delivery.send.step,
            );
            let task = tasks.spawn(deliver(
                self.config.clone(),
                self.stripe.clone(),
                gate.clone(),
                delivery,
            ));
            spawned.insert(task.id(), about);
        }
        let mut finished = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let delivered = match joined {
                Ok(delivered) => delivered,
                Err(error) => {
                    let Some((key, send_id, step)) = spawned.remove(&error.id()) else {
                        tracing::error!(%error, "delivery task failed and cannot be traced to its cart");
                        continue;
                    };
                    // Rendering or the provider call panicked: whether the provider
                    // took the email cannot be known, so the send is `unknown`
                    // (never repeated blindly) and the cart is quarantined. The
                    // rest of the batch is recorded as usual.
                    let reason = match error.try_into_panic() {
                        Ok(panic) => {
                            format!("delivery panicked: {}", panic_message(panic.as_ref()))
                        }
                        Err(error) => format!("delivery task failed: {error}"),
                    };
                    tracing::error!(cart = %key.cart_id, tenant = %key.tenant_id, step = step + 1, %reason, "delivery of a recovery email failed inside the worker");
                    events.push(NewCartEvent {
                        tenant_id: key.tenant_id.clone(),
                        cart_id: key.cart_id.clone(),
                        kind: CartEventKind::Unknown,
                        step: Some(step),
                        detail: Some(format!("outcome unknown: {reason}")),
                    });
                    finished.push(FinishedSend {
                        send_id,
                        result: SendResult::Unknown {
                            error: reason.clone(),
                        },
                    });
                    quarantine.insert(key.cart_id.clone(), reason);
                    release.push(key);
                    continue;
                }
            };
            let (result, outcome) = self.judge(&delivered);
            let entry = outcomes.entry(delivered.cart.id.clone()).or_default();
            entry.finished_step = outcome.finished_step;
            entry.retry = outcome.retry;
            let history = match &result {
                SendResult::Sent { provider, .. } => Some((CartEventKind::Sent, provider.clone())),
                SendResult::Dead { error } => Some((CartEventKind::Failed, error.clone())),
                SendResult::Unknown { error } => Some((
                    CartEventKind::Unknown,
                    format!("outcome unknown through {}: {error}", delivered.provider),
                )),
                SendResult::Retry { .. } | SendResult::Cancelled { .. } => None,
            };
            if let Some((kind, detail)) = history {
                events.push(NewCartEvent {
                    tenant_id: delivered.cart.tenant_id.clone(),
                    cart_id: delivered.cart.id.clone(),
                    kind,
                    step: Some(delivered.send.step),
                    detail: Some(detail),
                });
            }
            release.push(CartKey::of(&delivered.cart));
            finished.push(FinishedSend {
                send_id: delivered.send.id.clone(),
                result,
            });
        }
        finished
    }

    /// What a delivery's outcome means for its send row and its cart.
    fn judge(&self, delivered: &Delivered) -> (SendResult, CartOutcome) {
        let Delivered {
            coupon,
            cart,
            send,
            provider,
            idempotency,
            withdrawn,
            outcome,
        } = delivered;
        let step = u32::try_from(send.step).unwrap_or(0);
        if *withdrawn {
            tracing::info!(cart = %cart.id, step = step + 1, "cart erased or deleted before delivery; email not sent");
            return (
                SendResult::Cancelled {
                    reason:
                        "the cart was erased or deleted before the email was handed to the provider"
                            .to_owned(),
                },
                CartOutcome::default(),
            );
        }
        match outcome {
            Ok(receipt) => {
                tracing::info!(cart = %cart.id, step = step + 1, provider, "recovery email sent");
                (
                    SendResult::Sent {
                        provider: (*provider).to_owned(),
                        provider_message_id: receipt.provider_message_id.clone(),
                        coupon_code: coupon.clone(),
                    },
                    CartOutcome::finished(step),
                )
            }
            Err(error @ EmailError::Unknown { .. }) if *idempotency == Idempotency::None => {
                let message = describe(error);
                tracing::warn!(cart = %cart.id, step = step + 1, provider, error = %message, "send outcome unknown; not repeated");
                (
                    SendResult::Unknown { error: message },
                    CartOutcome::finished(step),
                )
            }
            Err(error) => {
                let attempts = u32::try_from(send.attempts).unwrap_or(u32::MAX);
                let message = describe(error);
                match self.retry_at(error, attempts) {
                    Some(at) => {
                        tracing::warn!(cart = %cart.id, step = step + 1, attempts, error = %message, "send failed; will retry");
                        (
                            SendResult::Retry { error: message, at },
                            CartOutcome {
                                retry: Some((step, at)),
                                ..CartOutcome::default()
                            },
                        )
                    }
                    None => {
                        tracing::warn!(cart = %cart.id, step = step + 1, attempts, error = %message, "send failed for good");
                        (
                            SendResult::Dead { error: message },
                            CartOutcome::finished(step),
                        )
                    }
                }
            }
        }
    }

    /// When to try a failed send again, if at all. An unknown outcome reaches here
    /// only for a provider that drops repeats of the key, so asking again is safe.
    fn retry_at(&self, error: &EmailError, attempts: u32) -> Option<DateTime<Utc>> {
        if !error.is_retryable() && !matches!(error, EmailError::Unknown { .. }) {
            return None;
        }
        let jitter: f64 = rand::random();
        retry_delay(
            attempts,
            self.config.max_attempts,
            TimeDelta::from_std(self.config.retry_base).unwrap_or_default(),
            jitter,
        )
        .map(|delay| {
            let hinted = error
                .retry_after()
                .and_then(|d| TimeDelta::from_std(d).ok())
                .unwrap_or_default();
            // Saturating: a provider's retry hint may be absurd.
            cartback_domain::bounds::shift(Utc::now(), delay.max(hinted))
        })
    }

    /// Records every result and lets go of every cart in one transaction. Retried a
    /// few times: the emails have gone out, and losing their record would mean the
    /// carts come back after the lease and providers without idempotency resend.
    async fn settle(
        &self,
        finished: Vec<FinishedSend>,
        events: Vec<NewCartEvent>,
        release: Vec<CartKey>,
        policies: Arc<CartPolicies>,
        outcomes: HashMap<String, CartOutcome>,
        quarantine: HashMap<String, String>,
    ) -> Result<(), WorkerError> {
        if finished.is_empty() && release.is_empty() {
            return Ok(());
        }
        let quarantine = std::sync::Arc::new(quarantine);
        let shared = std::sync::Arc::new((finished, events, release, policies, outcomes));
        let mut pause = Duration::from_millis(50);
        let mut attempt = 1;
        loop {
            let worker = self.config.worker_id.clone();
            let batch = shared.clone();
            let quarantine = quarantine.clone();
            let result = self
                .blocking(move |store| {
                    let (finished, events, release, policies, outcomes) = &*batch;
                    let now = Utc::now();
                    settle(
                        &mut *store.conn()?,
                        &worker,
                        now,
                        finished,
                        events,
                        release,
                        |row| {
                            if let Some(reason) = quarantine.get(&row.id) {
                                return Ok(quarantine_release(row, reason.clone()));
                            }
                            let Some(policy) = policies.for_cart(row) else {
                                return Ok(quarantine_release(
                                    row,
                                    "the tenant's recovery policy is unreadable".to_owned(),
                                ));
                            };
                            let outcome = outcomes.get(&row.id).copied().unwrap_or_default();
                            Ok(plan_release(row, policy, now, outcome))
                        },
                    )
                })
                .await;
            match result {
                Ok(held) => {
                    if held < shared.2.len() {
                        tracing::warn!(
                            lost = shared.2.len() - held,
                            "leases lost before release; other workers own those carts"
                        );
                    }
                    return Ok(());
                }
                Err(error) if attempt < 4 => {
                    tracing::warn!(%error, attempt, "recording the batch failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 4;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }
}

/// Renders and sends one email, waiting for a permit of its provider first.
async fn deliver(
    config: WorkerConfig,
    stripe: Option<StripeClient>,
    gate: Arc<WithdrawalGate>,
    delivery: Delivery,
) -> Delivered {
    let Delivery {
        payment,
        tenant,
        policy,
        coupon,
        custom,
        words,
        cart,
        send,
        provider,
    } = delivery;
    let handle = match provider {
        Ok(handle) => handle,
        Err(error) => {
            return Delivered {
                coupon,
                cart,
                send,
                provider: "none",
                idempotency: Idempotency::None,
                withdrawn: false,
                outcome: Err(error),
            };
        }
    };
    let kind = handle.provider.kind();
    let idempotency = handle.provider.idempotency();
    let link = match (&stripe, &payment) {
        (Some(stripe), Some(setup)) => payment_link(stripe, setup, &cart, &send).await,
        _ => None,
    };
    let rendered = render_recovery_email(
        &tenant,
        &policy,
        &cart,
        &send,
        Offer {
            coupon: coupon.as_deref(),
            payment_link: link.as_deref(),
            words: words.as_ref(),
        },
        &custom,
        &config.public_url,
    );
    let message = match rendered {
        Ok(message) => message,
        Err(error) => {
            return Delivered {
                coupon,
                cart,
                send,
                provider: kind,
                idempotency,
                withdrawn: false,
                outcome: Err(error),
            };
        }
    };
    // Only closed when the worker drops the provider; a closed semaphore means no
    // bound, which is still correct.
    let _permit = handle.permits.acquire_owned().await.ok();
    // Last look before the email leaves: erased or deleted meanwhile?
    if gate.withdrawn(&cart.id).await {
        return Delivered {
            coupon,
            cart,
            send,
            provider: kind,
            idempotency,
            withdrawn: true,
            outcome: Err(EmailError::Unknown {
                message: "not sent".to_owned(),
            }),
        };
    }
    let outcome = handle.provider.send(&message).await;
    Delivered {
        coupon,
        cart,
        send,
        provider: kind,
        idempotency,
        withdrawn: false,
        outcome,
    }
}

fn describe(error: &EmailError) -> String {
    let text = error.to_string();
    // Provider answers can be long; keep the stored reason readable.
    text.chars().take(500).collect()
}

//! One claimed cart, start to finish.

use chrono::{DateTime, TimeDelta, Utc};

use cartback_domain::{CartStatus, RecoveryPolicy, evaluate, retry_delay};
use cartback_email::EmailError;
use cartback_store::Store;
use cartback_store::carts::{CartRelease, CartRow, release_cart};
use cartback_store::sends::{
    SendDecision, SendRow, SendStatus, StartSend, finish_sent, finish_unsent, start_send,
};
use cartback_store::tenants::{Tenant, find_tenant};

use crate::WorkerError;
use crate::commit::RecordSent;
use crate::config::WorkerConfig;
use crate::providers::Providers;
use crate::render::render_recovery_email;

pub(crate) struct CartJob {
    pub store: Store,
    pub providers: Providers,
    pub config: WorkerConfig,
    pub cart: CartRow,
}

/// What the worker writes back on letting go of a cart: decided afresh from the cart
/// as it is at that moment.
fn plan_release(
    row: &CartRow,
    policy: &RecoveryPolicy,
    now: DateTime<Utc>,
    finished_step: Option<u32>,
    retry: Option<(u32, DateTime<Utc>)>,
) -> cartback_store::StoreResult<CartRelease> {
    let mut facts = row.facts()?;
    if let Some(step) = finished_step
        && facts.next_step == step
    {
        facts.next_step = step + 1;
    }
    let evaluation = evaluate(&facts, policy, now);
    let status = evaluation.transition.unwrap_or(facts.status);
    let next_action_at = match (evaluation.transition, retry, evaluation.send_now) {
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
    })
}

impl CartJob {
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> cartback_store::StoreResult<T> + Send + 'static,
    ) -> Result<T, WorkerError> {
        let store = self.store.clone();
        Ok(tokio::task::spawn_blocking(move || work(&store)).await??)
    }

    async fn release(
        &self,
        policy: &RecoveryPolicy,
        finished_step: Option<u32>,
        retry: Option<(u32, DateTime<Utc>)>,
    ) -> Result<(), WorkerError> {
        let (tenant_id, cart_id) = (self.cart.tenant_id.clone(), self.cart.id.clone());
        let worker = self.config.worker_id.clone();
        let policy = policy.clone();
        let released = self
            .blocking(move |store| {
                let now = Utc::now();
                release_cart(
                    &mut *store.conn()?,
                    &tenant_id,
                    &cart_id,
                    &worker,
                    now,
                    |row| plan_release(row, &policy, now, finished_step, retry),
                )
            })
            .await?;
        if !released {
            tracing::warn!(cart = %self.cart.id, "lease lost before release; another worker owns the cart");
        }
        Ok(())
    }

    pub async fn run(self) -> Result<(), WorkerError> {
        let tenant_id = self.cart.tenant_id.clone();
        let Some(tenant) = self
            .blocking(move |store| find_tenant(&mut *store.conn()?, &tenant_id))
            .await?
        else {
            return Ok(());
        };
        let policy = tenant.recovery_policy()?;
        let now = Utc::now();
        let evaluation = evaluate(&self.cart.facts()?, &policy, now);
        if evaluation.send_now.is_none() {
            if evaluation.transition == Some(CartStatus::Abandoned) {
                tracing::info!(cart = %self.cart.id, reason = ?evaluation.no_send, "cart abandoned");
            }
            return self.release(&policy, None, None).await;
        }
        let lease_until = now + TimeDelta::from_std(self.config.lease).unwrap_or_default();
        let (tenant_id, cart_id) = (self.cart.tenant_id.clone(), self.cart.id.clone());
        let worker = self.config.worker_id.clone();
        let decide_policy = policy.clone();
        let started = self
            .blocking(move |store| {
                start_send(
                    &mut *store.conn()?,
                    &tenant_id,
                    &cart_id,
                    &worker,
                    now,
                    lease_until,
                    |fresh| {
                        // Re-read right before sending: ordered, emptied, email removed?
                        let evaluation = evaluate(&fresh.facts()?, &decide_policy, now);
                        Ok(evaluation.send_now.map(|step| SendDecision {
                            step,
                            mark_abandoned: evaluation.transition == Some(CartStatus::Abandoned),
                        }))
                    },
                )
            })
            .await?;
        match started {
            StartSend::LeaseLost => Ok(()),
            StartSend::NotDue { .. } => self.release(&policy, None, None).await,
            StartSend::AlreadyFinal { send, .. } => {
                let step = u32::try_from(send.step).unwrap_or(0);
                self.release(&policy, Some(step), None).await
            }
            StartSend::Ready { cart, send } => self.deliver(&tenant, &policy, &cart, send).await,
        }
    }

    async fn deliver(
        &self,
        tenant: &Tenant,
        policy: &RecoveryPolicy,
        cart: &CartRow,
        send: SendRow,
    ) -> Result<(), WorkerError> {
        let step = u32::try_from(send.step).unwrap_or(0);
        let (providers, store, tenant_id) = (
            self.providers.clone(),
            self.store.clone(),
            tenant.id.clone(),
        );
        let provider =
            tokio::task::spawn_blocking(move || providers.for_tenant(&store, &tenant_id)).await?;
        let kind = provider.as_ref().map_or("none", |p| p.kind());
        let outcome = match (
            provider,
            render_recovery_email(tenant, cart, &send, &self.config.public_url),
        ) {
            (Ok(provider), Ok(message)) => {
                let commit = RecordSent {
                    store: self.store.clone(),
                    send_id: send.id.clone(),
                    worker_id: self.config.worker_id.clone(),
                    provider: provider.kind(),
                };
                provider.send(&message, &commit).await
            }
            (Err(error), _) | (_, Err(error)) => Err(error),
        };
        let send_id = send.id.clone();
        let worker = self.config.worker_id.clone();
        let provider = kind;
        match outcome {
            Ok(receipt) => {
                tracing::info!(cart = %cart.id, step, provider, "recovery email sent");
                self.blocking(move |store| {
                    finish_sent(
                        &mut *store.conn()?,
                        &send_id,
                        &worker,
                        provider,
                        receipt.provider_message_id.as_deref(),
                        Utc::now(),
                    )
                })
                .await?;
                self.release(policy, Some(step), None).await
            }
            Err(error) => {
                let attempts = u32::try_from(send.attempts).unwrap_or(u32::MAX);
                let retry_at = if error.is_retryable() {
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
                        Utc::now() + delay.max(hinted)
                    })
                } else {
                    None
                };
                let message = describe(&error);
                match retry_at {
                    Some(at) => {
                        tracing::warn!(cart = %cart.id, step, attempts, error = %message, "send failed; will retry");
                        self.blocking(move |store| {
                            finish_unsent(
                                &mut *store.conn()?,
                                &send_id,
                                &worker,
                                SendStatus::Retry,
                                Some(&message),
                                Some(at),
                                Utc::now(),
                            )
                        })
                        .await?;
                        self.release(policy, None, Some((step, at))).await
                    }
                    None => {
                        tracing::warn!(cart = %cart.id, step, attempts, error = %message, "send failed for good");
                        self.blocking(move |store| {
                            finish_unsent(
                                &mut *store.conn()?,
                                &send_id,
                                &worker,
                                SendStatus::Dead,
                                Some(&message),
                                None,
                                Utc::now(),
                            )
                        })
                        .await?;
                        self.release(policy, Some(step), None).await
                    }
                }
            }
        }
    }
}

fn describe(error: &EmailError) -> String {
    let text = error.to_string();
    // Provider answers can be long; keep the stored reason readable.
    text.chars().take(500).collect()
}

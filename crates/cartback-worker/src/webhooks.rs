//! Delivers the webhook outbox: claims due deliveries with a lease, signs and
//! POSTs them concurrently outside any transaction, and records every attempt of
//! the batch in one transaction.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use cartback_store::Store;
use cartback_store::crypto::{MasterKeys, Purpose};
use cartback_store::webhooks::{
    AttemptResult, ClaimedDelivery, DeliveryStatus, claim_due_deliveries, finish_attempts,
};
use cartback_webhooks::{
    Deliverer, DelivererConfig, DeliveryOutcome, RetrySchedule, signed_headers,
};

use crate::WorkerError;

/// How webhooks go out.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Delays between attempts; dead after the last.
    pub schedule: RetrySchedule,
    /// One attempt's limit.
    pub timeout: Duration,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Deliveries claimed per pass.
    pub batch_size: i64,
    /// Allow private, loopback and link-local targets (tests, private networks).
    pub allow_private: bool,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            schedule: RetrySchedule::default(),
            timeout: Duration::from_secs(15),
            concurrency: 16,
            batch_size: 100,
            allow_private: false,
        }
    }
}

#[derive(Clone)]
pub(crate) struct WebhookSender {
    store: Store,
    deliverer: Deliverer,
    master_keys: Arc<MasterKeys>,
    config: WebhookConfig,
    worker_id: String,
}

impl WebhookSender {
    pub(crate) fn new(
        store: Store,
        master_keys: Arc<MasterKeys>,
        config: WebhookConfig,
        worker_id: String,
    ) -> Result<WebhookSender, cartback_webhooks::DeliverError> {
        let deliverer = Deliverer::new(DelivererConfig {
            timeout: config.timeout,
            allow_private: config.allow_private,
            user_agent: None,
        })?;
        Ok(WebhookSender {
            store,
            deliverer,
            master_keys,
            config,
            worker_id,
        })
    }

    pub(crate) fn batch_size(&self) -> i64 {
        self.config.batch_size
    }

    /// One pass: returns how many deliveries it attempted.
    pub(crate) async fn run_once(&self) -> Result<usize, WorkerError> {
        let now = Utc::now();
        // Longer than one attempt can take, so a live worker never loses its lease.
        let lease = TimeDelta::from_std(self.config.timeout + Duration::from_secs(30))
            .unwrap_or(TimeDelta::minutes(1));
        let store = self.store.clone();
        let worker = self.worker_id.clone();
        let limit = self.config.batch_size;
        let claimed = tokio::task::spawn_blocking(move || {
            claim_due_deliveries(
                &mut *store.conn()?,
                &worker,
                now,
                cartback_domain::bounds::shift(now, lease),
                limit,
            )
        })
        .await??;
        if claimed.is_empty() {
            return Ok(0);
        }
        let count = claimed.len();
        let limit = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let mut attempts = JoinSet::new();
        // What a panicking attempt needs to be recorded as a failed one.
        let mut spawned = std::collections::HashMap::new();
        for delivery in claimed {
            let sender = self.clone();
            let limit = limit.clone();
            let about = (
                delivery.delivery.id.clone(),
                delivery.delivery.tenant_id.clone(),
                delivery.delivery.endpoint_id.clone(),
                u32::try_from(delivery.delivery.attempts).unwrap_or(u32::MAX),
            );
            let task = attempts.spawn(async move {
                let _permit = limit.acquire_owned().await;
                sender.attempt(delivery).await
            });
            spawned.insert(task.id(), about);
        }
        let mut results = Vec::with_capacity(count);
        while let Some(result) = attempts.join_next().await {
            match result {
                Ok(result) => results.push(result),
                Err(error) => {
                    // Last line of defence: one attempt's panic must not lose the
                    // others' results. It counts as a failed attempt and retries
                    // on the schedule like any other failure.
                    let Some((delivery_id, tenant_id, endpoint_id, attempt)) =
                        spawned.remove(&error.id())
                    else {
                        continue;
                    };
                    tracing::error!(delivery = %delivery_id, tenant = %tenant_id, %error, "webhook attempt panicked; recorded as a failed attempt");
                    let outcome = DeliveryOutcome::Failed {
                        status: None,
                        error: "the delivery attempt failed inside the worker".to_owned(),
                    };
                    let plan = plan_next(
                        &self.config.schedule,
                        attempt,
                        rand::random::<f64>(),
                        &outcome,
                        Utc::now(),
                    );
                    results.push(AttemptResult {
                        delivery_id,
                        tenant_id,
                        endpoint_id,
                        status: plan.status,
                        next_attempt_at: plan.next_attempt_at,
                        status_code: plan.status_code,
                        error: plan.error,
                        disable_endpoint: plan.disable_endpoint,
                    });
                }
            }
        }
        let store = self.store.clone();
        let worker = self.worker_id.clone();
        let finished = tokio::task::spawn_blocking(move || {
            finish_attempts(&mut *store.conn()?, &worker, &results, Utc::now())
        })
        .await??;
        tracing::debug!(count, finished, "webhook deliveries attempted");
        Ok(count)
    }

    async fn attempt(&self, claimed: ClaimedDelivery) -> AttemptResult {
        let ClaimedDelivery { delivery, endpoint } = claimed;
        let now = Utc::now();
        let sealed = endpoint.signing_secrets(now);
        let secrets: Result<Vec<String>, String> = sealed
            .iter()
            .map(|s| {
                self.master_keys
                    .open(Purpose::WebhookSecret, &endpoint.tenant_id, s)
                    .map_err(|e| e.to_string())
                    .and_then(|bytes| String::from_utf8(bytes).map_err(|e| e.to_string()))
            })
            .collect();
        let outcome = match secrets {
            Err(error) => DeliveryOutcome::Failed {
                status: None,
                error: format!("cannot open the endpoint's secret: {error}"),
            },
            Ok(secrets) => {
                let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
                match signed_headers(
                    &secrets,
                    &delivery.id,
                    now.timestamp(),
                    delivery.payload.as_bytes(),
                ) {
                    Ok(headers) => {
                        self.deliverer
                            .deliver(&endpoint.url, &headers, delivery.payload.as_bytes())
                            .await
                    }
                    Err(error) => DeliveryOutcome::Failed {
                        status: None,
                        error: format!("the endpoint's secret is unusable: {error}"),
                    },
                }
            }
        };
        let attempt = u32::try_from(delivery.attempts).unwrap_or(u32::MAX);
        let jitter = rand::random::<f64>();
        let plan = plan_next(&self.config.schedule, attempt, jitter, &outcome, Utc::now());
        tracing::debug!(
            delivery = %delivery.id,
            endpoint = %endpoint.id,
            event = %delivery.event,
            attempt,
            status = ?plan.status,
            "webhook attempt"
        );
        AttemptResult {
            delivery_id: delivery.id,
            tenant_id: delivery.tenant_id,
            endpoint_id: delivery.endpoint_id,
            status: plan.status,
            next_attempt_at: plan.next_attempt_at,
            status_code: plan.status_code,
            error: plan.error,
            disable_endpoint: plan.disable_endpoint,
        }
    }
}

/// What one attempt's outcome means for the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NextStep {
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub disable_endpoint: Option<String>,
}

/// 2xx succeeds; 410 ends the delivery and disables its endpoint; anything else
/// waits for the schedule's next slot (at least as long as a 429/503's
/// Retry-After asks) until the schedule runs out, then the delivery is dead.
pub(crate) fn plan_next(
    schedule: &RetrySchedule,
    attempt: u32,
    jitter: f64,
    outcome: &DeliveryOutcome,
    now: DateTime<Utc>,
) -> NextStep {
    let retry = |status_code: Option<u16>, error: String, at_least: Duration| match schedule
        .delay_after(attempt, jitter)
    {
        Some(delay) => NextStep {
            status: DeliveryStatus::Pending,
            // Saturating: a receiver's Retry-After may be absurd.
            next_attempt_at: Some(cartback_domain::bounds::shift(
                now,
                TimeDelta::from_std(delay.max(at_least)).unwrap_or(TimeDelta::days(1)),
            )),
            status_code,
            error: Some(error),
            disable_endpoint: None,
        },
        None => NextStep {
            status: DeliveryStatus::Dead,
            next_attempt_at: None,
            status_code,
            error: Some(format!("{error} (gave up after {attempt} attempts)")),
            disable_endpoint: None,
        },
    };
    match outcome {
        DeliveryOutcome::Delivered { status } => NextStep {
            status: DeliveryStatus::Succeeded,
            next_attempt_at: None,
            status_code: Some(*status),
            error: None,
            disable_endpoint: None,
        },
        DeliveryOutcome::Gone => NextStep {
            status: DeliveryStatus::Dead,
            next_attempt_at: None,
            status_code: Some(410),
            error: Some("the receiver answered 410 Gone".to_owned()),
            disable_endpoint: Some(
                "the receiver answered 410 Gone; enable the endpoint again to resume".to_owned(),
            ),
        },
        DeliveryOutcome::RetryAfter { status, after } => retry(
            Some(*status),
            format!("HTTP {status}: retry after {}s", after.as_secs()),
            *after,
        ),
        DeliveryOutcome::Failed { status, error } => retry(*status, error.clone(), Duration::ZERO),
        DeliveryOutcome::Refused { reason } => {
            retry(None, format!("target refused: {reason}"), Duration::ZERO)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> RetrySchedule {
        RetrySchedule::new(vec![Duration::from_secs(5), Duration::from_secs(60)])
    }

    #[test]
    fn outcomes_map_to_the_next_step() {
        let now = Utc::now();
        let ok = plan_next(
            &schedule(),
            1,
            0.5,
            &DeliveryOutcome::Delivered { status: 204 },
            now,
        );
        assert_eq!(ok.status, DeliveryStatus::Succeeded);
        let gone = plan_next(&schedule(), 1, 0.5, &DeliveryOutcome::Gone, now);
        assert_eq!(gone.status, DeliveryStatus::Dead);
        assert!(gone.disable_endpoint.is_some());
        let failed = DeliveryOutcome::Failed {
            status: Some(500),
            error: "HTTP 500".into(),
        };
        let first = plan_next(&schedule(), 1, 0.5, &failed, now);
        assert_eq!(first.status, DeliveryStatus::Pending);
        assert_eq!(first.next_attempt_at, Some(now + TimeDelta::seconds(5)));
        let second = plan_next(&schedule(), 2, 0.5, &failed, now);
        assert_eq!(second.next_attempt_at, Some(now + TimeDelta::seconds(60)));
        let last = plan_next(&schedule(), 3, 0.5, &failed, now);
        assert_eq!(last.status, DeliveryStatus::Dead);
        assert!(last.error.unwrap().contains("gave up after 3 attempts"));
        // Retry-After longer than the schedule's slot wins; shorter does not.
        let busy = DeliveryOutcome::RetryAfter {
            status: 429,
            after: Duration::from_secs(30),
        };
        let waited = plan_next(&schedule(), 1, 0.5, &busy, now);
        assert_eq!(waited.next_attempt_at, Some(now + TimeDelta::seconds(30)));
        assert_eq!(waited.status_code, Some(429));
        let waited = plan_next(&schedule(), 2, 0.5, &busy, now);
        assert_eq!(waited.next_attempt_at, Some(now + TimeDelta::seconds(60)));
    }
}

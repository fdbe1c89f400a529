//! The outbox deliverer: claims due callback events with a lease, POSTs their frozen bytes
//! with Standard Webhooks headers through the SSRF guard, and records the outcome
//! (contract §8.3, §8.4). Slow receivers only ever occupy the deliverer, never the API or
//! the extraction workers.

use std::sync::Arc;
use std::time::Duration;

use motion_core::clock::Clock;
use motion_core::domain::WebhookEvent;
use motion_core::ports::{OutboxStore, StoreResult};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::guard::{AttemptResult, SafeClient};
use super::schedule::{NextStep, RetryPolicy, jitter};
use super::secrets::WebhookSecrets;
use super::sign::{secret_key, signature};

/// How the deliverer runs.
#[derive(Debug, Clone)]
pub struct DelivererSettings {
    /// Attempts in flight at once: a slot is refilled as soon as its attempt ends.
    pub concurrency: u32,
    /// Attempts in flight at once for one user, across every deliverer.
    pub per_user: u32,
    /// Lease on a claimed event; longer than one attempt.
    pub lease: Duration,
    pub poll_interval: Duration,
    pub policy: RetryPolicy,
}

/// The outcome of one delivery attempt, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// Failed; another attempt is scheduled.
    Failed,
    /// Refused by the address guard: ended without retry.
    Blocked,
    /// Ended without success: 410, or the schedule ran out.
    Abandoned,
}

impl Delivery {
    fn label(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Blocked => "blocked",
            Self::Abandoned => "abandoned",
        }
    }
}

pub struct Deliverer {
    outbox: Arc<dyn OutboxStore>,
    secrets: Arc<WebhookSecrets>,
    client: SafeClient,
    clock: Arc<dyn Clock>,
    settings: DelivererSettings,
    owner: String,
    wake: Arc<Notify>,
}

impl Deliverer {
    pub fn new(
        outbox: Arc<dyn OutboxStore>,
        secrets: Arc<WebhookSecrets>,
        client: SafeClient,
        clock: Arc<dyn Clock>,
        settings: DelivererSettings,
        owner: String,
    ) -> Self {
        Self {
            outbox,
            secrets,
            client,
            clock,
            settings,
            owner,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Notify this to make the deliverer look for due events now (after a status change).
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Delivers until `shutdown`; attempts in flight are finished first. Each slot is
    /// refilled as soon as its attempt ends, so a receiver that hangs holds one slot for one
    /// timeout, never the whole deliverer.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut in_flight: JoinSet<Delivery> = JoinSet::new();
        let mut gauge_due = tokio::time::Instant::now();
        while !shutdown.is_cancelled() {
            if let Err(e) = self.fill_slots(&mut in_flight).await {
                tracing::warn!(error = %e, "webhook outbox unavailable");
            }
            // At most once a poll interval, busy or not.
            if tokio::time::Instant::now() >= gauge_due {
                gauge_due = tokio::time::Instant::now() + self.settings.poll_interval;
                if let Ok(pending) = self.outbox.pending_count().await {
                    metrics::gauge!("motiond_webhook_outbox_pending").set(pending as f64);
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
        while in_flight.join_next().await.is_some() {}
        tracing::debug!("webhook deliverer stopped");
    }

    /// Claims due events for the free slots and starts their attempts.
    async fn fill_slots(self: &Arc<Self>, in_flight: &mut JoinSet<Delivery>) -> StoreResult<()> {
        let slots = self.settings.concurrency.max(1) as usize;
        let free = slots.saturating_sub(in_flight.len());
        if free == 0 {
            return Ok(());
        }
        for event in self.claim(free as u32).await? {
            let deliverer = Arc::clone(self);
            in_flight.spawn(async move { deliverer.deliver_one(event).await });
        }
        Ok(())
    }

    async fn claim(&self, limit: u32) -> StoreResult<Vec<WebhookEvent>> {
        let now = self.clock.now_ms();
        let per_user = self.settings.per_user.max(1);
        self.outbox
            .claim_due(&self.owner, self.settings.lease, limit, per_user, now)
            .await
    }

    /// One pass: claims the due events (up to `concurrency`) and delivers them in parallel.
    /// Returns how many were attempted.
    pub async fn deliver_due(&self) -> StoreResult<usize> {
        let events = self.claim(self.settings.concurrency.max(1)).await?;
        let n = events.len();
        futures::future::join_all(events.into_iter().map(|e| self.deliver_one(e))).await;
        Ok(n)
    }

    /// Keeps delivering until no event is due right now (tests; `run_until_idle`).
    pub async fn deliver_until_idle(&self) -> StoreResult<usize> {
        let mut total = 0;
        loop {
            let n = self.deliver_due().await?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
        }
    }

    async fn deliver_one(&self, event: WebhookEvent) -> Delivery {
        let span = tracing::info_span!("webhook", task_id = event.task_id, webhook_id = %event.webhook_id, attempt = event.attempts + 1);
        // Instrumented, never entered with a guard: a guard held across the awaits below
        // leaves a closed span on the thread's stack, and tracing-subscriber 0.3.23 then
        // panics in the next `Span::current()` there (sqlx calls it), killing that task.
        self.attempt_delivery(event).instrument(span).await
    }

    async fn attempt_delivery(&self, event: WebhookEvent) -> Delivery {
        let now = self.clock.now_ms();
        let result = match self.headers(&event, now).await {
            Ok(headers) => {
                self.client
                    .post(&event.url, &headers, event.body.clone())
                    .await
            }
            // Without the secret we cannot sign; treat it as a failed attempt and retry.
            Err(e) => AttemptResult::Failed(format!("webhook secret unavailable: {e}")),
        };
        // The next attempt is scheduled from when this one ended (a hung receiver already
        // cost the attempt timeout), the 24 h window from when it started.
        let outcome = self.record(&event, result, now).await;
        metrics::counter!("motiond_webhook_attempts_total", "outcome" => outcome.label())
            .increment(1);
        outcome
    }

    /// The three Standard Webhooks headers; the secret is read at every attempt so a
    /// rotation applies to retries of older events too.
    async fn headers(
        &self,
        event: &WebhookEvent,
        now_ms: i64,
    ) -> Result<Vec<(&'static str, String)>, String> {
        let secret = self
            .secrets
            .get_or_create(event.user_id)
            .await
            .map_err(|e| e.to_string())?;
        let key = secret_key(&secret).map_err(|e| e.to_string())?;
        let timestamp = now_ms.div_euclid(1000);
        Ok(vec![
            ("webhook-id", event.webhook_id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            (
                "webhook-signature",
                signature(&key, &event.webhook_id, timestamp, &event.body),
            ),
        ])
    }

    async fn record(&self, event: &WebhookEvent, result: AttemptResult, started: i64) -> Delivery {
        let (outcome, error) = match result {
            AttemptResult::Status { status, .. } if (200..300).contains(&status) => {
                (Delivery::Delivered, None)
            }
            AttemptResult::Status { status: 410, .. } => (
                Delivery::Abandoned,
                Some("receiver answered 410".to_string()),
            ),
            AttemptResult::Blocked(b) => {
                tracing::warn!(reason = %b.reason, "callback refused by the address guard");
                (Delivery::Blocked, Some(b.to_string()))
            }
            // `retry_after` is set only for a 429 or 503 (the guard reads it; §8.3).
            AttemptResult::Status {
                status,
                retry_after,
            } => {
                return self
                    .retry_or_abandon(
                        event,
                        format!("receiver answered {status}"),
                        retry_after,
                        started,
                    )
                    .await;
            }
            AttemptResult::Failed(msg) => {
                return self.retry_or_abandon(event, msg, None, started).await;
            }
        };
        if let Some(e) = &error {
            tracing::info!(error = %e, "callback ended without delivery");
        }
        if let Err(e) = self
            .outbox
            .mark_done(event, outcome == Delivery::Delivered, self.clock.now_ms())
            .await
        {
            // The lease runs out and the event is attempted again: at-least-once.
            tracing::warn!(error = %e, "could not record webhook outcome");
        }
        outcome
    }

    async fn retry_or_abandon(
        &self,
        event: &WebhookEvent,
        error: String,
        retry_after: Option<Duration>,
        started: i64,
    ) -> Delivery {
        let attempt = event.attempts + 1;
        let first = event.first_attempt_at.unwrap_or(started);
        let now = self.clock.now_ms();
        let step = self
            .settings
            .policy
            .after_failure(attempt, first, now, jitter(), retry_after);
        let recorded = match step {
            NextStep::RetryAt(at) => {
                tracing::info!(error = %error, retry_in_ms = at - now, "callback attempt failed");
                self.outbox
                    .mark_retry(event, at, &error, self.clock.now_ms())
                    .await
                    .map(|_| Delivery::Failed)
            }
            NextStep::Abandon => {
                tracing::warn!(error = %error, attempts = attempt, "callback abandoned after its last attempt");
                self.outbox
                    .mark_done(event, false, self.clock.now_ms())
                    .await
                    .map(|_| Delivery::Abandoned)
            }
        };
        recorded.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not record webhook outcome");
            Delivery::Failed
        })
    }
}

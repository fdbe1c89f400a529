//! `OutboxStore`: webhook events delivered with the same claim/lease pattern as tasks.
//! Claims are leased in the database clock; due times are the deliverer's clock.

use std::time::Duration;

use async_trait::async_trait;
use motion_core::clock::Millis;
use motion_core::domain::WebhookEvent;
use motion_core::ports::{OutboxStore, StoreResult};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{DB_NOW, SqliteStore, map_err};

fn read_event(row: &SqliteRow) -> StoreResult<WebhookEvent> {
    Ok(WebhookEvent {
        id: row.try_get("id").map_err(map_err)?,
        task_id: row.try_get("task_id").map_err(map_err)?,
        user_id: row.try_get("user_id").map_err(map_err)?,
        status: row.try_get("status").map_err(map_err)?,
        webhook_id: row.try_get("webhook_id").map_err(map_err)?,
        url: row.try_get("url").map_err(map_err)?,
        body: row.try_get("body").map_err(map_err)?,
        attempts: row.try_get::<i64, _>("attempts").map_err(map_err)? as u32,
        created_at: row.try_get("created_at").map_err(map_err)?,
        first_attempt_at: row.try_get("first_attempt_at").map_err(map_err)?,
        claim_token: row
            .try_get::<Option<String>, _>("lease_token")
            .map_err(map_err)?
            .unwrap_or_default(),
    })
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn claim_due(
        &self,
        owner: &str,
        lease: Duration,
        limit: u32,
        per_user: u32,
        now: Millis,
    ) -> StoreResult<Vec<WebhookEvent>> {
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let mut tx = self.write_tx().await?;
        // Each user's due events are ranked; one is taken only while the user's leased events
        // (in flight anywhere) plus those ranked before it stay under `per_user`.
        let ids: Vec<i64> = sqlx::query(&format!(
            "WITH due AS ( \
               SELECT id, user_id, next_attempt_at, \
                 ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY next_attempt_at, id) AS rank \
               FROM webhook_events WHERE state = 'pending' AND next_attempt_at <= ? \
                 AND (lease_until IS NULL OR lease_until < {DB_NOW})), \
             busy AS ( \
               SELECT user_id, COUNT(*) AS leased FROM webhook_events \
               WHERE state = 'pending' AND lease_until >= {DB_NOW} GROUP BY user_id) \
             SELECT due.id FROM due LEFT JOIN busy ON busy.user_id = due.user_id \
             WHERE due.rank + COALESCE(busy.leased, 0) <= ? \
             ORDER BY due.next_attempt_at, due.id LIMIT ?"
        ))
        .bind(now)
        .bind(i64::from(per_user.max(1)))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?
        .iter()
        .map(|r| r.try_get::<i64, _>("id").map_err(map_err))
        .collect::<Result<_, _>>()?;
        let mut events = Vec::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query(&format!(
                "UPDATE webhook_events SET lease_owner = ?, lease_token = ?, lease_until = {DB_NOW} + ?, \
                 first_attempt_at = COALESCE(first_attempt_at, ?) WHERE id = ? RETURNING *"
            ))
            .bind(owner)
            .bind(motion_core::ids::new_lease_token())
            .bind(lease_ms)
            .bind(now)
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
            let mut event = read_event(&row)?;
            // `attempts` counts finished attempts; this claim is the next one.
            event.first_attempt_at = row.try_get("first_attempt_at").map_err(map_err)?;
            events.push(event);
        }
        tx.commit().await.map_err(map_err)?;
        Ok(events)
    }

    async fn mark_done(
        &self,
        event: &WebhookEvent,
        delivered: bool,
        _now: Millis,
    ) -> StoreResult<bool> {
        let state = if delivered { "delivered" } else { "abandoned" };
        let done = sqlx::query(
            "UPDATE webhook_events SET state = ?, attempts = attempts + 1, lease_owner = NULL, lease_token = NULL, \
             lease_until = NULL WHERE id = ? AND lease_token = ? AND state = 'pending'",
        )
        .bind(state)
        .bind(event.id)
        .bind(&event.claim_token)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn mark_retry(
        &self,
        event: &WebhookEvent,
        next_attempt_at: Millis,
        error: &str,
        _now: Millis,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE webhook_events SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, lease_owner = NULL, \
             lease_token = NULL, lease_until = NULL WHERE id = ? AND lease_token = ? AND state = 'pending'",
        )
        .bind(next_attempt_at)
        .bind(error)
        .bind(event.id)
        .bind(&event.claim_token)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn pending_count(&self) -> StoreResult<u64> {
        let n: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM webhook_events WHERE state = 'pending'")
                .fetch_one(&self.pool)
                .await
                .map_err(map_err)?
                .try_get("n")
                .map_err(map_err)?;
        Ok(n as u64)
    }
}

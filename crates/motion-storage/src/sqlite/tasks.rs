//! `TaskStore`: the queue. Every read-then-write runs under `BEGIN IMMEDIATE`; leases use
//! the database clock; every job write is guarded by `id + lease_token + state = running`.

use std::time::Duration;

use async_trait::async_trait;
use motion_core::clock::Millis;
use motion_core::domain::*;
use motion_core::ports::*;
use motion_core::reason::FailureReason;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::files::release_pins;
use super::rows::{claim_id, insert_file, read_task_view, task_view_select, trash_owner_files};
use super::{DB_NOW, SqliteStore, map_err};

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The full view of one task, inside a transaction.
async fn view_in(conn: &mut SqliteConnection, task: TaskId) -> StoreResult<TaskView> {
    let row = sqlx::query(&format!("{} WHERE t.id = ?", task_view_select()))
        .bind(task)
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    read_task_view(&row)
}

/// Writes the outbox event of a status change, when the task has a callback URL. The
/// unique (task, status) key makes it once per status change.
async fn write_event(
    conn: &mut SqliteConnection,
    view: &TaskView,
    render: &dyn EventRenderer,
) -> StoreResult<()> {
    let Some(url) = &view.task.reply_url else {
        return Ok(());
    };
    let status = view.task.wire_status;
    if status.is_final() {
        // A receiver sees at most one processing delivery, then the final one.
        sqlx::query("UPDATE webhook_events SET state = 'abandoned' WHERE task_id = ? AND status = 10 AND state = 'pending'")
            .bind(view.task.id)
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
    }
    let body = render.render(view);
    sqlx::query(&format!(
        "INSERT OR IGNORE INTO webhook_events (task_id, user_id, status, webhook_id, url, body, state, attempts, \
         next_attempt_at, created_at) SELECT ?, a.user_id, ?, ?, ?, ?, 'pending', 0, {DB_NOW}, {DB_NOW} \
         FROM accounts a WHERE a.id = ?"
    ))
    .bind(view.task.id)
    .bind(status.code())
    .bind(webhook_id(view.task.id, status))
    .bind(url)
    .bind(body)
    .bind(view.task.account_id)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Makes a running or queued task final as failed, with its event. Caller holds the txn.
async fn fail_in(
    conn: &mut SqliteConnection,
    task: TaskId,
    reason: &FailureReason,
    now: Millis,
    render: &dyn EventRenderer,
) -> StoreResult<TaskView> {
    sqlx::query(
        "UPDATE tasks SET state = 'failed', wire_status = 50, failure = ?, update_time = MAX(update_time, ?), \
         lease_owner = NULL, lease_token = NULL, lease_until = NULL WHERE id = ?",
    )
    .bind(reason.to_db())
    .bind(now)
    .bind(task)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    let view = view_in(conn, task).await?;
    write_event(conn, &view, render).await?;
    Ok(view)
}

async fn insert_work(
    conn: &mut SqliteConnection,
    lease: &Lease,
    work: &NewWork,
) -> StoreResult<()> {
    claim_id(conn, work.id).await?;
    let owner = work.id.to_string();
    for f in work.files.all() {
        insert_file(
            conn,
            f,
            FileOwnerKind::Work,
            &owner,
            Some(lease.account_id),
            work.create_time,
        )
        .await?;
    }
    sqlx::query(
        "INSERT INTO works (id, task_id, account_id, name, create_time, preview_fid, cover_fid, bvh_fid, binary_fid) \
         SELECT ?, t.id, t.account_id, t.work_name, ?, ?, ?, ?, ? FROM tasks t WHERE t.id = ?",
    )
    .bind(work.id)
    .bind(work.create_time)
    .bind(&work.files.preview.fid)
    .bind(&work.files.cover.fid)
    .bind(&work.files.bvh_zip.fid)
    .bind(&work.files.binary_zip.fid)
    .bind(lease.task_id)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Deletes a task with its works (files → trash) and pending events. Caller holds the txn
/// and has checked ownership. Returns the deleted work ids.
async fn delete_in(conn: &mut SqliteConnection, task: TaskId) -> StoreResult<Vec<WorkId>> {
    let works = sqlx::query("SELECT id FROM works WHERE task_id = ?")
        .bind(task)
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
    let work_ids = ids_of(&works)?;
    for id in &work_ids {
        trash_owner_files(conn, FileOwnerKind::Work, &id.to_string()).await?;
    }
    // No further callbacks for a deleted task.
    sqlx::query("DELETE FROM webhook_events WHERE task_id = ? AND state = 'pending'")
        .bind(task)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    sqlx::query("DELETE FROM tasks WHERE id = ?")
        .bind(task)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    Ok(work_ids)
}

fn ids_of(rows: &[sqlx::sqlite::SqliteRow]) -> StoreResult<Vec<i64>> {
    rows.iter()
        .map(|r| r.try_get::<i64, _>("id").map_err(map_err))
        .collect()
}

/// A running task's row with its `cancel_requested` (or none: the lease is gone).
fn lease_state_of(row: Option<&SqliteRow>) -> StoreResult<LeaseState> {
    Ok(match row {
        None => LeaseState::Lost,
        Some(r) if r.try_get::<i64, _>("cancel_requested").map_err(map_err)? != 0 => {
            LeaseState::CancelRequested
        }
        Some(_) => LeaseState::Held,
    })
}

#[async_trait]
impl TaskStore for SqliteStore {
    async fn admit(&self, task: &NewTask, max_jobs: u32) -> StoreResult<Admission> {
        let mut tx = self.write_tx().await?;
        // The API looked the files up before this transaction; an asset deleted since then
        // has its file rows gone or detached (pinned only by older tasks).
        for fid in [&task.input.source_fid, &task.input.cover_fid] {
            let present = sqlx::query(
                "SELECT 1 FROM files WHERE fid = ? AND account_id = ? AND owner_kind = 'asset' AND detached = 0",
            )
            .bind(fid)
            .bind(task.account_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
            if present.is_none() {
                return Ok(Admission::InputNotFound);
            }
        }
        let row = sqlx::query(
            "SELECT a.last_task_time AS last, (SELECT COUNT(*) FROM tasks u WHERE u.account_id = a.id \
             AND u.wire_status IN (5, 10)) AS unfinished FROM accounts a WHERE a.id = ?",
        )
        .bind(task.account_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?
        .ok_or_else(|| StoreError::Internal(format!("admit: account {} does not exist", task.account_id)))?;
        let unfinished: i64 = row.try_get("unfinished").map_err(map_err)?;
        if unfinished >= i64::from(max_jobs) {
            return Ok(Admission::Full {
                unfinished: unfinished as u32,
            });
        }
        // Strictly increasing createTime per account makes the GET /tasks cursors exact.
        let last: i64 = row.try_get("last").map_err(map_err)?;
        let create_time = task.create_time.max(last + 1);
        sqlx::query("UPDATE accounts SET last_task_time = ? WHERE id = ?")
            .bind(create_time)
            .bind(task.account_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        claim_id(&mut tx, task.id).await?;
        let i = &task.input;
        sqlx::query(
            "INSERT INTO tasks (id, account_id, state, wire_status, create_time, update_time, reply_url, reply_ref, \
             work_name, source_fid, source_name, source_blob_key, cover_fid, cover_name, cover_blob_key, \
             cover_content_type, source_width, source_height, source_duration_ms) \
             VALUES (?, ?, 'queued', 5, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(task.id)
        .bind(task.account_id)
        .bind(create_time)
        .bind(create_time)
        .bind(&task.reply_url)
        .bind(&task.reply_ref)
        .bind(&task.work_name)
        .bind(&i.source_fid)
        .bind(&i.source_name)
        .bind(&i.source_blob_key)
        .bind(&i.cover_fid)
        .bind(&i.cover_name)
        .bind(&i.cover_blob_key)
        .bind(&i.cover_content_type)
        .bind(i64::from(i.source_width))
        .bind(i64::from(i.source_height))
        .bind(i64::try_from(i.source_duration_ms).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let view = view_in(&mut tx, task.id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(Admission::Admitted(view))
    }

    async fn claim(
        &self,
        worker: &WorkerId,
        lease: Duration,
        render: &dyn EventRenderer,
    ) -> StoreResult<Option<Lease>> {
        let token = motion_core::ids::new_lease_token();
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(&format!(
            "UPDATE tasks SET state = 'running', lease_owner = ?, lease_token = ?, boot_id = ?, attempt = attempt + 1, \
             lease_until = {DB_NOW} + ?, heartbeat_at = {DB_NOW}, attempt_started_at = {DB_NOW}, progress = 0, \
             update_time = CASE WHEN wire_status = 5 THEN MAX(update_time, {DB_NOW}) ELSE update_time END, \
             wire_status = CASE WHEN wire_status = 5 THEN 10 ELSE wire_status END \
             WHERE id = (SELECT id FROM tasks WHERE state = 'queued' ORDER BY create_time, id LIMIT 1) \
             RETURNING id, attempt"
        ))
        .bind(worker.owner())
        .bind(&token)
        .bind(&worker.boot_id)
        .bind(ms(lease))
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: i64 = row.try_get("id").map_err(map_err)?;
        let attempt: i64 = row.try_get("attempt").map_err(map_err)?;
        let view = view_in(&mut tx, id).await?;
        // The processing event; a re-claim after a lost lease hits the unique key and adds nothing.
        write_event(&mut tx, &view, render).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(Some(Lease {
            task_id: id,
            account_id: view.task.account_id,
            token,
            attempt: attempt as u32,
            task: view.task,
        }))
    }

    async fn heartbeat(
        &self,
        lease: &Lease,
        lease_for: Duration,
        progress: f64,
    ) -> StoreResult<LeaseState> {
        let row = sqlx::query(&format!(
            "UPDATE tasks SET lease_until = {DB_NOW} + ?, heartbeat_at = {DB_NOW}, progress = ? \
             WHERE id = ? AND lease_token = ? AND state = 'running' RETURNING cancel_requested"
        ))
        .bind(ms(lease_for))
        .bind(progress)
        .bind(lease.task_id)
        .bind(&lease.token)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        lease_state_of(row.as_ref())
    }

    async fn lease_state(&self, lease: &Lease) -> StoreResult<LeaseState> {
        let row = sqlx::query(
            "SELECT cancel_requested FROM tasks WHERE id = ? AND lease_token = ? AND state = 'running'",
        )
        .bind(lease.task_id)
        .bind(&lease.token)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        lease_state_of(row.as_ref())
    }

    async fn finish(
        &self,
        lease: &Lease,
        outcome: &Outcome,
        now: Millis,
        render: &dyn EventRenderer,
    ) -> StoreResult<Finished> {
        let mut tx = self.write_tx().await?;
        let (state, wire, failure) = match outcome {
            Outcome::Succeeded(_) => ("succeeded", WireStatus::Succeed, None),
            Outcome::Failed(reason) => ("failed", WireStatus::Failed, Some(reason.to_db())),
        };
        let done = sqlx::query(
            "UPDATE tasks SET state = ?, wire_status = ?, failure = ?, update_time = MAX(update_time, ?), \
             progress = CASE WHEN ? = 'succeeded' THEN 1 ELSE progress END, \
             lease_owner = NULL, lease_token = NULL, lease_until = NULL \
             WHERE id = ? AND lease_token = ? AND state = 'running' AND cancel_requested = 0",
        )
        .bind(state)
        .bind(wire.code())
        .bind(failure)
        .bind(now)
        .bind(state)
        .bind(lease.task_id)
        .bind(&lease.token)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if done.rows_affected() != 1 {
            // Lease lost, task cancelled or deleted: publish nothing.
            return Ok(Finished::Lost);
        }
        if let Outcome::Succeeded(work) = outcome {
            insert_work(&mut tx, lease, work).await?;
        }
        let view = view_in(&mut tx, lease.task_id).await?;
        write_event(&mut tx, &view, render).await?;
        release_pins(&mut tx).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(Finished::Published(view))
    }

    async fn release(&self, lease: &Lease) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE tasks SET state = 'queued', attempt = MAX(attempt - 1, 0), lease_owner = NULL, lease_token = NULL, \
             lease_until = NULL WHERE id = ? AND lease_token = ? AND state = 'running'",
        )
        .bind(lease.task_id)
        .bind(&lease.token)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn expire_other_boots(&self, current_boot: &str) -> StoreResult<Vec<TaskId>> {
        let rows = sqlx::query(&format!(
            "UPDATE tasks SET lease_until = {DB_NOW} - 1 WHERE state = 'running' \
             AND (boot_id IS NULL OR boot_id <> ?) RETURNING id"
        ))
        .bind(current_boot)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        ids_of(&rows)
    }

    async fn reap(
        &self,
        max_attempts: u32,
        task_timeout: Duration,
        now: Millis,
        render: &dyn EventRenderer,
    ) -> StoreResult<ReapReport> {
        let mut tx = self.write_tx().await?;
        let mut report = ReapReport::default();
        // Attempts running past the task timeout fail, whatever their lease says.
        let timed_out = sqlx::query(&format!(
            "SELECT id FROM tasks WHERE state = 'running' AND attempt_started_at + ? < {DB_NOW} ORDER BY id"
        ))
        .bind(ms(task_timeout))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        for id in ids_of(&timed_out)? {
            fail_in(&mut tx, id, &FailureReason::TimedOut, now, render).await?;
            report.failed.push(id);
        }
        let expired = sqlx::query(&format!(
            "SELECT id, attempt FROM tasks WHERE state = 'running' AND lease_until < {DB_NOW} ORDER BY id"
        ))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        for row in &expired {
            let id: i64 = row.try_get("id").map_err(map_err)?;
            let attempt: i64 = row.try_get("attempt").map_err(map_err)?;
            if attempt >= i64::from(max_attempts) {
                fail_in(&mut tx, id, &FailureReason::Interrupted, now, render).await?;
                report.failed.push(id);
            } else {
                sqlx::query(
                    "UPDATE tasks SET state = 'queued', lease_owner = NULL, lease_token = NULL, lease_until = NULL \
                     WHERE id = ?",
                )
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
                report.requeued.push(id);
            }
        }
        if !report.failed.is_empty() {
            release_pins(&mut tx).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(report)
    }

    async fn cancel(
        &self,
        user: UserId,
        task: TaskId,
        now: Millis,
        render: &dyn EventRenderer,
    ) -> StoreResult<Option<(TaskView, bool)>> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "SELECT t.state FROM tasks t JOIN accounts a ON a.id = t.account_id \
             WHERE t.id = ? AND a.user_id = ? AND t.state IN ('queued', 'running')",
        )
        .bind(task)
        .bind(user)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let was_running = row.try_get::<String, _>("state").map_err(map_err)? == "running";
        sqlx::query("UPDATE tasks SET cancel_requested = 1 WHERE id = ?")
            .bind(task)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let view = fail_in(&mut tx, task, &FailureReason::Canceled, now, render).await?;
        release_pins(&mut tx).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(Some((view, was_running)))
    }

    async fn delete_task(
        &self,
        account: AccountId,
        task: TaskId,
    ) -> StoreResult<Option<TaskDeletion>> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT state FROM tasks WHERE id = ? AND account_id = ?")
            .bind(task)
            .bind(account)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let was_running = row.try_get::<String, _>("state").map_err(map_err)? == "running";
        let work_ids = delete_in(&mut tx, task).await?;
        release_pins(&mut tx).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(Some(TaskDeletion {
            work_ids,
            was_running,
        }))
    }

    async fn delete_final_before(&self, cutoff: Millis, limit: u32) -> StoreResult<Vec<TaskId>> {
        // One short write transaction per batch: several janitors (one per worker process)
        // serialise on BEGIN IMMEDIATE, and the later one finds the rows already gone.
        let mut tx = self.write_tx().await?;
        // update_time of a final task is its final time and never below create_time, so the
        // create_time bound only narrows the scan to the (state, create_time) index range.
        // No ORDER BY: which old rows go first does not matter, and LIMIT can stop early.
        let rows = sqlx::query(
            "SELECT id FROM tasks WHERE state IN ('succeeded', 'failed') AND create_time < ?1 \
             AND update_time < ?1 LIMIT ?2",
        )
        .bind(cutoff)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let ids = ids_of(&rows)?;
        for id in &ids {
            delete_in(&mut tx, *id).await?;
            // Unlike an API delete, retention also forgets the delivered and abandoned
            // callback history: nothing of an expired task is kept.
            sqlx::query("DELETE FROM webhook_events WHERE task_id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        // No release_pins: only unfinished tasks pin files, and these are final.
        tx.commit().await.map_err(map_err)?;
        Ok(ids)
    }

    async fn task(&self, account: AccountId, task: TaskId) -> StoreResult<Option<TaskView>> {
        let row = sqlx::query(&format!(
            "{} WHERE t.id = ? AND t.account_id = ?",
            task_view_select()
        ))
        .bind(task)
        .bind(account)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(read_task_view).transpose()
    }

    async fn list_tasks(
        &self,
        account: AccountId,
        cursor: TaskCursor,
        page_size: u32,
    ) -> StoreResult<Vec<TaskView>> {
        let (cond, order, value) = match cursor {
            TaskCursor::Latest => ("", "DESC", None),
            TaskCursor::Before(v) => ("AND t.create_time < ?", "DESC", Some(v)),
            TaskCursor::After(v) => ("AND t.create_time > ?", "ASC", Some(v)),
        };
        let sql = format!(
            "{} WHERE t.account_id = ? {cond} ORDER BY t.create_time {order} LIMIT ?",
            task_view_select()
        );
        let mut q = sqlx::query(&sql).bind(account);
        if let Some(v) = value {
            q = q.bind(v);
        }
        let rows = q
            .bind(i64::from(page_size.max(1)))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(read_task_view).collect()
    }

    async fn unfinished_for_user(&self, user: UserId) -> StoreResult<Vec<SchedulerEntry>> {
        let rows = sqlx::query(
            "SELECT t.id, a.email, t.create_time, t.reply_url, t.reply_ref FROM tasks t \
             JOIN accounts a ON a.id = t.account_id WHERE a.user_id = ? AND t.wire_status IN (5, 10) \
             ORDER BY t.create_time, t.id",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(SchedulerEntry {
                    task_id: r.try_get("id").map_err(map_err)?,
                    email: r.try_get("email").map_err(map_err)?,
                    create_time: r.try_get("create_time").map_err(map_err)?,
                    reply_url: r.try_get("reply_url").map_err(map_err)?,
                    reply_ref: r.try_get("reply_ref").map_err(map_err)?,
                })
            })
            .collect()
    }

    async fn capacity_for_user(&self, user: UserId) -> StoreResult<Vec<AccountCapacity>> {
        let rows = sqlx::query(
            "SELECT a.email, a.max_jobs, (SELECT COUNT(*) FROM tasks u WHERE u.account_id = a.id \
             AND u.wire_status IN (5, 10)) AS executing FROM accounts a WHERE a.user_id = ? ORDER BY a.email",
        )
        .bind(user)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(AccountCapacity {
                    email: r.try_get("email").map_err(map_err)?,
                    max_jobs: r.try_get::<i64, _>("max_jobs").map_err(map_err)? as u32,
                    executing: r.try_get::<i64, _>("executing").map_err(map_err)? as u32,
                })
            })
            .collect()
    }

    async fn queue_stats(&self) -> StoreResult<QueueStats> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(wire_status = 5), 0) AS submitted, COALESCE(SUM(wire_status = 10), 0) AS processing \
             FROM tasks WHERE wire_status IN (5, 10)",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(QueueStats {
            submitted: row.try_get::<i64, _>("submitted").map_err(map_err)? as u64,
            processing: row.try_get::<i64, _>("processing").map_err(map_err)? as u64,
        })
    }
}

//! `AccountStore`.

use async_trait::async_trait;
use motion_core::clock::Millis;
use motion_core::domain::{Account, AccountId, AccountInput, UserId};
use motion_core::ports::{AccountDeletion, AccountStore, AccountUpsert, StoreResult};
use sqlx::Row;

use super::rows::{ACCOUNT_COLS, claim_id, read_account};
use super::{DB_NOW, SqliteStore, map_err};

#[async_trait]
impl AccountStore for SqliteStore {
    async fn list_accounts(&self, user: UserId) -> StoreResult<Vec<Account>> {
        let rows = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLS} FROM accounts WHERE user_id = ? ORDER BY email"
        ))
        .bind(user)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(read_account).collect()
    }

    async fn account(&self, user: UserId, email: &str) -> StoreResult<Option<Account>> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLS} FROM accounts WHERE user_id = ? AND email = ?"
        ))
        .bind(user)
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(read_account).transpose()
    }

    async fn upsert_account(
        &self,
        user: UserId,
        input: &AccountInput,
        new_id: AccountId,
        max_accounts: u32,
        now: Millis,
    ) -> StoreResult<AccountUpsert> {
        let mut tx = self.write_tx().await?;
        let updated = sqlx::query(
            "UPDATE accounts SET max_jobs = ?, reply_url = ?, update_time = ? WHERE user_id = ? AND email = ?",
        )
        .bind(i64::from(input.max_jobs))
        .bind(&input.reply_url)
        .bind(now)
        .bind(user)
        .bind(&input.email)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let created = if updated.rows_affected() == 0 {
            let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM accounts WHERE user_id = ?")
                .bind(user)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_err)?
                .try_get("n")
                .map_err(map_err)?;
            if count >= i64::from(max_accounts) {
                return Ok(AccountUpsert::LimitReached);
            }
            claim_id(&mut tx, new_id).await?;
            sqlx::query(
                "INSERT INTO accounts (id, user_id, email, max_jobs, reply_url, create_time, update_time) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(new_id)
            .bind(user)
            .bind(&input.email)
            .bind(i64::from(input.max_jobs))
            .bind(&input.reply_url)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
            true
        } else {
            false
        };
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLS} FROM accounts WHERE user_id = ? AND email = ?"
        ))
        .bind(user)
        .bind(&input.email)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        let account = read_account(&row)?;
        Ok(if created {
            AccountUpsert::Created(account)
        } else {
            AccountUpsert::Updated(account)
        })
    }

    async fn delete_account(
        &self,
        user: UserId,
        email: &str,
    ) -> StoreResult<Option<AccountDeletion>> {
        let mut tx = self.write_tx().await?;
        let Some(row) = sqlx::query("SELECT id FROM accounts WHERE user_id = ? AND email = ?")
            .bind(user)
            .bind(email)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?
        else {
            return Ok(None);
        };
        let account: i64 = row.try_get("id").map_err(map_err)?;
        let running: Vec<i64> =
            sqlx::query("SELECT id FROM tasks WHERE account_id = ? AND state = 'running'")
                .bind(account)
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?
                .iter()
                .map(|r| r.try_get("id").map_err(map_err))
                .collect::<Result<_, _>>()?;
        // Every file of the account (assets, covers, works, pinned detached files) → trash.
        sqlx::query(&format!(
            "INSERT INTO blob_trash (blob_key, created_at) SELECT blob_key, {DB_NOW} FROM files WHERE account_id = ?"
        ))
        .bind(account)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query("DELETE FROM files WHERE account_id = ?")
            .bind(account)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        // Pending callbacks of its tasks are dropped.
        sqlx::query(
            "DELETE FROM webhook_events WHERE state = 'pending' AND task_id IN (SELECT id FROM tasks WHERE account_id = ?)",
        )
        .bind(account)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        // Cascades to assets, tasks and works.
        sqlx::query("DELETE FROM accounts WHERE id = ?")
            .bind(account)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(Some(AccountDeletion {
            running_tasks: running,
        }))
    }
}

//! `UserStore` and `TokenStore`.

use async_trait::async_trait;
use motion_core::clock::Millis;
use motion_core::domain::{User, UserId};
use motion_core::ids::TokenHash;
use motion_core::ports::{StoreResult, TokenStore, UserStore};
use sqlx::Row;

use super::{SqliteStore, map_err};

fn read_user(row: &sqlx::sqlite::SqliteRow) -> StoreResult<User> {
    Ok(User {
        id: row.try_get("id").map_err(map_err)?,
        name: row.try_get("name").map_err(map_err)?,
        created_at: row.try_get("created_at").map_err(map_err)?,
    })
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn ensure_user(&self, name: &str, now: Millis) -> StoreResult<User> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO users (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let row = sqlx::query("SELECT id, name, created_at FROM users WHERE name = ?")
            .bind(name)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        read_user(&row)
    }

    async fn user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT id, name, created_at FROM users WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(read_user).transpose()
    }

    async fn set_webhook_secret(&self, user: UserId, sealed: &[u8]) -> StoreResult<()> {
        sqlx::query("UPDATE users SET webhook_secret = ? WHERE id = ?")
            .bind(sealed)
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn first_webhook_secret(
        &self,
        user: UserId,
        sealed: &[u8],
    ) -> StoreResult<Option<Vec<u8>>> {
        sqlx::query("UPDATE users SET webhook_secret = ? WHERE id = ? AND webhook_secret IS NULL")
            .bind(sealed)
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        self.webhook_secret(user).await
    }

    async fn webhook_secret(&self, user: UserId) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT webhook_secret FROM users WHERE id = ?")
            .bind(user)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        match row {
            Some(r) => r
                .try_get::<Option<Vec<u8>>, _>("webhook_secret")
                .map_err(map_err),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn add_token(&self, user: UserId, hash: &TokenHash, now: Millis) -> StoreResult<()> {
        sqlx::query("INSERT INTO tokens (hash, user_id, created_at) VALUES (?, ?, ?)")
            .bind(hash.as_str())
            .bind(user)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn user_by_token(&self, hash: &TokenHash) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT u.id, u.name, u.created_at FROM tokens k JOIN users u ON u.id = k.user_id \
             WHERE k.hash = ? AND k.revoked_at IS NULL",
        )
        .bind(hash.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(read_user).transpose()
    }

    async fn revoke_token(&self, hash: &TokenHash) -> StoreResult<bool> {
        let done = sqlx::query(&format!(
            "UPDATE tokens SET revoked_at = {} WHERE hash = ? AND revoked_at IS NULL",
            super::DB_NOW
        ))
        .bind(hash.as_str())
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }
}

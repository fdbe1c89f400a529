//! `FileStore`: capability lookups, account-scoped URL recognition and the blob trash.

use async_trait::async_trait;
use motion_core::domain::{AccountId, AssetKind, StoredFile};
use motion_core::ports::{AssetFileRef, FileStore, StoreError, StoreResult, TrashItem};
use sqlx::Row;

use super::rows::{file_cols, read_file};
use super::{DB_NOW, SqliteStore, map_err};

/// Trashes detached files that no unfinished task pins any more. Called in every
/// transaction that makes a task final or deletes it.
pub(crate) async fn release_pins(conn: &mut sqlx::SqliteConnection) -> StoreResult<()> {
    const UNPINNED: &str = "detached = 1 AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.state IN ('queued', 'running') \
         AND (t.source_fid = files.fid OR t.cover_fid = files.fid))";
    sqlx::query(&format!(
        "INSERT INTO blob_trash (blob_key, created_at) SELECT blob_key, {DB_NOW} FROM files WHERE {UNPINNED}"
    ))
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    sqlx::query(&format!("DELETE FROM files WHERE {UNPINNED}"))
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    Ok(())
}

#[async_trait]
impl FileStore for SqliteStore {
    async fn file_by_fid(&self, fid: &str) -> StoreResult<Option<StoredFile>> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM files f WHERE f.fid = ? AND f.detached = 0",
            file_cols("f")
        ))
        .bind(fid)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|r| read_file(&r, "f")).transpose()
    }

    async fn asset_file(
        &self,
        account: AccountId,
        fid: &str,
        name: &str,
    ) -> StoreResult<Option<AssetFileRef>> {
        let row = sqlx::query(&format!(
            "SELECT {}, s.id AS asset_id, s.kind AS asset_kind, s.duration_ms AS asset_duration_ms \
             FROM files f JOIN assets s ON s.id = f.owner_id AND s.account_id = f.account_id \
             WHERE f.fid = ? AND f.name = ? AND f.account_id = ? AND f.owner_kind = 'asset' AND f.detached = 0",
            file_cols("f")
        ))
        .bind(fid)
        .bind(name)
        .bind(account)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("asset_kind").map_err(map_err)?;
        Ok(Some(AssetFileRef {
            file: read_file(&row, "f")?,
            asset_id: row.try_get("asset_id").map_err(map_err)?,
            asset_kind: AssetKind::parse(&kind)
                .ok_or_else(|| StoreError::Internal(format!("corrupt asset kind {kind:?}")))?,
            asset_duration_ms: row
                .try_get::<i64, _>("asset_duration_ms")
                .map_err(map_err)?
                .max(0) as u64,
        }))
    }

    async fn account_file(
        &self,
        account: AccountId,
        fid: &str,
        name: &str,
    ) -> StoreResult<Option<StoredFile>> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM files f WHERE f.fid = ? AND f.name = ? AND f.account_id = ? AND f.detached = 0",
            file_cols("f")
        ))
        .bind(fid)
        .bind(name)
        .bind(account)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|r| read_file(&r, "f")).transpose()
    }

    async fn take_trash(&self, limit: u32) -> StoreResult<Vec<TrashItem>> {
        let rows = sqlx::query("SELECT id, blob_key FROM blob_trash ORDER BY id LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(TrashItem {
                    id: r.try_get("id").map_err(map_err)?,
                    blob_key: r.try_get("blob_key").map_err(map_err)?,
                })
            })
            .collect()
    }

    async fn confirm_trash(&self, ids: &[i64]) -> StoreResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        for id in ids {
            sqlx::query("DELETE FROM blob_trash WHERE id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }

    async fn unreferenced_keys(&self, keys: &[String]) -> StoreResult<Vec<String>> {
        let mut out = Vec::new();
        for key in keys {
            let used = sqlx::query("SELECT 1 FROM files WHERE blob_key = ? LIMIT 1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
            if used.is_none() {
                out.push(key.clone());
            }
        }
        Ok(out)
    }
}

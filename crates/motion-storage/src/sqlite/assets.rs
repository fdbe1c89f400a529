//! `AssetStore`.

use async_trait::async_trait;
use motion_core::clock::Millis;
use motion_core::domain::{AccountId, Asset, AssetKind, AssetQuery, FileOwnerKind, NewAsset};
use motion_core::ports::{AssetStore, StoreError, StoreResult};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::rows::{file_cols, insert_file, read_file, trash_owner_files};
use super::{SqliteStore, map_err};

fn select_assets() -> String {
    format!(
        "SELECT s.id, s.account_id, s.kind, s.name, s.width, s.height, s.duration_ms, s.create_time, {}, {} \
         FROM assets s JOIN files fo ON fo.fid = s.original_fid LEFT JOIN files fc ON fc.fid = s.cover_fid",
        file_cols("fo"),
        file_cols("fc")
    )
}

fn read_asset(row: &SqliteRow) -> StoreResult<Asset> {
    let kind: String = row.try_get("kind").map_err(map_err)?;
    let has_cover: Option<String> = row.try_get("fc_fid").map_err(map_err)?;
    Ok(Asset {
        id: row.try_get("id").map_err(map_err)?,
        account_id: row.try_get("account_id").map_err(map_err)?,
        kind: AssetKind::parse(&kind)
            .ok_or_else(|| StoreError::Internal(format!("corrupt asset kind {kind:?}")))?,
        name: row.try_get("name").map_err(map_err)?,
        width: row.try_get::<i64, _>("width").map_err(map_err)? as u32,
        height: row.try_get::<i64, _>("height").map_err(map_err)? as u32,
        duration_ms: row
            .try_get::<i64, _>("duration_ms")
            .map_err(map_err)?
            .max(0) as u64,
        create_time: row.try_get("create_time").map_err(map_err)?,
        original: read_file(row, "fo")?,
        cover: has_cover.map(|_| read_file(row, "fc")).transpose()?,
    })
}

/// Deletes the files of a file-owning row, except those an unfinished task still pins:
/// those are detached (404 at once) and trashed when the task ends (see `release_pins`).
pub(crate) async fn drop_or_detach_files(
    conn: &mut sqlx::SqliteConnection,
    owner_kind: FileOwnerKind,
    owner_id: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE files SET detached = 1 WHERE owner_kind = ? AND owner_id = ? AND EXISTS (SELECT 1 FROM tasks t \
         WHERE t.state IN ('queued', 'running') AND (t.source_fid = files.fid OR t.cover_fid = files.fid))",
    )
    .bind(owner_kind.as_str())
    .bind(owner_id)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    // The detached rows stay; the others go to the trash. Re-owning the detached ones under
    // a synthetic owner keeps trash_owner_files from touching them.
    sqlx::query("UPDATE files SET owner_id = 'detached:' || owner_id WHERE owner_kind = ? AND owner_id = ? AND detached = 1")
        .bind(owner_kind.as_str())
        .bind(owner_id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    trash_owner_files(conn, owner_kind, owner_id).await
}

#[async_trait]
impl AssetStore for SqliteStore {
    async fn insert_asset(&self, a: &NewAsset, now: Millis) -> StoreResult<Asset> {
        let mut tx = self.write_tx().await?;
        insert_file(
            &mut tx,
            &a.original,
            FileOwnerKind::Asset,
            &a.id,
            Some(a.account_id),
            now,
        )
        .await?;
        if let Some(c) = &a.cover {
            insert_file(
                &mut tx,
                c,
                FileOwnerKind::Asset,
                &a.id,
                Some(a.account_id),
                now,
            )
            .await?;
        }
        sqlx::query(
            "INSERT INTO assets (id, account_id, kind, name, width, height, duration_ms, create_time, original_fid, cover_fid) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&a.id)
        .bind(a.account_id)
        .bind(a.kind.as_str())
        .bind(&a.name)
        .bind(i64::from(a.width))
        .bind(i64::from(a.height))
        .bind(i64::try_from(a.duration_ms).unwrap_or(i64::MAX))
        .bind(a.create_time)
        .bind(&a.original.fid)
        .bind(a.cover.as_ref().map(|c| c.fid.clone()))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let row = sqlx::query(&format!(
            "{} WHERE s.id = ? AND s.account_id = ?",
            select_assets()
        ))
        .bind(&a.id)
        .bind(a.account_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        read_asset(&row)
    }

    async fn list_assets(&self, account: AccountId, q: &AssetQuery) -> StoreResult<Vec<Asset>> {
        let order = if q.ascending { "ASC" } else { "DESC" };
        let sql = format!(
            "{} WHERE s.account_id = ? AND (? IS NULL OR s.kind = ?) AND (? IS NULL OR instr(lower(s.name), lower(?)) > 0) \
             ORDER BY s.create_time {order}, CAST(s.id AS INTEGER) {order} LIMIT ? OFFSET ?",
            select_assets()
        );
        let kind = q.kind.map(|k| k.as_str());
        let size = i64::from(q.page_size.max(1));
        let offset = (i64::from(q.page_num.max(1)) - 1) * size;
        let rows = sqlx::query(&sql)
            .bind(account)
            .bind(kind)
            .bind(kind)
            .bind(&q.name_contains)
            .bind(&q.name_contains)
            .bind(size)
            .bind(offset)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(read_asset).collect()
    }

    async fn delete_assets(&self, account: AccountId, ids: &[String]) -> StoreResult<Vec<String>> {
        let mut tx = self.write_tx().await?;
        let mut deleted = Vec::new();
        for id in ids {
            if deleted.contains(id) {
                continue;
            }
            let gone = sqlx::query("DELETE FROM assets WHERE id = ? AND account_id = ?")
                .bind(id)
                .bind(account)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            if gone.rows_affected() == 1 {
                drop_or_detach_files(&mut tx, FileOwnerKind::Asset, id).await?;
                deleted.push(id.clone());
            }
        }
        tx.commit().await.map_err(map_err)?;
        Ok(deleted)
    }
}

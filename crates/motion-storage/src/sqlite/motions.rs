//! `MotionStore`: user motions (works) and the official catalog.

use async_trait::async_trait;
use motion_core::clock::Millis;
use motion_core::domain::*;
use motion_core::ids::official_work_id;
use motion_core::ports::{MotionStore, StoreError, StoreResult};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::rows::{
    WORK_FILE_JOINS, file_cols, insert_file, read_file, read_work, trash_owner_files, work_cols,
};
use super::{SqliteStore, map_err};

fn select_official() -> String {
    format!(
        "SELECT w.work_id, w.catalog_key, w.name, w.tag, w.updated_at, w.build_format, {}, {}, {}, {} FROM official_motions w {WORK_FILE_JOINS}",
        file_cols("fp"),
        file_cols("fc"),
        file_cols("fb"),
        file_cols("fz")
    )
}

fn read_official(row: &SqliteRow) -> StoreResult<OfficialMotion> {
    Ok(OfficialMotion {
        work_id: row.try_get("work_id").map_err(map_err)?,
        catalog_key: row.try_get("catalog_key").map_err(map_err)?,
        name: row.try_get("name").map_err(map_err)?,
        tag: row.try_get("tag").map_err(map_err)?,
        updated_at: row.try_get("updated_at").map_err(map_err)?,
        build_format: row.try_get("build_format").map_err(map_err)?,
        preview: read_file(row, "fp")?,
        cover: read_file(row, "fc")?,
        bvh_zip: read_file(row, "fb")?,
        binary_zip: read_file(row, "fz")?,
    })
}

#[async_trait]
impl MotionStore for SqliteStore {
    async fn list_user_motions(
        &self,
        account: AccountId,
        page_num: u32,
        page_size: u32,
    ) -> StoreResult<Vec<Work>> {
        let size = i64::from(page_size.max(1));
        let offset = (i64::from(page_num.max(1)) - 1) * size;
        let rows = sqlx::query(&format!(
            "SELECT {} FROM works w {WORK_FILE_JOINS} WHERE w.account_id = ? \
             ORDER BY w.create_time DESC, w.id DESC LIMIT ? OFFSET ?",
            work_cols()
        ))
        .bind(account)
        .bind(size)
        .bind(offset)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                read_work(r)?.ok_or_else(|| StoreError::Internal("work row without id".into()))
            })
            .collect()
    }

    async fn upsert_official(
        &self,
        input: &OfficialMotionInput,
        on_existing: OnExisting,
        now: Millis,
    ) -> StoreResult<Option<OfficialMotion>> {
        let work_id = official_work_id(&input.catalog_key);
        let owner = work_id.to_string();
        let mut tx = self.write_tx().await?;
        let existing =
            sqlx::query("SELECT catalog_key, bvh_fid FROM official_motions WHERE work_id = ?")
                .bind(work_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        if let Some(row) = existing {
            let key: String = row.try_get("catalog_key").map_err(map_err)?;
            if key != input.catalog_key {
                return Err(StoreError::Conflict(format!(
                    "official workId {work_id} of {:?} collides with {key:?}",
                    input.catalog_key
                )));
            }
            let stored_bvh: String = row.try_get("bvh_fid").map_err(map_err)?;
            match &on_existing {
                OnExisting::Keep => return Ok(None),
                OnExisting::ReplaceIfStill { bvh_fid } if *bvh_fid != stored_bvh => {
                    return Ok(None);
                }
                _ => {}
            }
            trash_owner_files(&mut tx, FileOwnerKind::Official, &owner).await?;
            sqlx::query("DELETE FROM official_motions WHERE work_id = ?")
                .bind(work_id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        } else if matches!(on_existing, OnExisting::ReplaceIfStill { .. }) {
            return Ok(None);
        }
        // Imported again on purpose: no longer removed.
        sqlx::query("DELETE FROM removed_official_keys WHERE catalog_key = ?")
            .bind(&input.catalog_key)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        for f in input.files.all() {
            insert_file(&mut tx, f, FileOwnerKind::Official, &owner, None, now).await?;
        }
        sqlx::query(
            "INSERT INTO official_motions (work_id, catalog_key, name, tag, preview_fid, cover_fid, bvh_fid, binary_fid, \
             updated_at, build_format) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(work_id)
        .bind(&input.catalog_key)
        .bind(&input.name)
        .bind(&input.tag)
        .bind(&input.files.preview.fid)
        .bind(&input.files.cover.fid)
        .bind(&input.files.bvh_zip.fid)
        .bind(&input.files.binary_zip.fid)
        .bind(now)
        .bind(input.build_format)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let row = sqlx::query(&format!("{} WHERE w.work_id = ?", select_official()))
            .bind(work_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        read_official(&row).map(Some)
    }

    async fn list_official(&self) -> StoreResult<Vec<OfficialMotion>> {
        let rows = sqlx::query(&format!("{} ORDER BY abs(w.work_id)", select_official()))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(read_official).collect()
    }

    async fn remove_official(&self, catalog_key: &str, now: Millis) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query("SELECT work_id FROM official_motions WHERE catalog_key = ?")
            .bind(catalog_key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        let Some(row) = row else {
            return Ok(false);
        };
        let work_id: i64 = row.try_get("work_id").map_err(map_err)?;
        trash_owner_files(&mut tx, FileOwnerKind::Official, &work_id.to_string()).await?;
        sqlx::query("DELETE FROM official_motions WHERE work_id = ?")
            .bind(work_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "INSERT INTO removed_official_keys (catalog_key, removed_at) VALUES (?, ?) \
             ON CONFLICT (catalog_key) DO UPDATE SET removed_at = excluded.removed_at",
        )
        .bind(catalog_key)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn removed_official_keys(&self) -> StoreResult<Vec<String>> {
        let rows =
            sqlx::query("SELECT catalog_key FROM removed_official_keys ORDER BY catalog_key")
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        rows.iter()
            .map(|r| r.try_get("catalog_key").map_err(map_err))
            .collect()
    }
}

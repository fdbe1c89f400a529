//! Row ↔ domain mapping shared by the SQLite modules.

use motion_core::domain::*;
use motion_core::ports::{StoreError, StoreResult};
use motion_core::reason::FailureReason;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::map_err;

pub(crate) const FILE_FIELDS: [&str; 15] = [
    "fid",
    "owner_kind",
    "owner_id",
    "account_id",
    "role",
    "blob_key",
    "name",
    "content_type",
    "size",
    "sha256",
    "width",
    "height",
    "duration_ms",
    "created_at",
    "detached",
];

/// `a.fid AS a_fid, a.owner_kind AS a_owner_kind, …` for a files table aliased `a`.
pub(crate) fn file_cols(alias: &str) -> String {
    FILE_FIELDS
        .iter()
        .map(|f| format!("{alias}.{f} AS {alias}_{f}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn get<'r, T>(row: &'r SqliteRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get::<T, _>(col).map_err(map_err)
}

fn u32_of(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

fn u64_of(v: i64) -> u64 {
    u64::try_from(v.max(0)).unwrap_or(0)
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Internal(format!("corrupt row: {what} = {value:?}"))
}

/// Reads a file selected with [`file_cols`] under `alias`.
pub(crate) fn read_file(row: &SqliteRow, alias: &str) -> StoreResult<StoredFile> {
    let c = |f: &str| format!("{alias}_{f}");
    let fid: String = get(row, &c("fid"))?;
    let role: String = get(row, &c("role"))?;
    let owner: String = get(row, &c("owner_kind"))?;
    Ok(StoredFile {
        etag: NewFile::etag_for(&fid),
        blob_key: get(row, &c("blob_key"))?,
        name: get(row, &c("name"))?,
        content_type: get(row, &c("content_type"))?,
        size: u64_of(get(row, &c("size"))?),
        sha256: get(row, &c("sha256"))?,
        role: FileRole::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        owner_kind: FileOwnerKind::parse(&owner).ok_or_else(|| corrupt("owner_kind", &owner))?,
        account_id: get(row, &c("account_id"))?,
        width: u32_of(get(row, &c("width"))?),
        height: u32_of(get(row, &c("height"))?),
        duration_ms: u64_of(get(row, &c("duration_ms"))?),
        created_at: get(row, &c("created_at"))?,
        fid,
    })
}

/// Claims a task, work or account id for good (`issued_ids`): `Conflict` when any process has
/// issued it before, for whatever it named, even if that is gone; the caller draws another.
pub(crate) async fn claim_id(conn: &mut sqlx::SqliteConnection, id: i64) -> StoreResult<()> {
    sqlx::query("INSERT INTO issued_ids (id) VALUES (?)")
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    Ok(())
}

/// Inserts a file row.
pub(crate) async fn insert_file(
    conn: &mut sqlx::SqliteConnection,
    f: &NewFile,
    owner_kind: FileOwnerKind,
    owner_id: &str,
    account: Option<AccountId>,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO files (fid, owner_kind, owner_id, account_id, role, blob_key, name, content_type, size, sha256, \
         width, height, duration_ms, created_at, detached) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,0)",
    )
    .bind(&f.fid)
    .bind(owner_kind.as_str())
    .bind(owner_id)
    .bind(account)
    .bind(f.role.as_str())
    .bind(&f.blob_key)
    .bind(&f.name)
    .bind(&f.content_type)
    .bind(i64::try_from(f.size).unwrap_or(i64::MAX))
    .bind(&f.sha256)
    .bind(i64::from(f.width))
    .bind(i64::from(f.height))
    .bind(i64::try_from(f.duration_ms).unwrap_or(i64::MAX))
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Moves the blobs of the owner's files to the trash and deletes the rows.
pub(crate) async fn trash_owner_files(
    conn: &mut sqlx::SqliteConnection,
    owner_kind: FileOwnerKind,
    owner_id: &str,
) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO blob_trash (blob_key, created_at) SELECT blob_key, {now} FROM files \
         WHERE owner_kind = ? AND owner_id = ?",
        now = super::DB_NOW
    ))
    .bind(owner_kind.as_str())
    .bind(owner_id)
    .execute(&mut *conn)
    .await
    .map_err(map_err)?;
    sqlx::query("DELETE FROM files WHERE owner_kind = ? AND owner_id = ?")
        .bind(owner_kind.as_str())
        .bind(owner_id)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    Ok(())
}

pub(crate) fn read_account(row: &SqliteRow) -> StoreResult<Account> {
    Ok(Account {
        id: get(row, "id")?,
        user_id: get(row, "user_id")?,
        email: get(row, "email")?,
        max_jobs: u32_of(get(row, "max_jobs")?),
        reply_url: get(row, "reply_url")?,
        create_time: get(row, "create_time")?,
        update_time: get(row, "update_time")?,
    })
}

pub(crate) const ACCOUNT_COLS: &str =
    "id, user_id, email, max_jobs, reply_url, create_time, update_time";

/// Task columns, unprefixed, for a tasks table aliased `t`.
pub(crate) const TASK_COLS: &str = "t.id, t.account_id, t.state, t.wire_status, t.attempt, t.cancel_requested, \
     t.progress, t.create_time, t.update_time, t.failure, t.reply_url, t.reply_ref, t.work_name, t.source_fid, \
     t.source_name, t.source_blob_key, t.cover_fid, t.cover_name, t.cover_blob_key, t.cover_content_type, \
     t.source_width, t.source_height, t.source_duration_ms";

pub(crate) fn read_task(row: &SqliteRow) -> StoreResult<Task> {
    let state: String = get(row, "state")?;
    let wire: i64 = get(row, "wire_status")?;
    let failure: Option<String> = get(row, "failure")?;
    Ok(Task {
        id: get(row, "id")?,
        account_id: get(row, "account_id")?,
        state: TaskState::parse(&state).ok_or_else(|| corrupt("state", &state))?,
        wire_status: WireStatus::from_code(wire)
            .ok_or_else(|| corrupt("wire_status", &wire.to_string()))?,
        attempt: u32_of(get(row, "attempt")?),
        cancel_requested: get::<i64>(row, "cancel_requested")? != 0,
        progress: get(row, "progress")?,
        create_time: get(row, "create_time")?,
        update_time: get(row, "update_time")?,
        failure: failure.as_deref().map(FailureReason::from_db),
        reply_url: get(row, "reply_url")?,
        reply_ref: get(row, "reply_ref")?,
        work_name: get(row, "work_name")?,
        input: TaskInput {
            source_fid: get(row, "source_fid")?,
            source_name: get(row, "source_name")?,
            source_blob_key: get(row, "source_blob_key")?,
            cover_fid: get(row, "cover_fid")?,
            cover_name: get(row, "cover_name")?,
            cover_blob_key: get(row, "cover_blob_key")?,
            cover_content_type: get(row, "cover_content_type")?,
            source_width: u32_of(get(row, "source_width")?),
            source_height: u32_of(get(row, "source_height")?),
            source_duration_ms: u64_of(get(row, "source_duration_ms")?),
        },
    })
}

/// Columns of a work with its four files (aliases `w`, `fp`, `fc`, `fb`, `fz`).
pub(crate) fn work_cols() -> String {
    format!(
        "w.id AS w_id, w.task_id AS w_task_id, w.account_id AS w_account_id, w.name AS w_name, \
         w.create_time AS w_create_time, {}, {}, {}, {}",
        file_cols("fp"),
        file_cols("fc"),
        file_cols("fb"),
        file_cols("fz")
    )
}

/// Joins of the four files of a work (or official motion) aliased `w`.
pub(crate) const WORK_FILE_JOINS: &str = "JOIN files fp ON fp.fid = w.preview_fid \
     JOIN files fc ON fc.fid = w.cover_fid JOIN files fb ON fb.fid = w.bvh_fid JOIN files fz ON fz.fid = w.binary_fid";

/// Left joins, for task views where the work may be absent.
pub(crate) const WORK_FILE_LEFT_JOINS: &str = "LEFT JOIN files fp ON fp.fid = w.preview_fid \
     LEFT JOIN files fc ON fc.fid = w.cover_fid LEFT JOIN files fb ON fb.fid = w.bvh_fid \
     LEFT JOIN files fz ON fz.fid = w.binary_fid";

pub(crate) fn read_work(row: &SqliteRow) -> StoreResult<Option<Work>> {
    let Some(id) = get::<Option<i64>>(row, "w_id")? else {
        return Ok(None);
    };
    Ok(Some(Work {
        id,
        task_id: get(row, "w_task_id")?,
        account_id: get(row, "w_account_id")?,
        name: get(row, "w_name")?,
        create_time: get(row, "w_create_time")?,
        preview: read_file(row, "fp")?,
        cover: read_file(row, "fc")?,
        bvh_zip: read_file(row, "fb")?,
        binary_zip: read_file(row, "fz")?,
    }))
}

/// Select list + joins for a full task view (task, account maxJobs, unfinished count, work).
pub(crate) fn task_view_select() -> String {
    format!(
        "SELECT {TASK_COLS}, a.max_jobs AS max_jobs, \
         (SELECT COUNT(*) FROM tasks u WHERE u.account_id = t.account_id AND u.wire_status IN (5, 10)) AS unfinished, \
         {work} FROM tasks t JOIN accounts a ON a.id = t.account_id \
         LEFT JOIN works w ON w.task_id = t.id {WORK_FILE_LEFT_JOINS}",
        work = work_cols()
    )
}

pub(crate) fn read_task_view(row: &SqliteRow) -> StoreResult<TaskView> {
    Ok(TaskView {
        task: read_task(row)?,
        work: read_work(row)?,
        max_jobs: u32_of(get(row, "max_jobs")?),
        unfinished: u32_of(get(row, "unfinished")?),
    })
}

//! The SQLite adapter.

mod accounts;
mod assets;
mod change_watch;
mod files;
mod motions;
mod outbox;
mod rows;
mod tasks;
mod users;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use motion_core::ports::{ChangeStamp, StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

/// The database clock in integer milliseconds since the Unix epoch. All lease math uses it,
/// so worker clocks do not matter.
pub(crate) const DB_NOW: &str =
    "CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)";

/// Connection settings.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// How long a writer waits for the write lock before the call fails as unavailable.
    pub busy_timeout: Duration,
    /// Pool size (readers run in parallel under WAL; writers serialise).
    pub max_connections: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(10),
            max_connections: 8,
        }
    }
}

/// Every repository port over one SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Tells readers whether anything was committed since (see [`ChangeStamp`]).
    watch: Arc<change_watch::ChangeWatch>,
}

/// The file named by a `sqlite://PATH` (or `sqlite:PATH`) URL, exactly as [`SqliteStore::open_url`]
/// opens it; `None` for other URLs.
pub fn sqlite_url_path(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path`. Does not migrate.
    pub async fn open(path: &Path, opts: &SqliteOptions) -> StoreResult<Self> {
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // A 200 promises survival of a power cut, which NORMAL does not give under WAL.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(opts.busy_timeout);
        let pool = Self::connect_waiting_out_busy(connect, opts).await?;
        let watch = Arc::new(change_watch::ChangeWatch::open(path)?);
        Ok(Self { pool, watch })
    }

    /// Connects the pool, retrying while the file is busy, up to the busy timeout. The first
    /// connection's `PRAGMA journal_mode=WAL` can meet another process's lock, and SQLite
    /// answers that at once with SQLITE_BUSY instead of calling the busy handler.
    async fn connect_waiting_out_busy(
        connect: SqliteConnectOptions,
        opts: &SqliteOptions,
    ) -> StoreResult<SqlitePool> {
        let deadline = std::time::Instant::now() + opts.busy_timeout;
        loop {
            let attempt = SqlitePoolOptions::new()
                .max_connections(opts.max_connections.max(1))
                .acquire_timeout(opts.busy_timeout)
                .connect_with(connect.clone())
                .await;
            match attempt {
                Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                    tracing::debug!(error = %e, "database busy while connecting; retrying");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => return other.map_err(map_err),
            }
        }
    }

    /// Opens the database from a `sqlite://PATH` URL (`database.url`).
    pub async fn open_url(url: &str, opts: &SqliteOptions) -> StoreResult<Self> {
        let path = sqlite_url_path(url)
            .ok_or_else(|| StoreError::Internal(format!("not a sqlite URL: {url}")))?;
        Self::open(Path::new(path), opts).await
    }

    /// Runs the embedded forward-only migrations (`migrations/sqlite/`).
    pub async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("migrations/sqlite")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migrate: {e}")))
    }

    /// `SELECT 1`, for `/readyz`.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    /// Closes the pool (shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The underlying pool (tests, diagnostics).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A write transaction that takes the write lock up front. A deferred `BEGIN` would
    /// fail with a busy-snapshot error when another writer commits between our read and
    /// our write; `IMMEDIATE` makes every read-then-write exact.
    pub(crate) async fn write_tx(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_err)
    }
}

impl ChangeStamp for SqliteStore {
    fn stamp(&self) -> Option<i64> {
        self.watch.stamp()
    }
}

/// SQLITE_BUSY (5) or SQLITE_LOCKED (6), extended codes included: another connection holds a
/// lock that a retry may find released.
fn is_busy(e: &sqlx::Error) -> bool {
    matches!(sqlite_primary_code(e), Some(5 | 6))
}

/// The primary result code (low byte of the extended code) of a SQLite error.
fn sqlite_primary_code(e: &sqlx::Error) -> Option<i64> {
    let sqlx::Error::Database(db) = e else {
        return None;
    };
    db.code()?.parse::<i64>().ok().map(|c| c & 0xff)
}

/// Maps a sqlx error onto the port's error kinds: busy/locked/pool/I/O → Unavailable,
/// uniqueness → Conflict, the rest → Internal.
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
        sqlx::Error::Database(db) => {
            // SQLITE_BUSY (5), SQLITE_LOCKED (6) and their extended codes; SQLITE_FULL (13),
            // SQLITE_IOERR (10), SQLITE_CANTOPEN (14).
            if matches!(sqlite_primary_code(&e), Some(5 | 6 | 10 | 13 | 14)) {
                StoreError::Unavailable(e.to_string())
            } else if db.is_unique_violation() {
                StoreError::Conflict(e.to_string())
            } else {
                StoreError::Internal(e.to_string())
            }
        }
        _ => StoreError::Internal(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process that holds a fresh file's exclusive lock while we open it (as a starting
    /// peer switching it to WAL does) delays the open; it does not fail it.
    #[tokio::test]
    async fn open_waits_out_another_connections_exclusive_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.db");
        let holder = rusqlite::Connection::open(&path).unwrap();
        holder
            .execute_batch("CREATE TABLE t (x INTEGER); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);")
            .unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            holder.execute_batch("COMMIT").unwrap();
        });
        let opts = SqliteOptions {
            busy_timeout: Duration::from_secs(5),
            ..SqliteOptions::default()
        };
        let store = SqliteStore::open(&path, &opts)
            .await
            .expect("open after the lock");
        release.join().unwrap();
        store.ping().await.unwrap();
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(rows, 1);
    }

    #[test]
    fn only_busy_and_locked_errors_are_retried() {
        assert!(!is_busy(&sqlx::Error::PoolTimedOut));
        assert_eq!(sqlite_primary_code(&sqlx::Error::WorkerCrashed), None);
    }
}

//! [`ChangeStamp`] for SQLite: `PRAGMA data_version` on a connection of its own.
//!
//! SQLite changes a connection's `data_version` whenever any *other* connection — in this process
//! or another one sharing the file (`motiond api` beside `motiond worker`) — has committed since
//! that connection last asked. One idle connection that never writes therefore sees every commit.
//! It is a plain synchronous call (a read transaction's start and end in the WAL index: a few
//! microseconds), so readers can afford one per request.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use motion_core::ports::{ChangeStamp, StoreError, StoreResult};

/// See the module documentation.
pub(crate) struct ChangeWatch {
    conn: Mutex<rusqlite::Connection>,
}

impl std::fmt::Debug for ChangeWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeWatch").finish_non_exhaustive()
    }
}

impl ChangeWatch {
    /// Opens the watch connection on the database file at `path`.
    pub(crate) fn open(path: &Path) -> StoreResult<Self> {
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
            | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = rusqlite::Connection::open_with_flags(path, flags)
            .map_err(|e| StoreError::Unavailable(format!("open the change watch: {e}")))?;
        // A read start only waits during another process's WAL recovery; past that we answer
        // "unknown" and the caller reads through.
        conn.busy_timeout(Duration::from_millis(200))
            .map_err(|e| StoreError::Unavailable(format!("change watch busy timeout: {e}")))?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }
}

impl ChangeStamp for ChangeWatch {
    fn stamp(&self) -> Option<i64> {
        // The connection holds no state that a panic elsewhere could have left half-updated.
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let read = conn
            .prepare_cached("PRAGMA data_version")
            .and_then(|mut stmt| stmt.query_row([], |row| row.get::<_, i64>(0)));
        match read {
            Ok(version) => Some(version),
            Err(e) => {
                tracing::warn!(error = %e, "change watch: data_version failed; nothing is reused");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(path: &Path, sql: &str) {
        rusqlite::Connection::open(path)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    }

    #[test]
    fn the_stamp_moves_on_every_commit_of_another_connection_and_only_then() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        exec(
            &path,
            "PRAGMA journal_mode=WAL; CREATE TABLE t (x INTEGER);",
        );
        let watch = ChangeWatch::open(&path).unwrap();
        let first = watch.stamp().unwrap();
        assert_eq!(watch.stamp(), Some(first), "no commit, same stamp");
        exec(&path, "INSERT INTO t VALUES (1);");
        let second = watch.stamp().unwrap();
        assert_ne!(second, first, "a commit moves the stamp");
        assert_eq!(watch.stamp(), Some(second));
        exec(&path, "BEGIN; INSERT INTO t VALUES (2); ROLLBACK;");
        assert_eq!(watch.stamp(), Some(second), "a rollback commits nothing");
        exec(&path, "UPDATE t SET x = 3 WHERE x = 99;");
        assert_eq!(
            watch.stamp(),
            Some(second),
            "a statement that changes no row writes no page"
        );
    }
}

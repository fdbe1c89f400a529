//! motion-storage: the storage adapters of motiond.
//!
//! - [`SqliteStore`]: the embedded default. Implements every repository port of
//!   `motion_core::ports` over one SQLite file (WAL, `synchronous=FULL`, `BEGIN IMMEDIATE`
//!   for read-then-write transactions, lease math in the database's clock).
//! - [`FsBlobStore`]: blobs as files under a local folder, written atomically
//!   (temp file + fsync + rename).
//!
//! PostgreSQL and S3 adapters are a later issue; the port shapes are dialect-neutral.

mod blob_fs;
mod sqlite;

pub use blob_fs::{FsBlobStore, close_to_others};
pub use sqlite::{SqliteOptions, SqliteStore, sqlite_url_path};

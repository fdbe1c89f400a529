//! The blob key scheme. Keys are relative, `/`-separated and never contain user text.
//!
//! - `assets/<account>/<asset id>/<fileName>` and `assets/<account>/<asset id>/cover.jpg`
//! - `results/<task>/<lease token>/<name>`: attempt-scoped, so a stale attempt can never
//!   overwrite what another attempt published
//! - `official/<catalog key hash>/<version>/<name>`

use crate::domain::{AccountId, TaskId};
use crate::ids::sha256_hex;

/// The first segment of every key this scheme makes: where the janitor looks for blobs that no
/// row names (what a crash between storing a blob and committing its row leaves).
pub const FAMILIES: [&str; 3] = ["assets/", "results/", "official/"];

pub fn asset_original(account: AccountId, asset_id: &str, file_name: &str) -> String {
    format!("assets/{account}/{asset_id}/{file_name}")
}

pub fn asset_cover(account: AccountId, asset_id: &str) -> String {
    format!("assets/{account}/{asset_id}/cover.jpg")
}

pub fn result(task: TaskId, lease_token: &str, name: &str) -> String {
    format!("results/{task}/{lease_token}/{name}")
}

/// Official motion files; `version` changes on each import so replaced files never clash.
pub fn official(catalog_key: &str, version: &str, name: &str) -> String {
    let key = &sha256_hex(catalog_key.as_bytes())[..16];
    format!("official/{key}/{version}/{name}")
}

/// True when `key` is a safe relative key: non-empty `/`-separated segments of
/// `[A-Za-z0-9._-]`, none of them `.` or `..`.
pub fn is_safe_key(key: &str) -> bool {
    !key.is_empty()
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_in_one_of_the_families() {
        for key in [
            asset_original(1, "2", "a.mp4"),
            asset_cover(1, "2"),
            result(9, "tok", "bvh.zip"),
            official("walk", "v1", "bvh.zip"),
        ] {
            assert_eq!(
                FAMILIES.iter().filter(|f| key.starts_with(*f)).count(),
                1,
                "{key}"
            );
        }
    }

    #[test]
    fn keys_are_safe() {
        assert!(is_safe_key(&asset_original(5, "123", "abc.mp4")));
        assert!(is_safe_key(&asset_cover(5, "123")));
        assert!(is_safe_key(&result(9, "0af3", "bvh.zip")));
        assert!(is_safe_key(&official("walking", "v1", "motion.mp4")));
        assert_eq!(result(9, "tok", "bvh.zip"), "results/9/tok/bvh.zip");
        for bad in ["", "/abs", "a//b", "../x", "a/./b", "a/b c", "a\\b"] {
            assert!(!is_safe_key(bad), "{bad}");
        }
    }
}

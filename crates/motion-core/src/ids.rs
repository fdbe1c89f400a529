//! Identifier generation (contract §2.8, §4.1, §2.2).
//!
//! - task ids, work ids and account `userId`s: `ms since 2025-01-01 × 4096 + 12-bit part`,
//!   within `1 ..= 2^53−1`, unique per generator and increasing, not sequential;
//! - asset ids: random in `1 ..= 2^63−1`, as decimal strings;
//! - fids: 24 random bytes, base64url without padding (32 characters);
//! - asset file names: 20 characters of `[a-z0-9]`;
//! - API tokens: `mtd_` + 43 base64url characters (32 random bytes), stored only as SHA-256 hex.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::clock::{Clock, Millis};
use crate::ports::{StoreError, StoreResult};

/// 2025-01-01T00:00:00Z in ms since the Unix epoch.
pub const ID_EPOCH_MS: Millis = 1_735_689_600_000;
/// 2^53 − 1: the largest id that is safe in JavaScript.
pub const MAX_SAFE_ID: i64 = 9_007_199_254_740_991;

const PART_BITS: u32 = 12;
const PART_MAX: i64 = (1 << PART_BITS) - 1;

/// Generates task, work and account ids.
#[derive(Debug, Clone)]
pub struct IdGenerator {
    clock: Arc<dyn Clock>,
    state: Arc<Mutex<IdState>>,
}

#[derive(Debug, Default)]
struct IdState {
    last_ms: i64,
    part: i64,
}

impl IdGenerator {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            state: Arc::new(Mutex::new(IdState::default())),
        }
    }

    /// Next id. Within one millisecond the low part counts up from a random start (so ids
    /// are not sequential across milliseconds); when it overflows, the id borrows the next
    /// millisecond, which keeps ids strictly increasing within this generator.
    pub fn next_id(&self) -> i64 {
        let now = (self.clock.now_ms() - ID_EPOCH_MS).max(0);
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if now > st.last_ms {
            st.last_ms = now;
            st.part = rand::rng().random_range(0..=PART_MAX / 2);
        } else {
            st.part += 1 + rand::rng().random_range(0..4);
            if st.part > PART_MAX {
                st.last_ms += 1;
                st.part = rand::rng().random_range(0..=PART_MAX / 2);
            }
        }
        let id = (st.last_ms << PART_BITS) + st.part;
        // An id of 0 is impossible except in the first ms of 2025 with part 0; avoid it.
        id.clamp(1, MAX_SAFE_ID)
    }
}

/// How many fresh ids a write tries before its conflict is an error.
const ID_ATTEMPTS: usize = 4;

impl IdGenerator {
    /// Runs `write` with a fresh id, and again with another while the store answers that the
    /// id is taken (`Conflict`). Each process has its own generator, so two processes sharing a
    /// database (the split `api` and `worker` commands) can issue the same id in the same
    /// millisecond (about one pair in 2,000); the store keeps every id issued and refuses a
    /// second one. Any other uniqueness rule the write breaks is tried again the same way, and
    /// fails alike if it persists.
    pub async fn with_fresh_id<T, F, Fut>(&self, mut write: F) -> StoreResult<T>
    where
        F: FnMut(i64) -> Fut,
        Fut: Future<Output = StoreResult<T>>,
    {
        for _ in 1..ID_ATTEMPTS {
            match write(self.next_id()).await {
                Err(StoreError::Conflict(_)) => continue,
                done => return done,
            }
        }
        write(self.next_id()).await
    }
}

/// A random asset id, `1 ..= 2^63−1`, as its decimal string (no leading zeros).
pub fn new_asset_id() -> String {
    rand::rng().random_range(1..=i64::MAX).to_string()
}

/// A new file capability id: 24 random bytes, base64url without padding.
pub fn new_fid() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// True when `s` has the shape of a fid (32 characters of `[A-Za-z0-9_-]`).
pub fn is_fid(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A random asset file stem: 20 characters of `[a-z0-9]`.
pub fn new_file_stem() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// A new API token: `mtd_` + 43 base64url characters.
pub fn new_api_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    format!("mtd_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Lowercase hex SHA-256 of a token: the only form in which tokens are stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn of_token(token: &str) -> Self {
        Self(sha256_hex(token.as_bytes()))
    }
    /// Wraps an already computed lowercase hex digest (from storage).
    pub fn from_hex(hex: String) -> Self {
        Self(hex)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lowercase hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex_lower(&Sha256::digest(bytes))
}

/// Lowercase hex of bytes.
pub fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A fresh lease or event token (UUID v4 text); used as the fencing token of a claim.
pub fn new_lease_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Stable negative workId of an official catalog entry, derived from its catalog key so
/// that it is the same across restarts, upgrades and fresh installs (contract §2.8).
/// Range: −(10^14 + h) with h < 9·10^14, so at most 15 digits and safe in JavaScript.
pub fn official_work_id(catalog_key: &str) -> i64 {
    let digest = Sha256::digest(catalog_key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let h = u64::from_be_bytes(first) % 900_000_000_000_000;
    -(100_000_000_000_000 + i64::try_from(h).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_increasing_and_in_range() {
        let clock = ManualClock::new(ID_EPOCH_MS + 1_000);
        let g = IdGenerator::new(Arc::new(clock.clone()));
        let mut seen = HashSet::new();
        let mut last = 0;
        // 20_000 ids in the same millisecond force overflow into later milliseconds.
        for _ in 0..20_000 {
            let id = g.next_id();
            assert!(id > last, "ids must increase");
            assert!((1..=MAX_SAFE_ID).contains(&id));
            assert!(seen.insert(id));
            last = id;
        }
        clock.advance(60_000);
        let later = g.next_id();
        assert!(later > last);
        assert!(later >> PART_BITS >= 61_000);
    }

    #[tokio::test]
    async fn a_taken_id_is_drawn_again_a_few_times_and_other_errors_are_not() {
        let g = IdGenerator::new(Arc::new(ManualClock::new(ID_EPOCH_MS + 1_000)));
        let tried = Mutex::new(Vec::new());
        let taken_twice = g
            .with_fresh_id(|id| {
                tried.lock().unwrap().push(id);
                let n = tried.lock().unwrap().len();
                async move {
                    match n {
                        1 | 2 => Err(StoreError::Conflict("taken".into())),
                        _ => Ok(id),
                    }
                }
            })
            .await;
        let tried = tried.into_inner().unwrap();
        assert_eq!(tried.len(), 3);
        assert_eq!(taken_twice.unwrap(), tried[2]);
        assert!(tried[0] < tried[1] && tried[1] < tried[2], "{tried:?}");

        let calls = Mutex::new(0);
        let always_taken: StoreResult<()> = g
            .with_fresh_id(|_| {
                *calls.lock().unwrap() += 1;
                async { Err(StoreError::Conflict("taken".into())) }
            })
            .await;
        assert!(matches!(always_taken, Err(StoreError::Conflict(_))));
        assert_eq!(calls.into_inner().unwrap(), ID_ATTEMPTS);

        let calls = Mutex::new(0);
        let down: StoreResult<()> = g
            .with_fresh_id(|_| {
                *calls.lock().unwrap() += 1;
                async { Err(StoreError::Unavailable("down".into())) }
            })
            .await;
        assert!(matches!(down, Err(StoreError::Unavailable(_))));
        assert_eq!(calls.into_inner().unwrap(), 1);
    }

    #[test]
    fn ids_encode_time_since_2025() {
        let clock = ManualClock::new(ID_EPOCH_MS + 123_456);
        let g = IdGenerator::new(Arc::new(clock));
        assert_eq!(g.next_id() >> PART_BITS, 123_456);
    }

    #[test]
    fn ids_stay_safe_for_decades() {
        // 2090-01-01 is still below 2^53.
        let clock = ManualClock::new(3_786_912_000_000);
        let g = IdGenerator::new(Arc::new(clock));
        assert!(g.next_id() <= MAX_SAFE_ID);
    }

    #[test]
    fn fids_and_names_have_contract_shape() {
        let fid = new_fid();
        assert!(is_fid(&fid), "{fid}");
        assert_ne!(fid, new_fid());
        assert!(!is_fid("short"));
        let stem = new_file_stem();
        assert_eq!(stem.len(), 20);
        assert!(
            stem.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        let asset = new_asset_id();
        assert!(!asset.starts_with('0'));
        assert!(asset.parse::<i64>().unwrap() >= 1);
    }

    #[test]
    fn tokens_and_hashes() {
        let t = new_api_token();
        assert!(t.starts_with("mtd_"));
        assert_eq!(t.len(), 4 + 43);
        let h = TokenHash::of_token("abc");
        assert_eq!(
            h.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn official_ids_are_stable_and_negative() {
        let a = official_work_id("walking");
        assert_eq!(a, official_work_id("walking"));
        assert_ne!(a, official_work_id("running"));
        assert!(a <= -100_000_000_000_000 && a > -1_000_000_000_000_000);
    }
}

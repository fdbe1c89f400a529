//! An injectable wall clock, so services and tests agree on "now".
//!
//! Only user-visible times (createTime, updateTime, id generation) come from here.
//! Lease math is done in the database's clock by the storage adapters.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Milliseconds since the Unix epoch (UTC).
pub type Millis = i64;

/// Source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_ms(&self) -> Millis;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> Millis {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start_ms: Millis) -> Self {
        Self(Arc::new(AtomicI64::new(start_ms)))
    }
    pub fn set(&self, ms: Millis) {
        self.0.store(ms, Ordering::SeqCst);
    }
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

/// Formats milliseconds as RFC 3339 UTC with milliseconds, e.g. `2025-04-18T12:34:56.789Z`
/// (the `started` field of the scheduler, contract §7.1).
pub fn rfc3339_millis(ms: Millis) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(nanos) else {
        return "1970-01-01T00:00:00.000Z".to_owned();
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Formats an elapsed time as `MM:SS`, minutes zero-padded to at least two digits and not
/// capped at 59 (contract §7.1). Negative spans count as zero.
pub fn elapsed_mm_ss(elapsed_ms: i64) -> String {
    let secs = elapsed_ms.max(0) / 1000;
    format!("{:02}:{:02}", secs / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_with_millis() {
        // 2025-04-18T12:34:56.789Z
        assert_eq!(
            rfc3339_millis(1_744_979_696_789),
            "2025-04-18T12:34:56.789Z"
        );
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn formats_elapsed_without_cap() {
        assert_eq!(elapsed_mm_ss(225_000), "03:45");
        assert_eq!(elapsed_mm_ss(125 * 60_000 + 7_000), "125:07");
        assert_eq!(elapsed_mm_ss(-5), "00:00");
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(10);
        assert_eq!(c.now_ms(), 10);
        c.advance(5);
        assert_eq!(c.now_ms(), 15);
        c.set(3);
        assert_eq!(c.now_ms(), 3);
    }
}

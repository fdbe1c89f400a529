//! The retry schedule of callbacks (contract §8.3), as a pure function.

use std::time::Duration;

use motion_core::clock::Millis;

/// Most a receiver's `Retry-After` may push the next attempt.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// The retry policy: delays before attempts 2, 3, …; one last attempt at `max_age` after
/// the first; never anything later.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub delays: Vec<Duration>,
    pub max_age: Duration,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    RetryAt(Millis),
    Abandon,
}

impl RetryPolicy {
    /// After failed attempt number `attempt` (1-based) made at `now`, with the first attempt
    /// at `first_attempt_at`. `jitter` is the random factor in [0.9, 1.1].
    pub fn after_failure(
        &self,
        attempt: u32,
        first_attempt_at: Millis,
        now: Millis,
        jitter: f64,
        retry_after: Option<Duration>,
    ) -> NextStep {
        let deadline = first_attempt_at.saturating_add(ms(self.max_age));
        if now >= deadline {
            return NextStep::Abandon;
        }
        let mut next = match self.delays.get(attempt.saturating_sub(1) as usize) {
            Some(delay) => now + (ms(*delay) as f64 * jitter.clamp(0.9, 1.1)).round() as Millis,
            None => deadline,
        };
        if let Some(ra) = retry_after {
            next = next.max(now + ms(ra.min(MAX_RETRY_AFTER)));
        }
        NextStep::RetryAt(next.min(deadline))
    }
}

fn ms(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A random factor in [0.9, 1.1].
pub fn jitter() -> f64 {
    use rand::Rng;
    rand::rng().random_range(0.9..=1.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_policy() -> RetryPolicy {
        RetryPolicy {
            delays: [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800]
                .map(Duration::from_secs)
                .to_vec(),
            max_age: Duration::from_secs(86_400),
        }
    }

    #[test]
    fn contract_schedule_without_jitter() {
        let p = default_policy();
        let first = 1_000_000;
        let mut now = first;
        let mut times = vec![now];
        for attempt in 1.. {
            match p.after_failure(attempt, first, now, 1.0, None) {
                NextStep::RetryAt(t) => {
                    now = t;
                    times.push(t);
                }
                NextStep::Abandon => break,
            }
        }
        let gaps: Vec<i64> = times.windows(2).map(|w| (w[1] - w[0]) / 1000).collect();
        assert_eq!(gaps[..9], [5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800]);
        assert_eq!(
            times.len(),
            11,
            "ten scheduled attempts plus the last one at 24 h"
        );
        assert_eq!(*times.last().unwrap(), first + 86_400_000);
    }

    #[test]
    fn jitter_scales_within_bounds() {
        let p = default_policy();
        assert_eq!(
            p.after_failure(2, 0, 10_000, 0.9, None),
            NextStep::RetryAt(10_000 + 27_000)
        );
        assert_eq!(
            p.after_failure(2, 0, 10_000, 1.1, None),
            NextStep::RetryAt(10_000 + 33_000)
        );
        assert_eq!(
            p.after_failure(2, 0, 10_000, 5.0, None),
            NextStep::RetryAt(10_000 + 33_000)
        );
        for _ in 0..100 {
            let j = jitter();
            assert!((0.9..=1.1).contains(&j));
        }
    }

    #[test]
    fn retry_after_only_pushes_later_and_at_most_an_hour() {
        let p = default_policy();
        let early = p.after_failure(1, 0, 0, 1.0, Some(Duration::from_secs(1)));
        assert_eq!(early, NextStep::RetryAt(5_000), "never earlier");
        let later = p.after_failure(1, 0, 0, 1.0, Some(Duration::from_secs(90)));
        assert_eq!(later, NextStep::RetryAt(90_000));
        let capped = p.after_failure(1, 0, 0, 1.0, Some(Duration::from_secs(100_000)));
        assert_eq!(capped, NextStep::RetryAt(3_600_000));
    }

    #[test]
    fn never_past_max_age() {
        let p = RetryPolicy {
            delays: vec![Duration::from_secs(100)],
            max_age: Duration::from_secs(10),
        };
        assert_eq!(
            p.after_failure(1, 0, 1000, 1.0, None),
            NextStep::RetryAt(10_000)
        );
        assert_eq!(p.after_failure(2, 0, 10_000, 1.0, None), NextStep::Abandon);
    }
}

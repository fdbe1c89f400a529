//! Task failure reasons (contract §6.1): the only texts a status-50 task may carry.

use std::fmt;

/// Why a task ended in status 50.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    /// The engine found no usable person.
    NoPerson,
    /// The decoded duration, in tenths of a second, is outside [2.0, 10.0].
    Duration { tenths: u64 },
    /// Decoding failed at processing time.
    Undecodable,
    /// The job ran longer than `worker.task_timeout_s`.
    TimedOut,
    /// The worker was lost `worker.max_attempts` times.
    Interrupted,
    /// `DELETE /scheduler/{task_id}`.
    Canceled,
    /// Anything else; details go to the log only.
    Internal,
}

impl FailureReason {
    /// The exact `message` text of the contract.
    pub fn message(&self) -> String {
        match self {
            Self::NoPerson => "No person detected in the video (MOTION.PIC_NOT_MATCHED)".to_owned(),
            Self::Duration { tenths } => {
                format!(
                    "Video must be between 2 and 10 seconds long (got {} s)",
                    format_tenths(*tenths)
                )
            }
            Self::Undecodable => "Video could not be decoded".to_owned(),
            Self::TimedOut => "Processing timed out".to_owned(),
            Self::Interrupted => "Processing was interrupted too many times".to_owned(),
            Self::Canceled => "Task was canceled".to_owned(),
            Self::Internal => "Internal error".to_owned(),
        }
    }

    /// Compact text for storage (`no_person`, `duration:123`, …).
    pub fn to_db(&self) -> String {
        match self {
            Self::NoPerson => "no_person".to_owned(),
            Self::Duration { tenths } => format!("duration:{tenths}"),
            Self::Undecodable => "undecodable".to_owned(),
            Self::TimedOut => "timed_out".to_owned(),
            Self::Interrupted => "interrupted".to_owned(),
            Self::Canceled => "canceled".to_owned(),
            Self::Internal => "internal".to_owned(),
        }
    }

    /// Parses [`Self::to_db`]; unknown text reads as `Internal` so old rows never break reads.
    pub fn from_db(s: &str) -> Self {
        match s {
            "no_person" => Self::NoPerson,
            "undecodable" => Self::Undecodable,
            "timed_out" => Self::TimedOut,
            "interrupted" => Self::Interrupted,
            "canceled" => Self::Canceled,
            other => other
                .strip_prefix("duration:")
                .and_then(|t| t.parse().ok())
                .map(|tenths| Self::Duration { tenths })
                .unwrap_or(Self::Internal),
        }
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// Rounds a duration to tenths of a second, half up, once, from the exact value
/// (10.04 s → 100, 10.05 s → 101, 10.0495 s → 100; contract §4.1 and §5.1 row 18).
///
/// A tiny epsilon absorbs binary representation error (10.05 is stored as
/// 10.04999…), so that decimal half-way values round up as written.
pub fn duration_tenths(seconds: f64) -> u64 {
    if !seconds.is_finite() || seconds <= 0.0 {
        return 0;
    }
    (seconds * 10.0 + 0.5 + 1e-9).floor() as u64
}

/// A duration in whole milliseconds, **truncated** (10.0495 s → 10049 ms), as assets store it.
///
/// Truncating to whole ms never changes the tenths: [`duration_ms_tenths`] of this value
/// equals [`duration_tenths`] of the exact duration, so motion-upload's 2–10 s rule on the
/// stored ms agrees with the upload's 10 s check. Rounding to ms would not (10.0495 s →
/// 10050 ms → 10.1 s). The epsilon is the one of [`duration_tenths`], in ms.
pub fn duration_ms(seconds: f64) -> u64 {
    if !seconds.is_finite() || seconds <= 0.0 {
        return 0;
    }
    (seconds * 1000.0 + 1e-6).floor() as u64
}

/// Rounds whole milliseconds, as [`duration_ms`] truncates them, to tenths of a second,
/// half up.
pub fn duration_ms_tenths(ms: u64) -> u64 {
    (ms + 50) / 100
}

/// `12.3`-style text of tenths of a second.
pub fn format_tenths(tenths: u64) -> String {
    format!("{}.{}", tenths / 10, tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_the_contract_texts() {
        assert_eq!(
            FailureReason::NoPerson.message(),
            "No person detected in the video (MOTION.PIC_NOT_MATCHED)"
        );
        assert_eq!(
            FailureReason::Duration { tenths: 123 }.message(),
            "Video must be between 2 and 10 seconds long (got 12.3 s)"
        );
        assert_eq!(
            FailureReason::Duration { tenths: 10 }.message(),
            "Video must be between 2 and 10 seconds long (got 1.0 s)"
        );
        assert_eq!(
            FailureReason::Undecodable.message(),
            "Video could not be decoded"
        );
        assert_eq!(FailureReason::TimedOut.message(), "Processing timed out");
        assert_eq!(
            FailureReason::Interrupted.message(),
            "Processing was interrupted too many times"
        );
        assert_eq!(FailureReason::Canceled.message(), "Task was canceled");
        assert_eq!(FailureReason::Internal.message(), "Internal error");
    }

    #[test]
    fn db_text_round_trips() {
        for r in [
            FailureReason::NoPerson,
            FailureReason::Duration { tenths: 7 },
            FailureReason::Undecodable,
            FailureReason::TimedOut,
            FailureReason::Interrupted,
            FailureReason::Canceled,
            FailureReason::Internal,
        ] {
            assert_eq!(FailureReason::from_db(&r.to_db()), r);
        }
        assert_eq!(FailureReason::from_db("garbage"), FailureReason::Internal);
    }

    #[test]
    fn rounding_is_half_up_on_tenths() {
        assert_eq!(duration_tenths(10.04), 100);
        assert_eq!(duration_tenths(10.05), 101);
        assert_eq!(duration_tenths(1.96), 20);
        assert_eq!(duration_tenths(5.76), 58);
        assert_eq!(duration_ms_tenths(1949), 19);
        assert_eq!(duration_ms_tenths(1950), 20);
        assert_eq!(format_tenths(100), "10.0");
        assert_eq!(duration_tenths(0.95), 10);
        assert_eq!(duration_tenths(1.94), 19);
        assert_eq!(duration_tenths(-1.0), 0);
    }

    /// Contract §4.1: one rounding from the exact value, so [x.x495, x.x5) rounds down
    /// (rounding to whole ms first made 10.049550 s "10.1 s").
    #[test]
    fn rounding_is_done_once_from_the_exact_duration() {
        assert_eq!(duration_tenths(10.049550), 100);
        assert_eq!(duration_tenths(10.0495), 100);
        assert_eq!(duration_tenths(10.049999), 100);
        assert_eq!(duration_tenths(10.05), 101);
        assert_eq!(duration_tenths(1.9495), 19);
        assert_eq!(duration_tenths(1.95), 20);
        assert_eq!(duration_ms(10.049550), 10049);
        assert_eq!(duration_ms(10.05), 10050);
        assert_eq!(duration_ms(5.76), 5760);
        assert_eq!(duration_ms(f64::NAN), 0);
    }

    /// The stored (truncated) ms give the same tenths as the exact duration, for every
    /// value ffprobe can print (6 decimals) within 1.5 ms of a half-tenth, up to 12 s.
    #[test]
    fn stored_ms_round_like_the_exact_duration() {
        for tenth in 0..120u64 {
            let half = tenth * 100_000 + 50_000;
            for us in half - 1500..half + 1500 {
                let s: f64 = format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
                    .parse()
                    .unwrap();
                assert_eq!(
                    duration_ms_tenths(duration_ms(s)),
                    duration_tenths(s),
                    "{s}"
                );
            }
        }
    }
}

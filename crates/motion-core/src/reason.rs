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

/// Rounds a duration to tenths of a second, half up, via whole milliseconds
/// (10.04 s → 100, 10.05 s → 101; contract §4.1).
pub fn duration_tenths(seconds: f64) -> u64 {
    if !seconds.is_finite() || seconds <= 0.0 {
        return 0;
    }
    let ms = (seconds * 1000.0).round() as u64;
    duration_ms_tenths(ms)
}

/// Rounds whole milliseconds to tenths of a second, half up.
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
    }
}

//! Injected time: every timestamp the fake world writes or checks comes from a [`Clock`].

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time, in unix seconds.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time in seconds since the unix epoch.
    fn now(&self) -> i64;
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock frozen at the given unix time (for deterministic tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_returns_its_value() {
        assert_eq!(FixedClock(1_700_000_000).now(), 1_700_000_000);
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.now() > 1_704_067_200);
    }
}

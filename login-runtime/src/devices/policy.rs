//! The timeout policy: when a login is over, and how often "last seen" is written. Pure: it
//! takes the times, reads no request and no store.

use std::time::{Duration, SystemTime};

/// "Last seen" is written at most this often, so a busy login does not write its session or
/// its device entry on every request.
const MAX_SEEN_GRANULARITY: Duration = Duration::from_secs(60);

/// An idle timeout and an absolute lifetime, either of which may be off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Timeouts {
    pub(crate) idle: Option<Duration>,
    pub(crate) lifetime: Option<Duration>,
}

impl Timeouts {
    /// Whether either timeout is set.
    pub(crate) fn any(&self) -> bool {
        self.idle.is_some() || self.lifetime.is_some()
    }

    /// How stale "last seen" may get before it is written again: a minute, or a quarter of
    /// the idle timeout if that is shorter.
    pub(crate) fn seen_granularity(&self) -> Duration {
        self.idle
            .map_or(MAX_SEEN_GRANULARITY, |idle| idle / 4)
            .min(MAX_SEEN_GRANULARITY)
    }

    /// Whether "last seen" at `seen` is stale enough at `now` to be written again.
    pub(crate) fn seen_is_stale(&self, seen: SystemTime, now: SystemTime) -> bool {
        now.duration_since(seen).unwrap_or_default() >= self.seen_granularity()
    }

    /// Whether a login made at `login_at` and last seen at `seen` has timed out at `now`. A
    /// clock that went back counts as no time passed.
    pub(crate) fn timed_out(
        &self,
        login_at: SystemTime,
        seen: SystemTime,
        now: SystemTime,
    ) -> bool {
        let past = |since: SystemTime, limit: Option<Duration>| {
            limit.is_some_and(|limit| now.duration_since(since).unwrap_or_default() >= limit)
        };
        past(login_at, self.lifetime) || past(seen, self.idle)
    }
}

/// `at` as milliseconds since the Unix epoch, as the session stores times.
pub(crate) fn millis(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// The time `ms` milliseconds after the Unix epoch (the epoch itself if out of range).
pub(crate) fn from_millis(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_millis(ms))
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::{Timeouts, from_millis, millis};

    #[test]
    fn timeouts_count_from_the_login_and_from_the_last_visit() {
        let timeouts = Timeouts {
            idle: Some(Duration::from_secs(60)),
            lifetime: Some(Duration::from_secs(3600)),
        };
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |secs| t0 + Duration::from_secs(secs);
        assert!(!timeouts.timed_out(t0, at(3000), at(3059)));
        assert!(timeouts.timed_out(t0, at(3000), at(3060)), "idle");
        assert!(
            timeouts.timed_out(t0, at(3599), at(3600)),
            "past its lifetime"
        );
        assert!(
            !timeouts.timed_out(t0, t0, t0 - Duration::from_secs(5)),
            "clock went back"
        );
        assert_eq!(timeouts.seen_granularity(), Duration::from_secs(15));
        assert_eq!(
            Timeouts::default().seen_granularity(),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn without_timeouts_nothing_times_out() {
        let t0 = SystemTime::UNIX_EPOCH;
        let far = t0 + Duration::from_secs(100 * 365 * 24 * 3600);
        assert!(!Timeouts::default().any());
        assert!(!Timeouts::default().timed_out(t0, t0, far));
    }

    #[test]
    fn last_seen_is_written_only_when_stale() {
        let timeouts = Timeouts {
            idle: Some(Duration::from_secs(600)),
            lifetime: None,
        };
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert!(!timeouts.seen_is_stale(t0, t0 + Duration::from_secs(59)));
        assert!(timeouts.seen_is_stale(t0, t0 + Duration::from_secs(60)));
    }

    #[test]
    fn session_times_round_trip_in_milliseconds() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(from_millis(millis(at)), at);
        assert_eq!(millis(SystemTime::UNIX_EPOCH - Duration::from_secs(1)), 0);
    }
}

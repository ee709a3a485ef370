//! Throttling of failed logins per username.
//!
//! An attempt reserves a slot *before* the password is checked, so parallel attempts cannot
//! all slip through while the first ones are still being verified.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept before stale ones are pruned, bounding memory under a username spray.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct LoginThrottle {
    max_failures: u32,
    window: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Failures plus attempts still being checked.
    count: u32,
    window_start: Instant,
}

impl LoginThrottle {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves an attempt for `username`, or says how many seconds to wait.
    pub fn begin(&self, username: &str, now: Instant) -> Result<(), u64> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() > PRUNE_ABOVE {
            let window = self.window;
            entries.retain(|_, e| now.duration_since(e.window_start) < window);
        }
        let entry = entries.entry(username.to_owned()).or_insert(Entry {
            count: 0,
            window_start: now,
        });
        if now.duration_since(entry.window_start) >= self.window {
            *entry = Entry {
                count: 0,
                window_start: now,
            };
        }
        if entry.count >= self.max_failures {
            let remaining = self.window - now.duration_since(entry.window_start);
            return Err(remaining.as_secs().max(1));
        }
        entry.count += 1;
        Ok(())
    }

    /// Ends a reserved attempt: a success clears the username's record, a failure keeps it.
    pub fn finish(&self, username: &str, succeeded: bool) {
        if succeeded {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.remove(username);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures_until_window_ends() {
        let throttle = LoginThrottle::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(throttle.begin("a", t0).is_ok());
            throttle.finish("a", false);
        }
        assert_eq!(throttle.begin("a", t0 + Duration::from_secs(10)), Err(50));
        assert!(throttle.begin("other", t0).is_ok(), "per username");
        assert!(throttle.begin("a", t0 + Duration::from_secs(60)).is_ok());
    }

    #[test]
    fn parallel_attempts_count_before_they_finish() {
        let throttle = LoginThrottle::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(throttle.begin("a", t0).is_ok());
        assert!(throttle.begin("a", t0).is_ok());
        assert!(throttle.begin("a", t0).is_err());
    }

    #[test]
    fn success_resets() {
        let throttle = LoginThrottle::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(throttle.begin("a", t0).is_ok());
        throttle.finish("a", false);
        assert!(throttle.begin("a", t0).is_ok());
        throttle.finish("a", true);
        assert!(throttle.begin("a", t0).is_ok());
        assert!(throttle.begin("a", t0).is_ok());
    }
}

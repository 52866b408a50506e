//! The one retry policy: which failures are retried, how often, how long apart.
//! Pure: attempts and errors in, a delay or "give up" out.

use std::time::Duration;

use super::step::StepError;

/// How failed effects and observations are retried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay after the first failure; doubles after each further one.
    pub base: Duration,
    /// Longest delay.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Returns the delay before attempt `attempt + 1` after `err` ended
    /// attempt `attempt` (1-based), or `None` to give up. The jitter (up to a
    /// quarter of the delay) is derived from `salt` (e.g. the operation id), so
    /// concurrent operations spread out and the same run retries alike.
    pub fn next_delay(&self, attempt: u32, err: &StepError, salt: &str) -> Option<Duration> {
        if !err.retryable || attempt >= self.max_attempts {
            return None;
        }
        let exp = self.base.saturating_mul(1u32 << (attempt - 1).min(16));
        let delay = exp.min(self.cap);
        let h = blake3::hash(format!("{salt}/{attempt}").as_bytes());
        let frac = u64::from(h.as_bytes()[0]) as f64 / 255.0 / 4.0;
        Some(delay + delay.mul_f64(frac))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(300),
        }
    }

    #[test]
    fn permanent_errors_are_not_retried() {
        assert_eq!(policy().next_delay(1, &StepError::fatal("403"), "op"), None);
    }

    #[test]
    fn delays_double_up_to_the_cap_then_give_up() {
        let p = policy();
        let e = StepError::retryable("503");
        let d: Vec<Duration> = (1..4).map(|a| p.next_delay(a, &e, "op").unwrap()).collect();
        assert!(d[0] >= Duration::from_millis(100) && d[0] <= Duration::from_millis(125));
        assert!(d[1] >= Duration::from_millis(200) && d[1] <= Duration::from_millis(250));
        assert!(
            d[2] >= Duration::from_millis(300) && d[2] <= Duration::from_millis(375),
            "capped"
        );
        assert_eq!(p.next_delay(4, &e, "op"), None, "after max_attempts");
    }

    #[test]
    fn jitter_is_stable_per_salt() {
        let p = policy();
        let e = StepError::retryable("x");
        assert_eq!(p.next_delay(2, &e, "a"), p.next_delay(2, &e, "a"));
    }
}

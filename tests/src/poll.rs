//! Waiting for a condition with a deadline: the only way tests here wait (no fixed sleeps).

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

/// Check `condition` every 100 ms until it returns `Some`, or fail after `limit` naming `what`.
pub fn wait_for<T>(
    what: &str,
    limit: Duration,
    mut condition: impl FnMut() -> Option<T>,
) -> Result<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = condition() {
            return Ok(value);
        }
        if start.elapsed() > limit {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_value_once_the_condition_holds() {
        let mut calls = 0;
        let value = wait_for("the third call", Duration::from_secs(5), || {
            calls += 1;
            (calls == 3).then_some(calls)
        })
        .unwrap();
        assert_eq!(value, 3);
    }

    #[test]
    fn fails_with_the_description_after_the_limit() {
        let error = wait_for::<()>("nothing", Duration::from_millis(150), || None).unwrap_err();
        assert!(error.to_string().contains("waiting for nothing"), "{error}");
    }
}

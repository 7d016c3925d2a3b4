//! The in-process bound on wrong user codes entered at the device verification page (RFC 8628
//! §5.1: "the authorization server should rate-limit user-code verification attempts").
//!
//! A user code carries about 34.5 bits (eight characters of twenty, §6.1), far less than a
//! device code: guessing one would let an attacker approve a stranger's device request with the
//! attacker's account, or read which client asked. So every wrong code counts against two
//! budgets, per fixed window of one minute:
//!
//! - a **global** one, which bounds the guesses the whole provider accepts whatever their source
//!   (an attacker with many addresses included): with the default 100 a minute and 10 000 live
//!   grants, one guess in about 2.5 million finds a code, and a grant lives 10 minutes;
//! - one **per client IP**, when the server was started with `ConnectInfo` (axum's
//!   `into_make_service_with_connect_info`): one address cannot spend the global budget alone,
//!   so the users behind other addresses keep their page. Without `ConnectInfo` only the global
//!   budget applies. Proxies are not looked through (`Forwarded` is the client's to forge); behind
//!   a reverse proxy every request has the proxy's address, and the per-IP budget is the proxy's.
//!
//! Past a budget the page answers 429 without looking the code up, until the window ends. The
//! addresses tracked are bounded ([`MAX_TRACKED_ADDRESSES`]); past that bound a new address is
//! held to the global budget only. Counts live in the process: several instances each have their
//! own budgets.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The length of one counting window.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);

/// The most client addresses counted in one window.
const MAX_TRACKED_ADDRESSES: usize = 10_000;

/// The default of [`GuessLimiter::new`]'s global budget: wrong user codes a minute.
pub(crate) const DEFAULT_PER_WINDOW: u32 = 100;

/// The default of [`GuessLimiter::new`]'s per-address budget: wrong user codes a minute.
pub(crate) const DEFAULT_PER_ADDRESS: u32 = 10;

/// Counts wrong user codes per window, overall and per client address.
#[derive(Debug)]
pub(crate) struct GuessLimiter {
    per_window: u32,
    per_address: u32,
    window: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    wrong: u32,
    by_address: HashMap<IpAddr, u32>,
}

impl GuessLimiter {
    /// A limiter allowing `per_window` wrong codes a minute overall and `per_address` from one
    /// client address.
    pub(crate) fn new(per_window: u32, per_address: u32) -> Self {
        Self {
            per_window,
            per_address,
            window: Mutex::new(Window { started: Instant::now(), wrong: 0, by_address: HashMap::new() }),
        }
    }

    /// The current window, started anew when the last one ended.
    fn current<T>(&self, now: Instant, f: impl FnOnce(&mut Window) -> T) -> T {
        // A poisoned lock only means a panic elsewhere while counting; the counts are still
        // numbers, keep using them.
        let mut window = self.window.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if now.duration_since(window.started) >= WINDOW {
            *window = Window { started: now, wrong: 0, by_address: HashMap::new() };
        }
        f(&mut window)
    }

    /// Whether a code from `address` may be looked up now: both budgets have room. When it may
    /// not, the time until the window ends.
    pub(crate) fn check(&self, address: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let (per_window, per_address) = (self.per_window, self.per_address);
        self.current(now, |window| {
            let address_spent = address.and_then(|ip| window.by_address.get(&ip)).is_some_and(|n| *n >= per_address);
            if window.wrong >= per_window || address_spent {
                Err(WINDOW.saturating_sub(now.duration_since(window.started)))
            } else {
                Ok(())
            }
        })
    }

    /// Counts one wrong code from `address`.
    pub(crate) fn wrong(&self, address: Option<IpAddr>, now: Instant) {
        self.current(now, |window| {
            window.wrong = window.wrong.saturating_add(1);
            let Some(ip) = address else { return };
            let room = window.by_address.len() < MAX_TRACKED_ADDRESSES;
            match window.by_address.get_mut(&ip) {
                Some(count) => *count = count.saturating_add(1),
                None if room => {
                    window.by_address.insert(ip, 1);
                }
                // Full: this address is held to the global budget only, which still counted it.
                None => {}
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn one_address_spends_its_budget_and_the_others_keep_theirs() {
        let limiter = GuessLimiter::new(5, 2);
        let now = Instant::now();
        let (a, b) = (Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))), Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2))));
        limiter.wrong(a, now);
        limiter.wrong(a, now);
        assert!(limiter.check(a, now).is_err());
        assert!(limiter.check(b, now).is_ok());
        limiter.wrong(b, now);
        limiter.wrong(None, now);
        limiter.wrong(None, now);
        assert!(limiter.check(None, now).is_err(), "the global budget is spent");
        assert!(limiter.check(a, now + WINDOW).is_ok(), "a new window");
    }
}

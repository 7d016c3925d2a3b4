//! The records of the device authorization grant (RFC 8628) and the two state changes every store
//! makes to them, as pure functions on the record ([`DeviceGrant::poll`],
//! [`DeviceGrant::decide`]): a store only has to apply each atomically, so that every store
//! answers a poll alike.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::model::client::ClientId;
use crate::model::principal::AuthenticatedPrincipal;
use crate::model::scope::Scopes;

/// How much a `slow_down` answer adds to the polling interval (RFC 8628 §3.5: "the interval MUST
/// be increased by 5 seconds for this and all subsequent requests").
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// The least time a grant is remembered after it expired.
const KEPT_AFTER_EXPIRY: Duration = Duration::from_secs(60);

/// The longest polling interval a grant reaches, however often its device polls too fast: past
/// it the device is still told `slow_down`, and the grant expires long before.
const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// A device authorization request (RFC 8628 §3.1) and where it stands, stored under the hash of
/// its device code and found by its user code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeviceGrant {
    /// The client that asked, the only one that may redeem the device code.
    pub client_id: ClientId,
    /// The user code in its normal form: eight characters of the RFC 8628 §6.1 consonant
    /// alphabet, upper case, without the dash it is shown with. Unique among the grants a store
    /// holds.
    pub user_code: String,
    /// The scopes the scope policy granted the request; the user is asked for exactly these.
    pub scopes: Scopes,
    /// The audiences of the tokens (RFC 8707 resources, or the default audience).
    pub audience: Vec<String>,
    /// After this the user code is refused and a poll answers `expired_token`.
    pub expires_at: SystemTime,
    /// The grant is remembered until then (after `expires_at`, so that a late poll hears
    /// `expired_token` rather than `invalid_grant`); a store may forget it afterwards.
    pub keep_until: SystemTime,
    /// The least time between two polls (RFC 8628 §3.2 `interval`), grown by every `slow_down`.
    pub interval: Duration,
    /// When the device last polled.
    pub last_poll: Option<SystemTime>,
    /// Where the user's decision stands.
    pub status: DeviceStatus,
}

/// Where a device grant stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DeviceStatus {
    /// The user has not decided yet.
    Pending,
    /// The user approved: the next poll of its device gets the tokens.
    Approved {
        /// Who approved (subject, `auth_time`, `acr`).
        principal: AuthenticatedPrincipal,
    },
    /// The user (or the host's consent policy) denied the request.
    Denied,
    /// The device code was exchanged for tokens: it is spent.
    Redeemed,
}

/// The user's decision on a device grant, as [`Store::decide_device_grant`](crate::store::Store::decide_device_grant) records it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceDecision {
    /// Approved by this user.
    Approve(AuthenticatedPrincipal),
    /// Denied.
    Deny,
}

/// What one poll of the token endpoint finds (RFC 8628 §3.5), as
/// [`Store::poll_device_grant`](crate::store::Store::poll_device_grant) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DevicePoll {
    /// The user has not decided: `authorization_pending`.
    Pending,
    /// The device polled before its interval had passed: `slow_down`, and from now on it must wait
    /// `interval`.
    SlowDown {
        /// The grown interval.
        interval: Duration,
    },
    /// The user approved; this poll spent the device code, and no other poll gets it.
    Approved {
        /// Who approved.
        principal: AuthenticatedPrincipal,
    },
    /// The user denied: `access_denied`.
    Denied,
    /// The grant expired before it was redeemed: `expired_token`.
    Expired,
    /// The device code was spent by an earlier poll: `invalid_grant`.
    Redeemed,
    /// No such device code (or one forgotten since): `invalid_grant`.
    Unknown,
}

impl DeviceGrant {
    /// A new grant issued at `issued_at`, pending, never polled: it expires `lifetime` later, and
    /// is kept as long again (at least a minute) so that a late poll hears `expired_token` (RFC
    /// 8628 §3.5) rather than `invalid_grant`.
    pub fn new(
        client_id: ClientId,
        user_code: String,
        scopes: Scopes,
        audience: Vec<String>,
        issued_at: SystemTime,
        lifetime: Duration,
        interval: Duration,
    ) -> Self {
        let expires_at = issued_at + lifetime;
        Self {
            client_id,
            user_code,
            scopes,
            audience,
            expires_at,
            keep_until: expires_at + lifetime.max(KEPT_AFTER_EXPIRY),
            interval,
            last_poll: None,
            status: DeviceStatus::Pending,
        }
    }

    /// Whether the user may still decide at `now`: pending and not expired.
    pub fn awaits_user(&self, now: SystemTime) -> bool {
        self.status == DeviceStatus::Pending && now < self.expires_at
    }

    /// One poll at `now` (RFC 8628 §3.5), applied to the grant: what the token endpoint answers,
    /// with the grant changed as the answer says (the poll time recorded, the interval grown, an
    /// approved grant spent). A store applies this atomically.
    ///
    /// Polling too fast is judged only while the user has not decided (`slow_down` is "a variant
    /// of `authorization_pending`"): once there is an answer, the device gets it at once.
    pub fn poll(&mut self, now: SystemTime) -> DevicePoll {
        if self.status == DeviceStatus::Redeemed {
            return DevicePoll::Redeemed;
        }
        if now >= self.expires_at {
            return DevicePoll::Expired;
        }
        match &self.status {
            DeviceStatus::Pending => {
                let too_soon = self.last_poll.is_some_and(|last| now < last + self.interval);
                self.last_poll = Some(now);
                if too_soon {
                    self.interval = (self.interval + SLOW_DOWN_STEP).min(MAX_INTERVAL);
                    DevicePoll::SlowDown { interval: self.interval }
                } else {
                    DevicePoll::Pending
                }
            }
            DeviceStatus::Approved { principal } => {
                let principal = principal.clone();
                self.last_poll = Some(now);
                self.status = DeviceStatus::Redeemed;
                DevicePoll::Approved { principal }
            }
            DeviceStatus::Denied => DevicePoll::Denied,
            DeviceStatus::Redeemed => DevicePoll::Redeemed,
        }
    }

    /// Records the user's decision at `now`, if the grant still awaits one: `false`, changing
    /// nothing, when it expired or was decided before (the first decision stands). A store
    /// applies this atomically.
    pub fn decide(&mut self, decision: &DeviceDecision, now: SystemTime) -> bool {
        if !self.awaits_user(now) {
            return false;
        }
        self.status = match decision {
            DeviceDecision::Approve(principal) => DeviceStatus::Approved { principal: principal.clone() },
            DeviceDecision::Deny => DeviceStatus::Denied,
        };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(now: SystemTime) -> DeviceGrant {
        DeviceGrant::new(
            ClientId::new("cli"),
            "BCDFGHJK".to_owned(),
            Scopes::default(),
            Vec::new(),
            now,
            Duration::from_secs(600),
            Duration::from_secs(5),
        )
    }

    #[test]
    fn polling_too_fast_grows_the_interval_and_remembers_it() {
        let now = SystemTime::now();
        let mut grant = grant(now);
        assert_eq!(grant.poll(now), DevicePoll::Pending);
        assert_eq!(
            grant.poll(now + Duration::from_secs(1)),
            DevicePoll::SlowDown { interval: Duration::from_secs(10) }
        );
        // Six seconds after the last poll: enough for the old interval, not the grown one.
        assert_eq!(
            grant.poll(now + Duration::from_secs(7)),
            DevicePoll::SlowDown { interval: Duration::from_secs(15) }
        );
        assert_eq!(grant.poll(now + Duration::from_secs(30)), DevicePoll::Pending);
    }

    #[test]
    fn an_approval_is_redeemed_once() {
        let now = SystemTime::now();
        let mut grant = grant(now);
        let user = AuthenticatedPrincipal::new("alice", now);
        assert!(grant.decide(&DeviceDecision::Approve(user.clone()), now));
        assert!(!grant.decide(&DeviceDecision::Deny, now), "the first decision stands");
        assert_eq!(grant.poll(now), DevicePoll::Approved { principal: user });
        assert_eq!(grant.poll(now + Duration::from_secs(10)), DevicePoll::Redeemed);
    }

    #[test]
    fn an_expired_grant_takes_no_decision_and_polls_expired() {
        let now = SystemTime::now();
        let mut grant = grant(now);
        let later = now + Duration::from_secs(601);
        assert!(!grant.decide(&DeviceDecision::Deny, later));
        assert_eq!(grant.poll(later), DevicePoll::Expired);
        assert!(grant.keep_until > later);
    }

    #[test]
    fn a_denial_is_reported_on_every_poll() {
        let now = SystemTime::now();
        let mut grant = grant(now);
        assert!(grant.decide(&DeviceDecision::Deny, now));
        assert_eq!(grant.poll(now), DevicePoll::Denied);
        assert_eq!(grant.poll(now), DevicePoll::Denied);
    }
}

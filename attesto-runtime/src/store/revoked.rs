//! Revoked access tokens (RFC 7009 §2), kept in process so that checking a token costs no store
//! round trip, and refreshed from the store so that every instance learns of every revocation.
//!
//! Access tokens are JWTs checked by signature; the only state a check needs is the set of
//! revoked `jti`s (and revoked grants, see below). Reading it from the store for every request
//! would put a database round trip on every userinfo and introspection call, so each instance
//! keeps a copy and reads the store's list
//! ([`Store::revoked_access_tokens`](crate::Store::revoked_access_tokens)) at most once per
//! refresh interval, on the request path: the first check after the interval has passed reads it,
//! and checks that arrive meanwhile wait for that one read instead of starting their own.
//!
//! The bound on staleness is exact: a check uses the copy only if the read it came from *started*
//! less than one interval before the check, so a revocation committed to the store at `t` is
//! refused by every instance from `t + interval` on. A revocation made by this instance is in its
//! copy at once. A process that starts (or restarts) has read nothing, so its first check reads
//! the list: with a persistent store, a token revoked before the restart stays refused.
//!
//! When the store cannot be read and the copy is older than the interval, the check fails
//! (`503 temporarily_unavailable`) rather than accept a token that may have been revoked since.
//!
//! # Grants
//!
//! Revoking a refresh token revokes the grant behind it, and with it every access token issued
//! under that grant (RFC 7009 §2.1; RFC 9700 §4.14.2 for a reused refresh token and §4.5.3.1 for
//! a replayed code). Every access token issued under a refresh family carries a `grant_id` claim
//! ([`grant_id`]), and revoking the family records one more entry in the same list, keyed
//! [`grant_key`] (`grant:<grant_id>`), until the latest moment a token of that grant can still be
//! accepted. A check refuses a token whose `jti` *or* whose grant is in the list. So the store
//! keeps no list of the tokens a family issued, and a grant revocation reaches the other
//! instances and the `RemoteGuard`s sharing the store exactly as a `jti` does.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::HostError;
use crate::store::DynStore;

/// The domain-separation prefix of a [`grant_id`] hash.
const GRANT_ID_CONTEXT: &[u8] = b"attesto grant";

/// The prefix of a grant's entry in the list of revoked access tokens.
///
/// The `jti`s attesto mints are base64url (RFC 4648 §5, `new_id`), whose alphabet has no `:`, and
/// only tokens signed by this provider's keys are ever checked against the list: a grant's key
/// can never equal a token's `jti`, so the two share the list (and the store's table) without
/// a schema change and without colliding.
const GRANT_KEY_PREFIX: &str = "grant:";

/// The `grant_id` claim of the access tokens issued under the refresh family `family_id`:
/// base64url of the first 128 bits of SHA-256(`"attesto grant"` || `family_id`).
///
/// Opaque on purpose: the family id is the store's key of the family (and is in the
/// `refresh_rotated` and reuse events), and tokens are readable by clients and resource servers,
/// so they carry a one-way, domain-separated digest of it instead. 128 bits, as many as the
/// family id's own randomness, so that two grants never share an id.
pub(crate) fn grant_id(family_id: &str) -> String {
    let digest = Sha256::new().chain_update(GRANT_ID_CONTEXT).chain_update(family_id.as_bytes()).finalize();
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The key under which the revocation of the grant `grant_id` is listed: `grant:<grant_id>`.
pub(crate) fn grant_key(grant_id: &str) -> String {
    let mut key = String::with_capacity(GRANT_KEY_PREFIX.len() + grant_id.len());
    key.push_str(GRANT_KEY_PREFIX);
    key.push_str(grant_id);
    key
}

/// How often an instance reads the store's revoked access tokens by default.
pub(crate) const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// The longest refresh interval accepted: past it, a revoked token could outlive the point of
/// revoking it (access tokens live 15 minutes by default).
pub(crate) const MAX_REFRESH_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// The size of the revoked set under which an insert never walks it.
const PRUNE_FLOOR: usize = 1024;

/// This instance's copy of the revoked access tokens.
pub(crate) struct RevokedTokens {
    interval: Duration,
    state: Mutex<State>,
    /// Held by the one task that reads the store's list; the others wait for it, then use what it
    /// read (no stampede of reads when the interval passes under load).
    read: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    /// Revoked `jti`s and when their tokens expire.
    tokens: HashMap<String, SystemTime>,
    /// The size past which an insert first drops the expired entries (see [`RevokedTokens::insert`]).
    prune_at: usize,
    /// When the last successful read of the store's list started.
    synced_at: Option<Instant>,
    /// The last read of the store's list.
    last_read: Option<LastRead>,
}

#[derive(Clone, Copy)]
struct LastRead {
    started: Instant,
    finished: Instant,
    succeeded: bool,
}

impl RevokedTokens {
    pub(crate) fn new(interval: Duration) -> Self {
        Self { interval, state: Mutex::default(), read: tokio::sync::Mutex::new(()) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a panic while holding it; the map is still consistent (every
        // update leaves it so before anything can panic), so keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a revocation made by this instance (after the store recorded it).
    pub(crate) fn insert(&self, jti: &str, expires_at: SystemTime) {
        let now = SystemTime::now();
        let mut state = self.lock();
        // Entries are useless once their token expired. Dropping them walks the whole set, so it
        // is done only when the set has doubled since the last time: amortised, an insert costs
        // O(1), and the set stays within twice the live revocations (plus the floor).
        let entry = state.tokens.entry(jti.to_owned()).or_insert(expires_at);
        *entry = (*entry).max(expires_at);
        if state.tokens.len() > state.prune_at {
            state.tokens.retain(|_, exp| *exp > now);
            state.prune_at = (state.tokens.len() * 2).max(PRUNE_FLOOR);
        }
    }

    /// Whether the token `jti`, or the grant `grant_id` it was issued under, was revoked, by any
    /// instance sharing `store`, up to one refresh interval ago.
    pub(crate) async fn is_revoked(
        &self,
        store: &dyn DynStore,
        jti: &str,
        grant_id: Option<&str>,
        now: SystemTime,
    ) -> Result<bool, HostError> {
        self.refresh(store).await?;
        let grant = grant_id.map(grant_key);
        let state = self.lock();
        let listed = |key: &str| state.tokens.get(key).is_some_and(|until| *until > now);
        Ok(listed(jti) || grant.as_deref().is_some_and(listed))
    }

    /// Reads the store's list if the copy is older than the interval; one read at a time.
    async fn refresh(&self, store: &dyn DynStore) -> Result<(), HostError> {
        let arrived = Instant::now();
        if self.is_fresh(&self.lock(), arrived) {
            return Ok(());
        }
        let _one_reader = self.read.lock().await;
        {
            let state = self.lock();
            if self.is_fresh(&state, arrived) {
                return Ok(());
            }
            match state.last_read {
                // A read that started after this check arrived saw every revocation this check
                // must see (this matters with an interval of zero).
                Some(read) if read.succeeded && read.started >= arrived => return Ok(()),
                // A read failed while this check waited: the store is away, and another read now
                // would only queue behind it, so every check that waited shares the failure.
                Some(read) if !read.succeeded && read.finished >= arrived => {
                    return Err(HostError::msg("the revoked access tokens could not be read from the store"));
                }
                _ => {}
            }
        }
        let started = Instant::now();
        let read = store.revoked_access_tokens(SystemTime::now()).await;
        let mut state = self.lock();
        state.last_read = Some(LastRead { started, finished: Instant::now(), succeeded: read.is_ok() });
        let list = read?;
        // A union, not a replacement: a revocation this instance made while the read was under
        // way may be missing from the list, and revocations are never undone.
        let now = SystemTime::now();
        state.tokens.retain(|_, exp| *exp > now);
        for (jti, expires_at) in list {
            let entry = state.tokens.entry(jti).or_insert(expires_at);
            *entry = (*entry).max(expires_at);
        }
        state.prune_at = (state.tokens.len() * 2).max(PRUNE_FLOOR);
        state.synced_at = Some(started);
        Ok(())
    }

    /// Whether the copy is recent enough for a check that arrived at `arrived`.
    fn is_fresh(&self, state: &State, arrived: Instant) -> bool {
        state.synced_at.is_some_and(|synced| arrived.saturating_duration_since(synced) < self.interval)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use std::time::{Duration, SystemTime};

    use super::RevokedTokens;
    use crate::error::HostError;
    use crate::store::memory::MemoryStore;
    use crate::store::{
        AuthorizationCode, CodeIssue, CodeRedemption, DeviceDecision, DeviceGrant, DevicePoll, Grant, LogoutSession,
        PendingAuthorization, RefreshFamily, RefreshLookup, Rotation, Store, TokenHash,
    };

    /// A memory store that counts the reads of the revoked list, can fail them, and makes each
    /// read take a little while so that concurrent checks overlap it.
    #[derive(Default)]
    struct Counting {
        inner: MemoryStore,
        reads: AtomicUsize,
        down: AtomicBool,
    }

    impl Store for Counting {
        async fn put_pending(&self, h: &TokenHash, p: &PendingAuthorization) -> Result<(), HostError> {
            self.inner.put_pending(h, p).await
        }
        async fn take_pending(
            &self,
            h: &TokenHash,
            now: SystemTime,
        ) -> Result<Option<PendingAuthorization>, HostError> {
            self.inner.take_pending(h, now).await
        }
        async fn put_code(&self, c: &TokenHash, g: &AuthorizationCode) -> Result<(), HostError> {
            self.inner.put_code(c, g).await
        }
        async fn find_code(&self, c: &TokenHash, now: SystemTime) -> Result<Option<AuthorizationCode>, HostError> {
            self.inner.find_code(c, now).await
        }
        async fn redeem_code(
            &self,
            c: &TokenHash,
            i: &CodeIssue,
            now: SystemTime,
        ) -> Result<CodeRedemption, HostError> {
            self.inner.redeem_code(c, i, now).await
        }
        async fn create_refresh_family(&self, f: &RefreshFamily, t: &TokenHash) -> Result<bool, HostError> {
            self.inner.create_refresh_family(f, t).await
        }
        async fn find_refresh(&self, t: &TokenHash, now: SystemTime) -> Result<RefreshLookup, HostError> {
            self.inner.find_refresh(t, now).await
        }
        async fn rotate_refresh(&self, p: &TokenHash, n: &TokenHash, now: SystemTime) -> Result<Rotation, HostError> {
            self.inner.rotate_refresh(p, n, now).await
        }
        async fn revoke_refresh_family(&self, id: &str, until: SystemTime) -> Result<(), HostError> {
            self.inner.revoke_refresh_family(id, until).await
        }
        async fn revoke_access_token(&self, jti: &str, exp: SystemTime) -> Result<(), HostError> {
            self.inner.revoke_access_token(jti, exp).await
        }
        async fn is_access_token_revoked(&self, jti: &str, now: SystemTime) -> Result<bool, HostError> {
            self.inner.is_access_token_revoked(jti, now).await
        }
        async fn revoked_access_tokens(&self, now: SystemTime) -> Result<Vec<(String, SystemTime)>, HostError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            if self.down.load(Ordering::SeqCst) {
                return Err(HostError::msg("database down"));
            }
            self.inner.revoked_access_tokens(now).await
        }
        async fn insert_dpop_jti(&self, key: &TokenHash, exp: SystemTime) -> Result<bool, HostError> {
            self.inner.insert_dpop_jti(key, exp).await
        }
        async fn put_device_grant(&self, d: &TokenHash, g: &DeviceGrant) -> Result<bool, HostError> {
            self.inner.put_device_grant(d, g).await
        }
        async fn find_device_grant(&self, d: &TokenHash, now: SystemTime) -> Result<Option<DeviceGrant>, HostError> {
            self.inner.find_device_grant(d, now).await
        }
        async fn find_device_grant_by_user_code(
            &self,
            u: &str,
            now: SystemTime,
        ) -> Result<Option<(TokenHash, DeviceGrant)>, HostError> {
            self.inner.find_device_grant_by_user_code(u, now).await
        }
        async fn decide_device_grant(
            &self,
            d: &TokenHash,
            decision: &DeviceDecision,
            now: SystemTime,
        ) -> Result<bool, HostError> {
            self.inner.decide_device_grant(d, decision, now).await
        }
        async fn poll_device_grant(&self, d: &TokenHash, now: SystemTime) -> Result<DevicePoll, HostError> {
            self.inner.poll_device_grant(d, now).await
        }
        async fn put_grant(&self, g: &Grant) -> Result<(), HostError> {
            self.inner.put_grant(g).await
        }
        async fn record_grant_use(&self, id: &str, now: SystemTime) -> Result<(), HostError> {
            self.inner.record_grant_use(id, now).await
        }
        async fn find_grant(&self, id: &str, now: SystemTime) -> Result<Option<Grant>, HostError> {
            self.inner.find_grant(id, now).await
        }
        async fn grants(&self, sub: &str, now: SystemTime, limit: usize) -> Result<Vec<Grant>, HostError> {
            self.inner.grants(sub, now, limit).await
        }
        async fn revoke_grant(&self, sub: &str, id: &str, now: SystemTime) -> Result<Option<Grant>, HostError> {
            self.inner.revoke_grant(sub, id, now).await
        }
        async fn put_logout_session(&self, s: &LogoutSession) -> Result<(), HostError> {
            self.inner.put_logout_session(s).await
        }
        async fn take_logout_sessions(
            &self,
            sub: &str,
            sid: Option<&str>,
            now: SystemTime,
        ) -> Result<Vec<LogoutSession>, HostError> {
            self.inner.take_logout_sessions(sub, sid, now).await
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    /// Runs `checks` concurrent checks of `jti` and returns their results.
    async fn concurrent_checks(
        revoked: &Arc<RevokedTokens>,
        store: &Arc<Counting>,
        checks: usize,
        jti: &'static str,
    ) -> Vec<Result<bool, HostError>> {
        let tasks: Vec<_> = (0..checks)
            .map(|_| {
                let (revoked, store) = (Arc::clone(revoked), Arc::clone(store));
                tokio::spawn(async move { revoked.is_revoked(&*store, jti, None, SystemTime::now()).await })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("a check panicked"));
        }
        results
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_checks_read_the_store_once_per_interval() {
        let store = Arc::new(Counting::default());
        store.revoke_access_token("elsewhere", SystemTime::now() + HOUR).await.expect("revoke");
        let revoked = Arc::new(RevokedTokens::new(HOUR));
        let results = concurrent_checks(&revoked, &store, 50, "elsewhere").await;
        assert!(results.iter().all(|r| matches!(r, Ok(true))), "a revocation in the store is seen at first use");
        for _ in 0..100 {
            assert!(!revoked.is_revoked(&*store, "other", None, SystemTime::now()).await.expect("check"));
        }
        assert_eq!(store.reads.load(Ordering::SeqCst), 1, "150 checks within one interval: one read");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_revocation_elsewhere_is_seen_after_the_interval() {
        let store = Arc::new(Counting::default());
        let interval = Duration::from_millis(100);
        let revoked = RevokedTokens::new(interval);
        assert!(!revoked.is_revoked(&*store, "jti", None, SystemTime::now()).await.expect("check"));
        // Another instance revokes it: the store has it, this copy not yet.
        store.revoke_access_token("jti", SystemTime::now() + HOUR).await.expect("revoke");
        tokio::time::sleep(interval).await;
        assert!(
            revoked.is_revoked(&*store, "jti", None, SystemTime::now()).await.expect("check"),
            "seen after the interval"
        );
        assert_eq!(store.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_local_revocation_is_seen_at_once_and_survives_a_read() {
        let store = Arc::new(Counting::default());
        let revoked = RevokedTokens::new(Duration::ZERO);
        // Revoked here, recorded locally but (as if the read raced it) not in the store's list.
        revoked.insert("local", SystemTime::now() + HOUR);
        assert!(revoked.is_revoked(&*store, "local", None, SystemTime::now()).await.expect("check"));
        assert!(revoked.is_revoked(&*store, "local", None, SystemTime::now()).await.expect("check"));
        assert_eq!(store.reads.load(Ordering::SeqCst), 2, "interval zero: each check reads the list");
        assert!(!revoked.is_revoked(&*store, "local", None, SystemTime::now() + 2 * HOUR).await.expect("check"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreadable_store_fails_stale_checks_with_one_read_at_a_time() {
        let store = Arc::new(Counting::default());
        store.down.store(true, Ordering::SeqCst);
        let revoked = Arc::new(RevokedTokens::new(HOUR));
        let results = concurrent_checks(&revoked, &store, 20, "jti").await;
        assert!(results.iter().all(Result::is_err), "no check may pass without ever having read the list");
        let reads = store.reads.load(Ordering::SeqCst);
        assert!(reads <= 2, "checks waiting for a failed read share its failure: {reads} reads for 20 checks");

        store.down.store(false, Ordering::SeqCst);
        assert!(!revoked.is_revoked(&*store, "jti", None, SystemTime::now()).await.expect("the store is back"));
    }

    #[test]
    fn a_grant_id_is_an_opaque_digest_of_the_family_id() {
        let family = crate::store::new_id();
        let id = super::grant_id(&family);
        assert_eq!(id, super::grant_id(&family), "one family, one grant id");
        assert_ne!(id, super::grant_id(&crate::store::new_id()), "two families, two grant ids");
        assert_eq!(id.len(), 22, "128 bits, base64url without padding: {id}");
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{id}");
        assert!(!id.contains(&family) && !family.contains(&id), "the family id does not show through");
        assert_eq!(super::grant_key(&id), format!("grant:{id}"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_revoked_grant_refuses_every_token_issued_under_it_and_no_other() {
        let store = Arc::new(Counting::default());
        let revoked = RevokedTokens::new(Duration::ZERO);
        let grant = super::grant_id("family");
        // Revoked by another instance: only the store has it.
        store.revoke_access_token(&super::grant_key(&grant), SystemTime::now() + HOUR).await.expect("revoke");
        let now = SystemTime::now();
        for jti in ["first", "second"] {
            assert!(revoked.is_revoked(&*store, jti, Some(&grant), now).await.expect("check"), "{jti}");
            assert!(!revoked.is_revoked(&*store, jti, None, now).await.expect("check"), "{jti} without the grant");
        }
        let other = super::grant_id("another family");
        assert!(!revoked.is_revoked(&*store, "third", Some(&other), now).await.expect("check"));
        // The raw grant id is not a key: only `grant:<id>` is.
        assert!(!revoked.is_revoked(&*store, &grant, None, now).await.expect("check"));
        assert!(!revoked.is_revoked(&*store, "first", Some(&grant), now + 2 * HOUR).await.expect("check"));
    }
}

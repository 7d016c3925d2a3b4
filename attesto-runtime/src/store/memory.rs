//! [`MemoryStore`]: the in-memory [`Store`], bounded.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Mutex;
use std::time::SystemTime;

use super::{
    AuthorizationCode, CodeIssue, CodeRedemption, DeviceDecision, DeviceGrant, DevicePoll, Grant, LogoutSession,
    PendingAuthorization, RefreshFamily, RefreshLookup, Rotation, Store, TokenHash,
};
use crate::error::HostError;
use crate::model::client::ClientId;

/// The default of [`MemoryStore::max_pending`].
const DEFAULT_MAX_PENDING: usize = 20_000;
/// The default of [`MemoryStore::max_pending_per_client`].
const DEFAULT_MAX_PENDING_PER_CLIENT: usize = 500;
/// The default of [`MemoryStore::max_dpop_proofs`].
const DEFAULT_MAX_DPOP_PROOFS: usize = 200_000;
/// The default of [`MemoryStore::max_device_grants`].
const DEFAULT_MAX_DEVICE_GRANTS: usize = 10_000;
/// The default of [`MemoryStore::max_device_grants_per_client`].
const DEFAULT_MAX_DEVICE_GRANTS_PER_CLIENT: usize = 500;
/// The default of [`MemoryStore::max_grants`].
const DEFAULT_MAX_GRANTS: usize = 100_000;
/// The default of [`MemoryStore::max_grants_per_subject`].
const DEFAULT_MAX_GRANTS_PER_SUBJECT: usize = 1_000;
/// The default of [`MemoryStore::max_logout_sessions`].
const DEFAULT_MAX_LOGOUT_SESSIONS: usize = 100_000;

/// The in-memory [`Store`]: the default, right for one instance whose state may be lost on
/// restart (users sign in again, refresh tokens stop working). Several instances, or refresh
/// tokens that survive a restart, need a shared database store.
///
/// One mutex guards everything, so every operation is trivially atomic. Expired entries leave as
/// time passes: every write first drops those whose time has come, found in an index ordered by
/// expiry, so a sweep costs what it removes and never walks the live entries.
///
/// What anonymous requests can make it hold is bounded. Pending requests (pushed authorization
/// requests, RFC 9126, which a public client pushes without a secret, and requests waiting on
/// the consent page) are capped overall ([`max_pending`](Self::max_pending), 20 000) and per
/// client ([`max_pending_per_client`](Self::max_pending_per_client), 500), and DPoP proofs
/// remembered against replay ([`max_dpop_proofs`](Self::max_dpop_proofs), 200 000), and device
/// grants (RFC 8628, which a public client starts without a secret) overall
/// ([`max_device_grants`](Self::max_device_grants), 10 000) and per client
/// ([`max_device_grants_per_client`](Self::max_device_grants_per_client), 500). Past a cap,
/// the write is refused and the request answered `503 temporarily_unavailable` (RFC 6749
/// §4.1.2.1) rather than the process growing: a flood costs its victims service for the
/// entries' lifetime (minutes), never the host's memory. Requests waiting for the user to sign
/// in are never stored (their handle carries them, sealed), nor are codes, refresh tokens or
/// revocations before a user or client authenticated.
///
/// The grants users gave clients ([`Grant`]) are recorded only once a user signed in and
/// consented, and are capped all the same, overall ([`max_grants`](Self::max_grants), 100 000)
/// and per user ([`max_grants_per_subject`](Self::max_grants_per_subject), 1 000): a user (or a
/// script with one user's session) that authorizes clients in a loop is refused new tokens
/// (`503`) until some of its grants expire or are revoked.
///
/// The clients to notify when a session ends (OpenID Connect Back-Channel Logout 1.0,
/// [`LogoutSession`]) are recorded only with a grant, one per user, session and client, and
/// capped overall ([`max_logout_sessions`](Self::max_logout_sessions), 100 000).
pub struct MemoryStore {
    state: Mutex<MemoryState>,
    max_pending: usize,
    max_pending_per_client: usize,
    max_dpop_proofs: usize,
    max_device_grants: usize,
    max_device_grants_per_client: usize,
    max_grants: usize,
    max_grants_per_subject: usize,
    max_logout_sessions: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            max_pending: DEFAULT_MAX_PENDING,
            max_pending_per_client: DEFAULT_MAX_PENDING_PER_CLIENT,
            max_dpop_proofs: DEFAULT_MAX_DPOP_PROOFS,
            max_device_grants: DEFAULT_MAX_DEVICE_GRANTS,
            max_device_grants_per_client: DEFAULT_MAX_DEVICE_GRANTS_PER_CLIENT,
            max_grants: DEFAULT_MAX_GRANTS,
            max_grants_per_subject: DEFAULT_MAX_GRANTS_PER_SUBJECT,
            max_logout_sessions: DEFAULT_MAX_LOGOUT_SESSIONS,
        }
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("max_pending", &self.max_pending)
            .field("max_pending_per_client", &self.max_pending_per_client)
            .field("max_dpop_proofs", &self.max_dpop_proofs)
            .field("max_device_grants", &self.max_device_grants)
            .field("max_device_grants_per_client", &self.max_device_grants_per_client)
            .field("max_grants", &self.max_grants)
            .field("max_grants_per_subject", &self.max_grants_per_subject)
            .field("max_logout_sessions", &self.max_logout_sessions)
            .finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store with the default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the most pending requests held at once, all clients together (default 20 000; at
    /// least 1).
    #[must_use]
    pub fn max_pending(mut self, entries: usize) -> Self {
        self.max_pending = entries.max(1);
        self
    }

    /// Sets the most pending requests one client may have at once (default 500; at least 1), so
    /// that one client (anyone, with open registration) cannot take every place.
    #[must_use]
    pub fn max_pending_per_client(mut self, entries: usize) -> Self {
        self.max_pending_per_client = entries.max(1);
        self
    }

    /// Sets the most DPoP proofs remembered at once against replay (default 200 000; at least 1).
    /// Each is kept for the proof window (RFC 9449 §11.1), a minute by default.
    #[must_use]
    pub fn max_dpop_proofs(mut self, entries: usize) -> Self {
        self.max_dpop_proofs = entries.max(1);
        self
    }

    /// Sets the most device grants (RFC 8628) held at once, all clients together (default
    /// 10 000; at least 1). Each is held for twice its lifetime (10 minutes by default), so that a
    /// late poll still hears `expired_token`.
    #[must_use]
    pub fn max_device_grants(mut self, entries: usize) -> Self {
        self.max_device_grants = entries.max(1);
        self
    }

    /// Sets the most device grants one client may have at once (default 500; at least 1).
    #[must_use]
    pub fn max_device_grants_per_client(mut self, entries: usize) -> Self {
        self.max_device_grants_per_client = entries.max(1);
        self
    }

    /// Sets the most grants held at once, all users together (default 100 000; at least 1). A
    /// grant is held until its last token expires (its refresh family's end, 30 days by default),
    /// revoked or not.
    #[must_use]
    pub fn max_grants(mut self, entries: usize) -> Self {
        self.max_grants = entries.max(1);
        self
    }

    /// Sets the most grants one user may hold at once (default 1 000; at least 1).
    #[must_use]
    pub fn max_grants_per_subject(mut self, entries: usize) -> Self {
        self.max_grants_per_subject = entries.max(1);
        self
    }

    /// Sets the most back-channel logout records held at once (default 100 000; at least 1): one
    /// per user, session and client with a `backchannel_logout_uri`, kept for the refresh token
    /// lifetime. Past it, tokens for such a client are refused (`503`) until some expire.
    #[must_use]
    pub fn max_logout_sessions(mut self, entries: usize) -> Self {
        self.max_logout_sessions = entries.max(1);
        self
    }

    fn with<T>(&self, f: impl FnOnce(&mut MemoryState) -> T) -> Result<T, HostError> {
        // A poisoned lock means a panic while holding it; the maps are still consistent (every
        // operation leaves them so before anything can panic), so keep serving.
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(f(&mut state))
    }
}

/// The refusal of a write past a cap: a 503 for the request that asked for it.
fn full(what: &'static str) -> HostError {
    HostError::msg(what)
}

/// What an entry of [`MemoryState::expiries`] points at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Entry {
    Pending(TokenHash),
    Code(TokenHash),
    Family(String),
    Revoked(String),
    Proof(TokenHash),
    Device(TokenHash),
    Grant(String),
    Logout(LogoutKey),
}

/// The key of a back-channel logout record: subject, session id (empty without one), client.
type LogoutKey = (String, String, ClientId);

#[derive(Default)]
struct MemoryState {
    pending: HashMap<TokenHash, PendingAuthorization>,
    /// How many pending requests each client has.
    pending_per_client: HashMap<ClientId, usize>,
    codes: HashMap<TokenHash, CodeEntry>,
    refresh_tokens: HashMap<TokenHash, String>,
    families: HashMap<String, FamilyEntry>,
    revoked_jtis: HashMap<String, SystemTime>,
    /// DPoP proofs seen (RFC 9449 §11.1), by the hash of thumbprint and `jti`, until their expiry.
    dpop_jtis: HashMap<TokenHash, SystemTime>,
    /// Every entry above, by the time it may be forgotten: exactly one index entry per map entry,
    /// moved when its time changes.
    expiries: BTreeSet<(SystemTime, Entry)>,
    /// Device grants (RFC 8628), by the hash of their device code, until their `keep_until`.
    device_grants: HashMap<TokenHash, DeviceGrant>,
    /// The device code of each held grant, by its user code.
    user_codes: HashMap<String, TokenHash>,
    /// How many device grants each client has.
    device_grants_per_client: HashMap<ClientId, usize>,
    /// The grants users gave clients, by `grant_id`, until they expire.
    grants: HashMap<String, GrantEntry>,
    /// Each user's grants, by creation time and id: the order they are listed in (reversed),
    /// and how many each user holds.
    grants_by_subject: HashMap<String, BTreeSet<(SystemTime, String)>>,
    /// The clients to notify when a session ends, until their expiry; ordered, so that a
    /// session's records are one range.
    logout_sessions: std::collections::BTreeMap<LogoutKey, SystemTime>,
}

struct GrantEntry {
    grant: Grant,
    revoked: bool,
}

// Most entries are live codes; boxing them would add an allocation to every issued code.
#[allow(clippy::large_enum_variant)]
enum CodeEntry {
    Live(AuthorizationCode),
    /// Kept with its grant, so that [`Store::find_code`] can tell whose code a replay presents.
    Used {
        grant: AuthorizationCode,
        issue: CodeIssue,
        keep_until: SystemTime,
    },
}

impl CodeEntry {
    fn until(&self) -> SystemTime {
        match self {
            Self::Live(grant) => grant.expires_at,
            Self::Used { keep_until, .. } => *keep_until,
        }
    }
}

struct FamilyEntry {
    /// `None` for a tombstone: a family revoked (possibly before it was created).
    family: Option<RefreshFamily>,
    current: Option<TokenHash>,
    /// Every token the family ever had, to forget them with it.
    tokens: Vec<TokenHash>,
    expires_at: SystemTime,
}

impl MemoryState {
    /// Forgets every entry whose time has come: the front of the expiry index, and nothing else.
    fn sweep(&mut self, now: SystemTime) {
        while let Some((at, _)) = self.expiries.first()
            && *at <= now
        {
            let Some((_, entry)) = self.expiries.pop_first() else { break };
            match entry {
                Entry::Pending(handle) => {
                    if let Some(pending) = self.pending.remove(&handle) {
                        self.count_out(&pending.request.client_id);
                    }
                }
                Entry::Code(code) => {
                    self.codes.remove(&code);
                }
                Entry::Family(id) => {
                    if let Some(family) = self.families.remove(&id) {
                        for token in family.tokens {
                            self.refresh_tokens.remove(&token);
                        }
                    }
                }
                Entry::Revoked(jti) => {
                    self.revoked_jtis.remove(&jti);
                }
                Entry::Proof(key) => {
                    self.dpop_jtis.remove(&key);
                }
                Entry::Device(device_code) => {
                    if let Some(grant) = self.device_grants.remove(&device_code) {
                        self.user_codes.remove(&grant.user_code);
                        count_down(&mut self.device_grants_per_client, &grant.client_id);
                    }
                }
                Entry::Logout(key) => {
                    self.logout_sessions.remove(&key);
                }
                Entry::Grant(grant_id) => {
                    if let Some(entry) = self.grants.remove(&grant_id) {
                        let grant = entry.grant;
                        if let Some(held) = self.grants_by_subject.get_mut(&grant.subject) {
                            held.remove(&(grant.created_at, grant_id));
                            if held.is_empty() {
                                self.grants_by_subject.remove(&grant.subject);
                            }
                        }
                    }
                }
            }
        }
    }

    /// One pending request of `client` fewer.
    fn count_out(&mut self, client: &ClientId) {
        count_down(&mut self.pending_per_client, client);
    }

    /// Moves an entry's place in the expiry index from `old` (if it had one) to `new`.
    fn reschedule(&mut self, entry: Entry, old: Option<SystemTime>, new: SystemTime) {
        if let Some(old) = old {
            self.expiries.remove(&(old, entry.clone()));
        }
        self.expiries.insert((new, entry));
    }

    /// The live family a token belongs to, and whether it is the current token.
    fn live_family(&self, token: &TokenHash, now: SystemTime) -> Option<(&FamilyEntry, bool)> {
        let id = self.refresh_tokens.get(token)?;
        let entry = self.families.get(id)?;
        let family = entry.family.as_ref()?;
        (family.expires_at > now).then(|| (entry, entry.current.as_ref() == Some(token)))
    }
}

/// One entry of `client` fewer in a per-client count.
fn count_down(counts: &mut HashMap<ClientId, usize>, client: &ClientId) {
    if let Some(count) = counts.get_mut(client) {
        *count -= 1;
        if *count == 0 {
            counts.remove(client);
        }
    }
}

impl Store for MemoryStore {
    async fn put_pending(&self, handle: &TokenHash, pending: &PendingAuthorization) -> Result<(), HostError> {
        let (max, per_client) = (self.max_pending, self.max_pending_per_client);
        self.with(|s| {
            s.sweep(SystemTime::now());
            let client = &pending.request.client_id;
            if let Some(old) = s.pending.remove(handle) {
                s.count_out(&old.request.client_id);
                s.expiries.remove(&(old.expires_at, Entry::Pending(*handle)));
            }
            if s.pending.len() >= max {
                return Err(full("the store holds the most pending authorization requests it may; try again later"));
            }
            let count = s.pending_per_client.entry(client.clone()).or_default();
            if *count >= per_client {
                return Err(full("this client has the most pending authorization requests it may; try again later"));
            }
            *count += 1;
            s.expiries.insert((pending.expires_at, Entry::Pending(*handle)));
            s.pending.insert(*handle, pending.clone());
            Ok(())
        })?
    }

    async fn take_pending(
        &self,
        handle: &TokenHash,
        now: SystemTime,
    ) -> Result<Option<PendingAuthorization>, HostError> {
        self.with(|s| {
            let pending = s.pending.remove(handle)?;
            s.count_out(&pending.request.client_id);
            s.expiries.remove(&(pending.expires_at, Entry::Pending(*handle)));
            (pending.expires_at > now).then_some(pending)
        })
    }

    async fn put_code(&self, code: &TokenHash, grant: &AuthorizationCode) -> Result<(), HostError> {
        self.with(|s| {
            s.sweep(SystemTime::now());
            let old = s.codes.insert(*code, CodeEntry::Live(grant.clone())).map(|old| old.until());
            s.reschedule(Entry::Code(*code), old, grant.expires_at);
        })
    }

    async fn find_code(&self, code: &TokenHash, now: SystemTime) -> Result<Option<AuthorizationCode>, HostError> {
        self.with(|s| match s.codes.get(code) {
            Some(CodeEntry::Live(grant)) if grant.expires_at > now => Some(grant.clone()),
            Some(CodeEntry::Used { grant, keep_until, .. }) if *keep_until > now => Some(grant.clone()),
            _ => None,
        })
    }

    async fn redeem_code(
        &self,
        code: &TokenHash,
        issue: &CodeIssue,
        now: SystemTime,
    ) -> Result<CodeRedemption, HostError> {
        self.with(|s| match s.codes.get(code) {
            Some(CodeEntry::Live(grant)) if grant.expires_at > now => {
                let grant = grant.clone();
                let keep_until = grant.expires_at.max(issue.access_token_expires_at);
                s.reschedule(Entry::Code(*code), Some(grant.expires_at), keep_until);
                let redeemed = CodeRedemption::Redeemed(grant.clone());
                s.codes.insert(*code, CodeEntry::Used { grant, issue: issue.clone(), keep_until });
                redeemed
            }
            Some(CodeEntry::Used { issue, keep_until, .. }) if *keep_until > now => {
                CodeRedemption::Replayed(issue.clone())
            }
            _ => CodeRedemption::Unknown,
        })
    }

    async fn create_refresh_family(&self, family: &RefreshFamily, token: &TokenHash) -> Result<bool, HostError> {
        self.with(|s| {
            s.sweep(SystemTime::now());
            if s.families.contains_key(&family.family_id) {
                return false;
            }
            s.families.insert(
                family.family_id.clone(),
                FamilyEntry {
                    family: Some(family.clone()),
                    current: Some(*token),
                    tokens: vec![*token],
                    expires_at: family.expires_at,
                },
            );
            s.expiries.insert((family.expires_at, Entry::Family(family.family_id.clone())));
            s.refresh_tokens.insert(*token, family.family_id.clone());
            true
        })
    }

    async fn find_refresh(&self, token: &TokenHash, now: SystemTime) -> Result<RefreshLookup, HostError> {
        self.with(|s| match s.live_family(token, now) {
            Some((entry, current)) => {
                let family = entry.family.clone();
                match (family, current) {
                    (Some(family), true) => RefreshLookup::Current(family),
                    (Some(family), false) => RefreshLookup::RotatedOut(family),
                    (None, _) => RefreshLookup::Unknown,
                }
            }
            None => RefreshLookup::Unknown,
        })
    }

    async fn rotate_refresh(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        now: SystemTime,
    ) -> Result<Rotation, HostError> {
        self.with(|s| {
            let Some((_, current)) = s.live_family(presented, now) else {
                return Rotation::Unknown;
            };
            let Some(id) = s.refresh_tokens.get(presented).cloned() else {
                return Rotation::Unknown;
            };
            let Some(entry) = s.families.get_mut(&id) else {
                return Rotation::Unknown;
            };
            let Some(family) = entry.family.clone() else {
                return Rotation::Unknown;
            };
            if current {
                entry.current = Some(*next);
                entry.tokens.push(*next);
                s.refresh_tokens.insert(*next, id);
                Rotation::Rotated(family)
            } else {
                // Reuse: keep a tombstone until the family would have ended, so that none of its
                // tokens works again and the id cannot be recreated.
                entry.family = None;
                entry.current = None;
                Rotation::Reused(family)
            }
        })
    }

    async fn revoke_refresh_family(&self, family_id: &str, until: SystemTime) -> Result<(), HostError> {
        self.with(|s| {
            s.sweep(SystemTime::now());
            let (old, new) = match s.families.get_mut(family_id) {
                Some(entry) => {
                    let old = entry.expires_at;
                    entry.family = None;
                    entry.current = None;
                    entry.expires_at = old.max(until);
                    (Some(old), entry.expires_at)
                }
                None => {
                    let entry = FamilyEntry { family: None, current: None, tokens: Vec::new(), expires_at: until };
                    s.families.insert(family_id.to_owned(), entry);
                    (None, until)
                }
            };
            s.reschedule(Entry::Family(family_id.to_owned()), old, new);
        })
    }

    async fn revoke_access_token(&self, jti: &str, expires_at: SystemTime) -> Result<(), HostError> {
        self.with(|s| {
            s.sweep(SystemTime::now());
            let old = s.revoked_jtis.get(jti).copied();
            let until = old.map_or(expires_at, |old| old.max(expires_at));
            s.revoked_jtis.insert(jti.to_owned(), until);
            s.reschedule(Entry::Revoked(jti.to_owned()), old, until);
        })
    }

    async fn is_access_token_revoked(&self, jti: &str, now: SystemTime) -> Result<bool, HostError> {
        self.with(|s| s.revoked_jtis.get(jti).is_some_and(|exp| *exp > now))
    }

    async fn revoked_access_tokens(&self, now: SystemTime) -> Result<Vec<(String, SystemTime)>, HostError> {
        self.with(|s| {
            s.revoked_jtis.iter().filter(|(_, exp)| **exp > now).map(|(jti, exp)| (jti.clone(), *exp)).collect()
        })
    }

    async fn insert_dpop_jti(&self, key: &TokenHash, expires_at: SystemTime) -> Result<bool, HostError> {
        let max = self.max_dpop_proofs;
        self.with(|s| {
            let now = SystemTime::now();
            s.sweep(now);
            // Under the one lock, the lookup and the insert are a single step.
            let old = s.dpop_jtis.get(key).copied();
            if old.is_some_and(|exp| exp > now) {
                return Ok(false);
            }
            if old.is_none() && s.dpop_jtis.len() >= max {
                return Err(full("the store remembers the most DPoP proofs it may; try again later"));
            }
            s.dpop_jtis.insert(*key, expires_at);
            s.reschedule(Entry::Proof(*key), old, expires_at);
            Ok(true)
        })?
    }

    async fn put_device_grant(&self, device_code: &TokenHash, grant: &DeviceGrant) -> Result<bool, HostError> {
        let (max, per_client) = (self.max_device_grants, self.max_device_grants_per_client);
        self.with(|s| {
            s.sweep(SystemTime::now());
            if s.user_codes.contains_key(&grant.user_code) || s.device_grants.contains_key(device_code) {
                return Ok(false);
            }
            if s.device_grants.len() >= max {
                return Err(full("the store holds the most device grants it may; try again later"));
            }
            let count = s.device_grants_per_client.entry(grant.client_id.clone()).or_default();
            if *count >= per_client {
                return Err(full("this client has the most device grants it may; try again later"));
            }
            *count += 1;
            s.expiries.insert((grant.keep_until, Entry::Device(*device_code)));
            s.user_codes.insert(grant.user_code.clone(), *device_code);
            s.device_grants.insert(*device_code, grant.clone());
            Ok(true)
        })?
    }

    async fn find_device_grant(
        &self,
        device_code: &TokenHash,
        now: SystemTime,
    ) -> Result<Option<DeviceGrant>, HostError> {
        self.with(|s| s.device_grants.get(device_code).filter(|grant| grant.keep_until > now).cloned())
    }

    async fn find_device_grant_by_user_code(
        &self,
        user_code: &str,
        now: SystemTime,
    ) -> Result<Option<(TokenHash, DeviceGrant)>, HostError> {
        self.with(|s| {
            let device_code = s.user_codes.get(user_code)?;
            let grant = s.device_grants.get(device_code).filter(|grant| grant.awaits_user(now))?;
            Some((*device_code, grant.clone()))
        })
    }

    async fn decide_device_grant(
        &self,
        device_code: &TokenHash,
        decision: &DeviceDecision,
        now: SystemTime,
    ) -> Result<bool, HostError> {
        self.with(|s| s.device_grants.get_mut(device_code).is_some_and(|grant| grant.decide(decision, now)))
    }

    async fn poll_device_grant(&self, device_code: &TokenHash, now: SystemTime) -> Result<DevicePoll, HostError> {
        self.with(|s| match s.device_grants.get_mut(device_code) {
            Some(grant) if grant.keep_until > now => grant.poll(now),
            _ => DevicePoll::Unknown,
        })
    }

    async fn put_grant(&self, grant: &Grant) -> Result<(), HostError> {
        let (max, per_subject) = (self.max_grants, self.max_grants_per_subject);
        self.with(|s| {
            s.sweep(SystemTime::now());
            if s.grants.contains_key(&grant.grant_id) {
                return Ok(());
            }
            if s.grants.len() >= max {
                return Err(full("the store holds the most grants it may; try again later"));
            }
            let held = s.grants_by_subject.entry(grant.subject.clone()).or_default();
            if held.len() >= per_subject {
                return Err(full("this user holds the most grants they may; revoke some, or try again later"));
            }
            held.insert((grant.created_at, grant.grant_id.clone()));
            s.expiries.insert((grant.expires_at, Entry::Grant(grant.grant_id.clone())));
            s.grants.insert(grant.grant_id.clone(), GrantEntry { grant: grant.clone(), revoked: false });
            Ok(())
        })?
    }

    async fn record_grant_use(&self, grant_id: &str, now: SystemTime) -> Result<(), HostError> {
        self.with(|s| {
            if let Some(entry) = s.grants.get_mut(grant_id)
                && !entry.revoked
                && entry.grant.expires_at > now
            {
                entry.grant.last_used_at = now;
            }
        })
    }

    async fn find_grant(&self, grant_id: &str, now: SystemTime) -> Result<Option<Grant>, HostError> {
        self.with(|s| {
            s.grants
                .get(grant_id)
                .filter(|entry| !entry.revoked && entry.grant.expires_at > now)
                .map(|entry| entry.grant.clone())
        })
    }

    async fn grants(&self, subject: &str, now: SystemTime, limit: usize) -> Result<Vec<Grant>, HostError> {
        self.with(|s| {
            let Some(held) = s.grants_by_subject.get(subject) else { return Vec::new() };
            held.iter()
                .rev()
                .filter_map(|(_, grant_id)| s.grants.get(grant_id))
                .filter(|entry| !entry.revoked && entry.grant.expires_at > now)
                .take(limit)
                .map(|entry| entry.grant.clone())
                .collect()
        })
    }

    async fn revoke_grant(&self, subject: &str, grant_id: &str, now: SystemTime) -> Result<Option<Grant>, HostError> {
        self.with(|s| {
            let entry = s.grants.get_mut(grant_id)?;
            if entry.grant.subject != subject || entry.grant.expires_at <= now {
                return None;
            }
            entry.revoked = true;
            Some(entry.grant.clone())
        })
    }

    async fn put_logout_session(&self, session: &LogoutSession) -> Result<(), HostError> {
        let max = self.max_logout_sessions;
        self.with(|s| {
            s.sweep(SystemTime::now());
            let key = logout_key(&session.subject, session.session_id.as_deref(), &session.client_id);
            let old = s.logout_sessions.get(&key).copied();
            if old.is_none() && s.logout_sessions.len() >= max {
                return Err(full("the store holds the most back-channel logout records it may; try again later"));
            }
            let expires_at = old.map_or(session.expires_at, |old| old.max(session.expires_at));
            s.logout_sessions.insert(key.clone(), expires_at);
            s.reschedule(Entry::Logout(key), old, expires_at);
            Ok(())
        })?
    }

    async fn take_logout_sessions(
        &self,
        subject: &str,
        session_id: Option<&str>,
        now: SystemTime,
    ) -> Result<Vec<LogoutSession>, HostError> {
        self.with(|s| {
            let sid = session_id.unwrap_or_default();
            let keys: Vec<LogoutKey> = s
                .logout_sessions
                .range((subject.to_owned(), sid.to_owned(), ClientId::new(""))..)
                .take_while(|((sub, session, _), _)| sub == subject && session == sid)
                .map(|(key, _)| key.clone())
                .collect();
            let mut taken = Vec::with_capacity(keys.len());
            for key in keys {
                let Some(expires_at) = s.logout_sessions.remove(&key) else { continue };
                s.expiries.remove(&(expires_at, Entry::Logout(key.clone())));
                if expires_at > now {
                    let (subject, _, client_id) = key;
                    taken.push(LogoutSession::new(subject, session_id.map(str::to_owned), client_id, expires_at));
                }
            }
            taken
        })
    }
}

/// The key of the record of `client_id` in the session `session_id` of `subject`.
fn logout_key(subject: &str, session_id: Option<&str>, client_id: &ClientId) -> LogoutKey {
    (subject.to_owned(), session_id.unwrap_or_default().to_owned(), client_id.clone())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::scope::Scopes;
    use crate::store::{AuthorizationRequest, PendingStage, ResponseMode};

    fn pending(client: &str, expires_at: SystemTime) -> PendingAuthorization {
        PendingAuthorization {
            request: AuthorizationRequest {
                client_id: ClientId::new(client),
                redirect_uri: "https://client.example/cb".to_owned(),
                redirect_uri_sent: true,
                response_mode: ResponseMode::Query,
                state: None,
                nonce: None,
                code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
                scopes: Scopes::default(),
                audience: Vec::new(),
                prompt_login: false,
                prompt_consent: false,
                prompt_none: false,
                max_age: None,
                login_hint: None,
                acr_values: None,
                ui_locales: Vec::new(),
                claims_locales: Vec::new(),
                claims: None,
                started_at: SystemTime::now(),
                dpop_jkt: None,
                device_code: None,
            },
            stage: PendingStage::Pushed,
            expires_at,
        }
    }

    fn hash(i: usize) -> TokenHash {
        TokenHash::of(&i.to_string())
    }

    #[tokio::test]
    async fn pending_requests_are_capped_overall_and_per_client_and_places_come_back() {
        let store = MemoryStore::new().max_pending(4).max_pending_per_client(2);
        let later = SystemTime::now() + Duration::from_secs(600);
        for (i, client) in ["a", "a", "b", "b"].into_iter().enumerate() {
            store.put_pending(&hash(i), &pending(client, later)).await.expect("under the caps");
        }
        assert!(store.put_pending(&hash(9), &pending("a", later)).await.is_err(), "a third for one client");
        assert!(store.put_pending(&hash(9), &pending("c", later)).await.is_err(), "a fifth overall");
        assert!(store.take_pending(&hash(0), SystemTime::now()).await.expect("take").is_some());
        store.put_pending(&hash(9), &pending("a", later)).await.expect("a taken request frees its place");
        let state = store.state.lock().expect("lock");
        assert_eq!(state.pending.len(), state.expiries.len(), "one index entry per stored request");
    }

    #[tokio::test]
    async fn expired_entries_leave_at_the_next_write_and_free_their_places() {
        let store = MemoryStore::new().max_pending(2);
        let past = SystemTime::now() - Duration::from_secs(1);
        for i in 0..2 {
            // Stored as given: their time has passed, so the next write sweeps them.
            store
                .with(|s| {
                    s.pending.insert(hash(i), pending("a", past));
                    *s.pending_per_client.entry(ClientId::new("a")).or_default() += 1;
                    s.expiries.insert((past, Entry::Pending(hash(i))));
                })
                .expect("with");
        }
        store
            .put_pending(&hash(5), &pending("a", SystemTime::now() + Duration::from_secs(60)))
            .await
            .expect("the expired ones were swept first");
        let state = store.state.lock().expect("lock");
        assert_eq!(state.pending.len(), 1);
        assert_eq!(state.expiries.len(), 1);
        assert_eq!(state.pending_per_client.get(&ClientId::new("a")), Some(&1));
    }

    #[tokio::test]
    async fn dpop_proofs_are_capped() {
        let store = MemoryStore::new().max_dpop_proofs(2);
        let later = SystemTime::now() + Duration::from_secs(60);
        assert!(store.insert_dpop_jti(&hash(1), later).await.expect("room"));
        assert!(store.insert_dpop_jti(&hash(2), later).await.expect("room"));
        assert!(!store.insert_dpop_jti(&hash(1), later).await.expect("a replay is still told"));
        assert!(store.insert_dpop_jti(&hash(3), later).await.is_err(), "full");
    }

    fn device_grant(client: &str, user_code: &str) -> DeviceGrant {
        DeviceGrant::new(
            ClientId::new(client),
            user_code.to_owned(),
            Scopes::default(),
            Vec::new(),
            SystemTime::now(),
            Duration::from_secs(600),
            Duration::from_secs(5),
        )
    }

    fn grant(subject: &str, i: u64, expires_at: SystemTime) -> Grant {
        Grant::new(
            format!("family {subject} {i}"),
            ClientId::new("client"),
            subject.to_owned(),
            Scopes::default(),
            Vec::new(),
            SystemTime::now() - Duration::from_secs(600 - i),
            expires_at,
        )
    }

    #[tokio::test]
    async fn grants_are_capped_overall_and_per_subject_and_places_come_back() {
        let store = MemoryStore::new().max_grants(3).max_grants_per_subject(2);
        let later = SystemTime::now() + Duration::from_secs(3600);
        store.put_grant(&grant("alice", 0, later)).await.expect("room");
        store.put_grant(&grant("alice", 1, later)).await.expect("room");
        assert!(store.put_grant(&grant("alice", 2, later)).await.is_err(), "a third for alice");
        store.put_grant(&grant("alice", 0, later)).await.expect("a grant recorded again takes no place");
        store.put_grant(&grant("bob", 0, later)).await.expect("room");
        assert!(store.put_grant(&grant("carol", 0, later)).await.is_err(), "a fourth overall");
        // A revoked grant keeps its place until it expires (a retried revocation finds it).
        let revoked = grant("alice", 1, later);
        assert!(store.revoke_grant("alice", &revoked.grant_id, SystemTime::now()).await.expect("revoke").is_some());
        assert!(store.put_grant(&grant("alice", 3, later)).await.is_err(), "still two for alice");
        {
            let state = store.state.lock().expect("lock");
            assert_eq!(state.grants.len(), 3);
            assert_eq!(state.expiries.len(), 3, "one index entry per grant");
            assert_eq!(state.grants_by_subject.get("alice").map(BTreeSet::len), Some(2));
        }

        // An expired grant leaves at the next write, and its place comes back.
        let store = MemoryStore::new().max_grants_per_subject(1);
        let past = SystemTime::now() - Duration::from_secs(1);
        store.put_grant(&grant("alice", 0, past)).await.expect("room");
        store.put_grant(&grant("alice", 1, later)).await.expect("the expired one was swept first");
        let state = store.state.lock().expect("lock");
        assert_eq!(state.grants.len(), 1);
        assert_eq!(state.grants_by_subject.get("alice").map(BTreeSet::len), Some(1));
    }

    #[tokio::test]
    async fn logout_sessions_are_capped_and_places_come_back() {
        let store = MemoryStore::new().max_logout_sessions(2);
        let later = SystemTime::now() + Duration::from_secs(3600);
        let record =
            |client: &str, until| LogoutSession::new("alice", Some("s1".to_owned()), ClientId::new(client), until);
        store.put_logout_session(&record("a", later)).await.expect("room");
        store.put_logout_session(&record("b", later)).await.expect("room");
        store
            .put_logout_session(&record("a", later + Duration::from_secs(1)))
            .await
            .expect("a record again takes no place");
        assert!(store.put_logout_session(&record("c", later)).await.is_err(), "a third record");
        {
            let state = store.state.lock().expect("lock");
            assert_eq!(state.logout_sessions.len(), 2);
            assert_eq!(state.expiries.len(), 2, "one index entry per record, moved with its expiry");
        }
        // Taken, their places come back, and the index forgets them.
        let taken = store.take_logout_sessions("alice", Some("s1"), SystemTime::now()).await.expect("take");
        assert_eq!(taken.len(), 2);
        store.put_logout_session(&record("c", later)).await.expect("room again");

        // An expired record leaves at the next write.
        let store = MemoryStore::new().max_logout_sessions(1);
        let past = SystemTime::now() - Duration::from_secs(1);
        store.put_logout_session(&record("a", past)).await.expect("room");
        store.put_logout_session(&record("b", later)).await.expect("the expired one was swept first");
        let state = store.state.lock().expect("lock");
        assert_eq!(state.logout_sessions.len(), 1);
        assert_eq!(state.expiries.len(), 1);
    }

    #[tokio::test]
    async fn device_grants_are_capped_overall_and_per_client() {
        let store = MemoryStore::new().max_device_grants(3).max_device_grants_per_client(2);
        assert!(store.put_device_grant(&hash(1), &device_grant("a", "BBBBBBBB")).await.expect("room"));
        assert!(store.put_device_grant(&hash(2), &device_grant("a", "CCCCCCCC")).await.expect("room"));
        assert!(store.put_device_grant(&hash(3), &device_grant("a", "DDDDDDDD")).await.is_err(), "a third for a");
        assert!(store.put_device_grant(&hash(3), &device_grant("b", "DDDDDDDD")).await.expect("room"));
        assert!(store.put_device_grant(&hash(4), &device_grant("c", "FFFFFFFF")).await.is_err(), "a fourth");
        let state = store.state.lock().expect("lock");
        assert_eq!(state.device_grants.len(), state.expiries.len(), "one index entry per grant");
        assert_eq!(state.user_codes.len(), 3);
    }
}

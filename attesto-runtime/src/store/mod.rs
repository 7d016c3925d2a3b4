//! The state attesto keeps itself — pending and pushed authorization requests, authorization
//! codes, refresh token families, revoked access tokens, DPoP proofs already seen, device grants
//! (RFC 8628), the grants users gave clients — behind one
//! [`Store`] trait with atomic semantics, and [`MemoryStore`](crate::MemoryStore), the in-memory default. With the
//! features `sqlite` and `postgres`, `SqliteStore` and `PostgresStore` keep it in a database.
//!
//! Every operation that decides something is one atomic step of the store: a code is taken once, a
//! refresh token is compared and rotated in one go, a family is revoked for good. An SQL store
//! implements each as a single statement where it can (`UPDATE … WHERE NOT used … RETURNING …`),
//! or one transaction, so several instances sharing one database behave as one.
//!
//! Secrets never reach a store: codes, refresh tokens and handles are 256-bit random values that
//! are handed to the client or browser, and only their SHA-256 ([`TokenHash`]) is stored.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::claims::ClaimsRequest;
use crate::model::client::ClientId;

mod device;
mod grants;
pub(crate) mod guesses;
mod logout;
pub(crate) mod memory;
pub(crate) mod registrations;
pub(crate) mod revoked;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod sql;
use crate::error::HostError;
use crate::model::principal::AuthenticatedPrincipal;
use crate::model::scope::Scopes;

pub use device::{DeviceDecision, DeviceGrant, DevicePoll, DeviceStatus, SLOW_DOWN_STEP};
pub use grants::{Grant, MAX_GRANTS_LISTED};
pub use logout::LogoutSession;

/// The SHA-256 of a random value handed out once (a code, a refresh token, a handle of a pending
/// request). Stores key their entries by it; the value itself is never stored.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// The hash of a value as presented by a client or browser.
    pub fn of(value: &str) -> Self {
        Self(Sha256::digest(value.as_bytes()).into())
    }

    /// The hash bytes (for an SQL `BYTEA`/`BLOB` key).
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A hash read back from storage.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to tell entries apart in logs.
        write!(f, "TokenHash({:02x}{:02x}{:02x}{:02x}…)", self.0[0], self.0[1], self.0[2], self.0[3])
    }
}

/// A fresh 256-bit random value, base64url-encoded (43 characters), and its hash.
pub(crate) fn new_secret() -> (String, TokenHash) {
    let value = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let hash = TokenHash::of(&value);
    (value, hash)
}

/// A fresh 128-bit random identifier (a `jti`, a refresh family id), base64url-encoded.
pub(crate) fn new_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

/// How the authorization response reaches the client (OAuth 2.0 Multiple Response Type Encoding
/// Practices §2.1, OAuth 2.0 Form Post Response Mode, JARM §2.3).
///
/// Stored with the pending request as `query`, `form_post`, `query_jwt` or `form_post_jwt`: a
/// request stored before the JWT modes existed reads back as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResponseMode {
    /// Parameters in the query of the redirect URI (the default for `response_type=code`).
    Query,
    /// Parameters POSTed to the redirect URI by an auto-submitting form.
    FormPost,
    /// JARM §2.3.1 `query.jwt` (and `jwt`, its default for `response_type=code`): one `response`
    /// parameter, a JWT signed by the provider, in the query of the redirect URI.
    QueryJwt,
    /// JARM §2.3.3 `form_post.jwt`: the `response` JWT POSTed by an auto-submitting form.
    FormPostJwt,
}

impl ResponseMode {
    /// Whether the response is one signed JWT (JARM).
    pub const fn is_jwt(self) -> bool {
        matches!(self, Self::QueryJwt | Self::FormPostJwt)
    }

    /// Whether the response is POSTed by a form rather than put in the query.
    pub const fn is_form_post(self) -> bool {
        matches!(self, Self::FormPost | Self::FormPostJwt)
    }
}

/// An authorization request that passed every check of the authorization endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: ClientId,
    /// The redirect URI the response goes to (exactly as the client sent it).
    pub redirect_uri: String,
    /// Whether the client sent `redirect_uri`; if it did, the token request must repeat it
    /// (RFC 6749 §4.1.3).
    pub redirect_uri_sent: bool,
    /// How the response is delivered.
    pub response_mode: ResponseMode,
    /// `state`, echoed back.
    pub state: Option<String>,
    /// `nonce`, copied into the ID token.
    pub nonce: Option<String>,
    /// The PKCE `code_challenge` (method S256).
    pub code_challenge: String,
    /// The scopes granted by the scope policy.
    pub scopes: Scopes,
    /// The audiences of the tokens (RFC 8707 resources, or the default audience).
    pub audience: Vec<String>,
    /// `prompt=login`.
    pub prompt_login: bool,
    /// `prompt=consent`.
    pub prompt_consent: bool,
    /// `prompt=none`.
    pub prompt_none: bool,
    /// `max_age`, in seconds.
    pub max_age: Option<u64>,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// `acr_values` (OIDC Core §3.1.2.1): the authentication context classes the client asks for,
    /// space-separated, in order of preference. Absent from requests stored before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr_values: Option<String>,
    /// `ui_locales` (OIDC Core §3.1.2.1): the languages the user prefers for the pages, as BCP 47
    /// tags in order of preference; tags that were not well-formed are already dropped. Empty in
    /// requests stored before it was kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ui_locales: Vec<String>,
    /// `claims_locales` (OIDC Core §5.2): the languages the user prefers for claim values, as BCP
    /// 47 tags in order of preference. Empty in requests stored before it was kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims_locales: Vec<String>,
    /// `claims` (OIDC Core §5.5): the claims the client asked for in the ID token and at
    /// userinfo. Absent when it sent none, and in requests stored before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<ClaimsRequest>,
    /// When the request reached the authorization endpoint; `prompt=login` needs an
    /// authentication after it.
    pub started_at: SystemTime,
    /// The RFC 7638 thumbprint of the DPoP key the code is bound to: the `dpop_jkt` parameter, or
    /// the key of a DPoP proof sent to the PAR endpoint (RFC 9449 §10, §10.1). The code is then
    /// redeemed only with a proof made with that key. Absent in requests stored before DPoP
    /// existed.
    #[serde(default)]
    pub dpop_jkt: Option<String>,
    /// Set when the request is the user's half of a device authorization grant (RFC 8628 §3.3):
    /// the hash of the device code whose user code was entered. The user signs in and consents as
    /// for any request, and the outcome is recorded on the device grant
    /// ([`Store::decide_device_grant`]) instead of being sent to a redirect URI; the request has
    /// no redirect URI and no PKCE challenge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_code: Option<TokenHash>,
}

/// Where a pending authorization request waits: for the user, or (a pushed request) for the
/// browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum PendingStage {
    /// Waiting for the user to sign in at the host's login page. attesto no longer stores
    /// requests at this stage (the login resume handle carries the request, sealed, so that an
    /// anonymous request costs no storage); stores still round-trip it.
    Login,
    /// Waiting for the user's decision on the consent page.
    Consent {
        /// Who is deciding.
        principal: AuthenticatedPrincipal,
        /// The hash of the anti-CSRF value set as a cookie in the browser that was shown the page.
        browser: TokenHash,
    },
    /// Pushed by the client to the PAR endpoint (RFC 9126 §2), waiting for the browser to bring
    /// its `request_uri` to the authorization endpoint. Stored under the hash of that whole
    /// `request_uri`, and taken once (RFC 9126 §4).
    Pushed,
}

/// An authorization request waiting for the user, stored under the hash of a random handle that
/// only the browser holds; or a pushed request (RFC 9126), under the hash of the `request_uri`
/// that only its client holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PendingAuthorization {
    /// The validated request.
    pub request: AuthorizationRequest,
    /// What it waits for.
    pub stage: PendingStage,
    /// After this it is gone.
    pub expires_at: SystemTime,
}

/// What an authorization code stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthorizationCode {
    /// The request the code answers.
    pub request: AuthorizationRequest,
    /// The user who authorized it.
    pub principal: AuthenticatedPrincipal,
    /// After this the code is refused (60 s after issue).
    pub expires_at: SystemTime,
}

/// What a code redemption issues, recorded with the code so that a replay can revoke it
/// (RFC 9700 §4.5.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CodeIssue {
    /// The refresh family that the redemption creates (whether or not it ends up issuing a
    /// refresh token: revoking an id never used is harmless).
    pub family_id: String,
    /// The `jti` of the access token.
    pub access_token_jti: String,
    /// When that access token expires; the redeemed code is remembered until then.
    pub access_token_expires_at: SystemTime,
}

/// What [`Store::redeem_code`] found.
// Returned once per redemption and matched at once: boxing the large variant would only add an
// allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodeRedemption {
    /// The code was live; it is now used, and this is what it stood for.
    Redeemed(AuthorizationCode),
    /// The code was used before; this is what the first redemption issued.
    Replayed(CodeIssue),
    /// No such code, or it expired.
    Unknown,
}

/// A family of refresh tokens: one grant, rotated on every use (RFC 9700 §4.14.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefreshFamily {
    /// The family id.
    pub family_id: String,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The user.
    pub principal: AuthenticatedPrincipal,
    /// The scopes granted; a refresh may ask for fewer, never more (RFC 6749 §6).
    pub scopes: Scopes,
    /// The audiences granted; a refresh may ask for fewer, never more (RFC 8707 §2.2).
    pub audience: Vec<String>,
    /// The absolute end of the family.
    pub expires_at: SystemTime,
    /// The RFC 7638 thumbprint of the DPoP key the family is bound to: set for a public client
    /// that redeemed its code with a DPoP proof, whose refresh tokens then work only with a proof
    /// made with that key (RFC 9449 §5). Confidential clients' families are never bound: their
    /// refresh tokens are already bound to the client's credentials. Absent in families stored
    /// before DPoP existed.
    #[serde(default)]
    pub dpop_jkt: Option<String>,
    /// The `claims` request parameter of the authorization (OIDC Core §5.5): the ID token of
    /// every refresh is built with it, as the first one was. Absent when the client sent none, and
    /// in families stored before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<ClaimsRequest>,
    /// The `claims_locales` of the authorization (OIDC Core §5.2), for the same. Empty when the
    /// client sent none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims_locales: Vec<String>,
}

/// What [`Store::find_refresh`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshLookup {
    /// The token is the family's current one.
    Current(RefreshFamily),
    /// The token was rotated out: presenting it is reuse.
    RotatedOut(RefreshFamily),
    /// No such token, or its family expired or was revoked.
    Unknown,
}

/// What [`Store::rotate_refresh`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rotation {
    /// The presented token was current; the next one replaces it.
    Rotated(RefreshFamily),
    /// The presented token was rotated out: the family is now revoked.
    Reused(RefreshFamily),
    /// No such token, or its family expired or was revoked.
    Unknown,
}

/// Where attesto keeps its own state. [`MemoryStore`](crate::MemoryStore) is the default; `SqliteStore` (feature
/// `sqlite`) survives a restart, `PostgresStore` (feature `postgres`) is shared by several
/// instances. All three pass the store contract
/// (`attesto::testing::store_contract`, feature `testing`).
///
/// Every method is one atomic operation; `now` is passed in so that stores and tests agree on
/// time. Entries past their expiry must behave as absent, whether or not they were swept yet.
pub trait Store: Send + Sync + 'static {
    /// Stores a pending authorization request under `handle`.
    fn put_pending(
        &self,
        handle: &TokenHash,
        pending: &PendingAuthorization,
    ) -> impl Future<Output = Result<(), HostError>> + Send;

    /// Removes and returns the pending request under `handle`, if it exists and has not expired.
    /// A handle is taken at most once.
    fn take_pending(
        &self,
        handle: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<PendingAuthorization>, HostError>> + Send;

    /// Stores an authorization code.
    fn put_code(
        &self,
        code: &TokenHash,
        grant: &AuthorizationCode,
    ) -> impl Future<Output = Result<(), HostError>> + Send;

    /// Looks a code up without changing anything: what it stands for, whether it is live or was
    /// used and is still remembered (see [`redeem_code`](Self::redeem_code)); `None` when it is
    /// unknown or expired.
    ///
    /// The token endpoint reads the code this way first, to compare its client and PKCE challenge
    /// with the request: a caller that is not the code's client, or lacks its verifier, must
    /// neither spend the code nor, with a replay, revoke what it issued (RFC 6749 §4.1.3).
    fn find_code(
        &self,
        code: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<AuthorizationCode>, HostError>> + Send;

    /// Atomically marks a live code used and records `issue` with it, or reports that it was
    /// used before (and what the first use issued), or that it is unknown or expired. A used code
    /// is remembered at least until `issue.access_token_expires_at`.
    fn redeem_code(
        &self,
        code: &TokenHash,
        issue: &CodeIssue,
        now: SystemTime,
    ) -> impl Future<Output = Result<CodeRedemption, HostError>> + Send;

    /// Creates a refresh family whose current token is `token`. Returns `false`, creating
    /// nothing, when the family id was revoked before (a replayed code revoked it first).
    fn create_refresh_family(
        &self,
        family: &RefreshFamily,
        token: &TokenHash,
    ) -> impl Future<Output = Result<bool, HostError>> + Send;

    /// Looks a refresh token up without changing anything.
    fn find_refresh(
        &self,
        token: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<RefreshLookup, HostError>> + Send;

    /// Compare-and-rotate: if `presented` is its family's current token, `next` becomes current;
    /// if `presented` was rotated out, the family is revoked (reuse detection).
    fn rotate_refresh(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<Rotation, HostError>> + Send;

    /// Revokes a family, for good: its tokens are refused and it cannot be created afterwards.
    /// The tombstone may be forgotten after `until`.
    fn revoke_refresh_family(
        &self,
        family_id: &str,
        until: SystemTime,
    ) -> impl Future<Output = Result<(), HostError>> + Send;

    /// Denies an access token by its `jti` until it expires. The key is an opaque string: a
    /// token's `jti`, or `grant:<grant_id>` for every access token issued under a revoked grant
    /// (a refresh family, RFC 7009 §2.1); a store keeps and lists both alike.
    fn revoke_access_token(
        &self,
        jti: &str,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<(), HostError>> + Send;

    /// Whether an access token was revoked.
    fn is_access_token_revoked(
        &self,
        jti: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, HostError>> + Send;

    /// Every access-token revocation live at `now`: its key (a `jti`, or `grant:<grant_id>`) and
    /// the time it was revoked until, each key once.
    ///
    /// [`Attesto`](crate::Attesto) keeps revoked `jti`s in process, so that checking a token
    /// costs no round trip, and refreshes that copy from this list at most once every
    /// [`revocation_refresh_interval`](crate::Builder::revocation_refresh_interval). That is how a
    /// revocation made at one instance reaches the others that share the store, and how one made
    /// before a restart is still refused after it. Only live entries are listed, so the list is
    /// as long as the number of tokens revoked within one access-token lifetime.
    fn revoked_access_tokens(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<Vec<(String, SystemTime)>, HostError>> + Send;

    /// Records a DPoP proof as seen, for the replay check (RFC 9449 §11.1): atomically inserts
    /// `key` with its expiry unless an entry for `key` exists that has not expired yet. Returns
    /// `true` when it inserted (the proof is new), `false` when an unexpired entry was there (the
    /// proof is a replay). An expired entry counts as absent and is replaced.
    ///
    /// `key` is the SHA-256 of the proof key's RFC 7638 thumbprint, `.` and the proof's `jti`: a
    /// `jti` is unique per key, and the thumbprint (base64url, never a `.`) makes the
    /// concatenation unambiguous. `expires_at` is when the proof's `iat` stops being accepted,
    /// plus the allowed clock skew, so that no instance sharing the store still accepts the proof
    /// once its entry is gone.
    ///
    /// Expiry is judged against the store's own clock (an SQL store compares with the database's
    /// current time), so that every instance sharing it agrees. Must be one atomic step: two
    /// concurrent inserts of one key must not both return `true`.
    fn insert_dpop_jti(
        &self,
        key: &TokenHash,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<bool, HostError>> + Send;

    /// Stores a new device grant (RFC 8628 §3.1) under the hash of its device code. Returns
    /// `false`, storing nothing, when a grant the store still holds has the same user code: the
    /// caller draws another.
    fn put_device_grant(
        &self,
        device_code: &TokenHash,
        grant: &DeviceGrant,
    ) -> impl Future<Output = Result<bool, HostError>> + Send;

    /// The device grant under `device_code`, whatever its status, while the store holds it
    /// (until its `keep_until`); `None` when it is unknown or forgotten. Changes nothing.
    fn find_device_grant(
        &self,
        device_code: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<DeviceGrant>, HostError>> + Send;

    /// The grant whose user code is `user_code` (in its normal form) and its device code's
    /// hash, if it still awaits the user's decision ([`DeviceGrant::awaits_user`]); `None`
    /// otherwise. Changes nothing.
    fn find_device_grant_by_user_code(
        &self,
        user_code: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<(TokenHash, DeviceGrant)>, HostError>> + Send;

    /// Atomically records the user's decision ([`DeviceGrant::decide`]): `false`, changing
    /// nothing, when the grant is unknown, expired or decided already.
    fn decide_device_grant(
        &self,
        device_code: &TokenHash,
        decision: &DeviceDecision,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, HostError>> + Send;

    /// Atomically applies one poll of the token endpoint ([`DeviceGrant::poll`]): of two
    /// concurrent polls of an approved grant, one gets [`DevicePoll::Approved`] and the other
    /// [`DevicePoll::Redeemed`].
    fn poll_device_grant(
        &self,
        device_code: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<DevicePoll, HostError>> + Send;

    /// Records a new grant, when its first tokens are issued. Its `grant_id` is new (derived from
    /// a fresh family id); should it exist, the record is left as it is.
    fn put_grant(&self, grant: &Grant) -> impl Future<Output = Result<(), HostError>> + Send;

    /// Records that tokens were issued under the grant `grant_id` at `now` (a refresh): its
    /// [`last_used_at`](Grant::last_used_at) becomes `now`. Nothing happens when the grant is
    /// unknown, revoked or expired.
    fn record_grant_use(&self, grant_id: &str, now: SystemTime) -> impl Future<Output = Result<(), HostError>> + Send;

    /// The grant `grant_id` while it is live (neither revoked nor expired at `now`), with its last
    /// use; `None` otherwise. Changes nothing. The userinfo endpoint reads the grant of an access
    /// token this way, for the claims its authorization requested (OIDC Core §5.5).
    fn find_grant(
        &self,
        grant_id: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<Grant>, HostError>> + Send;

    /// The live grants of `subject` (neither revoked nor expired at `now`), newest first (by
    /// [`created_at`](Grant::created_at), then by `grant_id` descending), at most `limit`.
    fn grants(
        &self,
        subject: &str,
        now: SystemTime,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Grant>, HostError>> + Send;

    /// Marks the grant `grant_id` of `subject` revoked, so that it is no longer listed, and
    /// returns it; `None`, changing nothing, when `subject` holds no such grant (another user's
    /// grant included) or it expired. A grant revoked before is returned again, so that a
    /// revocation interrupted halfway (the refresh family and access tokens are revoked after
    /// this, by the caller) can be completed by trying again. One atomic step.
    fn revoke_grant(
        &self,
        subject: &str,
        grant_id: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<Grant>, HostError>> + Send;

    /// Records that `session.client_id` received tokens in the session `session.session_id` of
    /// `session.subject` (OpenID Connect Back-Channel Logout 1.0 §2.7): one record per subject,
    /// session and client. Recording it again keeps one record, with the later of the two
    /// expiries.
    fn put_logout_session(&self, session: &LogoutSession) -> impl Future<Output = Result<(), HostError>> + Send;

    /// Removes and returns every live record (unexpired at `now`) of the session `session_id` of
    /// `subject` (`None`: the records made without a session identifier), in one atomic step: of
    /// two instances ending the same session at once, one gets the records and notifies the
    /// clients, the other gets none.
    fn take_logout_sessions(
        &self,
        subject: &str,
        session_id: Option<&str>,
        now: SystemTime,
    ) -> impl Future<Output = Result<Vec<LogoutSession>, HostError>> + Send;
}

/// A shared store is a store: several providers in one process (tenants, or an instance and its
/// tests) can use one `Arc` of it, as instances share a database.
impl<S: Store> Store for std::sync::Arc<S> {
    fn put_pending(
        &self,
        handle: &TokenHash,
        pending: &PendingAuthorization,
    ) -> impl Future<Output = Result<(), HostError>> + Send {
        (**self).put_pending(handle, pending)
    }
    fn take_pending(
        &self,
        handle: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<PendingAuthorization>, HostError>> + Send {
        (**self).take_pending(handle, now)
    }
    fn put_code(
        &self,
        code: &TokenHash,
        grant: &AuthorizationCode,
    ) -> impl Future<Output = Result<(), HostError>> + Send {
        (**self).put_code(code, grant)
    }
    fn find_code(
        &self,
        code: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<AuthorizationCode>, HostError>> + Send {
        (**self).find_code(code, now)
    }
    fn redeem_code(
        &self,
        code: &TokenHash,
        issue: &CodeIssue,
        now: SystemTime,
    ) -> impl Future<Output = Result<CodeRedemption, HostError>> + Send {
        (**self).redeem_code(code, issue, now)
    }
    fn create_refresh_family(
        &self,
        family: &RefreshFamily,
        token: &TokenHash,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        (**self).create_refresh_family(family, token)
    }
    fn find_refresh(
        &self,
        token: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<RefreshLookup, HostError>> + Send {
        (**self).find_refresh(token, now)
    }
    fn rotate_refresh(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<Rotation, HostError>> + Send {
        (**self).rotate_refresh(presented, next, now)
    }
    fn revoke_refresh_family(
        &self,
        family_id: &str,
        until: SystemTime,
    ) -> impl Future<Output = Result<(), HostError>> + Send {
        (**self).revoke_refresh_family(family_id, until)
    }
    fn revoke_access_token(
        &self,
        jti: &str,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<(), HostError>> + Send {
        (**self).revoke_access_token(jti, expires_at)
    }
    fn is_access_token_revoked(
        &self,
        jti: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        (**self).is_access_token_revoked(jti, now)
    }
    fn revoked_access_tokens(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<Vec<(String, SystemTime)>, HostError>> + Send {
        (**self).revoked_access_tokens(now)
    }
    fn insert_dpop_jti(
        &self,
        key: &TokenHash,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        (**self).insert_dpop_jti(key, expires_at)
    }
    fn put_device_grant(
        &self,
        device_code: &TokenHash,
        grant: &DeviceGrant,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        (**self).put_device_grant(device_code, grant)
    }
    fn find_device_grant(
        &self,
        device_code: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<DeviceGrant>, HostError>> + Send {
        (**self).find_device_grant(device_code, now)
    }
    fn find_device_grant_by_user_code(
        &self,
        user_code: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<(TokenHash, DeviceGrant)>, HostError>> + Send {
        (**self).find_device_grant_by_user_code(user_code, now)
    }
    fn decide_device_grant(
        &self,
        device_code: &TokenHash,
        decision: &DeviceDecision,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        (**self).decide_device_grant(device_code, decision, now)
    }
    fn poll_device_grant(
        &self,
        device_code: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<DevicePoll, HostError>> + Send {
        (**self).poll_device_grant(device_code, now)
    }
    fn put_grant(&self, grant: &Grant) -> impl Future<Output = Result<(), HostError>> + Send {
        (**self).put_grant(grant)
    }
    fn record_grant_use(&self, grant_id: &str, now: SystemTime) -> impl Future<Output = Result<(), HostError>> + Send {
        (**self).record_grant_use(grant_id, now)
    }
    fn find_grant(
        &self,
        grant_id: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<Grant>, HostError>> + Send {
        (**self).find_grant(grant_id, now)
    }
    fn grants(
        &self,
        subject: &str,
        now: SystemTime,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Grant>, HostError>> + Send {
        (**self).grants(subject, now, limit)
    }
    fn revoke_grant(
        &self,
        subject: &str,
        grant_id: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<Grant>, HostError>> + Send {
        (**self).revoke_grant(subject, grant_id, now)
    }
    fn put_logout_session(&self, session: &LogoutSession) -> impl Future<Output = Result<(), HostError>> + Send {
        (**self).put_logout_session(session)
    }
    fn take_logout_sessions(
        &self,
        subject: &str,
        session_id: Option<&str>,
        now: SystemTime,
    ) -> impl Future<Output = Result<Vec<LogoutSession>, HostError>> + Send {
        (**self).take_logout_sessions(subject, session_id, now)
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`Store`] as a trait object, so that [`Attesto`](crate::Attesto) holds any store without a
/// type parameter. Implemented for every [`Store`].
pub(crate) trait DynStore: Send + Sync {
    fn put_pending<'a>(&'a self, h: &'a TokenHash, p: &'a PendingAuthorization)
    -> BoxFuture<'a, Result<(), HostError>>;
    fn take_pending<'a>(
        &'a self,
        h: &'a TokenHash,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Option<PendingAuthorization>, HostError>>;
    fn put_code<'a>(&'a self, c: &'a TokenHash, g: &'a AuthorizationCode) -> BoxFuture<'a, Result<(), HostError>>;
    fn find_code<'a>(
        &'a self,
        c: &'a TokenHash,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Option<AuthorizationCode>, HostError>>;
    fn redeem_code<'a>(
        &'a self,
        c: &'a TokenHash,
        i: &'a CodeIssue,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<CodeRedemption, HostError>>;
    fn create_refresh_family<'a>(
        &'a self,
        f: &'a RefreshFamily,
        t: &'a TokenHash,
    ) -> BoxFuture<'a, Result<bool, HostError>>;
    fn find_refresh<'a>(&'a self, t: &'a TokenHash, now: SystemTime)
    -> BoxFuture<'a, Result<RefreshLookup, HostError>>;
    fn rotate_refresh<'a>(
        &'a self,
        p: &'a TokenHash,
        n: &'a TokenHash,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Rotation, HostError>>;
    fn revoke_refresh_family<'a>(&'a self, id: &'a str, until: SystemTime) -> BoxFuture<'a, Result<(), HostError>>;
    fn revoke_access_token<'a>(&'a self, jti: &'a str, exp: SystemTime) -> BoxFuture<'a, Result<(), HostError>>;
    fn revoked_access_tokens(&self, now: SystemTime) -> BoxFuture<'_, Result<Vec<(String, SystemTime)>, HostError>>;
    fn insert_dpop_jti<'a>(&'a self, key: &'a TokenHash, exp: SystemTime) -> BoxFuture<'a, Result<bool, HostError>>;
    fn put_device_grant<'a>(&'a self, d: &'a TokenHash, g: &'a DeviceGrant) -> BoxFuture<'a, Result<bool, HostError>>;
    fn find_device_grant<'a>(
        &'a self,
        d: &'a TokenHash,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Option<DeviceGrant>, HostError>>;
    fn find_device_grant_by_user_code<'a>(
        &'a self,
        u: &'a str,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Option<(TokenHash, DeviceGrant)>, HostError>>;
    fn decide_device_grant<'a>(
        &'a self,
        d: &'a TokenHash,
        decision: &'a DeviceDecision,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<bool, HostError>>;
    fn poll_device_grant<'a>(
        &'a self,
        d: &'a TokenHash,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<DevicePoll, HostError>>;
    fn put_grant<'a>(&'a self, g: &'a Grant) -> BoxFuture<'a, Result<(), HostError>>;
    fn record_grant_use<'a>(&'a self, id: &'a str, now: SystemTime) -> BoxFuture<'a, Result<(), HostError>>;
    fn find_grant<'a>(&'a self, id: &'a str, now: SystemTime) -> BoxFuture<'a, Result<Option<Grant>, HostError>>;
    fn grants<'a>(
        &'a self,
        sub: &'a str,
        now: SystemTime,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<Grant>, HostError>>;
    fn revoke_grant<'a>(
        &'a self,
        sub: &'a str,
        id: &'a str,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Option<Grant>, HostError>>;
    fn put_logout_session<'a>(&'a self, s: &'a LogoutSession) -> BoxFuture<'a, Result<(), HostError>>;
    fn take_logout_sessions<'a>(
        &'a self,
        sub: &'a str,
        sid: Option<&'a str>,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Vec<LogoutSession>, HostError>>;
}

impl<S: Store> DynStore for S {
    fn put_pending<'a>(
        &'a self,
        h: &'a TokenHash,
        p: &'a PendingAuthorization,
    ) -> BoxFuture<'a, Result<(), HostError>> {
        Box::pin(Store::put_pending(self, h, p))
    }
    fn take_pending<'a>(
        &'a self,
        h: &'a TokenHash,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Option<PendingAuthorization>, HostError>> {
        Box::pin(Store::take_pending(self, h, now))
    }
    fn put_code<'a>(&'a self, c: &'a TokenHash, g: &'a AuthorizationCode) -> BoxFuture<'a, Result<(), HostError>> {
        Box::pin(Store::put_code(self, c, g))
    }
    fn find_code<'a>(
        &'a self,
        c: &'a TokenHash,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Option<AuthorizationCode>, HostError>> {
        Box::pin(Store::find_code(self, c, now))
    }
    fn redeem_code<'a>(
        &'a self,
        c: &'a TokenHash,
        i: &'a CodeIssue,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<CodeRedemption, HostError>> {
        Box::pin(Store::redeem_code(self, c, i, now))
    }
    fn create_refresh_family<'a>(
        &'a self,
        f: &'a RefreshFamily,
        t: &'a TokenHash,
    ) -> BoxFuture<'a, Result<bool, HostError>> {
        Box::pin(Store::create_refresh_family(self, f, t))
    }
    fn find_refresh<'a>(
        &'a self,
        t: &'a TokenHash,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<RefreshLookup, HostError>> {
        Box::pin(Store::find_refresh(self, t, now))
    }
    fn rotate_refresh<'a>(
        &'a self,
        p: &'a TokenHash,
        n: &'a TokenHash,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Rotation, HostError>> {
        Box::pin(Store::rotate_refresh(self, p, n, now))
    }
    fn revoke_refresh_family<'a>(&'a self, id: &'a str, until: SystemTime) -> BoxFuture<'a, Result<(), HostError>> {
        Box::pin(Store::revoke_refresh_family(self, id, until))
    }
    fn revoke_access_token<'a>(&'a self, jti: &'a str, exp: SystemTime) -> BoxFuture<'a, Result<(), HostError>> {
        Box::pin(Store::revoke_access_token(self, jti, exp))
    }
    fn revoked_access_tokens(&self, now: SystemTime) -> BoxFuture<'_, Result<Vec<(String, SystemTime)>, HostError>> {
        Box::pin(Store::revoked_access_tokens(self, now))
    }
    fn insert_dpop_jti<'a>(&'a self, key: &'a TokenHash, exp: SystemTime) -> BoxFuture<'a, Result<bool, HostError>> {
        Box::pin(Store::insert_dpop_jti(self, key, exp))
    }
    fn put_device_grant<'a>(&'a self, d: &'a TokenHash, g: &'a DeviceGrant) -> BoxFuture<'a, Result<bool, HostError>> {
        Box::pin(Store::put_device_grant(self, d, g))
    }
    fn find_device_grant<'a>(
        &'a self,
        d: &'a TokenHash,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Option<DeviceGrant>, HostError>> {
        Box::pin(Store::find_device_grant(self, d, now))
    }
    fn find_device_grant_by_user_code<'a>(
        &'a self,
        u: &'a str,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Option<(TokenHash, DeviceGrant)>, HostError>> {
        Box::pin(Store::find_device_grant_by_user_code(self, u, now))
    }
    fn decide_device_grant<'a>(
        &'a self,
        d: &'a TokenHash,
        decision: &'a DeviceDecision,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<bool, HostError>> {
        Box::pin(Store::decide_device_grant(self, d, decision, now))
    }
    fn poll_device_grant<'a>(
        &'a self,
        d: &'a TokenHash,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<DevicePoll, HostError>> {
        Box::pin(Store::poll_device_grant(self, d, now))
    }
    fn put_grant<'a>(&'a self, g: &'a Grant) -> BoxFuture<'a, Result<(), HostError>> {
        Box::pin(Store::put_grant(self, g))
    }
    fn record_grant_use<'a>(&'a self, id: &'a str, now: SystemTime) -> BoxFuture<'a, Result<(), HostError>> {
        Box::pin(Store::record_grant_use(self, id, now))
    }
    fn find_grant<'a>(&'a self, id: &'a str, now: SystemTime) -> BoxFuture<'a, Result<Option<Grant>, HostError>> {
        Box::pin(Store::find_grant(self, id, now))
    }
    fn grants<'a>(
        &'a self,
        sub: &'a str,
        now: SystemTime,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<Grant>, HostError>> {
        Box::pin(Store::grants(self, sub, now, limit))
    }
    fn revoke_grant<'a>(
        &'a self,
        sub: &'a str,
        id: &'a str,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Option<Grant>, HostError>> {
        Box::pin(Store::revoke_grant(self, sub, id, now))
    }
    fn put_logout_session<'a>(&'a self, s: &'a LogoutSession) -> BoxFuture<'a, Result<(), HostError>> {
        Box::pin(Store::put_logout_session(self, s))
    }
    fn take_logout_sessions<'a>(
        &'a self,
        sub: &'a str,
        sid: Option<&'a str>,
        now: SystemTime,
    ) -> BoxFuture<'a, Result<Vec<LogoutSession>, HostError>> {
        Box::pin(Store::take_logout_sessions(self, sub, sid, now))
    }
}

//! The shared state of a built provider, [`Attesto`]: what every endpoint and the guard read,
//! through accessors. Built by the [`Builder`](crate::Builder), the only writer.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use crate::error::{ErrorCode, HostError, OAuthError};
#[cfg(feature = "fetch")]
use crate::fetch::backchannel::{Delivery, Notifier, Report};
#[cfg(feature = "fetch")]
use crate::fetch::client_jwks::ClientJwks;
#[cfg(feature = "fetch")]
use crate::fetch::client_metadata;
#[cfg(feature = "fetch")]
use crate::fetch::issuer_keys::IssuerKeys;
#[cfg(feature = "fetch")]
use crate::host::events::ClientMetadataDocumentRefused;
#[cfg(feature = "fetch")]
use crate::host::events::{BackchannelLogout, BackchannelLogoutOutcome};
use crate::host::events::{EventSink, GrantRevoked, SessionEnded};
use crate::host::provider::Provider;
use crate::host::registrations::RegistrationStore;
use crate::keys::KeySet;
use crate::model::client::{Client, ClientId, ClientSource, SecretHash};
use crate::model::issuer::Issuer;
use crate::protocol::discovery::AuthorizationServerMetadata;
use crate::protocol::jwt::{AccessTokenView, EXPIRY_SKEW};
use crate::protocol::sealed::SealingKey;
use crate::settings::Settings;
use crate::store::guesses::GuessLimiter;
use crate::store::revoked::{self, RevokedTokens};
use crate::store::{DynStore, Grant, LogoutSession, MAX_GRANTS_LISTED};

/// Discovery documents and the JWKS, serialised once at start-up and served as bytes.
#[derive(Debug)]
pub(crate) struct Documents {
    pub(crate) authorization_server: Bytes,
    pub(crate) openid_configuration: Option<Bytes>,
    pub(crate) jwks: Bytes,
    /// The RFC 9728 documents of the protected resources, by the path they are served at.
    pub(crate) protected_resources: Vec<(String, Bytes)>,
}

/// What a provider is built from; the builder fills it in, [`Attesto::new`] seals it.
pub(crate) struct Parts<P> {
    pub(crate) provider: P,
    pub(crate) settings: Settings,
    pub(crate) keys: KeySet,
    pub(crate) metadata: AuthorizationServerMetadata,
    pub(crate) documents: Documents,
    pub(crate) decoy_hash: SecretHash,
    pub(crate) store: Arc<dyn DynStore>,
    /// Revoked access-token ids, kept in process so that checking a token costs no store round
    /// trip, and refreshed from the store (RFC 7009 §2; see `store/revoked.rs`).
    pub(crate) revoked: RevokedTokens,
    /// The key of the login resume handles (see `endpoints/authorize/login.rs`, `protocol/sealed.rs`).
    pub(crate) login_key: SealingKey,
    /// Client ID metadata documents, when accepted: their fetcher and cache.
    #[cfg(feature = "fetch")]
    pub(crate) client_metadata: Option<client_metadata::Resolver>,
    /// The trusted identity issuers and their keys, for the identity assertion grant; `None`
    /// when none is configured, and then the grant is not served.
    #[cfg(feature = "fetch")]
    pub(crate) identity_issuers: Option<Arc<dyn IssuerKeys>>,
    /// Wrong user codes entered at the device verification page (see `store/guesses.rs`).
    pub(crate) user_code_guesses: GuessLimiter,
    /// The `jwks_uri` JWK Sets of `private_key_jwt` clients: their fetcher and cache.
    #[cfg(feature = "fetch")]
    pub(crate) client_jwks: ClientJwks,
    /// The queue of logout tokens to deliver (OpenID Connect Back-Channel Logout 1.0).
    #[cfg(feature = "fetch")]
    pub(crate) backchannel: Notifier,
}

/// The parts, sealed: its one field is private to this module, so everything else reads the
/// state through the accessors below.
struct Inner<P> {
    parts: Parts<P>,
}

/// A built provider: mount [`Attesto::router`] into the host's axum app.
///
/// Cloning is cheap (shared state).
///
/// ```no_run
/// # async fn run<P: attesto_runtime::Provider>(auth: attesto_runtime::Attesto<P>) {
/// let app = axum::Router::new().merge(auth.router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
/// axum::serve(listener, app).await.unwrap();
/// # }
/// ```
pub struct Attesto<P>(Arc<Inner<P>>);

impl<P> Clone for Attesto<P> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<P> fmt::Debug for Attesto<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attesto").field("issuer", &self.0.parts.settings.issuer.as_str()).finish_non_exhaustive()
    }
}

impl<P> Attesto<P> {
    /// Seals the parts the builder assembled.
    pub(crate) fn new(parts: Parts<P>) -> Self {
        Self(Arc::new(Inner { parts }))
    }

    /// The settings the builder checked.
    pub(crate) fn settings(&self) -> &Settings {
        &self.0.parts.settings
    }

    /// The `sub` under which `client` knows the user whose own identifier is `subject`: the
    /// pairwise identifier of the client's sector (OIDC Core §8.1), or `subject` itself for a
    /// client of the `public` subject type. A pairwise client without the provider's secret is a
    /// configuration fault, never a fall back to the user's own identifier.
    pub(crate) fn subject_for<'s>(&self, client: &Client, subject: &'s str) -> Result<Cow<'s, str>, OAuthError> {
        let Some(sector) = client.sector_identifier.as_deref() else { return Ok(Cow::Borrowed(subject)) };
        match &self.settings().pairwise {
            Some(key) => Ok(Cow::Owned(key.subject(sector, subject))),
            None => {
                tracing::error!(
                    client_id = client.client_id.as_str(),
                    "a client with pairwise subjects, but no `pairwise_subject_secret` is set"
                );
                Err(OAuthError::new(ErrorCode::ServerError, "pairwise subject identifiers are not configured"))
            }
        }
    }

    /// The documents served as prepared bytes.
    pub(crate) fn documents(&self) -> &Documents {
        &self.0.parts.documents
    }

    /// The store of pending requests, codes, refresh families, revocations and DPoP proofs.
    pub(crate) fn store(&self) -> &dyn DynStore {
        &*self.0.parts.store
    }

    /// The key of the login resume handles (see `endpoints/authorize/login.rs`, `protocol/sealed.rs`).
    pub(crate) fn login_key(&self) -> &SealingKey {
        &self.0.parts.login_key
    }

    /// The trusted identity issuers, when the identity assertion grant is served.
    #[cfg(feature = "fetch")]
    pub(crate) fn identity_issuers(&self) -> Option<&dyn IssuerKeys> {
        self.0.parts.identity_issuers.as_deref()
    }

    /// The bound on wrong user codes at the device verification page.
    pub(crate) fn user_code_guesses(&self) -> &GuessLimiter {
        &self.0.parts.user_code_guesses
    }

    /// The fetcher and cache of the `jwks_uri` JWK Sets of `private_key_jwt` clients.
    #[cfg(feature = "fetch")]
    pub(crate) fn client_jwks(&self) -> &ClientJwks {
        &self.0.parts.client_jwks
    }

    /// The hash that an unknown client's presented secret is checked against.
    pub(crate) fn decoy_hash(&self) -> &SecretHash {
        &self.0.parts.decoy_hash
    }
}

impl<P: Provider> Attesto<P> {
    /// The host value.
    pub fn provider(&self) -> &P {
        &self.0.parts.provider
    }

    /// The issuer.
    pub fn issuer(&self) -> &Issuer {
        &self.0.parts.settings.issuer
    }

    /// The key set.
    pub fn keys(&self) -> &KeySet {
        &self.0.parts.keys
    }

    /// The authorization server metadata, as served by discovery.
    pub fn metadata(&self) -> &AuthorizationServerMetadata {
        &self.0.parts.metadata
    }
}

/// A client found by [`Attesto::find_client`], and where it lives.
#[derive(Debug, Clone)]
pub(crate) struct FoundClient {
    pub(crate) client: Client,
    /// Not from the host's table: registered dynamically (RFC 7591), whose secret is attesto's
    /// SHA-256 hash, or read from a client ID metadata document, which has no secret. Either way
    /// a secret is verified by attesto, not by the host's `ClientStore::verify_client_secret`.
    pub(crate) registered: bool,
}

/// Why a client id names no client ([`Attesto::lookup_client`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NoClient {
    /// Neither the host's table nor the registered clients know it.
    Unknown,
    /// It is a client ID metadata document URL, and the document could not be fetched or is
    /// invalid: the reason.
    #[cfg_attr(not(feature = "fetch"), allow(dead_code))]
    MetadataDocument(Cow<'static, str>),
}

impl NoClient {
    /// The `invalid_client` error that reports it.
    pub(crate) fn error(&self) -> OAuthError {
        match self {
            Self::Unknown => OAuthError::new(ErrorCode::InvalidClient, "unknown client"),
            Self::MetadataDocument(reason) => OAuthError::new(ErrorCode::InvalidClient, reason.clone()),
        }
    }
}

impl FoundClient {
    /// A stand-in for an unknown client id, with a random secret hash, so that an unknown client
    /// costs the same secret verification as a known one with a wrong secret: the host's, as it
    /// was before registration existed.
    pub(crate) fn decoy(client_id: &str, hash: &SecretHash) -> Self {
        Self { client: Client::confidential(client_id, *hash), registered: false }
    }
}

impl<P: Provider> Attesto<P> {
    /// Revokes an access token by its `jti`, the token expiring at `expires_at`: in the store (for
    /// the other instances and restarts), then in this process's copy that every token check
    /// reads. Listed until `expires_at` plus [`EXPIRY_SKEW`]: a guard accepts a token that
    /// long past its `exp`, so a revocation dropped at `exp` would let it through again.
    pub(crate) async fn revoke_access_token(&self, jti: &str, expires_at: SystemTime) -> Result<(), HostError> {
        let until = expires_at + Duration::from_secs(EXPIRY_SKEW);
        self.0.parts.store.revoke_access_token(jti, until).await?;
        self.0.parts.revoked.insert(jti, until);
        Ok(())
    }

    /// Revokes the refresh family `family_id` and every access token issued under it, the grant
    /// (RFC 7009 §2.1; RFC 9700 §4.14.2 and §4.5.3.1): no refresh token of the family works again
    /// (the family is kept revoked until `family_until`), and neither does any access token whose
    /// `grant_id` names it (see `store/revoked.rs`). The grant of `subject` is no longer listed by
    /// [`grants`](Self::grants).
    pub(crate) async fn revoke_refresh_family(
        &self,
        family_id: &str,
        subject: &str,
        family_until: SystemTime,
    ) -> Result<(), HostError> {
        self.revoke_grant_tokens(family_id, family_until).await?;
        let grant_id = revoked::grant_id(family_id);
        self.0.parts.store.revoke_grant(subject, &grant_id, SystemTime::now()).await?;
        Ok(())
    }

    /// Revokes every token of the grant of the refresh family `family_id`: the family (kept
    /// revoked until `family_until`) and the access tokens whose `grant_id` names it.
    ///
    /// The grant is listed until now plus the access-token lifetime (plus the guards' skew, see
    /// [`revoke_access_token`](Self::revoke_access_token)): the latest expiry of a token of the
    /// grant, since none is issued once the family is revoked (a refresh that rotated just before
    /// mints its token a moment after, and the skew covers that moment). The grant goes first:
    /// should the family's revocation then fail, the client can revoke again with a refresh token
    /// that still works, while after the reverse failure no token would be left to revoke with.
    async fn revoke_grant_tokens(&self, family_id: &str, family_until: SystemTime) -> Result<(), HostError> {
        let grant = revoked::grant_key(&revoked::grant_id(family_id));
        self.revoke_access_token(&grant, SystemTime::now() + self.0.parts.settings.access_token_ttl).await?;
        self.0.parts.store.revoke_refresh_family(family_id, family_until).await
    }

    /// The grants `subject` gave clients whose tokens still work — neither revoked nor expired —
    /// newest first, at most [`MAX_GRANTS_LISTED`](crate::store::MAX_GRANTS_LISTED): what a
    /// "connected apps" page lists. `subject` is the `sub` of the signed-in user, as the host's
    /// [`PrincipalStore`](crate::PrincipalStore) authenticated them.
    ///
    /// A grant is one authorization: an authorization code or a device code redeemed, with or
    /// without a refresh token. Its [`last_used_at`](Grant::last_used_at) moves with every
    /// refresh.
    ///
    /// ```no_run
    /// # async fn page<P: attesto_runtime::Provider>(auth: attesto_runtime::Attesto<P>) -> Result<(), attesto_runtime::HostError> {
    /// for grant in auth.grants("alice").await? {
    ///     println!("{} may use {} at {:?}", grant.client_id.as_str(), grant.scopes, grant.audience);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn grants(&self, subject: &str) -> Result<Vec<Grant>, HostError> {
        self.0.parts.store.grants(subject, SystemTime::now(), MAX_GRANTS_LISTED).await
    }

    /// Revokes the grant `grant_id` that `subject` gave a client: its refresh tokens and every
    /// access token issued under it stop working, here at once and at every instance sharing the
    /// store within one [`revocation_refresh_interval`](crate::Builder::revocation_refresh_interval)
    /// (5 seconds by default), resource servers guarded by attesto's guards included. The event
    /// sink hears [`grant_revoked`](crate::EventSink::grant_revoked).
    ///
    /// Returns `false`, revoking nothing, when `subject` holds no such live grant: an id of
    /// another user's grant (a forged form) does nothing. Revoking a grant twice is harmless and
    /// returns `true` again while the grant would have lived; after a host error, call it again.
    ///
    /// ```no_run
    /// # async fn revoke<P: attesto_runtime::Provider>(auth: attesto_runtime::Attesto<P>, grant_id: &str) -> Result<(), attesto_runtime::HostError> {
    /// // `grant_id` from the form the signed-in user posted; the subject from their session.
    /// if !auth.revoke_grant("alice", grant_id).await? {
    ///     println!("no such grant");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn revoke_grant(&self, subject: &str, grant_id: &str) -> Result<bool, HostError> {
        // The store checks the subject and marks the grant revoked in one step; the tokens are
        // revoked after, so that a failure there leaves a grant that revoking again completes.
        let Some(grant) = self.0.parts.store.revoke_grant(subject, grant_id, SystemTime::now()).await? else {
            return Ok(false);
        };
        self.revoke_grant_tokens(&grant.family_id, grant.expires_at).await?;
        self.0.parts.provider.event_sink().grant_revoked(&GrantRevoked {
            client_id: grant.client_id.as_str(),
            subject: &grant.subject,
            grant_id: &grant.grant_id,
        });
        Ok(true)
    }

    /// Revokes every grant of `subject` (see [`revoke_grant`](Self::revoke_grant)), for
    /// offboarding a user or "sign out everywhere": every client loses every token the user gave
    /// it. Returns how many grants were revoked. The user's session at the host, if any, is the
    /// host's to end.
    ///
    /// ```no_run
    /// # async fn offboard<P: attesto_runtime::Provider>(auth: attesto_runtime::Attesto<P>) -> Result<(), attesto_runtime::HostError> {
    /// let revoked = auth.revoke_all_grants("alice").await?;
    /// println!("{revoked} grants revoked");
    /// # Ok(()) }
    /// ```
    pub async fn revoke_all_grants(&self, subject: &str) -> Result<usize, HostError> {
        let mut revoked = 0;
        // A page at a time: a revoked grant is no longer listed, so each pass lists the next ones.
        loop {
            let grants = self.grants(subject).await?;
            if grants.is_empty() {
                return Ok(revoked);
            }
            for grant in &grants {
                if self.revoke_grant(subject, &grant.grant_id).await? {
                    revoked += 1;
                }
            }
        }
    }

    /// Ends, on attesto's side, the session `session_id` of `subject` that the host ended (OpenID
    /// Connect Back-Channel Logout 1.0 §2.7): what the end-session endpoint does after the host's
    /// [`SessionStore::end_session`](crate::SessionStore::end_session), for a host whose own
    /// "sign out" button ends the session.
    ///
    /// - The grants given in the session (whose principal carried this
    ///   [`session_id`](crate::AuthenticatedPrincipal::session_id); `None` means the grants given
    ///   without one) are revoked as by [`revoke_grant`](Self::revoke_grant), except those with
    ///   `offline_access`, which §2.7 says should normally outlive the session. Grants of the
    ///   user's other sessions stay. They are found among the user's live grants as
    ///   [`grants`](Self::grants) lists them, newest first, a page at a time: a session grant
    ///   behind more than [`MAX_GRANTS_LISTED`](crate::store::MAX_GRANTS_LISTED) newer grants the
    ///   user keeps is not reached (its tokens still end with the grant).
    /// - Every client with a `backchannel_logout_uri` that received tokens in the session is sent
    ///   a logout token (§2.4, §2.5) by a background task (feature `fetch`), which this call does
    ///   not wait for; the clients' records are taken from the store at once, so that of two
    ///   instances ending the same session only one notifies. Queued tokens are lost if the
    ///   process stops before they are sent.
    ///
    /// The event sink hears [`session_ended`](crate::EventSink::session_ended), then one
    /// [`backchannel_logout`](crate::EventSink::backchannel_logout) per client.
    ///
    /// ```no_run
    /// # async fn sign_out<P: attesto_runtime::Provider>(auth: attesto_runtime::Attesto<P>) -> Result<(), attesto_runtime::HostError> {
    /// // After deleting the session row and clearing the cookie:
    /// auth.session_ended("alice", Some("session-7")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn session_ended(&self, subject: &str, session_id: Option<&str>) -> Result<(), HostError> {
        let grants_revoked = self.revoke_session_grants(subject, session_id).await?;
        let sessions = self.0.parts.store.take_logout_sessions(subject, session_id, SystemTime::now()).await?;
        let (notifications_queued, notifications_dropped) = self.notify(subject, session_id, sessions).await;
        self.0.parts.provider.event_sink().session_ended(&SessionEnded {
            subject,
            session_id,
            grants_revoked,
            notifications_queued,
            notifications_dropped,
        });
        Ok(())
    }

    /// Revokes the grants of the session `session_id` of `subject` that lack `offline_access`;
    /// how many.
    async fn revoke_session_grants(&self, subject: &str, session_id: Option<&str>) -> Result<usize, HostError> {
        let mut revoked = 0;
        // A page at a time, as `revoke_all_grants`: revoked grants leave the list, the kept ones
        // stay, so a pass that revokes nothing, or a short page, is the last.
        loop {
            let grants = self.grants(subject).await?;
            let mut this_pass = 0;
            for grant in &grants {
                if grant.session_id.as_deref() == session_id
                    && !grant.scopes.contains("offline_access")
                    && self.revoke_grant(subject, &grant.grant_id).await?
                {
                    this_pass += 1;
                }
            }
            revoked += this_pass;
            if this_pass == 0 || grants.len() < MAX_GRANTS_LISTED {
                return Ok(revoked);
            }
        }
    }

    /// Queues a logout token for each client of `sessions` that still has a
    /// `backchannel_logout_uri`: how many were queued, and how many dropped (queue full).
    #[cfg(feature = "fetch")]
    async fn notify(&self, subject: &str, session_id: Option<&str>, sessions: Vec<LogoutSession>) -> (usize, usize) {
        let (mut queued, mut dropped) = (0, 0);
        for session in sessions {
            // The client as it is now: it may have changed its URI, or be gone.
            let client = match self.find_client(session.client_id.as_str()).await {
                Ok(Some(found)) => found.client,
                Ok(None) => continue,
                Err(error) => {
                    tracing::error!(%error, client_id = session.client_id.as_str(), "a back-channel logout client could not be read");
                    continue;
                }
            };
            let Some(uri) = client.backchannel_logout_uri.clone() else { continue };
            // The user as the client knows them: by the pairwise `sub` of its sector (OIDC Core
            // §8.1), as in its ID tokens. Without the secret, `subject_for` logged the fault.
            let Ok(client_subject) = self.subject_for(&client, subject) else { continue };
            let jti = crate::store::new_id();
            let token = crate::protocol::logout_token::LogoutToken {
                issuer: self.issuer().as_str(),
                client_id: client.client_id.as_str(),
                subject: &client_subject,
                session_id,
                jti: &jti,
                now: crate::protocol::jwt::unix_seconds(SystemTime::now()),
            };
            let token = match crate::protocol::logout_token::sign(self.keys().signing_key(), &token) {
                Ok(token) => token,
                Err(error) => {
                    tracing::error!(%error, "a logout token could not be signed");
                    continue;
                }
            };
            let delivery = Delivery {
                uri,
                token,
                client_id: client.client_id.as_str().to_owned(),
                subject: subject.to_owned(),
                session_id: session_id.map(str::to_owned),
            };
            match self.0.parts.backchannel.enqueue(delivery, || self.reporter()) {
                Ok(()) => queued += 1,
                Err(delivery) => {
                    dropped += 1;
                    // Whatever the host's event sink does with the event, the operator hears of it.
                    tracing::error!(
                        client_id = delivery.client_id.as_str(),
                        "a back-channel logout token was dropped: the delivery queue is full (see `Builder::backchannel_logout_queue`)"
                    );
                    self.0.parts.provider.event_sink().backchannel_logout(&BackchannelLogout {
                        client_id: &delivery.client_id,
                        subject,
                        session_id,
                        outcome: BackchannelLogoutOutcome::Dropped,
                    });
                }
            }
        }
        (queued, dropped)
    }

    /// Without the feature `fetch`, nothing is sent: the records are only taken.
    #[cfg(not(feature = "fetch"))]
    async fn notify(&self, _: &str, _: Option<&str>, _: Vec<LogoutSession>) -> (usize, usize) {
        (0, 0)
    }

    /// What the delivery task reports to: the event sink, reached through a weak reference, so
    /// that the task does not keep the provider alive (it ends when the provider is dropped).
    #[cfg(feature = "fetch")]
    fn reporter(&self) -> Report {
        let weak = Arc::downgrade(&self.0);
        Arc::new(move |delivery: &Delivery, outcome: BackchannelLogoutOutcome<'_>| {
            if let Some(inner) = weak.upgrade() {
                inner.parts.provider.event_sink().backchannel_logout(&BackchannelLogout {
                    client_id: &delivery.client_id,
                    subject: &delivery.subject,
                    session_id: delivery.session_id.as_deref(),
                    outcome,
                });
            }
        })
    }

    /// Whether an access token was revoked, by its `jti` or by its grant (`grant_id`), here or (up
    /// to one [`revocation_refresh_interval`](Builder::revocation_refresh_interval) ago) at any
    /// instance sharing the store. A store round trip at most once per interval, never per
    /// request.
    pub(crate) async fn is_access_token_revoked(
        &self,
        token: &AccessTokenView,
        now: SystemTime,
    ) -> Result<bool, HostError> {
        self.0.parts.revoked.is_revoked(&*self.0.parts.store, &token.jti, token.grant_id.as_deref(), now).await
    }

    /// Looks a client up (see [`lookup_client`](Self::lookup_client)); `None` whatever the reason
    /// it is not found.
    pub(crate) async fn find_client(&self, client_id: &str) -> Result<Option<FoundClient>, HostError> {
        Ok(self.lookup_client(client_id).await?.ok())
    }

    /// Looks a client up: the host's own table first ([`ClientStore`]), then, with registration
    /// on, the dynamically registered clients ([`RegistrationStore`]), then, with client ID
    /// metadata documents on, the document at a URL client id. A document that cannot be used
    /// makes the client unknown, with the reason, never a host error: the host is not at fault.
    pub(crate) async fn lookup_client(&self, client_id: &str) -> Result<Result<FoundClient, NoClient>, HostError> {
        let provider = &self.0.parts.provider;
        if let Some(mut client) = provider.load_client(client_id).await? {
            client.source = ClientSource::Host;
            return Ok(Ok(FoundClient { client, registered: false }));
        }
        if let Some(store) = provider.registration_store()
            && let Some(registration) = store.load_registration(&ClientId::new(client_id)).await?
        {
            let mut client = registration.client;
            client.source = ClientSource::SelfAsserted;
            return Ok(Ok(FoundClient { client, registered: true }));
        }
        #[cfg(feature = "fetch")]
        if let Some(documents) = &self.0.parts.client_metadata
            && client_metadata::is_document_url(client_id)
        {
            return Ok(match documents.resolve(client_id).await {
                Ok(mut client) => {
                    client.source = ClientSource::SelfAsserted;
                    Ok(FoundClient { client, registered: true })
                }
                Err(refusal) => {
                    provider.event_sink().client_metadata_document_refused(&ClientMetadataDocumentRefused {
                        client_id,
                        reason: &refusal.detail,
                    });
                    Err(NoClient::MetadataDocument(refusal.public))
                }
            });
        }
        Ok(Err(NoClient::Unknown))
    }

    /// Whether a token's client still exists: a token is worth no more than its client.
    pub(crate) async fn knows_client(&self, client_id: &str) -> Result<bool, HostError> {
        // A client ID metadata document read already is not fetched again here (see
        // `Resolver::has_resolved`); once its cache entry is gone, the lookup below fetches it.
        #[cfg(feature = "fetch")]
        if let Some(documents) = &self.0.parts.client_metadata
            && documents.has_resolved(client_id)
        {
            return Ok(true);
        }
        // A token is worth no more than its client: once a registration is deleted (RFC 7592
        // §2.3) or the host removes a client from its table, the client's tokens stop working too.
        Ok(self.find_client(client_id).await?.is_some())
    }

    /// Verifies a presented secret: the host verifies its own clients' secrets, attesto the
    /// secrets it issued at registration (their SHA-256, compared in constant time).
    pub(crate) async fn verify_client_secret(&self, found: &FoundClient, secret: &str) -> Result<bool, HostError> {
        if found.registered {
            return Ok(found.client.secret_hash.as_ref().is_some_and(|hash| hash.verify(secret)));
        }
        self.0.parts.provider.verify_client_secret(&found.client, secret).await
    }
}

//! The record of a grant: one authorization a user gave a client, as a host lists it on a
//! "connected apps" page and revokes it ([`Store::grants`](super::Store::grants),
//! [`Store::revoke_grant`](super::Store::revoke_grant)).

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::revoked;
use crate::model::claims::ClaimsRequest;
use crate::model::client::ClientId;
use crate::model::scope::Scopes;

/// The most grants [`Attesto::grants`](crate::Attesto::grants) lists: a page of them, newest
/// first.
pub const MAX_GRANTS_LISTED: usize = 200;

/// One authorization a user gave a client — an authorization code redeemed, or a device code
/// (RFC 8628) — and every token issued under it: the first access token, the refresh tokens of
/// its refresh family if it has one (`offline_access`), and the access tokens of their refreshes
/// and exchanges, all of which carry its [`grant_id`](Self::grant_id). Client credentials tokens
/// have no user and no grant.
///
/// Recorded by attesto when the grant's first tokens are issued; listed by
/// [`Attesto::grants`](crate::Attesto::grants) and ended by
/// [`Attesto::revoke_grant`](crate::Attesto::revoke_grant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Grant {
    /// The grant's id: the `grant_id` claim of every access token issued under it, and what a
    /// host passes to [`Attesto::revoke_grant`](crate::Attesto::revoke_grant). Opaque, 128 bits.
    pub grant_id: String,
    /// The id of the grant's refresh family, the store's key of its refresh tokens (see
    /// [`RefreshFamily`](super::RefreshFamily)); the family exists only when a refresh token was
    /// issued, and revoking the id is harmless otherwise. Not shown to clients: the tokens carry
    /// the one-way `grant_id`.
    pub family_id: String,
    /// The client the user authorized.
    pub client_id: ClientId,
    /// The user (the principal's `sub`).
    pub subject: String,
    /// The scopes granted.
    pub scopes: Scopes,
    /// The audiences of its tokens (RFC 8707 resources, or the default audience).
    pub audience: Vec<String>,
    /// When the grant was made (its first tokens were issued).
    pub created_at: SystemTime,
    /// When its tokens were last issued: at creation, then at every refresh.
    pub last_used_at: SystemTime,
    /// When the last of its tokens expires: the end of its refresh family, or, without one, of
    /// its one access token. It is no longer listed afterwards.
    pub expires_at: SystemTime,
    /// The host's session the grant was given in (the principal's
    /// [`session_id`](crate::AuthenticatedPrincipal::session_id)), if it named one. When that
    /// session ends ([`Attesto::session_ended`](crate::Attesto::session_ended), or logout at the
    /// end-session endpoint), the grant is revoked unless it carries `offline_access`
    /// (OpenID Connect Back-Channel Logout 1.0 §2.7). Absent from grants recorded before it was
    /// kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The `claims` request parameter of the authorization (OIDC Core §5.5), so that the ID
    /// tokens of its refreshes and the userinfo answers for its access tokens honour it as the
    /// first ID token did. Absent when the client sent none, and in grants recorded before it was
    /// kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<ClaimsRequest>,
    /// The `claims_locales` of the authorization (OIDC Core §5.2), for the same. Empty when the
    /// client sent none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims_locales: Vec<String>,
}

impl Grant {
    /// The grant of the refresh family `family_id` (whether or not the family is created), first
    /// used at `created_at`; its [`grant_id`](Self::grant_id) is derived from `family_id`.
    pub fn new(
        family_id: String,
        client_id: ClientId,
        subject: String,
        scopes: Scopes,
        audience: Vec<String>,
        created_at: SystemTime,
        expires_at: SystemTime,
    ) -> Self {
        Self {
            grant_id: revoked::grant_id(&family_id),
            family_id,
            client_id,
            subject,
            scopes,
            audience,
            created_at,
            last_used_at: created_at,
            expires_at,
            session_id: None,
            claims: None,
            claims_locales: Vec::new(),
        }
    }

    /// Sets the session the grant was given in.
    #[must_use]
    pub fn with_session_id(mut self, session_id: Option<String>) -> Self {
        self.session_id = session_id;
        self
    }

    /// Sets the claims requested with the authorization ([`claims`](Self::claims), OIDC Core
    /// §5.5) and their locales ([`claims_locales`](Self::claims_locales), §5.2).
    #[must_use]
    pub fn with_claims(mut self, claims: Option<ClaimsRequest>, claims_locales: Vec<String>) -> Self {
        self.claims = claims;
        self.claims_locales = claims_locales;
        self
    }
}

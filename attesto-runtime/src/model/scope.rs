//! Scopes (RFC 6749 §3.3) and the [`ScopePolicy`] host trait.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;

use crate::model::client::Client;
use crate::error::HostError;

/// One scope token: `1*( %x21 / %x23-5B / %x5D-7E )` (RFC 6749 §3.3).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Scope(String);

impl Scope {
    /// Parses one scope token.
    pub fn parse(token: &str) -> Result<Self, InvalidScope> {
        let valid = !token.is_empty()
            && token.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if valid { Ok(Self(token.to_owned())) } else { Err(InvalidScope) }
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A scope string that is not a valid space-delimited list of scope tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("scope must be space-separated tokens of printable ASCII other than double quote and backslash")]
pub struct InvalidScope;

/// A set of scopes, in the order first given, without duplicates.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    /// Parses a space-delimited scope string (RFC 6749 §3.3). Duplicates are dropped; an empty
    /// string gives an empty set. Tokens are separated by single spaces, as the RFC's grammar says.
    pub fn parse(value: &str) -> Result<Self, InvalidScope> {
        if value.is_empty() {
            return Ok(Self::default());
        }
        let mut scopes = Self::default();
        for token in value.split(' ') {
            scopes.insert(Scope::parse(token)?);
        }
        Ok(scopes)
    }

    /// Adds a scope unless present.
    pub fn insert(&mut self, scope: Scope) {
        if !self.0.contains(&scope) {
            self.0.push(scope);
        }
    }

    /// Whether the set holds `scope`.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s.0 == scope)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The scopes, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    /// The scopes of `self` that are also in `other`, in `self`'s order.
    #[must_use]
    pub fn intersection(&self, other: &Self) -> Self {
        Self(self.0.iter().filter(|s| other.0.contains(s)).cloned().collect())
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

/// Space-delimited, as on the wire.
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(&scope.0)?;
        }
        Ok(())
    }
}

impl serde::Serialize for Scopes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Scopes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = <String as serde::Deserialize>::deserialize(deserializer)?;
        Self::parse(&value).map_err(serde::de::Error::custom)
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut scopes = Self::default();
        for scope in iter {
            scopes.insert(scope);
        }
        scopes
    }
}

/// What a [`ScopePolicy`] decides for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeDecision {
    /// Grant these scopes (which may be fewer than requested: RFC 6749 §3.3 lets the server narrow
    /// the request, and the token response then says which were granted).
    Grant(Scopes),
    /// Refuse the request with `invalid_scope` and this description.
    Refuse(Cow<'static, str>),
}

/// Which scopes a client gets. Optional: without an impl attesto uses the default below.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `attesto::ScopePolicy`",
    note = "implement `attesto::ScopePolicy` for `{Self}`, or leave it out to use the default"
)]
pub trait ScopePolicy: Send + Sync {
    /// Decides the scopes for `client` given the `requested` ones.
    ///
    /// The default grants the client's allowed scopes that were requested; a request without
    /// `scope` gets all of the client's allowed scopes (RFC 6749 §3.3 lets the server apply a
    /// default); a request none of whose scopes is allowed is refused with `invalid_scope`.
    ///
    /// Dynamic registration (RFC 7591) asks it too, for the new client with the `scope` it
    /// registered: the client's [`scopes`](Client::scopes) are then the builder's
    /// `scopes_supported`, and what is granted becomes the registered client's allowed scopes (a
    /// refusal is `invalid_client_metadata`). So by default a registered client may hold only
    /// advertised scopes; a host that wants otherwise decides here.
    fn authorize_scope(
        &self,
        client: &Client,
        requested: &Scopes,
    ) -> impl Future<Output = Result<ScopeDecision, HostError>> + Send {
        let decision = if requested.is_empty() {
            ScopeDecision::Grant(client.scopes.clone())
        } else {
            let granted = requested.intersection(&client.scopes);
            if granted.is_empty() {
                ScopeDecision::Refuse(Cow::Borrowed("none of the requested scopes is allowed for this client"))
            } else {
                ScopeDecision::Grant(granted)
            }
        };
        std::future::ready(Ok(decision))
    }

    /// Whether a code exchange issues a refresh token for `scopes`. The default: when the client
    /// may use the `refresh_token` grant. A host that follows OpenID Connect's `offline_access`
    /// convention (OIDC Core §11) returns `scopes.contains("offline_access")` here for clients
    /// that ask for `openid`.
    fn refresh_token_allowed(
        &self,
        client: &Client,
        scopes: &Scopes,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        let _ = scopes;
        std::future::ready(Ok(client.allows_grant(crate::model::client::GrantType::RefreshToken)))
    }
}

impl<T: ScopePolicy + ?Sized> ScopePolicy for &T {
    fn authorize_scope(
        &self,
        client: &Client,
        requested: &Scopes,
    ) -> impl Future<Output = Result<ScopeDecision, HostError>> + Send {
        (**self).authorize_scope(client, requested)
    }
    fn refresh_token_allowed(
        &self,
        client: &Client,
        scopes: &Scopes,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        (**self).refresh_token_allowed(client, scopes)
    }
}

//! The one error type of the protocol endpoints, rendered per RFC 6749 §5.2.

use crate::keys::KeyError;
use std::borrow::Cow;
use std::fmt;

use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode, header};

/// The `DPoP-Nonce` response header, which carries the nonce a DPoP proof must include (RFC 9449
/// §8.1).
pub(crate) const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// An OAuth error code (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; RFC 7591 §3.2.2; RFC 8707 §2;
/// RFC 9449 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`: missing, repeated or malformed parameter, or a malformed request.
    InvalidRequest,
    /// `invalid_client`: client authentication failed.
    InvalidClient,
    /// `invalid_grant`: the grant (code, refresh token, credentials) is invalid.
    InvalidGrant,
    /// `unauthorized_client`: the client may not use this grant type.
    UnauthorizedClient,
    /// `unsupported_grant_type`: the grant type is not supported by this server.
    UnsupportedGrantType,
    /// `invalid_scope`: the requested scope is invalid, unknown or not allowed.
    InvalidScope,
    /// `invalid_target`: the requested resource is invalid, unknown or malformed (RFC 8707 §2).
    InvalidTarget,
    /// `access_denied`: the resource owner or the server denied the request.
    AccessDenied,
    /// `unsupported_response_type`.
    UnsupportedResponseType,
    /// `invalid_token` (RFC 6750 §3.1).
    InvalidToken,
    /// `insufficient_scope` (RFC 6750 §3.1).
    InsufficientScope,
    /// `server_error`: an unexpected condition.
    ServerError,
    /// `login_required`: the user must sign in, and `prompt=none` forbids asking (OIDC Core §3.1.2.6).
    LoginRequired,
    /// `consent_required`: the user must consent, and `prompt=none` forbids asking.
    ConsentRequired,
    /// `interaction_required`: the user must interact, and `prompt=none` forbids it.
    InteractionRequired,
    /// `request_not_supported`: the `request` parameter (a request object) is not supported.
    /// attesto accepts request objects (RFC 9101) and does not send this code; it stays for
    /// code that names it.
    RequestNotSupported,
    /// `request_uri_not_supported`: the `request_uri` parameter is not supported.
    RequestUriNotSupported,
    /// `invalid_request_object`: the request object (RFC 9101 §6.2) is invalid: not signed by
    /// a key of the client, expired, not for this server, or carrying a bad claim.
    InvalidRequestObject,
    /// `invalid_request_uri`: the `request_uri` does not stand for a request this client may use
    /// (RFC 9101 §7.1): unknown, expired or already used (RFC 9126 §4).
    InvalidRequestUri,
    /// `temporarily_unavailable`: the server (or the host behind it) cannot answer now.
    TemporarilyUnavailable,
    /// `invalid_redirect_uri`: a redirect URI in client metadata is not acceptable (RFC 7591
    /// §3.2.2).
    InvalidRedirectUri,
    /// `invalid_client_metadata`: a client metadata member is invalid (RFC 7591 §3.2.2).
    InvalidClientMetadata,
    /// `invalid_dpop_proof`: the DPoP proof is missing, malformed or does not fit the request
    /// (RFC 9449 §7.1).
    InvalidDpopProof,
    /// `use_dpop_nonce`: the DPoP proof must carry the server nonce sent in the `DPoP-Nonce`
    /// header (RFC 9449 §8, §9).
    UseDpopNonce,
    /// `insufficient_user_authentication` (RFC 9470 §3): the token stands for no (or not enough)
    /// user authentication, e.g. a client's own token at a resource that acts for users.
    InsufficientUserAuthentication,
    /// `authorization_pending` (RFC 8628 §3.5): the user has not yet decided on a device grant;
    /// the device keeps polling.
    AuthorizationPending,
    /// `slow_down` (RFC 8628 §3.5): the device polls faster than its interval, which grows by
    /// 5 seconds.
    SlowDown,
    /// `expired_token` (RFC 8628 §3.5): the device code expired before the user decided.
    ExpiredToken,
}

impl ErrorCode {
    /// The wire value of the code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::ServerError => "server_error",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::InvalidRequestObject => "invalid_request_object",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
            Self::InsufficientUserAuthentication => "insufficient_user_authentication",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
        }
    }

    /// The status a token-endpoint style JSON error answers with (RFC 6749 §5.2: 400 unless said
    /// otherwise).
    const fn default_status(self) -> StatusCode {
        match self {
            Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope => StatusCode::FORBIDDEN,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth error response: the JSON body of RFC 6749 §5.2 with `error` and
/// `error_description`, `Cache-Control: no-store`, and where the RFCs ask for it a status other
/// than 400, a `WWW-Authenticate` challenge and a `DPoP-Nonce` (RFC 9449 §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthError {
    code: ErrorCode,
    description: Cow<'static, str>,
    status: StatusCode,
    www_authenticate: Option<HeaderValue>,
    dpop_nonce: Option<HeaderValue>,
}

impl OAuthError {
    /// An error with its code's usual status.
    ///
    /// The description is made to fit RFC 6749 §5.2 (`%x20-21 / %x23-5B / %x5D-7E`): any other
    /// character (`"`, `\`, controls, anything beyond ASCII) becomes `?`, and `§` is written
    /// `section `. attesto's own
    /// descriptions are written in that set; this keeps a description that quotes something
    /// else (a host's error, a document's fault) within it too.
    pub(crate) fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: restrict(description.into()),
            status: code.default_status(),
            www_authenticate: None,
            dpop_nonce: None,
        }
    }

    /// `invalid_request` with a description.
    pub(crate) fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `temporarily_unavailable`, 503, with a description that says nothing of the cause.
    pub(crate) fn unavailable() -> Self {
        Self::new(ErrorCode::TemporarilyUnavailable, "the service is temporarily unavailable, try again later")
    }

    /// The same error with another HTTP status.
    #[must_use]
    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The same error with a `WWW-Authenticate` challenge.
    #[must_use]
    pub(crate) fn with_challenge(mut self, challenge: HeaderValue) -> Self {
        self.www_authenticate = Some(challenge);
        self
    }

    /// The same error with a `DPoP-Nonce` header: the nonce the client's next DPoP proof must
    /// carry (RFC 9449 §8, §9).
    #[must_use]
    pub(crate) fn with_dpop_nonce(mut self, nonce: HeaderValue) -> Self {
        self.dpop_nonce = Some(nonce);
        self
    }

    /// The error code.
    pub(crate) fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human-readable description.
    pub(crate) fn description(&self) -> &str {
        &self.description
    }

    /// The HTTP status of the response.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }
}

/// Whether a character may appear in an `error_description` (RFC 6749 §5.2).
const fn allowed_in_description(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

/// `description` with every character RFC 6749 §5.2 does not allow replaced by `?`, but `§` (which
/// attesto's own descriptions use to cite RFC sections) written `section `; borrowed as it is
/// when there is none.
fn restrict(description: Cow<'static, str>) -> Cow<'static, str> {
    if description.chars().all(allowed_in_description) {
        return description;
    }
    let mut restricted = String::with_capacity(description.len());
    for c in description.chars() {
        match c {
            '§' => restricted.push_str("section "),
            c if allowed_in_description(c) => restricted.push(c),
            _ => restricted.push('?'),
        }
    }
    Cow::Owned(restricted)
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuthError {}

#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    error_description: &'a str,
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorBody { error: self.code.as_str(), error_description: &self.description })
            .unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        // RFC 6749 §5.1 / §5.2: token endpoint responses must not be cached.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(challenge) = self.www_authenticate {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(nonce) = self.dpop_nonce {
            headers.insert(DPOP_NONCE, nonce);
        }
        response
    }
}

/// An error from a host trait method (a database down, a network call failed).
///
/// attesto logs it and answers `503 temporarily_unavailable` without the details: internals never
/// reach the client. Any error type converts into it with `?`.
pub struct HostError(Box<dyn std::error::Error + Send + Sync + 'static>);

impl HostError {
    /// A host error from a message.
    pub fn msg(message: impl Into<Cow<'static, str>>) -> Self {
        #[derive(Debug)]
        struct Message(Cow<'static, str>);
        impl fmt::Display for Message {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::error::Error for Message {}
        Self(Box::new(Message(message.into())))
    }

    /// The underlying error.
    pub fn source_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HostError {
    fn from(error: E) -> Self {
        Self(Box::new(error))
    }
}

impl fmt::Debug for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<HostError> for OAuthError {
    fn from(error: HostError) -> Self {
        tracing::error!(error = %error, "host callback failed; answering temporarily_unavailable");
        Self::unavailable()
    }
}

/// Why a provider could not be built.
///
/// Its `Debug` form is its message, which names the fix: a `main` that returns
/// `Result<(), Box<dyn Error>>` prints the `Debug` form of the error it ends with.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The issuer is not an acceptable issuer identifier (RFC 8414 §2).
    #[error("invalid issuer `{issuer}`: {reason}")]
    Issuer {
        /// The value given.
        issuer: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A resource indicator is not an absolute URI without fragment (RFC 8707 §2).
    #[error("invalid resource `{resource}`: {reason}")]
    Resource {
        /// The value given.
        resource: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No issuer was set.
    #[error("no issuer: call `.issuer(\"https://…\")` on the builder")]
    MissingIssuer,
    /// Pushed authorization requests are required, and the provider is declared without the PAR
    /// endpoint.
    #[error(
        "`require_pushed_authorization_requests(true)` needs the PAR endpoint, which the provider declaration turns off (`par = false`)"
    )]
    ParRequiredWithoutPar,
    /// An `acr_values_supported` value that is empty or has whitespace.
    #[error("invalid `acr_values_supported` value `{value}`: it must be non-empty and without whitespace")]
    AcrValue {
        /// The value given.
        value: String,
    },
    /// The FAPI 2.0 profile ([`Builder::fapi2_security_profile`](crate::Builder::fapi2_security_profile))
    /// cannot hold with the rest of the configuration.
    #[error("the FAPI 2.0 Security Profile {reason}")]
    Fapi2 {
        /// What conflicts with the profile.
        reason: String,
    },
    /// [`Attesto::resource_guard`](crate::Attesto::resource_guard) on a provider whose declaration names no resource.
    #[error(
        "the provider declaration names no protected resource: add `resource = \"/…\"` to it, or use `Attesto::guard(url)`"
    )]
    NoDeclaredResource,
    /// The declaration signs everyone in (`dev_sign_in`), and the issuer is not on a loopback
    /// host: the development sign-in would be reachable from other machines.
    #[error(
        "`dev_sign_in` signs every visitor in as `{subject}` and is for development only: it needs an issuer on a loopback host (`http://127.0.0.1:…` or `http://localhost:…`), not `{issuer}`; remove `dev_sign_in` from the provider declaration and implement `PrincipalStore` to deploy"
    )]
    DevSignInOffLoopback {
        /// The subject every sign-in gets.
        subject: &'static str,
        /// The issuer configured.
        issuer: String,
    },
    /// No signing key was set.
    #[error(
        "no signing key: call `.signing_key(Key::from_pem(…)?)`, or `Key::generate_for_development()` in development"
    )]
    MissingSigningKey,
    /// A key problem.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A lifetime out of range.
    #[error("invalid {what}: {reason}")]
    Lifetime {
        /// Which setting.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An allowed CORS origin is not an origin, `scheme://host[:port]` (HTML, "Origin").
    #[error("invalid CORS origin `{origin}`: {reason}")]
    CorsOrigin {
        /// The value given.
        origin: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The client ID metadata document settings are out of range, or their HTTPS client could
    /// not be built (feature `fetch`).
    #[error("invalid client ID metadata document settings: {reason}")]
    ClientMetadataDocuments {
        /// What is wrong.
        reason: &'static str,
    },
    /// A trusted identity issuer (the identity assertion grant, feature `fetch`) is not usable.
    #[error("invalid trusted identity issuer `{issuer}`: {reason}")]
    TrustedIdentityIssuer {
        /// The issuer given.
        issuer: String,
        /// What is wrong.
        reason: String,
    },
    /// The HTTPS client that fetches `private_key_jwt` clients' `jwks_uri`s could not be built
    /// (feature `fetch`).
    #[error("the client `jwks_uri` fetcher could not be built: {reason}")]
    ClientJwksFetcher {
        /// What is wrong.
        reason: &'static str,
    },
    /// The HTTP client that sends back-channel logout tokens could not be built (feature
    /// `fetch`).
    #[error("the back-channel logout sender could not be built: {reason}")]
    BackchannelLogoutSender {
        /// What is wrong.
        reason: &'static str,
    },
    /// [`WellKnownForms::IssuerPathOnly`](crate::discovery::WellKnownForms::IssuerPathOnly) for
    /// an issuer without a path: its only forms are the host-root ones, so nothing would be
    /// served.
    #[error(
        "`well_known_forms(WellKnownForms::IssuerPathOnly)` needs an issuer with a path (`https://host/mcp/oauth`), and `{issuer}` has none: its discovery documents could only be at the host root"
    )]
    WellKnownNeedsIssuerPath {
        /// The issuer configured.
        issuer: String,
    },
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_error_names_its_fix_in_either_form() {
        for error in [ConfigError::MissingSigningKey, ConfigError::MissingIssuer, ConfigError::NoDeclaredResource] {
            assert_eq!(format!("{error:?}"), error.to_string());
        }
        assert!(format!("{:?}", ConfigError::MissingSigningKey).contains("call `.signing_key(Key::from_pem(…)?)`"));
        assert!(format!("{:?}", ConfigError::MissingIssuer).contains("call `.issuer(\"https://…\")`"));
    }
}

//! Entry points into crate-private parsers, for the fuzz targets of `fuzz/` and the property
//! tests of `tests/it/properties.rs`.
//!
//! **Not a stable API.** It is hidden from the documentation, is not covered by semver, and may
//! change or disappear in any release. It exists only so that fuzzing and property tests can call
//! the parsers that take untrusted input directly, without an HTTP round trip.
//!
//! Each function calls the real parser and only converts its result into plain types, because
//! the parsers' own types are crate-private: none repeats or changes a check, so what is fuzzed
//! here is exactly what the endpoints run. Parsers that are public already (`dpop::verify_proof`)
//! or reachable only inside their module are exercised through their public API or the router.

use http::StatusCode;

use crate::error::{ErrorCode, OAuthError};
use crate::keys::KeySet;
use crate::protocol::dpop_proof::ProofError;
use crate::protocol::form::{self, Form};
use crate::protocol::jwt;

/// An error as attesto sends it: the `error` code, the HTTP status and the `error_description`
/// (RFC 6749 §5.2), read from the crate-private error type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    code: ErrorCode,
    status: StatusCode,
    description: String,
}

impl WireError {
    /// The `error` code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `error_description`.
    pub fn description(&self) -> &str {
        &self.description
    }
}

impl std::fmt::Display for WireError {
    /// As the error type it reads: `code: description`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl From<OAuthError> for WireError {
    fn from(error: OAuthError) -> Self {
        Self { code: error.code(), status: error.status(), description: error.description().to_owned() }
    }
}

/// How a refused DPoP proof is answered at the token endpoint (RFC 9449 §5, §7.1).
pub fn proof_error(error: ProofError) -> WireError {
    OAuthError::from(error).into()
}

/// An error made with `description`, which is restricted to the characters RFC 6749 §5.2 allows
/// when the error is made.
pub fn error_with_description(code: ErrorCode, description: &str) -> WireError {
    OAuthError::new(code, description.to_owned()).into()
}

/// A form body's parameters, in order, as [`parse_form`] and [`parse_form_keeping_repeats`]
/// return them: decoded names and values, parameters without a value left out (RFC 6749 §3.2).
pub type Pairs = Vec<(String, String)>;

fn owned_pairs(form: &Form<'_>) -> Pairs {
    form.pairs().map(|(name, value)| (name.to_owned(), value.to_owned())).collect()
}

/// The form body parser of the token, revocation, introspection and PAR endpoints
/// (`Form::parse`): names in `repeatable` may appear more than once, any other repeated name is
/// `invalid_request`.
pub fn parse_form(body: &[u8], repeatable: &[&str]) -> Result<Pairs, WireError> {
    Form::parse(body, repeatable).map(|form| owned_pairs(&form)).map_err(WireError::from)
}

/// The form parser of the authorization endpoint (`Form::parse_keeping_repeats`), which keeps
/// repeated parameters, and the `error_description` for the first repeated parameter outside
/// `repeatable` (`Form::repeated`), which that endpoint refuses once it knows where to send the
/// error.
pub fn parse_form_keeping_repeats(
    body: &[u8],
    repeatable: &[&str],
) -> Result<(Pairs, Option<&'static str>), WireError> {
    Form::parse_keeping_repeats(body)
        .map(|form| (owned_pairs(&form), form.repeated(repeatable)))
        .map_err(WireError::from)
}

/// `application/x-www-form-urlencoded` decoding of one name or value (`form::decode`).
pub fn decode_form_component(input: &[u8]) -> Result<String, WireError> {
    form::decode(input).map_err(WireError::from)
}

/// The check of one redirect URI at dynamic registration, also applied to the redirect URIs of
/// client ID metadata documents (`redirect_uri::check_redirect_uri`), under the rules of one kind of
/// client: `0` a confidential web client, `1` a public client without `application_type`, any
/// other value a native app.
pub fn check_redirect_uri(uri: &str, kind: u8) -> Result<(), WireError> {
    use crate::protocol::redirect_uri::RedirectUriRules;
    let rules = match kind {
        0 => RedirectUriRules::Web,
        1 => RedirectUriRules::PublicWeb,
        _ => RedirectUriRules::Native,
    };
    crate::protocol::redirect_uri::check_redirect_uri(uri, rules).map_err(WireError::from)
}

/// The claims of an access token that passed [`verify_access_token`], as attesto reads them back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// `iss`.
    pub iss: String,
    /// `sub`.
    pub sub: String,
    /// `aud`, a single string read as a list of one.
    pub aud: Vec<String>,
    /// `exp`, seconds since the Unix epoch.
    pub exp: u64,
    /// `iat`, 0 when absent.
    pub iat: u64,
    /// `jti`.
    pub jti: String,
    /// `client_id`.
    pub client_id: String,
    /// `scope`, empty when absent.
    pub scope: String,
    /// `cnf.jkt`, for a DPoP-bound token.
    pub jkt: Option<String>,
    /// `grant_id`, for a token issued under a refresh family.
    pub grant_id: Option<String>,
}

/// Why a presented access token was refused: the name of the internal reason (`Malformed`,
/// `UnknownKey`, `WrongAlgorithm`, `WrongType`, `BadSignature`, `WrongIssuer`, `Expired`).
pub type Rejection = String;

fn rejection(reason: jwt::Rejected) -> Rejection {
    format!("{reason:?}")
}

/// The first step of access token verification, which needs no key (`PresentedToken::parse`):
/// the token's `kid`, or why its structure or header is refused.
pub fn parse_access_token(token: &str) -> Result<Option<String>, Rejection> {
    jwt::PresentedToken::parse(token).map(|presented| presented.kid().map(str::to_owned)).map_err(rejection)
}

/// Access token verification as the in-process guard and userinfo run it
/// (`jwt::verify_access_token`): structure and header, the key its `kid` names in `keys`, the
/// signature, `iss` against `issuer`, `exp` against `now` (seconds), and the claims.
pub fn verify_access_token(keys: &KeySet, token: &str, issuer: &str, now: u64) -> Result<AccessToken, Rejection> {
    let view = jwt::verify_access_token(keys, token, issuer, now).map_err(rejection)?;
    Ok(AccessToken {
        iss: view.iss,
        sub: view.sub,
        aud: view.aud,
        exp: view.exp,
        iat: view.iat,
        jti: view.jti,
        client_id: view.client_id,
        scope: view.scope,
        jkt: view.cnf.map(|cnf| cnf.jkt),
        grant_id: view.grant_id,
    })
}

/// What the device verification page reads from a typed user code (RFC 8628 §6.1,
/// `user_code::normalize`): its normal form, or `None` when it is not a code.
pub fn normalize_user_code(input: &str) -> Option<String> {
    crate::protocol::user_code::normalize(input)
}

/// How a user code in its normal form is shown (`user_code::display`).
pub fn display_user_code(code: &str) -> String {
    crate::protocol::user_code::display(code)
}

/// A fresh user code, in its normal form (`user_code::generate`).
pub fn generate_user_code() -> String {
    crate::protocol::user_code::generate()
}

//! DPoP at the endpoints (RFC 9449): the one check that the token endpoint, the PAR endpoint and
//! userinfo run on a request's `DPoP` header, and how its failures are answered.
//!
//! [`Attesto::verify_dpop`] verifies the proof with the pure verifier ([`dpop_proof::verify_proof`])
//! against the URL the endpoint is published at, then does what the verifier leaves to its
//! caller: the server nonce (RFC 9449 §8, §9), when the provider requires one, and the `jti`
//! replay check (RFC 9449 §11.1) in the [`Store`](crate::Store). The check itself is
//! [`check_proof`], which needs only the DPoP settings and a replay store, so that a resource
//! server's guard running without the provider (`RemoteGuard`, feature `fetch`) checks proofs
//! with the very same code.
//!
//! The nonces themselves are made and checked in `nonce.rs`.

use std::time::{Duration, SystemTime};

use axum::response::Response;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::error::{DPOP_NONCE, ErrorCode, HostError, OAuthError};
use crate::host::events::{DpopProofReplayed, EventSink as _};
use crate::host::provider::Provider;
use crate::model::profile::Profile;
use crate::protocol::dpop_proof::{self, ProofError, ProofRequirements, VerifiedProof};
use crate::settings::DpopSettings;
use crate::state::Attesto;
use crate::store::{DynStore, TokenHash};

/// The `DPoP` request header, which carries the proof (RFC 9449 §4.1).
pub(crate) const DPOP: HeaderName = HeaderName::from_static("dpop");

/// The key of a proof in the replay store (see [`Store::insert_dpop_jti`](crate::Store::insert_dpop_jti)):
/// the SHA-256 of the key thumbprint, `.` and the `jti`. A `jti` need only be unique per key
/// (RFC 9449 §11.1), and one client cannot spend another's `jti`; the base64url thumbprint has
/// no `.`, so the concatenation is unambiguous.
pub(crate) fn replay_key(jkt: &str, jti: &str) -> TokenHash {
    TokenHash::of(&format!("{jkt}.{jti}"))
}

/// Why a request's DPoP proof, or its absence, is refused.
#[derive(Debug)]
pub(crate) enum DpopFailure {
    /// The verifier refused the proof (RFC 9449 §4.3).
    Proof(ProofError),
    /// More than one `DPoP` header (RFC 9449 §4.3 check 1).
    TwoHeaders,
    /// The proof was accepted before (RFC 9449 §11.1): its key's thumbprint and its `jti`.
    Replayed {
        /// The proof key's thumbprint.
        jkt: String,
        /// The proof's `jti`.
        jti: String,
    },
    /// No proof, where one is required; the description says why.
    Required(&'static str),
    /// A proof signed with an algorithm the provider's profile does not allow (FAPI 2.0 Security
    /// Profile §5.4.1).
    AlgorithmNotAllowed,
    /// The proof is made with another key than the one the grant or token is bound to; the
    /// description says which binding.
    KeyMismatch(&'static str),
    /// Nonces are required and the proof has none; a fresh nonce.
    MissingNonce(String),
    /// Nonces are required and the proof's is stale or not this server's; a fresh nonce.
    StaleNonce(String),
    /// The replay store failed.
    Store(HostError),
}

impl DpopFailure {
    /// The `error_description`: what failed, and nothing about the server.
    fn description(&self) -> &'static str {
        match self {
            Self::Proof(error) => error.description(),
            Self::TwoHeaders => "the request has more than one DPoP header",
            Self::Replayed { .. } => "the DPoP proof was already used: its `jti` was seen before",
            Self::Required(description) | Self::KeyMismatch(description) => description,
            Self::AlgorithmNotAllowed => Profile::ALGORITHM_REFUSED,
            Self::MissingNonce(_) => "the DPoP proof has no `nonce`: use the one in the DPoP-Nonce header",
            Self::StaleNonce(_) => {
                "the DPoP proof `nonce` is stale or was not issued by this server: use the one in the DPoP-Nonce header"
            }
            Self::Store(_) => "the service is temporarily unavailable, try again later",
        }
    }

    /// The error code, and the fresh nonce when the answer is `use_dpop_nonce`.
    fn code_and_nonce(&self) -> (ErrorCode, Option<&str>) {
        match self {
            Self::MissingNonce(nonce) | Self::StaleNonce(nonce) => (ErrorCode::UseDpopNonce, Some(nonce)),
            _ => (ErrorCode::InvalidDpopProof, None),
        }
    }

    /// The answer of the token and PAR endpoints: the RFC 6749 §5.2 JSON error, 400, with
    /// `invalid_dpop_proof` (RFC 9449 §5) or `use_dpop_nonce` and a `DPoP-Nonce` (RFC 9449 §8).
    pub(crate) fn into_error(self) -> OAuthError {
        if let Self::Store(error) = self {
            return OAuthError::from(error);
        }
        let (code, nonce) = self.code_and_nonce();
        let mut error = OAuthError::new(code, self.description());
        if let Some(nonce) = nonce.and_then(|nonce| HeaderValue::from_str(nonce).ok()) {
            error = error.with_dpop_nonce(nonce);
        }
        error
    }

    /// The answer of a protected resource (userinfo): 401 with a `DPoP` challenge carrying the
    /// error (RFC 9449 §7.1), and a `DPoP-Nonce` for `use_dpop_nonce` (RFC 9449 §9).
    pub(crate) fn into_resource_error(self) -> OAuthError {
        if let Self::Store(error) = self {
            return OAuthError::from(error);
        }
        let (code, nonce) = self.code_and_nonce();
        let description = self.description();
        let mut error = OAuthError::new(code, description)
            .with_status(StatusCode::UNAUTHORIZED)
            .with_challenge(dpop_challenge(code, description));
        if let Some(nonce) = nonce.and_then(|nonce| HeaderValue::from_str(nonce).ok()) {
            error = error.with_dpop_nonce(nonce);
        }
        error
    }
}

/// The `algs` parameter of a `DPoP` challenge: the proof algorithms accepted (RFC 9449 §7.1).
fn algs() -> String {
    dpop_proof::SUPPORTED_ALGORITHMS.join(" ")
}

/// `WWW-Authenticate: DPoP error="…", error_description="…", algs="…"` (RFC 9449 §7.1). The
/// descriptions are attesto's own ASCII text without quotes or backslashes, so they need no
/// escaping.
pub(crate) fn dpop_challenge(code: ErrorCode, description: &str) -> HeaderValue {
    let challenge = format!("DPoP error=\"{code}\", error_description=\"{description}\", algs=\"{}\"", algs());
    HeaderValue::from_str(&challenge).unwrap_or(HeaderValue::from_static("DPoP"))
}

/// `WWW-Authenticate: DPoP algs="…"`: the challenge of a request without credentials, next to
/// the `Bearer` one, telling a client that DPoP is accepted and with which algorithms (RFC 9449
/// §7.1).
pub(crate) fn bare_dpop_challenge() -> HeaderValue {
    HeaderValue::from_str(&format!("DPoP algs=\"{}\"", algs())).unwrap_or(HeaderValue::from_static("DPoP"))
}

impl<P: Provider> Attesto<P> {
    /// The DPoP header of a request to the endpoint at `endpoint_path` (a path of `P::PATHS`),
    /// checked without the store: `Ok(None)` without one, the verified proof with one that passes,
    /// the reason otherwise. The `htu` is the endpoint's URL built from the issuer, never from the
    /// `Host` header, which the client chooses (RFC 9449 §4.3 check 9, §11.5). The token and PAR endpoints check this before they
    /// look at the client (a nonce challenge, RFC 9449 §8, comes first), and call
    /// [`record_dpop`](Self::record_dpop) once the client has authenticated, so that a request
    /// whose client fails authentication costs no store write.
    pub(crate) fn verify_dpop(
        &self,
        headers: &HeaderMap,
        method: &str,
        endpoint_path: &str,
    ) -> Result<Option<VerifiedProof>, DpopFailure> {
        let uri = self.settings().issuer.url_of(endpoint_path);
        verify_header(&self.settings().dpop, headers, method, &uri, None)
    }

    /// Records the `jti` of a proof [`verify_dpop`](Self::verify_dpop) accepted, so that it is
    /// accepted once (RFC 9449 §11.1): a replay is refused, and reported as an event.
    pub(crate) async fn record_dpop(
        &self,
        proof: Option<&VerifiedProof>,
        method: &str,
        endpoint_path: &str,
    ) -> Result<(), DpopFailure> {
        let Some(proof) = proof else { return Ok(()) };
        let result = record(&self.settings().dpop, self.store(), proof).await;
        if let Err(DpopFailure::Replayed { jkt, jti }) = &result {
            let uri = self.settings().issuer.url_of(endpoint_path);
            self.provider().event_sink().dpop_proof_replayed(&DpopProofReplayed { jkt, jti, method, uri: &uri });
        }
        result
    }

    /// The whole DPoP check ([`check_proof`]) of a request to the full URL `uri`: that of a
    /// protected resource, built by the caller from configuration, never from the `Host` header
    /// (RFC 9449 §4.3 check 9, §11.5). The access token was verified first, so the `jti` is
    /// recorded at once.
    pub(crate) async fn check_dpop_at(
        &self,
        headers: &HeaderMap,
        method: &str,
        uri: &str,
        access_token: Option<&str>,
    ) -> Result<Option<VerifiedProof>, DpopFailure> {
        let result = check_proof(&self.settings().dpop, self.store(), headers, method, uri, access_token).await;
        if let Err(DpopFailure::Replayed { jkt, jti }) = &result {
            self.provider().event_sink().dpop_proof_replayed(&DpopProofReplayed { jkt, jti, method, uri });
        }
        result
    }

    /// Adds a fresh `DPoP-Nonce` to the response of a request that carried a DPoP proof, when
    /// the provider requires nonces (see [`add_fresh_nonce`]).
    pub(crate) fn add_fresh_dpop_nonce(&self, request: &HeaderMap, response: &mut Response) {
        add_fresh_nonce(&self.settings().dpop, request, response);
    }
}

/// The DPoP check of a request to the URL `uri` under `settings`, with `store` as the replay
/// memory: the one check of the provider's endpoints ([`Attesto::verify_dpop`]) and of a resource
/// server's guard, with or without the provider in its process.
///
/// In order: exactly one header (RFC 9449 §4.3 check 1); the proof itself against `method` and
/// `uri` and `access_token`'s hash when there is one (§4.3 check 12); the nonce when `settings`
/// require one (§4.3 check 10, §8); and last the `jti`, recorded in the store so that the proof
/// is accepted once (§11.1). A proof refused for any other reason is not recorded.
pub(crate) async fn check_proof(
    settings: &DpopSettings,
    store: &dyn DynStore,
    headers: &HeaderMap,
    method: &str,
    uri: &str,
    access_token: Option<&str>,
) -> Result<Option<VerifiedProof>, DpopFailure> {
    let Some(proof) = verify_header(settings, headers, method, uri, access_token)? else {
        return Ok(None);
    };
    record(settings, store, &proof).await?;
    Ok(Some(proof))
}

/// The `DPoP` header of a request checked without the store: exactly one header (RFC 9449 §4.3
/// check 1), the proof against `method`, `uri` and `access_token`'s hash, and the nonce when
/// `settings` require one (§4.3 check 10, §8). `Ok(None)` without a header.
fn verify_header(
    settings: &DpopSettings,
    headers: &HeaderMap,
    method: &str,
    uri: &str,
    access_token: Option<&str>,
) -> Result<Option<VerifiedProof>, DpopFailure> {
    let mut values = headers.get_all(DPOP).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Ok(None),
        (Some(_), Some(_)) => return Err(DpopFailure::TwoHeaders),
        (Some(value), None) => value,
    };
    // A header value that is not UTF-8 cannot be a compact JWS; the verifier says which part is
    // wrong.
    let proof = String::from_utf8_lossy(value.as_bytes());
    let now = crate::protocol::jwt::unix_seconds(SystemTime::now());
    let mut requirements =
        ProofRequirements::new(method, uri, now).with_max_age(settings.max_age).with_max_skew(settings.max_skew);
    if let Some(token) = access_token {
        requirements = requirements.with_access_token(token);
    }
    let proof = dpop_proof::verify_proof(&proof, &requirements).map_err(DpopFailure::Proof)?;
    // FAPI 2.0 Security Profile §5.4.1: under the profile, ES256, PS256 and EdDSA only.
    if !settings.profile.allows_proof_algorithm(proof.alg) {
        return Err(DpopFailure::AlgorithmNotAllowed);
    }
    if settings.require_nonce {
        let fresh = || settings.nonce_key.issue(now);
        match proof.nonce.as_deref() {
            None => return Err(DpopFailure::MissingNonce(fresh())),
            Some(nonce) if !settings.nonce_key.verify(nonce, now) => {
                return Err(DpopFailure::StaleNonce(fresh()));
            }
            Some(_) => {}
        }
    }
    Ok(Some(proof))
}

/// Records a verified proof's `jti` in `store` (insert-if-absent), so that it is accepted once
/// (RFC 9449 §11.1); a proof seen before is [`DpopFailure::Replayed`].
async fn record(settings: &DpopSettings, store: &dyn DynStore, proof: &VerifiedProof) -> Result<(), DpopFailure> {
    let now_time = SystemTime::now();
    let now = crate::protocol::jwt::unix_seconds(now_time);
    // Remembered until the proof's `iat` is refused anyway, plus the skew, since another instance
    // sharing the store may run that much behind. The verifier guarantees `valid_until >= now`
    // (give or take the second that may have passed since).
    let lifetime = Duration::from_secs(proof.valid_until.saturating_sub(now).saturating_add(1)) + settings.max_skew;
    let key = replay_key(&proof.jkt, &proof.jti);
    if !store.insert_dpop_jti(&key, now_time + lifetime).await.map_err(DpopFailure::Store)? {
        return Err(DpopFailure::Replayed { jkt: proof.jkt.clone(), jti: proof.jti.clone() });
    }
    Ok(())
}

/// Adds a fresh `DPoP-Nonce` to the response of a request that carried a DPoP proof, when
/// `settings` require nonces: RFC 9449 §8.2 lets the server hand out the next nonce in any
/// response, which spares the client a `use_dpop_nonce` round trip when the window turns.
pub(crate) fn add_fresh_nonce(settings: &DpopSettings, request: &HeaderMap, response: &mut Response) {
    if !settings.require_nonce || !request.contains_key(DPOP) || response.headers().contains_key(DPOP_NONCE) {
        return;
    }
    if let Ok(nonce) =
        HeaderValue::from_str(&settings.nonce_key.issue(crate::protocol::jwt::unix_seconds(SystemTime::now())))
    {
        response.headers_mut().insert(DPOP_NONCE, nonce);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_keys_are_per_key_and_jti() {
        let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
        let other = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        assert_eq!(replay_key(jkt, "a"), replay_key(jkt, "a"));
        assert_ne!(replay_key(jkt, "a"), replay_key(other, "a"));
        assert_ne!(replay_key(jkt, "a"), replay_key(jkt, "b"));
        assert_eq!(replay_key(jkt, "a"), TokenHash::of(&format!("{jkt}.a")));
    }

    #[test]
    fn failures_render_per_endpoint_kind() {
        let error = DpopFailure::Replayed { jkt: "k".to_owned(), jti: "j".to_owned() }.into_error();
        assert_eq!(error.code(), ErrorCode::InvalidDpopProof);
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        let error = DpopFailure::MissingNonce("n".to_owned()).into_resource_error();
        assert_eq!(error.code(), ErrorCode::UseDpopNonce);
        assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
        let challenge = dpop_challenge(ErrorCode::InvalidDpopProof, ProofError::WrongAth.description());
        assert_eq!(
            challenge,
            "DPoP error=\"invalid_dpop_proof\", error_description=\"the DPoP proof `ath` does not match the access token\", algs=\"ES256 ES384 EdDSA RS256 PS256\""
        );
        assert_eq!(bare_dpop_challenge(), "DPoP algs=\"ES256 ES384 EdDSA RS256 PS256\"");
    }
}

//! Signed request objects (RFC 9101, JAR): the checks of a `request` JWT and the authorization
//! request parameters it carries, as pure functions. Finding the client, fetching a `jwks_uri`
//! and remembering `jti`s is the caller's (`endpoints/request_object.rs`).
//!
//! The order is that of client assertions (`protocol/client_assertion.rs`): the object's form
//! and header first, then its signature by a key of the client (verified by the same
//! `ClientKey`s), then its claims. Only an object that passed all three costs a store write
//! (its `jti`, when it has one).
//!
//! What is checked, and the choices RFC 9101 leaves to the server:
//! - `alg` one of ES256, ES384, EdDSA, PS256, RS256 (never `none`, never an HMAC), and the
//!   client's `request_object_signing_alg` when it registered one (RFC 9101 §10.5);
//! - `typ` `oauth-authz-req+jwt` (RFC 9101 §10.8), or no `typ` at all: request objects of
//!   OpenID Connect Core §6.1 carry none, and the claims below (`iss`, `aud` and a `client_id`
//!   claim) keep another kind of JWT of the client, such as a client assertion, from passing
//!   for one. Any other `typ` is refused;
//! - `iss` the client id, `aud` the issuer identifier, a `client_id` claim equal to the
//!   `client_id` parameter (RFC 9101 §5);
//! - `exp` required and at most [`MAX_LIFETIME`] ahead; `nbf`, when present, not in the future
//!   and at most [`MAX_LIFETIME`] in the past, and `exp - nbf` at most [`MAX_LIFETIME`] (FAPI 2.0
//!   Message Signing §5.3.1: 60 minutes); `iat` not in the future;
//! - `jti` optional; when present, single use (the caller remembers it until `exp`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::model::client::ClientSigningAlgorithm;
use crate::protocol::client_assertion::{
    ClientKey, ClientSigned, Compact, FormRefusal, MAX_JTI_BYTES, SignatureRefusal,
};
use crate::protocol::form::{Form, MAX_PARAMETERS};

/// The media type of a request object (RFC 9101 §10.8), its `typ` header.
pub(crate) const TYP: &str = "oauth-authz-req+jwt";

/// The longest request object accepted, in bytes: well above any authorization request's
/// parameters, and within what a query string or form body carries.
pub(crate) const MAX_REQUEST_OBJECT_BYTES: usize = 16 * 1024;

/// The longest a request object may be valid, in seconds: `exp` at most this far ahead, `nbf` at
/// most this far back, and `exp - nbf` at most this (FAPI 2.0 Message Signing §5.3.1 asks for 60
/// minutes). It also bounds how long a `jti` is remembered.
pub(crate) const MAX_LIFETIME: u64 = 3600;

/// The claims of a JWT (RFC 7519 §4.1) that are not authorization request parameters.
const JWT_CLAIMS: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

/// The parameters attesto reads from an authorization request: in an object they must be
/// strings (`max_age` may be a number, `resource` an array of strings, `claims` an object).
const PARAMETERS: [&str; 18] = [
    "client_id",
    "response_type",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "prompt",
    "max_age",
    "login_hint",
    "acr_values",
    "ui_locales",
    "claims_locales",
    "claims",
    "dpop_jkt",
    "resource",
];

/// Why a request object is refused: each is `invalid_request_object` (RFC 9101 §6.2) with
/// [`description`](Self::description) as its `error_description`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestObjectError {
    /// Longer than [`MAX_REQUEST_OBJECT_BYTES`].
    TooLarge,
    /// Not three base64url parts with a JSON header (an encrypted object has five).
    Malformed,
    /// `crit` in the header (RFC 7515 §4.1.11).
    Critical,
    /// `alg` `none`, or no signature.
    Unsigned,
    /// An HMAC `alg`.
    Hmac,
    /// Another `alg`.
    UnsupportedAlgorithm,
    /// Not the client's `request_object_signing_alg`.
    AlgorithmNotRegistered,
    /// A `typ` other than `oauth-authz-req+jwt`.
    WrongType,
    /// The claims are not a JSON object of the expected member types.
    MalformedClaims,
    /// The client has no key (or none usable).
    NoKeys,
    /// No key of the client has the header's `kid`.
    UnknownKey,
    /// No key of the client verifies the signature.
    BadSignature,
    /// `iss` is not the client id.
    WrongIssuer,
    /// `aud` does not name the issuer.
    WrongAudience,
    /// No `client_id` claim, or one that is not the `client_id` parameter.
    ClientIdMismatch,
    /// No `exp`.
    MissingExpiry,
    /// No `nbf`, where it is required (FAPI 2.0 Message Signing §5.3.2).
    MissingNotBefore,
    /// `exp` has passed.
    Expired,
    /// `exp` more than [`MAX_LIFETIME`] ahead, or more than that after `nbf`.
    LivesTooLong,
    /// `nbf` in the future.
    NotYetValid,
    /// `nbf` more than [`MAX_LIFETIME`] in the past.
    TooOld,
    /// `iat` in the future.
    IssuedInFuture,
    /// A `jti` that is empty or longer than [`MAX_JTI_BYTES`].
    BadJti,
    /// A `request` or `request_uri` claim (RFC 9101 §4: MUST NOT).
    Nested,
    /// A parameter claim of the wrong type.
    BadParameter,
    /// More claims than a form may carry parameters.
    TooManyClaims,
    /// The `jti` was used before.
    Replayed,
}

impl RequestObjectError {
    /// The `error_description`.
    pub(crate) const fn description(self) -> &'static str {
        match self {
            Self::TooLarge => "the request object is larger than 16384 bytes",
            Self::Malformed => "the request object is not a signed JWT (RFC 7515 §7.1 compact serialization)",
            Self::Critical => "the request object's header has a `crit` member this server does not understand",
            Self::Unsigned => "the request object is unsigned (`alg` `none`): it must be signed by a key of the client",
            Self::Hmac => "the request object is signed with an HMAC: sign it with a private key of the client",
            Self::UnsupportedAlgorithm => {
                "the request object's `alg` is not supported: use ES256, ES384, EdDSA, PS256 or RS256"
            }
            Self::AlgorithmNotRegistered => {
                "the request object's `alg` is not the client's registered `request_object_signing_alg`"
            }
            Self::WrongType => "the request object's `typ` must be `oauth-authz-req+jwt` (RFC 9101 §10.8)",
            Self::MalformedClaims => "the request object's claims are not a JSON object of the expected types",
            Self::NoKeys => "the client has no key to verify its request object with",
            Self::UnknownKey => "no key of the client has the request object's `kid`",
            Self::BadSignature => "the request object's signature does not verify with the client's keys",
            Self::WrongIssuer => "the request object's `iss` must be the client id",
            Self::WrongAudience => "the request object's `aud` must be this server's issuer identifier",
            Self::ClientIdMismatch => "the request object's `client_id` claim must equal the `client_id` parameter",
            Self::MissingExpiry => "the request object has no `exp`",
            Self::MissingNotBefore => "the request object has no `nbf`, which this server requires",
            Self::Expired => "the request object has expired",
            Self::LivesTooLong => "the request object's `exp` is more than 60 minutes ahead, or after its `nbf`",
            Self::NotYetValid => "the request object is not valid yet (`nbf`)",
            Self::TooOld => "the request object's `nbf` is more than 60 minutes in the past",
            Self::IssuedInFuture => "the request object's `iat` is in the future",
            Self::BadJti => "the request object's `jti` must be a non-empty string of at most 256 bytes",
            Self::Nested => "a request object must not contain `request` or `request_uri` (RFC 9101 §4)",
            Self::BadParameter => {
                "a parameter claim of the request object has the wrong type: each must be a string (`max_age` a number, `resource` an array of strings, `claims` an object)"
            }
            Self::TooManyClaims => "the request object has too many claims",
            Self::Replayed => "the request object was used before: its `jti` is single-use",
        }
    }
}

/// A request object whose form and header were checked, not yet its signature nor its claims.
#[derive(Debug)]
pub(crate) struct RequestObject<'t> {
    signed: ClientSigned<'t>,
    claims: Map<String, Value>,
}

/// What an accepted request object leaves to the caller: its parameters, and its `jti` to
/// remember until `expires_at` (seconds), if it has one.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub(crate) parameters: Form<'static>,
    pub(crate) jti: Option<(String, u64)>,
}

/// Whether `typ` names the request object media type (RFC 7515 §4.1.9: compared without case,
/// with or without `application/`).
fn is_request_object_type(typ: &str) -> bool {
    let typ = typ.strip_prefix("application/").unwrap_or(typ);
    typ.eq_ignore_ascii_case(TYP)
}

impl<'t> RequestObject<'t> {
    /// Parses `object`: its size, three base64url parts, a JSON header without `crit` whose
    /// `alg` is accepted and whose `typ` (if any) is [`TYP`], and a JSON object of claims.
    pub(crate) fn parse(object: &'t str) -> Result<Self, RequestObjectError> {
        let compact = Compact::parse(object, MAX_REQUEST_OBJECT_BYTES)?;
        if compact.typ.as_deref().is_some_and(|typ| !is_request_object_type(typ)) {
            return Err(RequestObjectError::WrongType);
        }
        let signature = URL_SAFE_NO_PAD.decode(compact.signature_b64).map_err(|_| RequestObjectError::Malformed)?;
        if signature.is_empty() {
            return Err(RequestObjectError::Unsigned);
        }
        let claims_json = URL_SAFE_NO_PAD.decode(compact.claims_b64).map_err(|_| RequestObjectError::Malformed)?;
        let claims: Map<String, Value> =
            serde_json::from_slice(&claims_json).map_err(|_| RequestObjectError::MalformedClaims)?;
        Ok(Self { signed: ClientSigned::new(compact, signature), claims })
    }

    /// Its signature, `alg` and `kid`.
    pub(crate) fn signed(&self) -> &ClientSigned<'t> {
        &self.signed
    }

    /// Verifies the signature with the client's `keys`: the key the `kid` names, or without a
    /// `kid` each key in turn (at most `client_assertion::MAX_KEYS`). The algorithm must be the client's
    /// `request_object_signing_alg`, when it registered one, and one the key fits.
    pub(crate) fn verify_signature(
        &self,
        keys: &[ClientKey],
        registered: Option<ClientSigningAlgorithm>,
    ) -> Result<(), RequestObjectError> {
        Ok(self.signed.verify(keys, registered)?)
    }

    /// Checks the claims of an object whose signature verified, and turns the others into the
    /// authorization request's parameters (RFC 9101 §4, §6.3). `client_id` is the `client_id`
    /// of the request (the parameter at the authorization endpoint, the authenticated client at
    /// PAR); times are checked with `skew` seconds of leeway. `require_nbf` makes `nbf`
    /// required rather than optional (FAPI 2.0 Message Signing §5.3.2).
    pub(crate) fn check_claims(
        self,
        client_id: &str,
        issuer: &str,
        now: u64,
        skew: u64,
        require_nbf: bool,
    ) -> Result<Accepted, RequestObjectError> {
        let claims = self.claims;
        let string = |name: &str| -> Result<Option<&str>, RequestObjectError> {
            match claims.get(name) {
                None => Ok(None),
                Some(Value::String(value)) => Ok(Some(value)),
                Some(_) => Err(RequestObjectError::MalformedClaims),
            }
        };
        let number = |name: &str| -> Result<Option<f64>, RequestObjectError> {
            match claims.get(name) {
                None => Ok(None),
                Some(value) => value.as_f64().map(Some).ok_or(RequestObjectError::MalformedClaims),
            }
        };
        if string("iss")? != Some(client_id) {
            return Err(RequestObjectError::WrongIssuer);
        }
        let audience_ok = match claims.get("aud") {
            Some(Value::String(aud)) => aud == issuer,
            Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(issuer)),
            _ => false,
        };
        if !audience_ok {
            return Err(RequestObjectError::WrongAudience);
        }
        if string("client_id")? != Some(client_id) {
            return Err(RequestObjectError::ClientIdMismatch);
        }
        let (now_f, skew_f, max_f) = (now as f64, skew as f64, MAX_LIFETIME as f64);
        let exp = number("exp")?.ok_or(RequestObjectError::MissingExpiry)?;
        if exp + skew_f <= now_f {
            return Err(RequestObjectError::Expired);
        }
        if exp > now_f + max_f + skew_f {
            return Err(RequestObjectError::LivesTooLong);
        }
        let nbf = number("nbf")?;
        if require_nbf && nbf.is_none() {
            return Err(RequestObjectError::MissingNotBefore);
        }
        if let Some(nbf) = nbf {
            if nbf > now_f + skew_f {
                return Err(RequestObjectError::NotYetValid);
            }
            if nbf + max_f + skew_f < now_f {
                return Err(RequestObjectError::TooOld);
            }
            if exp - nbf > max_f {
                return Err(RequestObjectError::LivesTooLong);
            }
        }
        if number("iat")?.is_some_and(|iat| iat > now_f + skew_f) {
            return Err(RequestObjectError::IssuedInFuture);
        }
        let jti = match string("jti")? {
            None => None,
            Some(jti) if !jti.is_empty() && jti.len() <= MAX_JTI_BYTES => {
                // Remembered for as long as the object would be accepted: `exp` plus the leeway.
                Some((jti.to_owned(), exp.ceil() as u64 + skew))
            }
            Some(_) => return Err(RequestObjectError::BadJti),
        };
        let parameters = parameters(&claims)?;
        Ok(Accepted { parameters, jti })
    }
}

/// The authorization request parameters of an object's claims (RFC 9101 §4): every claim but the
/// JWT ones, strings as they are, a numeric `max_age` as its decimal form, each `resource` of an
/// array, `claims` (OIDC Core §5.5, a JSON object here, RFC 9101 §4) as its JSON text, which the
/// authorization request's checks parse as they parse the parameter sent by value. A claim that
/// no parameter attesto reads has is ignored whatever its type, as an unknown
/// parameter would be (RFC 6749 §3.1); empty strings count as absent, as in a form.
fn parameters(claims: &Map<String, Value>) -> Result<Form<'static>, RequestObjectError> {
    if claims.len() > MAX_PARAMETERS {
        return Err(RequestObjectError::TooManyClaims);
    }
    if claims.contains_key("request") || claims.contains_key("request_uri") {
        return Err(RequestObjectError::Nested);
    }
    let mut pairs: Vec<(String, String)> = Vec::with_capacity(claims.len());
    for (name, value) in claims {
        if JWT_CLAIMS.contains(&name.as_str()) {
            continue;
        }
        let known = PARAMETERS.contains(&name.as_str());
        match value {
            Value::String(value) => pairs.push((name.clone(), value.clone())),
            Value::Number(number) if name == "max_age" => match number.as_u64() {
                Some(seconds) => pairs.push((name.clone(), seconds.to_string())),
                // Refused as the form's `max_age` would be (a non-negative integer).
                None => pairs.push((name.clone(), number.to_string())),
            },
            Value::Object(_) if name == "claims" => pairs.push((name.clone(), value.to_string())),
            Value::Array(values) if name == "resource" && values.len() <= MAX_PARAMETERS => {
                for value in values {
                    let Value::String(value) = value else { return Err(RequestObjectError::BadParameter) };
                    pairs.push((name.clone(), value.clone()));
                }
            }
            _ if known => return Err(RequestObjectError::BadParameter),
            _ => {}
        }
    }
    Ok(Form::from_pairs(pairs))
}

/// The text whose hash keys a request object's `jti` in the store's replay memory
/// (`Store::insert_dpop_jti`), apart from DPoP proofs and client assertions by its prefix, and
/// scoped to its client.
pub(crate) fn replay_key(client_id: &str, jti: &str) -> String {
    format!("request_object:{}:{client_id}:{jti}", client_id.len())
}

impl From<FormRefusal> for RequestObjectError {
    fn from(refusal: FormRefusal) -> Self {
        match refusal {
            FormRefusal::TooLarge => Self::TooLarge,
            FormRefusal::Malformed => Self::Malformed,
            FormRefusal::Critical => Self::Critical,
            FormRefusal::Unsigned => Self::Unsigned,
            FormRefusal::Hmac => Self::Hmac,
            FormRefusal::UnsupportedAlgorithm => Self::UnsupportedAlgorithm,
        }
    }
}

impl From<SignatureRefusal> for RequestObjectError {
    fn from(refusal: SignatureRefusal) -> Self {
        match refusal {
            SignatureRefusal::AlgorithmNotRegistered => Self::AlgorithmNotRegistered,
            SignatureRefusal::NoKeys => Self::NoKeys,
            SignatureRefusal::UnknownKey => Self::UnknownKey,
            SignatureRefusal::BadSignature => Self::BadSignature,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn unsigned(header: &Value, claims: &Value) -> String {
        format!("{}.{}.c2ln", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()))
    }

    fn claims(changes: &Value) -> Value {
        let mut claims = json!({
            "iss": "app", "aud": "https://as.example", "client_id": "app", "exp": 1_000_600,
            "response_type": "code", "state": "s",
        });
        for (name, value) in changes.as_object().into_iter().flatten() {
            if value.is_null() {
                claims.as_object_mut().map(|claims| claims.remove(name));
            } else {
                claims[name] = value.clone();
            }
        }
        claims
    }

    fn check(changes: &Value) -> Result<Accepted, RequestObjectError> {
        let object = unsigned(&json!({"alg": "ES256"}), &claims(changes));
        RequestObject::parse(&object)?.check_claims("app", "https://as.example", 1_000_000, 30, false)
    }

    #[test]
    fn nbf_can_be_required() {
        let without = unsigned(&json!({"alg": "ES256"}), &claims(&json!({"nbf": null})));
        let parsed = RequestObject::parse(&without).expect("parses");
        let refused = parsed.check_claims("app", "https://as.example", 1_000_000, 30, true);
        assert_eq!(refused.err(), Some(RequestObjectError::MissingNotBefore));
        let with = unsigned(&json!({"alg": "ES256"}), &claims(&json!({"nbf": 1_000_000})));
        let parsed = RequestObject::parse(&with).expect("parses");
        assert!(parsed.check_claims("app", "https://as.example", 1_000_000, 30, true).is_ok());
    }

    #[test]
    fn headers() {
        let claims = claims(&json!({}));
        let cases = [
            (json!({"alg": "none"}), Err(RequestObjectError::Unsigned)),
            (json!({"alg": "HS256"}), Err(RequestObjectError::Hmac)),
            (json!({"alg": "ES512"}), Err(RequestObjectError::UnsupportedAlgorithm)),
            (json!({"typ": TYP}), Err(RequestObjectError::Malformed)),
            (json!({"alg": "ES256", "crit": ["x"]}), Err(RequestObjectError::Critical)),
            (json!({"alg": "ES256", "typ": "JWT"}), Err(RequestObjectError::WrongType)),
            (json!({"alg": "ES256", "typ": "application/OAuth-Authz-Req+JWT"}), Ok(())),
            (json!({"alg": "ES256", "typ": TYP}), Ok(())),
            (json!({"alg": "ES256"}), Ok(())),
        ];
        for (header, expected) in cases {
            let object = unsigned(&header, &claims);
            assert_eq!(RequestObject::parse(&object).map(|_| ()), expected, "{header}");
        }
        assert_eq!(RequestObject::parse("a.b").map(|_| ()), Err(RequestObjectError::Malformed));
        let too_large = "a".repeat(MAX_REQUEST_OBJECT_BYTES + 1);
        assert_eq!(RequestObject::parse(&too_large).map(|_| ()), Err(RequestObjectError::TooLarge));
        let empty_signature = unsigned(&json!({"alg": "ES256"}), &claims).replace(".c2ln", ".");
        assert_eq!(RequestObject::parse(&empty_signature).map(|_| ()), Err(RequestObjectError::Unsigned));
    }

    #[test]
    fn claims_are_checked() {
        use RequestObjectError as E;
        let cases = [
            (json!({"iss": "other"}), Some(E::WrongIssuer)),
            (json!({"iss": null}), Some(E::WrongIssuer)),
            (json!({"aud": "https://other.example"}), Some(E::WrongAudience)),
            (json!({"aud": ["https://other.example", "https://as.example"]}), None),
            (json!({"client_id": "other"}), Some(E::ClientIdMismatch)),
            (json!({"client_id": null}), Some(E::ClientIdMismatch)),
            (json!({"exp": null}), Some(E::MissingExpiry)),
            (json!({"exp": 999_970}), Some(E::Expired)),
            (json!({"exp": 1_003_631}), Some(E::LivesTooLong)),
            (json!({"exp": 1_003_630}), None),
            (json!({"nbf": 1_000_031}), Some(E::NotYetValid)),
            (json!({"nbf": 996_369}), Some(E::TooOld)),
            (json!({"nbf": 996_600, "exp": 1_000_300}), Some(E::LivesTooLong)),
            (json!({"nbf": 999_000}), None),
            (json!({"iat": 1_000_031}), Some(E::IssuedInFuture)),
            (json!({"jti": ""}), Some(E::BadJti)),
            (json!({"jti": 7}), Some(E::MalformedClaims)),
            (json!({"request": "x"}), Some(E::Nested)),
            (json!({"request_uri": "urn:x"}), Some(E::Nested)),
            (json!({"scope": ["a"]}), Some(E::BadParameter)),
            (json!({"resource": [1]}), Some(E::BadParameter)),
            (json!({"ui_locales": ["en"]}), Some(E::BadParameter)),
            (json!({"claims": {"userinfo": {}}}), None),
            (json!({"claims": ["email"]}), Some(E::BadParameter)),
            (json!({"claims": 1}), Some(E::BadParameter)),
        ];
        for (changes, expected) in cases {
            assert_eq!(check(&changes).err(), expected, "{changes}");
        }
    }

    #[test]
    fn parameters_come_from_the_claims() {
        let accepted = check(&json!({
            "max_age": 60, "resource": ["https://a.example", "https://b.example"], "jti": "j1", "sub": "x",
            "nonce": "", "ui_locales": "de-CH fr", "claims_locales": "en",
            "claims": {"id_token": {"email": null}},
        }))
        .expect("accepted");
        let form = &accepted.parameters;
        assert_eq!(form.get("max_age"), Some("60"));
        assert_eq!((form.get("ui_locales"), form.get("claims_locales")), (Some("de-CH fr"), Some("en")));
        assert_eq!(form.get("claims"), Some(r#"{"id_token":{"email":null}}"#));
        assert_eq!(form.all("resource").collect::<Vec<_>>(), ["https://a.example", "https://b.example"]);
        assert_eq!((form.get("client_id"), form.get("state")), (Some("app"), Some("s")));
        assert_eq!((form.get("iss"), form.get("sub"), form.get("jti"), form.get("nonce")), (None, None, None, None));
        assert_eq!(accepted.jti, Some(("j1".to_owned(), 1_000_630)));
        assert_eq!(replay_key("app", "j1"), "request_object:3:app:j1");
    }
}

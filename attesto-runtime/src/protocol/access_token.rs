//! JWT access tokens (RFC 9068): the claims attesto signs, from one description of the token.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::keys::{Key, KeyError};
use crate::model::principal::AuthenticatedPrincipal;
use crate::protocol::jwt;

/// Claims attesto sets itself; host claims never overwrite them (RFC 9068 §2.2). `grant_id` is
/// attesto's too: a host claim of that name would name a grant (and so a revocation) the token
/// was not issued under, or slip a token out of its own grant's revocation.
///
/// `auth_time` among them: its presence is what tells a user's token from a client's own (see
/// `guard::TokenKind`), so a host's claims never add it to a `client_credentials` token. `acr`
/// and `amr` too: a resource decides on them (RFC 9470, `Guard::require_acr`), so they say how
/// the user signed in, as the host reported it at the sign-in, and nothing else.
pub(crate) const REGISTERED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "client_id",
    "scope",
    "cnf",
    "grant_id",
    "auth_time",
    "acr",
    "amr",
];

/// Whom an access token is for.
#[derive(Clone, Copy)]
pub(crate) enum Subject<'a> {
    /// A user who signed in: `sub`, `auth_time`, `acr` and `amr` are the sign-in's.
    User(&'a AuthenticatedPrincipal),
    /// The client itself (`client_credentials`): `sub` names it, and there is no `auth_time`.
    Client(&'a str),
}

/// Everything an access token says. One signature, no store write.
#[derive(Clone, Copy)]
pub(crate) struct AccessToken<'a> {
    /// `iss`.
    pub(crate) issuer: &'a str,
    /// Whom the token is for: `sub`, and `auth_time` for a user.
    pub(crate) subject: Subject<'a>,
    /// `client_id` (RFC 9068 §2.2).
    pub(crate) client_id: &'a str,
    /// `scope`, space-separated; left out when empty.
    pub(crate) scope: &'a str,
    /// `aud`: a string for one, an array for several (RFC 7519 §4.1.3).
    pub(crate) audience: &'a [String],
    /// `jti`.
    pub(crate) jti: &'a str,
    /// The grant the token belongs to, which revokes it with the grant.
    pub(crate) grant_id: Option<&'a str>,
    /// The thumbprint of the DPoP key the token is bound to (RFC 9449 §6.1).
    pub(crate) jkt: Option<&'a str>,
    /// The host's claims; those of [`REGISTERED_CLAIMS`] are dropped.
    pub(crate) extra: &'a Map<String, Value>,
    /// `iat`, Unix seconds.
    pub(crate) now: u64,
    /// Lifetime in seconds: `exp` is `now + ttl`.
    pub(crate) ttl: u64,
}

impl AccessToken<'_> {
    /// The `sub` of the token.
    pub(crate) fn subject(&self) -> &str {
        match self.subject {
            Subject::User(user) => &user.subject,
            Subject::Client(subject) => subject,
        }
    }
}

/// Signs the token with `key`, as an `at+jwt` (RFC 9068 §2.1).
pub(crate) fn mint(key: &Key, token: &AccessToken<'_>) -> Result<String, KeyError> {
    let filtered: Map<String, Value>;
    let extra = if token.extra.keys().any(|k| REGISTERED_CLAIMS.contains(&k.as_str())) {
        filtered = token
            .extra
            .iter()
            .filter(|(k, _)| !REGISTERED_CLAIMS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        &filtered
    } else {
        token.extra
    };
    // RFC 9068 §2.2.1: the sign-in's time, class and methods, in a token a user authorized;
    // a refreshed token keeps those of the original sign-in (the refresh family holds them).
    let (auth_time, acr, amr) = match token.subject {
        Subject::User(user) => (Some(jwt::unix_seconds(user.auth_time)), user.acr.as_deref(), user.amr.as_slice()),
        Subject::Client(_) => (None, None, &[][..]),
    };
    let claims = Claims {
        iss: token.issuer,
        sub: token.subject(),
        aud: match token.audience {
            [one] => Audience::One(one),
            many => Audience::Many(many),
        },
        exp: token.now + token.ttl,
        iat: token.now,
        jti: token.jti,
        client_id: token.client_id,
        scope: token.scope,
        cnf: token.jkt.map(|jkt| Confirmation { jkt }),
        grant_id: token.grant_id,
        auth_time,
        acr,
        amr,
        extra,
    };
    jwt::encode(key, jwt::ACCESS_TOKEN_TYP, &claims)
}

/// One audience is a string, several an array (RFC 7519 §4.1.3).
#[derive(Serialize)]
#[serde(untagged)]
enum Audience<'a> {
    One(&'a str),
    Many(&'a [String]),
}

/// The claims of a JWT access token (RFC 9068 §2.2).
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: Audience<'a>,
    exp: u64,
    iat: u64,
    jti: &'a str,
    client_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    scope: &'a str,
    /// RFC 9449 §6.1: the thumbprint of the key a DPoP-bound token is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<Confirmation<'a>>,
    /// The grant (refresh family) the token was issued under, so that revoking the grant revokes
    /// the token (RFC 7009 §2.1, see `revoked::grant_id`); none for a token without a family.
    #[serde(skip_serializing_if = "Option::is_none")]
    grant_id: Option<&'a str>,
    /// RFC 9068 §2.2.1: when the user signed in; only in a token a user authorized.
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<u64>,
    /// RFC 9068 §2.2.1: the authentication context class of the sign-in, when the host named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<&'a str>,
    /// RFC 9068 §2.2.1: the authentication methods of the sign-in, when the host named them.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    amr: &'a [String],
    #[serde(flatten)]
    extra: &'a Map<String, Value>,
}

/// The `cnf` claim of a DPoP-bound access token (RFC 7800 §3.1, RFC 9449 §6.1).
#[derive(Serialize)]
struct Confirmation<'a> {
    jkt: &'a str,
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    fn claims_of(token: &str) -> Map<String, Value> {
        use base64::Engine as _;
        let payload = token.split('.').nth(1).expect("three parts");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url");
        serde_json::from_slice(&bytes).expect("JSON claims")
    }

    #[test]
    fn claims_follow_rfc_9068_and_host_claims_cannot_overwrite_them() {
        let key = Key::generate(crate::keys::Algorithm::ES256).expect("a key");
        let user = AuthenticatedPrincipal::new("ann", SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
            .with_acr("urn:example:mfa")
            .with_amr(["pwd", "otp"]);
        let mut extra = Map::new();
        for name in REGISTERED_CLAIMS {
            extra.insert((*name).to_owned(), Value::from("forged"));
        }
        extra.insert("tenant".to_owned(), Value::from("t1"));
        let audience = ["https://rs.example".to_owned()];
        let token = AccessToken {
            issuer: "https://as.example",
            subject: Subject::User(&user),
            client_id: "app",
            scope: "read write",
            audience: &audience,
            jti: "j1",
            grant_id: Some("g1"),
            jkt: Some("thumb"),
            extra: &extra,
            now: 1_700_000_100,
            ttl: 600,
        };
        let claims = claims_of(&mint(&key, &token).expect("signed"));
        let expected = serde_json::json!({
            "iss": "https://as.example", "sub": "ann", "aud": "https://rs.example", "exp": 1_700_000_700,
            "iat": 1_700_000_100, "jti": "j1", "client_id": "app", "scope": "read write",
            "cnf": {"jkt": "thumb"}, "grant_id": "g1", "auth_time": 1_700_000_000, "acr": "urn:example:mfa",
            "amr": ["pwd", "otp"], "tenant": "t1",
        });
        assert_eq!(Value::Object(claims), expected);
    }

    #[test]
    fn a_client_token_has_no_auth_time_and_several_audiences_are_an_array() {
        let key = Key::generate(crate::keys::Algorithm::ES256).expect("a key");
        let audience = ["https://a.example".to_owned(), "https://b.example".to_owned()];
        let extra = Map::new();
        let token = AccessToken {
            issuer: "https://as.example",
            subject: Subject::Client("svc"),
            client_id: "svc",
            scope: "",
            audience: &audience,
            jti: "j2",
            grant_id: None,
            jkt: None,
            extra: &extra,
            now: 10,
            ttl: 5,
        };
        let claims = claims_of(&mint(&key, &token).expect("signed"));
        let expected = serde_json::json!({
            "iss": "https://as.example", "sub": "svc", "aud": ["https://a.example", "https://b.example"],
            "exp": 15, "iat": 10, "jti": "j2", "client_id": "svc",
        });
        assert_eq!(Value::Object(claims), expected);
    }
}

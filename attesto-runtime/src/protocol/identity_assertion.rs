//! The Identity Assertion JWT Authorization Grant (ID-JAG,
//! draft-ietf-oauth-identity-assertion-authz-grant) as pure checks of its claims, once its
//! signature verified: what RFC 7523 §3 and the processing rules of the draft's access token
//! request require of the JWT.

use serde_json::{Map, Value};

/// `typ` of an identity assertion (the draft's media type, RFC 8725 §3.11).
pub(crate) const ID_JAG_TYP: &str = "oauth-id-jag+jwt";

/// The longest lifetime accepted, from now to `exp`: an identity assertion is meant to be
/// short-lived (the draft's examples live minutes), and every `jti` is remembered until its
/// assertion expires.
pub(crate) const MAX_LIFETIME: u64 = 60 * 60;

/// The checked claims of an assertion.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct AssertionClaims<'a> {
    /// `iss`, a trusted issuer (checked by the caller, who found its key by it).
    pub(crate) issuer: &'a str,
    /// `sub`, the user at the issuer.
    pub(crate) subject: &'a str,
    /// `jti`, for the single use of the assertion.
    pub(crate) jti: &'a str,
    /// `exp`, Unix seconds.
    pub(crate) expires_at: u64,
    /// When the user signed in at the issuer: `auth_time`, else `iat`.
    pub(crate) auth_time: u64,
    /// `resource` (RFC 8707 §2), the resource the token is for.
    pub(crate) resource: Option<&'a str>,
    /// `scope`, space-separated.
    pub(crate) scope: &'a str,
}

/// What the claims are checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expected<'a> {
    /// This authorization server's issuer identifier, the one `aud` (the draft's processing rules).
    pub(crate) audience: &'a str,
    /// The authenticated client, which `client_id` must name (the draft's processing rules).
    pub(crate) client_id: &'a str,
    /// Now, Unix seconds.
    pub(crate) now: u64,
    /// The leeway for clocks that disagree, seconds.
    pub(crate) skew: u64,
}

fn string<'a>(claims: &'a Map<String, Value>, name: &str, missing: &'static str) -> Result<&'a str, &'static str> {
    claims.get(name).and_then(Value::as_str).filter(|value| !value.is_empty()).ok_or(missing)
}

fn seconds(claims: &Map<String, Value>, name: &str, missing: &'static str) -> Result<u64, &'static str> {
    claims.get(name).and_then(Value::as_u64).ok_or(missing)
}

/// Checks the claims of a verified assertion (RFC 7523 §3, the draft's processing rules). The error is the
/// `error_description` of the `invalid_grant` refusal.
pub(crate) fn check_claims<'a>(
    claims: &'a Map<String, Value>,
    expected: &Expected<'_>,
) -> Result<AssertionClaims<'a>, &'static str> {
    let issuer = string(claims, "iss", "the assertion has no `iss`")?;
    let subject = string(claims, "sub", "the assertion has no `sub`")?;
    // RFC 7523 §3: the authorization server must be an audience; the draft's `aud` is its issuer
    // identifier, and nothing else (RFC 7523bis: its sole audience), compared as strings.
    let audience_ok = match claims.get("aud") {
        Some(Value::String(aud)) => aud == expected.audience,
        Some(Value::Array(auds)) => matches!(auds.as_slice(), [Value::String(aud)] if aud == expected.audience),
        _ => false,
    };
    if !audience_ok {
        return Err("the assertion's `aud` is not this authorization server's issuer");
    }
    let client_id = string(claims, "client_id", "the assertion has no `client_id`")?;
    if client_id != expected.client_id {
        return Err("the assertion was issued for another client (`client_id`)");
    }
    let expires_at = seconds(claims, "exp", "the assertion has no `exp`")?;
    if expires_at.saturating_add(expected.skew) <= expected.now {
        return Err("the assertion has expired");
    }
    let issued_at = seconds(claims, "iat", "the assertion has no `iat`")?;
    if issued_at > expected.now.saturating_add(expected.skew) {
        return Err("the assertion's `iat` is in the future");
    }
    if expires_at > expected.now.saturating_add(MAX_LIFETIME + expected.skew) {
        return Err("the assertion expires more than an hour from now");
    }
    // RFC 7523 §3 item 7 lets the server refuse a `jti` it saw; it needs one to see.
    let jti = string(claims, "jti", "the assertion has no `jti`")?;
    let resource = match claims.get("resource") {
        None => None,
        Some(Value::String(resource)) => Some(resource.as_str()),
        Some(_) => return Err("the assertion's `resource` is not one string"),
    };
    let scope = match claims.get("scope") {
        None => "",
        Some(Value::String(scope)) => scope.as_str(),
        Some(_) => return Err("the assertion's `scope` is not a string"),
    };
    let auth_time = match claims.get("auth_time") {
        None => issued_at,
        Some(value) => value.as_u64().ok_or("the assertion's `auth_time` is not a number")?,
    };
    Ok(AssertionClaims { issuer, subject, jti, expires_at, auth_time, resource, scope })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn expected() -> Expected<'static> {
        Expected { audience: "https://as.example", client_id: "app", now: NOW, skew: 30 }
    }

    fn valid() -> Map<String, Value> {
        let claims = json!({
            "iss": "https://idp.example", "sub": "U1", "aud": "https://as.example", "client_id": "app",
            "exp": NOW + 300, "iat": NOW - 10, "jti": "j1", "resource": "https://mcp.example/mcp",
            "scope": "read write",
        });
        match claims {
            Value::Object(map) => map,
            _ => unreachable!("an object"),
        }
    }

    fn refused(change: impl FnOnce(&mut Map<String, Value>)) -> &'static str {
        let mut claims = valid();
        change(&mut claims);
        check_claims(&claims, &expected()).expect_err("refused")
    }

    #[test]
    fn a_valid_assertion_gives_its_claims() {
        let claims = valid();
        let checked = check_claims(&claims, &expected()).expect("valid");
        assert_eq!(
            checked,
            AssertionClaims {
                issuer: "https://idp.example",
                subject: "U1",
                jti: "j1",
                expires_at: NOW + 300,
                auth_time: NOW - 10,
                resource: Some("https://mcp.example/mcp"),
                scope: "read write",
            }
        );
        let mut one_audience = valid();
        one_audience.insert("aud".to_owned(), json!(["https://as.example"]));
        assert!(check_claims(&one_audience, &expected()).is_ok());
    }

    #[test]
    fn every_claim_rule_refuses_with_its_reason() {
        let aud = "the assertion's `aud` is not this authorization server's issuer";
        assert_eq!(refused(|c| drop(c.insert("aud".into(), json!("https://other.example")))), aud);
        assert_eq!(refused(|c| drop(c.insert("aud".into(), json!(["https://as.example", "x"])))), aud);
        assert_eq!(refused(|c| drop(c.remove("aud"))), aud);
        assert_eq!(
            refused(|c| drop(c.insert("client_id".into(), json!("other")))),
            "the assertion was issued for another client (`client_id`)"
        );
        assert_eq!(refused(|c| drop(c.insert("exp".into(), json!(NOW - 31)))), "the assertion has expired");
        assert_eq!(
            refused(|c| drop(c.insert("iat".into(), json!(NOW + 31)))),
            "the assertion's `iat` is in the future"
        );
        assert_eq!(
            refused(|c| drop(c.insert("exp".into(), json!(NOW + 2 * MAX_LIFETIME)))),
            "the assertion expires more than an hour from now"
        );
        assert_eq!(refused(|c| drop(c.remove("jti"))), "the assertion has no `jti`");
        assert_eq!(refused(|c| drop(c.remove("sub"))), "the assertion has no `sub`");
        assert_eq!(refused(|c| drop(c.remove("iss"))), "the assertion has no `iss`");
        assert_eq!(refused(|c| drop(c.remove("exp"))), "the assertion has no `exp`");
        assert_eq!(refused(|c| drop(c.remove("iat"))), "the assertion has no `iat`");
        assert_eq!(
            refused(|c| drop(c.insert("resource".into(), json!(["a", "b"])))),
            "the assertion's `resource` is not one string"
        );
        // Within the skew, a just-expired assertion still passes.
        let mut skewed = valid();
        skewed.insert("exp".into(), json!(NOW - 5));
        assert!(check_claims(&skewed, &expected()).is_ok());
    }
}

//! The OpenID Connect `claims` request parameter (OIDC Core §5.5): parsing, with its bounds, and
//! the two requests in it that attesto acts on itself — an `acr` (§5.5.1.1) and a `sub` with a
//! value (§3.1.2.2, §5.5.1).
//!
//! By value (at the authorization and PAR endpoints) the parameter is a URL-encoded JSON string;
//! in a request object (RFC 9101) it is a JSON object, which `request_object.rs` writes back as
//! its JSON text, so that both come through [`parse`].

use serde_json::{Map, Value};

use crate::model::claims::{ClaimRequest, ClaimsRequest, RequestedClaims};

/// Longest accepted `claims` value, in bytes of JSON: room for every standard claim of OIDC Core
/// §5.1 requested with values, and a bound on what one request makes attesto keep (with the
/// pending request, the code, the refresh family and the grant).
pub(crate) const MAX_CLAIMS_LEN: usize = 8 * 1024;

/// Most claims requested in one member (`userinfo` or `id_token`): OIDC Core §5.1 defines about
/// twenty, and a host's own claims come on top.
pub(crate) const MAX_CLAIMS_PER_MEMBER: usize = 64;

/// Longest claim name, in bytes: claim names are short (OIDC Core §5.1.2 collision-resistant
/// names are URIs, still well under this).
pub(crate) const MAX_CLAIM_NAME_LEN: usize = 256;

/// Parses a `claims` value (§5.5). Unknown top-level members and unknown members of a claim's
/// request are ignored (§5.5: "members that are not understood MUST be ignored"); anything of
/// the wrong JSON type is refused, with the description of an `invalid_request`.
pub(crate) fn parse(value: &str) -> Result<ClaimsRequest, &'static str> {
    if value.len() > MAX_CLAIMS_LEN {
        return Err("`claims` is too long");
    }
    let json: Value = serde_json::from_str(value).map_err(|_| "`claims` is not valid JSON")?;
    let Value::Object(members) = json else {
        return Err("`claims` must be a JSON object");
    };
    let userinfo = member(&members, Member::Userinfo)?;
    let id_token = member(&members, Member::IdToken)?;
    Ok(ClaimsRequest::new(userinfo, id_token))
}

/// The two members of §5.5 that attesto reads.
#[derive(Clone, Copy)]
enum Member {
    Userinfo,
    IdToken,
}

impl Member {
    const fn name(self) -> &'static str {
        match self {
            Self::Userinfo => "userinfo",
            Self::IdToken => "id_token",
        }
    }

    const fn not_an_object(self) -> &'static str {
        match self {
            Self::Userinfo => "`claims.userinfo` must be a JSON object",
            Self::IdToken => "`claims.id_token` must be a JSON object",
        }
    }

    const fn too_many(self) -> &'static str {
        match self {
            Self::Userinfo => "`claims.userinfo` requests too many claims",
            Self::IdToken => "`claims.id_token` requests too many claims",
        }
    }
}

fn member(members: &Map<String, Value>, member: Member) -> Result<Option<RequestedClaims>, &'static str> {
    let claims = match members.get(member.name()) {
        None => return Ok(None),
        Some(Value::Object(claims)) => claims,
        Some(_) => return Err(member.not_an_object()),
    };
    if claims.len() > MAX_CLAIMS_PER_MEMBER {
        return Err(member.too_many());
    }
    let mut requested = Vec::with_capacity(claims.len());
    for (name, request) in claims {
        if name.is_empty() || name.len() > MAX_CLAIM_NAME_LEN {
            return Err("a claim name in `claims` is empty or too long");
        }
        requested.push((name.clone(), claim_request(request)?));
    }
    Ok(Some(RequestedClaims::new(requested)))
}

/// One claim's request (§5.5.1): `null`, or an object whose `essential` is a boolean and whose
/// `values` is an array. A `null` member counts as absent, as JSON members usually do.
fn claim_request(request: &Value) -> Result<ClaimRequest, &'static str> {
    let request = match request {
        Value::Null => return Ok(ClaimRequest::default()),
        Value::Object(request) => request,
        _ => return Err("a claim's request in `claims` must be null or a JSON object"),
    };
    let essential = match request.get("essential") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(essential)) => *essential,
        Some(_) => return Err("`essential` in `claims` must be a boolean"),
    };
    let value = request.get("value").filter(|value| !value.is_null()).cloned();
    let values = match request.get("values") {
        None | Some(Value::Null) => None,
        Some(Value::Array(values)) => Some(values.clone()),
        Some(_) => return Err("`values` in `claims` must be an array"),
    };
    Ok(ClaimRequest { essential, value, values })
}

/// The names of the claims requested in either member, sorted, each once: what a consent page
/// lists (OIDC Core §5.5).
pub(crate) fn requested_names(claims: &ClaimsRequest) -> Vec<&str> {
    let mut names: Vec<&str> =
        [claims.id_token.as_ref(), claims.userinfo.as_ref()].into_iter().flatten().flat_map(|c| c.names()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The authentication context classes requested through `claims` for the ID token's `acr`
/// (§5.5.1.1): its `value`, then its `values`, the strings among them, and whether the request
/// is essential. `None` when `acr` is not requested with a value.
pub(crate) fn requested_acr(claims: Option<&ClaimsRequest>) -> Option<(bool, Vec<&str>)> {
    let request = claims?.id_token.as_ref()?.get("acr")?;
    let classes: Vec<&str> = request
        .value
        .iter()
        .chain(request.values.iter().flatten())
        .filter_map(Value::as_str)
        .filter(|class| !class.is_empty())
        .collect();
    (!classes.is_empty()).then_some((request.essential, classes))
}

/// The `acr_values` the host's login hears (OIDC Core §3.1.2.1): the classes requested through
/// `claims` for `acr` (§5.5.1.1, which asks the same of the sign-in, essential or not) first, then
/// those of the `acr_values` parameter, each once, space-separated. `None` when neither asks.
pub(crate) fn acr_values(acr_values: Option<&str>, claims: Option<&ClaimsRequest>) -> Option<String> {
    let mut classes: Vec<&str> = requested_acr(claims).map(|(_, classes)| classes).unwrap_or_default();
    for class in acr_values.unwrap_or_default().split(' ').filter(|class| !class.is_empty()) {
        if !classes.contains(&class) {
            classes.push(class);
        }
    }
    // A class holding a space could not be told apart in the list; it cannot be met anyway.
    classes.retain(|class| !class.contains(' '));
    (!classes.is_empty()).then(|| classes.join(" "))
}

/// Whether the sign-in fails an essential `acr` request (§5.5.1.1: "If this is an Essential
/// Claim and the requirement cannot be met, then the Authorization Server MUST treat that outcome
/// as a failed authentication attempt"): `acr` requested as essential with values, and the
/// sign-in's class (`acr`) not one of them.
pub(crate) fn essential_acr_unmet(claims: Option<&ClaimsRequest>, acr: Option<&str>) -> bool {
    match requested_acr(claims) {
        Some((true, classes)) => acr.is_none_or(|acr| !classes.contains(&acr)),
        _ => false,
    }
}

/// Whether the client asked for a particular subject that is not `subject` (§3.1.2.2, §5.5.1:
/// with `sub` requested with a value, the server "MUST NOT reply with an ID Token or Access Token
/// for a different user"), in either member.
pub(crate) fn asks_for_another_subject(claims: Option<&ClaimsRequest>, subject: &str) -> bool {
    let Some(claims) = claims else { return false };
    [claims.id_token.as_ref(), claims.userinfo.as_ref()]
        .into_iter()
        .flatten()
        .filter_map(|requested| requested.value("sub"))
        .any(|wanted| wanted.as_str() != Some(subject))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn refusals_are_precise() {
        let many: String = format!(
            "{{\"id_token\":{{{}}}}}",
            (0..=MAX_CLAIMS_PER_MEMBER).map(|i| format!("\"c{i}\":null")).collect::<Vec<_>>().join(",")
        );
        let long_name = format!("{{\"userinfo\":{{\"{}\":null}}}}", "n".repeat(MAX_CLAIM_NAME_LEN + 1));
        let too_long = format!("{{\"userinfo\":{{\"name\":{{\"value\":\"{}\"}}}}}}", "v".repeat(MAX_CLAIMS_LEN));
        let cases: &[(&str, &str)] = &[
            ("", "`claims` is not valid JSON"),
            ("{", "`claims` is not valid JSON"),
            ("userinfo", "`claims` is not valid JSON"),
            ("[]", "`claims` must be a JSON object"),
            ("\"x\"", "`claims` must be a JSON object"),
            ("null", "`claims` must be a JSON object"),
            (r#"{"userinfo":[]}"#, "`claims.userinfo` must be a JSON object"),
            (r#"{"userinfo":null}"#, "`claims.userinfo` must be a JSON object"),
            (r#"{"id_token":"email"}"#, "`claims.id_token` must be a JSON object"),
            (r#"{"id_token":{"email":true}}"#, "a claim's request in `claims` must be null or a JSON object"),
            (r#"{"userinfo":{"email":[]}}"#, "a claim's request in `claims` must be null or a JSON object"),
            (r#"{"id_token":{"email":{"essential":"yes"}}}"#, "`essential` in `claims` must be a boolean"),
            (r#"{"id_token":{"acr":{"values":"a"}}}"#, "`values` in `claims` must be an array"),
            (r#"{"userinfo":{"":null}}"#, "a claim name in `claims` is empty or too long"),
            (&long_name, "a claim name in `claims` is empty or too long"),
            (&many, "`claims.id_token` requests too many claims"),
            (&too_long, "`claims` is too long"),
        ];
        for (value, description) in cases {
            assert_eq!(parse(value), Err(*description), "{value}");
        }
    }

    #[test]
    fn good_requests_are_read_and_unknown_members_ignored() {
        let parsed = parse(
            r#"{"userinfo":{"name":null,"email":{"essential":true},"x":{"unknown":1}},
                "id_token":{"acr":{"essential":true,"values":["a","b"]},"sub":{"value":"ann"},"auth_time":{"essential":null}},
                "other":[1]}"#,
        )
        .expect("parses");
        let userinfo = parsed.userinfo.as_ref().expect("userinfo");
        assert_eq!(userinfo.names().collect::<Vec<_>>(), ["email", "name", "x"]);
        assert!(userinfo.is_essential("email") && !userinfo.is_essential("name"));
        let id_token = parsed.id_token.as_ref().expect("id_token");
        assert_eq!(id_token.values("acr"), Some(&[json!("a"), json!("b")][..]));
        assert_eq!(id_token.value("sub"), Some(&json!("ann")));
        assert!(!id_token.is_essential("auth_time") && id_token.contains("auth_time"));
        assert_eq!(requested_names(&parsed), ["acr", "auth_time", "email", "name", "sub", "x"]);
        assert_eq!(parse("{}"), Ok(ClaimsRequest::default()));
        let only_id_token = parse(r#"{"id_token":{}}"#).expect("parses");
        assert_eq!((only_id_token.userinfo.is_none(), only_id_token.id_token.map(|c| c.len())), (true, Some(0)));
        let max = format!(
            "{{\"id_token\":{{{}}}}}",
            (0..MAX_CLAIMS_PER_MEMBER).map(|i| format!("\"c{i}\":null")).collect::<Vec<_>>().join(",")
        );
        assert_eq!(parse(&max).map(|c| c.id_token.map(|c| c.len())), Ok(Some(MAX_CLAIMS_PER_MEMBER)));
    }

    #[test]
    fn acr_requests_merge_with_acr_values() {
        let claims = |value: &str| parse(value).expect("parses");
        let essential = claims(r#"{"id_token":{"acr":{"essential":true,"values":["urn:mfa","urn:pwd"]}}}"#);
        let voluntary = claims(r#"{"id_token":{"acr":{"value":"urn:mfa"}}}"#);
        let at_userinfo = claims(r#"{"userinfo":{"acr":{"essential":true,"values":["urn:mfa"]}}}"#);
        let cases: &[(Option<&str>, Option<&ClaimsRequest>, Option<&str>)] = &[
            (None, None, None),
            (Some("urn:pwd"), None, Some("urn:pwd")),
            (Some("urn:pwd urn:x"), Some(&essential), Some("urn:mfa urn:pwd urn:x")),
            (None, Some(&voluntary), Some("urn:mfa")),
            (Some("urn:x"), Some(&at_userinfo), Some("urn:x")),
        ];
        for (acr, claims, expected) in cases {
            assert_eq!(acr_values(*acr, *claims).as_deref(), *expected, "{acr:?} {claims:?}");
        }
        assert!(essential_acr_unmet(Some(&essential), None));
        assert!(essential_acr_unmet(Some(&essential), Some("urn:x")));
        assert!(!essential_acr_unmet(Some(&essential), Some("urn:pwd")));
        assert!(!essential_acr_unmet(Some(&voluntary), Some("urn:x")), "a voluntary request is a wish");
        assert!(!essential_acr_unmet(None, None));
        let no_values = claims(r#"{"id_token":{"acr":{"essential":true}}}"#);
        assert!(!essential_acr_unmet(Some(&no_values), None), "essential, with no class named");
    }

    #[test]
    fn a_requested_subject_must_be_the_user() {
        let claims = |value: &str| parse(value).expect("parses");
        assert!(!asks_for_another_subject(None, "ann"));
        assert!(!asks_for_another_subject(Some(&claims(r#"{"id_token":{"sub":null}}"#)), "ann"));
        assert!(!asks_for_another_subject(Some(&claims(r#"{"id_token":{"sub":{"value":"ann"}}}"#)), "ann"));
        assert!(asks_for_another_subject(Some(&claims(r#"{"id_token":{"sub":{"value":"bob"}}}"#)), "ann"));
        assert!(asks_for_another_subject(Some(&claims(r#"{"userinfo":{"sub":{"value":"bob"}}}"#)), "ann"));
        assert!(asks_for_another_subject(Some(&claims(r#"{"id_token":{"sub":{"value":7}}}"#)), "7"));
    }
}

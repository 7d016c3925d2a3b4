//! Token exchange (RFC 8693) as pure checks: the request's parameters, the narrowing of scopes and
//! the `act` claim of the issued token.

use serde_json::{Map, Value};

use crate::error::{ErrorCode, OAuthError};
use crate::model::scope::Scopes;

/// RFC 8693 §3: the token type of an OAuth access token, the one type exchanged and issued here.
pub(crate) const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// How deep `act` claims may nest (RFC 8693 §4.1: each exchange of an exchanged token adds one):
/// a token passed along a longer chain of services than this is refused rather than grown.
pub(crate) const MAX_ACTOR_DEPTH: usize = 5;

/// The token exchange parameters of a request (RFC 8693 §2.1), as checked.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ExchangeParameters<'a> {
    /// `subject_token`: an access token of this provider.
    pub(crate) subject_token: &'a str,
}

/// Checks the RFC 8693 §2.1 parameters of a request. Each refusal is `invalid_request` (§2.2.2).
///
/// - `subject_token` and `subject_token_type` are required, and the type must be
///   [`ACCESS_TOKEN_TYPE`]: only this provider's own access tokens are exchanged;
/// - `requested_token_type`, when given, must be [`ACCESS_TOKEN_TYPE`]: that is what is issued;
/// - `actor_token` and `actor_token_type` are refused: the actor is the authenticated client
///   (its `client_id` goes in `act`), and a second, separately presented actor is not supported.
pub(crate) fn check_parameters<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
) -> Result<ExchangeParameters<'a>, OAuthError> {
    let subject_token = get("subject_token").ok_or_else(|| OAuthError::invalid_request("missing `subject_token`"))?;
    let subject_token_type =
        get("subject_token_type").ok_or_else(|| OAuthError::invalid_request("missing `subject_token_type`"))?;
    if subject_token_type != ACCESS_TOKEN_TYPE {
        return Err(OAuthError::invalid_request(
            "`subject_token_type` must be urn:ietf:params:oauth:token-type:access_token: only this provider's access tokens are exchanged",
        ));
    }
    if get("requested_token_type").is_some_and(|requested| requested != ACCESS_TOKEN_TYPE) {
        return Err(OAuthError::invalid_request(
            "`requested_token_type` must be urn:ietf:params:oauth:token-type:access_token: only access tokens are issued",
        ));
    }
    if get("actor_token").is_some() || get("actor_token_type").is_some() {
        return Err(OAuthError::invalid_request(
            "`actor_token` is not supported: the authenticated client is the actor",
        ));
    }
    Ok(ExchangeParameters { subject_token })
}

/// The scopes of the new token: `requested` when each is one of the subject token's (RFC 8693
/// §2.1: the scope of the requested token; an exchange never widens what the subject granted),
/// else `invalid_scope`; the subject token's own when none is requested.
pub(crate) fn narrow_scopes(requested: &Scopes, subject: &Scopes) -> Result<Scopes, OAuthError> {
    if requested.is_empty() {
        return Ok(subject.clone());
    }
    if requested.iter().any(|scope| !subject.contains(scope.as_str())) {
        return Err(OAuthError::new(ErrorCode::InvalidScope, "the scope exceeds the subject token's scope"));
    }
    Ok(requested.clone())
}

/// The `act` claim of the new token (RFC 8693 §4.1): the exchanging client, with the subject
/// token's own `act` (the earlier actors) nested inside, or `None` when the chain is longer than
/// [`MAX_ACTOR_DEPTH`].
pub(crate) fn actor_claim(client_id: &str, prior: Option<&Value>) -> Option<Value> {
    if prior.is_some_and(|prior| depth(prior) >= MAX_ACTOR_DEPTH) {
        return None;
    }
    let mut act = Map::new();
    act.insert("sub".to_owned(), Value::from(client_id));
    if let Some(prior) = prior {
        act.insert("act".to_owned(), prior.clone());
    }
    Some(Value::Object(act))
}

/// How many actors an `act` claim names.
fn depth(act: &Value) -> usize {
    let mut depth = 0;
    let mut current = Some(act);
    while let Some(Value::Object(actor)) = current {
        depth += 1;
        current = actor.get("act");
    }
    depth
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&'static str, &'static str)]) -> Result<ExchangeParameters<'static>, String> {
        check_parameters(|name| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| *value))
            .map_err(|error| format!("{} {}", error.code(), error.description()))
    }

    #[test]
    fn only_access_tokens_are_exchanged_for_access_tokens_without_an_actor_token() {
        let subject = ("subject_token", "t");
        let typ = ("subject_token_type", ACCESS_TOKEN_TYPE);
        assert_eq!(params(&[subject, typ]), Ok(ExchangeParameters { subject_token: "t" }));
        assert_eq!(
            params(&[subject, typ, ("requested_token_type", ACCESS_TOKEN_TYPE)]),
            Ok(ExchangeParameters { subject_token: "t" })
        );
        let refused = |pairs: &[(&'static str, &'static str)], description: &str| {
            assert_eq!(params(pairs), Err(format!("invalid_request {description}")), "{pairs:?}");
        };
        refused(&[typ], "missing `subject_token`");
        refused(&[subject], "missing `subject_token_type`");
        refused(
            &[subject, ("subject_token_type", "urn:ietf:params:oauth:token-type:id_token")],
            "`subject_token_type` must be urn:ietf:params:oauth:token-type:access_token: only this provider's access tokens are exchanged",
        );
        refused(
            &[subject, typ, ("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token")],
            "`requested_token_type` must be urn:ietf:params:oauth:token-type:access_token: only access tokens are issued",
        );
        refused(
            &[subject, typ, ("actor_token", "a")],
            "`actor_token` is not supported: the authenticated client is the actor",
        );
        refused(
            &[subject, typ, ("actor_token_type", ACCESS_TOKEN_TYPE)],
            "`actor_token` is not supported: the authenticated client is the actor",
        );
    }

    #[test]
    fn scopes_narrow_and_never_widen() {
        let scopes = |s: &str| Scopes::parse(s).expect("scopes");
        assert_eq!(narrow_scopes(&scopes(""), &scopes("read write")).ok(), Some(scopes("read write")));
        assert_eq!(narrow_scopes(&scopes("read"), &scopes("read write")).ok(), Some(scopes("read")));
        let wider = narrow_scopes(&scopes("read admin"), &scopes("read write")).expect_err("refused");
        assert_eq!(wider.code(), ErrorCode::InvalidScope);
    }

    #[test]
    fn actors_nest_up_to_a_bound() {
        let first = actor_claim("mcp", None).expect("an actor");
        assert_eq!(first, serde_json::json!({"sub": "mcp"}));
        let second = actor_claim("api", Some(&first)).expect("an actor");
        assert_eq!(second, serde_json::json!({"sub": "api", "act": {"sub": "mcp"}}));
        let mut chain = second;
        for depth in 3..=MAX_ACTOR_DEPTH {
            chain = actor_claim(&format!("s{depth}"), Some(&chain)).expect("within the bound");
        }
        assert_eq!(actor_claim("one-too-many", Some(&chain)), None);
    }
}

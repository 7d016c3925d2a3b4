//! OpenID Connect RP-Initiated Logout 1.0: the end-session request's parameters, the
//! `id_token_hint` check, and the two decisions that keep logout safe — where the browser may be
//! sent afterwards, and whether the user must confirm.
//!
//! - **No open redirector** (§3, §7): the browser goes to a `post_logout_redirect_uri` only when
//!   it is registered, exactly, for the client that the verified `id_token_hint` or the
//!   `client_id` names; `state` is echoed only there.
//! - **No logout by a third party** (§6, "the OP SHOULD ask the End-User whether to log out"):
//!   the session ends without asking only when the hint is an ID token of this server issued to
//!   the signed-in user (and, when it has a `sid`, in this very session).

use crate::keys::KeySet;
use crate::model::client::Client;
use crate::protocol::form::Form;
use crate::protocol::jwt::{PresentedToken, Rejected};

/// The parameters of an end-session request (§2), each at most once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct EndSessionParams {
    /// `id_token_hint`: an ID token this server issued to the client (expired or not).
    pub(crate) id_token_hint: Option<String>,
    /// `client_id`.
    pub(crate) client_id: Option<String>,
    /// `post_logout_redirect_uri`.
    pub(crate) post_logout_redirect_uri: Option<String>,
    /// `state`: echoed to the verified redirect URI.
    pub(crate) state: Option<String>,
    /// `logout_hint`: who the client thinks is logging out.
    pub(crate) logout_hint: Option<String>,
}

impl EndSessionParams {
    /// The parameters in the order they are carried through the confirmation page.
    pub(crate) const NAMES: [&'static str; 5] =
        ["id_token_hint", "client_id", "post_logout_redirect_uri", "state", "logout_hint"];

    /// Reads the parameters of a parsed query or form (which refused repeats).
    pub(crate) fn read(form: &Form<'_>) -> Self {
        let get = |name: &str| form.get(name).map(str::to_owned);
        Self {
            id_token_hint: get("id_token_hint"),
            client_id: get("client_id"),
            post_logout_redirect_uri: get("post_logout_redirect_uri"),
            state: get("state"),
            logout_hint: get("logout_hint"),
        }
    }

    /// The parameters present, by name, in the order of [`NAMES`](Self::NAMES).
    pub(crate) fn pairs(&self) -> Vec<(&'static str, &str)> {
        let values =
            [&self.id_token_hint, &self.client_id, &self.post_logout_redirect_uri, &self.state, &self.logout_hint];
        Self::NAMES.into_iter().zip(values).filter_map(|(name, value)| Some((name, value.as_deref()?))).collect()
    }
}

/// What a verified `id_token_hint` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdTokenHint {
    /// `sub`.
    pub(crate) subject: String,
    /// The client it was issued to: its `aud`, or its `azp` when it has several audiences
    /// (OIDC Core §2).
    pub(crate) client_id: String,
    /// Every audience, which a `client_id` sent beside it must be one of.
    pub(crate) audience: Vec<String>,
    /// `sid`, the session it was issued in, if it says.
    pub(crate) session_id: Option<String>,
}

#[derive(serde::Deserialize)]
struct HintClaims {
    iss: String,
    sub: String,
    #[serde(deserialize_with = "crate::protocol::jwt::one_or_many")]
    aud: Vec<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    sid: Option<String>,
}

/// Verifies an `id_token_hint`: an ID token (`typ` `JWT`) signed by a key of this provider's
/// `keys` (the algorithm the key decides), whose `iss` is `issuer`. Its expiry is not checked:
/// §2 says the OP SHOULD accept an expired ID token as a hint, since the user's logging out is
/// typically long after the token was issued.
pub(crate) fn verify_id_token_hint(keys: &KeySet, token: &str, issuer: &str) -> Result<IdTokenHint, Rejected> {
    let presented = PresentedToken::parse_typed(token, "JWT")?;
    let key = presented.kid().and_then(|kid| keys.find(kid)).ok_or(Rejected::UnknownKey)?;
    let claims: HintClaims =
        serde_json::from_slice(&presented.verified_claims(key)?).map_err(|_| Rejected::Malformed)?;
    if claims.iss != issuer {
        return Err(Rejected::WrongIssuer);
    }
    let client_id = match (claims.aud.as_slice(), claims.azp) {
        ([one], _) => one.clone(),
        (_, Some(azp)) if claims.aud.contains(&azp) => azp,
        _ => return Err(Rejected::Malformed),
    };
    Ok(IdTokenHint { subject: claims.sub, client_id, audience: claims.aud, session_id: claims.sid })
}

/// Why an end-session request is refused, for the page that says so (never a redirect).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `client_id` is not an audience of the `id_token_hint` (§2: they must agree).
    ClientMismatch,
    /// A `post_logout_redirect_uri` without a client to check it against (§3).
    RedirectWithoutClient,
    /// A `post_logout_redirect_uri` the client did not register (§3, exact match).
    UnregisteredRedirect,
}

impl Refusal {
    /// The `error_description`.
    pub(crate) const fn description(self) -> &'static str {
        match self {
            Self::ClientMismatch => "the client_id is not the client the id_token_hint was issued to",
            Self::RedirectWithoutClient => {
                "a post_logout_redirect_uri needs an id_token_hint or a client_id naming the client that registered it"
            }
            Self::UnregisteredRedirect => "the post_logout_redirect_uri is not registered for this client",
        }
    }
}

/// The client the request comes from: the hint's, or `client_id`; both must agree.
pub(crate) fn client_of<'a>(
    hint: Option<&'a IdTokenHint>,
    client_id: Option<&'a str>,
) -> Result<Option<&'a str>, Refusal> {
    match (hint, client_id) {
        (Some(hint), Some(client_id)) if !hint.audience.iter().any(|aud| aud == client_id) => {
            Err(Refusal::ClientMismatch)
        }
        (Some(hint), _) => Ok(Some(&hint.client_id)),
        (None, client_id) => Ok(client_id),
    }
}

/// Where the browser goes after logout: the requested URI when `client` registered it exactly
/// (§3: "MUST NOT" redirect otherwise), `None` when none was requested.
pub(crate) fn redirect_target<'a>(
    client: Option<&Client>,
    requested: Option<&'a str>,
) -> Result<Option<&'a str>, Refusal> {
    let Some(requested) = requested else { return Ok(None) };
    let client = client.ok_or(Refusal::RedirectWithoutClient)?;
    if client.post_logout_redirect_uris.iter().any(|registered| registered == requested) {
        Ok(Some(requested))
    } else {
        Err(Refusal::UnregisteredRedirect)
    }
}

/// Whether the browser may be sent to a verified post-logout `redirect_uri` of `client` without
/// the user choosing to go there. §3 forbids redirecting unless the OP "has other means of
/// confirming the legitimacy of the post-logout redirection target": a URI the host vouches for
/// (its own clients, or registered clients it marked trusted), a loopback URI (an app on the
/// user's own device, RFC 8252 §7.3), or an `id_token_hint` that matched the signed-in session —
/// the user signed in to this client, here, in this session. Otherwise anyone could register a
/// client whose post-logout URI is a phishing page and send links that bounce through this
/// server's origin (RFC 9700 §4.11.2, the open redirector the authorization endpoint also
/// guards against); the user is then shown where the client asks to send them, and goes only by
/// choice.
pub(crate) fn redirects_without_asking(client: &Client, redirect_uri: &str, hint_matched_session: bool) -> bool {
    hint_matched_session || client.redirects_automatically_to(redirect_uri)
}

/// Whether the request shows that the signed-in user asked to log out, so that the session may
/// end without asking (§6): an `id_token_hint` for this subject, from this session when the hint
/// names one, and a `logout_hint`, if any, naming the same subject.
pub(crate) fn hint_matches(
    hint: Option<&IdTokenHint>,
    logout_hint: Option<&str>,
    subject: &str,
    session_id: Option<&str>,
) -> bool {
    let Some(hint) = hint else { return false };
    let same_session = match hint.session_id.as_deref() {
        Some(sid) => session_id == Some(sid),
        None => true,
    };
    hint.subject == subject && same_session && logout_hint.is_none_or(|named| named == subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(sid: Option<&str>) -> IdTokenHint {
        IdTokenHint {
            subject: "alice".into(),
            client_id: "app".into(),
            audience: vec!["app".into()],
            session_id: sid.map(str::to_owned),
        }
    }

    #[test]
    fn the_client_is_the_hints_and_client_id_must_agree() {
        let hint = hint(None);
        assert_eq!(client_of(Some(&hint), None), Ok(Some("app")));
        assert_eq!(client_of(Some(&hint), Some("app")), Ok(Some("app")));
        assert_eq!(client_of(Some(&hint), Some("other")), Err(Refusal::ClientMismatch));
        assert_eq!(client_of(None, Some("other")), Ok(Some("other")));
        assert_eq!(client_of(None, None), Ok(None));
    }

    #[test]
    fn only_a_registered_uri_is_a_target() {
        let client = Client::public("app").with_post_logout_redirect_uris(["https://app.example/bye"]);
        assert_eq!(redirect_target(Some(&client), None), Ok(None));
        assert_eq!(
            redirect_target(Some(&client), Some("https://app.example/bye")),
            Ok(Some("https://app.example/bye"))
        );
        for near in [
            "https://app.example/bye/",
            "https://app.example/bye?x=1",
            "https://APP.example/bye",
            "https://evil.example/",
        ] {
            assert_eq!(redirect_target(Some(&client), Some(near)), Err(Refusal::UnregisteredRedirect), "{near}");
        }
        assert_eq!(redirect_target(None, Some("https://app.example/bye")), Err(Refusal::RedirectWithoutClient));
    }

    #[test]
    fn only_a_vouched_for_uri_or_a_matched_hint_redirects_without_asking() {
        let uri = "https://app.example/bye";
        let registered = Client::public("app").with_post_logout_redirect_uris([uri]);
        let mut self_asserted = registered.clone();
        self_asserted.source = crate::model::client::ClientSource::SelfAsserted;
        assert!(redirects_without_asking(&registered, uri, false), "the host's own client");
        assert!(!redirects_without_asking(&self_asserted, uri, false), "a registered client no one vouches for");
        assert!(redirects_without_asking(&self_asserted, uri, true), "a hint that matched the session");
        assert!(redirects_without_asking(&self_asserted.clone().with_trusted(true), uri, false), "trusted");
        assert!(redirects_without_asking(&self_asserted, "http://127.0.0.1:4000/bye", false), "loopback");
    }

    #[test]
    fn a_hint_matches_its_subject_and_session_only() {
        assert!(hint_matches(Some(&hint(None)), None, "alice", None));
        assert!(hint_matches(Some(&hint(None)), Some("alice"), "alice", Some("s1")));
        assert!(hint_matches(Some(&hint(Some("s1"))), None, "alice", Some("s1")));
        assert!(!hint_matches(None, None, "alice", None));
        assert!(!hint_matches(Some(&hint(None)), None, "bob", None));
        assert!(!hint_matches(Some(&hint(None)), Some("bob"), "alice", None));
        assert!(!hint_matches(Some(&hint(Some("s1"))), None, "alice", Some("s2")));
        assert!(!hint_matches(Some(&hint(Some("s1"))), None, "alice", None));
    }
}

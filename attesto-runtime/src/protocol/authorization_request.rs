//! Authorization-request validation (RFC 6749 §4.1.1, OAuth 2.1 §4.1.1, OIDC Core §3.1.2.1), as
//! one synchronous function of the parsed parameters, the client and the provider's rules.
//!
//! The authorization endpoint and the PAR endpoint (RFC 9126 §2.1) both call [`validate`], so that
//! a pushed request passes exactly the checks of a front-channel one. What needs I/O stays with
//! them: finding the client, and asking the host's scope policy about the scopes requested.
//!
//! The checks run in a fixed order, because it decides where an error may go: until the client's
//! redirect URI is verified, a refusal is [`Refusal::Unverified`] and is shown to the user, never
//! redirected (RFC 6749 §4.1.2.1: an open redirector otherwise); after it, a refusal carries its
//! [`Target`] and goes back to the client.

use std::time::SystemTime;

use crate::error::{ErrorCode, OAuthError};
use crate::model::claims::ClaimsRequest;
use crate::model::client::{Client, GrantType};
use crate::model::profile::Profile;
use crate::model::resource::{Resource, audiences};
use crate::model::scope::Scopes;
use crate::protocol::claims_request;
use crate::protocol::dpop_proof::is_thumbprint;
use crate::protocol::form::Form;
use crate::protocol::pkce::code_challenge;
use crate::protocol::redirect_uri::redirect_uri_allowed;
use crate::store::{AuthorizationRequest, ResponseMode};

/// The prefix of every `request_uri` the PAR endpoint issues (RFC 9126 §2.2, registered in §7.1).
pub(crate) const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Parameters that may appear more than once: RFC 8707 §2 `resource`. Every other one at most
/// once (RFC 6749 §3.1).
pub(crate) const REPEATABLE: &[&str] = &["resource"];

/// Longest accepted `state`, `nonce`, `login_hint`, `acr_values`, `ui_locales` and
/// `claims_locales`: generous for any real client, and a bound
/// on what a request makes attesto store.
pub(crate) const MAX_VALUE_LEN: usize = 2048;

/// How the request reached the server, which changes what may be in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    /// Through the browser, at the authorization endpoint.
    FrontChannel,
    /// Pushed by the authenticated client to the PAR endpoint (RFC 9126 §2.1).
    Pushed,
}

/// What the provider's declaration and settings say about authorization requests.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules<'a> {
    /// How this request arrived.
    pub(crate) channel: Channel,
    /// Whether the PAR endpoint is on: it decides what a stray `request_uri` is told.
    pub(crate) par_endpoint: bool,
    /// RFC 9126 §5 `require_pushed_authorization_requests`.
    pub(crate) require_pushed: bool,
    /// Whether the request must come as a signed request object (RFC 9101 §10.5), and whether
    /// it did.
    pub(crate) signed_request: SignedRequest,
    /// Whether OpenID Connect is on.
    pub(crate) openid: bool,
    /// The resources tokens may be issued for (RFC 8707).
    pub(crate) resources: &'a [Resource],
    /// The audience of a token when no resource is asked for.
    pub(crate) default_audience: &'a [String],
    /// The provider's profile: FAPI 2.0 requires `redirect_uri` in every request, and FAPI 2.0
    /// Message Signing a JWT response mode.
    pub(crate) profile: Profile,
}

/// Whether an authorization request came as a signed request object (RFC 9101), and whether it
/// had to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignedRequest {
    /// The parameters came from a verified request object.
    Object,
    /// Plain parameters, which the provider and the client allow.
    Plain,
    /// Plain parameters, but the client registered `require_signed_request_object`.
    PlainRefusedByClient,
    /// Plain parameters, but the provider requires request objects from every client.
    PlainRefusedByProvider,
}

/// Where an authorization response goes, once the client and redirect URI are verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) redirect_uri: String,
    pub(crate) mode: ResponseMode,
    pub(crate) state: Option<String>,
    /// The request is a device grant's (RFC 8628 §3.3): there is no redirect URI, and the answer
    /// is a page for the user.
    pub(crate) device: bool,
}

impl Target {
    /// Where the answer to a validated request goes.
    pub(crate) fn of(request: &AuthorizationRequest) -> Self {
        Self {
            redirect_uri: request.redirect_uri.clone(),
            mode: request.response_mode,
            state: request.state.clone(),
            device: request.device_code.is_some(),
        }
    }
}

/// Why a request was refused, which decides where the error may be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The redirect URI could not be verified: show the error, never redirect it.
    Unverified(OAuthError),
    /// The redirect URI is verified: the error may go back to the client.
    Verified(Box<(Target, OAuthError)>),
}

/// The `prompt` values (OIDC Core §3.1.2.1) attesto acts on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Prompt {
    /// `none`: no page may be shown.
    pub(crate) none: bool,
    /// `login`: the user must sign in again.
    pub(crate) login: bool,
    /// `consent`: the user must be asked.
    pub(crate) consent: bool,
}

impl Prompt {
    /// Parses the space-separated `prompt` parameter; an absent one is no prompt at all.
    pub(crate) fn parse(value: Option<&str>) -> Result<Self, &'static str> {
        let mut prompt = Self::default();
        for value in value.unwrap_or_default().split(' ').filter(|v| !v.is_empty()) {
            match value {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                _ => return Err("unsupported `prompt` value"),
            }
        }
        // OIDC Core §3.1.2.1: `none` with any other value is an error.
        if prompt.none && (prompt.login || prompt.consent) {
            return Err("`prompt=none` cannot be combined with other values");
        }
        Ok(prompt)
    }
}

/// The `max_age` parameter (OIDC Core §3.1.2.1): seconds, a non-negative integer.
pub(crate) fn max_age(value: Option<&str>) -> Result<Option<u64>, &'static str> {
    match value.map(str::parse::<u64>) {
        None => Ok(None),
        Some(Ok(seconds)) => Ok(Some(seconds)),
        Some(Err(_)) => Err("`max_age` must be a non-negative integer"),
    }
}

/// An authorization request that passed every check but the host's scope policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Validated {
    /// Where the answer goes.
    pub(crate) target: Target,
    /// Whether `redirect_uri` was sent (RFC 6749 §4.1.3: then the token request must repeat it).
    pub(crate) redirect_uri_sent: bool,
    /// The S256 PKCE challenge.
    pub(crate) code_challenge: String,
    /// The scopes asked for, for the host's scope policy to decide on.
    pub(crate) requested: Scopes,
    /// The audiences of the tokens (RFC 8707).
    pub(crate) audience: Vec<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) login_hint: Option<String>,
    /// OIDC Core §3.1.2.1 `acr_values`, for the host's login.
    pub(crate) acr_values: Option<String>,
    pub(crate) prompt: Prompt,
    pub(crate) max_age: Option<u64>,
    /// OIDC Core §3.1.2.1 `ui_locales`, parsed.
    pub(crate) ui_locales: Vec<String>,
    /// OIDC Core §5.2 `claims_locales`, parsed.
    pub(crate) claims_locales: Vec<String>,
    /// OIDC Core §5.5 `claims`, parsed.
    pub(crate) claims: Option<ClaimsRequest>,
    /// RFC 9449 §10 `dpop_jkt`.
    pub(crate) dpop_jkt: Option<String>,
}

impl Validated {
    /// The request the rest of the flow trusts, with the scopes the host granted.
    pub(crate) fn into_request(self, client: &Client, scopes: Scopes, started_at: SystemTime) -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: client.client_id.clone(),
            redirect_uri: self.target.redirect_uri,
            redirect_uri_sent: self.redirect_uri_sent,
            response_mode: self.target.mode,
            state: self.target.state,
            nonce: self.nonce,
            code_challenge: self.code_challenge,
            scopes,
            audience: self.audience,
            prompt_login: self.prompt.login,
            prompt_consent: self.prompt.consent,
            prompt_none: self.prompt.none,
            max_age: self.max_age,
            login_hint: self.login_hint,
            acr_values: self.acr_values,
            ui_locales: self.ui_locales,
            claims_locales: self.claims_locales,
            claims: self.claims,
            started_at,
            dpop_jkt: self.dpop_jkt,
            device_code: None,
        }
    }
}

/// Validates the parameters of an authorization request from `client` (found, at the
/// authorization endpoint, or authenticated, at PAR).
pub(crate) fn validate(form: &Form<'_>, client: &Client, rules: &Rules<'_>) -> Result<Validated, Refusal> {
    let unverified = |description: &'static str| Refusal::Unverified(OAuthError::invalid_request(description));
    // The redirect URI, matched exactly (RFC 9700 §4.1.3).
    if form.is_repeated("redirect_uri") {
        return Err(unverified("parameter `redirect_uri` is repeated"));
    }
    let redirect_uri_sent = form.get("redirect_uri").is_some();
    let redirect_uri = match form.get("redirect_uri") {
        Some(uri) if redirect_uri_allowed(client, uri) => uri.to_owned(),
        Some(_) => return Err(unverified("`redirect_uri` is not registered for this client")),
        // OAuth 2.1 §4.1.1: optional when the client registered exactly one.
        None => match client.redirect_uris.as_slice() {
            [only] => only.clone(),
            _ => return Err(unverified("missing `redirect_uri`")),
        },
    };
    // From here on, errors go back to the client. The response mode and `state` come first,
    // since they shape every later error response.
    let state = form.get("state").filter(|_| !form.is_repeated("state")).map(str::to_owned);
    let mut target = Target { redirect_uri, mode: ResponseMode::Query, state, device: false };
    let fail = |target: &Target, error: OAuthError| Refusal::Verified(Box::new((target.clone(), error)));
    let invalid = |target: &Target, description: &'static str| fail(target, OAuthError::invalid_request(description));
    // JARM §2.3.4: `jwt` is the default JWT mode of the response type, `query.jwt` for `code`.
    // No `fragment` mode, plain or JWT: a code goes to the client's server (query, form post),
    // and a fragment would hand it to script in the browser instead.
    target.mode = match form.get("response_mode") {
        None | Some("query") => ResponseMode::Query,
        Some("form_post") => ResponseMode::FormPost,
        Some("jwt" | "query.jwt") => ResponseMode::QueryJwt,
        Some("form_post.jwt") => ResponseMode::FormPostJwt,
        Some(_) => return Err(invalid(&target, "unsupported `response_mode`")),
    };
    if let Some(description) = form.repeated(REPEATABLE) {
        return Err(fail(&target, OAuthError::invalid_request(description)));
    }
    if target.state.as_ref().is_some_and(|s| s.len() > MAX_VALUE_LEN) {
        target.state = None;
        return Err(invalid(&target, "`state` is too long"));
    }
    // RFC 9126 §4: a provider that requires PAR refuses request data sent any other way, with
    // `invalid_request`. Checked once the client and redirect URI are verified, so the error is
    // redirected like any other refusal of the client's own request (RFC 6749 §4.1.2.1), and
    // before the rest, so that the host's scope policy is not asked about a request refused anyway.
    if rules.channel == Channel::FrontChannel && rules.require_pushed {
        return Err(invalid(
            &target,
            "this server accepts authorization requests only through its pushed authorization request endpoint",
        ));
    }
    // RFC 9101 §10.5: `require_signed_request_object`, checked as `require_pushed` is: once the
    // redirect URI is verified, so that the refusal is redirected, and before the rest.
    match rules.signed_request {
        SignedRequest::Object | SignedRequest::Plain => {}
        SignedRequest::PlainRefusedByClient => {
            return Err(invalid(
                &target,
                "this client must send its authorization requests as signed request objects (`request`, RFC 9101)",
            ));
        }
        SignedRequest::PlainRefusedByProvider => {
            return Err(invalid(
                &target,
                "this server accepts authorization requests only as signed request objects (`request`, RFC 9101)",
            ));
        }
    }
    // A `request_uri` reaches this point only at the authorization endpoint (the PAR endpoint
    // refuses it first, RFC 9126 §2.1) and only when it is no reference to a pushed request: a
    // request object to fetch (OIDC Core §6.2), which attesto does not do, or any value at all
    // when PAR is off.
    if form.get("request_uri").is_some() {
        let description = if rules.par_endpoint {
            "only `request_uri` values from the pushed authorization request endpoint are supported"
        } else {
            "`request_uri` is not supported"
        };
        return Err(fail(&target, OAuthError::new(ErrorCode::RequestUriNotSupported, description)));
    }
    match form.get("response_type") {
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                &target,
                OAuthError::new(ErrorCode::UnsupportedResponseType, "only `response_type=code` is supported"),
            ));
        }
        None => return Err(invalid(&target, "missing `response_type`")),
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(fail(
            &target,
            OAuthError::new(ErrorCode::UnauthorizedClient, "the client may not use the authorization code grant"),
        ));
    }
    let code_challenge = code_challenge(form.get("code_challenge"), form.get("code_challenge_method"))
        .map_err(|description| invalid(&target, description))?;
    let requested = Scopes::parse(form.get("scope").unwrap_or_default())
        .map_err(|error| fail(&target, OAuthError::new(ErrorCode::InvalidScope, error.to_string())))?;
    // FAPI 2.0 Security Profile §5.3.2.2 clause 6: `redirect_uri` in every pushed request.
    if rules.profile.is_fapi2() && !redirect_uri_sent {
        return Err(invalid(&target, "this server follows the FAPI 2.0 Security Profile: send `redirect_uri`"));
    }
    // OIDC Core §3.1.2.1: `redirect_uri` is REQUIRED in an OpenID Connect request, even for a
    // client with a single registered one (which OAuth 2.1 would let it leave out).
    if rules.openid && requested.contains("openid") && !redirect_uri_sent {
        return Err(invalid(&target, "an OpenID Connect request must send `redirect_uri`"));
    }
    // FAPI 2.0 Message Signing §5.4 (JARM): every authorization response signed.
    if rules.profile.is_message_signing() && !target.mode.is_jwt() {
        return Err(invalid(
            &target,
            "this server follows FAPI 2.0 Message Signing: ask for a signed response with `response_mode=jwt`",
        ));
    }
    let audience = audiences(rules.resources, rules.default_audience, form.all("resource"))
        .map_err(|error| fail(&target, error))?
        .into_owned();
    let nonce = form.get("nonce").map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_VALUE_LEN) {
        return Err(invalid(&target, "`nonce` is too long"));
    }
    let login_hint = form.get("login_hint").map(str::to_owned);
    if login_hint.as_ref().is_some_and(|n| n.len() > MAX_VALUE_LEN) {
        return Err(invalid(&target, "`login_hint` is too long"));
    }
    let acr_values = form.get("acr_values").map(str::to_owned).filter(|values| !values.trim().is_empty());
    if acr_values.as_ref().is_some_and(|values| values.len() > MAX_VALUE_LEN) {
        return Err(invalid(&target, "`acr_values` is too long"));
    }
    let mut locale_lists = [Vec::new(), Vec::new()];
    for (name, list) in ["ui_locales", "claims_locales"].into_iter().zip(&mut locale_lists) {
        if let Some(value) = form.get(name) {
            if value.len() > MAX_VALUE_LEN {
                return Err(invalid(
                    &target,
                    if name == "ui_locales" { "`ui_locales` is too long" } else { "`claims_locales` is too long" },
                ));
            }
            *list = locales(value);
        }
    }
    let [ui_locales, claims_locales] = locale_lists;
    // OIDC Core §5.5: the claims asked for, an OpenID Connect parameter (ignored, as any unknown
    // parameter, when OpenID Connect is off).
    let claims = match form.get("claims") {
        Some(value) if rules.openid => {
            Some(claims_request::parse(value).map_err(|description| invalid(&target, description))?)
        }
        _ => None,
    };
    let prompt = Prompt::parse(form.get("prompt")).map_err(|description| invalid(&target, description))?;
    let max_age = max_age(form.get("max_age")).map_err(|description| invalid(&target, description))?;
    // RFC 9449 §10: `dpop_jkt` binds the code to the DPoP key with this thumbprint, so that a code
    // stolen on its way back to the client is useless without the key.
    let dpop_jkt = match form.get("dpop_jkt") {
        None => None,
        Some(jkt) if is_thumbprint(jkt) => Some(jkt.to_owned()),
        Some(_) => {
            return Err(invalid(&target, "`dpop_jkt` is not a base64url SHA-256 JWK thumbprint (RFC 7638)"));
        }
    };
    Ok(Validated {
        target,
        redirect_uri_sent,
        code_challenge: code_challenge.to_owned(),
        requested,
        audience,
        nonce,
        login_hint,
        acr_values,
        prompt,
        max_age,
        ui_locales,
        claims_locales,
        claims,
        dpop_jkt,
    })
}

/// The language tags of a `ui_locales` or `claims_locales` value (OIDC Core §3.1.2.1, §5.2): a
/// space-separated list of BCP 47 tags (RFC 5646), in order of preference. They are preferences,
/// so a tag that is not well-formed is dropped rather than refused; a repeated one is kept once.
/// The well-formedness check is RFC 5646 §2.1's shape: subtags of 1 to 8 ASCII letters or digits
/// joined by `-`, the first of letters only.
pub(crate) fn locales(value: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in value.split(' ').filter(|tag| !tag.is_empty()) {
        let mut subtags = tag.split('-');
        let first_ok = subtags
            .next()
            .is_some_and(|first| (1..=8).contains(&first.len()) && first.bytes().all(|b| b.is_ascii_alphabetic()));
        let rest_ok =
            subtags.all(|subtag| (1..=8).contains(&subtag.len()) && subtag.bytes().all(|b| b.is_ascii_alphanumeric()));
        if first_ok && rest_ok && !tags.iter().any(|kept| kept.eq_ignore_ascii_case(tag)) {
            tags.push(tag.to_owned());
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn client() -> Client {
        Client::public("app").with_redirect_uris(["https://app.example/cb", "http://127.0.0.1/cb"])
    }

    fn rules(channel: Channel) -> Rules<'static> {
        Rules {
            channel,
            par_endpoint: true,
            require_pushed: false,
            signed_request: SignedRequest::Plain,
            openid: true,
            resources: &[],
            default_audience: &[],
            profile: Profile::OAuth21,
        }
    }

    fn form(query: &str) -> Form<'_> {
        Form::parse_keeping_repeats(query.as_bytes()).expect("a form")
    }

    fn base() -> String {
        format!(
            "response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256"
        )
    }

    /// The refusal of `extra` added to a good request, as (verified, code, description).
    fn refusal(extra: &str, rules: &Rules<'_>) -> (bool, &'static str, String) {
        let query = format!("{}{extra}", base());
        match validate(&form(&query), &client(), rules).expect_err(extra) {
            Refusal::Unverified(error) => (false, error.code().as_str(), error.description().to_owned()),
            Refusal::Verified(verified) => {
                let (target, error) = *verified;
                assert_eq!(target.redirect_uri, "https://app.example/cb");
                (true, error.code().as_str(), error.description().to_owned())
            }
        }
    }

    #[test]
    fn prompt_values() {
        let none = Prompt { none: true, ..Prompt::default() };
        let login_consent = Prompt { login: true, consent: true, ..Prompt::default() };
        type Case<'a> = (Option<&'a str>, Result<Prompt, &'a str>);
        let cases: &[Case<'_>] = &[
            (None, Ok(Prompt::default())),
            (Some(""), Ok(Prompt::default())),
            (Some("none"), Ok(none)),
            (Some("login consent"), Ok(login_consent)),
            (Some(" login  consent "), Ok(login_consent)),
            (Some("none login"), Err("`prompt=none` cannot be combined with other values")),
            (Some("consent none"), Err("`prompt=none` cannot be combined with other values")),
            (Some("select_account"), Err("unsupported `prompt` value")),
            (Some("NONE"), Err("unsupported `prompt` value")),
        ];
        for (value, expected) in cases {
            assert_eq!(Prompt::parse(*value), *expected, "{value:?}");
        }
    }

    #[test]
    fn locale_lists_keep_well_formed_tags_in_order() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("de-CH fr en", &["de-CH", "fr", "en"]),
            ("  en   fr-CA ", &["en", "fr-CA"]),
            ("zh-Hant-TW sr-Latn-RS-1994", &["zh-Hant-TW", "sr-Latn-RS-1994"]),
            ("en EN en-us en-US", &["en", "en-us"]),
            ("en_US 1en en- -en toolongsubtag en-toolongsub fr", &["fr"]),
            ("<script> de", &["de"]),
        ];
        for (value, expected) in cases {
            assert_eq!(locales(value), *expected, "{value:?}");
        }
    }

    #[test]
    fn max_age_values() {
        type Case<'a> = (Option<&'a str>, Result<Option<u64>, &'a str>);
        let cases: &[Case<'_>] = &[
            (None, Ok(None)),
            (Some("0"), Ok(Some(0))),
            (Some("3600"), Ok(Some(3600))),
            (Some("-1"), Err("`max_age` must be a non-negative integer")),
            (Some(""), Err("`max_age` must be a non-negative integer")),
            (Some("1.5"), Err("`max_age` must be a non-negative integer")),
            (Some("18446744073709551616"), Err("`max_age` must be a non-negative integer")),
        ];
        for (value, expected) in cases {
            assert_eq!(max_age(*value), *expected, "{value:?}");
        }
    }

    #[test]
    fn redirect_uris() {
        let accepted = [
            ("https://app.example/cb", "https://app.example/cb"),
            ("http://127.0.0.1:4711/cb", "http://127.0.0.1:4711/cb"),
        ];
        for (sent, expected) in accepted {
            let query = base().replace(
                "https%3A%2F%2Fapp.example%2Fcb",
                &form_urlencoded::byte_serialize(sent.as_bytes()).collect::<String>(),
            );
            let validated = validate(&form(&query), &client(), &rules(Channel::FrontChannel)).expect(sent);
            assert_eq!(validated.target.redirect_uri, expected);
            assert!(validated.redirect_uri_sent);
        }
        for sent in
            ["https://app.example/cb/", "https://APP.example/cb", "https://app.example/cb?x", "http://localhost/cb"]
        {
            let query = base().replace(
                "https%3A%2F%2Fapp.example%2Fcb",
                &form_urlencoded::byte_serialize(sent.as_bytes()).collect::<String>(),
            );
            assert_eq!(
                validate(&form(&query), &client(), &rules(Channel::FrontChannel)),
                Err(Refusal::Unverified(OAuthError::invalid_request(
                    "`redirect_uri` is not registered for this client"
                ))),
                "{sent}"
            );
        }
        // Two registered: the parameter is required. One registered: it may be left out, except
        // in an OpenID Connect request.
        let without = base().replace("&redirect_uri=https%3A%2F%2Fapp.example%2Fcb", "");
        assert_eq!(
            validate(&form(&without), &client(), &rules(Channel::FrontChannel)),
            Err(Refusal::Unverified(OAuthError::invalid_request("missing `redirect_uri`")))
        );
        let single = Client::public("app").with_redirect_uris(["https://app.example/cb"]);
        let validated = validate(&form(&without), &single, &rules(Channel::FrontChannel)).expect("one registered");
        assert_eq!(validated.target.redirect_uri, "https://app.example/cb");
        assert!(!validated.redirect_uri_sent);
        let openid = format!("{without}&scope=openid");
        assert!(matches!(
            validate(&form(&openid), &single, &rules(Channel::FrontChannel)),
            Err(Refusal::Verified(verified)) if verified.1.description() == "an OpenID Connect request must send `redirect_uri`"
        ));
    }

    #[test]
    fn refusals_name_their_parameter_and_go_where_they_may() {
        let front = rules(Channel::FrontChannel);
        let cases: &[(&str, (bool, &str, &str))] = &[
            (
                "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb",
                (false, "invalid_request", "parameter `redirect_uri` is repeated"),
            ),
            ("&response_mode=fragment", (true, "invalid_request", "unsupported `response_mode`")),
            (
                "&request_uri=https%3A%2F%2Fapp.example%2Fr",
                (
                    true,
                    "request_uri_not_supported",
                    "only `request_uri` values from the pushed authorization request endpoint are supported",
                ),
            ),
            ("&nonce=n&nonce=m", (true, "invalid_request", "parameter `nonce` is repeated")),
            ("&scope=a%22b", (true, "invalid_scope", "")),
            ("&prompt=none%20login", (true, "invalid_request", "`prompt=none` cannot be combined with other values")),
            ("&max_age=soon", (true, "invalid_request", "`max_age` must be a non-negative integer")),
            (
                "&dpop_jkt=abc",
                (true, "invalid_request", "`dpop_jkt` is not a base64url SHA-256 JWK thumbprint (RFC 7638)"),
            ),
            (
                "&resource=https%3A%2F%2Frs.example",
                (true, "invalid_target", "the requested resource is unknown to this server"),
            ),
        ];
        for (extra, (verified, code, description)) in cases {
            let (got_verified, got_code, got_description) = refusal(extra, &front);
            assert_eq!((got_verified, got_code), (*verified, *code), "{extra}");
            if !description.is_empty() {
                assert_eq!(got_description, *description, "{extra}");
            }
        }
        let long = format!("&nonce={}", "n".repeat(MAX_VALUE_LEN + 1));
        assert_eq!(refusal(&long, &front), (true, "invalid_request", "`nonce` is too long".to_owned()));
        let long = format!("&acr_values={}", "a".repeat(MAX_VALUE_LEN + 1));
        assert_eq!(refusal(&long, &front), (true, "invalid_request", "`acr_values` is too long".to_owned()));
        let long = format!("&ui_locales={}", "a".repeat(MAX_VALUE_LEN + 1));
        assert_eq!(refusal(&long, &front), (true, "invalid_request", "`ui_locales` is too long".to_owned()));
        let long = format!("&claims_locales={}", "a".repeat(MAX_VALUE_LEN + 1));
        assert_eq!(refusal(&long, &front), (true, "invalid_request", "`claims_locales` is too long".to_owned()));
        let no_response_type = base().replace("response_type=code&", "");
        assert!(matches!(
            validate(&form(&no_response_type), &client(), &front),
            Err(Refusal::Verified(verified)) if verified.1.description() == "missing `response_type`"
        ));
    }

    #[test]
    fn response_modes() {
        let cases = [
            ("", ResponseMode::Query),
            ("&response_mode=query", ResponseMode::Query),
            ("&response_mode=form_post", ResponseMode::FormPost),
            ("&response_mode=jwt", ResponseMode::QueryJwt),
            ("&response_mode=query.jwt", ResponseMode::QueryJwt),
            ("&response_mode=form_post.jwt", ResponseMode::FormPostJwt),
        ];
        for (extra, mode) in cases {
            let query = format!("{}{extra}", base());
            let validated = validate(&form(&query), &client(), &rules(Channel::FrontChannel)).expect(extra);
            assert_eq!(validated.target.mode, mode, "{extra}");
        }
        for unsupported in ["fragment", "fragment.jwt", "JWT", "query.JWT", "jwt.query"] {
            let extra = format!("&response_mode={unsupported}");
            assert_eq!(
                refusal(&extra, &rules(Channel::FrontChannel)),
                (true, "invalid_request", "unsupported `response_mode`".to_owned()),
                "{unsupported}"
            );
        }
        // A later error goes back in the mode the request asked for.
        let query = format!("{}&response_mode=jwt&prompt=bogus", base());
        let Err(Refusal::Verified(verified)) = validate(&form(&query), &client(), &rules(Channel::FrontChannel)) else {
            panic!("a verified refusal");
        };
        assert_eq!(verified.0.mode, ResponseMode::QueryJwt);
    }

    #[test]
    fn required_par_refuses_the_front_channel_only() {
        let required = Rules { require_pushed: true, ..rules(Channel::FrontChannel) };
        assert_eq!(refusal("", &required).1, "invalid_request");
        let pushed = Rules { require_pushed: true, ..rules(Channel::Pushed) };
        assert!(validate(&form(&base()), &client(), &pushed).is_ok());
    }

    #[test]
    fn a_good_request_becomes_the_stored_request() {
        let query = format!(
            "{}&scope=openid%20profile&nonce=n&login_hint=ann&acr_values=urn%3Aacr%3Amfa%20urn%3Aacr%3Apwd&prompt=login&max_age=60&ui_locales=de-CH%20fr&claims_locales=en%20bad_tag",
            base()
        );
        let validated = validate(&form(&query), &client(), &rules(Channel::FrontChannel)).expect("valid");
        assert_eq!(validated.requested.to_string(), "openid profile");
        let now = SystemTime::now();
        let request = validated.into_request(&client(), Scopes::parse("openid").expect("scopes"), now);
        assert_eq!(request.client_id.as_str(), "app");
        assert_eq!(request.redirect_uri, "https://app.example/cb");
        assert_eq!(request.state.as_deref(), Some("s"));
        assert_eq!(request.nonce.as_deref(), Some("n"));
        assert_eq!(request.login_hint.as_deref(), Some("ann"));
        assert_eq!(request.acr_values.as_deref(), Some("urn:acr:mfa urn:acr:pwd"));
        assert!(request.prompt_login && !request.prompt_none && !request.prompt_consent);
        assert_eq!(request.max_age, Some(60));
        assert_eq!(request.ui_locales, ["de-CH", "fr"]);
        assert_eq!(request.claims_locales, ["en"]);
        assert_eq!(request.scopes.to_string(), "openid");
        assert_eq!(request.code_challenge, CHALLENGE);
        assert_eq!(request.started_at, now);
    }
    #[test]
    fn the_fapi2_profiles_require_a_redirect_uri_and_message_signing_a_jwt_response() {
        let single = Client::public("app").with_redirect_uris(["https://app.example/cb"]);
        let fapi = Rules { profile: Profile::Fapi2Security, ..rules(Channel::Pushed) };
        let without = base().replace("&redirect_uri=https%3A%2F%2Fapp.example%2Fcb", "");
        let refusal = |result: Result<Validated, Refusal>| match result {
            Err(Refusal::Verified(verified)) => (verified.1.code().as_str(), verified.1.description().to_owned()),
            other => panic!("expected a verified refusal, got {other:?}"),
        };
        // A client with one registered URI may leave it out in OAuth 2.1, not under FAPI 2.0.
        assert!(validate(&form(&without), &single, &rules(Channel::Pushed)).is_ok());
        assert_eq!(
            refusal(validate(&form(&without), &single, &fapi)),
            ("invalid_request", "this server follows the FAPI 2.0 Security Profile: send `redirect_uri`".to_owned())
        );
        assert!(validate(&form(&base()), &client(), &fapi).is_ok());
        let signing = Rules { profile: Profile::Fapi2MessageSigning, ..rules(Channel::Pushed) };
        for plain in ["", "&response_mode=query", "&response_mode=form_post"] {
            assert_eq!(
                refusal(validate(&form(&format!("{}{plain}", base())), &client(), &signing)),
                (
                    "invalid_request",
                    "this server follows FAPI 2.0 Message Signing: ask for a signed response with `response_mode=jwt`"
                        .to_owned()
                ),
                "{plain}"
            );
        }
        for jwt in ["jwt", "query.jwt", "form_post.jwt"] {
            let query = format!("{}&response_mode={jwt}", base());
            assert!(validate(&form(&query), &client(), &signing).is_ok(), "{jwt}");
        }
    }
}

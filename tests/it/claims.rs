//! The OpenID Connect request parameters about languages, through the real router:
//! `ui_locales` (OIDC Core §3.1.2.1) and `claims_locales` (§5.2) reach the host's login and
//! consent, by value and pushed (RFC 9126); tags that are not well-formed are dropped, and a value
//! longer than the bound is refused.

use axum::Router;
use http::StatusCode;

use crate::common::{
    ISSUER, SECRET, TestHost, WEB_REDIRECT, authorize_code, authorize_url, basic, browser_get, pkce, provider,
    redirect_params, session_cookie, token,
};

const AUTHORIZE: &str = "/oauth/authorize";
const PAR: &str = "/oauth/par";

fn setup() -> (TestHost, Router) {
    let host = TestHost::new();
    (host.clone(), provider(host).router())
}

/// The events of `host` about languages.
fn locale_events(host: &TestHost) -> Vec<String> {
    host.events().into_iter().filter(|event| event.contains("_locales=")).collect()
}

#[tokio::test]
async fn locales_sent_by_value_reach_login_and_consent_without_malformed_tags() {
    let (host, router) = setup();
    let (_, challenge) = pkce();
    let code = authorize_code(
        &router,
        "first-party",
        WEB_REDIRECT,
        &challenge,
        "openid profile",
        "alice",
        &[("ui_locales", "de-CH fr_FR en"), ("claims_locales", "ja  <b> ja-Kana-JP")],
    )
    .await;
    assert!(!code.is_empty());
    assert_eq!(
        locale_events(&host),
        [
            "authenticate ui_locales=de-CH en claims_locales=ja ja-Kana-JP",
            "consent ui_locales=de-CH en claims_locales=ja ja-Kana-JP",
        ]
    );
}

#[tokio::test]
async fn locales_pushed_reach_the_host_when_the_browser_brings_the_request_uri() {
    let (host, router) = setup();
    let (_, challenge) = pkce();
    let pushed = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", "first-party"),
            ("redirect_uri", WEB_REDIRECT),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("scope", "openid"),
            ("state", "xyz"),
            ("ui_locales", "fr-CA"),
            ("claims_locales", "fr"),
        ])
        .finish();
    let (status, _, body) = token(&router, PAR, Some(&basic("first-party", SECRET)), &pushed).await;
    assert_eq!(status, StatusCode::CREATED, "body: {body}");
    let request_uri = body["request_uri"].as_str().expect("a request_uri");
    let uri = authorize_url(AUTHORIZE, &[("client_id", "first-party"), ("request_uri", request_uri)]);
    let (status, headers, _) = browser_get(&router, &uri, Some(&session_cookie("alice"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, params) = redirect_params(&headers);
    assert!(params.contains_key("code"), "{params:?}");
    assert_eq!(
        locale_events(&host),
        ["authenticate ui_locales=fr-CA claims_locales=fr", "consent ui_locales=fr-CA claims_locales=fr"]
    );
}

#[tokio::test]
async fn locales_longer_than_the_bound_are_refused_to_the_client() {
    let (host, router) = setup();
    let (_, challenge) = pkce();
    let long = "en ".repeat(700);
    for (name, description) in
        [("ui_locales", "`ui_locales` is too long"), ("claims_locales", "`claims_locales` is too long")]
    {
        let uri = authorize_url(
            AUTHORIZE,
            &[
                ("response_type", "code"),
                ("client_id", "first-party"),
                ("redirect_uri", WEB_REDIRECT),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("scope", "openid"),
                ("state", "xyz"),
                (name, long.as_str()),
            ],
        );
        let (status, headers, _) = browser_get(&router, &uri, Some(&session_cookie("alice"))).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{name}");
        let (base, params) = redirect_params(&headers);
        assert_eq!(base, WEB_REDIRECT);
        assert_eq!(params.get("error").map(String::as_str), Some("invalid_request"), "{name}");
        assert_eq!(params.get("error_description").map(String::as_str), Some(description), "{name}");
        assert_eq!(params.get("iss").map(String::as_str), Some(ISSUER));
    }
    assert!(locale_events(&host).is_empty());
}

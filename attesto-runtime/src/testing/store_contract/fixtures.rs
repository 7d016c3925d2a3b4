//! Fixtures and helpers shared by the cases.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::HostError;
use crate::model::claims::{ClaimRequest, ClaimsRequest, RequestedClaims};
use crate::model::client::ClientId;
use crate::model::principal::AuthenticatedPrincipal;
use crate::model::scope::Scopes;
use crate::store::{
    AuthorizationCode, AuthorizationRequest, CodeIssue, PendingAuthorization, PendingStage, RefreshFamily,
    ResponseMode, Store, TokenHash, new_id, new_secret,
};

/// How many tasks race for one code or one refresh token.
pub(super) const RACERS: usize = 50;

const PENDING_LIFETIME: Duration = Duration::from_secs(600);
const CODE_LIFETIME: Duration = Duration::from_secs(60);
pub(super) const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
pub(super) const FAMILY_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
pub(super) const SECOND: Duration = Duration::from_secs(1);

/// The result of a store operation, or a panic naming the operation: a store that fails cannot
/// meet the contract.
#[track_caller]
pub(super) fn ok<T>(result: Result<T, HostError>, operation: &str) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("store contract: `{operation}` failed: {error:?}"),
    }
}

/// The current time, truncated to whole seconds, so that a store keeping times at second
/// precision (an SQLite `INTEGER` column, say) returns values equal to what was put.
pub(super) fn whole_seconds_now() -> SystemTime {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    UNIX_EPOCH + Duration::from_secs(since_epoch.as_secs())
}

/// The hash of a fresh random value, so that cases never collide in a shared store.
pub(super) fn fresh_hash() -> TokenHash {
    new_secret().1
}

/// A fresh random identifier with a readable prefix.
pub(super) fn fresh_id(kind: &str) -> String {
    format!("{kind}-{}", new_id())
}

/// Waits until every racer has reached this point, so that the racing operations start together
/// rather than one task finishing before the next one is spawned. Yields instead of blocking so
/// that it works with any number of runtime workers.
pub(super) async fn start_together(ready: &AtomicUsize) {
    ready.fetch_add(1, Ordering::SeqCst);
    while ready.load(Ordering::SeqCst) < RACERS {
        tokio::task::yield_now().await;
    }
}

pub(super) fn scopes(value: &str) -> Scopes {
    Scopes::parse(value).expect("fixture scopes are valid")
}

/// A principal with every optional field set.
pub(super) fn principal(now: SystemTime) -> AuthenticatedPrincipal {
    AuthenticatedPrincipal::new(fresh_id("user"), now - Duration::from_secs(30))
        .with_acr("urn:example:acr:mfa")
        .with_amr(["pwd", "otp"])
        .with_session_id(fresh_id("session"))
}

/// A request with every optional field set, and text that needs escaping in most encodings.
pub(super) fn full_request(now: SystemTime) -> AuthorizationRequest {
    AuthorizationRequest {
        client_id: ClientId::new("contract-client"),
        redirect_uri: "https://client.example.com/callback?from=contract&x=%20y".to_owned(),
        redirect_uri_sent: true,
        response_mode: ResponseMode::FormPost,
        state: Some(fresh_id("state \"quoted\" 'é'")),
        nonce: Some(fresh_id("nonce")),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
        scopes: scopes("openid profile email offline_access"),
        audience: vec!["https://api.example.com".to_owned(), "https://mcp.example.com/mcp".to_owned()],
        prompt_login: true,
        prompt_consent: true,
        prompt_none: false,
        max_age: Some(300),
        login_hint: Some("émile@example.com".to_owned()),
        acr_values: Some("urn:mace:incommon:iap:silver phr".to_owned()),
        ui_locales: vec!["de-CH".to_owned(), "fr".to_owned()],
        claims_locales: vec!["en".to_owned()],
        claims: Some(claims_request()),
        started_at: now - Duration::from_secs(5),
        dpop_jkt: Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".to_owned()),
        device_code: Some(TokenHash::of(&fresh_id("device code"))),
    }
}

/// A request with every optional field unset.
pub(super) fn minimal_request(now: SystemTime) -> AuthorizationRequest {
    AuthorizationRequest {
        client_id: ClientId::new("contract-public-client"),
        redirect_uri: "http://127.0.0.1:8765/callback".to_owned(),
        redirect_uri_sent: false,
        response_mode: ResponseMode::Query,
        state: None,
        nonce: None,
        code_challenge: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned(),
        scopes: scopes("read"),
        audience: vec!["https://mcp.example.com/mcp".to_owned()],
        prompt_login: false,
        prompt_consent: false,
        prompt_none: true,
        max_age: None,
        login_hint: None,
        acr_values: None,
        ui_locales: Vec::new(),
        claims_locales: Vec::new(),
        claims: None,
        started_at: now,
        dpop_jkt: None,
        device_code: None,
    }
}

pub(super) fn pending(request: AuthorizationRequest, stage: PendingStage, now: SystemTime) -> PendingAuthorization {
    PendingAuthorization { request, stage, expires_at: now + PENDING_LIFETIME }
}

pub(super) fn code_grant(now: SystemTime) -> AuthorizationCode {
    AuthorizationCode { request: full_request(now), principal: principal(now), expires_at: now + CODE_LIFETIME }
}

/// What a redemption issues: a fresh family id and `jti`, so racing redemptions are told apart.
pub(super) fn code_issue(now: SystemTime) -> CodeIssue {
    CodeIssue {
        family_id: fresh_id("family"),
        access_token_jti: fresh_id("jti"),
        access_token_expires_at: now + ACCESS_TOKEN_LIFETIME,
    }
}

pub(super) fn refresh_family(now: SystemTime) -> RefreshFamily {
    RefreshFamily {
        family_id: fresh_id("family"),
        client_id: ClientId::new("contract-client"),
        principal: principal(now),
        scopes: scopes("openid offline_access read"),
        audience: vec!["https://api.example.com".to_owned(), "https://mcp.example.com/mcp".to_owned()],
        expires_at: now + FAMILY_LIFETIME,
        dpop_jkt: Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".to_owned()),
        claims: Some(claims_request()),
        claims_locales: vec!["fr-CA".to_owned(), "en".to_owned()],
    }
}

/// A `claims` request (OIDC Core §5.5) with every kind of claim request in it.
pub(super) fn claims_request() -> ClaimsRequest {
    let essential = ClaimRequest { essential: true, value: None, values: None };
    let with_values = ClaimRequest { essential: true, value: None, values: Some(vec!["urn:mfa".into(), 2.into()]) };
    let with_value = ClaimRequest { essential: false, value: Some("user-1".into()), values: None };
    ClaimsRequest::new(
        Some(RequestedClaims::new([
            ("name".to_owned(), ClaimRequest::default()),
            ("email".to_owned(), essential),
            ("https://example.com/claims/tier".to_owned(), ClaimRequest::default()),
        ])),
        Some(RequestedClaims::new([("acr".to_owned(), with_values), ("sub".to_owned(), with_value)])),
    )
}

/// A new family in the store, and its first token.
pub(super) async fn create_family<S: Store>(store: &S, now: SystemTime) -> (RefreshFamily, TokenHash) {
    let family = refresh_family(now);
    let token = fresh_hash();
    let created = ok(store.create_refresh_family(&family, &token).await, "create_refresh_family");
    assert!(created, "create_refresh_family of a new family id must return true");
    (family, token)
}

//! The token endpoint (RFC 6749 §3.2): request parsing, grant dispatch, and the RFC 9068 JWT
//! access token.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, header};
use serde::Serialize;

use crate::client::{Client, GrantType};
use crate::client_auth::{self, Presented};
use crate::config::{Attesto, Settings, normalize_resource};
use crate::error::{ErrorCode, OAuthError};
use crate::events::{EventSink, TokenDenied, TokenIssued};
use crate::form::{self, Form};
use crate::jwt;
use crate::provider::Provider;
use crate::scope::{ScopeDecision, ScopePolicy, Scopes};

/// Parameters that may appear more than once: RFC 8707 §2 `resource`.
const REPEATABLE: &[&str] = &["resource"];

/// Claims attesto sets itself; host claims never overwrite them (RFC 9068 §2.2).
const REGISTERED_CLAIMS: &[&str] = &["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "cnf"];

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub(crate) struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    scope: String,
}

impl IntoResponse for TokenResponse {
    fn into_response(self) -> Response {
        // Sized for the token and the other members, so that serialising does not reallocate.
        let mut body = Vec::with_capacity(self.access_token.len() + self.scope.len() + 96);
        if serde_json::to_writer(&mut body, &self).is_err() {
            body = Vec::new();
        }
        (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
                // RFC 6749 §5.1: responses with tokens must not be cached.
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                (header::PRAGMA, HeaderValue::from_static("no-cache")),
            ],
            body,
        )
            .into_response()
    }
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
struct AccessTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: Audience<'a>,
    exp: u64,
    iat: u64,
    jti: &'a str,
    client_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    scope: &'a str,
    #[serde(flatten)]
    extra: &'a serde_json::Map<String, serde_json::Value>,
}

/// `POST {token}`.
pub(crate) async fn handler<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    match token(&attesto, &parts.headers, body).await {
        Ok(response) => response.into_response(),
        Err(error) => error.into_response(),
    }
}

/// What the endpoint knew of a request when it failed, for the `token_denied` event.
#[derive(Default)]
struct Context {
    /// The credentials presented; their client id names the client in the event.
    presented: Option<Presented>,
    grant_type: Option<GrantType>,
}

async fn token<P: Provider>(
    attesto: &Attesto<P>,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<TokenResponse, OAuthError> {
    let mut context = Context::default();
    let result = exchange(attesto, headers, body, &mut context).await;
    if let Err(error) = &result {
        attesto.0.provider.event_sink().token_denied(&TokenDenied {
            client_id: context.presented.as_ref().map(|p| p.client_id.as_str()),
            grant_type: context.grant_type,
            error: error.code(),
            description: error.description(),
        });
    }
    result
}

async fn exchange<P: Provider>(
    attesto: &Attesto<P>,
    headers: &HeaderMap,
    body: axum::body::Body,
    context: &mut Context,
) -> Result<TokenResponse, OAuthError> {
    form::require_form_content_type(headers)?;
    let body = form::read_body(body).await?;
    let form = Form::parse(&body, REPEATABLE)?;
    let grant_type = form.get("grant_type").ok_or_else(|| OAuthError::invalid_request("missing `grant_type`"))?;
    context.presented = client_auth::presented(headers, &form)?;
    match GrantType::parse(grant_type) {
        Some(GrantType::ClientCredentials) => {
            context.grant_type = Some(GrantType::ClientCredentials);
            client_credentials(attesto, &form, context.presented.as_ref()).await
        }
        // The authorization-code and refresh grants are not served by this release: saying so is
        // the truthful answer, and discovery does not list them.
        _ => Err(OAuthError::new(ErrorCode::UnsupportedGrantType, "this grant type is not supported")),
    }
}

/// The client credentials grant (RFC 6749 §4.4): a confidential client gets a token for itself.
async fn client_credentials<P: Provider>(
    attesto: &Attesto<P>,
    form: &Form<'_>,
    presented: Option<&Presented>,
) -> Result<TokenResponse, OAuthError> {
    let inner = &attesto.0;
    let provider = &inner.provider;
    // RFC 6749 §4.4.2: the client must authenticate.
    let presented = presented.ok_or_else(|| client_auth::invalid_client(None, "client authentication is required"))?;
    let client = client_auth::authenticate_confidential(provider, &inner.decoy_hash, presented).await?;
    if !client.allows_grant(GrantType::ClientCredentials) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the client may not use the client_credentials grant",
        ));
    }
    let requested = Scopes::parse(form.get("scope").unwrap_or_default())
        .map_err(|e| OAuthError::new(ErrorCode::InvalidScope, e.to_string()))?;
    let audience = audiences(&inner.settings, form)?;
    let scopes = match provider.scope_policy().authorize_scope(&client, &requested).await? {
        ScopeDecision::Grant(scopes) => scopes,
        ScopeDecision::Refuse(reason) => return Err(OAuthError::new(ErrorCode::InvalidScope, reason)),
    };
    // RFC 9068 §2.2: for a client acting for itself, `sub` is the client id.
    let principal = provider.build_principal(&client, client.client_id.as_str(), &scopes).await?;
    issue(attesto, &client, &principal.subject, &principal.claims, &scopes, &audience, GrantType::ClientCredentials)
}

/// The audiences of a token: the resources asked for (RFC 8707 §2), each one the provider knows,
/// or the default audience when none was asked for.
fn audiences<'s>(settings: &'s Settings, form: &Form<'_>) -> Result<Cow<'s, [String]>, OAuthError> {
    let mut audience: Vec<String> = Vec::new();
    for value in form.all("resource") {
        let normalized = normalize_resource(value)
            .map_err(|reason| OAuthError::new(ErrorCode::InvalidTarget, format!("`resource` {reason}")))?;
        let resource = settings.resources.iter().find(|r| r.normalized == normalized).ok_or_else(|| {
            OAuthError::new(ErrorCode::InvalidTarget, "the requested resource is unknown to this server")
        })?;
        if !audience.contains(&resource.audience) {
            audience.push(resource.audience.clone());
        }
    }
    if audience.is_empty() {
        return Ok(Cow::Borrowed(&settings.default_audience));
    }
    Ok(Cow::Owned(audience))
}

/// Mints an access token: one signature, no store write.
fn issue<P: Provider>(
    attesto: &Attesto<P>,
    client: &Client,
    subject: &str,
    extra: &serde_json::Map<String, serde_json::Value>,
    scopes: &Scopes,
    audience: &[String],
    grant_type: GrantType,
) -> Result<TokenResponse, OAuthError> {
    let inner = &attesto.0;
    let ttl = inner.settings.access_token_ttl.as_secs();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let jti = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
    let scope = scopes.to_string();
    let filtered;
    let extra = if extra.keys().any(|k| REGISTERED_CLAIMS.contains(&k.as_str())) {
        filtered = extra
            .iter()
            .filter(|(k, _)| !REGISTERED_CLAIMS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        &filtered
    } else {
        extra
    };
    let claims = AccessTokenClaims {
        iss: inner.settings.issuer.as_str(),
        sub: subject,
        aud: match audience {
            [one] => Audience::One(one),
            many => Audience::Many(many),
        },
        exp: now + ttl,
        iat: now,
        jti: &jti,
        client_id: client.client_id.as_str(),
        scope: &scope,
        extra,
    };
    let access_token = jwt::encode(inner.keys.signing_key(), jwt::ACCESS_TOKEN_TYP, &claims).map_err(|error| {
        tracing::error!(%error, "signing an access token failed");
        OAuthError::new(ErrorCode::ServerError, "the token could not be signed")
    })?;
    inner.provider.event_sink().token_issued(&TokenIssued {
        client_id: client.client_id.as_str(),
        subject,
        grant_type,
        scope: &scope,
        audience,
        jti: &jti,
    });
    Ok(TokenResponse { access_token, token_type: "Bearer", expires_in: ttl, scope })
}

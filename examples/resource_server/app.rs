//! The app of `examples/resource_server.rs`: an MCP-style resource server at `/mcp` that trusts
//! an authorization server running elsewhere, known by its issuer alone. `tests/it/
//! resource_server_example.rs` includes this file with `#[path]` and serves the very same app on
//! loopback ports, next to a provider of its own.
//!
//! The guard is a `RemoteGuard`: it finds the provider through its RFC 8414 metadata and verifies
//! tokens with the provider's JWKS. Nothing is fetched at start-up, so the resource server starts
//! while its authorization server is down: a request with a token is answered `503
//! temporarily_unavailable` until the keys can be fetched (without them no token can be verified,
//! and a `401` would make the client throw away a token that may be good), tried again at most
//! once per `jwks_min_refresh_interval`.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use attesto::{Authenticated, RemoteGuard, RemoteGuardError};
use axum::Json;
use axum::routing::get;
use serde_json::{Value, json};

/// What the app is built from.
#[derive(Debug, Clone)]
pub struct Options {
    /// The issuer of the authorization server whose tokens are accepted, exactly as in their
    /// `iss`: `https`, or `http` on a loopback host.
    pub issuer: String,
    /// Where the app is reached, `http://127.0.0.1:PORT`: the MCP endpoint is `{origin}/mcp`, the
    /// `aud` its tokens must carry.
    pub origin: String,
    /// The scopes every request needs.
    pub scopes: Vec<String>,
    /// The least time between two attempts to fetch the provider's keys while none could be had
    /// (and between two fetches for an unknown `kid`).
    pub retry_interval: Duration,
}

/// The URLs the app serves, for the start-up text and the tests.
#[derive(Debug, Clone)]
pub struct Info {
    /// The MCP endpoint: the protected resource, and the `aud` of the tokens it accepts.
    pub mcp_url: String,
    /// Its protected-resource metadata (RFC 9728 §3.1).
    pub resource_metadata_url: String,
    /// The issuer trusted.
    pub issuer: String,
    /// The scopes required.
    pub scopes: Vec<String>,
}

/// What `/mcp` answers a caller the guard let in: who it is, as the token says.
async fn whoami(who: Authenticated) -> Json<Value> {
    Json(json!({
        "subject": who.subject,
        "client_id": who.client_id.as_str(),
        "scopes": who.scopes.iter().map(ToString::to_string).collect::<Vec<_>>(),
    }))
}

/// The router (`/mcp` behind the guard, and the RFC 9728 document) and its URLs. Fetches
/// nothing: the guard discovers the provider at the first request with a token.
pub async fn app(options: Options) -> Result<(axum::Router, Info), RemoteGuardError> {
    let Options { issuer, origin, scopes, retry_interval } = options;
    let mcp_url = format!("{origin}/mcp");
    let guard = RemoteGuard::new(&issuer, &mcp_url)
        .jwks_min_refresh_interval(retry_interval)
        .build()
        .await?
        .require_scopes(scopes.iter().cloned());
    let info = Info { mcp_url, resource_metadata_url: guard.resource_metadata_url().to_owned(), issuer, scopes };
    // `Authenticated` as an extractor, with the guard as the router's state: GET and POST alike.
    let mcp = axum::Router::new().route("/mcp", get(whoami).post(whoami)).with_state(guard.clone());
    Ok((mcp.merge(guard.metadata_router()), info))
}

/// The start-up text: what is served, and what is trusted.
pub fn banner(info: &Info) -> String {
    let scopes = if info.scopes.is_empty() { "none".to_owned() } else { info.scopes.join(" ") };
    format!(
        "attesto resource server\
         \n\n  MCP endpoint        {mcp}   (tokens with aud = this URL)\
         \n  resource metadata   {prm}\
         \n  trusted issuer      {issuer}   (keys fetched at the first request, not before)\
         \n  scopes required     {scopes}\
         \n\nuntil the issuer's keys can be fetched, a request with a token is answered 503;\
         \nwithout a token, /mcp answers 401 with the resource metadata URL:\
         \n\n  curl -si {mcp}\n",
        mcp = info.mcp_url,
        prm = info.resource_metadata_url,
        issuer = info.issuer,
    )
}

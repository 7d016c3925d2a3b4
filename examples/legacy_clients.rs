//! A host whose clients already live in the `oauth_clients` table of the provider it replaces,
//! served by attesto through `ClientStore` **without migrating a row** (the migration checklist's
//! step 3), and whose clients' tokens, in that provider's `oauth_tokens` table, are **carried
//! over** through `LegacyTokens` until a cut-off: an old refresh token is exchanged once for
//! attesto tokens, an old access token is accepted by the guard of `/api/invoices`. The mappings
//! are in `legacy_clients/mapping.rs` (tested by `tests/it/legacy_clients.rs`) and
//! `legacy_clients/tokens.rs` (tested by `tests/it/side_by_side.rs`).
//!
//! ```text
//! cargo run --example legacy_clients --features sqlite [-- sqlite://legacy.db]
//! ```
//!
//! The example plays the old system first: it creates `oauth_clients` and `oauth_tokens` the way
//! the old provider had them and, when they are empty, writes two clients the way the old
//! provider did (hex SHA-256 secrets, newline-separated redirect URIs) and one grant of the
//! confidential client's, with its tokens hashed. Then it serves attesto on 127.0.0.1:8080,
//! reading that table as it is. attesto's own state goes into the same database, in tables of its
//! own (`attesto_…`), beside the old one and never in it. Without an argument the database is
//! `sqlite::memory:`.
//!
//! Sign-in is the host's business and not part of this example (see the quickstart for a login
//! page): the authorization endpoint sends browsers to `/login`. The start-up text prints a
//! `client_credentials` request for the legacy confidential client, the exchange of its old
//! refresh token, and a call to the API with its old access token.

#[path = "legacy_clients/mapping.rs"]
mod mapping;
#[path = "legacy_clients/tokens.rs"]
mod tokens;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use attesto::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use attesto::{
    Attesto, Authenticated, Client, ClientStore, HostError, Key, LegacyAccessToken, LegacyGrant, LegacyTokens,
    LoginOutcome, LoginRequest, PrincipalStore, SqliteStore,
};
use axum::routing::get;
use mapping::{LEGACY_TABLE, LegacyClients, insert_legacy_client};
use tokens::{LEGACY_TOKENS_TABLE, LegacyTokenTable, OldGrant, insert_legacy_grant};

const ISSUER: &str = "http://127.0.0.1:8080";
/// The old system's demo client and its secret (the table holds only the hash).
const LEGACY_CLIENT: &str = "billing-service";
const LEGACY_SECRET: &str = "legacy-secret-from-the-old-provider";
/// The old grant's tokens, as the old provider handed them to the client (the table holds only
/// their hashes).
const OLD_ACCESS_TOKEN: &str = "old-access-2f6b1c";
const OLD_REFRESH_TOKEN: &str = "old-refresh-93a7de";
/// The API the old tokens were for, now behind attesto's guard.
const API: &str = "http://127.0.0.1:8080/api/invoices";
/// How long old tokens are carried over: the old refresh tokens lived 90 days, so after that
/// every client that still had one has come back.
const OVERLAP: Duration = Duration::from_secs(90 * 86_400);

/// The host: the legacy tables for clients and tokens, its own login for users.
#[derive(Clone)]
#[attesto::provider]
struct Host {
    clients: LegacyClients,
    tokens: LegacyTokenTable,
}

/// Every lookup reads `oauth_clients` as it is (see `mapping.rs`).
impl ClientStore for Host {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        self.clients.load_client(client_id).await
    }

    async fn verify_client_secret(&self, client: &Client, secret: &str) -> Result<bool, HostError> {
        self.clients.verify_client_secret(client, secret).await
    }
}

/// The old tokens, read from `oauth_tokens` as they are (see `tokens.rs`) until the cut-off.
impl LegacyTokens for Host {
    fn accepted_until(&self) -> SystemTime {
        self.tokens.accepted_until()
    }

    async fn verify_refresh_token(&self, token: &str) -> Result<Option<LegacyGrant>, HostError> {
        self.tokens.verify_refresh_token(token).await
    }

    async fn verify_access_token(&self, token: &str) -> Result<Option<LegacyAccessToken>, HostError> {
        self.tokens.verify_access_token(token).await
    }
}

impl PrincipalStore for Host {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        // The host's own login page, which sends the browser back to `resume_uri` once signed in.
        let return_to: String = form_urlencoded::byte_serialize(request.resume_uri.as_bytes()).collect();
        Ok(LoginOutcome::Redirect(format!("/login?return_to={return_to}")))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let url = std::env::args().nth(1).unwrap_or_else(|| "sqlite::memory:".to_owned());
    let options: SqliteConnectOptions = url.parse()?;
    let pool = if url.contains(":memory:") {
        // One connection, never closed: an in-memory database lives as long as its connection,
        // and both the legacy table and attesto's must be in the same one.
        SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?
    } else {
        SqlitePoolOptions::new()
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options.create_if_missing(true))
            .await?
    };

    // The old system: its tables, and its rows when there are none yet.
    attesto::sqlx::query(LEGACY_TABLE).execute(&pool).await?;
    attesto::sqlx::query(LEGACY_TOKENS_TABLE).execute(&pool).await?;
    let (rows,): (i64,) = attesto::sqlx::query_as("SELECT count(*) FROM oauth_clients").fetch_one(&pool).await?;
    if rows == 0 {
        let redirects = ["https://billing.example.com/oauth/callback", "https://billing.example.com/alt"];
        insert_legacy_client(&pool, LEGACY_CLIENT, Some(LEGACY_SECRET), &redirects, "invoices:read invoices:write")
            .await?;
        insert_legacy_client(&pool, "mobile-app", None, &["com.example.app:/callback"], "openid profile").await?;
        let grant = OldGrant {
            access_token: OLD_ACCESS_TOKEN,
            refresh_token: Some(OLD_REFRESH_TOKEN),
            client_id: LEGACY_CLIENT,
            user_id: "alice",
            scopes: "invoices:read",
            resource: Some(API),
            access_expires_at: SystemTime::now() + Duration::from_secs(3600),
        };
        insert_legacy_grant(&pool, &grant).await?;
    }

    // attesto's state, in its own tables of the same database.
    let store = SqliteStore::from_pool(pool.clone());
    store.migrate().await?;
    // In production the cut-off is a fixed date in the configuration, so that a restart does not
    // move it.
    let tokens = LegacyTokenTable::new(pool.clone(), SystemTime::now() + OVERLAP);
    let auth = Attesto::builder(Host { clients: LegacyClients::new(pool), tokens })
        .issuer(ISSUER)?
        .signing_key(Key::generate_for_development()?)
        .protected_resource(API, ["invoices:read"])?
        .store(store)
        .build()?;
    // The API: old access tokens (until the cut-off) and attesto's, for this resource only.
    let guard = auth.guard(API)?.require_scopes(["invoices:read"]);
    let api = axum::Router::new().route("/api/invoices", get(invoices)).with_state(guard);
    let app = axum::Router::new().merge(auth.router()).merge(api);
    let address = SocketAddr::from(([127, 0, 0, 1], 8080));
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!(
        "\nattesto on {ISSUER}, clients read from oauth_clients in {url}\n\
         \na token for the legacy client `{LEGACY_CLIENT}`, checked against the old hex SHA-256:\n\
         \n  curl -s -u '{LEGACY_CLIENT}:{LEGACY_SECRET}' -d grant_type=client_credentials \
         -d 'scope=invoices:read' {ISSUER}{token}\n\
         \nthe API with the old provider's access token, read from oauth_tokens:\n\
         \n  curl -s -H 'Authorization: Bearer {OLD_ACCESS_TOKEN}' {API}\n\
         \nthe old refresh token exchanged for attesto tokens (once: a second time is refused, and revokes them):\n\
         \n  curl -s -u '{LEGACY_CLIENT}:{LEGACY_SECRET}' -d grant_type=refresh_token \
         -d 'refresh_token={OLD_REFRESH_TOKEN}' {ISSUER}{token}\n",
        token = Host::PATHS.token,
    );
    axum::serve(listener, app).with_graceful_shutdown(async { drop(tokio::signal::ctrl_c().await) }).await?;
    Ok(())
}

/// The API: whoever the guard let in, with an old token or an attesto one.
async fn invoices(who: Authenticated) -> String {
    format!("invoices of {} (client {}, token from {:?})\n", who.subject, who.client_id.as_str(), who.source)
}

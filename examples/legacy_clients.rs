//! A host whose clients already live in the `oauth_clients` table of the provider it replaces,
//! served by attesto through `ClientStore` **without migrating a row** (the migration checklist's
//! step 3). The mapping is in `legacy_clients/mapping.rs`, which `tests/it/legacy_clients.rs`
//! tests.
//!
//! ```text
//! cargo run --example legacy_clients --features sqlite [-- sqlite://legacy.db]
//! ```
//!
//! The example plays the old system first: it creates `oauth_clients` the way the old provider
//! had it and, when the table is empty, writes two clients the way the old provider did (hex
//! SHA-256 secrets, newline-separated redirect URIs). Then it serves attesto on 127.0.0.1:8080,
//! reading that table as it is. attesto's own state goes into the same database, in tables of its
//! own (`attesto_…`), beside the old one and never in it. Without an argument the database is
//! `sqlite::memory:`.
//!
//! Sign-in is the host's business and not part of this example (see the quickstart for a login
//! page): the authorization endpoint sends browsers to `/login`. The start-up text prints a
//! `client_credentials` request for the legacy confidential client.

#[path = "legacy_clients/mapping.rs"]
mod mapping;

use std::net::SocketAddr;
use std::time::Duration;

use attesto::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use attesto::{Attesto, Client, ClientStore, HostError, Key, LoginOutcome, LoginRequest, PrincipalStore, SqliteStore};
use mapping::{LEGACY_TABLE, LegacyClients, insert_legacy_client};

const ISSUER: &str = "http://127.0.0.1:8080";
/// The old system's demo client and its secret (the table holds only the hash).
const LEGACY_CLIENT: &str = "billing-service";
const LEGACY_SECRET: &str = "legacy-secret-from-the-old-provider";

/// The host: the legacy table for clients, its own login for users.
#[derive(Clone)]
#[attesto::provider]
struct Host {
    clients: LegacyClients,
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

    // The old system: its table, and its rows when there are none yet.
    attesto::sqlx::query(LEGACY_TABLE).execute(&pool).await?;
    let (rows,): (i64,) = attesto::sqlx::query_as("SELECT count(*) FROM oauth_clients").fetch_one(&pool).await?;
    if rows == 0 {
        let redirects = ["https://billing.example.com/oauth/callback", "https://billing.example.com/alt"];
        insert_legacy_client(&pool, LEGACY_CLIENT, Some(LEGACY_SECRET), &redirects, "invoices:read invoices:write")
            .await?;
        insert_legacy_client(&pool, "mobile-app", None, &["com.example.app:/callback"], "openid profile").await?;
    }

    // attesto's state, in its own tables of the same database.
    let store = SqliteStore::from_pool(pool.clone());
    store.migrate().await?;
    let auth = Attesto::builder(Host { clients: LegacyClients::new(pool) })
        .issuer(ISSUER)?
        .signing_key(Key::generate_for_development()?)
        .store(store)
        .build()?;
    let app = axum::Router::new().merge(auth.router());
    let address = SocketAddr::from(([127, 0, 0, 1], 8080));
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!(
        "\nattesto on {ISSUER}, clients read from oauth_clients in {url}\n\
         \na token for the legacy client `{LEGACY_CLIENT}`, checked against the old hex SHA-256:\n\
         \n  curl -s -u '{LEGACY_CLIENT}:{LEGACY_SECRET}' -d grant_type=client_credentials \
         -d 'scope=invoices:read' {ISSUER}{token}\n",
        token = Host::PATHS.token,
    );
    axum::serve(listener, app).with_graceful_shutdown(async { drop(tokio::signal::ctrl_c().await) }).await?;
    Ok(())
}

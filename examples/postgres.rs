//! A provider on PostgreSQL, configured from the environment: the shape of an instance of which
//! several run behind a load balancer on one database.
//!
//! ```text
//! DATABASE_URL=postgres://attesto:secret@db.internal:5432/auth \
//! ATTESTO_ISSUER=https://auth.example.com \
//! ATTESTO_SIGNING_KEY_FILE=/run/secrets/attesto-signing-key.pem \
//! cargo run --example postgres --features postgres
//! ```
//!
//! | variable | |
//! |---|---|
//! | `DATABASE_URL` | required: the database; the migrations (tables `attesto_…`) are applied at start |
//! | `ATTESTO_ISSUER` | required: the issuer, the load balancer's public URL |
//! | `ATTESTO_SIGNING_KEY_FILE` | required: a PEM signing key, the same file for every instance |
//! | `ATTESTO_DPOP_NONCE_SECRET` | 64 hex digits, the same for every instance: DPoP nonces are then required (RFC 9449 §8) and one instance's nonce verifies at the others |
//! | `ATTESTO_LISTEN` | the address to listen on (default `127.0.0.1:8080`) |
//!
//! What the instances share through the database: codes (a code issued by one is redeemed at
//! another, once), refresh-token families (a token rotated at one is refused at the others), DPoP
//! proofs seen (a proof is accepted once across all of them), revoked access tokens (each instance
//! reads them at most every 5 seconds, `Builder::revocation_refresh_interval`) and the clients
//! registered with RFC 7591 (`PostgresRegistrations`). No sticky sessions are needed.
//!
//! Every client here registers itself (open registration, as MCP clients expect); a host with a
//! client table of its own reads it in `ClientStore::load_client` (see `legacy_clients.rs`).
//! Sign-in is the host's business and not part of this example (see the quickstart for a login
//! page): the authorization endpoint sends browsers to `{issuer}/login`.

use std::net::SocketAddr;

use attesto::{
    Attesto, Client, ClientId, ClientRegistration, ClientStore, HostError, Key, LoginOutcome, LoginRequest,
    PostgresRegistrations, PostgresStore, PrincipalStore, RegistrationStore,
};

/// The host: its registered clients in PostgreSQL, next to attesto's state.
#[derive(Clone)]
#[attesto::provider(registration)]
struct Host {
    registrations: PostgresRegistrations,
    login_url: String,
}

impl ClientStore for Host {
    async fn load_client(&self, _client_id: &str) -> Result<Option<Client>, HostError> {
        // No client table of the host's own: every client is a registered one.
        Ok(None)
    }
}

impl PrincipalStore for Host {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        // The host's login page, which sends the browser back to `resume_uri` once signed in.
        let return_to: String = form_urlencoded::byte_serialize(request.resume_uri.as_bytes()).collect();
        Ok(LoginOutcome::Redirect(format!("{}?return_to={return_to}", self.login_url)))
    }
}

/// Registered clients in PostgreSQL, shared by every instance. Registration is open (the default
/// `authorize_registration`).
impl RegistrationStore for Host {
    async fn create_client(&self, registration: &ClientRegistration) -> Result<(), HostError> {
        self.registrations.create_client(registration).await
    }
    async fn load_registration(&self, client_id: &ClientId) -> Result<Option<ClientRegistration>, HostError> {
        self.registrations.load_registration(client_id).await
    }
    async fn update_client(&self, registration: &ClientRegistration) -> Result<bool, HostError> {
        self.registrations.update_client(registration).await
    }
    async fn delete_client(&self, client_id: &ClientId) -> Result<bool, HostError> {
        self.registrations.delete_client(client_id).await
    }
}

/// A required environment variable.
fn required(name: &str) -> Result<String, String> {
    std::env::var(name).ok().filter(|value| !value.is_empty()).ok_or_else(|| format!("{name} is not set"))
}

/// A secret of the environment variable `name`: 32 bytes as 64 hex digits.
fn secret(name: &str, hex: &str) -> Result<[u8; 32], String> {
    let invalid = || format!("{name} must be 64 hex digits");
    let hex = hex.trim().as_bytes();
    // Hex digits only: `u8::from_str_radix` alone would also take a sign (`+5`).
    if hex.len() != 64 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return Err(invalid());
    }
    let mut secret = [0_u8; 32];
    for (byte, pair) in secret.iter_mut().zip(hex.chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| invalid())?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| invalid())?;
    }
    Ok(secret)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let database_url = required("DATABASE_URL")?;
    let issuer = required("ATTESTO_ISSUER")?;
    let key_file = required("ATTESTO_SIGNING_KEY_FILE")?;
    let listen: SocketAddr = std::env::var("ATTESTO_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:8080".to_owned())
        .parse()
        .map_err(|_| "ATTESTO_LISTEN must be an address such as 0.0.0.0:8080")?;
    let pem = std::fs::read_to_string(&key_file).map_err(|e| format!("ATTESTO_SIGNING_KEY_FILE {key_file}: {e}"))?;
    let key = Key::from_pem(&pem).map_err(|e| format!("ATTESTO_SIGNING_KEY_FILE {key_file}: {e}"))?;

    // Connects and applies the embedded migrations; every instance may do so at once.
    let store = PostgresStore::connect(&database_url).await.map_err(|e| format!("DATABASE_URL: {e}"))?;
    let host =
        Host { registrations: store.registrations(), login_url: format!("{}/login", issuer.trim_end_matches('/')) };
    let mut builder = Attesto::builder(host).issuer(&issuer)?.signing_key(key).store(store).scopes_supported([
        "openid",
        "profile",
        "email",
        "offline_access",
    ]);
    if let Ok(hex) = std::env::var("ATTESTO_DPOP_NONCE_SECRET") {
        builder = builder.dpop_nonce_secret(secret("ATTESTO_DPOP_NONCE_SECRET", &hex)?).require_dpop_nonce(true);
    }
    // The login resume handles: a user sent to the login page by one instance comes back to
    // whichever the load balancer picks, which must open the handle.
    if let Ok(hex) = std::env::var("ATTESTO_BROWSER_STATE_SECRET") {
        builder = builder.browser_state_secret(secret("ATTESTO_BROWSER_STATE_SECRET", &hex)?);
    }
    let auth = builder.build()?;

    let app = axum::Router::new().merge(auth.router());
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(%issuer, %listen, "attesto on PostgreSQL");
    axum::serve(listener, app).with_graceful_shutdown(async { drop(tokio::signal::ctrl_c().await) }).await?;
    Ok(())
}

//! The quickstart: a provider with embedded defaults — in-memory state, a generated ES256 key,
//! one demo confidential client.
//!
//! ```text
//! cargo run --example quickstart [-- --port 8080 --issuer http://127.0.0.1:8080]
//! ```
//!
//! The demo values come from the environment when set (`ATTESTO_DEMO_CLIENT_ID`,
//! `ATTESTO_DEMO_CLIENT_SECRET`, `ATTESTO_DEMO_REDIRECT_URIS`, `ATTESTO_DEMO_SCOPES`,
//! `ATTESTO_DEMO_RESOURCES`, `ATTESTO_DEMO_USER`, `ATTESTO_DEMO_PASSWORD`) and are printed at
//! start-up with a `curl` line that fetches a token.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use attesto::{
    Attesto, AuthenticatedPrincipal, Client, ClientStore, GrantType, HostError, Key, LoginOutcome, LoginRequest,
    PrincipalStore, Scopes, SecretHash,
};
use base64::Engine as _;

/// The host: what a real app keeps in its database, here in memory.
#[derive(Clone)]
#[attesto::provider]
struct Demo {
    clients: Arc<HashMap<String, Client>>,
    user: Arc<DemoUser>,
}

struct DemoUser {
    name: String,
    password: String,
}

impl ClientStore for Demo {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        Ok(self.clients.get(client_id).cloned())
    }
}

impl PrincipalStore for Demo {
    /// The demo signs its one user in with HTTP Basic credentials on the browser request; a real
    /// host reads its session cookie here and redirects to its login page otherwise.
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        let presented = request
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
            .and_then(|v| String::from_utf8(v).ok());
        // Compared as SHA-256 digests in constant time, like client secrets.
        let expected = SecretHash::of(&format!("{}:{}", self.user.name, self.user.password));
        Ok(match presented {
            Some(presented) if expected.verify(&presented) && !request.force_login => {
                LoginOutcome::Authenticated(AuthenticatedPrincipal::new(self.user.name.clone(), SystemTime::now()))
            }
            _ => LoginOutcome::LoginRequired,
        })
    }
}

struct Options {
    port: u16,
    issuer: Option<String>,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options { port: 8080, issuer: None };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let mut value = || inline.clone().or_else(|| args.next()).ok_or(format!("{name} needs a value"));
        match name.as_str() {
            "--port" => options.port = value()?.parse().map_err(|_| "--port must be a port number".to_owned())?,
            "--issuer" => options.issuer = Some(value()?),
            "-h" | "--help" => {
                println!("usage: quickstart [--port PORT] [--issuer URL]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    Ok(options)
}

fn env_or(name: &str, default: impl FnOnce() -> String) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(default)
}

/// 256 random bits, base64url: the demo secret when none is given.
fn random_secret() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let options = parse_args()?;
    let issuer = options.issuer.unwrap_or_else(|| format!("http://127.0.0.1:{}", options.port));

    let client_id = env_or("ATTESTO_DEMO_CLIENT_ID", || "demo-client".to_owned());
    let client_secret = env_or("ATTESTO_DEMO_CLIENT_SECRET", random_secret);
    let redirect_uris = env_or("ATTESTO_DEMO_REDIRECT_URIS", || "http://127.0.0.1:3000/callback".to_owned());
    let scopes = env_or("ATTESTO_DEMO_SCOPES", || "read write".to_owned());
    let resources = env_or("ATTESTO_DEMO_RESOURCES", || format!("http://127.0.0.1:{}/mcp", options.port));
    let user = env_or("ATTESTO_DEMO_USER", || "demo".to_owned());
    let password = env_or("ATTESTO_DEMO_PASSWORD", random_secret);

    let redirect_uris: Vec<&str> = redirect_uris.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    let client = Client::confidential(client_id.as_str(), SecretHash::of(&client_secret))
        .with_name("attesto demo client")
        .with_redirect_uris(redirect_uris.iter().copied())
        .with_grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::ClientCredentials])
        .with_scopes(Scopes::parse(&scopes).map_err(|e| format!("ATTESTO_DEMO_SCOPES: {e}"))?);
    let host = Demo {
        clients: Arc::new(HashMap::from([(client_id.clone(), client)])),
        user: Arc::new(DemoUser { name: user.clone(), password: password.clone() }),
    };

    let mut builder = Attesto::builder(host)
        .issuer(&issuer)?
        .signing_key(Key::generate_for_development()?)
        .scopes_supported(scopes.split(' ').filter(|s| !s.is_empty()));
    let resources: Vec<&str> = resources.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    for resource in &resources {
        builder = builder.resource(resource)?;
    }
    let auth = builder.build()?;
    let app = axum::Router::new().merge(auth.router());

    let address = SocketAddr::from(([127, 0, 0, 1], options.port));
    let listener = tokio::net::TcpListener::bind(address).await?;
    let token_url = auth.issuer().url_of(Demo::PATHS.token);
    println!(
        "\nattesto quickstart on http://{address}\n\
         \n  issuer          {issuer}\
         \n  discovery       {origin}/.well-known/oauth-authorization-server\
         \n  token endpoint  {token_url}\
         \n  client id       {client_id}\
         \n  client secret   {client_secret}\
         \n  redirect URIs   {redirect}\
         \n  scopes          {scopes}\
         \n  resources       {resource_list}\
         \n  demo user       {user} / {password}\
         \n\nfetch a token:\n\n  curl -s -u '{client_id}:{client_secret}' -d grant_type=client_credentials --data-urlencode 'scope={scopes}' {token_url}\n",
        origin = auth.issuer().origin(),
        redirect = redirect_uris.join(", "),
        resource_list = resources.join(", "),
    );
    axum::serve(listener, app).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}

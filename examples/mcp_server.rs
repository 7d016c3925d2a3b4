//! An MCP server over streamable HTTP (the official Rust SDK, `rmcp`) with three tools, protected by
//! attesto's guard, with attesto as its authorization server in the same process. The app is in
//! `mcp_server/app.rs`, which `tests/it/mcp.rs` serves too; `guides/mcp.md` walks through it.
//!
//! ```text
//! cargo run --example mcp_server [-- --port 8090 --key signing-key.pem --auto-approve alice]
//! ```
//!
//! It listens on 127.0.0.1 only, serves MCP at `/mcp` and prints its URLs. Users sign in on the
//! example's login page (a demo user and password are printed), then approve the client on
//! attesto's consent page. `--auto-approve USER` (development only) signs every authorization
//! request in as USER and approves it without a page, so that automated MCP clients and
//! conformance tools complete the flow without a browser.

#[path = "mcp_server/app.rs"]
mod app;
#[path = "support/flags.rs"]
mod flags;

use std::net::SocketAddr;
use std::path::PathBuf;

use attesto::Key;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::flags::Flags;

/// The default port: not the quickstart's 8080, so both can run at once.
const DEFAULT_PORT: u16 = 8090;

/// The command line.
struct Args {
    port: u16,
    /// `--auto-approve USER`.
    auto_approve: Option<String>,
    /// `--key FILE`: a PEM signing key, so that tokens survive a restart.
    key: Option<PathBuf>,
}

const USAGE: &str = "usage: mcp_server [--port PORT] [--key SIGNING_KEY.pem] [--auto-approve USER]

  --port PORT          listen on 127.0.0.1:PORT (default 8090)
  --key FILE           sign tokens with this PEM key (default: a key generated at each start)
  --auto-approve USER  DEVELOPMENT ONLY: sign every authorization request in as USER and approve
                       it without a page, for MCP clients and conformance tools without a browser";

fn parse_args() -> Result<Args, String> {
    let mut parsed = Args { port: DEFAULT_PORT, auto_approve: None, key: None };
    let mut flags = Flags::from_env();
    while let Some(name) = flags.next_flag() {
        match name.as_str() {
            "--port" => parsed.port = flags.value()?.parse().map_err(|_| "--port must be a port number".to_owned())?,
            "--key" => parsed.key = Some(flags.value()?.into()),
            "--auto-approve" => {
                let user = flags.value()?;
                if user.trim().is_empty() {
                    return Err("--auto-approve needs a user name".to_owned());
                }
                parsed.auto_approve = Some(user);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args = parse_args()?;
    let key = match &args.key {
        Some(path) => {
            let pem = std::fs::read_to_string(path).map_err(|e| format!("--key {}: {e}", path.display()))?;
            Key::from_pem(&pem).map_err(|e| format!("--key {}: {e}", path.display()))?
        }
        None => Key::generate_for_development()?,
    };
    let sign_in = match args.auto_approve {
        Some(user) => {
            tracing::warn!("development only: every authorization request is approved as {user}");
            app::SignIn::AutoApprove(user)
        }
        None => {
            app::SignIn::Login { user: "demo".to_owned(), password: URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()) }
        }
    };

    // Bound first, so that the issuer names the port actually listened on (`--port 0` works).
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port))).await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let (router, info) = app::app(app::Options { origin, sign_in: sign_in.clone(), key })?;
    println!("{}", banner(&info, &sign_in));
    axum::serve(listener, router).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

/// The start-up text: the URLs, how users sign in, and how to connect a client.
fn banner(info: &app::Info, sign_in: &app::SignIn) -> String {
    let sign_in = match sign_in {
        app::SignIn::AutoApprove(user) => format!(
            "\n  !!! DEVELOPMENT ONLY: every authorization request is approved as {user}, without a sign-in or\
             \n  !!! a consent page. Anyone who can reach this port gets tokens for {user}. Never expose it.\n"
        ),
        app::SignIn::Login { user, password } => format!(
            "\n  login page          {login}\
             \n  demo user           {user} / {password}\
             \n  (then approve the client on the consent page)\n",
            login = info.login_url.as_deref().unwrap_or_default(),
        ),
    };
    format!(
        "\nattesto MCP server example\
         \n\n  MCP endpoint        {mcp}   (scope {scope}; {admin} for the tool admin-action)\
         \n  resource metadata   {prm}\
         \n  AS metadata         {asm}\
         \n  registration        {registration}   (open, RFC 7591)\
         \n  client ID metadata  {documents}\
         \n  issuer              {issuer}\
         \n{sign_in}\
         \nconnect an MCP client to {mcp}, e.g. the MCP Inspector:\
         \n\n  npx @modelcontextprotocol/inspector\
         \n\n  (transport \"Streamable HTTP\", the URL above: it registers itself, then the user\
         \n  authorizes it in the browser)\n\
         \nwithout a token, /mcp answers 401 with the resource metadata URL:\
         \n\n  curl -si -X POST {mcp} -H 'Content-Type: application/json' -d '{{}}'\n",
        mcp = info.mcp_url,
        scope = app::MCP_SCOPE,
        admin = app::ADMIN_SCOPE,
        prm = info.resource_metadata_url,
        asm = info.authorization_server_metadata_url,
        registration = info.registration_url,
        documents = if cfg!(feature = "fetch") {
            "accepted: an https URL as client_id is fetched (MCP 2025-11-25)"
        } else {
            "not accepted (build with --features fetch to accept them)"
        },
        issuer = info.issuer,
    )
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}

//! A resource server deployed apart from its authorization server: an MCP-style endpoint at
//! `/mcp` that accepts the access tokens of the issuer it is given, found by its RFC 8414
//! metadata, verified with its JWKS (`RemoteGuard`). The app is in `resource_server/app.rs`,
//! which `tests/it/resource_server_example.rs` serves too.
//!
//! ```text
//! cargo run --example resource_server --features fetch -- --issuer http://127.0.0.1:8090 [--port 3001] [--scope mcp:tools]
//! ```
//!
//! It listens on 127.0.0.1 only and accepts only tokens whose `aud` is
//! `http://127.0.0.1:PORT/mcp` (RFC 8707). It starts whether or not the issuer is up: the keys are
//! fetched at the first request with a token, which is answered `503` until they can be.
//! Against the MCP example (`cargo run --example mcp_server -- --auto-approve alice`), ask for a
//! token with `resource=http://127.0.0.1:3001/mcp`.

#[path = "resource_server/app.rs"]
mod app;
#[path = "support/flags.rs"]
mod flags;

use std::net::SocketAddr;
use std::time::Duration;

use crate::flags::Flags;

/// The default port: not the quickstart's 8080 nor the MCP example's 8090.
const DEFAULT_PORT: u16 = 3001;

/// The command line.
struct Args {
    issuer: String,
    port: u16,
    scopes: Vec<String>,
    retry_interval: Duration,
}

const USAGE: &str = "usage: resource_server --issuer URL [--port PORT] [--scope SCOPE]... [--retry SECONDS]

  --issuer URL     the issuer whose tokens are accepted (https, or http on a loopback host)
  --port PORT      listen on 127.0.0.1:PORT (default 3001); tokens need aud = http://127.0.0.1:PORT/mcp
  --scope SCOPE    a scope every request needs (repeatable; default none)
  --retry SECONDS  the least time between two fetches of the issuer's keys while it is down
                   (default 30, from 1 to 3600)";

fn parse_args() -> Result<Args, String> {
    let mut issuer = None;
    let mut parsed =
        Args { issuer: String::new(), port: DEFAULT_PORT, scopes: Vec::new(), retry_interval: Duration::from_secs(30) };
    let mut flags = Flags::from_env();
    while let Some(name) = flags.next_flag() {
        match name.as_str() {
            "--issuer" => issuer = Some(flags.value()?),
            "--port" => parsed.port = flags.value()?.parse().map_err(|_| "--port must be a port number".to_owned())?,
            "--scope" => {
                let scope = flags.value()?;
                if scope.is_empty() || scope.contains(' ') {
                    return Err("--scope takes one scope (repeat it for several)".to_owned());
                }
                parsed.scopes.push(scope);
            }
            "--retry" => {
                let seconds = flags.value()?.parse().map_err(|_| "--retry must be a number of seconds".to_owned())?;
                parsed.retry_interval = Duration::from_secs(seconds);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    parsed.issuer = issuer.ok_or("--issuer is required (try --help)")?;
    Ok(parsed)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args = parse_args()?;
    // Bound first, so that the resource names the port actually listened on (`--port 0` works).
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port))).await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let options =
        app::Options { issuer: args.issuer, origin, scopes: args.scopes, retry_interval: args.retry_interval };
    let (router, info) = app::app(options).await?;
    println!("{}", app::banner(&info));
    axum::serve(listener, router).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}

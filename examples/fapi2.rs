//! A provider in the FAPI 2.0 Security Profile: `cargo run --example fapi2`.
//!
//! ```text
//! cargo run --example fapi2 -- [--message-signing] [--port 8443] [--demo]
//! ```
//!
//! It serves `http://127.0.0.1:PORT` (loopback only: every sign-in is `alice`, a development
//! switch; behind a TLS terminator in production, FAPI 2.0 §5.2). Clients register themselves
//! (`POST /oauth/register`) with `private_key_jwt` and their public keys, push every request
//! (`/oauth/par`), prove a DPoP key at the token endpoint, and sign with ES256, PS256 or EdDSA.
//! `--message-signing` adds FAPI 2.0 Message Signing: signed request objects and signed
//! authorization responses (`response_mode=jwt`). `--demo` runs the hand-written client of
//! `fapi2/client.rs` against the server once and prints what it got.
//!
//! The provider is in `fapi2/app.rs`; `tests/it/fapi2.rs` serves it and runs the same client.

#[path = "fapi2/app.rs"]
mod app;
#[path = "fapi2/client.rs"]
mod client;

/// The default port: not the quickstart's 8080 nor the MCP example's 8090.
const DEFAULT_PORT: u16 = 8443;

const USAGE: &str = "usage: fapi2 [--message-signing] [--port PORT] [--demo]";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut message_signing = false;
    let mut demo = false;
    let mut port = DEFAULT_PORT;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--message-signing" => message_signing = true,
            "--demo" => demo = true,
            "--port" => port = args.next().and_then(|p| p.parse().ok()).ok_or(USAGE)?,
            _ => return Err(format!("unknown argument `{arg}`\n{USAGE}").into()),
        }
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let issuer = format!("http://{}", listener.local_addr()?);
    let auth = app::provider(&issuer, message_signing)?;
    let profile =
        if message_signing { "FAPI 2.0 Security Profile + Message Signing" } else { "FAPI 2.0 Security Profile" };
    println!("{profile} provider at {issuer}");
    println!("metadata: {issuer}/.well-known/oauth-authorization-server");
    let server = tokio::spawn(async move { axum::serve(listener, auth.router()).await });
    if demo {
        let outcome = match client::Partner::new(&issuer, message_signing, &app::SCOPES.join(" ")) {
            Ok(partner) => partner.run().await,
            Err(error) => Err(error),
        };
        match outcome {
            Ok(outcome) => println!(
                "demo client {}: {} token bound to {} ({}), ID token {} (nonce {}), {} refreshes with one refresh token",
                outcome.client_id,
                outcome.token_type,
                outcome.jkt,
                if outcome.jkt == outcome.dpop_thumbprint { "the client's DPoP key" } else { "ANOTHER KEY" },
                if outcome.id_token.is_some() { "received" } else { "missing" },
                outcome.nonce,
                outcome.refreshes
            ),
            Err(error) => eprintln!("demo client failed: {error}"),
        }
    }
    server.await??;
    Ok(())
}

//! The smallest MCP server protected by attesto: `cargo run --example mcp_minimal`.
//! Clients register themselves; every sign-in is `demo-user` (development only).
use std::sync::Arc;

use attesto::{Attesto, ClientStore, Key, MemoryRegistrations};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};

#[derive(Clone, Default)]
#[attesto::provider(resource = "/mcp", registration = "registrations", dev_sign_in = "demo-user")]
struct Auth {
    registrations: MemoryRegistrations,
}

impl ClientStore for Auth {} // no clients of its own: they all register

pub(crate) fn app(origin: &str) -> Result<axum::Router, Box<dyn std::error::Error + Send + Sync>> {
    let auth = Attesto::builder(Auth::default())
        .issuer(origin)?
        .scopes_supported(["mcp:tools"])
        .signing_key(Key::generate_for_development()?)
        .build()?;
    let guard = auth.resource_guard()?.require_scopes(["mcp:tools"]);
    let config = StreamableHttpServerConfig::default().with_legacy_session_mode(false).with_json_response(true);
    let mcp = StreamableHttpService::new(|| Ok(Hello), Arc::new(NeverSessionManager::default()), config);
    Ok(auth.router().merge(auth.protect(guard, mcp)?))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("MCP server at http://127.0.0.1:3000/mcp");
    axum::serve(listener, app("http://127.0.0.1:3000")?).await?;
    Ok(())
}

/// The MCP server: one tool.
#[derive(Debug, Clone)]
struct Hello;

#[tool_router]
impl Hello {
    #[tool(description = "Says hello.")]
    fn hello(&self) -> String {
        "Hello from an MCP server protected by attesto".to_owned()
    }
}

#[tool_handler(name = "attesto-mcp-minimal", version = "0.1.0")]
impl ServerHandler for Hello {}

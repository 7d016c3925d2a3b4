//! Scopes per MCP tool, answered over HTTP (MCP 2025-11-25, "Runtime insufficient scope
//! errors"; RFC 6750 §3.1): every tool of an MCP server sits behind one route, and an MCP SDK
//! turns a tool's error into a JSON-RPC error inside an HTTP 200, which no client takes for a
//! reason to authorize again. [`ToolScopes`] reads the JSON-RPC request before the MCP server
//! does, and answers a `tools/call` of a tool whose scopes the token lacks with the guard's
//! `403 insufficient_scope` itself. It knows JSON-RPC 2.0 only, not any MCP implementation.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode};
use serde_json::Value;
use tower::{Layer, Service};

use crate::error::{ErrorCode, OAuthError};
use crate::protocol::form;
use crate::resource_server::guard::BoxFuture;
use crate::resource_server::token_check::Authenticated;

/// The largest JSON-RPC request read (1 MiB): past it, `413`. An MCP request is a method and
/// its arguments; a larger one is refused before it costs more than this.
pub const MAX_JSON_RPC_BODY: usize = 1024 * 1024;

/// The JSON-RPC method that calls a tool (MCP, "Tools": `tools/call`, its `params.name` the
/// tool).
const TOOLS_CALL: &str = "tools/call";

/// A table of MCP tools and the scopes each needs beyond those of its route, as a tower
/// [`Layer`] for the MCP server behind a [`Guard`](crate::Guard).
///
/// For every `POST` (its body read up to [`MAX_JSON_RPC_BODY`]; `413` past it), the layer reads
/// the JSON-RPC request, or each request of a batch (a JSON array), and for every `tools/call`
/// of a tool in the table requires the tool's scopes of the caller the guard let in
/// ([`Authenticated::require_scopes`]). A caller without them gets `403 insufficient_scope`
/// with a `WWW-Authenticate` challenge naming the route's scopes and the tools' (`DPoP` for a
/// DPoP-bound token) and the resource's RFC 9728 document, so that an MCP client authorizes
/// again with them and retries. Every other request (other methods, tools not in the table,
/// bodies that are not JSON) reaches the MCP server unchanged, the body as it came.
///
/// The layer runs after the guard, which puts the caller in the request's extensions: a
/// `tools/call` of a listed tool without a guard in front is refused with `500 server_error`,
/// never passed on unchecked.
///
/// ```no_run
/// # async fn run<P: attesto_runtime::Provider>(auth: attesto_runtime::Attesto<P>) -> Result<(), Box<dyn std::error::Error>> {
/// # let mcp = tower::service_fn(|_: axum::extract::Request| async { Ok::<_, std::convert::Infallible>("tools") });
/// use attesto_runtime::ToolScopes;
/// use tower::Layer as _;
///
/// // Every tool needs `mcp:tools`; `admin-action` needs `mcp:admin` as well.
/// let guard = auth.resource_guard()?.require_scopes(["mcp:tools"]);
/// let tools = ToolScopes::new().tool("admin-action", ["mcp:admin"]);
/// let app = auth.protect(guard, tools.layer(mcp))?.merge(auth.router());
/// # Ok(()) }
/// ```
///
/// The tool itself should still check its scopes (with [`Authenticated::require_scopes`]): the
/// layer keeps the MCP client informed, the tool keeps the rule where the action is.
#[derive(Debug, Clone, Default)]
pub struct ToolScopes {
    tools: Arc<HashMap<String, Vec<String>>>,
}

impl ToolScopes {
    /// An empty table: every request passes.
    pub fn new() -> Self {
        Self::default()
    }

    /// This table, with `tool` (its name exactly as in `tools/call`) requiring also `scopes`.
    /// Naming a tool twice adds to its scopes.
    #[must_use]
    pub fn tool<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tool: &str, scopes: I) -> Self {
        let tools = Arc::make_mut(&mut self.tools);
        let needed = tools.entry(tool.to_owned()).or_default();
        for scope in scopes {
            let scope = scope.into();
            if !needed.contains(&scope) {
                needed.push(scope);
            }
        }
        self
    }

    /// The scopes the JSON-RPC request `body` needs, over every `tools/call` of a tool in the
    /// table it holds (one request, or each of a batch); none for a body that is not JSON.
    pub(crate) fn scopes_needed(&self, body: &[u8]) -> Vec<&str> {
        let mut needed: Vec<&str> = Vec::new();
        // Not JSON: the MCP server answers it with a parse error (JSON-RPC 2.0 §5.1), and calls
        // no tool.
        let Ok(message) = serde_json::from_slice::<Value>(body) else {
            return needed;
        };
        // JSON-RPC 2.0 §6: a batch is an array of requests, each of which may call a tool.
        let messages = match &message {
            Value::Array(batch) => batch.as_slice(),
            single => std::slice::from_ref(single),
        };
        for tool in messages.iter().filter_map(called_tool) {
            for scope in self.tools.get(tool).into_iter().flatten() {
                if !needed.contains(&scope.as_str()) {
                    needed.push(scope);
                }
            }
        }
        needed
    }
}

/// The tool a JSON-RPC request calls: `params.name` of a `tools/call`.
fn called_tool(message: &Value) -> Option<&str> {
    if message.get("method")?.as_str()? != TOOLS_CALL {
        return None;
    }
    message.get("params")?.get("name")?.as_str()
}

impl<S> Layer<S> for ToolScopes {
    type Service = ToolScopesService<S>;

    fn layer(&self, inner: S) -> ToolScopesService<S> {
        ToolScopesService { inner, tools: self.clone() }
    }
}

/// The service of a [`ToolScopes`] layer: it passes on the requests whose tools the caller has
/// the scopes of, and answers the others `403 insufficient_scope`.
#[derive(Debug, Clone)]
pub struct ToolScopesService<S> {
    inner: S,
    tools: ToolScopes,
}

impl<S> Service<Request> for ToolScopesService<S>
where
    S: Service<Request, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The service polled ready is the one that is called (tower's `Service` contract).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let tools = self.tools.clone();
        Box::pin(async move {
            // Only a POST carries a JSON-RPC request to the MCP server (MCP, "Streamable HTTP");
            // an empty table has nothing to check.
            if request.method() != Method::POST || tools.tools.is_empty() {
                return Ok(inner.call(request).await?.into_response());
            }
            let (parts, body) = request.into_parts();
            // Any content type: a server that reads the body whatever its `Content-Type` says
            // would otherwise run a tool this layer never saw called.
            let body = match form::read_body_within(body, MAX_JSON_RPC_BODY).await {
                Ok(body) => body,
                Err(error) => return Ok(error.into_response()),
            };
            let needed = tools.scopes_needed(&body);
            if !needed.is_empty() {
                let Some(caller) = parts.extensions.get::<Authenticated>() else {
                    tracing::error!("`ToolScopes` is not behind a guard: a tool call needing scopes is refused");
                    return Ok(OAuthError::new(ErrorCode::ServerError, "the request was not checked by a guard")
                        .with_status(StatusCode::INTERNAL_SERVER_ERROR)
                        .into_response());
                };
                if let Err(refusal) = caller.require_scopes(needed) {
                    return Ok(refusal.into_response());
                }
            }
            Ok(inner.call(Request::from_parts(parts, Body::from(body))).await?.into_response())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> ToolScopes {
        ToolScopes::new().tool("admin-action", ["mcp:admin"]).tool("delete", ["mcp:admin", "mcp:delete"])
    }

    fn needed(body: &str) -> Vec<String> {
        table().scopes_needed(body.as_bytes()).into_iter().map(str::to_owned).collect()
    }

    #[test]
    fn a_call_of_a_listed_tool_needs_its_scopes() {
        let call = |tool: &str| {
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{{}}}}}}"#)
        };
        assert_eq!(needed(&call("admin-action")), ["mcp:admin"]);
        assert_eq!(needed(&call("delete")), ["mcp:admin", "mcp:delete"]);
        assert!(needed(&call("add")).is_empty(), "a tool not in the table");
        // Tool and method names are compared exactly, as JSON-RPC and MCP compare them.
        assert!(needed(&call("Admin-Action")).is_empty());
        let notification = r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"admin-action"}}"#;
        assert_eq!(needed(notification), ["mcp:admin"], "a notification calls the tool too");
    }

    #[test]
    fn every_request_of_a_batch_is_read() {
        let batch = r#"[
            {"jsonrpc":"2.0","id":1,"method":"tools/list"},
            {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}},
            {"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"delete"}},
            {"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"admin-action"}}
        ]"#;
        assert_eq!(needed(batch), ["mcp:admin", "mcp:delete"], "each scope once");
    }

    #[test]
    fn other_requests_need_nothing() {
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"name":"admin-action"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["admin-action"]}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
            r#"[]"#,
            r#""tools/call""#,
            "not json",
            "",
        ] {
            assert!(needed(body).is_empty(), "{body}");
        }
    }

    #[test]
    fn naming_a_tool_twice_adds_to_its_scopes() {
        let tools = ToolScopes::new().tool("t", ["a"]).tool("t", ["a", "b"]);
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}"#;
        assert_eq!(tools.scopes_needed(body.as_bytes()), ["a", "b"]);
    }
}

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
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
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
        let Ok(Requests(requests)) = serde_json::from_slice::<Requests>(body) else {
            return needed;
        };
        for request in requests.iter().filter(|request| request.methods.iter().any(|method| method == TOOLS_CALL)) {
            for scope in request.tools.iter().filter_map(|tool| self.tools.get(tool)).flatten() {
                if !needed.contains(&scope.as_str()) {
                    needed.push(scope);
                }
            }
        }
        needed
    }
}

/// The requests of a JSON-RPC body: one object, or each element of a batch (JSON-RPC 2.0 §6,
/// an array).
struct Requests(Vec<RpcRequest>);

/// What one JSON-RPC request says about tools: every `method` it names, and every `name` of its
/// `params`. Every one, not the last: a member named twice is left to each parser (RFC 8259
/// §4), and the MCP server's may take the one this one would not; a request that may be a call
/// of a listed tool is checked as one. The rest of the request is skipped without being kept.
#[derive(Default)]
struct RpcRequest {
    methods: Vec<String>,
    tools: Vec<String>,
}

/// The string values of the members named `name` of a JSON object; none for any other value.
struct Members(Vec<String>);

/// A JSON string; `None` for any other value.
struct Text(Option<String>);

/// Answers every JSON value a visitor does not look into as `$empty`, skipping its content.
macro_rules! anything_else_is {
    ($empty:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($empty)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($empty)
        }
    };
}

/// Skips the elements of an array.
fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Skips the members of an object.
fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

impl<'de> Deserialize<'de> for Requests {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Body;
        impl<'de> Visitor<'de> for Body {
            type Value = Requests;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON-RPC request or batch")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Requests, A::Error> {
                let mut requests = Vec::new();
                while let Some(request) = seq.next_element::<RpcRequest>()? {
                    requests.push(request);
                }
                Ok(Requests(requests))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Requests, A::Error> {
                RpcRequest::visit(map).map(|request| Requests(vec![request]))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Requests, E> {
                Ok(Requests(Vec::new()))
            }
            anything_else_is!(Requests(Vec::new()));
        }
        deserializer.deserialize_any(Body)
    }
}

impl RpcRequest {
    fn visit<'de, A: MapAccess<'de>>(mut map: A) -> Result<Self, A::Error> {
        let mut request = Self::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "method" => request.methods.extend(map.next_value::<Text>()?.0),
                "params" => request.tools.extend(map.next_value::<Members>()?.0),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(request)
    }
}

impl<'de> Deserialize<'de> for RpcRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Element;
        impl<'de> Visitor<'de> for Element {
            type Value = RpcRequest;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON-RPC request")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RpcRequest, A::Error> {
                RpcRequest::visit(map)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RpcRequest, A::Error> {
                skip_seq(seq).map(|()| RpcRequest::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<RpcRequest, E> {
                Ok(RpcRequest::default())
            }
            anything_else_is!(RpcRequest::default());
        }
        deserializer.deserialize_any(Element)
    }
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Params;
        impl<'de> Visitor<'de> for Params {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON-RPC params")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut names = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "name" {
                        names.extend(map.next_value::<Text>()?.0);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Members(names))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Members, A::Error> {
                skip_seq(seq).map(|()| Members(Vec::new()))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Members, E> {
                Ok(Members(Vec::new()))
            }
            anything_else_is!(Members(Vec::new()));
        }
        deserializer.deserialize_any(Params)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AnyValue;
        impl<'de> Visitor<'de> for AnyValue {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Text, E> {
                Ok(Text(Some(text.to_owned())))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Text, A::Error> {
                skip_map(map).map(|()| Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Text, A::Error> {
                skip_seq(seq).map(|()| Text(None))
            }
            anything_else_is!(Text(None));
        }
        deserializer.deserialize_any(AnyValue)
    }
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
    fn a_member_named_twice_counts_either_way() {
        // Parsers differ on which of two members of one name they keep (RFC 8259 §4): the
        // request is checked as the call it may be to the MCP server.
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"tools/list","params":{"name":"admin-action"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"admin-action"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"admin-action","name":"add"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add"},"params":{"name":"admin-action"}}"#,
            // Escaped names are the same names once decoded.
            r#"{"jsonrpc":"2.0","id":1,"\u006dethod":"tools\/call","params":{"name":"admin\u002daction"}}"#,
        ] {
            assert_eq!(needed(body), ["mcp:admin"], "{body}");
        }
    }

    #[test]
    fn naming_a_tool_twice_adds_to_its_scopes() {
        let tools = ToolScopes::new().tool("t", ["a"]).tool("t", ["a", "b"]);
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}"#;
        assert_eq!(tools.scopes_needed(body.as_bytes()), ["a", "b"]);
    }
}

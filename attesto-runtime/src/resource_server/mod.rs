//! The resource server's side: the in-process guard and the guard of a resource server deployed
//! apart from the provider, the sign-in requirements of RFC 9470 and the scopes of MCP tools.

pub(crate) mod guard;
pub(crate) mod mcp;
#[cfg(feature = "fetch")]
pub(crate) mod remote;
pub(crate) mod scheme;
pub(crate) mod step_up;
pub(crate) mod token_check;

//! attesto's integration tests, in one test binary: every suite is a module here, and the test
//! helpers they share are the first four modules. One binary links the crate and its
//! dependencies once, where a binary per file linked them once per file.
//!
//! Run one suite with a filter on its module: `cargo test --all-features --test it -- dpop::`.
//! The trybuild tests of the proc macros are in the `ui-tests/` crate.
//!
//! Every test here can share the process with the others: none installs a global tracing
//! subscriber, sets an environment variable or binds a fixed port. The one measurement,
//! `abuse::flood_memory_and_latency` (ignored by default), reads the memory of the whole process,
//! so it is run alone: `cargo test --release --test it -- --ignored flood_memory_and_latency`.

// Shared helpers.
mod common;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod databases;
mod quickstart_like;
#[cfg(feature = "postgres")]
mod served;

// The suites, one module per former test file.
mod abuse;
mod authorize;
#[cfg(feature = "fetch")]
mod backchannel_logout;
mod browser;
mod claims;
mod claims_request;
#[cfg(feature = "fetch")]
mod client_metadata;
mod code_flow;
mod cors;
mod declared_resource;
mod device;
mod discovery;
mod dpop;
mod dpop_corpus;
mod examples_index;
mod fapi2;
mod grants;
mod guard;
mod hardening;
#[cfg(feature = "fetch")]
mod id_jag;
#[cfg(feature = "postgres")]
mod instances;
mod introspection_jwt;
mod jar;
mod jarm;
#[cfg(feature = "sqlite")]
mod legacy_clients;
mod logout;
mod mcp;
mod mcp_minimal;
#[cfg(feature = "postgres")]
mod migration_history;
mod oidc;
#[cfg(feature = "postgres")]
mod outage;
mod pairwise;
mod par;
#[cfg(feature = "fetch")]
mod private_key_jwt;
mod production_guide;
mod properties;
mod registration;
#[cfg(feature = "fetch")]
mod remote_guard;
#[cfg(feature = "fetch")]
mod remote_guard_tls;
#[cfg(feature = "fetch")]
mod resource_server_example;
mod revocation;
#[cfg(feature = "sqlite")]
mod side_by_side;
mod step_up;
mod store;
mod token;
mod token_exchange;
mod tool_scopes;

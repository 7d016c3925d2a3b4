//! The protocol itself, as pure synchronous functions over values: parsing, validation, token
//! formats and documents. Nothing here does I/O, holds state, or knows the provider type.

pub(crate) mod access_token;
pub(crate) mod authorization_request;
pub(crate) mod claims_request;
pub(crate) mod client_assertion;
pub(crate) mod client_metadata;
pub mod discovery;
pub(crate) mod dpop_htu;
pub(crate) mod dpop_proof;
pub(crate) mod form;
pub(crate) mod id_token;
#[cfg(feature = "fetch")]
pub(crate) mod identity_assertion;
pub(crate) mod introspection_jwt;
pub(crate) mod jarm;
pub(crate) mod jwt;
pub(crate) mod legacy_token;
pub(crate) mod logout;
pub(crate) mod pairwise;
// Logout tokens are sent through the fetcher: without the feature `fetch`, nothing signs them.
#[cfg_attr(not(feature = "fetch"), allow(dead_code))]
pub(crate) mod logout_token;
pub(crate) mod pkce;
pub(crate) mod redirect_uri;
pub(crate) mod request_object;
pub(crate) mod resource_metadata;
pub(crate) mod sealed;
pub(crate) mod token_exchange;
pub(crate) mod user_code;
pub(crate) mod userinfo;

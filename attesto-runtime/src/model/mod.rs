//! The values attesto reasons about: clients, scopes, principals, the issuer, resources. No I/O.

pub(crate) mod client;
pub(crate) mod principal;
pub(crate) mod scope;

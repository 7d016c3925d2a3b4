//! The values attesto reasons about: clients, scopes, principals, the issuer, resources. No I/O.

pub(crate) mod address;
pub(crate) mod claims;
pub(crate) mod client;
pub(crate) mod declaration;
pub(crate) mod issuer;
pub(crate) mod loopback;
pub(crate) mod principal;
pub(crate) mod profile;
pub(crate) mod resource;
pub(crate) mod scope;

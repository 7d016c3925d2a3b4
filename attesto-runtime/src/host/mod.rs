//! What the host implements: the traits through which attesto asks the host's own tables and
//! policies, and the `Provider` trait the `#[attesto::provider]` macro implements.

pub(crate) mod clients;
pub(crate) mod consent;
pub(crate) mod dev;
pub(crate) mod events;
pub(crate) mod exchange;
pub(crate) mod identity_assertion;
pub(crate) mod legacy;
pub(crate) mod principals;
pub(crate) mod provider;
pub(crate) mod registrations;
pub(crate) mod scopes;
pub(crate) mod sessions;

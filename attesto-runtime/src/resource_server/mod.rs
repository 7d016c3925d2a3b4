//! The resource server's side: the in-process guard and the guard of a resource server deployed
//! apart from the provider.

pub(crate) mod guard;
#[cfg(feature = "fetch")]
pub(crate) mod remote;
pub(crate) mod step_up;
pub(crate) mod token_check;

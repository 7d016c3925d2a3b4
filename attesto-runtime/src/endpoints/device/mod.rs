//! The device authorization grant (RFC 8628), for devices without a browser (CLIs, headless
//! agents): the device asks for a device code and a user code (`authorization.rs`, §3.1–3.2),
//! the user enters the user code at a page of this server on another device
//! (`verification.rs`, §3.3) and signs in and consents there as in the code flow
//! (`authorize/device.rs`), while the device polls the token endpoint
//! (`token/device.rs`, §3.4–3.5).

mod authorization;
mod verification;

pub(crate) use authorization::post;
pub(crate) use verification::{get, post as post_verification};

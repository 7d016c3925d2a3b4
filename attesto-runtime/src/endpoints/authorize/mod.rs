//! The authorization endpoint (RFC 6749 §3.1, §4.1.1; OAuth 2.1 §4.1; OpenID Connect Core
//! §3.1.2): validate the request, let the host authenticate the user and decide consent, issue a
//! code bound to everything the token request must repeat.
//!
//! Four kinds of request arrive here:
//! - a new authorization request (GET with a query, or POST with a form, OIDC Core §3.1.2.1);
//! - the same by reference, `client_id` and a `request_uri` from the PAR endpoint (RFC 9126 §4);
//! - `GET ?attesto_resume=…`: the browser coming back from the host's login page;
//! - `POST attesto_consent=…`: the user's decision on the consent page.
//!
//! The user's half of a device authorization grant (RFC 8628 §3.3, `device.rs`) goes through the
//! same sign-in and consent, started from the verification page instead of by a client.
//!
//! Until the client and its redirect URI are known to be good, errors are shown to the user and
//! never redirected (RFC 6749 §4.1.2.1: an open redirector otherwise); every later error goes back
//! to the client with `state` and `iss` (RFC 9207).

mod browser;
mod client;
mod consent;
mod device;
mod device_decision;
mod login;
mod request;
mod response;

pub(crate) use browser::{BrowserCookie, cookie};
pub(crate) use device::start as start_device_authorization;
pub(crate) use request::{Origin, Refusal, SignedBy, get, post, validate, validate_for};
pub(crate) use response::see_other;

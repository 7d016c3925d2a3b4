//! What binds a waiting request to the browser it was started in: the cookies, the resume URL
//! and the parameter names of the pages attesto serves.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, header};

use crate::host::provider::Provider;
use crate::state::Attesto;
use crate::store::TokenHash;

/// How long a pending request waits for the user to sign in or decide on consent.
pub(super) const PENDING_TTL: Duration = Duration::from_secs(10 * 60);

/// The parameter that carries the handle of a pending request back from the host's login page.
pub(super) const RESUME: &str = "attesto_resume";

/// The consent form's parameters.
pub(super) const CONSENT: &str = "attesto_consent";

pub(super) const CONSENT_CSRF: &str = "attesto_csrf";

pub(super) const CONSENT_DECISION: &str = "attesto_decision";

/// The cookies that bind a handle to the browser it was given to: one per handle (named after
/// it), so that two sign-ins or consent pages in two tabs do not overwrite each other. `HttpOnly`;
/// `__Host-` (RFC 6265bis §4.1.3.2) and `Secure` on https.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BrowserCookie {
    /// Binds a login resume handle to the browser sent to the login page. `SameSite=Lax`, not
    /// `Strict`: the browser comes back from the host's login page by a top-level navigation that
    /// may start on another site (an identity provider), and `Strict` would drop the cookie there;
    /// `Lax` still keeps it off cross-site subrequests and POSTs.
    Login,
    /// Binds a consent page to the browser it was shown in (the anti-CSRF value, RFC 6749
    /// §10.12). `SameSite=Strict`: the decision is posted from the page itself.
    Consent,
    /// Binds the device verification page's form to the browser it was shown in (RFC 8628 §3.3):
    /// the anti-CSRF value of the form that starts a sign-in with the code the user entered, so
    /// that another site cannot submit its own code in the user's name. `SameSite=Strict`.
    Device,
    /// Binds the logout confirmation page's form to the browser it was shown in (OpenID Connect
    /// RP-Initiated Logout 1.0 §6): the anti-CSRF value, so that another site cannot post the
    /// confirmation and log the user out. `SameSite=Strict`.
    Logout,
}

impl BrowserCookie {
    /// Whether the issuer is `https`: then the cookie is `Secure` and `__Host-`.
    fn secure<P: Provider>(attesto: &Attesto<P>) -> bool {
        attesto.settings().issuer.origin().starts_with("https:")
    }

    /// The cookie's name for `handle`.
    pub(crate) fn name<P: Provider>(self, attesto: &Attesto<P>, handle: &str) -> String {
        let secure = Self::secure(attesto);
        let kind = match self {
            Self::Login => "login",
            Self::Consent => "consent",
            Self::Device => "device",
            Self::Logout => "logout",
        };
        let id: String = URL_SAFE_NO_PAD.encode(&TokenHash::of(handle).as_bytes()[..9]);
        if secure { format!("__Host-attesto-{kind}-{id}") } else { format!("attesto-{kind}-{id}") }
    }

    /// The `Set-Cookie` value that sets it to `value` for `max_age` seconds (0 clears it).
    pub(crate) fn header<P: Provider>(self, attesto: &Attesto<P>, handle: &str, value: &str, max_age: u64) -> String {
        let secure = Self::secure(attesto);
        let name = self.name(attesto, handle);
        let same_site = match self {
            Self::Login => "Lax",
            Self::Consent | Self::Device | Self::Logout => "Strict",
        };
        let secure_attr = if secure { "; Secure" } else { "" };
        format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure_attr}")
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The URL the host's login page sends the browser back to.
pub(super) fn resume_uri<P: Provider>(attesto: &Attesto<P>, handle: &str) -> String {
    format!("{}?{RESUME}={handle}", attesto.settings().issuer.url_of(P::PATHS.authorize))
}

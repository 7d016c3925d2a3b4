//! Server-rendered pages of the authorization endpoint: errors shown to the user, the consent
//! page, and the form_post response.
//!
//! The pages are plain HTML with one inline style sheet and, for form_post only, one inline
//! script pinned by its hash in the Content-Security-Policy. Every value printed goes through
//! [`escape`], because most of them (client names, scopes, redirect URIs, parameters) come from
//! the request or from dynamic registration and are attacker-controlled.

use std::fmt::Write as _;
use std::sync::LazyLock;

use axum::body::Body;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderValue, StatusCode, header};
use sha2::{Digest, Sha256};

/// The style sheet shared by every page: small, readable, no external resources (the CSP
/// allows none).
const STYLE: &str = "\
body{margin:0;background:#f4f5f7;color:#1f2328;\
font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}\
main{box-sizing:border-box;max-width:30rem;margin:3rem auto;padding:1.5rem 2rem;\
width:calc(100% - 2rem);\
background:#fff;border:1px solid #d0d7de;border-radius:8px}\
h1{font-size:1.3rem;line-height:1.3;margin:0 0 1rem}\
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em;\
overflow-wrap:anywhere}\
.meta{color:#59636e;font-size:.85rem}\
ul{padding-left:1.25rem}li{margin:.25rem 0}\
.actions{display:flex;gap:.75rem;justify-content:flex-end;margin-top:1.5rem}\
button{font:inherit;padding:.45rem 1.25rem;border-radius:6px;cursor:pointer;\
border:1px solid #d0d7de;background:#f6f8fa;color:#1f2328}\
button.primary{background:#1f6feb;border-color:#1f6feb;color:#fff}\
a.button{padding:.45rem 1.25rem;border-radius:6px;border:1px solid #d0d7de;\
background:#f6f8fa;color:#1f2328;text-decoration:none}";

/// CSP of the error page: nothing may load, run, frame it or be submitted from it.
const ERROR_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; \
                         base-uri 'none'; form-action 'none'";

/// CSP of the consent page: as the error page, but its form posts back to this server.
/// The consent page's policy without `form-action`; [`consent_csp`] adds it.
const CONSENT_CSP_BASE: &str = "default-src 'none'; style-src 'unsafe-inline'; \
                                frame-ancestors 'none'; base-uri 'none'";

/// CSP of the pages whose one form posts back to this server and leads to a page of it: the
/// device verification page, and the consent page of a device grant.
const SELF_FORM_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; \
                             base-uri 'none'; form-action 'self'";

/// CSP of the form_post page when the hashed policy cannot be built: no script runs, so the page
/// still refuses everything it does not need. Only reachable if [`FORM_POST_CSP`] fails to parse.
const FORM_POST_FALLBACK_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

/// The form_post auto-submit script. Its exact text is hashed into the CSP, so any change here
/// changes the policy with it.
const AUTO_SUBMIT_SCRIPT: &str = "document.forms[0].submit();";

/// CSP of the form_post page. The script is allowed by its SHA-256 rather than by
/// `'unsafe-inline'`, so an injected script could not run even if escaping failed. There is no
/// `form-action`: the redirect URI may be on any origin (OAuth 2.0 Form Post Response Mode §2).
static FORM_POST_CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = STANDARD.encode(Sha256::digest(AUTO_SUBMIT_SCRIPT.as_bytes()));
    let policy = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    // The policy is ASCII (fixed text plus the base64 alphabet), so this does not fail; if it
    // ever did, a page without script is safer than a page without a policy.
    HeaderValue::from_str(&policy).unwrap_or_else(|_| HeaderValue::from_static(FORM_POST_FALLBACK_CSP))
});

/// HTML-escapes `& < > " '`, so the result is safe both as element content and inside a
/// double-quoted (or single-quoted) attribute value.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

/// Client-supplied display text (a registered `client_name`, a document's name) made safe to show
/// next to text of this server: control characters and the Unicode bidirectional formatting
/// characters (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which can make a name read
/// as something else ("…moc.elgoog" shown reversed) or spill its direction into the sentence
/// around it, become U+FFFD. Escape the result for HTML as usual.
pub(crate) fn neutralise(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => '\u{FFFD}',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// Where an authorization response to `redirect_uri` goes, for a person: the host (and port) of a
/// web redirect URI, or `None` for one that stays on this device — a loopback `http` URI or a
/// private-use scheme (RFC 8252 §7.1, §7.3) — which the page describes as an app on this device.
/// An internationalised host is shown in punycode, so that a look-alike stays visible.
pub(crate) fn destination_host(redirect_uri: &str) -> Option<String> {
    if crate::protocol::redirect_uri::is_loopback_http(redirect_uri) {
        return None;
    }
    web_host(redirect_uri)
}

/// The page shown instead of redirecting an error before the user signed in, to a redirect URI
/// the provider does not vouch for (RFC 9700 §4.11.2: otherwise anyone who registers a client
/// makes this server's origin an open redirector). It names the destination's host and leaves
/// going there to the user: a link for a query response, a button for a form_post one.
pub(crate) fn redirect_interstitial(
    client_label: &str,
    error: &str,
    description: &str,
    redirect_uri: &str,
    params: &[(&str, &str)],
    form_post: bool,
) -> Response {
    let host = destination_host(redirect_uri).unwrap_or_else(|| "an app on this device".to_owned());
    let host = escape(&host);
    let intro = format!(
        "<h1>Authorization request refused</h1>\
         <p>{description}</p>\
         <p>The application <strong>{client}</strong> asked to be sent the answer at \
         <strong>{host}</strong>. This server does not vouch for that address: continue only if \
         you trust it and expected to go there.</p>\
         <p class=\"meta\">Error code: <code>{error}</code></p>",
        description = escape(&sentence(description)),
        client = escape(&neutralise(client_label)),
        error = escape(error),
    );
    let (main, csp) = if form_post {
        let mut inputs = String::new();
        for (name, value) in params {
            // Writing to a `String` cannot fail.
            let _ = write!(inputs, "<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(name), escape(value));
        }
        let main = format!(
            "{intro}<form method=\"post\" action=\"{action}\">{inputs}\
             <div class=\"actions\"><button type=\"submit\">Continue to {host}</button></div></form>",
            action = escape(redirect_uri),
        );
        (main, redirect_csp(redirect_uri))
    } else {
        let mut url = match url::Url::parse(redirect_uri) {
            Ok(url) => url,
            Err(_) => return error_page(StatusCode::BAD_REQUEST, error, description),
        };
        url.query_pairs_mut().extend_pairs(params);
        let main = format!(
            "{intro}<div class=\"actions\"><a class=\"button\" href=\"{href}\" rel=\"noreferrer\">Continue to {host}</a></div>",
            href = escape(url.as_str()),
        );
        (main, HeaderValue::from_static(ERROR_CSP))
    };
    html_response(StatusCode::BAD_REQUEST, csp, document("Authorization request refused", &main))
}

/// The CSP of the interstitial's form_post variant: its one form posts to the redirect URI's
/// origin (or private-use scheme) and nowhere else.
fn redirect_csp(redirect_uri: &str) -> HeaderValue {
    form_action_source(redirect_uri)
        .and_then(|source| {
            HeaderValue::from_str(&format!(
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action {source}"
            ))
            .ok()
        })
        .unwrap_or(HeaderValue::from_static(ERROR_CSP))
}

/// The page shown when the authorization request cannot be sent back to the client (unknown
/// client, unregistered redirect URI, an expired or already-used handle).
///
/// RFC 6749 §4.1.2.1: in these cases the server must not redirect to the (untrusted) redirect
/// URI, so the user is told here instead.
pub(crate) fn error_page(status: StatusCode, error: &str, description: &str) -> Response {
    refusal_page("Authorization request refused", status, error, description)
}

/// The page shown when a logout request is refused (OpenID Connect RP-Initiated Logout 1.0 §3:
/// without a verified redirect URI the user is told here, not redirected).
pub(crate) fn logout_error_page(status: StatusCode, error: &str, description: &str) -> Response {
    refusal_page("Logout request refused", status, error, description)
}

/// A refusal shown to the user under `heading`, a fixed text of this module.
fn refusal_page(heading: &str, status: StatusCode, error: &str, description: &str) -> Response {
    let main = format!(
        "<h1>{heading}</h1>\
         <p>{description}</p>\
         <p>You can close this page and return to the application.</p>\
         <p class=\"meta\">Error code: <code>{error}</code></p>",
        description = escape(&sentence(description)),
        error = escape(error),
    );
    html_response(status, HeaderValue::from_static(ERROR_CSP), document(heading, &main))
}

/// An `error_description` (written lower-case, for the JSON body) as a sentence for a person.
fn sentence(description: &str) -> String {
    let mut chars = description.chars();
    let mut out: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// What the consent page shows and where its form posts.
pub(crate) struct ConsentPage<'a> {
    /// The client asking for access.
    pub(crate) client_id: &'a str,
    /// The client's own display name, if it registered one; untrusted.
    pub(crate) client_name: Option<&'a str>,
    /// Who is signed in (the subject).
    pub(crate) user: &'a str,
    /// The scope tokens asked for.
    pub(crate) scopes: &'a [&'a str],
    /// The claims requested with the `claims` parameter (OIDC Core §5.5), for the ID token or
    /// userinfo, each once; untrusted.
    pub(crate) claims: &'a [&'a str],
    /// The form action URL (the authorization endpoint path).
    pub(crate) action: &'a str,
    /// The opaque handle of the pending authorization request.
    pub(crate) handle: &'a str,
    /// The anti-CSRF token bound to the user's session.
    pub(crate) csrf: &'a str,
    /// The redirect URI the decision sends the browser to.
    pub(crate) redirect_uri: &'a str,
    /// The request is a device grant's (RFC 8628): access goes to the device that showed the
    /// user code, and the decision leads to a page of this server, not to a redirect URI.
    pub(crate) device: bool,
}

/// The consent page's `Content-Security-Policy`. Browsers apply `form-action` to every redirect
/// that follows a form submission (CSP 3 §6.4.1), and the decision is answered with a 303 to the
/// client's redirect URI: so the policy allows this server and that URI's origin (or, for a
/// native app's private-use scheme, that scheme), and nothing else.
fn consent_csp(redirect_uri: &str) -> HeaderValue {
    form_action_source(redirect_uri)
        .and_then(|source| HeaderValue::from_str(&format!("{CONSENT_CSP_BASE}; form-action 'self' {source}")).ok())
        // Without a source for the redirect, no `form-action` at all: a policy that blocked the
        // redirect would strand the user on the page with a spent code.
        .unwrap_or(HeaderValue::from_static(CONSENT_CSP_BASE))
}

/// The CSP source that lets a form's submission (and the redirects after it) reach `redirect_uri`:
/// its origin, or its scheme for a private-use one.
fn form_action_source(redirect_uri: &str) -> Option<String> {
    url::Url::parse(redirect_uri).ok().and_then(|url| match url.scheme() {
        // An ASCII origin (hosts in punycode): nothing in it can end the directive.
        "http" | "https" => {
            let origin = url.origin();
            origin.is_tuple().then(|| origin.ascii_serialization())
        }
        // A URL scheme is letters, digits, `+`, `-` and `.` (RFC 3986 §3.1).
        scheme => Some(format!("{scheme}:")),
    })
}

/// The host (and port, if not the default) of an `http(s)` URL; `None` for any other. Shown for a
/// redirect URI, and for a client id that is such a URL: a client ID metadata document's client,
/// whose name is self-asserted while its host is not (draft-ietf-oauth-client-id-metadata-document
/// §6.4: the server SHOULD display the hostname). An internationalised host is shown in punycode,
/// so that a look-alike name stays visible.
fn web_host(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok().filter(|url| matches!(url.scheme(), "http" | "https"))?;
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// The consent page: who asks, for what, and an Allow / Deny form posting back to
/// `page.action`.
pub(crate) fn consent_page(page: &ConsentPage<'_>) -> Response {
    let client_id = escape(page.client_id);
    let host = web_host(page.client_id).map(|host| escape(&host));
    // The name is whatever the client registered (possibly through dynamic registration, or in
    // its client ID metadata document), so it is shown as the client's claim, next to the
    // identifier the server actually knows, and to the host that serves a URL client id.
    let name = page.client_name.filter(|n| !n.trim().is_empty()).map(neutralise);
    let (heading_client, provenance) = match (name.as_deref(), host) {
        (Some(name), Some(host)) => (
            format!("<strong>{}</strong> from <strong>{host}</strong>", escape(name)),
            format!(
                "<p class=\"meta\">The name above is provided by the application itself; \
                 <strong>{host}</strong> is where it is published. Client ID: <code>{client_id}</code></p>"
            ),
        ),
        (Some(name), None) => (
            format!("<strong>{}</strong>", escape(name)),
            format!(
                "<p class=\"meta\">The name above is provided by the application itself. \
                 Client ID: <code>{client_id}</code></p>"
            ),
        ),
        (None, Some(host)) => (
            format!("An application from <strong>{host}</strong>"),
            format!("<p class=\"meta\">Client ID: <code>{client_id}</code></p>"),
        ),
        (None, None) => (format!("<code>{client_id}</code>"), String::new()),
    };
    // Where the decision sends the browser, and with it the code: the host a web client's answer
    // goes to, so that a person sees "evil.example" under a name that says "Calendar".
    let destination = match destination_host(page.redirect_uri) {
        // RFC 8628 §5.4: the user is reminded that access goes to a device, so that a code sent
        // by someone else is recognised as such.
        _ if page.device => "<p>If you allow it, access goes to the device that showed you the code. \
                             Allow only if you started this on a device of your own just now.</p>"
            .to_owned(),
        Some(host) => format!("<p>If you allow it, you will be sent back to <strong>{}</strong>.</p>", escape(&host)),
        None => "<p>If you allow it, access goes to an app on this device.</p>".to_owned(),
    };

    let mut scopes = String::new();
    if page.scopes.is_empty() {
        scopes.push_str("<p>No specific permissions are requested.</p>");
    } else {
        scopes.push_str("<p>It asks for:</p><ul>");
        for scope in page.scopes {
            // Writing to a `String` cannot fail.
            let _ = match scope_description(scope) {
                Some(text) => write!(scopes, "<li>{text} <code>{}</code></li>", escape(scope)),
                None => write!(scopes, "<li><code>{}</code></li>", escape(scope)),
            };
        }
        scopes.push_str("</ul>");
    }
    // OIDC Core §5.5: claims asked for one by one, perhaps beyond what the scopes cover; the host
    // decides what it releases, and the user should know what was asked.
    if !page.claims.is_empty() {
        scopes.push_str("<p>It also asks for these details about you:</p><ul>");
        for claim in page.claims {
            // Writing to a `String` cannot fail.
            let _ = write!(scopes, "<li><code>{}</code></li>", escape(claim));
        }
        scopes.push_str("</ul>");
    }

    // Deny comes first in tree order, which makes it the form's default button (the one
    // implicit submission uses): the cautious answer is the default one.
    let main = format!(
        "<h1>{heading_client} wants to access your account</h1>\
         {provenance}\
         <p>Signed in as <strong>{user}</strong></p>\
         {scopes}\
         {destination}\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"attesto_consent\" value=\"{handle}\">\
         <input type=\"hidden\" name=\"attesto_csrf\" value=\"{csrf}\">\
         <div class=\"actions\">\
         <button type=\"submit\" name=\"attesto_decision\" value=\"deny\">Deny</button>\
         <button type=\"submit\" name=\"attesto_decision\" value=\"allow\" \
         class=\"primary\">Allow</button>\
         </div></form>",
        user = escape(page.user),
        action = escape(page.action),
        handle = escape(page.handle),
        csrf = escape(page.csrf),
    );
    let csp = if page.device { HeaderValue::from_static(SELF_FORM_CSP) } else { consent_csp(page.redirect_uri) };
    let mut response = html_response(StatusCode::OK, csp, document("Authorize access", &main));
    // The decision is checked by its `Origin`. Under `no-referrer` a browser sends `Origin: null`
    // with a form POST (Fetch §3.1, "append a request `Origin` header"), which would refuse every
    // real decision; `same-origin` sends the origin to this server only, and the page's URL (with
    // `state` and the PKCE challenge) still never reaches another site.
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

/// What the device verification page (RFC 8628 §3.3) shows besides its form.
pub(crate) struct DeviceEntryPage<'a> {
    /// The form action URL (the verification page's path).
    pub(crate) action: &'a str,
    /// The anti-CSRF value, also set as a cookie.
    pub(crate) csrf: &'a str,
    /// The code to pre-fill (from `verification_uri_complete`); untrusted.
    pub(crate) user_code: &'a str,
    /// Why the last code was not accepted, if it was not.
    pub(crate) problem: Option<&'a str>,
    /// The status to answer with.
    pub(crate) status: StatusCode,
}

/// The device verification page: a form for the user code. A pre-filled code is submitted only
/// by the user's click (RFC 8628 §5.4: a link with the code in it may come from an attacker).
pub(crate) fn device_entry_page(page: &DeviceEntryPage<'_>) -> Response {
    let problem = page
        .problem
        .map(|problem| format!("<p><strong>{}</strong></p>", escape(&sentence(problem))))
        .unwrap_or_default();
    let main = format!(
        "<h1>Connect a device</h1>\
         {problem}\
         <p>Enter the code shown on your device. Continue only if you started this on a device of \
         your own: someone who sends you a code is asking for access to your account.</p>\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"attesto_csrf\" value=\"{csrf}\">\
         <p><label for=\"user_code\">Code</label><br>\
         <input id=\"user_code\" name=\"user_code\" value=\"{user_code}\" autocomplete=\"off\" \
         autocapitalize=\"characters\" spellcheck=\"false\" maxlength=\"64\" placeholder=\"BCDF-GHJK\"></p>\
         <div class=\"actions\"><button type=\"submit\" class=\"primary\">Continue</button></div></form>",
        action = escape(page.action),
        csrf = escape(page.csrf),
        user_code = escape(&neutralise(page.user_code)),
    );
    let mut response =
        html_response(page.status, HeaderValue::from_static(SELF_FORM_CSP), document("Connect a device", &main));
    // As on the consent page: the POST is checked by its `Origin`, which `no-referrer` would
    // make `null`.
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

/// The page that ends the user's half of a device grant: approved or denied, either way the
/// device hears it when it next polls.
pub(crate) fn device_done_page(approved: bool) -> Response {
    let (title, text) = if approved {
        ("Device connected", "Access is granted. You may return to your device.")
    } else {
        ("Access denied", "The device was not given access. You may return to your device.")
    };
    let main = format!("<h1>{title}</h1><p>{text}</p><p>You can close this page.</p>");
    html_response(StatusCode::OK, HeaderValue::from_static(ERROR_CSP), document(title, &main))
}

/// What the logout confirmation page shows and where its form posts.
pub(crate) struct LogoutPage<'a> {
    /// The form action URL (the end-session endpoint's path).
    pub(crate) action: &'a str,
    /// The anti-CSRF value, also set as a cookie.
    pub(crate) csrf: &'a str,
    /// Who is signed in (the subject).
    pub(crate) user: &'a str,
    /// The client the request names, by its id and its own (untrusted) name, if any.
    pub(crate) client: Option<(&'a str, Option<&'a str>)>,
    /// The request's parameters, carried through the form.
    pub(crate) params: &'a [(&'a str, &'a str)],
    /// The verified post-logout redirect URI, if any: the form's submission may end there.
    pub(crate) redirect_uri: Option<&'a str>,
}

/// The logout confirmation page (OpenID Connect RP-Initiated Logout 1.0 §6): shown when the
/// request does not prove the signed-in user asked for it. "Stay signed in" comes first in tree
/// order, which makes it the form's default button.
pub(crate) fn logout_confirm_page(page: &LogoutPage<'_>) -> Response {
    let mut inputs = String::new();
    for (name, value) in page.params {
        // Writing to a `String` cannot fail.
        let _ = write!(inputs, "<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(name), escape(value));
    }
    let asked_by = match page.client {
        Some((client_id, Some(name))) if !name.trim().is_empty() => format!(
            "<p>The application <strong>{}</strong> asks to sign you out.</p>\
             <p class=\"meta\">The name above is provided by the application itself. Client ID: <code>{}</code></p>",
            escape(&neutralise(name)),
            escape(client_id),
        ),
        Some((client_id, _)) => {
            format!("<p>The application <code>{}</code> asks to sign you out.</p>", escape(client_id))
        }
        None => String::new(),
    };
    let main = format!(
        "<h1>Sign out?</h1>\
         <p>Signed in as <strong>{user}</strong></p>\
         {asked_by}\
         <form method=\"post\" action=\"{action}\">{inputs}\
         <input type=\"hidden\" name=\"attesto_csrf\" value=\"{csrf}\">\
         <div class=\"actions\">\
         <button type=\"submit\" name=\"attesto_logout\" value=\"stay\">Stay signed in</button>\
         <button type=\"submit\" name=\"attesto_logout\" value=\"confirm\" class=\"primary\">Sign out</button>\
         </div></form>",
        user = escape(page.user),
        action = escape(page.action),
        csrf = escape(page.csrf),
    );
    // The confirmation is answered with a 303 to the redirect URI: `form-action` must allow it
    // (CSP 3 §6.4.1), as on the consent page.
    let csp = match page.redirect_uri {
        Some(uri) => consent_csp(uri),
        None => HeaderValue::from_static(SELF_FORM_CSP),
    };
    let mut response = html_response(StatusCode::OK, csp, document("Sign out", &main));
    // The POST is checked by its `Origin`, which `no-referrer` would make `null`.
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

/// The page that ends a logout without a redirect: signed out, or, when the user chose to stay,
/// still signed in.
pub(crate) fn logout_done_page(signed_out: bool) -> Response {
    let (title, text) = if signed_out {
        ("Signed out", "You are signed out.")
    } else {
        ("Still signed in", "You were not signed out.")
    };
    let main = format!("<h1>{title}</h1><p>{text}</p><p>You can close this page.</p>");
    html_response(StatusCode::OK, HeaderValue::from_static(ERROR_CSP), document(title, &main))
}

/// The end of a logout whose post-logout redirect URI no one vouches for (RP-Initiated Logout
/// 1.0 §3, `protocol/logout.rs` `redirects_without_asking`): the user is signed out, and is shown
/// where the application asks to send them, going there only by following the link. `url` is the
/// verified URI with `state` added.
pub(crate) fn logout_redirect_interstitial(client_label: &str, url: &str) -> Response {
    let host = destination_host(url).unwrap_or_else(|| "an app on this device".to_owned());
    let host = escape(&host);
    let main = format!(
        "<h1>Signed out</h1>\
         <p>You are signed out.</p>\
         <p>The application <strong>{client}</strong> asks to take you to <strong>{host}</strong>. \
         This server does not vouch for that address: continue only if you trust it and expected \
         to go there.</p>\
         <div class=\"actions\"><a class=\"button\" href=\"{href}\" rel=\"noreferrer\">Continue to {host}</a></div>",
        client = escape(&neutralise(client_label)),
        href = escape(url),
    );
    html_response(StatusCode::OK, HeaderValue::from_static(ERROR_CSP), document("Signed out", &main))
}

/// The human description of a standard OpenID Connect scope (OpenID Connect Core §5.4, §11),
/// or `None` for any other scope, which is then shown by its token only.
fn scope_description(scope: &str) -> Option<&'static str> {
    match scope {
        "openid" => Some("Confirm who you are"),
        "profile" => Some("Your basic profile (name, picture…)"),
        "email" => Some("Your email address"),
        "address" => Some("Your postal address"),
        "phone" => Some("Your phone number"),
        "offline_access" => Some("Keep access while you are away (refresh tokens)"),
        _ => None,
    }
}

/// OAuth 2.0 Form Post Response Mode: a page that POSTs `params` to `redirect_uri` from the
/// user agent, automatically with JavaScript, and by a visible button without it.
pub(crate) fn form_post(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let mut inputs = String::new();
    for (name, value) in params {
        // Writing to a `String` cannot fail.
        let _ = write!(inputs, "<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(name), escape(value));
    }
    // The script follows the form, so `document.forms[0]` exists when it runs; an `onload`
    // attribute would need `'unsafe-hashes'` in the CSP.
    let main = format!(
        "<form method=\"post\" action=\"{action}\">{inputs}\
         <p>Returning to the application…</p>\
         <noscript><div class=\"actions\">\
         <button type=\"submit\" class=\"primary\">Continue</button></div></noscript></form>\
         <script>{AUTO_SUBMIT_SCRIPT}</script>",
        action = escape(redirect_uri),
    );
    html_response(StatusCode::OK, FORM_POST_CSP.clone(), document("Returning to the application", &main))
}

/// Wraps a page's `<main>` content in the shared document skeleton. `title` is a fixed string
/// of this module, never input, but is escaped anyway.
fn document(title: &str, main: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head>\
         <body><main>{main}</main></body></html>\n",
        title = escape(title),
    )
}

/// An HTML response with the headers every page of this module carries.
fn html_response(status: StatusCode, csp: HeaderValue, html: String) -> Response {
    let mut response = Response::new(Body::from(html));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    // The pages carry one-time handles, CSRF tokens and authorization responses: never cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // The URL of the authorization request may hold state and PKCE challenges; do not leak it.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // Clickjacking defence for browsers that ignore CSP `frame-ancestors`.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    response
}

#[cfg(test)]
mod tests;

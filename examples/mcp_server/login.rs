//! The example's sign-in: one demo user, a plain HTML form at `/login`, and in-memory sessions
//! behind a cookie. This is the part of an MCP server that is the host's own business (attesto
//! asks it who is signed in through `PrincipalStore`); a real server uses its existing login.
//!
//! The authorization endpoint sends a browser that is not signed in here with `return_to` = the
//! request to resume; after a correct password the browser goes back there, and only there.

// Relative to this file, so that it resolves from both includers of `app.rs` (the example and
// `tests/it/mcp.rs`).
#[path = "../support/html_escape.rs"]
mod html_escape;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use attesto::{AuthenticatedPrincipal, LoginOutcome, LoginRequest, SecretHash};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, StatusCode, header};

use self::html_escape::escape;

/// Where the sign-in page lives.
pub const LOGIN_PATH: &str = "/login";

/// The session cookie. Not `__Host-`: that prefix needs `Secure`, and the example serves plain
/// http on a loopback address.
const COOKIE: &str = "mcp-example-session";

/// How long a sign-in lasts.
const SESSION_TTL: Duration = Duration::from_secs(8 * 60 * 60);

/// The sign-in page and its sessions.
#[derive(Clone)]
pub struct Login(Arc<Inner>);

struct Inner {
    user: String,
    /// The credentials as SHA-256 digests, compared in constant time; a real host keeps slow
    /// password hashes (argon2, bcrypt) instead.
    user_hash: SecretHash,
    password_hash: SecretHash,
    /// The only place the page sends a browser back to: the authorization endpoint.
    authorize_url: String,
    /// The origin a sign-in must be posted from.
    origin: String,
    login_url: String,
    /// Sign-in times by the digest of the session id, so the map holds no usable session id.
    sessions: Mutex<HashMap<[u8; 32], SystemTime>>,
}

impl Login {
    /// The sign-in of `user` with `password`, on `origin`, for the authorization endpoint at
    /// `authorize_path`.
    pub fn new(origin: &str, authorize_path: &str, user: &str, password: &str) -> Self {
        Self(Arc::new(Inner {
            user: user.to_owned(),
            user_hash: SecretHash::of(user),
            password_hash: SecretHash::of(password),
            authorize_url: format!("{origin}{authorize_path}"),
            origin: origin.to_owned(),
            login_url: format!("{origin}{LOGIN_PATH}"),
            sessions: Mutex::default(),
        }))
    }

    /// `GET` and `POST` [`LOGIN_PATH`].
    pub fn router(&self) -> axum::Router {
        axum::Router::new().route(LOGIN_PATH, get(page).post(submit)).with_state(self.clone())
    }

    /// The signed-in user of the request's session; otherwise (or when the client asks for a
    /// fresh sign-in, or the sign-in is older than `max_age`, OIDC Core §3.1.2.1) the login page.
    pub fn authenticate(&self, request: &LoginRequest<'_>) -> LoginOutcome {
        let fresh = self.session(request.headers).filter(|auth_time| {
            // In whole seconds, the unit of `max_age`: a sign-in of a moment ago satisfies
            // `max_age=0`, or the user would be asked forever.
            let age = SystemTime::now().duration_since(*auth_time).unwrap_or_default();
            !request.force_login && request.max_age.is_none_or(|max_age| age.as_secs() <= max_age.as_secs())
        });
        match fresh {
            Some(auth_time) => LoginOutcome::Authenticated(
                AuthenticatedPrincipal::new(self.0.user.clone(), auth_time).with_amr(["pwd"]),
            ),
            None => {
                let return_to: String = form_urlencoded::byte_serialize(request.resume_uri.as_bytes()).collect();
                LoginOutcome::Redirect(format!("{}?return_to={return_to}", self.0.login_url))
            }
        }
    }

    /// When the request's session signed in, if it is live.
    fn session(&self, headers: &HeaderMap) -> Option<SystemTime> {
        let id = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find_map(|(name, value)| (name == COOKIE).then_some(value))?;
        let sessions = self.0.sessions.lock().ok()?;
        let auth_time = *sessions.get(SecretHash::of(id).as_bytes())?;
        let age = SystemTime::now().duration_since(auth_time).unwrap_or_default();
        (age < SESSION_TTL).then_some(auth_time)
    }

    /// Starts a session and returns its id: 256 random bits.
    fn start_session(&self) -> Option<String> {
        let id = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let now = SystemTime::now();
        let mut sessions = self.0.sessions.lock().ok()?;
        sessions.retain(|_, auth_time| now.duration_since(*auth_time).unwrap_or_default() < SESSION_TTL);
        sessions.insert(*SecretHash::of(&id).as_bytes(), now);
        Some(id)
    }

    /// Whether `return_to` is a request to the authorization endpoint, so that the page is no
    /// open redirector.
    fn may_return_to(&self, return_to: &str) -> bool {
        return_to.strip_prefix(&self.0.authorize_url).is_some_and(|rest| rest.is_empty() || rest.starts_with('?'))
    }
}

/// The fields of a query or form, each at most once (a repeated one is refused: which of two
/// `return_to` would win is nobody's guess).
fn fields(input: &[u8]) -> Option<HashMap<String, String>> {
    let mut fields = HashMap::new();
    for (name, value) in form_urlencoded::parse(input).into_owned() {
        if fields.insert(name, value).is_some() {
            return None;
        }
    }
    Some(fields)
}

/// `GET /login?return_to=…`: the form.
async fn page(State(login): State<Login>, RawQuery(query): RawQuery) -> Response {
    let Some(fields) = fields(query.unwrap_or_default().as_bytes()) else {
        return message(StatusCode::BAD_REQUEST, REPEATED);
    };
    let return_to = fields.get("return_to").map(String::as_str).unwrap_or_default();
    if !login.may_return_to(return_to) {
        return message(StatusCode::BAD_REQUEST, BAD_RETURN_TO);
    }
    form(StatusCode::OK, return_to, None)
}

/// `POST /login`: checks the credentials, starts a session, and sends the browser back to the
/// authorization endpoint.
async fn submit(State(login): State<Login>, headers: HeaderMap, body: Bytes) -> Response {
    // A browser sends `Origin` with every form POST: a sign-in must come from this site's page.
    if headers.get(header::ORIGIN).is_some_and(|origin| origin.as_bytes() != login.0.origin.as_bytes()) {
        return message(StatusCode::FORBIDDEN, "This sign-in did not come from the sign-in page.");
    }
    let Some(fields) = fields(&body) else {
        return message(StatusCode::BAD_REQUEST, REPEATED);
    };
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    let return_to = field("return_to");
    let Ok(location) = HeaderValue::from_str(return_to) else {
        return message(StatusCode::BAD_REQUEST, BAD_RETURN_TO);
    };
    if !login.may_return_to(return_to) {
        return message(StatusCode::BAD_REQUEST, BAD_RETURN_TO);
    }
    // Both compared, always, in constant time: `&`, not `&&`.
    if !(login.0.user_hash.verify(field("username")) & login.0.password_hash.verify(field("password"))) {
        return form(StatusCode::UNAUTHORIZED, return_to, Some("Wrong username or password."));
    }
    let Some(session) = login.start_session() else {
        return message(StatusCode::SERVICE_UNAVAILABLE, "The sign-in could not be recorded; try again.");
    };
    let cookie = format!("{COOKIE}={session}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax", SESSION_TTL.as_secs());
    let Ok(cookie) = HeaderValue::from_str(&cookie) else {
        return message(StatusCode::SERVICE_UNAVAILABLE, "The sign-in could not be recorded; try again.");
    };
    let headers = [
        (header::SET_COOKIE, cookie),
        (header::LOCATION, location),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    (StatusCode::SEE_OTHER, headers).into_response()
}

const BAD_RETURN_TO: &str = "This sign-in link is not valid: start again from your MCP client.";
const REPEATED: &str = "A field of this sign-in was sent twice.";

/// The sign-in form, with `error` above it.
fn form(status: StatusCode, return_to: &str, error: Option<&str>) -> Response {
    let mut body = String::from("<h1>Sign in</h1>");
    if let Some(error) = error {
        let _ = write!(body, "<p role=\"alert\">{}</p>", escape(error));
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"{LOGIN_PATH}\">\
         <input type=\"hidden\" name=\"return_to\" value=\"{}\">\
         <p><label>Username <input name=\"username\" autocomplete=\"username\" required autofocus></label></p>\
         <p><label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" \
         required></label></p>\
         <p><button type=\"submit\">Sign in</button></p></form>\
         <p>The demo user and password are printed where the server started.</p>",
        escape(return_to)
    );
    html(status, &body)
}

fn message(status: StatusCode, text: &str) -> Response {
    html(status, &format!("<h1>Sign in</h1><p role=\"alert\">{}</p>", escape(text)))
}

/// A page: no script, nothing external, not framable, never cached.
fn html(status: StatusCode, main: &str) -> Response {
    // No `form-action`: browsers apply it to the redirects after the POST too, which go on to
    // the MCP client's redirect URI.
    const CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in</title></head>\
         <body><main>{main}</main></body></html>"
    );
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        // Not `no-referrer`: under it a browser sends `Origin: null` with the form POST (Fetch
        // §3.1), which the origin check refuses.
        (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
    ];
    (status, headers, page).into_response()
}

//! Checks for the host's own test suite (feature `testing`).
//!
//! **For test code only, and not covered by semver**: enable the feature in `[dev-dependencies]`
//! (`attesto = { version = "…", features = ["testing"] }`), so that release builds never compile
//! it. Its two parts: [`check_discovery`], and the [store contract](store_contract) that any
//! [`Store`](crate::store::Store) implementation must pass.
//!
//! [`check_discovery`] is the migration checklist's "verify discovery" step as a function: give it
//! the host's final axum [`Router`] (attesto's router merged in, the host's routes and layers
//! around it) and the issuer, and it reads the discovery documents the way a client does, then
//! sends a request to every URL they advertise, in process (`tower::ServiceExt::oneshot`, no
//! port), and reports every problem at once.
//!
//! ```
//! # async fn check<P: attesto_runtime::Provider>(auth: attesto_runtime::Attesto<P>) {
//! // In the host's tests: the app exactly as `main` builds it.
//! let app = axum::Router::new().merge(auth.router());
//! match attesto_runtime::testing::check_discovery(&app, "https://auth.example.com").await {
//!     Ok(report) => assert!(report.endpoint("token_endpoint").is_some()),
//!     Err(problems) => panic!("{problems}"),
//! }
//! # }
//! ```

pub mod store_contract;

use std::fmt;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode, header};
use serde_json::{Map, Value};
use tower::ServiceExt as _;

use crate::model::issuer::Issuer;
use crate::protocol::discovery::{OAUTH_AUTHORIZATION_SERVER, OPENID_CONFIGURATION, WellKnownForms};
use crate::protocol::resource_metadata::PRM_WELL_KNOWN;

/// The largest response body read: discovery documents and the JWKS are a few kilobytes.
const MAX_BODY: usize = 1024 * 1024;

/// Checks that the discovery documents `app` serves for `issuer` advertise only URLs that `app`
/// answers as the advertised endpoints.
///
/// With attesto's path table this holds by construction for [`Attesto::router`] itself: the
/// router and both documents are built from one table, so an advertised URL is always one of its
/// routes. What the host can still break is the app around it, and that is what this checks: a
/// host route or layer that answers on an attesto path first, a `Router::nest` under a prefix
/// the declaration does not know (the endpoints move, the documents still name the declared
/// paths), a reverse proxy's path rules mirrored in the router (an allow-list written for the
/// previous provider), a forgotten `.merge(auth.router())`, or a provider built with another
/// issuer than the one clients use.
///
/// # What is requested
///
/// Every request carries `Host` set to the issuer's host, has no credentials and no parameters.
///
/// - `/.well-known/oauth-authorization-server` (RFC 8414 §3), and for an issuer with a path the
///   RFC 8414 §3.1 form `/.well-known/oauth-authorization-server/{path}`: each must be served.
/// - `/.well-known/openid-configuration`, and for an issuer with a path the OpenID Connect
///   Discovery §4.1 form `{path}/.well-known/openid-configuration` and the inserted form: the
///   OpenID configuration is optional (a declaration with `openid = false` has none), but once one
///   form is served every form must be ([`DiscoveryReport::openid_configuration`] says whether it
///   is).
/// - `/.well-known/oauth-protected-resource` (RFC 9728 §3), when served: it must list the issuer
///   in `authorization_servers`, the RFC 9728 §3.1 form for its `resource` must serve the same
///   document, and a `resource` on the issuer's origin must be mounted.
///
/// Each document must answer `200` with `application/json` (RFC 8414 §3.2), be a JSON object,
/// have the issuer as its `issuer` (RFC 8414 §3.3, OpenID Connect Discovery §4.3), and be the
/// same at each of its forms.
///
/// # The rule for an advertised URL
///
/// The URLs checked are the members named `*_endpoint` and `jwks_uri`; pages for people
/// (`service_documentation`, `op_policy_uri`, `op_tos_uri`) may live elsewhere and are not. Each
/// must be an absolute URL on the issuer's origin: the router checked serves that origin only, and
/// an endpoint on another origin is a configuration that clients of this issuer should not be
/// sent to. Each is then requested with every method its specification says the endpoint must
/// accept, and must answer as the endpoint refuses a request without credentials or parameters:
///
/// | member | methods | expected answer |
/// |---|---|---|
/// | `jwks_uri` | GET | `200` and a JSON object with a `keys` array (RFC 7517 §5) |
/// | `authorization_endpoint` | GET, POST (RFC 6749 §3.1, OpenID Connect Core §3.1.2.1) | a `4xx` error page: without a client there is nowhere to redirect (RFC 6749 §4.1.2.1) |
/// | `token_endpoint`, `revocation_endpoint`, `introspection_endpoint`, `pushed_authorization_request_endpoint`, `registration_endpoint`, `device_authorization_endpoint` | POST | a `4xx` JSON error (RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 7662 §2.3, RFC 9126 §2.3, RFC 7591 §3.2.2, RFC 8628 §3.2) |
/// | `userinfo_endpoint` | GET, POST (OpenID Connect Core §5.3.1) | `401` with a `WWW-Authenticate` challenge (RFC 6750 §3) |
/// | `end_session_endpoint` | GET, POST (OpenID Connect RP-Initiated Logout 1.0 §2) | anything but `404` and `5xx`: a page |
/// | any other `*_endpoint` | GET | anything but `404` and `5xx` (the method it needs is not known) |
///
/// A `404` is reported as not mounted, a `405` as mounted without a method the endpoint must
/// accept; a `5xx`, a redirect or a `200` page where a refusal was due means something else
/// answered (a host fallback, a login layer, a proxy rule), and is reported with what was
/// expected. The probes carry no client and no session, so attesto refuses them without asking
/// the host's [`ClientStore`] or [`PrincipalStore`]; the host sees one `token_denied` event
/// (`invalid_request`) from the token endpoint's probe, and the registration endpoint's probe asks
/// [`RegistrationStore::authorize_registration`] first.
///
/// [`Attesto::router`]: crate::Attesto::router
/// [`RegistrationStore::authorize_registration`]: crate::RegistrationStore::authorize_registration
/// [`ClientStore`]: crate::ClientStore
/// [`PrincipalStore`]: crate::PrincipalStore
pub async fn check_discovery(app: &Router, issuer: &str) -> Result<DiscoveryReport, DiscoveryProblems> {
    check_discovery_with(app, issuer, WellKnownForms::All).await
}

/// [`check_discovery`] for a provider that serves the well-known `forms` it was built with
/// ([`Builder::well_known_forms`](crate::Builder::well_known_forms)).
///
/// With [`WellKnownForms::IssuerPathOnly`], during the overlap with a provider that keeps the
/// host root, the host-root documents (`/.well-known/oauth-authorization-server`,
/// `/.well-known/openid-configuration` and `/.well-known/oauth-protected-resource`) belong to
/// that other provider: they are not requested, and the report lists them in
/// [`DiscoveryReport::left_to_another_provider`]. Every form with the issuer's path is checked as
/// [`check_discovery`] checks it (RFC 8414 §3.1 `/.well-known/oauth-authorization-server/{path}`,
/// and when one is served, `/.well-known/openid-configuration/{path}` and
/// `{path}/.well-known/openid-configuration`), and so is every URL they advertise. The report's
/// [`documents`](DiscoveryReport::documents) says which were read. An issuer without a path is
/// a problem ([`DiscoveryProblem::InvalidIssuer`]): it has no such form.
///
/// ```
/// # async fn check<P: attesto_runtime::Provider>(auth: attesto_runtime::Attesto<P>, old: axum::Router) {
/// use attesto_runtime::discovery::WellKnownForms;
/// use attesto_runtime::testing::check_discovery_with;
///
/// // The old provider's router, which keeps the host-root documents, beside attesto's.
/// let app = axum::Router::new().merge(old).merge(auth.router());
/// let issuer = "https://auth.example.com/mcp/oauth";
/// let report = check_discovery_with(&app, issuer, WellKnownForms::IssuerPathOnly).await.expect("no problem");
/// assert!(report.documents.contains(&"/.well-known/oauth-authorization-server/mcp/oauth".to_owned()));
/// # }
/// ```
pub async fn check_discovery_with(
    app: &Router,
    issuer: &str,
    forms: WellKnownForms,
) -> Result<DiscoveryReport, DiscoveryProblems> {
    let parsed = match Issuer::parse(issuer) {
        Ok(parsed) => parsed,
        Err(error) => {
            let problem = DiscoveryProblem::InvalidIssuer { reason: error.to_string() };
            return Err(DiscoveryProblems { issuer: issuer.to_owned(), problems: vec![problem] });
        }
    };
    if forms == WellKnownForms::IssuerPathOnly && parsed.path().is_empty() {
        let reason = "it has no path, so it has no well-known form but the host root's (RFC 8414 §3.1)".to_owned();
        let problem = DiscoveryProblem::InvalidIssuer { reason };
        return Err(DiscoveryProblems { issuer: parsed.as_str().to_owned(), problems: vec![problem] });
    }
    let mut check = Check::new(app, &parsed, forms);
    let report = check.run().await;
    if check.problems.is_empty() {
        Ok(report)
    } else {
        Err(DiscoveryProblems { issuer: parsed.as_str().to_owned(), problems: check.problems })
    }
}

/// What [`check_discovery`] read and checked, when it found nothing wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DiscoveryReport {
    /// The issuer, normalised as in the `iss` claim.
    pub issuer: String,
    /// The well-known paths that served a document, in the order read.
    pub documents: Vec<String>,
    /// The host-root well-known paths not requested, because they belong to another provider on
    /// the same host ([`check_discovery_with`] and [`WellKnownForms::IssuerPathOnly`]); empty
    /// for [`check_discovery`].
    pub left_to_another_provider: Vec<String>,
    /// Whether the OpenID configuration is served (`openid` is on).
    pub openid_configuration: bool,
    /// The `resource` of the protected-resource metadata at the bare well-known path, when it is
    /// served (RFC 9728).
    pub protected_resource: Option<String>,
    /// Every advertised URL checked, by member name.
    pub endpoints: Vec<CheckedEndpoint>,
}

impl DiscoveryReport {
    /// The URL advertised as `member` (`"token_endpoint"`, `"jwks_uri"`…), if any.
    pub fn endpoint(&self, member: &str) -> Option<&str> {
        self.endpoints.iter().find(|endpoint| endpoint.member == member).map(|endpoint| endpoint.url.as_str())
    }
}

/// An advertised URL that [`check_discovery`] requested, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckedEndpoint {
    /// The metadata member that advertises it (`token_endpoint`, or `resource` for the protected
    /// resource).
    pub member: String,
    /// The URL.
    pub url: String,
    /// The methods it was requested with.
    pub methods: Vec<Method>,
}

/// Everything [`check_discovery`] found wrong; its `Display` lists one problem per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryProblems {
    issuer: String,
    problems: Vec<DiscoveryProblem>,
}

impl DiscoveryProblems {
    /// The issuer checked.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The problems, documents first (in the order read), then advertised URLs by member name.
    pub fn problems(&self) -> &[DiscoveryProblem] {
        &self.problems
    }
}

impl fmt::Display for DiscoveryProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        write!(f, "discovery of {} has {count} problem{}:", self.issuer, if count == 1 { "" } else { "s" })?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DiscoveryProblems {}

/// One thing [`check_discovery`] found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiscoveryProblem {
    /// The issuer given to the check is not a valid issuer identifier (RFC 8414 §2).
    InvalidIssuer {
        /// Why.
        reason: String,
    },
    /// A well-known document that must be served answered another status than `200`.
    DocumentNotServed {
        /// The well-known path.
        path: String,
        /// The status it answered.
        status: StatusCode,
    },
    /// A well-known document is not a JSON object served as `application/json`.
    InvalidDocument {
        /// The well-known path.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A document names another issuer (RFC 8414 §3.3: it must be identical to the issuer whose
    /// well-known URL was requested).
    IssuerMismatch {
        /// The well-known path.
        path: String,
        /// The `issuer` it holds (`null` when it has none).
        advertised: String,
    },
    /// Two forms of one document serve different documents.
    DocumentsDiffer {
        /// The well-known path.
        path: String,
        /// The form it differs from, the first one read.
        first: String,
    },
    /// The protected-resource metadata does not list the issuer in `authorization_servers`
    /// (RFC 9728 §2).
    IssuerNotListed {
        /// The well-known path.
        path: String,
    },
    /// An advertised value is not an absolute URL.
    InvalidUrl {
        /// The member.
        member: String,
        /// The value, as JSON.
        value: String,
    },
    /// An advertised URL is not on the issuer's origin.
    OtherOrigin {
        /// The member.
        member: String,
        /// The URL.
        url: String,
    },
    /// An advertised URL answered `404`: nothing is mounted there.
    NotMounted {
        /// The member.
        member: String,
        /// The URL.
        url: String,
        /// The method of the request.
        method: Method,
    },
    /// An advertised URL answered `405` to a method the endpoint must accept.
    MethodNotAllowed {
        /// The member.
        member: String,
        /// The URL.
        url: String,
        /// The method refused.
        method: Method,
    },
    /// An advertised URL answered, but not as the endpoint does: something else answered.
    UnexpectedAnswer {
        /// The member.
        member: String,
        /// The URL.
        url: String,
        /// The method of the request.
        method: Method,
        /// The status it answered.
        status: StatusCode,
        /// What the endpoint answers instead.
        expected: &'static str,
    },
}

impl fmt::Display for DiscoveryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidIssuer { reason } => write!(f, "the issuer is invalid: {reason}"),
            Self::DocumentNotServed { path, status } => write!(f, "{path} is not served: GET answered {status}"),
            Self::InvalidDocument { path, reason } => write!(f, "{path} is not a metadata document: {reason}"),
            Self::IssuerMismatch { path, advertised } => {
                write!(f, "{path} names the issuer {advertised}, not this one (RFC 8414 §3.3)")
            }
            Self::DocumentsDiffer { path, first } => write!(f, "{path} serves another document than {first}"),
            Self::IssuerNotListed { path } => {
                write!(f, "{path} does not list the issuer in `authorization_servers` (RFC 9728 §2)")
            }
            Self::InvalidUrl { member, value } => write!(f, "`{member}` is not an absolute URL: {value}"),
            Self::OtherOrigin { member, url } => write!(f, "`{member}` {url} is not on the issuer's origin"),
            Self::NotMounted { member, url, method } => {
                write!(f, "`{member}` {url} is advertised but not mounted: {method} answered 404")
            }
            Self::MethodNotAllowed { member, url, method } => {
                write!(f, "`{member}` {url} does not accept {method}: it answered 405")
            }
            Self::UnexpectedAnswer { member, url, method, status, expected } => {
                write!(f, "`{member}` {url} answered {method} with {status}, where the endpoint answers {expected}")
            }
        }
    }
}

/// How an endpoint answers a request without credentials or parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// `200` and a JWK Set.
    Jwks,
    /// A `4xx` other than `404` and `405`.
    Refusal,
    /// A `4xx` other than `404` and `405`, as JSON.
    JsonError,
    /// `401` with `WWW-Authenticate`.
    Challenge,
    /// Anything but `404` and `5xx`; `405` too, since the method it needs is not known.
    Mounted,
}

impl Expect {
    /// The description used in [`DiscoveryProblem::UnexpectedAnswer`].
    fn description(self) -> &'static str {
        match self {
            Self::Jwks => "200 with a JSON Web Key Set (RFC 7517 §5)",
            Self::Refusal => "a 4xx error page (RFC 6749 §4.1.2.1)",
            Self::JsonError => "a 4xx JSON error (RFC 6749 §5.2)",
            Self::Challenge => "401 with a `WWW-Authenticate` challenge (RFC 6750 §3)",
            Self::Mounted => "anything but 404 or a server error",
        }
    }

    fn accepts(self, answer: &Answer) -> bool {
        let refusal = answer.status.is_client_error()
            && answer.status != StatusCode::NOT_FOUND
            && answer.status != StatusCode::METHOD_NOT_ALLOWED;
        match self {
            Self::Jwks => {
                answer.status == StatusCode::OK
                    && answer.json_object().is_some_and(|jwks| jwks.get("keys").is_some_and(Value::is_array))
            }
            Self::Refusal => refusal,
            Self::JsonError => refusal && answer.is_json(),
            Self::Challenge => {
                answer.status == StatusCode::UNAUTHORIZED && answer.headers.contains_key(header::WWW_AUTHENTICATE)
            }
            Self::Mounted => !answer.status.is_server_error(),
        }
    }
}

/// The methods an endpoint advertised as `member` must accept, and its expected answer.
fn expectations(member: &str) -> (&'static [Method], Expect) {
    const GET: &[Method] = &[Method::GET];
    const POST: &[Method] = &[Method::POST];
    const BOTH: &[Method] = &[Method::GET, Method::POST];
    match member {
        "jwks_uri" => (GET, Expect::Jwks),
        "authorization_endpoint" => (BOTH, Expect::Refusal),
        "userinfo_endpoint" => (BOTH, Expect::Challenge),
        // A page, signed in or not (RP-Initiated Logout 1.0 §2: GET and POST).
        "end_session_endpoint" => (BOTH, Expect::Mounted),
        "token_endpoint"
        | "revocation_endpoint"
        | "introspection_endpoint"
        | "pushed_authorization_request_endpoint"
        | "registration_endpoint"
        | "device_authorization_endpoint" => (POST, Expect::JsonError),
        _ => (GET, Expect::Mounted),
    }
}

/// One response, read.
struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    /// The body, or `None` past [`MAX_BODY`].
    body: Option<Bytes>,
}

impl Answer {
    fn is_json(&self) -> bool {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/json"))
    }

    fn json_object(&self) -> Option<Map<String, Value>> {
        match serde_json::from_slice(self.body.as_ref()?) {
            Ok(Value::Object(object)) => Some(object),
            _ => None,
        }
    }
}

/// Which document a well-known path serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    OAuth,
    OpenId,
}

/// A check in progress: the problems found so far.
struct Check<'a> {
    app: &'a Router,
    issuer: &'a Issuer,
    /// `Host` of every request.
    host: Option<HeaderValue>,
    /// Whether the host-root forms are this provider's to check.
    forms: WellKnownForms,
    problems: Vec<DiscoveryProblem>,
}

impl<'a> Check<'a> {
    fn new(app: &'a Router, issuer: &'a Issuer, forms: WellKnownForms) -> Self {
        let authority = issuer.origin().split_once("://").map_or("", |(_, authority)| authority);
        Self { app, issuer, host: HeaderValue::from_str(authority).ok(), forms, problems: Vec::new() }
    }

    async fn run(&mut self) -> DiscoveryReport {
        let issuer_path = self.issuer.path().to_owned();
        let mut documents = Vec::new();
        let mut advertised = Vec::new();

        // RFC 8414 §3 and §3.1: the host-root form, and the inserted form for an issuer with a path.
        let mut oauth = vec![OAUTH_AUTHORIZATION_SERVER.to_owned()];
        if !issuer_path.is_empty() {
            oauth.push(format!("{OAUTH_AUTHORIZATION_SERVER}{issuer_path}"));
        }
        // OpenID Connect Discovery §4.1 appends to the issuer; attesto also serves the host-root
        // and the inserted forms (MCP clients try the latter).
        let mut openid = vec![OPENID_CONFIGURATION.to_owned()];
        if !issuer_path.is_empty() {
            openid.push(format!("{issuer_path}{OPENID_CONFIGURATION}"));
            openid.push(format!("{OPENID_CONFIGURATION}{issuer_path}"));
        }
        // The host root belongs to another provider: its documents are not read.
        let mut left_to_another_provider = Vec::new();
        if self.forms == WellKnownForms::IssuerPathOnly {
            for forms in [&mut oauth, &mut openid] {
                forms.retain(|form| {
                    let host_root = form == OAUTH_AUTHORIZATION_SERVER || form == OPENID_CONFIGURATION;
                    if host_root {
                        left_to_another_provider.push(form.clone());
                    }
                    !host_root
                });
            }
            left_to_another_provider.push(PRM_WELL_KNOWN.to_owned());
        }
        let mut openid_configuration = false;
        for (kind, forms) in [(Kind::OAuth, oauth), (Kind::OpenId, openid)] {
            if let Some(document) = self.document_forms(kind, &forms, &mut documents).await {
                openid_configuration |= kind == Kind::OpenId;
                collect_urls(&document, &mut advertised);
            }
        }

        let protected_resource = match self.forms {
            WellKnownForms::IssuerPathOnly => None,
            _ => self.protected_resource(&mut documents, &mut advertised).await,
        };

        // Each URL once, whichever documents advertise it, in member order (whatever order the
        // JSON maps keep).
        advertised.sort_by_cached_key(|(member, value)| (member.clone(), json_text(value)));
        advertised.dedup();
        let mut endpoints = Vec::new();
        for (member, value) in advertised {
            if let Some(endpoint) = self.endpoint(&member, &value).await {
                endpoints.push(endpoint);
            }
        }
        DiscoveryReport {
            issuer: self.issuer.as_str().to_owned(),
            documents,
            left_to_another_provider,
            openid_configuration,
            protected_resource,
            endpoints,
        }
    }

    /// Reads every form of one document; returns it when at least one form served it.
    ///
    /// The OAuth document must be served at every form. The OpenID configuration may be absent,
    /// but not at some forms only.
    async fn document_forms(&mut self, kind: Kind, forms: &[String], read: &mut Vec<String>) -> Option<Value> {
        let mut served: Vec<(&String, Value)> = Vec::new();
        let mut missing = Vec::new();
        for path in forms {
            let Some(answer) = self.get(path).await else { continue };
            if answer.status != StatusCode::OK {
                missing.push((path, answer.status));
                continue;
            }
            if let Some(document) = self.document(path, &answer) {
                if document.get("issuer").and_then(Value::as_str) != Some(self.issuer.as_str()) {
                    let advertised = document.get("issuer").map_or_else(|| "null".to_owned(), json_text);
                    self.problems.push(DiscoveryProblem::IssuerMismatch { path: path.clone(), advertised });
                }
                let document = Value::Object(document);
                if let Some((first, first_document)) = served.first()
                    && *first_document != document
                {
                    self.problems
                        .push(DiscoveryProblem::DocumentsDiffer { path: path.clone(), first: (*first).clone() });
                }
                read.push(path.clone());
                served.push((path, document));
            }
        }
        // Optional as a whole: no form at all is "not served", not a problem.
        let optional = kind == Kind::OpenId;
        let none_served = missing.len() == forms.len() && missing.iter().all(|(_, s)| *s == StatusCode::NOT_FOUND);
        if !(optional && none_served) {
            for (path, status) in missing {
                self.problems.push(DiscoveryProblem::DocumentNotServed { path: path.clone(), status });
            }
        }
        served.into_iter().next().map(|(_, document)| document)
    }

    /// The protected-resource metadata at the bare well-known path, when served: its issuer, its
    /// RFC 9728 §3.1 form, and its `resource` (added to `advertised` when on the issuer's origin).
    async fn protected_resource(
        &mut self,
        read: &mut Vec<String>,
        advertised: &mut Vec<(String, Value)>,
    ) -> Option<String> {
        let answer = self.get(PRM_WELL_KNOWN).await?;
        if answer.status == StatusCode::NOT_FOUND {
            return None;
        }
        if answer.status != StatusCode::OK {
            self.problems
                .push(DiscoveryProblem::DocumentNotServed { path: PRM_WELL_KNOWN.to_owned(), status: answer.status });
            return None;
        }
        let document = self.document(PRM_WELL_KNOWN, &answer)?;
        read.push(PRM_WELL_KNOWN.to_owned());
        let listed = document
            .get("authorization_servers")
            .and_then(Value::as_array)
            .is_some_and(|servers| servers.iter().any(|server| server.as_str() == Some(self.issuer.as_str())));
        if !listed {
            self.problems.push(DiscoveryProblem::IssuerNotListed { path: PRM_WELL_KNOWN.to_owned() });
        }
        let resource = document.get("resource").cloned().unwrap_or(Value::Null);
        let Some(url) = resource.as_str().and_then(|value| url::Url::parse(value).ok()) else {
            self.problems
                .push(DiscoveryProblem::InvalidUrl { member: "resource".to_owned(), value: json_text(&resource) });
            return None;
        };
        // RFC 9728 §3.1: the well-known path followed by the resource's path.
        let form = match url.path().trim_end_matches('/') {
            "" => None,
            path => Some(format!("{PRM_WELL_KNOWN}{path}")),
        };
        if let Some(form) = form
            && let Some(answer) = self.get(&form).await
        {
            if answer.status != StatusCode::OK {
                self.problems.push(DiscoveryProblem::DocumentNotServed { path: form, status: answer.status });
            } else if let Some(other) = self.document(&form, &answer) {
                if other != document {
                    self.problems.push(DiscoveryProblem::DocumentsDiffer {
                        path: form.clone(),
                        first: PRM_WELL_KNOWN.to_owned(),
                    });
                }
                read.push(form);
            }
        }
        // A resource elsewhere is served by another router: nothing to check here.
        if url.origin().ascii_serialization() == self.issuer.origin() {
            advertised.push(("resource".to_owned(), resource));
        }
        Some(url.to_string())
    }

    /// The JSON object of a `200` answer, or a problem.
    fn document(&mut self, path: &str, answer: &Answer) -> Option<Map<String, Value>> {
        let reason = if answer.body.is_none() {
            format!("larger than {MAX_BODY} bytes")
        } else if !answer.is_json() {
            let content_type = answer.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("none");
            // RFC 8414 §3.2, RFC 9728 §3.2.
            format!("served as `{content_type}`, not `application/json`")
        } else if let Some(document) = answer.json_object() {
            return Some(document);
        } else {
            "not a JSON object".to_owned()
        };
        self.problems.push(DiscoveryProblem::InvalidDocument { path: path.to_owned(), reason });
        None
    }

    /// Checks one advertised URL: absolute, on the issuer's origin, answered as its endpoint.
    async fn endpoint(&mut self, member: &str, value: &Value) -> Option<CheckedEndpoint> {
        let invalid = || DiscoveryProblem::InvalidUrl { member: member.to_owned(), value: json_text(value) };
        let Some(url) = value.as_str().and_then(|value| url::Url::parse(value).ok()) else {
            self.problems.push(invalid());
            return None;
        };
        if url.origin().ascii_serialization() != self.issuer.origin() {
            self.problems.push(DiscoveryProblem::OtherOrigin { member: member.to_owned(), url: url.to_string() });
            return None;
        }
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let (methods, expect) =
            if member == "resource" { (&[Method::GET][..], Expect::Mounted) } else { expectations(member) };
        let url = url.to_string();
        for method in methods {
            let Some(answer) = self.send(method.clone(), &target).await else {
                self.problems.push(invalid());
                return None;
            };
            let (member, url, method) = (member.to_owned(), url.clone(), method.clone());
            if answer.status == StatusCode::NOT_FOUND {
                // Once per URL: the other methods would say the same.
                self.problems.push(DiscoveryProblem::NotMounted { member, url, method });
                return None;
            }
            if answer.status == StatusCode::METHOD_NOT_ALLOWED && expect != Expect::Mounted {
                self.problems.push(DiscoveryProblem::MethodNotAllowed { member, url, method });
            } else if !expect.accepts(&answer) {
                let (status, expected) = (answer.status, expect.description());
                self.problems.push(DiscoveryProblem::UnexpectedAnswer { member, url, method, status, expected });
            }
        }
        Some(CheckedEndpoint { member: member.to_owned(), url, methods: methods.to_vec() })
    }

    async fn get(&mut self, path: &str) -> Option<Answer> {
        let answer = self.send(Method::GET, path).await;
        if answer.is_none() {
            // Only a path made of the issuer's path can fail to be a URI here, and a parsed issuer's
            // path is plain segments; report it rather than skip it silently.
            self.problems.push(DiscoveryProblem::InvalidDocument {
                path: path.to_owned(),
                reason: "the path is not a valid request target".to_owned(),
            });
        }
        answer
    }

    /// Sends one request without credentials or parameters; `None` when `target` is not a valid
    /// request target.
    async fn send(&self, method: Method, target: &str) -> Option<Answer> {
        let mut request =
            Request::builder().method(method.clone()).uri(target).header(header::ACCEPT, "application/json");
        if let Some(host) = &self.host {
            request = request.header(header::HOST, host.clone());
        }
        if method == Method::POST {
            // The content type of every POST endpoint but registration's; the body is empty.
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let request = request.body(Body::empty()).ok()?;
        let response = match self.app.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, MAX_BODY).await.ok();
        Some(Answer { status: parts.status, headers: parts.headers, body })
    }
}

/// The members of a document that advertise an endpoint URL.
fn collect_urls(document: &Value, advertised: &mut Vec<(String, Value)>) {
    let Some(document) = document.as_object() else { return };
    for (member, value) in document {
        if member.ends_with("_endpoint") || member == "jwks_uri" {
            advertised.push((member.clone(), value.clone()));
        }
    }
}

/// A JSON value as text, for a problem's message.
fn json_text(value: &Value) -> String {
    value.to_string()
}

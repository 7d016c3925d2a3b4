//! OpenID Connect Back-Channel Logout 1.0 over real HTTP: relying parties sign in through the
//! authorization and token endpoints of a provider on a loopback port, the user logs out at the
//! end-session endpoint (or the host ends the session with `Attesto::session_ended`), and
//! receivers on loopback ports get the logout tokens, which they verify against the provider's
//! JWKS with `jsonwebtoken`. Then what logout revokes (§2.7), what is retried and what is not
//! (§2.8), the bounded queue, the registration of `backchannel_logout_uri` and discovery.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use attesto::{
    Attesto, AuthenticatedPrincipal, BackchannelLogout, BackchannelLogoutOutcome, Client, ClientStore, ConsentDecision,
    ConsentPolicy, ConsentRequest, EndSessionRequest, EventSink, GrantType, HostError, HostSession, Key, LoginOutcome,
    LoginRequest, MemoryRegistrations, PrincipalStore, Scopes, SecretHash, SessionEnded, SessionStore,
};
use axum::extract::State;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};
use tokio::sync::{Notify, mpsc};

use crate::common::SESSION_COOKIE;

const SECRET: &str = "back-channel logout client secret, long and random enough";
const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a test waits for something that must happen (a safety net against a hang, never a
/// measurement).
const PATIENCE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// The host
// ---------------------------------------------------------------------------------------------

/// The host: clients added by each test, a session cookie `test-session=<subject>` or
/// `test-session=<subject>.<sid>`, consent granted without a page, open registration in memory,
/// and the events it hears, also sent on a channel the tests wait on.
#[derive(Clone)]
#[attesto::provider(end_session, registration = "registrations")]
struct Host {
    clients: Arc<Mutex<HashMap<String, Client>>>,
    registrations: MemoryRegistrations,
    issuer: String,
    events: mpsc::UnboundedSender<String>,
}

impl ClientStore for Host {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        Ok(self.clients.lock().expect("not poisoned").get(client_id).cloned())
    }
}

impl PrincipalStore for Host {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        // The host's session id becomes the ID token's `sid`.
        Ok(match crate::common::principal_with_session(request.headers) {
            Some(principal) => LoginOutcome::Authenticated(principal),
            None => LoginOutcome::Redirect(format!("{}/login", self.issuer)),
        })
    }
}

impl ConsentPolicy for Host {
    async fn consent(&self, _: &ConsentRequest<'_>, _: &AuthenticatedPrincipal) -> Result<ConsentDecision, HostError> {
        Ok(ConsentDecision::Granted)
    }
}

impl SessionStore for Host {
    async fn current_session(&self, headers: &HeaderMap) -> Result<Option<HostSession>, HostError> {
        Ok(crate::common::host_session(headers))
    }

    async fn end_session(&self, _: &EndSessionRequest<'_>) -> Result<Vec<HeaderValue>, HostError> {
        Ok(vec![HeaderValue::from_static("test-session=; Path=/; Max-Age=0")])
    }
}

impl EventSink for Host {
    fn session_ended(&self, event: &SessionEnded<'_>) {
        let _ = self.events.send(format!(
            "session_ended {} {} revoked={} queued={} dropped={}",
            event.subject,
            event.session_id.unwrap_or("-"),
            event.grants_revoked,
            event.notifications_queued,
            event.notifications_dropped
        ));
    }

    fn backchannel_logout(&self, event: &BackchannelLogout<'_>) {
        let outcome = match event.outcome {
            BackchannelLogoutOutcome::Delivered { attempts } => format!("delivered after {attempts}"),
            BackchannelLogoutOutcome::Failed { attempts, reason } => format!("failed after {attempts}: {reason}"),
            BackchannelLogoutOutcome::Dropped => "dropped".to_owned(),
            _ => "other".to_owned(),
        };
        let _ = self.events.send(format!(
            "backchannel_logout {} {} {} {outcome}",
            event.client_id,
            event.subject,
            event.session_id.unwrap_or("-")
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// The provider and the receivers
// ---------------------------------------------------------------------------------------------

/// A provider on a loopback port.
struct Server {
    issuer: String,
    auth: Attesto<Host>,
    clients: Arc<Mutex<HashMap<String, Client>>>,
    events: mpsc::UnboundedReceiver<String>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A provider that may send logout tokens to loopback receivers, retrying quickly; `configure`
/// adds to its builder.
async fn start(configure: impl FnOnce(attesto::Builder<Host>) -> attesto::Builder<Host>) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().expect("address").port());
    let clients = Arc::new(Mutex::new(HashMap::new()));
    let (events_tx, events) = mpsc::unbounded_channel();
    let host = Host {
        clients: clients.clone(),
        registrations: MemoryRegistrations::new(),
        issuer: issuer.clone(),
        events: events_tx,
    };
    let builder = Attesto::builder(host)
        .issuer(&issuer)
        .expect("a loopback http issuer is accepted")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .scopes_supported(["openid", "offline_access", "read"])
        .allow_loopback_backchannel_logout_for_development(true)
        .backchannel_logout_retries(3, Duration::from_millis(20));
    let auth = configure(builder).build().expect("provider builds");
    let app = axum::Router::new().merge(auth.router());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("server runs");
    });
    Server { issuer, auth, clients, events, task }
}

impl Server {
    /// Adds a confidential client `id`, with a `backchannel_logout_uri` if `receiver` is given.
    fn add_client(&self, id: &str, receiver: Option<&Receiver>, session_required: bool) {
        let mut client = Client::confidential(id, SecretHash::of(SECRET))
            .with_redirect_uris([format!("{}/cb", self.issuer)])
            .with_grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .with_scopes(Scopes::parse("openid offline_access read").expect("scopes"))
            .with_backchannel_logout_session_required(session_required);
        if let Some(receiver) = receiver {
            client = client.with_backchannel_logout_uri(receiver.uri.clone());
        }
        self.clients.lock().expect("not poisoned").insert(id.to_owned(), client);
    }

    /// Waits for the next event that starts with `prefix`, skipping the others.
    async fn event(&mut self, prefix: &str) -> String {
        let wait = async {
            while let Some(event) = self.events.recv().await {
                if event.starts_with(prefix) {
                    return event;
                }
            }
            panic!("the event channel closed");
        };
        tokio::time::timeout(PATIENCE, wait).await.unwrap_or_else(|_| panic!("no event `{prefix}…`"))
    }

    /// The code flow of `client_id` in the browser session `session` (a cookie value), with
    /// `scope`: the token response.
    async fn sign_in(&self, client_id: &str, session: &str, scope: &str) -> Value {
        let http = http_client();
        let verifier = "a-verifier-of-the-code-challenge-long-enough-to-be-valid-here";
        let challenge = {
            use base64::Engine as _;
            use sha2::Digest as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
        };
        let redirect_uri = format!("{}/cb", self.issuer);
        let mut url = url::Url::parse(&format!("{}{}", self.issuer, Host::PATHS.authorize)).expect("URL");
        url.query_pairs_mut().extend_pairs([
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("scope", scope),
            ("nonce", "n-0S6_WzA2Mj"),
        ]);
        let response = http
            .get(url)
            .header(header::COOKIE, format!("{SESSION_COOKIE}={session}"))
            .send()
            .await
            .expect("authorize");
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{:?}", response.text().await);
        let location = response.headers()[header::LOCATION].to_str().expect("ASCII").to_owned();
        let code = url::Url::parse(&location)
            .expect("URL")
            .query_pairs()
            .find(|(name, _)| name == "code")
            .map(|(_, code)| code.into_owned())
            .expect("a code");
        let form = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect_uri.as_str()),
                ("code_verifier", verifier),
            ])
            .finish();
        let (status, body) = self.token(client_id, form).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// A token request of `client_id` with the form `form`.
    async fn token(&self, client_id: &str, form: String) -> (StatusCode, Value) {
        let response = http_client()
            .post(format!("{}{}", self.issuer, Host::PATHS.token))
            .basic_auth(client_id, Some(SECRET))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .expect("token request");
        let status = response.status();
        (status, response.text().await.map(|text| serde_json::from_str(&text).expect("JSON")).expect("JSON"))
    }

    /// A refresh of `client_id` with `refresh_token`.
    async fn refresh(&self, client_id: &str, refresh_token: &Value) -> (StatusCode, Value) {
        let form = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.as_str().expect("a token")),
            ])
            .finish();
        self.token(client_id, form).await
    }

    /// Logs the browser session `session` out at the end-session endpoint, with `id_token_hint`:
    /// the done page, not a redirect.
    async fn logout(&self, session: &str, id_token_hint: &Value) {
        let mut url =
            url::Url::parse(&format!("{}{}", self.issuer, Host::PATHS.end_session.expect("on"))).expect("URL");
        url.query_pairs_mut().append_pair("id_token_hint", id_token_hint.as_str().expect("an ID token"));
        let response = http_client()
            .get(url)
            .header(header::COOKIE, format!("{SESSION_COOKIE}={session}"))
            .send()
            .await
            .expect("logout");
        assert_eq!(response.status(), StatusCode::OK, "the logout completes on a page");
        assert!(
            response.headers().get_all(header::SET_COOKIE).iter().any(|c| c.as_bytes().starts_with(b"test-session=;"))
        );
    }

    /// Verifies a logout token against the provider's JWKS, as a relying party does (§2.6): its
    /// claims.
    async fn verify(&self, token: &str, audience: &str) -> Value {
        let jwks: JwkSet = http_client()
            .get(format!("{}{}", self.issuer, Host::PATHS.jwks))
            .send()
            .await
            .expect("JWKS")
            .text()
            .await
            .map(|text| serde_json::from_str(&text).expect("JSON"))
            .expect("a JWK set");
        let header = decode_header(token).expect("a JWS header");
        assert_eq!(header.typ.as_deref(), Some("logout+jwt"), "explicitly typed (§2.4)");
        let jwk = jwks.find(header.kid.as_deref().expect("kid")).expect("the signing key is in the JWKS");
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[audience]);
        validation.set_issuer(&[self.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud"]);
        let key = DecodingKey::from_jwk(jwk).expect("decoding key");
        let claims = decode::<Value>(token, &key, &validation).expect("the logout token verifies").claims;
        assert_eq!(claims["events"], json!({ EVENT: {} }), "the back-channel logout event (§2.4)");
        assert!(claims.get("nonce").is_none(), "a nonce is prohibited (§2.4)");
        assert!(claims["jti"].as_str().is_some_and(|jti| !jti.is_empty()), "a jti");
        let (iat, exp) = (claims["iat"].as_u64().expect("iat"), claims["exp"].as_u64().expect("exp"));
        assert_eq!(exp - iat, 120, "short-lived");
        claims
    }
}

fn http_client() -> reqwest012::Client {
    reqwest012::Client::builder()
        .redirect(reqwest012::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

/// A relying party's `backchannel_logout_uri` on a loopback port: it answers the statuses of its
/// script in turn (the last one for ever), holds each request until released when `gated`, and
/// hands the logout tokens it receives to the test.
struct Receiver {
    uri: String,
    tokens: mpsc::UnboundedReceiver<String>,
    state: ReceiverState,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct ReceiverState {
    script: Arc<Mutex<VecDeque<StatusCode>>>,
    received: Arc<Mutex<usize>>,
    tokens: mpsc::UnboundedSender<String>,
    gate: Option<Arc<Notify>>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(state): State<ReceiverState>, headers: HeaderMap, body: String) -> StatusCode {
    assert_eq!(headers[header::CONTENT_TYPE], "application/x-www-form-urlencoded", "§2.5: a form POST");
    let token = form_urlencoded::parse(body.as_bytes())
        .find(|(name, _)| name == "logout_token")
        .map(|(_, token)| token.into_owned())
        .expect("a logout_token parameter");
    *state.received.lock().expect("not poisoned") += 1;
    let _ = state.tokens.send(token);
    if let Some(gate) = &state.gate {
        gate.notified().await;
    }
    let mut script = state.script.lock().expect("not poisoned");
    if script.len() > 1 { script.pop_front() } else { script.front().copied() }.unwrap_or(StatusCode::OK)
}

async fn receiver(script: &[StatusCode], gate: Option<Arc<Notify>>) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let uri = format!("http://127.0.0.1:{}/backchannel-logout?rp=1", listener.local_addr().expect("address").port());
    let (tokens_tx, tokens) = mpsc::unbounded_channel();
    let state = ReceiverState {
        script: Arc::new(Mutex::new(script.iter().copied().collect())),
        received: Arc::default(),
        tokens: tokens_tx,
        gate,
    };
    let app = axum::Router::new().route("/backchannel-logout", axum::routing::post(receive)).with_state(state.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("receiver runs");
    });
    Receiver { uri, tokens, state, task }
}

impl Receiver {
    /// The next logout token received.
    async fn token(&mut self) -> String {
        tokio::time::timeout(PATIENCE, self.tokens.recv())
            .await
            .expect("a logout token arrives")
            .expect("the receiver runs")
    }

    /// How many requests arrived.
    fn received(&self) -> usize {
        *self.state.received.lock().expect("not poisoned")
    }
}

// ---------------------------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_logout_at_the_end_session_endpoint_sends_a_verifiable_logout_token() {
    let mut server = start(|b| b).await;
    let mut rp = receiver(&[StatusCode::OK], None).await;
    server.add_client("rp", Some(&rp), false);
    let tokens = server.sign_in("rp", "alice.s1", "openid").await;

    server.logout("alice.s1", &tokens["id_token"]).await;
    let token = rp.token().await;
    let claims = server.verify(&token, "rp").await;
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["sid"], "s1", "the session's sid, as in its ID tokens");
    assert_eq!(
        server.event("session_ended").await,
        "session_ended alice s1 revoked=1 queued=1 dropped=0",
        "the grant of the session is revoked, the relying party queued"
    );
    assert_eq!(server.event("backchannel_logout").await, "backchannel_logout rp alice s1 delivered after 1");
    assert_eq!(rp.received(), 1);
}

#[tokio::test]
async fn a_5xx_is_retried_until_the_relying_party_answers_200() {
    let mut server = start(|b| b).await;
    let mut rp = receiver(&[StatusCode::INTERNAL_SERVER_ERROR, StatusCode::OK], None).await;
    server.add_client("rp", Some(&rp), false);
    server.sign_in("rp", "alice.s1", "openid").await;

    server.auth.session_ended("alice", Some("s1")).await.expect("session ended");
    let (first, second) = (rp.token().await, rp.token().await);
    assert_eq!(first, second, "the same token, sent again");
    assert_eq!(server.event("backchannel_logout").await, "backchannel_logout rp alice s1 delivered after 2");
    assert_eq!(rp.received(), 2);
}

#[tokio::test]
async fn a_400_is_final_and_not_retried() {
    let mut server = start(|b| b).await;
    let mut rp = receiver(&[StatusCode::BAD_REQUEST, StatusCode::OK], None).await;
    server.add_client("rp", Some(&rp), false);
    server.sign_in("rp", "alice.s1", "openid").await;

    server.auth.session_ended("alice", Some("s1")).await.expect("session ended");
    rp.token().await;
    assert_eq!(
        server.event("backchannel_logout").await,
        "backchannel_logout rp alice s1 failed after 1: the relying party answered 400"
    );
    assert_eq!(rp.received(), 1, "exactly one request: a 4xx other than 429 is the relying party's final answer");
}

#[tokio::test]
async fn a_429_is_retried_and_the_attempts_are_bounded() {
    let mut server = start(|b| b).await;
    let rp = receiver(&[StatusCode::TOO_MANY_REQUESTS], None).await;
    server.add_client("rp", Some(&rp), false);
    server.sign_in("rp", "alice.s1", "openid").await;

    server.auth.session_ended("alice", Some("s1")).await.expect("session ended");
    assert_eq!(
        server.event("backchannel_logout").await,
        "backchannel_logout rp alice s1 failed after 3: the relying party answered 429"
    );
    assert_eq!(rp.received(), 3, "three attempts, then it gives up");
}

#[tokio::test]
async fn every_relying_party_of_the_session_is_notified_and_none_of_another_session() {
    let mut server = start(|b| b).await;
    let (mut a, mut b, mut c) = (
        receiver(&[StatusCode::OK], None).await,
        receiver(&[StatusCode::NO_CONTENT], None).await,
        receiver(&[StatusCode::OK], None).await,
    );
    server.add_client("rp-a", Some(&a), false);
    server.add_client("rp-b", Some(&b), false);
    server.add_client("rp-c", Some(&c), false);
    let tokens = server.sign_in("rp-a", "alice.s1", "openid").await;
    server.sign_in("rp-b", "alice.s1", "openid").await;
    // The same user, another session (another browser).
    server.sign_in("rp-c", "alice.s2", "openid").await;

    server.logout("alice.s1", &tokens["id_token"]).await;
    assert_eq!(server.event("session_ended").await, "session_ended alice s1 revoked=2 queued=2 dropped=0");
    for (rp, id) in [(&mut a, "rp-a"), (&mut b, "rp-b")] {
        let claims = server.verify(&rp.token().await, id).await;
        assert_eq!((claims["sub"].as_str(), claims["sid"].as_str()), (Some("alice"), Some("s1")));
    }
    let mut outcomes = vec![server.event("backchannel_logout").await, server.event("backchannel_logout").await];
    outcomes.sort();
    assert_eq!(
        outcomes,
        ["backchannel_logout rp-a alice s1 delivered after 1", "backchannel_logout rp-b alice s1 delivered after 1"],
        "200 and 204 are both success (§2.8)"
    );
    assert_eq!(c.received(), 0, "the other session's relying party was not queued");

    // Its record is still there: ending that session notifies it.
    server.auth.session_ended("alice", Some("s2")).await.expect("session ended");
    assert_eq!(server.event("session_ended").await, "session_ended alice s2 revoked=1 queued=1 dropped=0");
    let claims = server.verify(&c.token().await, "rp-c").await;
    assert_eq!(claims["sid"], "s2");
}

#[tokio::test]
async fn a_session_required_client_gets_sid_and_a_session_without_one_is_told_by_sub() {
    let mut server = start(|b| b).await;
    let mut required = receiver(&[StatusCode::OK], None).await;
    let mut plain = receiver(&[StatusCode::OK], None).await;
    server.add_client("rp-sid", Some(&required), true);
    server.add_client("rp-sub", Some(&plain), false);
    server.sign_in("rp-sid", "alice.s9", "openid").await;
    // A host session without an identifier: the record is the subject's alone.
    server.sign_in("rp-sub", "bob", "openid").await;

    server.auth.session_ended("alice", Some("s9")).await.expect("session ended");
    let claims = server.verify(&required.token().await, "rp-sid").await;
    assert_eq!((claims["sub"].as_str(), claims["sid"].as_str()), (Some("alice"), Some("s9")));

    server.auth.session_ended("bob", None).await.expect("session ended");
    let claims = server.verify(&plain.token().await, "rp-sub").await;
    assert_eq!(claims["sub"], "bob");
    assert!(claims.get("sid").is_none(), "no sid for a session without one");
    let _ = server.event("session_ended bob").await;
}

#[tokio::test]
async fn a_full_queue_drops_the_delivery_with_an_event() {
    // One delivery in flight and one waiting, at most.
    let mut server = start(|b| b.backchannel_logout_queue(1, 1)).await;
    let gate = Arc::new(Notify::new());
    let mut slow = receiver(&[StatusCode::OK], Some(gate.clone())).await;
    let mut fast = receiver(&[StatusCode::OK], None).await;
    server.add_client("rp-0-slow", Some(&slow), false);
    server.add_client("rp-1", Some(&fast), false);
    server.add_client("rp-2", Some(&fast), false);
    server.sign_in("rp-0-slow", "alice.s1", "openid").await;
    server.sign_in("rp-1", "bob.s2", "openid").await;
    server.sign_in("rp-2", "bob.s2", "openid").await;

    // The slow relying party holds the one delivery slot.
    server.auth.session_ended("alice", Some("s1")).await.expect("session ended");
    slow.token().await;
    // rp-1 waits in the queue; rp-2 finds it full.
    server.auth.session_ended("bob", Some("s2")).await.expect("session ended, whatever the queue");
    assert_eq!(server.event("backchannel_logout").await, "backchannel_logout rp-2 bob s2 dropped");
    assert_eq!(server.event("session_ended bob").await, "session_ended bob s2 revoked=2 queued=1 dropped=1");

    gate.notify_one();
    assert_eq!(server.event("backchannel_logout").await, "backchannel_logout rp-0-slow alice s1 delivered after 1");
    let claims = server.verify(&fast.token().await, "rp-1").await;
    assert_eq!(claims["aud"], "rp-1");
    assert_eq!(server.event("backchannel_logout").await, "backchannel_logout rp-1 bob s2 delivered after 1");
    assert_eq!(fast.received(), 1, "rp-2 was never sent its token");
}

// ---------------------------------------------------------------------------------------------
// Revocation (§2.7)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn logout_revokes_the_sessions_grants_but_offline_access_and_other_sessions() {
    let server = start(|b| b).await;
    server.add_client("rp", None, false);
    server.add_client("api", None, false);
    // Session s1: an OpenID sign-in with offline access, and a plain OAuth grant (whose refresh
    // token needs no offline_access).
    let offline = server.sign_in("rp", "alice.s1", "openid offline_access").await;
    let online = server.sign_in("api", "alice.s1", "read").await;
    // Session s2 of the same user.
    let other = server.sign_in("api", "alice.s2", "read").await;

    server.logout("alice.s1", &offline["id_token"]).await;

    let (status, body) = server.refresh("api", &online["refresh_token"]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_grant", "error_description": "the refresh token is invalid, expired or revoked"})
    );
    let (status, body) = server.refresh("rp", &offline["refresh_token"]).await;
    assert_eq!(status, StatusCode::OK, "offline_access outlives the session (§2.7): {body}");
    let (status, body) = server.refresh("api", &other["refresh_token"]).await;
    assert_eq!(status, StatusCode::OK, "another session's grant stays: {body}");
}

#[tokio::test]
async fn session_ended_by_the_host_revokes_and_notifies_as_logout_does() {
    let mut server = start(|b| b).await;
    let mut rp = receiver(&[StatusCode::OK], None).await;
    server.add_client("rp", Some(&rp), false);
    let tokens = server.sign_in("rp", "alice.s1", "read").await;

    server.auth.session_ended("alice", Some("s1")).await.expect("session ended");
    assert_eq!(server.event("session_ended").await, "session_ended alice s1 revoked=1 queued=1 dropped=0");
    let claims = server.verify(&rp.token().await, "rp").await;
    assert_eq!(claims["sid"], "s1");
    let (status, body) = server.refresh("rp", &tokens["refresh_token"]).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")));
    // Ending it again finds nothing left to do.
    server.auth.session_ended("alice", Some("s1")).await.expect("session ended");
    assert_eq!(server.event("session_ended").await, "session_ended alice s1 revoked=0 queued=0 dropped=0");
}

// ---------------------------------------------------------------------------------------------
// Registration and discovery
// ---------------------------------------------------------------------------------------------

async fn register(server: &Server, metadata: Value) -> (StatusCode, Value) {
    let response = http_client()
        .post(format!("{}{}", server.issuer, Host::PATHS.registration.expect("on")))
        .header(header::CONTENT_TYPE, "application/json")
        .body(metadata.to_string())
        .send()
        .await
        .expect("registration");
    let status = response.status();
    (status, response.text().await.map(|text| serde_json::from_str(&text).expect("JSON")).expect("JSON"))
}

fn client_metadata(issuer: &str, backchannel: &Value) -> Value {
    // A public client: its redirect URI is loopback http.
    let mut metadata =
        json!({"redirect_uris": [format!("{issuer}/cb")], "scope": "openid", "token_endpoint_auth_method": "none"});
    for (name, value) in backchannel.as_object().expect("an object") {
        metadata[name] = value.clone();
    }
    metadata
}

#[tokio::test]
async fn registration_refuses_back_channel_uris_it_will_not_post_to() {
    // Without the development switch.
    let server = start(|b| b.allow_loopback_backchannel_logout_for_development(false)).await;
    let cases = [
        (
            json!({"backchannel_logout_uri": "not a url"}),
            "`backchannel_logout_uri` must be an absolute URL without whitespace",
        ),
        (json!({"backchannel_logout_uri": "/logout"}), "`backchannel_logout_uri` must be an absolute URL"),
        (
            json!({"backchannel_logout_uri": "https://rp.example/logout#f"}),
            "`backchannel_logout_uri` must not contain a fragment (OpenID Connect Back-Channel Logout 1.0 section 2.2)",
        ),
        (
            json!({"backchannel_logout_uri": "http://rp.example/logout"}),
            "`backchannel_logout_uri` must be an https URL",
        ),
        (
            json!({"backchannel_logout_uri": "http://127.0.0.1:9/logout"}),
            "`backchannel_logout_uri` must be an https URL",
        ),
        (
            json!({"backchannel_logout_uri": "https://127.0.0.1:9/logout"}),
            "`backchannel_logout_uri` must not point at a loopback or private address",
        ),
        (
            json!({"backchannel_logout_uri": "https://localhost/logout"}),
            "`backchannel_logout_uri` must not point at a loopback or private address",
        ),
        (json!({"backchannel_logout_uri": 7}), "`backchannel_logout_uri` must be a string"),
        (
            json!({"backchannel_logout_uri": "https://rp.example/l", "backchannel_logout_session_required": "yes"}),
            "`backchannel_logout_session_required` must be a boolean (OpenID Connect Back-Channel Logout 1.0 section 2.2)",
        ),
    ];
    for (backchannel, description) in cases {
        let (status, body) = register(&server, client_metadata(&server.issuer, &backchannel)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{backchannel}");
        assert_eq!(
            body,
            json!({"error": "invalid_client_metadata", "error_description": description}),
            "{backchannel}"
        );
    }
    // An https URL with a query is accepted, and echoed with the flag.
    let (status, body) = register(
        &server,
        client_metadata(&server.issuer, &json!({"backchannel_logout_uri": "https://rp.example/logout?tenant=7"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["backchannel_logout_uri"], "https://rp.example/logout?tenant=7");
    assert_eq!(body["backchannel_logout_session_required"], false);
}

#[tokio::test]
async fn a_registered_loopback_relying_party_is_notified_with_the_development_switch() {
    let mut server = start(|b| b).await;
    let mut rp = receiver(&[StatusCode::OK], None).await;
    let (status, registered) = register(
        &server,
        client_metadata(
            &server.issuer,
            &json!({"backchannel_logout_uri": rp.uri, "backchannel_logout_session_required": true}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    assert_eq!(registered["backchannel_logout_uri"], rp.uri.as_str());
    assert_eq!(registered["backchannel_logout_session_required"], true);
    // The registration reads back with them (RFC 7592 §2.1).
    let read = http_client()
        .get(registered["registration_client_uri"].as_str().expect("a URI"))
        .bearer_auth(registered["registration_access_token"].as_str().expect("a token"))
        .send()
        .await
        .expect("read")
        .text()
        .await
        .map(|text| serde_json::from_str::<Value>(&text).expect("JSON"))
        .expect("JSON");
    assert_eq!(read["backchannel_logout_uri"], rp.uri.as_str());
    assert_eq!(read["backchannel_logout_session_required"], true);

    // The registered (public) client signs in, then the session ends.
    let client_id = registered["client_id"].as_str().expect("a client id").to_owned();
    let verifier = "another-verifier-of-the-code-challenge-long-enough-to-be-valid";
    let challenge = {
        use base64::Engine as _;
        use sha2::Digest as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let redirect_uri = format!("{}/cb", server.issuer);
    let mut url = url::Url::parse(&format!("{}{}", server.issuer, Host::PATHS.authorize)).expect("URL");
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("scope", "openid"),
    ]);
    let response =
        http_client().get(url).header(header::COOKIE, "test-session=carol.s5").send().await.expect("authorize");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = url::Url::parse(response.headers()[header::LOCATION].to_str().expect("ASCII")).expect("URL");
    let code = location.query_pairs().find(|(n, _)| n == "code").map(|(_, c)| c.into_owned()).expect("a code");
    let response = http_client()
        .post(format!("{}{}", server.issuer, Host::PATHS.token))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("grant_type", "authorization_code"),
                    ("client_id", client_id.as_str()),
                    ("code", code.as_str()),
                    ("redirect_uri", redirect_uri.as_str()),
                    ("code_verifier", verifier),
                ])
                .finish(),
        )
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::OK);

    server.auth.session_ended("carol", Some("s5")).await.expect("session ended");
    let claims = server.verify(&rp.token().await, &client_id).await;
    assert_eq!((claims["sub"].as_str(), claims["sid"].as_str()), (Some("carol"), Some("s5")));
    let _ = server.event("backchannel_logout").await;
}

#[tokio::test]
async fn discovery_advertises_back_channel_logout_with_end_session() {
    let server = start(|b| b).await;
    let document: Value = http_client()
        .get(format!("{}/.well-known/openid-configuration", server.issuer))
        .send()
        .await
        .expect("discovery")
        .text()
        .await
        .map(|text| serde_json::from_str(&text).expect("JSON"))
        .expect("JSON");
    assert_eq!(document["backchannel_logout_supported"], true);
    assert_eq!(document["backchannel_logout_session_supported"], true);
    // OpenID members: not in the RFC 8414 document.
    let oauth: Value = http_client()
        .get(format!("{}/.well-known/oauth-authorization-server", server.issuer))
        .send()
        .await
        .expect("discovery")
        .text()
        .await
        .map(|text| serde_json::from_str(&text).expect("JSON"))
        .expect("JSON");
    assert!(oauth.get("backchannel_logout_supported").is_none(), "{oauth}");

    // Without end_session, no logout ends a session: not advertised, and not registrable.
    let plain = Attesto::builder(NoLogout)
        .issuer("http://127.0.0.1:1")
        .expect("issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .build()
        .expect("provider");
    let document = serde_json::to_value(plain.metadata()).expect("JSON");
    assert!(document.get("backchannel_logout_supported").is_none(), "{document}");
    assert!(document.get("backchannel_logout_session_supported").is_none(), "{document}");
}

/// A provider with OpenID Connect but no end-session endpoint.
#[derive(Clone)]
#[attesto::provider]
struct NoLogout;

impl ClientStore for NoLogout {}
impl PrincipalStore for NoLogout {
    async fn authenticate(&self, _: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::LoginRequired)
    }
}

// ---------------------------------------------------------------------------------------------
// The quickstart
// ---------------------------------------------------------------------------------------------

/// `examples/quickstart.rs` on a loopback port (a development tool, with the development switch
/// on): a relying party registers with a loopback `backchannel_logout_uri`, the demo user signs in
/// and authorizes it, logs out at the end-session endpoint, and the relying party receives a
/// logout token that verifies against the quickstart's JWKS.
#[tokio::test]
async fn the_quickstart_notifies_a_registered_loopback_relying_party_at_logout() {
    use crate::grants::Quickstart;

    let quickstart = Quickstart::start().await;
    let mut rp = receiver(&[StatusCode::OK], None).await;
    let response = quickstart
        .http
        .post(format!("{}/oauth/register", quickstart.base))
        .header(header::CONTENT_TYPE, "application/json")
        .body(
            json!({
                "redirect_uris": ["http://127.0.0.1/callback"],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "scope": "openid offline_access",
                "backchannel_logout_uri": rp.uri,
            })
            .to_string(),
        )
        .send()
        .await
        .expect("register");
    assert_eq!(response.status(), StatusCode::CREATED);
    let registered: Value = response.text().await.map(|text| serde_json::from_str(&text).expect("JSON")).expect("JSON");
    assert_eq!(registered["backchannel_logout_uri"], rp.uri.as_str());
    let client_id = registered["client_id"].as_str().expect("a client id").to_owned();

    let session = quickstart.sign_in().await;
    let tokens = quickstart.authorize(&session, &client_id).await;
    let discovery: Value = quickstart
        .http
        .get(format!("{}/.well-known/openid-configuration", quickstart.base))
        .send()
        .await
        .expect("discovery")
        .text()
        .await
        .map(|text| serde_json::from_str(&text).expect("JSON"))
        .expect("JSON");
    assert_eq!(discovery["backchannel_logout_supported"], true);
    let mut logout = url::Url::parse(discovery["end_session_endpoint"].as_str().expect("an endpoint")).expect("URL");
    logout.query_pairs_mut().append_pair("id_token_hint", tokens["id_token"].as_str().expect("an ID token"));
    let response = quickstart.http.get(logout).header(header::COOKIE, &session).send().await.expect("logout");
    assert_eq!(response.status(), StatusCode::OK, "signed out, on the page that says so");

    let token = rp.token().await;
    let jwks: JwkSet = quickstart
        .http
        .get(discovery["jwks_uri"].as_str().expect("a JWKS URI"))
        .send()
        .await
        .expect("JWKS")
        .text()
        .await
        .map(|text| serde_json::from_str(&text).expect("JSON"))
        .expect("a JWK set");
    let header = decode_header(&token).expect("a JWS header");
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"));
    let jwk = jwks.find(header.kid.as_deref().expect("kid")).expect("the signing key is in the JWKS");
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[client_id.as_str()]);
    validation.set_issuer(&[discovery["issuer"].as_str().expect("an issuer")]);
    let claims = decode::<Value>(&token, &DecodingKey::from_jwk(jwk).expect("key"), &validation)
        .expect("the logout token verifies")
        .claims;
    assert_eq!(claims["sub"], "demo");
    assert!(claims["sid"].as_str().is_some_and(|sid| !sid.is_empty()), "the quickstart's sessions have a sid");
    assert_eq!(claims["events"], json!({ EVENT: {} }));
    assert!(claims.get("nonce").is_none());
    // The demo app's grant carries offline_access: it outlives the session (§2.7).
    let refreshed = quickstart
        .http
        .post(format!("{}/oauth/token", quickstart.base))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", client_id.as_str()),
            ("refresh_token", tokens["refresh_token"].as_str().expect("a refresh token")),
        ])
        .send()
        .await
        .expect("refresh");
    assert_eq!(refreshed.status(), StatusCode::OK);
}

/// A relying party with pairwise subjects (OIDC Core §8.1) is told of the logout under the `sub`
/// of its sector, the one of its ID tokens, never the user's own identifier; another relying
/// party of the same session, with public subjects, under the user's own.
#[tokio::test]
async fn a_pairwise_relying_party_is_told_the_sub_of_its_sector() {
    use crate::grants::Quickstart;

    let quickstart = Quickstart::start().await;
    let register = |uri: String, subject_type: &'static str| {
        let request = quickstart
            .http
            .post(format!("{}/oauth/register", quickstart.base))
            .header(header::CONTENT_TYPE, "application/json")
            .body(
                json!({
                    "redirect_uris": ["http://127.0.0.1/callback"],
                    "token_endpoint_auth_method": "none",
                    "grant_types": ["authorization_code", "refresh_token"],
                    "scope": "openid offline_access",
                    "backchannel_logout_uri": uri,
                    "subject_type": subject_type,
                })
                .to_string(),
            );
        async move {
            let response = request.send().await.expect("register");
            assert_eq!(response.status(), StatusCode::CREATED);
            let registered: Value = serde_json::from_str(&response.text().await.expect("a body")).expect("JSON");
            registered["client_id"].as_str().expect("a client id").to_owned()
        }
    };
    let (mut pairwise_rp, mut public_rp) =
        (receiver(&[StatusCode::OK], None).await, receiver(&[StatusCode::OK], None).await);
    let pairwise = register(pairwise_rp.uri.clone(), "pairwise").await;
    let public = register(public_rp.uri.clone(), "public").await;
    let session = quickstart.sign_in().await;
    let pairwise_tokens = quickstart.authorize(&session, &pairwise).await;
    quickstart.authorize(&session, &public).await;
    let id_token = pairwise_tokens["id_token"].as_str().expect("an ID token");
    let sector_sub = claims_of(id_token)["sub"].as_str().expect("a sub").to_owned();
    assert_ne!(sector_sub, "demo");

    let mut logout = url::Url::parse(&format!("{}/oauth/end_session", quickstart.base)).expect("URL");
    logout.query_pairs_mut().append_pair("id_token_hint", id_token);
    let response = quickstart.http.get(logout).header(header::COOKIE, &session).send().await.expect("logout");
    assert_eq!(response.status(), StatusCode::OK, "signed out at once: the pairwise hint matched the session");
    assert_eq!(claims_of(&pairwise_rp.token().await)["sub"], sector_sub.as_str());
    assert_eq!(claims_of(&public_rp.token().await)["sub"], "demo");
}

/// The claims of a JWT, unverified (its signature is checked by the tests above).
fn claims_of(jwt: &str) -> Value {
    use base64::Engine as _;
    let part = jwt.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON")
}

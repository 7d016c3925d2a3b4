//! A real browser through the pages of a sign-in: headless Chromium, driven over WebDriver
//! (chromedriver), opens an authorization URL of a quickstart-like provider (`quickstart_like`)
//! served on a loopback port, signs in on the login page, answers attesto's consent page, and
//! lands on the client's redirect URI, where a small server records what arrives.
//!
//! What only a browser shows is checked here: that the Content-Security-Policy of each page lets
//! the flow through (a `form-action` that left out the client's origin once cancelled the 303 that
//! follows the consent POST; the form_post page's script must run), that the cookies of the login
//! and of the consent page come back (SameSite, origin checks), and what back and reload do.
//!
//! chromium and chromedriver are Debian's (`apt-get install chromium chromium-driver`). Without
//! them each test says so on stderr and passes; under `CI=true` it fails instead.
//!
//! Each scenario is a sequence of steps ([`Flow`], [`Browser`]): open, log in, answer the consent
//! page, read what reached the callback. A new page in the flow is a new step.

use std::collections::HashMap;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::quickstart_like;
use crate::quickstart_like::{Demo, PASSWORD, PUBLIC_ID, PUBLIC_NAME, Served, USER};
use axum::body::Bytes;
use axum::extract::Request;
use axum::response::Html;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fantoccini::{ClientBuilder, Locator};
use http::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The longest any one step may take: a page to show, a request to arrive.
const STEP: Duration = Duration::from_secs(15);

/// How long the callback is watched for a request that must not come.
const QUIET: Duration = Duration::from_millis(750);

/// The title and heading of attesto's error page (`html::error_page`).
const ERROR_HEADING: &str = "Authorization request refused";

/// What the error page says when a consent or resume handle is used a second time.
const SPENT: &str = "This authorization request expired or was already completed";

// ---------------------------------------------------------------------------------------------
// chromedriver
// ---------------------------------------------------------------------------------------------

/// Whether chromium and chromedriver are installed; under `CI=true` their absence fails the test.
fn browser_installed() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER].into_iter().filter(|path| !Path::new(path).exists()).collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!(
            "{} not installed: CI=true runs the browser tests, install them with \
             `apt-get install chromium chromium-driver`",
            missing.join(" and ")
        );
    }
    // Straight to stderr: the harness captures `eprintln!` of passing tests, and this must be seen.
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPING a browser test: {} not installed (apt-get install chromium chromium-driver); \
         under CI=true it fails instead.\n",
        missing.join(" and ")
    );
    false
}

/// chromedriver on a loopback port, killed with every browser it started when dropped, also when
/// the test fails.
struct Chromedriver {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    url: String,
}

impl Chromedriver {
    fn start() -> Self {
        use std::os::unix::process::CommandExt as _;
        // A free port: bound, read, released; chromedriver takes it a moment later.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // A process group of its own, so that Drop kills the browsers it starts with it.
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let driver = Self { child, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + STEP;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on port {port} within {STEP:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and the Chromium processes it started.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The client's redirect URI
// ---------------------------------------------------------------------------------------------

/// One request that reached the callback server.
#[derive(Debug, Clone)]
struct Arrival {
    method: String,
    path: String,
    /// The query's parameters, or the form body's for a POST (form_post).
    params: HashMap<String, String>,
}

impl Arrival {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// A server on a loopback port that records every request, on any path, and answers with a page.
struct Callback {
    /// `http://127.0.0.1:PORT`.
    base: String,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Callback {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Callback {
    async fn start() -> Self {
        let arrivals: Arc<Mutex<Vec<Arrival>>> = Arc::default();
        let record = arrivals.clone();
        // The browser asks for a page's icon on its own; that is no request of the flow's.
        let app = axum::Router::new().route("/favicon.ico", get(|| async { StatusCode::NOT_FOUND })).fallback(
            move |request: Request| {
                let record = record.clone();
                async move {
                    let (parts, body) = request.into_parts();
                    let body: Bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
                    let input = if body.is_empty() { parts.uri.query().unwrap_or_default().as_bytes() } else { &body };
                    let params = form_urlencoded::parse(input).into_owned().collect();
                    let arrival =
                        Arrival { method: parts.method.to_string(), path: parts.uri.path().to_owned(), params };
                    record.lock().expect("arrivals").push(arrival);
                    Html("<!doctype html><title>Callback</title><h1>The application received the response</h1>")
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("callback server runs");
        });
        Self { base, arrivals, task }
    }

    /// The registered redirect URI of the public demo client, on this server's port (RFC 8252
    /// §7.3: any port).
    fn redirect_uri(&self) -> String {
        format!("{}{}", self.base, quickstart_like::PUBLIC_REDIRECT_PATH)
    }

    fn arrivals(&self) -> Vec<Arrival> {
        self.arrivals.lock().expect("arrivals").clone()
    }
}

// ---------------------------------------------------------------------------------------------
// The browser
// ---------------------------------------------------------------------------------------------

/// A headless Chromium session, with one method per step of a sign-in.
struct Browser(fantoccini::Client);

impl Browser {
    async fn connect(driver: &Chromedriver) -> Self {
        let mut capabilities = fantoccini::wd::Capabilities::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": CHROMIUM,
                // `--no-sandbox`: CI runs as root, where Chromium's sandbox cannot start.
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--no-first-run", "--disable-extensions", "--window-size=1024,768"],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .expect("a WebDriver session with headless Chromium");
        Self(client)
    }

    /// Opens `url`.
    async fn open(&self, url: &str) {
        self.0.goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The element `css`, once the page shows it.
    async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        match self.0.wait().at_most(STEP).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(error) => panic!("`{css}` did not show within {STEP:?} ({error}); {}", self.describe().await),
        }
    }

    /// The current URL and the visible text, for failure messages.
    async fn describe(&self) -> String {
        let url = self.0.current_url().await.map(|u| u.to_string()).unwrap_or_else(|e| format!("<{e}>"));
        format!("the browser is at {url}, showing:\n{}", self.text().await)
    }

    /// The visible text of the page.
    async fn text(&self) -> String {
        match self.0.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Signs in on the login page the authorization endpoint sent the browser to.
    async fn login(&self, user: &str, password: &str) {
        let username = self.wait_for("form input[name=username]").await;
        assert_eq!(self.0.title().await.expect("title"), "Sign in", "{}", self.describe().await);
        username.send_keys(user).await.expect("type the username");
        self.0
            .find(Locator::Css("input[name=password]"))
            .await
            .expect("a password field")
            .send_keys(password)
            .await
            .expect("type the password");
        self.0
            .find(Locator::Css("form button[type=submit]"))
            .await
            .expect("a sign-in button")
            .click()
            .await
            .expect("submit the sign-in");
    }

    /// Waits for attesto's consent page and returns its text.
    async fn consent_page(&self) -> ConsentPage {
        self.wait_for("form button[name=attesto_decision][value=allow]").await;
        assert_eq!(self.0.title().await.expect("title"), "Authorize access", "{}", self.describe().await);
        let hidden = |name: &'static str| async move {
            let input = self.0.find(Locator::Css(&format!("input[name={name}]"))).await.expect("a hidden input");
            input.attr("value").await.expect("its value").expect("a value")
        };
        ConsentPage {
            text: self.text().await,
            handle: hidden("attesto_consent").await,
            csrf: hidden("attesto_csrf").await,
        }
    }

    /// Clicks Allow or Deny on the consent page.
    async fn decide(&self, decision: Decision) {
        let css = format!("form button[name=attesto_decision][value={}]", decision.value());
        self.wait_for(&css).await.click().await.expect("click the decision");
    }

    /// Waits for attesto's error page and returns its text.
    async fn error_page(&self) -> String {
        let deadline = Instant::now() + STEP;
        loop {
            if self.0.title().await.is_ok_and(|title| title == ERROR_HEADING) {
                return self.text().await;
            }
            assert!(Instant::now() < deadline, "no error page within {STEP:?}; {}", self.describe().await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ends the WebDriver session, which closes Chromium.
    async fn close(self) {
        let _ = self.0.close().await;
    }
}

/// The consent page as shown: its text, and the handle and CSRF value its form would send.
struct ConsentPage {
    text: String,
    handle: String,
    csrf: String,
}

#[derive(Debug, Clone, Copy)]
enum Decision {
    Allow,
    Deny,
}

impl Decision {
    fn value(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A flow: provider, callback, browser
// ---------------------------------------------------------------------------------------------

/// One sign-in's world: the provider, the client's callback, the browser, and the authorization
/// request's PKCE verifier and `state`.
struct Flow {
    provider: Served,
    callback: Callback,
    browser: Browser,
    verifier: String,
    challenge: String,
    state: String,
    // Last: dropped after the browser session is gone, killing what is left of it.
    _driver: Chromedriver,
}

impl Flow {
    /// Everything started, or `None` when the browser is not installed (outside CI).
    async fn start() -> Option<Self> {
        if !browser_installed() {
            return None;
        }
        let driver = Chromedriver::start();
        let provider = quickstart_like::serve(None).await;
        let callback = Callback::start().await;
        let browser = Browser::connect(&driver).await;
        let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let state = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 12]>());
        Some(Self { provider, callback, browser, verifier, challenge, state, _driver: driver })
    }

    /// The public demo client's authorization request (PKCE S256) to this flow's callback, with
    /// `extra` parameters added or replacing the defaults.
    fn authorization_url(&self, extra: &[(&str, &str)]) -> String {
        let redirect_uri = self.callback.redirect_uri();
        let mut params: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", PUBLIC_ID),
            ("redirect_uri", &redirect_uri),
            ("scope", "openid email read"),
            ("state", &self.state),
            ("nonce", "n-0S6_WzA2Mj"),
            ("code_challenge", &self.challenge),
            ("code_challenge_method", "S256"),
        ];
        for (name, value) in extra {
            params.retain(|(n, _)| n != name);
            params.push((name, value));
        }
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
        format!("{}?{query}", self.provider.url(Demo::PATHS.authorize))
    }

    /// Opens the authorization URL, signs in and waits for the consent page.
    async fn to_consent(&self, extra: &[(&str, &str)]) -> ConsentPage {
        self.browser.open(&self.authorization_url(extra)).await;
        self.browser.login(USER, PASSWORD).await;
        self.browser.consent_page().await
    }

    /// The `n`th request (from 1) to reach the callback, once it has.
    async fn arrival(&self, n: usize) -> Arrival {
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(arrival) = self.callback.arrivals().get(n - 1) {
                return arrival.clone();
            }
            assert!(
                Instant::now() < deadline,
                "request {n} did not reach the callback within {STEP:?}; {}",
                self.browser.describe().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asserts that the callback has had exactly `n` requests, and still has after a while.
    async fn assert_arrivals(&self, n: usize) {
        tokio::time::sleep(QUIET).await;
        let arrivals = self.callback.arrivals();
        assert_eq!(arrivals.len(), n, "requests at the callback: {arrivals:?}; {}", self.browser.describe().await);
    }

    /// Asserts an authorization response for this flow: on the redirect URI's path, with this
    /// flow's `state` and the provider's `iss` (RFC 9207 §2).
    fn assert_response(&self, arrival: &Arrival, method: &str) {
        assert_eq!(arrival.method, method, "{arrival:?}");
        assert_eq!(arrival.path, quickstart_like::PUBLIC_REDIRECT_PATH, "{arrival:?}");
        assert_eq!(arrival.param("state"), Some(self.state.as_str()), "{arrival:?}");
        assert_eq!(arrival.param("iss"), Some(self.provider.base.as_str()), "{arrival:?}");
    }

    /// Redeems `code` at the token endpoint as the public client: the token response.
    async fn redeem(&self, code: &str) -> Value {
        let redirect_uri = self.callback.redirect_uri();
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("grant_type", "authorization_code"),
                ("client_id", PUBLIC_ID),
                ("code", code),
                ("code_verifier", &self.verifier),
                ("redirect_uri", &redirect_uri),
            ])
            .finish();
        let response = reqwest012::Client::new()
            .post(self.provider.url(Demo::PATHS.token))
            .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .timeout(STEP)
            .send()
            .await
            .expect("token request");
        let status = response.status();
        let text = response.text().await.expect("the token response");
        let tokens: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("a JSON token response: {text}"));
        assert_eq!(status, StatusCode::OK, "{tokens}");
        tokens
    }

    async fn finish(self) {
        self.browser.close().await;
    }
}

/// Asserts a token response of the code flow with `openid`.
fn assert_tokens(tokens: &Value) {
    assert_eq!(tokens["token_type"], "Bearer", "{tokens}");
    assert!(tokens["access_token"].as_str().is_some_and(|t| !t.is_empty()), "{tokens}");
    assert!(tokens["id_token"].as_str().is_some_and(|t| t.split('.').count() == 3), "{tokens}");
    assert_eq!(tokens["scope"], "openid email read", "{tokens}");
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// Sign in, see who asks for what on the consent page, allow: the callback receives a code with
/// `state` and `iss` (after the consent POST's 303, which the consent page's `form-action` must
/// allow), and the code redeems for tokens.
#[tokio::test]
async fn login_consent_and_the_code_reaches_the_callback() {
    let Some(flow) = Flow::start().await else { return };
    let page = flow.to_consent(&[]).await;
    assert!(page.text.contains(&format!("{PUBLIC_NAME} wants to access your account")), "{}", page.text);
    assert!(page.text.contains(&format!("Client ID: {PUBLIC_ID}")), "{}", page.text);
    assert!(page.text.contains(&format!("Signed in as {USER}")), "{}", page.text);
    for shown in ["Confirm who you are openid", "Your email address email", "read"] {
        assert!(page.text.contains(shown), "`{shown}` on the consent page:\n{}", page.text);
    }
    assert!(!page.text.contains("profile"), "only the requested scopes:\n{}", page.text);

    flow.browser.decide(Decision::Allow).await;
    let arrival = flow.arrival(1).await;
    flow.assert_response(&arrival, "GET");
    let code = arrival.param("code").unwrap_or_else(|| panic!("a code: {arrival:?}"));
    assert_eq!(arrival.param("error"), None, "{arrival:?}");
    // The browser itself got there: the redirect was followed, not blocked.
    let landed = flow.browser.0.current_url().await.expect("URL");
    assert_eq!(landed.origin(), url::Url::parse(&flow.callback.base).expect("URL").origin());
    assert_eq!(flow.browser.0.title().await.expect("title"), "Callback");

    assert_tokens(&flow.redeem(code).await);
    flow.assert_arrivals(1).await;
    flow.finish().await;
}

/// Deny on the consent page: the callback receives `access_denied` with `state` and `iss`, and
/// no code.
#[tokio::test]
async fn deny_sends_access_denied_to_the_callback() {
    let Some(flow) = Flow::start().await else { return };
    flow.to_consent(&[]).await;
    flow.browser.decide(Decision::Deny).await;
    let arrival = flow.arrival(1).await;
    flow.assert_response(&arrival, "GET");
    assert_eq!(arrival.param("error"), Some("access_denied"), "{arrival:?}");
    assert_eq!(arrival.param("code"), None, "{arrival:?}");
    flow.assert_arrivals(1).await;
    flow.finish().await;
}

/// `response_mode=form_post`: after Allow the auto-submitting page (its script allowed by hash in
/// its CSP) POSTs the code to the callback, and the code redeems.
#[tokio::test]
async fn form_post_posts_the_code_to_the_callback() {
    let Some(flow) = Flow::start().await else { return };
    flow.to_consent(&[("response_mode", "form_post")]).await;
    flow.browser.decide(Decision::Allow).await;
    let arrival = flow.arrival(1).await;
    // POST, not the GET a person would get by clicking the no-script Continue button: the script
    // ran.
    flow.assert_response(&arrival, "POST");
    let code = arrival.param("code").unwrap_or_else(|| panic!("a code: {arrival:?}"));
    assert_eq!(flow.browser.0.title().await.expect("title"), "Callback");
    assert_tokens(&flow.redeem(code).await);
    flow.assert_arrivals(1).await;
    flow.finish().await;
}

/// After Allow and the callback, back to the consent page and submit again (Allow if the page
/// comes from the cache, reload otherwise): the handles are spent (or their browser-binding cookie
/// cleared), so the error page is shown and no second code reaches the callback. Then the very decision the page sent (its handle, its
/// CSRF value, the cookie restored) is posted again from the provider's origin: refused as spent.
#[tokio::test]
async fn back_and_resubmit_yields_no_second_code() {
    let Some(flow) = Flow::start().await else { return };
    let page = flow.to_consent(&[]).await;
    let consent_cookies: Vec<_> = flow
        .browser
        .0
        .get_all_cookies()
        .await
        .expect("cookies")
        .into_iter()
        .filter(|cookie| cookie.name().starts_with("attesto-consent-"))
        .collect();
    assert_eq!(consent_cookies.len(), 1, "the consent page's CSRF cookie: {consent_cookies:?}");
    flow.browser.decide(Decision::Allow).await;
    let first = flow.arrival(1).await;
    assert!(first.param("code").is_some(), "{first:?}");

    flow.browser.0.back().await.expect("back");
    // The page back there: the consent page again (from a cache), or whatever its URL gives now.
    let deadline = Instant::now() + STEP;
    let consent_again = loop {
        let title = flow.browser.0.title().await.unwrap_or_default();
        if title == "Authorize access" {
            break true;
        }
        if title == ERROR_HEADING {
            break false;
        }
        assert!(Instant::now() < deadline, "back showed neither page; {}", flow.browser.describe().await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    if consent_again {
        flow.browser.decide(Decision::Allow).await;
    } else {
        flow.browser.0.refresh().await.expect("reload");
    }
    // Refused one way or another: a spent handle, or the browser-binding cookie gone with it.
    let error = flow.browser.error_page().await;
    assert!(error.contains("Error code: invalid_request") || error.contains("Error code: access_denied"), "{error}");
    flow.assert_arrivals(1).await;

    // The decision replayed: from a page of the provider's origin (the login page, whose CSP
    // allows a form to post), with the CSRF cookie put back.
    flow.browser.open(&flow.provider.url(quickstart_like::LOGIN_PATH)).await;
    for cookie in consent_cookies {
        flow.browser.0.add_cookie(cookie).await.expect("restore the CSRF cookie");
    }
    let replay = "const form = document.createElement('form');\
                  form.method = 'post'; form.action = arguments[0];\
                  for (const [name, value] of [['attesto_consent', arguments[1]], ['attesto_csrf', arguments[2]],\
                                               ['attesto_decision', 'allow']]) {\
                    const input = document.createElement('input');\
                    input.type = 'hidden'; input.name = name; input.value = value; form.appendChild(input);\
                  }\
                  document.body.appendChild(form); form.submit();";
    let action = flow.provider.url(Demo::PATHS.authorize);
    flow.browser.0.execute(replay, vec![json!(action), json!(page.handle), json!(page.csrf)]).await.expect("replay");
    let error = flow.browser.error_page().await;
    assert!(error.contains(SPENT), "the handle is spent, whatever else the request carries: {error}");
    flow.assert_arrivals(1).await;
    flow.finish().await;
}

/// A redirect URI the client did not register: the error page, on the provider, and nothing
/// reaches the callback (RFC 6749 §4.1.2.1: no redirect to an unverified URI).
#[tokio::test]
async fn unregistered_redirect_uri_shows_the_error_page() {
    let Some(flow) = Flow::start().await else { return };
    let elsewhere = format!("{}/elsewhere", flow.callback.base);
    flow.browser.open(&flow.authorization_url(&[("redirect_uri", &elsewhere)])).await;
    let error = flow.browser.error_page().await;
    assert!(error.contains("`redirect_uri` is not registered for this client."), "{error}");
    assert!(error.contains("Error code: invalid_request"), "{error}");
    let at = flow.browser.0.current_url().await.expect("URL");
    assert_eq!(format!("{}{}", at.origin().ascii_serialization(), at.path()), flow.provider.url(Demo::PATHS.authorize));
    flow.assert_arrivals(0).await;
    flow.finish().await;
}

/// A client anyone registered, with a redirect URI on another site, and an error before the user
/// signed in (`prompt=none` without a session): not redirected (RFC 9700 §4.11.2, no open
/// redirector), but a page on the provider naming the destination's host, with a link the user
/// may follow. Nothing reaches any callback, and the browser stays on the provider.
#[tokio::test]
async fn an_error_for_a_self_registered_client_shows_the_interstitial() {
    let Some(flow) = Flow::start().await else { return };
    let registration = reqwest012::Client::new()
        .post(flow.provider.url(Demo::PATHS.registration.expect("registration is on")))
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(
            json!({
                "redirect_uris": ["https://evil.example/cb"],
                "token_endpoint_auth_method": "none",
                "client_name": "Calendar",
                "scope": "openid read",
            })
            .to_string(),
        )
        .timeout(STEP)
        .send()
        .await
        .expect("registration");
    assert_eq!(registration.status(), StatusCode::CREATED);
    let registered: Value =
        serde_json::from_str(&registration.text().await.expect("client information")).expect("JSON");
    let client_id = registered["client_id"].as_str().expect("a client_id").to_owned();

    let url = flow.authorization_url(&[
        ("client_id", &client_id),
        ("redirect_uri", "https://evil.example/cb"),
        ("prompt", "none"),
    ]);
    flow.browser.open(&url).await;
    let page = flow.browser.error_page().await;
    assert!(page.contains("The application Calendar asked to be sent the answer at evil.example."), "{page}");
    assert!(page.contains("Error code: login_required"), "{page}");
    let link = flow.browser.wait_for("a.button").await;
    assert_eq!(link.text().await.expect("link text"), "Continue to evil.example");
    let href = link.attr("href").await.expect("href").expect("an href");
    assert!(href.starts_with("https://evil.example/cb?error=login_required&"), "{href}");
    assert!(href.contains(&format!("state={}", flow.state)), "{href}");
    let at = flow.browser.0.current_url().await.expect("URL");
    assert_eq!(format!("{}{}", at.origin().ascii_serialization(), at.path()), flow.provider.url(Demo::PATHS.authorize));
    flow.assert_arrivals(0).await;
    flow.finish().await;
}

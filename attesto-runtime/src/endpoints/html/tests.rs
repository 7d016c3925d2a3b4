use super::*;
use http_body_util::BodyExt as _;

/// Reads the whole body of a response as UTF-8.
async fn body_text(response: Response) -> String {
    let bytes = match response.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => panic!("body could not be read: {error}"),
    };
    match String::from_utf8(bytes.to_vec()) {
        Ok(text) => text,
        Err(error) => panic!("body is not UTF-8: {error}"),
    }
}

/// The value of a header, as a string.
fn header_str<'r>(response: &'r Response, name: &header::HeaderName) -> &'r str {
    match response.headers().get(name).map(HeaderValue::to_str) {
        Some(Ok(value)) => value,
        other => panic!("header {name} missing or not ASCII: {other:?}"),
    }
}

/// Asserts the headers every page carries, and returns the CSP.
fn assert_common_headers(response: &Response) -> String {
    assert_eq!(header_str(response, &header::CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header_str(response, &header::CACHE_CONTROL), "no-store");
    assert_eq!(header_str(response, &header::PRAGMA), "no-cache");
    assert_eq!(header_str(response, &header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(header_str(response, &header::X_FRAME_OPTIONS), "DENY");
    let referrer_policy = header_str(response, &header::REFERRER_POLICY);
    let consent = header_str(response, &header::CONTENT_SECURITY_POLICY).contains("form-action 'self' ");
    // The consent page lets its same-origin POST carry `Origin`; the other pages send nothing.
    assert_eq!(referrer_policy, if consent { "same-origin" } else { "no-referrer" });
    header_str(response, &header::CONTENT_SECURITY_POLICY).to_owned()
}

/// A consent page with hostile values in every field that is printed.
fn hostile_consent() -> ConsentPage<'static> {
    ConsentPage {
        client_id: "client\"<id>",
        client_name: Some("<script>alert(1)</script>\""),
        user: "alice\"<b>",
        scopes: &["openid", "email", "weird\"scope'<x>", "calendar.read"],
        claims: &["email", "claim\"<i>"],
        action: "/authorize?x=\"y\"",
        handle: "h\"><img src=x>",
        csrf: "c'\"&",
        redirect_uri: "https://Client.example.com:8443/cb?x=1",
        device: false,
    }
}

/// Each of `& < > " '` becomes its entity, and nothing else changes.
#[test]
fn escape_replaces_each_special_character() {
    assert_eq!(escape("&"), "&amp;");
    assert_eq!(escape("<"), "&lt;");
    assert_eq!(escape(">"), "&gt;");
    assert_eq!(escape("\""), "&quot;");
    assert_eq!(escape("'"), "&#x27;");
    assert_eq!(escape("a<b>&\"c'd"), "a&lt;b&gt;&amp;&quot;c&#x27;d");
    // Already-escaped text is escaped again: the function does not guess.
    assert_eq!(escape("&amp;"), "&amp;amp;");
    assert_eq!(escape("plain text, é…"), "plain text, é…");
    assert_eq!(escape(""), "");
}

/// The error page prints code and description escaped, with the strict error CSP.
#[tokio::test]
async fn error_page_shows_escaped_error_and_description() {
    let response = error_page(
        StatusCode::BAD_REQUEST,
        "invalid_request<x>",
        "The redirect_uri \"https://evil.example/<cb>\" is not registered",
    );
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let csp = assert_common_headers(&response);
    assert_eq!(
        csp,
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; \
         base-uri 'none'; form-action 'none'"
    );
    let body = body_text(response).await;
    assert!(body.starts_with("<!DOCTYPE html>"));
    assert!(body.contains("<h1>Authorization request refused</h1>"));
    assert!(body.contains("The redirect_uri &quot;https://evil.example/&lt;cb&gt;&quot; is not registered"));
    assert!(body.contains("<code>invalid_request&lt;x&gt;</code>"));
    assert!(!body.contains("<cb>"));
    assert!(!body.contains("<x>"));
    assert!(!body.contains("<form"));
    assert!(!body.contains("<script"));
}

/// The error page answers with the status it is given.
#[tokio::test]
async fn error_page_keeps_the_given_status() {
    let response = error_page(StatusCode::NOT_FOUND, "invalid_request", "expired");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// The JSON-style description (lower-case, no full stop) reads as a sentence on the page.
#[tokio::test]
async fn error_page_shows_the_description_as_a_sentence() {
    let body = body_text(error_page(StatusCode::BAD_REQUEST, "invalid_request", "the code expired")).await;
    assert!(body.contains("<p>The code expired.</p>"), "{body}");
    let body = body_text(error_page(StatusCode::BAD_REQUEST, "invalid_request", "Done!")).await;
    assert!(body.contains("<p>Done!</p>"), "{body}");
}

/// Hostile client name, client id, user, scopes and action appear only escaped.
#[tokio::test]
async fn consent_page_escapes_everything_it_prints() {
    let response = consent_page(&hostile_consent());
    assert_eq!(response.status(), StatusCode::OK);
    let body = body_text(response).await;

    // The hostile client name appears only escaped; the page has no script of its own.
    assert!(!body.contains("<script"));
    assert!(body.contains(
        "<strong>&lt;script&gt;alert(1)&lt;/script&gt;&quot;</strong> wants to access your \
         account"
    ));
    assert!(!body.contains("client\"<id>"));
    assert!(body.contains("<code>client&quot;&lt;id&gt;</code>"));
    assert!(!body.contains("alice\"<b>"));
    assert!(body.contains("Signed in as <strong>alice&quot;&lt;b&gt;</strong>"));
    assert!(!body.contains("weird\"scope"));
    assert!(body.contains("<code>weird&quot;scope&#x27;&lt;x&gt;</code>"));
    // The requested claims (OIDC Core §5.5) too.
    assert!(body.contains(
        "<p>It also asks for these details about you:</p><ul><li><code>email</code></li>\
         <li><code>claim&quot;&lt;i&gt;</code></li></ul>"
    ));
    assert!(!body.contains("<img"));
    assert!(body.contains("action=\"/authorize?x=&quot;y&quot;\""));
}

/// The form carries the handle, the CSRF token and both decisions, Deny first.
#[tokio::test]
async fn consent_page_has_the_form_fields_and_buttons() {
    let body = body_text(consent_page(&hostile_consent())).await;
    assert!(body.contains("<form method=\"post\" action=\"/authorize?x=&quot;y&quot;\">"));
    assert!(body.contains(
        "<input type=\"hidden\" name=\"attesto_consent\" \
         value=\"h&quot;&gt;&lt;img src=x&gt;\">"
    ));
    assert!(body.contains("<input type=\"hidden\" name=\"attesto_csrf\" value=\"c&#x27;&quot;&amp;\">"));
    assert!(body.contains(
        "<button type=\"submit\" name=\"attesto_decision\" value=\"allow\" \
         class=\"primary\">Allow</button>"
    ));
    assert!(body.contains("<button type=\"submit\" name=\"attesto_decision\" value=\"deny\">Deny</button>"));
    // Deny is the form's default button (first in tree order).
    let deny = body.find("value=\"deny\"");
    let allow = body.find("value=\"allow\"");
    assert!(deny.is_some() && allow.is_some() && deny < allow);
    assert_eq!(body.matches("<form").count(), 1);
}

/// Standard OpenID Connect scopes get a description, other scopes only their token.
#[tokio::test]
async fn consent_page_describes_standard_scopes_only() {
    let body = body_text(consent_page(&hostile_consent())).await;
    assert!(body.contains("<li>Confirm who you are <code>openid</code></li>"));
    assert!(body.contains("<li>Your email address <code>email</code></li>"));
    assert!(body.contains("<li><code>calendar.read</code></li>"));
    assert!(!body.contains("Your postal address"));
    assert!(!body.contains("refresh tokens"));
}

/// Without a client name the heading names the client id; no scopes gives a plain note.
#[tokio::test]
async fn consent_page_without_name_shows_the_client_id() {
    let page = ConsentPage {
        client_id: "s6BhdRkqt3",
        client_name: None,
        user: "alice",
        scopes: &[],
        claims: &[],
        action: "/authorize",
        handle: "h",
        csrf: "c",
        redirect_uri: "https://client.example.com/cb",
        device: false,
    };
    let body = body_text(consent_page(&page)).await;
    assert!(body.contains("<h1><code>s6BhdRkqt3</code> wants to access your account</h1>"));
    assert!(!body.contains("provided by the application itself"));
    assert!(body.contains("No specific permissions are requested."));
    assert!(!body.contains("<ul>"));
    assert!(!body.contains("details about you"), "no claims requested, none listed");
}

/// A URL client id (a client ID metadata document) shows its host next to the self-asserted
/// name, escaped; without a name the host is the heading.
#[tokio::test]
async fn consent_page_shows_the_host_of_a_url_client_id() {
    let mut page = hostile_consent();
    page.client_id = "https://xn--pple-43d.example:8443/client.json?a=\"<b>";
    page.client_name = Some("Apple");
    let body = body_text(consent_page(&page)).await;
    assert!(body.contains(
        "<h1><strong>Apple</strong> from <strong>xn--pple-43d.example:8443</strong> wants to access your \
         account</h1>"
    ));
    assert!(body.contains("<code>https://xn--pple-43d.example:8443/client.json?a=&quot;&lt;b&gt;</code>"));

    page.client_name = None;
    page.client_id = "https://client.example/metadata.json";
    let body = body_text(consent_page(&page)).await;
    assert!(body.contains("<h1>An application from <strong>client.example</strong> wants to access your account</h1>"));
    assert!(body.contains("Client ID: <code>https://client.example/metadata.json</code>"));
    assert_eq!(web_host("spa"), None);
    assert_eq!(web_host("urn:x:y"), None);
}

/// The consent page carries the common headers and a CSP allowing only same-origin posts.
#[tokio::test]
async fn consent_page_headers() {
    let response = consent_page(&hostile_consent());
    let csp = assert_common_headers(&response);
    assert_eq!(
        csp,
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; \
         base-uri 'none'; form-action 'self' https://client.example.com:8443"
    );
}

/// The decision's 303 to the redirect URI follows a form submission, so `form-action` must
/// allow that origin (a loopback port, a private-use scheme) or the browser cancels it.
#[test]
fn consent_form_action_allows_the_redirect_target_only() {
    let csp = |uri: &str| consent_csp(uri).to_str().map(str::to_owned).unwrap_or_default();
    assert!(csp("http://127.0.0.1:53211/callback").ends_with("form-action 'self' http://127.0.0.1:53211"));
    assert!(csp("com.example.app:/oauth/cb").ends_with("form-action 'self' com.example.app:"));
    assert!(csp("https://bücher.example/cb").ends_with("form-action 'self' https://xn--bcher-kva.example"));
    // Nothing unparseable reaches the header; the directive is left out instead.
    assert_eq!(csp("not a url; script-src *"), CONSENT_CSP_BASE);
}

/// The CSP pins exactly the script that is in the body, by its SHA-256.
#[tokio::test]
async fn form_post_csp_hash_matches_the_script_in_the_body() {
    let response = form_post("https://client.example/cb", &[("code", "abc"), ("state", "xyz")]);
    assert_eq!(response.status(), StatusCode::OK);
    let csp = assert_common_headers(&response);
    let body = body_text(response).await;

    assert_eq!(body.matches("<script>").count(), 1);
    let script =
        body.split_once("<script>").and_then(|(_, rest)| rest.split_once("</script>")).map(|(script, _)| script);
    let Some(script) = script else {
        panic!("no inline script in {body}");
    };
    let hash = STANDARD.encode(Sha256::digest(script.as_bytes()));
    assert_eq!(
        csp,
        format!(
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'; \
             frame-ancestors 'none'; base-uri 'none'"
        )
    );
    // The redirect URI may be any origin, so the form must not be restricted.
    assert!(!csp.contains("form-action"));
    assert!(!csp.contains("unsafe-eval"));
}

/// One hidden input per parameter, and a Continue button inside the form for no-JS users.
#[tokio::test]
async fn form_post_has_inputs_and_a_noscript_fallback() {
    let body = body_text(form_post("https://client.example/cb", &[("code", "abc"), ("state", "xyz")])).await;
    assert!(body.contains("<form method=\"post\" action=\"https://client.example/cb\">"));
    assert!(body.contains("<input type=\"hidden\" name=\"code\" value=\"abc\">"));
    assert!(body.contains("<input type=\"hidden\" name=\"state\" value=\"xyz\">"));
    let noscript =
        body.split_once("<noscript>").and_then(|(_, rest)| rest.split_once("</noscript>")).map(|(inside, _)| inside);
    let Some(noscript) = noscript else {
        panic!("no <noscript> in {body}");
    };
    assert!(noscript.contains("<button type=\"submit\" class=\"primary\">Continue</button>"));
    // The fallback button must submit the same form: the noscript sits inside it.
    let form_end = body.find("</form>");
    let noscript_start = body.find("<noscript>");
    assert!(noscript_start.is_some() && form_end.is_some() && noscript_start < form_end);
}

/// The redirect URI and parameter names and values appear only escaped.
#[tokio::test]
async fn form_post_escapes_the_redirect_uri_and_parameters() {
    let body = body_text(form_post(
        "https://client.example/cb?a=\"><script>x</script>",
        &[("state", "\"><script>alert(1)</script>"), ("na\"me", "v<'>")],
    ))
    .await;
    // Only the module's own script tag appears.
    assert_eq!(body.matches("<script>").count(), 1);
    assert!(!body.contains("alert(1)</script>"));
    assert!(body.contains("action=\"https://client.example/cb?a=&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""));
    assert!(body.contains("name=\"state\" value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));
    assert!(body.contains("name=\"na&quot;me\" value=\"v&lt;&#x27;&gt;\""));
}

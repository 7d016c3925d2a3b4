//! The legacy client table of `examples/legacy_clients.rs`, through the very mapping code the
//! example uses (`examples/legacy_clients/mapping.rs`): rows written the way the old provider
//! wrote them are read as attesto clients, and a legacy confidential client gets a
//! `client_credentials` token and completes a code flow, a legacy public client a code flow —
//! with no row migrated.

#[path = "../../examples/legacy_clients/mapping.rs"]
pub(crate) mod mapping;

use crate::common;
use crate::common::{ISSUER, assert_error, authorize_code, basic, pkce, token};
use attesto::sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use attesto::{
    Attesto, AuthenticatedPrincipal, Client, ClientStore, ConsentDecision, ConsentPolicy, ConsentRequest, GrantType,
    HostError, Key, LoginOutcome, LoginRequest, PrincipalStore, SecretHash, TokenEndpointAuthMethod,
};
use axum::Router;
use http::StatusCode;
use mapping::{LEGACY_TABLE, LegacyClients, LegacyRow, insert_legacy_client, legacy_secret_hash};

const BILLING_SECRET: &str = "legacy-secret-from-the-old-provider";
const BILLING_REDIRECT: &str = "https://billing.example.com/oauth/callback";
const MOBILE_REDIRECT: &str = "http://127.0.0.1/callback";

/// A host whose clients are the legacy table's, as in the example; a `test-session` cookie (the
/// convention of `tests/it/common`) is the signed-in user, and consent is granted.
#[derive(Clone)]
#[attesto::provider]
struct Legacy {
    clients: LegacyClients,
}

impl ClientStore for Legacy {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        self.clients.load_client(client_id).await
    }

    async fn verify_client_secret(&self, client: &Client, secret: &str) -> Result<bool, HostError> {
        self.clients.verify_client_secret(client, secret).await
    }
}

impl PrincipalStore for Legacy {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        let signed_in = request
            .headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == common::SESSION_COOKIE)
            .map(|(_, subject)| subject.to_owned());
        Ok(match signed_in {
            Some(subject) => {
                LoginOutcome::Authenticated(AuthenticatedPrincipal::new(subject, std::time::SystemTime::now()))
            }
            None => LoginOutcome::LoginRequired,
        })
    }
}

impl ConsentPolicy for Legacy {
    async fn consent(&self, _: &ConsentRequest<'_>, _: &AuthenticatedPrincipal) -> Result<ConsentDecision, HostError> {
        Ok(ConsentDecision::Granted)
    }
}

/// An in-memory database with the old provider's table and its rows, written the old way.
async fn legacy_database() -> SqlitePool {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect("sqlite::memory:")
        .await
        .expect("an in-memory database");
    attesto::sqlx::query(LEGACY_TABLE).execute(&pool).await.expect("the legacy table");
    let billing = [BILLING_REDIRECT, "https://billing.example.com/alt"];
    insert_legacy_client(&pool, "billing", Some(BILLING_SECRET), &billing, "invoices:read invoices:write openid")
        .await
        .expect("a legacy confidential client");
    insert_legacy_client(&pool, "mobile", None, &[MOBILE_REDIRECT], "openid profile offline_access")
        .await
        .expect("a legacy public client");
    pool
}

async fn router() -> Router {
    let pool = legacy_database().await;
    Attesto::builder(Legacy { clients: LegacyClients::new(pool) })
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .build()
        .expect("provider builds")
        .router()
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

// ---------------------------------------------------------------------------------------------
// The mapping
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rows_are_read_as_clients_without_migration() {
    let clients = LegacyClients::new(legacy_database().await);
    let billing = clients.load_client("billing").await.expect("the row reads").expect("a client");
    assert!(!billing.is_public);
    assert_eq!(billing.token_endpoint_auth_method, TokenEndpointAuthMethod::ClientSecretBasic);
    assert_eq!(billing.redirect_uris, [BILLING_REDIRECT, "https://billing.example.com/alt"]);
    assert_eq!(billing.scopes.to_string(), "invoices:read invoices:write openid");
    assert_eq!(
        billing.grant_types,
        [GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::ClientCredentials]
    );
    assert!(clients.verify_client_secret(&billing, BILLING_SECRET).await.expect("verify"));
    assert!(!clients.verify_client_secret(&billing, "not the secret").await.expect("verify"));

    let mobile = clients.load_client("mobile").await.expect("the row reads").expect("a client");
    assert!(mobile.is_public);
    assert_eq!(mobile.token_endpoint_auth_method, TokenEndpointAuthMethod::None);
    assert_eq!(mobile.secret_hash, None);
    assert!(!clients.verify_client_secret(&mobile, "").await.expect("verify"));

    assert!(clients.load_client("nobody").await.expect("the query runs").is_none());
}

#[test]
fn the_mapping_tolerates_what_old_rows_hold() {
    let row = LegacyRow {
        id: "old".to_owned(),
        // Upper-case hex, surrounding whitespace.
        secret_hash: Some(format!(" {} ", legacy_secret_hash("s3cret").to_uppercase())),
        // CRLF line ends, blank lines, padding.
        redirect_uris: "https://a.example/cb\r\n\r\n  https://b.example/cb  \n".to_owned(),
        // Doubled and trailing spaces.
        scopes: "read  write ".to_owned(),
        confidential: true,
    };
    let client = row.to_client().expect("the row maps");
    assert_eq!(client.redirect_uris, ["https://a.example/cb", "https://b.example/cb"]);
    assert_eq!(client.scopes.to_string(), "read write");
    assert_eq!(client.secret_hash, Some(SecretHash::of("s3cret")));

    let garbled = LegacyRow { secret_hash: Some("not hex".to_owned()), ..row.clone() };
    assert_eq!(garbled.to_client().expect("the row maps").secret_hash, None, "no usable secret, no panic");
    let no_hash = LegacyRow { secret_hash: None, ..row.clone() };
    assert_eq!(no_hash.to_client().expect("the row maps").secret_hash, None);
    let bad_scope = LegacyRow { scopes: "read \"quoted\"".to_owned(), ..row };
    assert!(bad_scope.to_client().is_err(), "a scope that is no scope token is an error, not dropped");
}

// ---------------------------------------------------------------------------------------------
// Through the provider
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_legacy_confidential_client_gets_a_client_credentials_token() {
    let router = router().await;
    let body = form(&[("grant_type", "client_credentials"), ("scope", "invoices:read")]);
    let (status, _, tokens) = token(&router, "/oauth/token", Some(&basic("billing", BILLING_SECRET)), &body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "invoices:read");
    assert!(tokens["access_token"].is_string());

    let wrong = token(&router, "/oauth/token", Some(&basic("billing", "guessed")), &body).await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_client");
    let unknown = token(&router, "/oauth/token", Some(&basic("nobody", BILLING_SECRET)), &body).await;
    assert_error(&unknown, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn a_legacy_confidential_client_completes_a_code_flow() {
    let router = router().await;
    let (verifier, challenge) = pkce();
    let code =
        authorize_code(&router, "billing", BILLING_REDIRECT, &challenge, "openid invoices:read", "alice", &[]).await;
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("code_verifier", &verifier),
        ("redirect_uri", BILLING_REDIRECT),
    ]);
    let (status, _, tokens) = token(&router, "/oauth/token", Some(&basic("billing", BILLING_SECRET)), &body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    for name in ["access_token", "id_token"] {
        assert!(tokens[name].is_string(), "`{name}` in {tokens}");
    }
    // OIDC Core §11: an OpenID Connect request gets a refresh token only with `offline_access`,
    // which this legacy client may not hold.
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
}

#[tokio::test]
async fn a_legacy_public_client_completes_a_code_flow() {
    let router = router().await;
    let (verifier, challenge) = pkce();
    // RFC 8252 §7.3: a loopback redirect URI of a native app, on the port it picked.
    let redirect = "http://127.0.0.1:53123/callback";
    let code = authorize_code(&router, "mobile", redirect, &challenge, "openid profile", "alice", &[]).await;
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("client_id", "mobile"),
        ("code", &code),
        ("code_verifier", &verifier),
        ("redirect_uri", redirect),
    ]);
    let (status, _, tokens) = token(&router, "/oauth/token", None, &body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["id_token"].is_string(), "{tokens}");
}

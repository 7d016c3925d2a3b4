//! The reference token endpoint: `POST /oauth/token` on 127.0.0.1:8081 for client `demo-client` with
//! secret `$ATTESTO_DEMO_CLIENT_SECRET`, answering an ES256 JWT. Only for calibrating the load test.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Clone)]
struct App {
    key: EncodingKey,
    secret_hash: [u8; 32],
}

#[derive(serde::Deserialize)]
struct TokenForm {
    grant_type: String,
    scope: Option<String>,
}

#[derive(serde::Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
    iat: u64,
    jti: String,
    client_id: &'a str,
    scope: &'a str,
}

async fn token(State(app): State<App>, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    let unauthorized = || StatusCode::UNAUTHORIZED.into_response();
    let Some(basic) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return unauthorized() };
    let Some(encoded) = basic.strip_prefix("Basic ") else { return unauthorized() };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded) else { return unauthorized() };
    let Some(colon) = decoded.iter().position(|b| *b == b':') else { return unauthorized() };
    let (id, secret) = (&decoded[..colon], &decoded[colon + 1..]);
    let hash: [u8; 32] = Sha256::digest(secret).into();
    if id != b"demo-client" || !bool::from(hash.ct_eq(&app.secret_hash)) || form.grant_type != "client_credentials" {
        return unauthorized();
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let scope = form.scope.unwrap_or_default();
    let claims = Claims {
        iss: "http://127.0.0.1:8081",
        sub: "demo-client",
        aud: "http://127.0.0.1:8081",
        exp: now + 900,
        iat: now,
        jti: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(now.to_le_bytes()),
        client_id: "demo-client",
        scope: &scope,
    };
    let mut jwt_header = Header::new(Algorithm::ES256);
    jwt_header.typ = Some("at+jwt".to_owned());
    match jsonwebtoken::encode(&jwt_header, &claims, &app.key) {
        Ok(access_token) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(serde_json::json!({
                "access_token": access_token, "token_type": "Bearer", "expires_in": 900, "scope": scope,
            })),
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[tokio::main]
async fn main() {
    let secret = std::env::var("ATTESTO_DEMO_CLIENT_SECRET").expect("set ATTESTO_DEMO_CLIENT_SECRET");
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
    let app =
        App { key: EncodingKey::from_ec_der(pkcs8.as_ref()), secret_hash: Sha256::digest(secret.as_bytes()).into() };
    let router = Router::new().route("/oauth/token", post(token)).with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8081").await.expect("bind 127.0.0.1:8081");
    axum::serve(listener, router).await.expect("serve");
}

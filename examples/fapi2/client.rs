//! A FAPI 2.0 client written by hand, as a bank's partner would write one: it registers with a
//! key of its own, authenticates with `private_key_jwt` (RFC 7523), pushes its request (RFC 9126)
//! — as a signed request object (RFC 9101) under Message Signing —, binds everything to a DPoP key
//! (RFC 9449), redeems the code and refreshes without rotation. Every step checks what the
//! profile promises and fails loudly otherwise.

use std::time::{SystemTime, UNIX_EPOCH};

use attesto::{Algorithm, Key};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Where the client is sent back; never fetched (redirects are not followed).
pub(crate) const REDIRECT_URI: &str = "https://partner.example/cb";

/// What a run of the client obtained.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The registered client id.
    pub(crate) client_id: String,
    /// `token_type` of the code's token response (`DPoP`).
    pub(crate) token_type: String,
    /// The ID token that came with the code.
    pub(crate) id_token: Option<String>,
    /// The `nonce` of the authorization request, which the ID token must carry.
    pub(crate) nonce: String,
    /// The `cnf.jkt` of the access token.
    pub(crate) jkt: String,
    /// The DPoP key's thumbprint, which `jkt` must equal.
    pub(crate) dpop_thumbprint: String,
    /// How many refreshes succeeded with the one refresh token.
    pub(crate) refreshes: usize,
}

/// A failed step: what was sent and what came back.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

fn random() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A compact JWS of `claims` with `header`, signed by `key`.
fn sign(key: &Key, header: &Value, claims: &Value) -> Result<String, Error> {
    let input = format!("{}.{}", b64_json(header), b64_json(claims));
    let signature = key.sign(input.as_bytes())?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// The claims of a JWT, read without verifying it (the provider's signature is checked by the
/// resource; here only the binding is looked at).
fn claims_of(jwt: &str) -> Result<Value, Error> {
    let payload = jwt.split('.').nth(1).ok_or("not a JWT")?;
    Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?)
}

/// The client: its authentication key, its DPoP key, the provider's issuer.
pub(crate) struct Partner {
    http: reqwest012::Client,
    issuer: String,
    auth_key: Key,
    dpop_key: Key,
    message_signing: bool,
    scope: String,
}

impl Partner {
    /// A client of the provider at `issuer` asking for `scope`, with fresh ES256 keys.
    pub(crate) fn new(issuer: &str, message_signing: bool, scope: &str) -> Result<Self, Error> {
        Ok(Self {
            http: reqwest012::Client::builder().redirect(reqwest012::redirect::Policy::none()).build()?,
            issuer: issuer.trim_end_matches('/').to_owned(),
            auth_key: Key::generate(Algorithm::ES256)?,
            dpop_key: Key::generate(Algorithm::ES256)?,
            message_signing,
            scope: scope.to_owned(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// A client assertion (RFC 7523 §3): `aud` the issuer identifier, as FAPI 2.0 requires.
    fn assertion(&self, client_id: &str) -> Result<String, Error> {
        let header = json!({"alg": "ES256", "kid": self.auth_key.kid(), "typ": "JWT"});
        let claims = json!({
            "iss": client_id, "sub": client_id, "aud": self.issuer,
            "iat": now(), "exp": now() + 60, "jti": random(),
        });
        sign(&self.auth_key, &header, &claims)
    }

    /// A DPoP proof (RFC 9449 §4) for `method` at `url`.
    fn proof(&self, method: &str, url: &str) -> Result<String, Error> {
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.dpop_key.public_jwk()});
        let claims = json!({"jti": random(), "htm": method, "htu": url, "iat": now()});
        sign(&self.dpop_key, &header, &claims)
    }

    /// POSTs a form to `path` with a client assertion and a DPoP proof; the JSON answer.
    async fn post(&self, path: &str, client_id: &str, pairs: &[(&str, &str)]) -> Result<(u16, Value), Error> {
        let assertion = self.assertion(client_id)?;
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.extend_pairs(pairs);
        form.append_pair("client_id", client_id);
        form.append_pair("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
        form.append_pair("client_assertion", &assertion);
        let url = self.url(path);
        let response = self
            .http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("dpop", self.proof("POST", &url)?)
            .body(form.finish())
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, serde_json::from_slice(&response.bytes().await?)?))
    }

    /// Registers the client (RFC 7591) with its public key and the metadata the profile needs.
    async fn register(&self) -> Result<String, Error> {
        let mut metadata = json!({
            "client_name": "Partner",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "ES256",
            "jwks": {"keys": [self.auth_key.public_jwk()]},
            "scope": self.scope,
            "dpop_bound_access_tokens": true,
        });
        if self.message_signing {
            metadata["request_object_signing_alg"] = json!("ES256");
            metadata["require_signed_request_object"] = json!(true);
        }
        let response = self
            .http
            .post(self.url("/oauth/register"))
            .header("content-type", "application/json")
            .body(metadata.to_string())
            .send()
            .await?;
        let status = response.status().as_u16();
        let body: Value = serde_json::from_slice(&response.bytes().await?)?;
        if status != 201 {
            return Err(format!("registration: {status} {body}").into());
        }
        Ok(body["client_id"].as_str().ok_or("no client_id")?.to_owned())
    }

    /// Runs the whole flow once against a provider that signs its users in without a page (the
    /// example's development sign-in): the authorization endpoint redirects at once.
    pub(crate) async fn run(&self) -> Result<Outcome, Error> {
        self.run_with(async |authorize: url::Url| {
            let response = self.http.get(authorize).send().await?;
            let location = response.headers().get("location").ok_or("no redirect from the authorization endpoint")?;
            Ok(url::Url::parse(location.to_str()?)?)
        })
        .await
    }

    /// Runs the whole flow once: register, push, authorize (`authorize` takes the authorization
    /// URL, has the user sign in and consent, and returns where the provider sent the browser
    /// back), redeem, refresh twice with the same refresh token.
    pub(crate) async fn run_with(
        &self,
        authorize: impl AsyncFn(url::Url) -> Result<url::Url, Error>,
    ) -> Result<Outcome, Error> {
        let client_id = self.register().await?;
        let verifier = random() + &random();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let state = random();
        let nonce = random();
        let mut parameters = vec![
            ("response_type", "code".to_owned()),
            ("redirect_uri", REDIRECT_URI.to_owned()),
            ("scope", self.scope.clone()),
            ("state", state.clone()),
            ("nonce", nonce.clone()),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256".to_owned()),
        ];
        if self.message_signing {
            parameters.push(("response_mode", "jwt".to_owned()));
        }
        // Message Signing: the parameters travel as a signed request object (RFC 9101 §4).
        let pushed: Vec<(&str, String)> = if self.message_signing {
            let mut claims = json!({
                "iss": client_id, "client_id": client_id, "aud": self.issuer,
                "iat": now(), "nbf": now(), "exp": now() + 300, "jti": random(),
            });
            for (name, value) in &parameters {
                claims[*name] = json!(value);
            }
            let header = json!({"alg": "ES256", "kid": self.auth_key.kid(), "typ": "oauth-authz-req+jwt"});
            vec![("request", sign(&self.auth_key, &header, &claims)?)]
        } else {
            parameters
        };
        let pairs: Vec<(&str, &str)> = pushed.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = self.post("/oauth/par", &client_id, &pairs).await?;
        if status != 201 {
            return Err(format!("PAR: {status} {body}").into());
        }
        let request_uri = body["request_uri"].as_str().ok_or("no request_uri")?;
        let authorize_url = url::Url::parse_with_params(
            &self.url("/oauth/authorize"),
            [("client_id", client_id.as_str()), ("request_uri", request_uri)],
        )?;
        let location = authorize(authorize_url).await?;
        let mut answer: std::collections::HashMap<String, String> = location.query_pairs().into_owned().collect();
        if self.message_signing {
            // JARM: the parameters are claims of a JWT the provider signed for this client.
            let response = answer.get("response").ok_or("no `response` JWT (JARM)")?;
            let claims = claims_of(response)?;
            if claims["aud"] != json!(client_id) || claims["iss"] != json!(self.issuer) {
                return Err(format!("JARM response for someone else: {claims}").into());
            }
            answer = claims
                .as_object()
                .ok_or("JARM claims")?
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect();
        }
        // RFC 9207: the issuer names itself in the response, so a mixed-up response is noticed.
        if answer.get("iss").map(String::as_str) != Some(self.issuer.as_str()) {
            return Err(format!("the response has no or another `iss`: {answer:?}").into());
        }
        if answer.get("state") != Some(&state) {
            return Err("the response's `state` is not ours".into());
        }
        let code = answer.get("code").ok_or_else(|| format!("no code: {answer:?}"))?;
        let (status, tokens) = self
            .post(
                "/oauth/token",
                &client_id,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", REDIRECT_URI),
                    ("code_verifier", &verifier),
                ],
            )
            .await?;
        if status != 200 {
            return Err(format!("token: {status} {tokens}").into());
        }
        let access_token = tokens["access_token"].as_str().ok_or("no access token")?.to_owned();
        let refresh_token = tokens["refresh_token"].as_str().ok_or("no refresh token")?.to_owned();
        let jkt = claims_of(&access_token)?["cnf"]["jkt"].as_str().ok_or("the access token is not bound")?.to_owned();
        let mut refreshes = 0;
        for _ in 0..2 {
            let (status, refreshed) = self
                .post("/oauth/token", &client_id, &[("grant_type", "refresh_token"), ("refresh_token", &refresh_token)])
                .await?;
            if status != 200 || refreshed.get("refresh_token").is_some() || refreshed["token_type"] != "DPoP" {
                return Err(format!("refresh: {status} {refreshed}").into());
            }
            refreshes += 1;
        }
        Ok(Outcome {
            client_id,
            token_type: tokens["token_type"].as_str().unwrap_or_default().to_owned(),
            id_token: tokens["id_token"].as_str().map(str::to_owned),
            nonce,
            jkt,
            dpop_thumbprint: attesto::dpop::thumbprint(&self.dpop_key.public_jwk())?,
            refreshes,
        })
    }
}

//! Dynamic client registration (RFC 7591) and client configuration (RFC 7592): a client posts its
//! metadata as JSON and gets a client id (and, if confidential, a secret), then reads, replaces or
//! deletes its registration at `{registration}/{client_id}` with the registration access token it
//! was given.
//!
//! What attesto decides, and why:
//!
//! - **Open or protected.** [`RegistrationStore::authorize_registration`] is the host's policy: open
//!   by default (MCP clients register themselves on first contact), or requiring an initial access
//!   token the host hands out and verifies (RFC 7591 §3).
//! - **Scopes.** The [`ScopePolicy`] decides what a new client may hold: it is asked for the new
//!   client, whose allowed scopes are the builder's `scopes_supported` (what discovery
//!   advertises), with the `scope` the client registered. What it grants becomes
//!   [`Client::scopes`] and the `scope` of the response (RFC 7591 §2: the server may narrow it);
//!   without `scope` the default policy grants all of `scopes_supported`; a refusal is
//!   `invalid_client_metadata`. So the default policy never lets a registered client hold a scope
//!   the server does not advertise.
//! - **Redirect URIs.** Absolute, no fragment (RFC 6749 §3.1.2), no whitespace (they are matched
//!   byte for byte), `https`, or `http` on a loopback host: `127.0.0.1`, `[::1]`, and `localhost`.
//!   RFC 8252 §8.3 calls `localhost` NOT RECOMMENDED rather than forbidden, and MCP clients register
//!   `http://localhost:<port>/…` in practice; the risk (a name resolving off the loopback
//!   interface) is the registering client's own, and such a URI is matched exactly (the any-port
//!   rule of RFC 8252 §7.3 stays with IP literals). Native clients (`application_type` `native`)
//!   may also use a private-use scheme in reverse domain name form (RFC 8252 §7.1).
//! - **Unknown metadata is dropped.** RFC 7591 §2 says the server MUST ignore what it does not
//!   understand; attesto neither stores nor echoes it, so the response lists only what attesto
//!   honours, and a client cannot park arbitrary data in the host's store.
//! - **Secrets are shown once.** The client secret and the registration access token are 256-bit
//!   random values; the store gets their SHA-256 only. A read (RFC 7592 §2.1) therefore cannot
//!   return the secret, and does not rotate it: the response carries no `client_secret` and echoes
//!   the registration access token the request presented.
//! - **Keys instead of a secret.** A `private_key_jwt` client (RFC 7523 §2.2) registers its public
//!   keys, `jwks` or `jwks_uri` (checked by `protocol/client_metadata`), and gets no secret: it
//!   authenticates with assertions signed by its private key (`endpoints/client_assertion.rs`).
//!   `client_secret_jwt` is refused: its HMAC key is a secret attesto would have to keep in clear.

use std::fmt;
use std::time::SystemTime;

use axum::body::Body;
// A client id that is not UTF-8 (`%FF`) is rejected by the path extractor; it names no client, and
// is answered like any other unknown one rather than with axum's plain-text 400.
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Map, Value};

use crate::error::{ErrorCode, OAuthError};
use crate::host::events::{ClientRegistered, EventSink};
use crate::host::provider::Provider;
use crate::host::registrations::{ClientRegistration, GrantRequest, RegistrationStore};
use crate::host::scopes::{ScopeDecision, ScopePolicy};
use crate::model::client::{Client, ClientId, GrantType, SecretHash};
use crate::model::scope::{Scope, Scopes};
use crate::protocol::client_metadata::{self, BackchannelLogout, ClientMetadata, SignedResponses, Source};
use crate::protocol::{form, pairwise};
use crate::state::Attesto;
use crate::store::{new_id, new_secret};

/// `POST {registration}` (RFC 7591 §3.1).
pub(crate) async fn post<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    create(&attesto, &parts.headers, body).await.unwrap_or_else(IntoResponse::into_response)
}

/// `GET {registration}/{client_id}` (RFC 7592 §2.1).
pub(crate) async fn get<P: Provider>(
    State(attesto): State<Attesto<P>>,
    client_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let Ok(Path(client_id)) = client_id else { return invalid_registration_token().into_response() };
    read_registration(&attesto, &client_id, &headers).await.unwrap_or_else(IntoResponse::into_response)
}

/// `PUT {registration}/{client_id}` (RFC 7592 §2.2).
pub(crate) async fn put<P: Provider>(
    State(attesto): State<Attesto<P>>,
    client_id: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let Ok(Path(client_id)) = client_id else { return invalid_registration_token().into_response() };
    let (parts, body) = request.into_parts();
    update_registration(&attesto, &client_id, &parts.headers, body).await.unwrap_or_else(IntoResponse::into_response)
}

/// `DELETE {registration}/{client_id}` (RFC 7592 §2.3).
pub(crate) async fn delete<P: Provider>(
    State(attesto): State<Attesto<P>>,
    client_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let Ok(Path(client_id)) = client_id else { return invalid_registration_token().into_response() };
    delete_registration(&attesto, &client_id, &headers).await.unwrap_or_else(IntoResponse::into_response)
}

// ---------------------------------------------------------------------------------------------
// the endpoints

async fn create<P: Provider>(attesto: &Attesto<P>, headers: &HeaderMap, body: Body) -> Result<Response, OAuthError> {
    let provider = attesto.provider();
    let store = registration_store(provider)?;
    // RFC 7591 §3: the host decides whether registering needs an initial access token. Asked
    // before the body is read, so that a caller without one costs no parsing.
    if !store.authorize_registration(bearer(headers)).await? {
        return Err(invalid_token("a valid initial access token is required to register a client"));
    }
    let raw = read_metadata(headers, body).await?;
    let requested = ClientMetadata::parse(&raw, &Source::Registration)?;
    let signed = SignedResponses::parse(&raw, attesto.keys().signing_key().algorithm())?;
    let backchannel = BackchannelLogout::parse(&raw, attesto.settings().backchannel_policy)?;
    if requested.grant_types.contains(&GrantType::ClientCredentials) {
        let request = GrantRequest { initial_access_token: bearer(headers), client_id: None, metadata: &raw };
        if !store.allow_client_credentials(&request).await? {
            return Err(client_credentials_refused());
        }
    }
    // RFC 7591 §3.2.1: the client id is the server's choice; 128 random bits make it unguessable.
    let client_id = ClientId::new(new_id());
    // A secret for the secret methods only: a `private_key_jwt` client authenticates by its keys.
    let secret = requested.issues_secret().then(|| new_secret().0);
    let secret_hash = secret.as_deref().map(SecretHash::of);
    let (client, metadata) = accept(attesto, requested, (signed, backchannel), client_id, secret_hash).await?;
    let (access_token, _) = new_secret();
    let registration = ClientRegistration::new(client, metadata, SecretHash::of(&access_token), SystemTime::now());
    store.create_client(&registration).await?;
    let client = &registration.client;
    provider.event_sink().client_registered(&ClientRegistered {
        client_id: client.client_id.as_str(),
        client_name: client.client_name.as_deref(),
        token_endpoint_auth_method: client.token_endpoint_auth_method,
        grant_types: &client.grant_types,
        scope: &client.scopes.to_string(),
    });
    // RFC 7591 §3.2.1: 201 Created with the client information.
    Ok(json(StatusCode::CREATED, &information(attesto, &registration, secret.as_deref(), &access_token)))
}

async fn read_registration<P: Provider>(
    attesto: &Attesto<P>,
    client_id: &str,
    headers: &HeaderMap,
) -> Result<Response, OAuthError> {
    let store = registration_store(attesto.provider())?;
    let (registration, access_token) = authenticate(attesto, &store, client_id, headers).await?;
    Ok(json(StatusCode::OK, &information(attesto, &registration, None, access_token)))
}

async fn update_registration<P: Provider>(
    attesto: &Attesto<P>,
    client_id: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, OAuthError> {
    let store = registration_store(attesto.provider())?;
    let (current, access_token) = authenticate(attesto, &store, client_id, headers).await?;
    let raw = read_metadata(headers, body).await?;
    // RFC 7592 §2.2: the request names the client it updates, and a secret it sends must be the
    // one issued (the client may not choose its own).
    if client_metadata::string(&raw, "client_id", &Source::Registration)? != Some(current.client.client_id.as_str()) {
        return Err(invalid_metadata("`client_id` must be present and be this client's identifier (RFC 7592 §2.2)"));
    }
    if let Some(secret) = client_metadata::string(&raw, "client_secret", &Source::Registration)? {
        let matches = current.client.secret_hash.as_ref().is_some_and(|hash| hash.verify(secret));
        if !matches {
            return Err(invalid_metadata("`client_secret` is not the secret issued to this client (RFC 7592 §2.2)"));
        }
    }
    let requested = ClientMetadata::parse(&raw, &Source::Registration)?;
    let signed = SignedResponses::parse(&raw, attesto.keys().signing_key().algorithm())?;
    let backchannel = BackchannelLogout::parse(&raw, attesto.settings().backchannel_policy)?;
    // A public client has no secret to keep, and a confidential one would need a new secret
    // issued mid-life: neither is an update of the same client.
    if requested.is_public() != current.client.is_public {
        return Err(invalid_metadata(
            "`token_endpoint_auth_method` cannot turn a confidential client into a public one or back; register a new client",
        ));
    }
    // Likewise between a secret and keys: a secret is issued at registration only.
    if requested.issues_secret() != current.client.secret_hash.is_some() {
        return Err(invalid_metadata(
            "`token_endpoint_auth_method` cannot change between a client secret and private_key_jwt; register a new client",
        ));
    }
    // A grant the registration holds stays; one it adds is decided as at registration.
    if requested.grant_types.contains(&GrantType::ClientCredentials)
        && !current.client.allows_grant(GrantType::ClientCredentials)
    {
        let request =
            GrantRequest { initial_access_token: None, client_id: Some(&current.client.client_id), metadata: &raw };
        if !store.allow_client_credentials(&request).await? {
            return Err(client_credentials_refused());
        }
    }
    let (client, metadata) =
        accept(attesto, requested, (signed, backchannel), current.client.client_id.clone(), current.client.secret_hash)
            .await?;
    let mut updated = current;
    updated.client = client;
    updated.metadata = metadata;
    // Deleted in the meantime: as unknown as any other client id.
    if !store.update_client(&updated).await? {
        return Err(invalid_registration_token());
    }
    Ok(json(StatusCode::OK, &information(attesto, &updated, None, access_token)))
}

async fn delete_registration<P: Provider>(
    attesto: &Attesto<P>,
    client_id: &str,
    headers: &HeaderMap,
) -> Result<Response, OAuthError> {
    let store = registration_store(attesto.provider())?;
    let (registration, _) = authenticate(attesto, &store, client_id, headers).await?;
    // RFC 7592 §2.3: the client id, secret and registration access token stop working at once.
    // Its codes and refresh tokens go with it, since the token endpoint no longer finds the
    // client, and so do its access tokens at userinfo, which checks that their client exists.
    if !store.delete_client(&registration.client.client_id).await? {
        return Err(invalid_registration_token());
    }
    Ok((StatusCode::NO_CONTENT, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]).into_response())
}

// ---------------------------------------------------------------------------------------------
// authentication

/// The host's registration store. `None` only without the `registration` flag, when these
/// endpoints are not mounted.
fn registration_store<P: Provider>(provider: &P) -> Result<impl RegistrationStore + '_, OAuthError> {
    provider.registration_store().ok_or_else(|| OAuthError::new(ErrorCode::ServerError, "registration is not enabled"))
}

/// The token of the request's one `Authorization: Bearer` header (RFC 6750 §2.1), if it has one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let (scheme, token) = value.to_str().ok()?.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// `401 invalid_token` with its RFC 6750 §3 challenge.
fn invalid_token(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidToken, description)
        .with_challenge(HeaderValue::from_static("Bearer error=\"invalid_token\""))
}

/// The one answer of the client configuration endpoint to a missing or wrong registration access
/// token and to an unknown client id alike. RFC 6750 §3.1 would let a request without a token
/// get a bare challenge; answering it like a wrong one keeps the endpoint to a single answer.
fn invalid_registration_token() -> OAuthError {
    invalid_token("the registration access token is missing or invalid")
}

/// The registration of `client_id`, when the request carries its registration access token
/// (RFC 7592 §3), and that token.
///
/// An unknown client costs what a known one with a wrong token costs: the token is verified
/// against a decoy hash then, so neither the answer nor its timing tells which client ids exist.
async fn authenticate<'h, P: Provider>(
    attesto: &Attesto<P>,
    store: &impl RegistrationStore,
    client_id: &str,
    headers: &'h HeaderMap,
) -> Result<(ClientRegistration, &'h str), OAuthError> {
    let token = bearer(headers);
    let registration = store.load_registration(&ClientId::new(client_id)).await?;
    let hash = registration.as_ref().map_or(attesto.decoy_hash(), |r| &r.registration_access_token_hash);
    let verified = token.is_some_and(|token| hash.verify(token));
    match (registration, token) {
        (Some(registration), Some(token)) if verified => Ok((registration, token)),
        _ => Err(invalid_registration_token()),
    }
}

// ---------------------------------------------------------------------------------------------
// reading and checking metadata

/// The refusal of `client_credentials` to a registration the host did not allow it
/// ([`RegistrationStore::allow_client_credentials`]).
fn client_credentials_refused() -> OAuthError {
    invalid_metadata(
        "this server does not register clients for the client_credentials grant: tokens without a user are issued only to clients the server's operator allows",
    )
}

/// `invalid_client_metadata` (RFC 7591 §3.2.2).
fn invalid_metadata(description: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClientMetadata, description)
}

/// Reads the JSON object of a registration or update request (RFC 7591 §3.1, RFC 7592 §2.2).
/// The body is bounded like every other (413 past [`form::MAX_BODY`]); a wrong content type,
/// malformed JSON, anything but an object, or a member given twice is `invalid_client_metadata`.
async fn read_metadata(headers: &HeaderMap, body: Body) -> Result<Map<String, Value>, OAuthError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim());
    if !media_type.is_some_and(|t| t.eq_ignore_ascii_case("application/json")) {
        return Err(invalid_metadata("the request body must be application/json (RFC 7591 §3.1)"));
    }
    let body = form::read_body(body).await?;
    match serde_json::from_slice::<Object>(&body) {
        Ok(Object(object)) => Ok(object),
        Err(error) if error.is_data() => {
            Err(invalid_metadata("the request body must be a JSON object whose members each appear once"))
        }
        Err(_) => Err(invalid_metadata("the request body is not valid JSON")),
    }
}

/// A JSON object whose members each appear once. RFC 8259 §4 leaves repeated names to the
/// parser, which keeps the last; refusing them means no reader of the request can see other
/// values than attesto checked.
struct Object(Map<String, Value>);

impl<'de> serde::Deserialize<'de> for Object {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Object;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Object, A::Error> {
                let mut object = Map::new();
                while let Some((name, value)) = access.next_entry::<String, Value>()? {
                    if object.contains_key(&name) {
                        return Err(serde::de::Error::custom("a member appears twice"));
                    }
                    object.insert(name, value);
                }
                Ok(Object(object))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// The largest accepted metadata as stored, all members together: a registration is a small
/// record, whatever the 64 KiB body could carry (RFC 7591 §5: a server may limit what it keeps).
const MAX_METADATA_BYTES: usize = 8 * 1024;

/// Builds the client of a registration from checked metadata: the [`ScopePolicy`] decides its
/// scopes (see the module documentation). Returns it with the metadata as accepted.
async fn accept<P: Provider>(
    attesto: &Attesto<P>,
    requested: ClientMetadata,
    (signed, backchannel): (SignedResponses, BackchannelLogout),
    client_id: ClientId,
    secret_hash: Option<SecretHash>,
) -> Result<(Client, Map<String, Value>), OAuthError> {
    requested.check_profile(attesto.settings().profile).map_err(invalid_metadata)?;
    // RFC 7591 §2: a grant type this server does not serve is refused.
    if requested.grant_types.contains(&GrantType::DeviceCode) && P::PATHS.device_endpoints(&P::FEATURES).is_none() {
        return Err(invalid_metadata(format!(
            "`grant_types`: `{}` is not supported by this server",
            GrantType::DeviceCode.as_str()
        )));
    }
    let supported: Scopes = attesto.settings().scopes_supported.iter().filter_map(|s| Scope::parse(s).ok()).collect();
    let mut client = match (&requested.keys, secret_hash) {
        (Some((keys, _)), _) => Client::private_key_jwt(client_id, keys.clone()),
        (None, Some(hash)) => Client::confidential(client_id, hash),
        (None, None) => Client::public(client_id),
    }
    .with_redirect_uris(requested.redirect_uris.iter().cloned())
    .with_grant_types(requested.grant_types.iter().copied())
    .with_auth_method(requested.auth_method)
    .with_dpop_bound_access_tokens(requested.dpop_bound_access_tokens)
    .with_scopes(supported);
    client.client_name = requested.client_name.clone();
    client.authorization_signed_response_alg = signed.authorization;
    client.introspection_signed_response_alg = signed.introspection;
    client.userinfo_signed_response_alg = signed.userinfo;
    client.token_endpoint_auth_signing_alg = requested.keys.as_ref().and_then(|(_, alg)| *alg);
    client.request_object_signing_alg = requested.request_object_signing_alg;
    client.require_signed_request_object = requested.require_signed_request_object;
    client.post_logout_redirect_uris = requested.post_logout_redirect_uris.clone();
    if requested.pairwise {
        client.sector_identifier = Some(sector(attesto, &requested).await?);
    }
    client.backchannel_logout_session_required = backchannel.session_required;
    client.backchannel_logout_uri = backchannel.uri.clone();
    let scope = requested.scope.unwrap_or_default();
    client.scopes = match attesto.provider().scope_policy().authorize_scope(&client, &scope).await? {
        ScopeDecision::Grant(scopes) => scopes,
        ScopeDecision::Refuse(reason) => return Err(invalid_metadata(format!("`scope`: {reason}"))),
    };

    // RFC 7591 §3.2.1: the response holds all registered metadata, defaults included.
    let mut metadata = Map::new();
    if !client.redirect_uris.is_empty() {
        metadata.insert("redirect_uris".to_owned(), Value::from(client.redirect_uris.clone()));
    }
    metadata.insert("token_endpoint_auth_method".to_owned(), requested.auth_method.as_str().into());
    let grant_types: Vec<&str> = client.grant_types.iter().map(|g| g.as_str()).collect();
    metadata.insert("grant_types".to_owned(), grant_types.into());
    metadata.insert("response_types".to_owned(), requested.response_types.into());
    metadata.insert("application_type".to_owned(), requested.application_type.as_str().into());
    if !client.scopes.is_empty() {
        metadata.insert("scope".to_owned(), client.scopes.to_string().into());
    }
    if let Some(name) = &client.client_name {
        metadata.insert("client_name".to_owned(), name.clone().into());
    }
    metadata.insert("dpop_bound_access_tokens".to_owned(), client.dpop_bound_access_tokens.into());
    // JARM §3, RFC 9701 §6: only when registered. The default is the server's key's algorithm,
    // which a key change may change; a registered one is a promise to the client.
    for (member, alg) in signed.members() {
        metadata.insert(member.to_owned(), alg.into());
    }
    // The SQL registration stores read `jwks_uri` and the signing algorithm back from here.
    if let Some(jwks) = &client.jwks {
        metadata.insert("jwks".to_owned(), jwks.clone());
    }
    if let Some(jwks_uri) = &client.jwks_uri {
        metadata.insert("jwks_uri".to_owned(), jwks_uri.clone().into());
    }
    if let Some(alg) = client.token_endpoint_auth_signing_alg {
        metadata.insert("token_endpoint_auth_signing_alg".to_owned(), alg.as_str().into());
    }
    // RFC 9101 §10.5: only when registered; the SQL registration stores read them back from here.
    if let Some(alg) = client.request_object_signing_alg {
        metadata.insert("request_object_signing_alg".to_owned(), alg.as_str().into());
    }
    if client.require_signed_request_object {
        metadata.insert("require_signed_request_object".to_owned(), true.into());
    }
    // OpenID Connect Registration §2; the SQL registration stores read the sector back from
    // here. `public`, the default, is left out, as before pairwise subjects existed.
    if client.sector_identifier.is_some() {
        metadata.insert("subject_type".to_owned(), "pairwise".into());
    }
    if let Some(uri) = &requested.sector_identifier_uri {
        metadata.insert("sector_identifier_uri".to_owned(), uri.clone().into());
    }
    // RP-Initiated Logout 1.0 §3.1; the SQL registration stores read them back from here.
    if !client.post_logout_redirect_uris.is_empty() {
        metadata.insert("post_logout_redirect_uris".to_owned(), client.post_logout_redirect_uris.clone().into());
    }
    // OpenID Connect Back-Channel Logout 1.0 §2.2: only when registered; the SQL registration
    // stores read them back from here.
    metadata.extend(backchannel.members());
    metadata.extend(requested.informational);
    if serde_json::to_vec(&metadata).map_or(true, |json| json.len() > MAX_METADATA_BYTES) {
        return Err(invalid_metadata(format!("the client metadata is larger than {MAX_METADATA_BYTES} bytes")));
    }
    Ok((client, metadata))
}

/// The sector of a client registering `subject_type` `pairwise` (OpenID Connect Core §8.1,
/// Registration §5): the host of its `sector_identifier_uri`, whose document must list every
/// redirect URI, or without one, the one host of its redirect URIs. Refused when this server has
/// no pairwise secret: a `public` answer to a client that asked for `pairwise` would hand it the
/// identifiers it registered to avoid.
async fn sector<P: Provider>(attesto: &Attesto<P>, requested: &ClientMetadata) -> Result<String, OAuthError> {
    if attesto.settings().pairwise.is_none() {
        return Err(invalid_metadata("`subject_type` `pairwise` is not supported by this server"));
    }
    let refused = |refusal: pairwise::SectorRefusal| invalid_metadata(refusal.description());
    let Some(uri) = requested.sector_identifier_uri.as_deref() else {
        return pairwise::sector_of_redirect_uris(&requested.redirect_uris).map_err(refused);
    };
    #[cfg(feature = "fetch")]
    {
        let url = url::Url::parse(uri).map_err(|_| invalid_metadata("`sector_identifier_uri` is not a URL"))?;
        let listed = attesto.client_jwks().sector_uris(&url).await.map_err(invalid_metadata)?;
        pairwise::sector_of_document(&url, &listed, &requested.redirect_uris).map_err(refused)
    }
    #[cfg(not(feature = "fetch"))]
    {
        let _ = uri;
        Err(invalid_metadata(
            "this server does not fetch a `sector_identifier_uri`: register redirect URIs on one host instead",
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// responses

/// The client information response (RFC 7591 §3.2.1, RFC 7592 §3): the server's members, then
/// the accepted metadata.
fn information<P: Provider>(
    attesto: &Attesto<P>,
    registration: &ClientRegistration,
    client_secret: Option<&str>,
    registration_access_token: &str,
) -> Map<String, Value> {
    let client = &registration.client;
    let mut body = Map::new();
    body.insert("client_id".to_owned(), client.client_id.as_str().into());
    if let Some(secret) = client_secret {
        body.insert("client_secret".to_owned(), secret.into());
    }
    body.insert("client_id_issued_at".to_owned(), crate::protocol::jwt::unix_seconds(registration.issued_at).into());
    // RFC 7591 §3.2.1: REQUIRED when a secret was issued; 0 means it does not expire.
    if client.secret_hash.is_some() {
        let expires_at = registration.secret_expires_at.map_or(0, crate::protocol::jwt::unix_seconds);
        body.insert("client_secret_expires_at".to_owned(), expires_at.into());
    }
    body.insert("registration_access_token".to_owned(), registration_access_token.into());
    // Built from the path table, as the route is: it follows `prefix` and `registration_path`.
    let path = P::PATHS.registration_endpoint(&P::FEATURES).unwrap_or_default();
    let uri = attesto.issuer().url_of(&format!("{path}/{}", client.client_id));
    body.insert("registration_client_uri".to_owned(), uri.into());
    for (name, value) in &registration.metadata {
        if !body.contains_key(name) {
            body.insert(name.clone(), value.clone());
        }
    }
    body
}

/// A JSON response that must not be cached: it carries credentials (RFC 7591 §3.2.1).
fn json(status: StatusCode, body: &Map<String, Value>) -> Response {
    let body = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

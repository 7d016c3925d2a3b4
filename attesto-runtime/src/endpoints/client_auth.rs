//! Client authentication at the token endpoint (RFC 6749 §2.3.1): `client_secret_basic`,
//! `client_secret_post`, `private_key_jwt` (RFC 7523 §2.2, in `client_assertion.rs`), and `none`
//! for public clients.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::endpoints::client_assertion;
use crate::error::{ErrorCode, OAuthError};
use crate::host::provider::Provider;
use crate::model::client::{Client, TokenEndpointAuthMethod};
use crate::model::profile::Profile;
use crate::protocol::client_assertion::{Assertion, JWT_BEARER};
use crate::protocol::form::{self, Form};
use crate::state::{Attesto, FoundClient, NoClient};

/// The credentials a request presented.
#[derive(Debug)]
pub(crate) struct Presented {
    pub(crate) client_id: String,
    secret: Option<String>,
    /// The `client_assertion` of `private_key_jwt`.
    assertion: Option<String>,
    method: TokenEndpointAuthMethod,
}

impl Presented {
    /// Whether the client presented itself as a public one (method `none`: a `client_id`, no
    /// secret).
    pub(crate) fn is_public(&self) -> bool {
        self.method == TokenEndpointAuthMethod::None
    }
}

const BASIC_CHALLENGE: HeaderValue = HeaderValue::from_static("Basic realm=\"attesto\", charset=\"UTF-8\"");

/// `invalid_client` for a request that used `method`: RFC 6749 §5.2 asks for 401 with a
/// `WWW-Authenticate` challenge when the client tried the `Authorization` header, 400 otherwise.
pub(crate) fn invalid_client(method: Option<TokenEndpointAuthMethod>, description: &'static str) -> OAuthError {
    let error = OAuthError::new(ErrorCode::InvalidClient, description);
    if method == Some(TokenEndpointAuthMethod::ClientSecretBasic) {
        error.with_status(StatusCode::UNAUTHORIZED).with_challenge(BASIC_CHALLENGE)
    } else {
        error
    }
}

/// Reads the credentials of a request. Using two methods at once is `invalid_request` (RFC 6749
/// §2.3: "The client MUST NOT use more than one authentication method in each request").
pub(crate) fn presented(headers: &HeaderMap, form: &Form<'_>) -> Result<Option<Presented>, OAuthError> {
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    let mut authorization = headers.get_all(header::AUTHORIZATION).iter();
    let basic = match (authorization.next(), authorization.next()) {
        (None, _) => None,
        (Some(_), Some(_)) => return Err(OAuthError::invalid_request("repeated Authorization header")),
        (Some(value), None) => Some(parse_basic(value)?),
    };
    if let Some(presented) = presented_assertion(form, basic.is_some() || body_secret.is_some())? {
        return Ok(Some(presented));
    }
    match (basic, body_secret) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "the client used two authentication methods (Authorization header and client_secret)",
        )),
        (Some((client_id, secret)), None) => {
            if body_id.is_some_and(|id| id != client_id) {
                return Err(OAuthError::invalid_request("client_id differs from the Authorization header"));
            }
            Ok(Some(Presented {
                client_id,
                secret: Some(secret),
                assertion: None,
                method: TokenEndpointAuthMethod::ClientSecretBasic,
            }))
        }
        (None, Some(secret)) => match body_id {
            Some(id) => Ok(Some(Presented {
                client_id: id.to_owned(),
                secret: Some(secret.to_owned()),
                assertion: None,
                method: TokenEndpointAuthMethod::ClientSecretPost,
            })),
            None => {
                Err(invalid_client(Some(TokenEndpointAuthMethod::ClientSecretPost), "client_secret without client_id"))
            }
        },
        (None, None) => Ok(body_id.map(|id| Presented {
            client_id: id.to_owned(),
            secret: None,
            assertion: None,
            method: TokenEndpointAuthMethod::None,
        })),
    }
}

/// A JWT client assertion (RFC 7521 §4.2): `client_assertion_type` and `client_assertion`, the
/// client being the assertion's `iss`, which a `client_id` in the form must equal. `None` when
/// the form has neither parameter; `with_secret` says the request also used a secret.
fn presented_assertion(form: &Form<'_>, with_secret: bool) -> Result<Option<Presented>, OAuthError> {
    let (assertion_type, assertion) = match (form.get("client_assertion_type"), form.get("client_assertion")) {
        (None, None) => return Ok(None),
        (Some(assertion_type), Some(assertion)) => (assertion_type, assertion),
        (Some(_), None) => {
            return Err(OAuthError::invalid_request("`client_assertion_type` without `client_assertion`"));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request("`client_assertion` without `client_assertion_type`"));
        }
    };
    if with_secret {
        return Err(OAuthError::invalid_request(
            "the client used two authentication methods (a client assertion and a client secret)",
        ));
    }
    if assertion_type != JWT_BEARER {
        return Err(client_assertion::refusal(
            "unsupported `client_assertion_type`: use urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ));
    }
    let parsed = Assertion::parse(assertion).map_err(|error| client_assertion::refusal(error.description()))?;
    let client_id =
        parsed.client_id(form.get("client_id")).map_err(|error| client_assertion::refusal(error.description()))?;
    Ok(Some(Presented {
        client_id: client_id.to_owned(),
        secret: None,
        assertion: Some(assertion.to_owned()),
        method: TokenEndpointAuthMethod::PrivateKeyJwt,
    }))
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(value: &HeaderValue) -> Result<(String, String), OAuthError> {
    let malformed = || invalid_client(Some(TokenEndpointAuthMethod::ClientSecretBasic), "malformed Basic credentials");
    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, credentials) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(invalid_client(
            Some(TokenEndpointAuthMethod::ClientSecretBasic),
            "unsupported authentication scheme at the token endpoint",
        ));
    }
    let decoded = STANDARD.decode(credentials.trim()).map_err(|_| malformed())?;
    let colon = decoded.iter().position(|b| *b == b':').ok_or_else(malformed)?;
    let id = form::decode(&decoded[..colon]).map_err(|_| malformed())?;
    let secret = form::decode(&decoded[colon + 1..]).map_err(|_| malformed())?;
    if id.is_empty() || secret.is_empty() {
        return Err(malformed());
    }
    Ok((id, secret))
}

/// Under FAPI 2.0, `private_key_jwt` only (Security Profile §5.3.2.1 clauses 3 and 6): a public
/// client or a secret is refused before anything is looked up. The token endpoint calls it
/// before its DPoP check too, so that a client with a secret hears about its secret first.
pub(crate) fn refuse_method_outside_profile<P: Provider>(
    attesto: &Attesto<P>,
    presented: &Presented,
) -> Result<(), OAuthError> {
    let profile = attesto.settings().profile;
    if profile.allows_auth_method(presented.method) {
        Ok(())
    } else {
        Err(invalid_client(Some(presented.method), Profile::AUTH_METHOD_REFUSED))
    }
}

/// Authenticates a confidential client: by its assertion (`private_key_jwt`), or by its secret.
///
/// An unknown client id and a wrong secret give the same `invalid_client`, and cost the same: for
/// an unknown id the secret is still verified, against a decoy client with a random secret hash.
pub(crate) async fn authenticate_confidential<P: Provider>(
    attesto: &Attesto<P>,
    presented: &Presented,
) -> Result<Client, OAuthError> {
    let method = Some(presented.method);
    refuse_method_outside_profile(attesto, presented)?;
    if let Some(assertion) = presented.assertion.as_deref() {
        return client_assertion::authenticate(attesto, &presented.client_id, assertion).await;
    }
    let Some(secret) = presented.secret.as_deref() else {
        return Err(invalid_client(method, "client authentication failed"));
    };
    let (client, known) = match attesto.find_client(&presented.client_id).await? {
        Some(found) => (found, true),
        None => (FoundClient::decoy(presented.client_id.as_str(), attesto.decoy_hash()), false),
    };
    let verified = attesto.verify_client_secret(&client, secret).await?;
    let client = client.client;
    // Checked after the secret, so that every failure costs one verification.
    if !known || !verified || client.is_public || client.token_endpoint_auth_method != presented.method {
        return Err(invalid_client(method, "client authentication failed"));
    }
    Ok(client)
}

/// Authenticates any client at the token endpoint: a confidential one by its secret
/// ([`authenticate_confidential`]), a public one by its `client_id` alone (method `none`, RFC 6749
/// §2.1; PKCE or a bound refresh token is what protects it).
pub(crate) async fn authenticate_client<P: Provider>(
    attesto: &Attesto<P>,
    presented: Option<&Presented>,
) -> Result<Client, OAuthError> {
    let presented = presented.ok_or_else(|| invalid_client(None, "client authentication is required"))?;
    refuse_method_outside_profile(attesto, presented)?;
    if presented.method != TokenEndpointAuthMethod::None {
        return authenticate_confidential(attesto, presented).await;
    }
    match attesto.lookup_client(&presented.client_id).await?.map(|found| found.client) {
        Ok(client) if client.is_public && client.token_endpoint_auth_method == TokenEndpointAuthMethod::None => {
            Ok(client)
        }
        // A client ID metadata document that cannot be used: the URL is public and the document
        // has no secret to guard, so the reason is told (400, as for any `none` request).
        Err(missing @ NoClient::MetadataDocument(_)) => Err(missing.error()),
        // A confidential client that sent no secret, or an unknown id: the same answer.
        Ok(_) | Err(NoClient::Unknown) => Err(invalid_client(None, "client authentication failed")),
    }
}

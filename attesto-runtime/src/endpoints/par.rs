//! Pushed authorization requests (RFC 9126): the client POSTs its authorization request straight
//! to the server, authenticated, and gets back a `request_uri` that stands for it at the
//! authorization endpoint.
//!
//! The request is validated by the authorization endpoint's own function
//! ([`authorize::validate`]), so that it passes exactly the checks of a front-channel request
//! (RFC 9126 §2.1). Only where a refusal goes differs: here every refusal is a JSON error response
//! (RFC 9126 §2.3), never a redirect.
//!
//! A DPoP proof sent with the push binds the code to its key, as `dpop_jkt` does (RFC 9449 §10.1).

use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde::Serialize;

use crate::dpop::check::DpopFailure;
use crate::endpoints::authorize::{self, Origin, Refusal, SignedBy};
use crate::endpoints::client_auth;
use crate::endpoints::request_object;
use crate::error::{ErrorCode, OAuthError};
use crate::host::events::{AuthorizationDenied, EventSink};
use crate::host::provider::Provider;
use crate::protocol::authorization_request::{Channel, REPEATABLE, REQUEST_URI_PREFIX};
use crate::protocol::form::{self, Form};
use crate::state::Attesto;
use crate::store::{PendingAuthorization, PendingStage, TokenHash, new_secret};

/// How long a pushed request waits for the browser. RFC 9126 §2.2 leaves it to the server,
/// "typically relatively short"; the client redirects the browser at once.
const PUSHED_TTL: Duration = Duration::from_secs(60);

/// The successful response (RFC 9126 §2.2).
#[derive(Debug, Serialize)]
struct Pushed {
    request_uri: String,
    expires_in: u64,
}

impl IntoResponse for Pushed {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (
            // RFC 9126 §2.2: 201 Created.
            StatusCode::CREATED,
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
                // The `request_uri` is a one-time credential of the client.
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            body,
        )
            .into_response()
    }
}

/// `POST {par}` (RFC 9126 §2).
pub(crate) async fn post<P: Provider>(State(attesto): State<Attesto<P>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let mut response = match push(&attesto, &parts.method, &parts.headers, body).await {
        Ok(pushed) => pushed.into_response(),
        Err(error) => error.into_response(),
    };
    attesto.add_fresh_dpop_nonce(&parts.headers, &mut response);
    response
}

/// Authenticates the client, validates its authorization request and stores it (RFC 9126 §2.1).
async fn push<P: Provider>(
    attesto: &Attesto<P>,
    method: &Method,
    headers: &HeaderMap,
    body: Body,
) -> Result<Pushed, OAuthError> {
    // The body is read as at the token endpoint (RFC 6749 §3.2; RFC 9126 §2.1 sends the
    // parameters as an `application/x-www-form-urlencoded` body): a form, bounded, every
    // parameter at most once but `resource`.
    form::require_form_content_type(headers)?;
    let body = form::read_body(body).await?;
    let form = Form::parse(&body, REPEATABLE)?;
    // RFC 9126 §2.1, step 1: the client authenticates as at the token endpoint, with the same
    // methods and the same `invalid_client` answers.
    //
    // The pushed request is then the authenticated client's, and a `client_id` in the body (RFC
    // 9126 §2.1 asks for one) always names that client: with Basic credentials
    // `client_auth::presented` refuses one that differs (`invalid_request`), and with
    // `client_secret_post` or `none` it is the very identifier that authenticated.
    let presented = client_auth::presented(headers, &form)?;
    // RFC 9449 §10.1: a proof is checked as at the token endpoint: the proof and its nonce before
    // the client, its replay once the client authenticated (no store write for a caller that
    // fails authentication), before anything is stored.
    let path = P::PATHS.par.ok_or_else(|| OAuthError::new(ErrorCode::ServerError, "the PAR endpoint is off"))?;
    let proof = attesto.verify_dpop(headers, method.as_str(), path).map_err(DpopFailure::into_error)?;
    let client = client_auth::authenticate_client(attesto, presented.as_ref()).await?;
    attesto.record_dpop(proof.as_ref(), method.as_str(), path).await.map_err(DpopFailure::into_error)?;
    let client_id = client.client_id.clone();
    // RFC 9126 §2.1, step 2: a pushed request cannot refer to another one.
    if form.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request("`request_uri` cannot be pushed"));
    }
    // RFC 9126 §2.1, step 3: validated as at the authorization endpoint. RFC 9126 §2.3: errors
    // carry the code that endpoint would have sent, and the ones it shows rather than redirects
    // (an unregistered redirect URI, say) are `invalid_request`, which they already are.
    //
    // RFC 9126 §3: a pushed request object. Its claims are the request's parameters and the only
    // ones used (RFC 9101 §6.3); the other parameters of the body are those of client
    // authentication, and any other is ignored.
    let validated = match form.get("request") {
        Some(object) => match request_object::parameters(attesto, &client, object).await {
            Ok(parameters) => {
                authorize::validate_for(attesto, &parameters, client, Channel::Pushed, SignedBy::Object).await
            }
            Err(error) => Err(Refusal::Unverified(error)),
        },
        None => authorize::validate(attesto, &form, Origin::Pushed(Box::new(client))).await,
    };
    let (_, mut request) = match validated {
        Ok(validated) => validated,
        Err(refusal) => {
            let error = refusal.into_error();
            attesto.provider().event_sink().authorization_denied(&AuthorizationDenied {
                client_id: client_id.as_str(),
                subject: None,
                scope: "",
                error: error.code(),
                description: error.description(),
            });
            return Err(error);
        }
    };
    // RFC 9449 §10.1: the proof's key binds the code like `dpop_jkt`; both at once must name one
    // key, or the request is refused with `invalid_dpop_proof`.
    if let Some(proof) = proof {
        match &request.dpop_jkt {
            Some(jkt) if *jkt != proof.jkt => {
                return Err(DpopFailure::KeyMismatch("the DPoP proof key does not match `dpop_jkt`").into_error());
            }
            _ => request.dpop_jkt = Some(proof.jkt),
        }
    }
    // RFC 9126 §2.2: the value must be infeasible to guess; 256 random bits. The whole URN is
    // hashed for the key, not just the random part, so that a resume or consent handle (keyed
    // by the hash of a bare random value) can never be presented as a `request_uri`, nor the
    // reverse.
    let request_uri = format!("{REQUEST_URI_PREFIX}{}", new_secret().0);
    let pending =
        PendingAuthorization { request, stage: PendingStage::Pushed, expires_at: SystemTime::now() + PUSHED_TTL };
    attesto.store().put_pending(&TokenHash::of(&request_uri), &pending).await?;
    Ok(Pushed { request_uri, expires_in: PUSHED_TTL.as_secs() })
}

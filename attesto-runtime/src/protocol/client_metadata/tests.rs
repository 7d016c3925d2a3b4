use serde_json::json;

use super::MetadataError as E;
use super::*;
use crate::error::{ErrorCode, OAuthError};
use crate::model::scope::InvalidScope;
#[cfg(feature = "fetch")]
use crate::protocol::client_assertion::JwksError;

#[cfg(feature = "fetch")]
const URL: &str = "https://client.example/metadata.json";
const CB: &str = "https://client.example/cb";

fn object(value: Value) -> Map<String, Value> {
    let Value::Object(object) = value else { panic!("not an object: {value}") };
    object
}

/// A registration of `redirect_uris` and `extra`.
fn parse_registration(extra: &Value) -> Result<ClientMetadata, MetadataError> {
    let mut raw = object(json!({"redirect_uris": [CB]}));
    raw.extend(object(extra.clone()));
    ClientMetadata::parse(&raw, &Source::Registration)
}

/// A document at [`URL`] of `client_id`, `redirect_uris` and `extra`.
#[cfg(feature = "fetch")]
fn parse_document(extra: &Value) -> Result<ClientMetadata, MetadataError> {
    let mut raw = object(json!({"client_id": URL, "redirect_uris": [CB]}));
    raw.extend(object(extra.clone()));
    ClientMetadata::parse(&raw, &Source::MetadataDocument { url: URL.to_owned() })
}

fn redirect(uri: &str, rules: RedirectUriRules) -> MetadataError {
    E::RedirectUri(check_redirect_uri(uri, rules).expect_err("a refused redirect URI"))
}

#[cfg(feature = "fetch")]
fn post_logout(uri: &str, rules: RedirectUriRules) -> MetadataError {
    E::PostLogoutRedirectUri(check_redirect_uri(uri, rules).expect_err("a refused URI").description().to_owned())
}

/// Accepted, or the fault found first.
#[cfg(feature = "fetch")]
type Outcome = Result<(), MetadataError>;

/// For each member, values each source accepts and refuses, and the fault it finds first
/// when there are several.
#[cfg(feature = "fetch")]
#[test]
fn each_member_is_checked_under_the_rules_of_its_source() {
    let long = "a".repeat(MAX_MEMBER_BYTES + 1);
    let fits = "a".repeat(MAX_MEMBER_BYTES);
    let many_grants = vec!["authorization_code"; MAX_MEMBER_ITEMS + 1];
    let many_uris = vec![CB; MAX_MEMBER_ITEMS + 1];
    let ok = || Ok(());
    let no = Err;
    let public_web = RedirectUriRules::PublicWeb;
    let web = RedirectUriRules::Web;
    #[rustfmt::skip]
    let cases: Vec<(Value, Outcome, Outcome)> = vec![
        // (extra members, registration, document)
        // `client_id`: a document's own (an update's is checked by its endpoint).
        (json!({"client_id": "https://other.example/m"}), ok(), no(E::ClientIdNotDocumentUrl)),
        (json!({"client_id": URL.to_uppercase()}), ok(), no(E::ClientIdNotDocumentUrl)),
        (json!({"client_id": null}), ok(), no(E::MissingClientId)),
        (json!({"client_id": 1}), ok(), no(E::NotString("client_id"))),
        // Secrets: none in a document, not even null.
        (json!({"client_secret": "s"}), ok(), no(E::SecretMember("client_secret"))),
        (json!({"client_secret": null}), ok(), no(E::SecretMember("client_secret"))),
        (json!({"client_secret_expires_at": 0}), ok(), no(E::SecretMember("client_secret_expires_at"))),
        // `token_endpoint_auth_method`
        (json!({"token_endpoint_auth_method": "none"}), ok(), ok()),
        (json!({"token_endpoint_auth_method": null}), ok(), ok()),
        (json!({"token_endpoint_auth_method": "client_secret_basic"}), ok(), no(E::SharedSecretAuthMethod("client_secret_basic".to_owned()))),
        (json!({"token_endpoint_auth_method": "client_secret_post"}), ok(), no(E::SharedSecretAuthMethod("client_secret_post".to_owned()))),
        (json!({"token_endpoint_auth_method": "client_secret_jwt"}), no(E::ClientSecretJwt), no(E::SharedSecretAuthMethod("client_secret_jwt".to_owned()))),
        (json!({"token_endpoint_auth_method": "private_key_jwt"}), no(E::NoKeys), no(E::NoKeys)),
        (json!({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://client.example/jwks"}), ok(), ok()),
        (json!({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "http://client.example/jwks"}), no(E::JwksUri), no(E::JwksUri)),
        (json!({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://client.example/jwks", "jwks": {"keys": []}}), no(E::JwksAndJwksUri), no(E::JwksAndJwksUri)),
        (json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": []}}), no(E::Jwks(JwksError::Empty)), no(E::Jwks(JwksError::Empty))),
        (json!({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://client.example/jwks", "token_endpoint_auth_signing_alg": "HS256"}), no(E::UnsupportedSigningAlg("HS256".to_owned())), no(E::UnsupportedSigningAlg("HS256".to_owned()))),
        // RFC 9101 §10.5: read for a registration only, and only with keys.
        (json!({"request_object_signing_alg": "HS256"}), no(E::UnsupportedRequestObjectSigningAlg("HS256".to_owned())), ok()),
        (json!({"request_object_signing_alg": "none"}), no(E::UnsupportedRequestObjectSigningAlg("none".to_owned())), ok()),
        (json!({"request_object_signing_alg": "ES256"}), no(E::RequestObjectWithoutKeys), ok()),
        (json!({"require_signed_request_object": true}), no(E::RequestObjectWithoutKeys), ok()),
        (json!({"require_signed_request_object": false}), ok(), ok()),
        (json!({"require_signed_request_object": "yes"}), no(E::RequireSignedRequestObjectNotBoolean), ok()),
        (json!({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://client.example/jwks", "request_object_signing_alg": "PS256", "require_signed_request_object": true}), ok(), ok()),
        (json!({"token_endpoint_auth_method": "tls_client_auth"}), no(E::UnsupportedAuthMethod("tls_client_auth".to_owned())), no(E::UnsupportedAuthMethod("tls_client_auth".to_owned()))),
        (json!({"token_endpoint_auth_method": 1}), no(E::NotString("token_endpoint_auth_method")), no(E::NotString("token_endpoint_auth_method"))),
        (json!({"token_endpoint_auth_method": long}), no(E::TooLong("token_endpoint_auth_method")), no(E::UnsupportedAuthMethod(long.clone()))),
        // `jwks`: public keys only in a document; registration does not read it.
        (json!({"jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y"}]}}), ok(), ok()),
        (json!({"jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "d": "secret"}]}}), ok(), no(E::PrivateKeyInJwks)),
        (json!({"jwks": {"keys": [{"kty": "oct", "k": null}]}}), ok(), no(E::PrivateKeyInJwks)),
        (json!({"jwks": {"keys": {}}}), ok(), no(E::JwksNotASet)),
        (json!({"jwks": []}), ok(), no(E::JwksNotASet)),
        (json!({"jwks": null}), ok(), ok()),
        // `grant_types`
        (json!({"grant_types": ["authorization_code", "refresh_token"]}), ok(), ok()),
        (json!({"grant_types": ["refresh_token", "authorization_code", "refresh_token"]}), ok(), ok()),
        (json!({"grant_types": ["refresh_token"]}), ok(), ok()),
        (json!({"grant_types": ["client_credentials"]}), ok(), no(E::UnsupportedGrantType("client_credentials".to_owned()))),
        (json!({"grant_types": ["implicit"]}), no(E::UnsupportedGrantType("implicit".to_owned())), no(E::UnsupportedGrantType("implicit".to_owned()))),
        (json!({"grant_types": []}), no(E::EmptyGrantTypes), no(E::EmptyGrantTypes)),
        (json!({"grant_types": "authorization_code"}), no(E::NotStrings("grant_types")), no(E::NotStrings("grant_types"))),
        (json!({"grant_types": [1]}), no(E::NotStrings("grant_types")), no(E::NotStrings("grant_types"))),
        (json!({"grant_types": many_grants}), no(E::TooManyItems("grant_types")), ok()),
        (json!({"grant_types": [long]}), no(E::ItemTooLong("grant_types")), no(E::UnsupportedGrantType(long.clone()))),
        // `response_types`
        (json!({"response_types": ["code"]}), ok(), ok()),
        (json!({"response_types": ["code", "code"]}), ok(), ok()),
        (json!({"response_types": ["token"]}), no(E::UnsupportedResponseType("token".to_owned())), no(E::UnsupportedResponseType("token".to_owned()))),
        (json!({"response_types": ["code", "token"]}), no(E::UnsupportedResponseType("token".to_owned())), no(E::UnsupportedResponseType("token".to_owned()))),
        (json!({"response_types": "code"}), no(E::NotStrings("response_types")), no(E::NotStrings("response_types"))),
        (json!({"response_types": [fits, long]}), no(E::ItemTooLong("response_types")), no(E::UnsupportedResponseType(fits.clone()))),
        // RFC 7591 §2.1, for registration: grant and response types agree.
        (json!({"response_types": []}), no(E::InconsistentTypes), ok()),
        (json!({"grant_types": ["refresh_token"], "response_types": ["code"]}), no(E::InconsistentTypes), ok()),
        // RFC 6749 §4.4
        (json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}), no(E::PublicClientCredentials), no(E::UnsupportedGrantType("client_credentials".to_owned()))),
        // RFC 8693 and the identity assertion grant: confidential clients only, never a document's.
        (json!({"grant_types": ["urn:ietf:params:oauth:grant-type:token-exchange"]}), ok(), no(E::UnsupportedGrantType("urn:ietf:params:oauth:grant-type:token-exchange".to_owned()))),
        (json!({"grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"]}), ok(), no(E::UnsupportedGrantType("urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned()))),
        (json!({"grant_types": ["urn:ietf:params:oauth:grant-type:token-exchange"], "token_endpoint_auth_method": "none"}), no(E::PublicGrant("urn:ietf:params:oauth:grant-type:token-exchange")), no(E::UnsupportedGrantType("urn:ietf:params:oauth:grant-type:token-exchange".to_owned()))),
        (json!({"grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"], "token_endpoint_auth_method": "none"}), no(E::PublicGrant("urn:ietf:params:oauth:grant-type:jwt-bearer")), no(E::UnsupportedGrantType("urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned()))),
        // `application_type`
        (json!({"application_type": "web"}), ok(), ok()),
        (json!({"application_type": "native"}), ok(), ok()),
        (json!({"application_type": "tv"}), no(E::UnsupportedApplicationType("tv".to_owned())), no(E::UnsupportedApplicationType("tv".to_owned()))),
        (json!({"application_type": 1}), no(E::NotString("application_type")), no(E::NotString("application_type"))),
        // `redirect_uris`: a document's client is public, so loopback `http` is allowed.
        (json!({"redirect_uris": null}), no(E::MissingRedirectUris), no(E::MissingRedirectUris)),
        (json!({"redirect_uris": []}), no(E::MissingRedirectUris), no(E::MissingRedirectUris)),
        (json!({"grant_types": ["refresh_token"], "redirect_uris": []}), ok(), no(E::MissingRedirectUris)),
        (json!({"redirect_uris": CB}), no(E::NotStrings("redirect_uris")), no(E::NotStrings("redirect_uris"))),
        (json!({"redirect_uris": [CB, CB]}), ok(), ok()),
        (json!({"redirect_uris": ["http://127.0.0.1:3000/cb"]}), no(redirect("http://127.0.0.1:3000/cb", web)), ok()),
        (json!({"redirect_uris": ["http://127.0.0.1:3000/cb"], "token_endpoint_auth_method": "none"}), ok(), ok()),
        (json!({"redirect_uris": ["com.example.app:/cb"]}), no(redirect("com.example.app:/cb", web)), no(redirect("com.example.app:/cb", public_web))),
        (json!({"redirect_uris": ["com.example.app:/cb"], "application_type": "native"}), ok(), ok()),
        (json!({"redirect_uris": ["javascript:alert(1)"]}), no(redirect("javascript:alert(1)", web)), no(redirect("javascript:alert(1)", public_web))),
        (json!({"redirect_uris": [CB, "https://client.example/cb#x"]}), no(redirect("https://client.example/cb#x", web)), no(redirect("https://client.example/cb#x", public_web))),
        (json!({"redirect_uris": many_uris}), no(E::TooManyItems("redirect_uris")), ok()),
        // `post_logout_redirect_uris`: registration only, by the redirect URI rules of the client.
        (json!({"post_logout_redirect_uris": ["https://client.example/bye"]}), ok(), ok()),
        (json!({"post_logout_redirect_uris": "https://client.example/bye"}), no(E::NotStrings("post_logout_redirect_uris")), ok()),
        (json!({"post_logout_redirect_uris": ["http://client.example/bye"]}), no(post_logout("http://client.example/bye", web)), ok()),
        (json!({"post_logout_redirect_uris": ["http://127.0.0.1/bye"]}), no(post_logout("http://127.0.0.1/bye", web)), ok()),
        (json!({"post_logout_redirect_uris": ["http://127.0.0.1/bye"], "token_endpoint_auth_method": "none"}), ok(), ok()),
        (json!({"post_logout_redirect_uris": ["https://client.example/bye#x"]}), no(post_logout("https://client.example/bye#x", web)), ok()),
        (json!({"post_logout_redirect_uris": ["javascript:alert(1)"]}), no(post_logout("javascript:alert(1)", web)), ok()),
        (json!({"post_logout_redirect_uris": vec![CB; MAX_MEMBER_ITEMS + 1]}), no(E::TooManyItems("post_logout_redirect_uris")), ok()),
        // `scope`
        (json!({"scope": "read write"}), ok(), ok()),
        (json!({"scope": ""}), ok(), ok()),
        (json!({"scope": "bad\"scope"}), no(E::InvalidScope(InvalidScope)), no(E::InvalidScope(InvalidScope))),
        (json!({"scope": "read  write"}), no(E::InvalidScope(InvalidScope)), no(E::InvalidScope(InvalidScope))),
        (json!({"scope": 1}), no(E::NotString("scope")), no(E::NotString("scope"))),
        // `client_name`
        (json!({"client_name": "Example"}), ok(), ok()),
        (json!({"client_name": fits}), ok(), ok()),
        (json!({"client_name": long}), no(E::TooLong("client_name")), ok()),
        (json!({"client_name": ["a"]}), no(E::NotString("client_name")), no(E::NotString("client_name"))),
        // `dpop_bound_access_tokens`
        (json!({"dpop_bound_access_tokens": true}), ok(), ok()),
        (json!({"dpop_bound_access_tokens": null}), ok(), ok()),
        (json!({"dpop_bound_access_tokens": "yes"}), no(E::NotBoolean("dpop_bound_access_tokens")), no(E::NotBoolean("dpop_bound_access_tokens"))),
        // Informational members: read by registration only.
        (json!({"client_uri": "https://client.example", "logo_uri": "http://client.example/l.png"}), ok(), ok()),
        (json!({"logo_uri": "javascript:alert(1)"}), no(E::NotWebUrl("logo_uri")), ok()),
        (json!({"tos_uri": "https://client.example/a b"}), no(E::NotWebUrl("tos_uri")), ok()),
        (json!({"policy_uri": 1}), no(E::NotString("policy_uri")), ok()),
        (json!({"contacts": ["ops@client.example"]}), ok(), ok()),
        (json!({"contacts": "ops@client.example"}), no(E::NotStrings("contacts")), ok()),
        (json!({"software_id": 1}), no(E::NotString("software_id")), ok()),
        (json!({"software_version": long}), no(E::TooLong("software_version")), ok()),
        // Members attesto does not understand are ignored (RFC 7591 §2).
        (json!({"extension": {"any": 1}, "frontchannel_logout_uri": 7}), ok(), ok()),
        // `subject_type` and `sector_identifier_uri` (OpenID Connect Registration §2): registration only.
        (json!({"subject_type": "pairwise"}), ok(), ok()),
        (json!({"subject_type": "public"}), ok(), ok()),
        (json!({"subject_type": "secret"}), no(E::UnsupportedSubjectType), ok()),
        (json!({"subject_type": 1}), no(E::NotString("subject_type")), ok()),
        (json!({"subject_type": "pairwise", "sector_identifier_uri": "https://rp.example/s.json"}), ok(), ok()),
        (json!({"subject_type": "pairwise", "sector_identifier_uri": "http://127.0.0.1:4000/s.json"}), ok(), ok()),
        (json!({"sector_identifier_uri": "https://rp.example/s.json"}), no(E::SectorIdentifierWithoutPairwise), ok()),
        (json!({"subject_type": "pairwise", "sector_identifier_uri": "http://rp.example/s.json"}), no(E::SectorIdentifierUri), ok()),
        (json!({"subject_type": "pairwise", "sector_identifier_uri": "https://rp.example/s.json#x"}), no(E::SectorIdentifierUri), ok()),
        (json!({"subject_type": "pairwise", "sector_identifier_uri": 7}), no(E::NotString("sector_identifier_uri")), ok()),
        // Several faults: the first in each source's order.
        (json!({"token_endpoint_auth_method": "x", "grant_types": []}), no(E::UnsupportedAuthMethod("x".to_owned())), no(E::UnsupportedAuthMethod("x".to_owned()))),
        (json!({"client_secret": "s", "client_id": "https://other.example/m"}), ok(), no(E::ClientIdNotDocumentUrl)),
        (json!({"token_endpoint_auth_method": "x", "client_secret": "s"}), no(E::UnsupportedAuthMethod("x".to_owned())), no(E::SecretMember("client_secret"))),
        (json!({"token_endpoint_auth_method": "x", "jwks": []}), no(E::UnsupportedAuthMethod("x".to_owned())), no(E::UnsupportedAuthMethod("x".to_owned()))),
        (json!({"jwks": [], "grant_types": []}), no(E::EmptyGrantTypes), no(E::JwksNotASet)),
        (json!({"grant_types": ["implicit"], "response_types": ["token"]}), no(E::UnsupportedGrantType("implicit".to_owned())), no(E::UnsupportedGrantType("implicit".to_owned()))),
        (json!({"application_type": "tv", "redirect_uris": []}), no(E::UnsupportedApplicationType("tv".to_owned())), no(E::UnsupportedApplicationType("tv".to_owned()))),
        (json!({"redirect_uris": [], "scope": 1}), no(E::MissingRedirectUris), no(E::MissingRedirectUris)),
        (json!({"scope": 1, "client_name": 1}), no(E::NotString("scope")), no(E::NotString("scope"))),
        (json!({"client_name": 1, "dpop_bound_access_tokens": "yes"}), no(E::NotString("client_name")), no(E::NotBoolean("dpop_bound_access_tokens"))),
        (json!({"dpop_bound_access_tokens": "yes", "logo_uri": 1}), no(E::NotBoolean("dpop_bound_access_tokens")), no(E::NotBoolean("dpop_bound_access_tokens"))),
    ];
    for (extra, registration, document) in cases {
        assert_eq!(parse_registration(&extra).map(|_| ()), registration, "registration of {extra}");
        assert_eq!(parse_document(&extra).map(|_| ()), document, "document of {extra}");
    }
}

#[test]
fn registration_fills_in_the_defaults_of_rfc_7591() {
    let expected = ClientMetadata {
        redirect_uris: vec![CB.to_owned()],
        grant_types: vec![GrantType::AuthorizationCode],
        response_types: vec!["code"],
        auth_method: TokenEndpointAuthMethod::ClientSecretBasic,
        application_type: ApplicationType::Web,
        scope: None,
        client_name: None,
        dpop_bound_access_tokens: false,
        keys: None,
        request_object_signing_alg: None,
        require_signed_request_object: false,
        post_logout_redirect_uris: Vec::new(),
        pairwise: false,
        sector_identifier_uri: None,
        informational: Map::new(),
    };
    assert_eq!(parse_registration(&json!({})), Ok(expected));
    let without_code = parse_registration(&json!({"grant_types": ["client_credentials"], "redirect_uris": null}))
        .expect("a client credentials client");
    assert_eq!(without_code.response_types, Vec::<&str>::new());
    assert!(without_code.redirect_uris.is_empty());
    assert!(!without_code.is_public());
}

#[test]
fn registration_keeps_what_it_understands() {
    let metadata = parse_registration(&json!({
        "redirect_uris": [CB, "http://127.0.0.1/cb", CB],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token", "authorization_code"],
        "response_types": ["code", "code"],
        "application_type": "native",
        "scope": "read write read",
        "client_name": "Example",
        "dpop_bound_access_tokens": true,
        "client_uri": "https://client.example",
        "logo_uri": "https://client.example/logo.png",
        "tos_uri": "https://client.example/tos",
        "policy_uri": "https://client.example/policy",
        "contacts": ["ops@client.example"],
        "software_id": "4NRB1-0XZABZI9E6-5SM3R",
        "software_version": "2.1",
        "post_logout_redirect_uris": ["http://127.0.0.1/bye", "com.example.app:/bye", "http://127.0.0.1/bye"],
        "extension": "dropped",
    }))
    .expect("good metadata");
    assert!(metadata.is_public());
    assert_eq!(
        metadata,
        ClientMetadata {
            redirect_uris: vec![CB.to_owned(), "http://127.0.0.1/cb".to_owned()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            response_types: vec!["code"],
            auth_method: TokenEndpointAuthMethod::None,
            application_type: ApplicationType::Native,
            scope: Some(Scopes::parse("read write").expect("scopes")),
            client_name: Some("Example".to_owned()),
            dpop_bound_access_tokens: true,
            keys: None,
            request_object_signing_alg: None,
            require_signed_request_object: false,
            post_logout_redirect_uris: vec!["http://127.0.0.1/bye".to_owned(), "com.example.app:/bye".to_owned()],
            pairwise: false,
            sector_identifier_uri: None,
            informational: object(json!({
                "client_uri": "https://client.example",
                "logo_uri": "https://client.example/logo.png",
                "tos_uri": "https://client.example/tos",
                "policy_uri": "https://client.example/policy",
                "contacts": ["ops@client.example"],
                "software_id": "4NRB1-0XZABZI9E6-5SM3R",
                "software_version": "2.1",
            })),
        }
    );
    let post = parse_registration(&json!({"token_endpoint_auth_method": "client_secret_post"})).expect("good");
    assert_eq!(post.auth_method, TokenEndpointAuthMethod::ClientSecretPost);
    assert!(!post.is_public());
}

#[cfg(feature = "fetch")]
#[test]
fn a_document_keeps_its_redirect_uris_as_listed_and_nothing_informational() {
    let metadata = parse_document(&json!({
        "redirect_uris": [CB, CB],
        "logo_uri": "https://client.example/logo.png",
        "jwks": {"keys": []},
    }))
    .expect("a good document");
    assert_eq!(metadata.redirect_uris, [CB, CB]);
    assert_eq!(metadata.auth_method, TokenEndpointAuthMethod::None);
    assert!(metadata.informational.is_empty());
    let client = metadata.into_document_client(URL, &supported());
    assert_eq!(client.redirect_uris, [CB, CB]);
    let no_scope = parse_document(&json!({"scope": ""})).expect("good").into_document_client(URL, &supported());
    assert!(no_scope.scopes.is_empty());
}

#[test]
fn registration_answers_in_its_own_words() {
    let invalid = ErrorCode::InvalidClientMetadata;
    let cases = [
        (E::NotString("client_name"), invalid, "`client_name` must be a string"),
        (E::TooLong("client_name"), invalid, "`client_name` is longer than 2048 bytes"),
        (E::NotStrings("contacts"), invalid, "`contacts` must be an array of strings"),
        (E::TooManyItems("redirect_uris"), invalid, "`redirect_uris` has more than 16 items"),
        (E::ItemTooLong("redirect_uris"), invalid, "an item of `redirect_uris` is longer than 2048 bytes"),
        (
            E::UnsupportedAuthMethod("private_key_jwt".to_owned()),
            invalid,
            "this `token_endpoint_auth_method` is not supported: use client_secret_basic, client_secret_post, private_key_jwt or none",
        ),
        (E::EmptyGrantTypes, invalid, "`grant_types` must not be empty"),
        (
            E::UnsupportedGrantType("implicit".to_owned()),
            invalid,
            "a grant type in `grant_types` is not supported: use authorization_code, refresh_token or client_credentials",
        ),
        (
            E::UnsupportedResponseType("token".to_owned()),
            invalid,
            "a response type in `response_types` is not supported: only `code` is",
        ),
        (
            E::InconsistentTypes,
            invalid,
            "`grant_types` and `response_types` are inconsistent: `authorization_code` goes with `code` (RFC 7591 section 2.1)",
        ),
        (
            E::PublicClientCredentials,
            invalid,
            "client_credentials needs a confidential client; `none` registers a public one",
        ),
        (
            E::PublicGrant("urn:ietf:params:oauth:grant-type:token-exchange"),
            invalid,
            "`urn:ietf:params:oauth:grant-type:token-exchange` needs a confidential client; `none` registers a public one",
        ),
        (
            E::UnsupportedApplicationType("tv".to_owned()),
            invalid,
            "this `application_type` is not supported: use web or native",
        ),
        (
            redirect("javascript:alert(1)", RedirectUriRules::Web),
            ErrorCode::InvalidRedirectUri,
            "a redirect URI must use https, or http on a loopback host; a private-use scheme needs `application_type` `native` (RFC 8252 section 7.1)",
        ),
        (
            E::MissingRedirectUris,
            ErrorCode::InvalidRedirectUri,
            "`redirect_uris` is required for the authorization_code grant",
        ),
        (
            E::InvalidScope(InvalidScope),
            invalid,
            "`scope`: scope must be space-separated tokens of printable ASCII other than double quote and backslash (RFC 6749 section 3.3)",
        ),
        (
            E::NotBoolean("dpop_bound_access_tokens"),
            invalid,
            "`dpop_bound_access_tokens` must be a boolean (RFC 9449 section 5.2)",
        ),
        (E::NotWebUrl("logo_uri"), invalid, "`logo_uri` must be an absolute http or https URL"),
    ];
    for (error, code, description) in cases {
        let error = OAuthError::from(error);
        assert_eq!((error.code(), error.description()), (code, description));
    }
}

#[cfg(feature = "fetch")]
#[test]
fn a_document_refusal_quotes_the_value_without_control_characters() {
    let value = format!("a\u{7}b{}", "c".repeat(100));
    let reason = E::UnsupportedApplicationType(value).document_reason();
    assert_eq!(reason, format!("`application_type` `ab{}` is not supported: use web or native", "c".repeat(62)));
    assert_eq!(
        E::UnsupportedAuthMethod("tls_client_auth".to_owned()).document_reason(),
        "`token_endpoint_auth_method` `tls_client_auth` is not supported: use `none` or `private_key_jwt`"
    );
}

// The tests of the document parser from before it was shared (fetch/client_metadata.rs),
// unchanged but for the JSON decoding, which stays with the fetch.

#[cfg(feature = "fetch")]
fn supported() -> Scopes {
    Scopes::parse("read write").expect("scopes")
}

#[cfg(feature = "fetch")]
fn document(extra: Value) -> Map<String, Value> {
    let mut document = object(json!({
        "client_id": URL,
        "client_name": "Example",
        "redirect_uris": ["https://client.example/cb"],
    }));
    document.extend(object(extra));
    document
}

/// The document's client, or the reason it is refused.
#[cfg(feature = "fetch")]
fn client_from_document(url: &str, document: &Map<String, Value>, scopes_supported: &Scopes) -> Result<Client, String> {
    let source = Source::MetadataDocument { url: url.to_owned() };
    let metadata = ClientMetadata::parse(document, &source).map_err(|error| error.document_reason())?;
    Ok(metadata.into_document_client(url, scopes_supported))
}

#[cfg(feature = "fetch")]
#[test]
fn a_good_document_becomes_a_public_client() {
    let body = document(serde_json::json!({
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "scope": "read admin",
        "dpop_bound_access_tokens": true,
        "logo_uri": "https://client.example/logo.png",
    }));
    let client = client_from_document(URL, &body, &supported()).expect("a good document");
    assert_eq!(client.client_id.as_str(), URL);
    assert!(client.is_public);
    assert_eq!(client.client_name.as_deref(), Some("Example"));
    assert_eq!(client.redirect_uris, ["https://client.example/cb"]);
    assert_eq!(client.grant_types, [GrantType::AuthorizationCode, GrantType::RefreshToken]);
    // `admin` is not advertised, so the document cannot grant it to itself.
    assert_eq!(client.scopes.to_string(), "read");
    assert!(client.dpop_bound_access_tokens);

    let defaults = client_from_document(URL, &document(serde_json::json!({})), &supported()).expect("good");
    assert_eq!(defaults.grant_types, [GrantType::AuthorizationCode]);
    assert_eq!(defaults.scopes.to_string(), "read write");
    assert!(!defaults.dpop_bound_access_tokens);
}

#[cfg(feature = "fetch")]
#[test]
fn a_document_with_keys_is_a_private_key_jwt_client() {
    use crate::model::client::{ClientKeys, ClientSigningAlgorithm, TokenEndpointAuthMethod};
    let body = document(serde_json::json!({
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks_uri": "https://client.example/jwks.json",
        "token_endpoint_auth_signing_alg": "ES256",
    }));
    let client = client_from_document(URL, &body, &supported()).expect("a good document");
    assert!(!client.is_public);
    assert!(client.secret_hash.is_none());
    assert_eq!(client.token_endpoint_auth_method, TokenEndpointAuthMethod::PrivateKeyJwt);
    assert_eq!(client.jwks_uri.as_deref(), Some("https://client.example/jwks.json"));
    assert_eq!(client.token_endpoint_auth_signing_alg, Some(ClientSigningAlgorithm::ES256));
    assert_eq!(
        Client::private_key_jwt(URL, ClientKeys::JwksUri("https://client.example/jwks.json".into())).jwks_uri,
        client.jwks_uri
    );
}

#[cfg(feature = "fetch")]
#[test]
fn bad_documents_are_refused_with_the_reason() {
    let refused = |extra: Value| client_from_document(URL, &document(extra), &supported()).err();
    let reason = |text: &str| Some(text.to_owned());
    assert_eq!(
        refused(serde_json::json!({"client_id": "https://other.example/m"})),
        reason("the document's `client_id` is not the URL it was fetched from")
    );
    assert_eq!(refused(serde_json::json!({"client_id": null})), reason("the document has no `client_id`"));
    assert_eq!(refused(serde_json::json!({"client_id": 1})), reason("`client_id` must be a string"));
    assert_eq!(
        refused(serde_json::json!({"client_secret_expires_at": 0})),
        reason(
            "the document must not contain `client_secret_expires_at`: a client ID metadata document cannot establish a shared secret"
        )
    );
    assert_eq!(
        refused(serde_json::json!({"token_endpoint_auth_method": "client_secret_jwt"})),
        reason(
            "`token_endpoint_auth_method` `client_secret_jwt` relies on a shared secret, which a client ID metadata document cannot establish"
        )
    );
    assert_eq!(
        refused(serde_json::json!({"token_endpoint_auth_method": "tls_client_auth"})),
        reason("`token_endpoint_auth_method` `tls_client_auth` is not supported: use `none` or `private_key_jwt`")
    );
    assert_eq!(
        refused(serde_json::json!({"token_endpoint_auth_method": "private_key_jwt"})),
        reason("`private_key_jwt` needs the client's public keys: send `jwks` or `jwks_uri`")
    );
    assert_eq!(
        refused(
            serde_json::json!({"jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "d": "secret"}]}})
        ),
        reason("the document's `jwks` contains private key material")
    );
    assert_eq!(refused(serde_json::json!({"jwks": []})), reason("`jwks` must be a JWK Set (RFC 7517 §5)"));
    assert_eq!(
        refused(serde_json::json!({"grant_types": ["client_credentials"]})),
        reason(
            "grant type `client_credentials` is not available to a client ID metadata document client: use authorization_code and refresh_token"
        )
    );
    assert_eq!(refused(serde_json::json!({"grant_types": []})), reason("`grant_types` must not be empty"));
    assert_eq!(
        refused(serde_json::json!({"response_types": ["token"]})),
        reason("response type `token` is not supported: only `code` is")
    );
    assert_eq!(
        refused(serde_json::json!({"application_type": "tv"})),
        reason("`application_type` `tv` is not supported: use web or native")
    );
    assert_eq!(refused(serde_json::json!({"redirect_uris": []})), reason("the document has no `redirect_uris`"));
    assert_eq!(
        refused(serde_json::json!({"redirect_uris": "https://client.example/cb"})),
        reason("`redirect_uris` must be an array of strings")
    );
    assert_eq!(
        refused(serde_json::json!({"redirect_uris": ["javascript:alert(1)"]})),
        reason(
            "a redirect URI must use https, or http on a loopback host; a private-use scheme needs `application_type` `native` (RFC 8252 section 7.1)"
        )
    );
    assert_eq!(refused(serde_json::json!({"scope": "bad\"scope"})).map(|r| r.starts_with("`scope`: ")), Some(true));
    assert_eq!(
        refused(serde_json::json!({"dpop_bound_access_tokens": "yes"})),
        reason("`dpop_bound_access_tokens` must be a boolean")
    );
    assert_eq!(refused(serde_json::json!({"client_name": ["a"]})), reason("`client_name` must be a string"));

    let native = client_from_document(
        URL,
        &document(serde_json::json!({"application_type": "native", "redirect_uris": ["com.example.app:/cb"]})),
        &supported(),
    );
    assert!(native.is_ok(), "{native:?}");
}

//! Reading `application/x-www-form-urlencoded` request bodies strictly: bounded, every parameter
//! at most once (RFC 6749 §3.1, §3.2), valid UTF-8.

use std::borrow::Cow;

use axum::body::Body;
use http::{HeaderMap, StatusCode, header};

use crate::error::{ErrorCode, OAuthError};

/// The largest request body an endpoint reads: a bound on what untrusted input costs.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// The most parameters a form may carry. The repeated-parameter check compares each name with
/// the ones before it; bounding the count keeps that cheap for any body under [`MAX_BODY`].
pub(crate) const MAX_PARAMETERS: usize = 128;

/// The parameters of a form body, in order, empty values dropped. Names and values borrow from the
/// body unless they had to be decoded.
#[derive(Debug, Default)]
pub(crate) struct Form<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Form<'a> {
    /// Parses a form body. Parameters named in `repeatable` may appear more than once (RFC 8707
    /// `resource`); any other repeated parameter is `invalid_request` (RFC 6749 §3.2). RFC 6749
    /// §3.2 also says a parameter sent without a value is treated as omitted.
    pub(crate) fn parse(body: &'a [u8], repeatable: &[&str]) -> Result<Self, OAuthError> {
        Self::parse_inner(body, Some(repeatable))
    }

    /// Parses a form body, keeping repeated parameters for the caller to judge with
    /// [`Form::repeated`]: the authorization endpoint must know the client and its redirect URI
    /// before it can decide how to answer a repeated parameter.
    pub(crate) fn parse_keeping_repeats(body: &'a [u8]) -> Result<Self, OAuthError> {
        Self::parse_inner(body, None)
    }

    /// The `error_description` for the first parameter that appears more than once and is not in
    /// `repeatable`.
    pub(crate) fn repeated(&self, repeatable: &[&str]) -> Option<&'static str> {
        self.pairs.iter().enumerate().find_map(|(i, (name, _))| {
            (!repeatable.contains(&&**name) && self.pairs[..i].iter().any(|(n, _)| n == name))
                .then(|| repeated_description(name))
        })
    }

    /// A form of parameters that came another way: the claims of a request object (RFC 9101
    /// §4). Empty values are dropped, as in a body.
    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> Form<'static> {
        Form {
            pairs: pairs
                .into_iter()
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| (Cow::Owned(name), Cow::Owned(value)))
                .collect(),
        }
    }

    /// Whether a parameter appears more than once.
    pub(crate) fn is_repeated(&self, name: &str) -> bool {
        self.pairs.iter().filter(|(n, _)| n == name).nth(1).is_some()
    }

    /// The number of parameters.
    pub(crate) fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Every parameter, in order. The endpoints ask for parameters by name; this is for the
    /// fuzzing and property-test entry points (`crate::__fuzz`), which compare the whole result.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(name, value)| (&**name, &**value))
    }

    fn parse_inner(body: &'a [u8], repeatable: Option<&[&str]>) -> Result<Self, OAuthError> {
        let mut pairs: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::with_capacity(4);
        for part in body.split(|b| *b == b'&') {
            if part.is_empty() {
                continue;
            }
            let (name, value) = match part.iter().position(|b| *b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &[][..]),
            };
            let name = decode_borrowed(name)?;
            let value = decode_borrowed(value)?;
            if value.is_empty() {
                continue;
            }
            if pairs.len() == MAX_PARAMETERS {
                return Err(OAuthError::invalid_request("too many parameters"));
            }
            if let Some(repeatable) = repeatable
                && pairs.iter().any(|(n, _)| *n == name)
                && !repeatable.contains(&&*name)
            {
                return Err(OAuthError::invalid_request(repeated_description(&name)));
            }
            pairs.push((name, value));
        }
        Ok(Self { pairs })
    }

    /// The value of a single-valued parameter.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| &**v)
    }

    /// Every value of a parameter.
    pub(crate) fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.pairs.iter().filter(move |(n, _)| n == name).map(|(_, v)| &**v)
    }
}

/// The `error_description` of a repeated parameter: its name when it is a protocol parameter
/// attesto knows, a description without it otherwise. Any other name is the caller's own text,
/// and an `error_description` carries none of it (RFC 6749 §5.2 restricts its characters, and
/// text an attacker chose, shown under the server's origin, is a phishing aid).
fn repeated_description(name: &str) -> &'static str {
    macro_rules! described {
        ($($name:literal),* $(,)?) => {
            match name {
                $($name => concat!("parameter `", $name, "` is repeated"),)*
                _ => "a parameter is repeated",
            }
        };
    }
    described!(
        "acr_values",
        "claims",
        "claims_locales",
        "client_id",
        "client_secret",
        "client_assertion",
        "client_assertion_type",
        "code",
        "code_challenge",
        "code_challenge_method",
        "code_verifier",
        "dpop_jkt",
        "grant_type",
        "login_hint",
        "max_age",
        "nonce",
        "prompt",
        "redirect_uri",
        "refresh_token",
        "request",
        "request_uri",
        "resource",
        "response_mode",
        "response_type",
        "scope",
        "state",
        "token",
        "token_type_hint",
        "ui_locales",
    )
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// [`decode`] without a copy when there is nothing to decode (no `+`, no `%`): the same result and
/// the same errors (only invalid UTF-8 is possible then).
fn decode_borrowed(input: &[u8]) -> Result<Cow<'_, str>, OAuthError> {
    if input.iter().any(|b| matches!(b, b'+' | b'%')) {
        return decode(input).map(Cow::Owned);
    }
    std::str::from_utf8(input)
        .map(Cow::Borrowed)
        .map_err(|_| OAuthError::invalid_request("the request body is not valid UTF-8"))
}

/// application/x-www-form-urlencoded decoding (WHATWG URL §5.1): `+` is a space, `%XX` a byte;
/// the result must be UTF-8.
pub(crate) fn decode(input: &[u8]) -> Result<String, OAuthError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let byte = input.get(i + 1).copied().and_then(hex).zip(input.get(i + 2).copied().and_then(hex));
                match byte {
                    Some((hi, lo)) => {
                        out.push(hi << 4 | lo);
                        i += 2;
                    }
                    None => return Err(OAuthError::invalid_request("malformed percent-encoding in the request body")),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| OAuthError::invalid_request("the request body is not valid UTF-8"))
}

/// Checks that the request declares a form body (RFC 6749 §3.2: the token endpoint takes
/// `application/x-www-form-urlencoded`; a `charset` parameter is tolerated).
pub(crate) fn require_form_content_type(headers: &HeaderMap) -> Result<(), OAuthError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim());
    match media_type {
        Some(t) if t.eq_ignore_ascii_case("application/x-www-form-urlencoded") => Ok(()),
        _ => Err(OAuthError::invalid_request("the request body must be application/x-www-form-urlencoded")),
    }
}

/// Reads a body of at most [`MAX_BODY`] bytes; a larger one is 413, and one that missed the
/// router's deadline (`Attesto::router_with_body_deadline`) is 408.
pub(crate) async fn read_body(body: Body) -> Result<bytes::Bytes, OAuthError> {
    read_body_within(body, MAX_BODY).await
}

/// Reads a body of at most `limit` bytes, answering as [`read_body`] does.
pub(crate) async fn read_body_within(body: Body, limit: usize) -> Result<bytes::Bytes, OAuthError> {
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let inner = error.into_inner();
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&*inner);
        while let Some(error) = source {
            if error.is::<http_body_util::LengthLimitError>() {
                return OAuthError::new(ErrorCode::InvalidRequest, "the request body is too large")
                    .with_status(StatusCode::PAYLOAD_TOO_LARGE);
            }
            // RFC 9110 §15.5.9: the server would not wait any longer for the request. The body is
            // left unread, so hyper closes the connection after this answer.
            if error.is::<tower_http::timeout::TimeoutError>() {
                return OAuthError::new(ErrorCode::InvalidRequest, "the request body did not arrive in time")
                    .with_status(StatusCode::REQUEST_TIMEOUT);
            }
            source = error.source();
        }
        OAuthError::invalid_request("the request body could not be read")
    })
}

//! The `htu` of a DPoP proof compared with the request's URL (RFC 9449 §4.3 check 9): both
//! normalised (RFC 3986 §6.2.2 and §6.2.3), without query and fragment.

use url::{Position, Url};

/// `uri` normalised for the `htu` comparison, or `None` if it is not an absolute `http` or
/// `https` URL.
///
/// RFC 9449 §4.3 check 9: compared "ignoring any query and fragment parts", after syntax- and
/// scheme-based normalisation (RFC 3986 §6.2.2, §6.2.3). Parsing with `url` lowercases scheme
/// and host, drops the default port, resolves dot segments and gives an empty path as `/`;
/// [`normalize_percent_encoding`] then evens out percent-encodings in the path. The path itself
/// stays case-sensitive.
pub(crate) fn normalize_htu(uri: &str) -> Option<String> {
    let url = Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    let mut normalized = url[..Position::BeforePath].to_owned();
    normalized.push_str(&normalize_percent_encoding(url.path())?);
    Some(normalized)
}

/// RFC 3986 §6.2.2.1 and §6.2.2.2: percent-encoded unreserved characters are decoded
/// (`%7E` → `~`), the others get upper-case hex digits (`%2f` → `%2F`). `None` for non-ASCII
/// input, which a parsed URL path never is.
fn normalize_percent_encoding(path: &str) -> Option<String> {
    fn hex(digit: u8) -> Option<u8> {
        char::from(digit).to_digit(16).and_then(|value| u8::try_from(value).ok())
    }
    if !path.is_ascii() {
        return None;
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%'
            && let (Some(high), Some(low)) =
                (bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex))
        {
            let decoded = high << 4 | low;
            if decoded.is_ascii_alphanumeric() || matches!(decoded, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(decoded));
            } else {
                out.push('%');
                out.push_str(&format!("{decoded:02X}"));
            }
            i += 3;
        } else {
            out.push(char::from(byte));
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_ignores_query_fragment_case_and_default_port() {
        let target = normalize_htu("https://auth.example.com/oauth/token");
        assert!(target.is_some());
        for same in [
            "https://auth.example.com/oauth/token",
            "https://auth.example.com/oauth/token?x=1",
            "https://auth.example.com/oauth/token#frag",
            "https://auth.example.com/oauth/token?x=1#frag",
            "HTTPS://AUTH.Example.COM/oauth/token",
            "https://auth.example.com:443/oauth/token",
            "https://auth.example.com/oauth/./token",
            "https://auth.example.com/oauth/x/../token",
            "https://auth.example.com/oauth/%74oken",
        ] {
            assert_eq!(normalize_htu(same), target, "{same}");
        }
        for different in [
            "http://auth.example.com/oauth/token",
            "https://auth.example.com:8443/oauth/token",
            "https://auth.example.com/oauth/token/",
            "https://auth.example.com/OAUTH/token",
            "https://other.example.com/oauth/token",
            "https://user@auth.example.com/oauth/token",
            "https://auth.example.com/oauth",
        ] {
            assert_ne!(normalize_htu(different), target, "{different}");
        }
    }

    #[test]
    fn htu_default_port_of_http_and_empty_path() {
        assert_eq!(normalize_htu("http://h:80"), normalize_htu("http://h/"));
        assert_eq!(normalize_htu("http://h:80").as_deref(), Some("http://h/"));
        assert_ne!(normalize_htu("http://h:443/"), normalize_htu("http://h/"));
        assert_eq!(normalize_htu("https://h:443/a?b").as_deref(), Some("https://h/a"));
    }

    #[test]
    fn htu_must_be_an_absolute_http_url() {
        for bad in ["", "/oauth/token", "auth.example.com/oauth/token", "urn:x:y", "ftp://h/token", "file:///token"] {
            assert_eq!(normalize_htu(bad), None, "{bad}");
        }
    }

    #[test]
    fn percent_encodings_are_normalised() {
        assert_eq!(normalize_percent_encoding("/a%2fb").as_deref(), Some("/a%2Fb"));
        assert_eq!(normalize_percent_encoding("/a%2Fb").as_deref(), Some("/a%2Fb"));
        assert_eq!(normalize_percent_encoding("/%7e%41%2D%5f%2e").as_deref(), Some("/~A-_."));
        assert_eq!(normalize_percent_encoding("/%C3%A9").as_deref(), Some("/%C3%A9"));
        assert_eq!(normalize_percent_encoding("/%c3%a9").as_deref(), Some("/%C3%A9"));
        // A `%` without two hex digits is kept as it is.
        assert_eq!(normalize_percent_encoding("/a%zz%4").as_deref(), Some("/a%zz%4"));
        assert_eq!(normalize_percent_encoding("/é"), None);
    }
}

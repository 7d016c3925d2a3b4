//! Loopback hosts: the one place that says what one is, for the two ways attesto meets them.
//!
//! - **A URL attesto parsed** (an issuer, a JWKS or metadata document URL to fetch): its host is
//!   `localhost` or a loopback IP address ([`is_loopback_host`]). Plain `http` is allowed there,
//!   for development.
//! - **A redirect URI, as text** ([`LoopbackRedirect`]): `http://127.0.0.1`, `http://[::1]` or
//!   `http://localhost`, with an optional port, read from the characters themselves. Parsing would
//!   also equate `127.1`, `2130706433`, `[0:…:1]`, dot segments and `\`, which are not the URI the
//!   client registered; and `http://127.0.0.1@evil.example/` or `http://localhost.evil.example/`
//!   must not pass for loopback URIs.

/// Whether a parsed URL's host is a loopback host: `localhost`, or a loopback IP address.
pub(crate) fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The host of a loopback redirect URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoopbackHost {
    /// `127.0.0.1`.
    Ipv4,
    /// `[::1]`.
    Ipv6,
    /// `localhost` (RFC 8252 §8.3: NOT RECOMMENDED, so refused where the port may vary).
    Localhost,
}

impl LoopbackHost {
    const ALL: [Self; 3] = [Self::Ipv4, Self::Ipv6, Self::Localhost];

    /// The host as a redirect URI writes it.
    const fn as_str(self) -> &'static str {
        match self {
            Self::Ipv4 => "127.0.0.1",
            Self::Ipv6 => "[::1]",
            Self::Localhost => "localhost",
        }
    }
}

/// An `http` redirect URI on a loopback host, read from its text (RFC 8252 §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LoopbackRedirect<'a> {
    /// The host, as written.
    pub(crate) host: LoopbackHost,
    /// Everything after the authority: path, query and fragment.
    pub(crate) tail: &'a str,
}

impl<'a> LoopbackRedirect<'a> {
    /// Reads `uri` as `http://` + a loopback host + an optional port (1 to 65535, digits only) +
    /// the rest; `None` when it is not one.
    pub(crate) fn parse(uri: &'a str) -> Option<Self> {
        let rest = uri.strip_prefix("http://")?;
        let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        let host = LoopbackHost::ALL.into_iter().find(|host| authority.starts_with(host.as_str()))?;
        let port_ok = match &authority[host.as_str().len()..] {
            "" => true,
            port => port.strip_prefix(':').is_some_and(|digits| {
                !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && digits.parse::<u16>().is_ok_and(|port| port != 0)
            }),
        };
        port_ok.then_some(Self { host, tail })
    }

    /// The URI with its port taken out, for the one comparison where the port may differ: a
    /// native app's loopback redirect URI (RFC 8252 §7.3, RFC 9700 §4.1.3). Only IP literals (RFC
    /// 8252 §8.3) and no fragment; `None` otherwise.
    pub(crate) fn without_port(&self) -> Option<String> {
        (self.host != LoopbackHost::Localhost && !self.tail.contains('#'))
            .then(|| format!("http://{}{}", self.host.as_str(), self.tail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirect_uris_are_read_from_the_text() {
        for (uri, without_port) in [
            ("http://127.0.0.1/cb", Some("http://127.0.0.1/cb")),
            ("http://127.0.0.1:8080/cb", Some("http://127.0.0.1/cb")),
            ("http://[::1]:1/cb?x=1", Some("http://[::1]/cb?x=1")),
            ("http://[::1]:65535", Some("http://[::1]")),
            ("http://localhost:3000", None),
            ("http://127.0.0.1:8080/cb#frag", None),
        ] {
            let parsed = LoopbackRedirect::parse(uri).unwrap_or_else(|| panic!("{uri} is a loopback URI"));
            assert_eq!(parsed.without_port().as_deref(), without_port, "{uri}");
        }
        for uri in [
            "http://127.0.0.1@evil.example/cb",
            "http://localhost.evil.example/cb",
            "http://127.1/cb",
            "http://2130706433/cb",
            "http://[0:0:0:0:0:0:0:1]/cb",
            "http://127.0.0.1:/cb",
            "http://127.0.0.1:0/cb",
            "http://127.0.0.1:99999/cb",
            "http://127.0.0.1:+80/cb",
            "https://127.0.0.1/cb",
            "HTTP://127.0.0.1/cb",
        ] {
            assert_eq!(LoopbackRedirect::parse(uri), None, "{uri}");
        }
    }

    #[test]
    fn parsed_urls_are_loopback_by_host() {
        for (url, loopback) in [
            ("http://localhost:8080/", true),
            ("http://127.0.0.1/", true),
            ("http://127.1.2.3/", true),
            ("http://[::1]/", true),
            ("https://localhost.example/", false),
            ("https://example.com/", false),
            ("http://10.0.0.1/", false),
        ] {
            assert_eq!(is_loopback_host(&url::Url::parse(url).expect("a URL")), loopback, "{url}");
        }
    }
}

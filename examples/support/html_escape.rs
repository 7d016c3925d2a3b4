//! HTML escaping for the examples' own pages (the login forms of `examples/quickstart.rs` and
//! `examples/mcp_server/login.rs`), which include this file with `#[path]`.
//!
//! attesto escapes its own pages (the consent page) itself; this is the host's copy for the pages
//! the host owns.

/// HTML-escapes text for element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

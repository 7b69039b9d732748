//! The one email-address check of the workspace: what the document's `format: email` means, what
//! the MCP server accepts where an argument names a recipient and compares with its recipient
//! allow-list, and what the sandbox accepts.
//!
//! An address is exactly one plain `local@domain`: a dot-atom local part and a DNS host name
//! (IDNA, compared in ASCII lowercase). Everything a mail server could read as another recipient
//! than the one checked is refused, each with its own [`Flaw`]: lists and display names, quoted
//! local parts and escapes, `%` and `!` routing, source routes (`@a:b@c`), address literals
//! (`x@[127.0.0.1]`), leading, trailing or doubled dots.

use std::fmt;

/// A checked address: the local part in lowercase, the domain in ASCII (IDNA) lowercase, so two
/// spellings of one mailbox compare equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The local part, lowercase.
    pub local: String,
    /// The domain, ASCII (punycode for an internationalised name), lowercase.
    pub domain: String,
}

/// Why a text is not one plain address (its `Display` completes "`\"…\"` …").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// `@relay:user@host`.
    SourceRoute,
    /// `"a b"@host` or a backslash escape.
    QuotedLocalPart,
    /// `user%other@host`, `host!user@relay`.
    Routing,
    /// `user@[127.0.0.1]`.
    AddressLiteral,
    /// A list, a display name, a comment, white space, no `@` or two of them.
    NotOne,
    /// `.a@host`, `a.@host`, `a..b@host`.
    LocalDots,
    /// A character no plain local part holds.
    LocalPart,
    /// `a@host.`, `a@.host`, `a@host..com`.
    DomainDots,
    /// Not a DNS host name with a letter in its last label (`a@b`, `a@-b.com`, `a@1.2.3.4`).
    Domain,
    /// A local part over 64 or an address over 254 characters.
    TooLong,
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SourceRoute => "has a source route",
            Self::QuotedLocalPart => "has a quoted local part",
            Self::Routing => "has %- or !-routing",
            Self::AddressLiteral => "has an address literal",
            Self::NotOne => "is not one plain address",
            Self::LocalDots => "has a dotted local part escape",
            Self::LocalPart => "has a local part that is not plain",
            Self::DomainDots => "is not a plain domain (no leading, trailing or doubled dot)",
            Self::Domain => "is not a plain domain",
            Self::TooLong => "is too long for an address",
        })
    }
}

/// Reads `s` as exactly one plain address.
pub fn parse(s: &str) -> Result<Address, Flaw> {
    if s.chars().any(|c| {
        c.is_whitespace() || c.is_control() || matches!(c, ',' | ';' | '<' | '>' | '(' | ')')
    }) {
        return Err(Flaw::NotOne);
    }
    if s.starts_with('@') || s.contains(':') {
        return Err(Flaw::SourceRoute);
    }
    if s.contains(['"', '\\']) {
        return Err(Flaw::QuotedLocalPart);
    }
    if s.contains(['%', '!']) {
        return Err(Flaw::Routing);
    }
    if s.contains(['[', ']']) {
        return Err(Flaw::AddressLiteral);
    }
    let (local, dom) = match s.split_once('@') {
        Some((l, d)) if !l.is_empty() && !d.contains('@') => (l, d),
        _ => return Err(Flaw::NotOne),
    };
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(Flaw::LocalDots);
    }
    if !local
        .chars()
        .all(|c| c == '.' || c.is_alphanumeric() || "#$&'*+/=?^_`{|}~-".contains(c))
    {
        return Err(Flaw::LocalPart);
    }
    if local.len() > 64 || s.len() > 254 {
        return Err(Flaw::TooLong);
    }
    Ok(Address {
        local: local.to_lowercase(),
        domain: domain(dom)?,
    })
}

/// Whether `s` is exactly one plain address ([`parse`]).
pub fn is_email(s: &str) -> bool {
    parse(s).is_ok()
}

/// A domain as ASCII (IDNA) lowercase; `Err` for anything but a plain DNS host name of at least
/// two labels whose last label holds a letter.
pub fn domain(d: &str) -> Result<String, Flaw> {
    if d.is_empty() || d.starts_with('.') || d.ends_with('.') || d.contains("..") {
        return Err(Flaw::DomainDots);
    }
    let ascii = match url::Host::parse(d) {
        Ok(url::Host::Domain(a)) => a.to_ascii_lowercase(),
        _ => return Err(Flaw::Domain),
    };
    // The URL parser lets through what no DNS name holds (`_`, `*`, a leading hyphen).
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let labels: Vec<&str> = ascii.split('.').collect();
    let plain = ascii.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| label(l))
        && labels
            .last()
            .is_some_and(|tld| tld.bytes().any(|b| b.is_ascii_alphabetic()));
    if plain { Ok(ascii) } else { Err(Flaw::Domain) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flaw(s: &str) -> Flaw {
        match parse(s) {
            Err(f) => f,
            Ok(a) => panic!("{s:?} was taken as {a:?}"),
        }
    }

    #[test]
    fn plain_addresses_pass_normalised() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.org",
            "o'brien@example.ie",
            "x_y-z@a-b.example",
        ] {
            assert!(is_email(ok), "{ok}");
        }
        // Case: both parts compare in lowercase.
        assert_eq!(
            parse("Jane.Doe@Example.COM"),
            Ok(Address {
                local: "jane.doe".into(),
                domain: "example.com".into()
            })
        );
        // IDNA: an internationalised domain and its punycode are one domain.
        assert_eq!(parse("x@Bücher.example"), parse("x@xn--bcher-kva.example"));
        assert_eq!(
            parse("x@bücher.example").map(|a| a.domain),
            Ok("xn--bcher-kva.example".into())
        );
    }

    #[test]
    fn every_escape_is_refused_by_name() {
        for (s, f) in [
            ("a@example.com.", Flaw::DomainDots),
            ("a@.example.com", Flaw::DomainDots),
            ("a@example..com", Flaw::DomainDots),
            ("\"a@example.com\"@evil.example", Flaw::QuotedLocalPart),
            ("\"a,b\"@example.com", Flaw::NotOne),
            ("\"ab\"@example.com", Flaw::QuotedLocalPart),
            ("a\\@evil.example@example.com", Flaw::QuotedLocalPart),
            ("a%evil.example@example.com", Flaw::Routing),
            ("evil.example!a@example.com", Flaw::Routing),
            ("@example.com:a@evil.example", Flaw::SourceRoute),
            ("a@[127.0.0.1]", Flaw::AddressLiteral),
            ("a@x.com, b@y.com", Flaw::NotOne),
            ("a@x.com;b@y.com", Flaw::NotOne),
            ("Jane <jane@example.com>", Flaw::NotOne),
            ("a(comment)@c.com", Flaw::NotOne),
            ("a@c.com\r\nBcc: x@y.com", Flaw::NotOne),
            (" a@example.com", Flaw::NotOne),
            ("a@b@c.com", Flaw::NotOne),
            ("a", Flaw::NotOne),
            ("", Flaw::NotOne),
            ("@b.co", Flaw::SourceRoute),
            ("a@", Flaw::DomainDots),
            (".a@c.com", Flaw::LocalDots),
            ("a.@c.com", Flaw::LocalDots),
            ("a..b@c.com", Flaw::LocalDots),
            ("a\u{200b}b@c.com", Flaw::LocalPart),
            ("a@b", Flaw::Domain),
            ("a@-c.com", Flaw::Domain),
            ("a@c_d.com", Flaw::Domain),
            ("x@127.0.0.1", Flaw::Domain),
            ("x@1.2.3", Flaw::Domain),
        ] {
            assert_eq!(flaw(s), f, "{s:?}");
        }
        assert_eq!(flaw(&format!("{}@b.co", "a".repeat(65))), Flaw::TooLong);
        assert_eq!(
            flaw(&format!("a@{}.com", vec!["b".repeat(60); 5].join("."))),
            Flaw::TooLong
        );
    }
}

//! Refuses hosts TrekMail must not be asked to connect to: private, loopback, link-local,
//! carrier-grade NAT, multicast, reserved and cloud-metadata destinations, however spelled.
//! A syntactic guard: a public name that resolves to a private address passes; only the
//! connecting side (the TrekMail API) can check the address it actually connects to.

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// Why a host is refused, or `None` for a public destination.
pub fn refusal(host: &str) -> Option<String> {
    let h = host.trim().to_ascii_lowercase();
    let h = h
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(&h);
    let h = h.trim_end_matches('.');
    if h.is_empty() {
        return Some("the host is empty".into());
    }
    if !h.is_ascii() {
        return Some("the host is not ASCII (give the punycode form)".into());
    }
    if h.contains(':') {
        // Zone ids (`fe80::1%eth0`) only exist on link-local addresses: refused below either way.
        let addr = h.split('%').next().unwrap_or(h);
        return match addr.parse::<Ipv6Addr>() {
            Ok(ip) => v6_refusal(ip),
            Err(_) => Some("the host is neither a host name nor an IP address (no scheme or port, just the host)".into()),
        };
    }
    // The WHATWG host parser (the `url` crate) reads every IPv4 spelling `inet_aton` accepts
    // (`127.1`, `0x7f000001`, `0177.0.0.1`, `2130706433`) and refuses what is no host at all.
    match url::Host::parse(h) {
        Ok(url::Host::Ipv4(ip)) => v4_refusal(ip),
        Ok(url::Host::Ipv6(ip)) => v6_refusal(ip),
        Ok(url::Host::Domain(d)) => {
            if !d
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
                || d.contains("..")
            {
                Some("the host is not a valid host name".into())
            } else {
                name_refusal(&d)
            }
        }
        Err(_) => Some(
            "the host is neither a host name nor an IP address (no scheme or port, just the host)"
                .into(),
        ),
    }
}

fn name_refusal(h: &str) -> Option<String> {
    let internal_names = [
        "localhost",
        "localhost.localdomain",
        "metadata",
        "instance-data",
        "100-100-100-200.aliyuncs.com",
        "ip6-localhost",
        "ip6-loopback",
    ];
    // `localhost6`, `localhost6.localdomain6`; `kubernetes.default.svc.cluster.local`…
    let internal_prefixes = ["metadata.", "localhost6", "kubernetes.default"];
    let internal_suffixes = [
        ".localhost",
        ".localdomain",
        ".internal",
        ".local",
        ".home.arpa",
        ".localdomain6",
        ".svc",
    ];
    if internal_names.contains(&h)
        || internal_prefixes.iter().any(|p| h.starts_with(p))
        || internal_suffixes.iter().any(|s| h.ends_with(s))
    {
        return Some(format!("{h} is a local or cloud-metadata name"));
    }
    None
}

/// Ranges no outbound connection may reach, with why.
const V4_REFUSED: &[(&str, &str)] = &[
    ("0.0.0.0/8", "in 0.0.0.0/8 (this network)"),
    ("10.0.0.0/8", "private (10.0.0.0/8)"),
    ("127.0.0.0/8", "loopback (127.0.0.0/8)"),
    (
        "169.254.0.0/16",
        "link-local (169.254.0.0/16, cloud metadata)",
    ),
    ("100.64.0.0/10", "carrier-grade NAT (100.64.0.0/10)"),
    ("172.16.0.0/12", "private (172.16.0.0/12)"),
    ("192.168.0.0/16", "private (192.168.0.0/16)"),
    ("192.0.0.0/24", "reserved (192.0.0.0/24)"),
    ("192.0.2.0/24", "reserved for documentation"),
    ("198.51.100.0/24", "reserved for documentation"),
    ("203.0.113.0/24", "reserved for documentation"),
    ("198.18.0.0/15", "reserved for benchmarking (198.18.0.0/15)"),
    ("224.0.0.0/4", "multicast (224.0.0.0/4)"),
    ("240.0.0.0/4", "reserved (240.0.0.0/4)"),
];

const V6_REFUSED: &[(&str, &str)] = &[
    ("::/128", "unspecified (::)"),
    ("::1/128", "loopback (::1)"),
    ("fe80::/10", "link-local (fe80::/10)"),
    ("fec0::/10", "site-local (fec0::/10)"),
    ("fc00::/7", "unique local (fc00::/7)"),
    ("ff00::/8", "multicast (ff00::/8)"),
    (
        "2001:db8::/32",
        "reserved for documentation (2001:db8::/32)",
    ),
    ("fd00:ec2::/32", "cloud metadata (fd00:ec2::/32)"),
    ("64:ff9b:1::/48", "NAT64 local-use (64:ff9b:1::/48)"),
    (
        "2001::/32",
        "Teredo (2001::/32), which tunnels to an embedded IPv4 address",
    ),
    ("100::/64", "discard-only (100::/64)"),
];

fn v4_refusal(ip: Ipv4Addr) -> Option<String> {
    V4_REFUSED
        .iter()
        .find(|(net, _)| net.parse::<Ipv4Net>().is_ok_and(|n| n.contains(&ip)))
        .map(|(_, why)| format!("{ip} is {why}"))
}

fn v6_refusal(ip: Ipv6Addr) -> Option<String> {
    let seg = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_refusal(v4).map(|w| format!("{ip} maps to {w}"));
    }
    // IPv4-compatible (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), NAT64 (64:ff9b::/96)
    // and 6to4 (2002::/16) embed an IPv4 address.
    let compatible = seg[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified();
    let translated = seg[..6] == [0, 0, 0, 0, 0xffff, 0];
    let embedded = if compatible || translated || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        Some(Ipv4Addr::new(
            (seg[6] >> 8) as u8,
            seg[6] as u8,
            (seg[7] >> 8) as u8,
            seg[7] as u8,
        ))
    } else if seg[0] == 0x2002 {
        Some(Ipv4Addr::new(
            (seg[1] >> 8) as u8,
            seg[1] as u8,
            (seg[2] >> 8) as u8,
            seg[2] as u8,
        ))
    } else {
        None
    };
    if let Some(v4) = embedded
        && let Some(w) = v4_refusal(v4)
    {
        return Some(format!("{ip} embeds {w}"));
    }
    V6_REFUSED
        .iter()
        .find(|(net, _)| net.parse::<Ipv6Net>().is_ok_and(|n| n.contains(&ip)))
        .map(|(_, why)| format!("{ip} is {why}"))
}

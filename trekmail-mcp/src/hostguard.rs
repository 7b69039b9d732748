//! Refuses hosts TrekMail must not be asked to connect to: private, loopback, link-local,
//! carrier-grade NAT, multicast, reserved and cloud-metadata destinations, however spelled.

use std::net::{Ipv4Addr, Ipv6Addr};

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
    if let Some(v4) = parse_ipv4_any(h) {
        return match v4 {
            Ok(ip) => v4_refusal(ip),
            Err(()) => Some("the host looks numeric but is not a valid IPv4 address".into()),
        };
    }
    if !h
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        || h.contains("..")
    {
        return Some("the host is not a valid host name".into());
    }
    name_refusal(h)
}

fn name_refusal(h: &str) -> Option<String> {
    let internal_names = [
        "localhost",
        "localhost.localdomain",
        "metadata",
        "instance-data",
        "100-100-100-200.aliyuncs.com",
    ];
    let internal_suffixes = [
        ".localhost",
        ".localdomain",
        ".internal",
        ".local",
        ".home.arpa",
    ];
    if internal_names.contains(&h)
        || h.starts_with("metadata.")
        || internal_suffixes.iter().any(|s| h.ends_with(s))
    {
        return Some(format!("{h} is a local or cloud-metadata name"));
    }
    None
}

/// IPv4 in every spelling `inet_aton` accepts: `a.b.c.d`, `a.b.c`, `a.b`, `a`, each part decimal,
/// octal (`0` prefix) or hex (`0x` prefix). `None`: not numeric at all; `Some(Err)`: numeric but invalid.
fn parse_ipv4_any(h: &str) -> Option<Result<Ipv4Addr, ()>> {
    let parts: Vec<&str> = h.split('.').collect();
    let looks_numeric = parts
        .iter()
        .all(|p| !p.is_empty() && (p.chars().all(|c| c.is_ascii_digit()) || p.starts_with("0x")));
    if !looks_numeric {
        // A name whose last label is numeric is no DNS name: an address, or nothing.
        return parts
            .last()
            .is_some_and(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_digit()))
            .then_some(Err(()));
    }
    if parts.len() > 4 {
        return Some(Err(()));
    }
    let nums: Result<Vec<u64>, ()> = parts.iter().map(|p| parse_part(p)).collect();
    let Ok(nums) = nums else { return Some(Err(())) };
    let (last, head) = nums.split_last()?;
    let last_bits = 8 * (5 - nums.len()) as u32; // 32, 24, 16 or 8 bits for the last part
    if head.iter().any(|&n| n > 255) || *last >= (1u64 << last_bits) {
        return Some(Err(()));
    }
    let mut value: u64 = 0;
    for (i, n) in head.iter().enumerate() {
        value |= n << (24 - 8 * i);
    }
    value |= last;
    Some(u32::try_from(value).map(Ipv4Addr::from).map_err(|_| ()))
}

fn parse_part(p: &str) -> Result<u64, ()> {
    if let Some(hex) = p.strip_prefix("0x") {
        if hex.is_empty() {
            return Ok(0);
        }
        return u64::from_str_radix(hex, 16).map_err(|_| ());
    }
    if p.len() > 1 && p.starts_with('0') {
        return u64::from_str_radix(&p[1..], 8).map_err(|_| ());
    }
    p.parse().map_err(|_| ())
}

fn v4_refusal(ip: Ipv4Addr) -> Option<String> {
    let [a, b, c, _] = ip.octets();
    let why = match (a, b, c) {
        (0, _, _) => "in 0.0.0.0/8 (this network)",
        (10, _, _) => "private (10.0.0.0/8)",
        (127, _, _) => "loopback (127.0.0.0/8)",
        (169, 254, _) => "link-local (169.254.0.0/16, cloud metadata)",
        (100, 64..=127, _) => "carrier-grade NAT (100.64.0.0/10)",
        (172, 16..=31, _) => "private (172.16.0.0/12)",
        (192, 168, _) => "private (192.168.0.0/16)",
        (192, 0, 0) => "reserved (192.0.0.0/24)",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "reserved for documentation",
        (198, 18..=19, _) => "reserved for benchmarking (198.18.0.0/15)",
        (224..=239, _, _) => "multicast (224.0.0.0/4)",
        (240..=255, _, _) => "reserved (240.0.0.0/4)",
        _ => return None,
    };
    Some(format!("{ip} is {why}"))
}

fn v6_refusal(ip: Ipv6Addr) -> Option<String> {
    let seg = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_refusal(v4).map(|w| format!("{ip} maps to {w}"));
    }
    // IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed an IPv4 address.
    let compatible = seg[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified();
    let embedded = if compatible || seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
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
    let why = if ip.is_unspecified() {
        "unspecified (::)"
    } else if ip.is_loopback() {
        "loopback (::1)"
    } else if seg[0] & 0xffc0 == 0xfe80 {
        "link-local (fe80::/10)"
    } else if seg[0] & 0xffc0 == 0xfec0 {
        "site-local (fec0::/10)"
    } else if seg[0] & 0xfe00 == 0xfc00 {
        "unique local (fc00::/7)"
    } else if seg[0] & 0xff00 == 0xff00 {
        "multicast (ff00::/8)"
    } else if seg[0] == 0x2001 && seg[1] == 0x0db8 {
        "reserved for documentation (2001:db8::/32)"
    } else if seg[0] == 0xfd00 && seg[1] == 0x0ec2 {
        "cloud metadata (fd00:ec2::/32)"
    } else {
        return None;
    };
    Some(format!("{ip} is {why}"))
}

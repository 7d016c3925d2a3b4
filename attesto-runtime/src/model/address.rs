//! Which IP addresses are public: the one classification behind the fetcher's SSRF policy
//! (`fetch/mod.rs`, which judges every address a name resolves to) and the registration checks of
//! URLs attesto will fetch or post to (an address written in a `backchannel_logout_uri`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is a public unicast address: not loopback, private, link-local, unique-local,
/// shared (RFC 6598), benchmarking, documentation, multicast, broadcast, unspecified or reserved.
/// IPv4-mapped and IPv4-compatible IPv6 addresses are judged as the IPv4 address they carry.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(ip),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0 // "this network", RFC 791
        || (a == 100 && (64..128).contains(&b)) // shared address space, RFC 6598
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments, RFC 6890
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, RFC 2544
        || a >= 240) // reserved, RFC 1112
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local, RFC 4193
        || (first & 0xffc0) == 0xfe80 // link-local, RFC 4291
        || (first & 0xffc0) == 0xfec0 // site-local (deprecated), RFC 3879
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation, RFC 3849
        || first == 0x0064 && ip.segments()[1] == 0xff9b // NAT64, RFC 6052: the IPv4 it embeds
        || first == 0 // IPv4-compatible and other reserved ::/16 addresses
        || first == 0x2002) // 6to4, RFC 3056: may embed a private IPv4 address
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_unicast_addresses_are_public() {
        let public = ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"];
        let private = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "2001:db8::1",
            "ff02::1",
        ];
        for ip in public {
            assert!(is_public(ip.parse().expect("IP")), "{ip} is public");
        }
        for ip in private {
            assert!(!is_public(ip.parse().expect("IP")), "{ip} is not public");
        }
    }
}

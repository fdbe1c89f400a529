//! The address classifier: which hosts motiond may call back (contract §8.5).
//!
//! Pure rules shared by the submission check of `replyUrl` (contract §5.1, row 11: literal
//! addresses and `localhost` only, names are not resolved) and the delivery-time SSRF guard,
//! which classifies every resolved address of a name and every literal before connecting.
//!
//! IPv4-mapped (`::ffff:0:0/96`) and NAT64 (`64:ff9b::/96`) addresses are judged by the IPv4
//! address they carry, so `[::ffff:127.0.0.1]` is loopback.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of address an IP is, as far as outbound calls are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// A globally routable address: always allowed.
    Public,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918 (`10/8`, `172.16/12`, `192.168/16`) and ULA (`fc00::/7`).
    Private,
    /// Carrier-grade NAT, `100.64.0.0/10`.
    SharedCgnat,
    /// `169.254.0.0/16` (includes the cloud metadata address) and `fe80::/10`.
    LinkLocal,
    /// `0.0.0.0/8`, `::`.
    Unspecified,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`.
    Documentation,
    /// Other special-purpose ranges: `192.0.0/24`, `198.18/15` (benchmarking), `240/4`
    /// (reserved), `100::/64` (discard).
    Reserved,
}

impl AddressClass {
    /// May an outbound call go to an address of this class?
    ///
    /// `allow_private` (the operator's `webhooks.allow_private_targets`) opens loopback,
    /// private, CGNAT and link-local; everything else that is not public stays refused.
    pub fn is_allowed(self, allow_private: bool) -> bool {
        match self {
            Self::Public => true,
            Self::Loopback | Self::Private | Self::SharedCgnat | Self::LinkLocal => allow_private,
            Self::Unspecified
            | Self::Multicast
            | Self::Broadcast
            | Self::Documentation
            | Self::Reserved => false,
        }
    }
}

/// Classifies an address; mapped and NAT64 IPv6 addresses by their embedded IPv4 address.
pub fn classify_ip(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

/// Shorthand for `classify_ip(ip).is_allowed(allow_private)`.
pub fn ip_allowed(ip: IpAddr, allow_private: bool) -> bool {
    classify_ip(ip).is_allowed(allow_private)
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        (0, _, _) => AddressClass::Unspecified,
        (10, _, _) => AddressClass::Private,
        (100, 64..=127, _) => AddressClass::SharedCgnat,
        (127, _, _) => AddressClass::Loopback,
        (169, 254, _) => AddressClass::LinkLocal,
        (172, 16..=31, _) => AddressClass::Private,
        (192, 0, 0) => AddressClass::Reserved,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => AddressClass::Documentation,
        (192, 168, _) => AddressClass::Private,
        (198, 18..=19, _) => AddressClass::Reserved,
        (224..=239, _, _) => AddressClass::Multicast,
        _ if ip.is_broadcast() => AddressClass::Broadcast,
        (240..=255, _, _) => AddressClass::Reserved,
        _ => AddressClass::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let seg = ip.segments();
    if ip.is_unspecified() {
        AddressClass::Unspecified
    } else if ip.is_loopback() {
        AddressClass::Loopback
    } else if seg[0] == 0x0100 && seg[1] == 0 && seg[2] == 0 && seg[3] == 0 {
        AddressClass::Reserved // 100::/64, discard-only
    } else if seg[0] == 0x2001 && seg[1] == 0x0db8 {
        AddressClass::Documentation
    } else if seg[0] & 0xfe00 == 0xfc00 {
        AddressClass::Private // fc00::/7, unique local
    } else if seg[0] & 0xffc0 == 0xfe80 {
        AddressClass::LinkLocal
    } else if seg[0] & 0xff00 == 0xff00 {
        AddressClass::Multicast
    } else {
        AddressClass::Public
    }
}

/// The IPv4 address inside `::ffff:a.b.c.d` (mapped) or `64:ff9b::a.b.c.d` (NAT64).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let seg = ip.segments();
    let tail = Ipv4Addr::new(
        (seg[6] >> 8) as u8,
        seg[6] as u8,
        (seg[7] >> 8) as u8,
        seg[7] as u8,
    );
    let mapped = seg[..5] == [0, 0, 0, 0, 0] && seg[5] == 0xffff;
    let nat64 = seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    // Deprecated IPv4-compatible `::a.b.c.d` (RFC 4291 §2.5.5.1): the attack suite found
    // `[::127.0.0.1]` classified Public and accepted as a replyUrl. Judge it by its IPv4
    // address too; `::` and `::1` keep their own IPv6 classes.
    let compat = seg[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_unspecified() && !ip.is_loopback();
    (mapped || nat64 || compat).then_some(tail)
}

/// `localhost` and `*.localhost`, in any letter case, with or without a final dot.
pub fn is_localhost_name(host: &str) -> bool {
    let h = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    h == "localhost" || h.ends_with(".localhost")
}

/// What a URL's host is, before any DNS lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostCheck {
    /// A literal address that may be called.
    AllowedIp(IpAddr),
    /// A name: it must be resolved, and every resolved address checked (the SSRF guard).
    Name(String),
    /// Refused without a lookup: a refused literal address or a `localhost` name.
    Refused(RefusedHost),
}

/// Why a host was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefusedHost {
    Address(IpAddr, AddressClass),
    LocalhostName,
    /// The host text is empty or not a host at all.
    Malformed,
}

/// Parses a host as a URL parser hands it over (WHATWG-normalised: `127.1` is already
/// `127.0.0.1`; IPv6 in brackets) and checks it without resolving names.
pub fn check_host(host: &str, allow_private: bool) -> HostCheck {
    if host.is_empty() {
        return HostCheck::Refused(RefusedHost::Malformed);
    }
    let literal = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(inner) => match inner.parse::<Ipv6Addr>() {
            Ok(v6) => Some(IpAddr::V6(v6)),
            Err(_) => return HostCheck::Refused(RefusedHost::Malformed),
        },
        None => host.parse::<IpAddr>().ok(),
    };
    if let Some(ip) = literal {
        let class = classify_ip(ip);
        return if class.is_allowed(allow_private) {
            HostCheck::AllowedIp(ip)
        } else {
            HostCheck::Refused(RefusedHost::Address(ip, class))
        };
    }
    // `localhost` names are refused even with allow_private: their resolution is outside
    // our control (they need not map to loopback) and the contract refuses them outright,
    // unless the operator opened private targets, where loopback is allowed anyway.
    if is_localhost_name(host) && !allow_private {
        return HostCheck::Refused(RefusedHost::LocalhostName);
    }
    HostCheck::Name(host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> AddressClass {
        classify_ip(s.parse().unwrap())
    }

    #[test]
    fn ipv4_ranges_of_the_contract() {
        use AddressClass::*;
        let cases = [
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("10.0.0.1", Private),
            ("100.64.0.1", SharedCgnat),
            ("100.127.255.255", SharedCgnat),
            ("100.128.0.1", Public),
            ("100.63.255.255", Public),
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("169.254.169.254", LinkLocal),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("172.32.0.1", Public),
            ("172.15.0.1", Public),
            ("192.0.0.8", Reserved),
            ("192.0.2.1", Documentation),
            ("192.168.1.1", Private),
            ("198.18.0.1", Reserved),
            ("198.19.255.255", Reserved),
            ("198.20.0.1", Public),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("224.0.0.1", Multicast),
            ("239.255.255.255", Multicast),
            ("240.0.0.1", Reserved),
            ("255.255.255.255", Broadcast),
            ("8.8.8.8", Public),
            ("1.1.1.1", Public),
            ("93.184.216.34", Public),
        ];
        for (ip, want) in cases {
            assert_eq!(class(ip), want, "{ip}");
        }
    }

    #[test]
    fn ipv6_ranges_of_the_contract() {
        use AddressClass::*;
        let cases = [
            ("::", Unspecified),
            ("::1", Loopback),
            ("100::1", Reserved),
            ("100:0:0:1::1", Public),
            ("2001:db8::1", Documentation),
            ("fc00::1", Private),
            ("fd12:3456::1", Private),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fec0::1", Public),
            ("ff02::1", Multicast),
            ("2606:4700:4700::1111", Public),
        ];
        for (ip, want) in cases {
            assert_eq!(class(ip), want, "{ip}");
        }
    }

    #[test]
    fn embedded_ipv4_is_judged_as_ipv4() {
        use AddressClass::*;
        assert_eq!(class("::ffff:127.0.0.1"), Loopback);
        assert_eq!(class("::ffff:7f00:1"), Loopback);
        assert_eq!(class("::ffff:169.254.169.254"), LinkLocal);
        assert_eq!(class("::ffff:10.1.2.3"), Private);
        assert_eq!(class("::ffff:8.8.8.8"), Public);
        assert_eq!(class("::127.0.0.1"), Loopback);
        assert_eq!(class("::169.254.169.254"), LinkLocal);
        assert_eq!(class("::10.1.2.3"), Private);
        assert_eq!(class("64:ff9b::127.0.0.1"), Loopback);
        assert_eq!(class("64:ff9b::a9fe:a9fe"), LinkLocal);
        assert_eq!(class("64:ff9b::8.8.8.8"), Public);
        assert_eq!(class("::ffff:0.0.0.0"), Unspecified);
        assert_eq!(class("::127.0.0.1"), Loopback, "IPv4-compatible");
        assert_eq!(class("::7f00:1"), Loopback);
        assert_eq!(class("::a9fe:a9fe"), LinkLocal);
        assert_eq!(class("::8.8.8.8"), Public);
        assert_eq!(class("::1"), Loopback, "not an embedded 0.0.0.1");
        assert_eq!(class("::"), Unspecified);
    }

    #[test]
    fn allow_private_opens_only_the_private_classes() {
        for ip in [
            "127.0.0.1",
            "::1",
            "10.0.0.1",
            "fd00::1",
            "100.64.0.1",
            "169.254.169.254",
            "fe80::1",
        ] {
            let c = class(ip);
            assert!(!c.is_allowed(false), "{ip} refused by default");
            assert!(c.is_allowed(true), "{ip} allowed with the flag");
        }
        for ip in [
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "ff02::1",
            "255.255.255.255",
            "192.0.2.1",
            "2001:db8::1",
            "240.0.0.1",
        ] {
            let c = class(ip);
            assert!(
                !c.is_allowed(false) && !c.is_allowed(true),
                "{ip} always refused"
            );
        }
        assert!(AddressClass::Public.is_allowed(false));
    }

    #[test]
    fn host_check_literals_names_and_localhost() {
        assert_eq!(
            check_host("8.8.8.8", false),
            HostCheck::AllowedIp("8.8.8.8".parse().unwrap())
        );
        assert!(matches!(
            check_host("127.0.0.1", false),
            HostCheck::Refused(RefusedHost::Address(_, AddressClass::Loopback))
        ));
        assert!(matches!(
            check_host("[::1]", false),
            HostCheck::Refused(RefusedHost::Address(..))
        ));
        assert!(matches!(
            check_host("[::ffff:127.0.0.1]", false),
            HostCheck::Refused(RefusedHost::Address(..))
        ));
        assert!(matches!(
            check_host("[::ffff:7f00:1]", false),
            HostCheck::Refused(RefusedHost::Address(..))
        ));
        assert_eq!(
            check_host("[::1]", true),
            HostCheck::AllowedIp("::1".parse().unwrap())
        );
        assert_eq!(
            check_host("localhost", false),
            HostCheck::Refused(RefusedHost::LocalhostName)
        );
        assert_eq!(
            check_host("LocalHost.", false),
            HostCheck::Refused(RefusedHost::LocalhostName)
        );
        assert_eq!(
            check_host("api.localhost", false),
            HostCheck::Refused(RefusedHost::LocalhostName)
        );
        assert_eq!(
            check_host("localhost.example.com", false),
            HostCheck::Name("localhost.example.com".into())
        );
        assert_eq!(
            check_host("hooks.example.com", false),
            HostCheck::Name("hooks.example.com".into())
        );
        assert_eq!(
            check_host("", false),
            HostCheck::Refused(RefusedHost::Malformed)
        );
        assert_eq!(
            check_host("[nonsense]", false),
            HostCheck::Refused(RefusedHost::Malformed)
        );
        assert!(matches!(check_host("0.0.0.0", true), HostCheck::Refused(_)));
    }
}

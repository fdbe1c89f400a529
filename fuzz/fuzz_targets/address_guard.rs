//! The address classifier (`motion_core::address`, contract §8.5) and the resolver-level
//! guard (`GuardedResolver`), differentially against `std::net`'s own range predicates and
//! against each other:
//! - an IPv4 address and its IPv4-mapped and NAT64 IPv6 forms are classified alike;
//! - every address `std` calls loopback, private, link-local, unspecified, multicast,
//!   broadcast or documentation is refused by default;
//! - `check_host` on the textual form of an address agrees with `classify_ip`;
//! - the guard refuses a name if any of its (scripted) DNS answers is refused, and otherwise
//!   hands back exactly those answers.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use motion_core::address::{HostCheck, check_host, classify_ip, ip_allowed};
use motion_worker::webhook::guard::{GuardedResolver, Lookup, ResolveFailure};

struct Scripted(Vec<IpAddr>);

#[async_trait::async_trait]
impl Lookup for Scripted {
    async fn lookup(&self, _host: &str) -> std::io::Result<Vec<IpAddr>> {
        Ok(self.0.clone())
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

fn std_says_refused(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80 // link-local
                || v6.to_ipv4_mapped().is_some_and(|v4| std_says_refused(IpAddr::V4(v4)))
        }
    }
}

fn check_one(ip: IpAddr) {
    let class = classify_ip(ip);
    if std_says_refused(ip) {
        assert!(
            !ip_allowed(ip, false),
            "{ip} ({class:?}) allowed by default"
        );
    }
    // Text round trip through check_host, as a URL parser hands hosts over.
    let text = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    for allow in [false, true] {
        match check_host(&text, allow) {
            HostCheck::AllowedIp(got) => {
                assert_eq!(got, ip);
                assert!(class.is_allowed(allow));
            }
            HostCheck::Refused(_) => assert!(!class.is_allowed(allow)),
            HostCheck::Name(n) => panic!("literal {text} treated as a name {n}"),
        }
    }
    if let IpAddr::V4(v4) = ip {
        let mapped = IpAddr::V6(v4.to_ipv6_mapped());
        assert_eq!(classify_ip(mapped), class, "{mapped} vs {v4}");
        let o = v4.octets();
        let nat64 = IpAddr::V6(Ipv6Addr::new(
            0x64,
            0xff9b,
            0,
            0,
            0,
            0,
            u16::from_be_bytes([o[0], o[1]]),
            u16::from_be_bytes([o[2], o[3]]),
        ));
        assert_eq!(classify_ip(nat64), class, "{nat64} vs {v4}");
    }
}

fuzz_target!(|data: &[u8]| {
    // Addresses: 4-byte and 16-byte windows of the input.
    let mut answers = Vec::new();
    for chunk in data.chunks(16) {
        if chunk.len() >= 4 {
            let v4 = IpAddr::V4(Ipv4Addr::new(chunk[0], chunk[1], chunk[2], chunk[3]));
            check_one(v4);
            answers.push(v4);
        }
        if let Ok(b) = <[u8; 16]>::try_from(chunk) {
            let v6 = IpAddr::V6(Ipv6Addr::from(b));
            check_one(v6);
            answers.push(v6);
        }
    }
    // Arbitrary host text: never panics, and a literal it accepts is really allowed.
    if let Ok(host) = std::str::from_utf8(data) {
        for allow in [false, true] {
            if let HostCheck::AllowedIp(ip) = check_host(host, allow) {
                assert!(ip_allowed(ip, allow));
            }
        }
    }
    // The guard over scripted DNS answers for an ordinary name.
    answers.truncate(8);
    for allow in [false, true] {
        let guard = GuardedResolver::new(allow, Arc::new(Scripted(answers.clone())));
        let got = runtime().block_on(guard.resolve_checked("callback.example"));
        let all_ok = answers.iter().all(|ip| ip_allowed(*ip, allow));
        match got {
            Ok(ips) => {
                assert!(all_ok && !answers.is_empty());
                assert_eq!(ips, answers);
            }
            Err(ResolveFailure::Blocked(_)) => assert!(!all_ok),
            Err(ResolveFailure::Lookup(_)) => assert!(answers.is_empty()),
        }
    }
});

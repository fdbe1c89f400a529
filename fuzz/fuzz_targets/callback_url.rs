//! Callback URL validation, both places: the submission rule of `replyUrl`
//! (`motion_api::validate::reply_url`, contract §5.1 rows 9-11) and the delivery-time check
//! of the SSRF-guarded client (`SafeClient::check_url`, §8.5). For any string:
//! - neither panics;
//! - what submission accepts by default has an http(s) scheme, a host, no user info, and a
//!   host that is not a refused literal or a localhost name, judged on the WHATWG-parsed URL
//!   (so `0x7f.1`, `2130706433` or `[::ffff:127.0.0.1]` cannot pass as names);
//! - delivery never accepts a URL that submission refuses as private (the two agree).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use motion_core::address::{HostCheck, check_host, classify_ip, is_localhost_name};
use motion_core::error::ErrorCode;
use motion_core::params::Params;
use motion_worker::webhook::SafeClient;

fn clients() -> &'static [SafeClient; 2] {
    static C: std::sync::OnceLock<[SafeClient; 2]> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        let mk = |allow| SafeClient::new(allow, Duration::from_secs(1), "fuzz").unwrap();
        [mk(false), mk(true)]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let params = Params::from_text_pairs([("replyUrl", raw)]);
    for (i, allow) in [false, true].into_iter().enumerate() {
        let submitted = motion_api::validate::reply_url(&params, allow);
        let delivered = clients()[i].check_url(raw);
        if let Ok(Some(_)) = &submitted {
            let url = url::Url::parse(raw).expect("accepted URL parses");
            assert!(matches!(url.scheme(), "http" | "https"));
            assert!(url.username().is_empty() && url.password().is_none());
            let host = url.host_str().expect("accepted URL has a host");
            match url.host() {
                Some(url::Host::Ipv4(v4)) => {
                    assert!(classify_ip(v4.into()).is_allowed(allow), "{raw}")
                }
                Some(url::Host::Ipv6(v6)) => {
                    assert!(classify_ip(v6.into()).is_allowed(allow), "{raw}")
                }
                _ => assert!(allow || !is_localhost_name(host), "{raw}"),
            }
        }
        if matches!(submitted, Err(ErrorCode::ReplyUrlPrivate)) {
            assert!(
                delivered.is_err(),
                "delivery accepts {raw} that submission refuses"
            );
        }
        if let Ok(url) = &delivered {
            let host = url.host_str().unwrap_or_default();
            assert!(
                !matches!(check_host(host, allow), HostCheck::Refused(_)),
                "{raw}"
            );
        }
    }
});

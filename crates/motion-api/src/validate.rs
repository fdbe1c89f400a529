//! Field rules of the parameter tables (§3.2, §5.1) that the services expect
//! already applied. Each returns the row of its parameter.

use motion_core::address::{HostCheck, check_host};
use motion_core::error::ErrorCode;
use motion_core::params::{Params, in_range};

/// §3.2 row 1: length ≤ 254 and, lowercased,
/// `^[a-z0-9._+-]{1,64}@[a-z0-9-]+(\.[a-z0-9-]+)*$`.
pub fn email_syntax(email: &str) -> Result<(), ErrorCode> {
    let lower = email.to_ascii_lowercase();
    let ok = lower.len() <= 254
        && lower.split_once('@').is_some_and(|(local, domain)| {
            (1..=64).contains(&local.len())
                && local
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._+-".contains(&b))
                && domain.split('.').all(|label| {
                    !label.is_empty()
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                })
        });
    if ok {
        Ok(())
    } else {
        Err(ErrorCode::EmailInvalid)
    }
}

/// `maxJobs`: an integer 1..50 (absent allowed; the caller decides if required).
pub fn max_jobs(p: &Params) -> Result<Option<u32>, ErrorCode> {
    let e = ErrorCode::MaxJobsInvalid;
    match p.integer("maxJobs", e.clone())? {
        None => Ok(None),
        Some(v) => Ok(Some(in_range(v, 1, 50, e)? as u32)),
    }
}

/// §5.1 `replyUrl` rules, in row order: string, ≤ 1024 characters, absolute http(s)
/// URL with a host and no user info, not a refused literal address or `localhost`.
pub fn reply_url(p: &Params, allow_private: bool) -> Result<Option<String>, ErrorCode> {
    let Some(raw) = p.string("replyUrl")? else {
        return Ok(None);
    };
    if raw.chars().count() > 1024 {
        return Err(ErrorCode::ReplyUrlTooLong);
    }
    let url = url::Url::parse(&raw).map_err(|_| ErrorCode::ReplyUrlInvalid)?;
    let host = url.host_str().unwrap_or("");
    if !matches!(url.scheme(), "http" | "https")
        || host.is_empty()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(ErrorCode::ReplyUrlInvalid);
    }
    match check_host(host, allow_private) {
        HostCheck::Refused(_) => Err(ErrorCode::ReplyUrlPrivate),
        HostCheck::AllowedIp(_) | HostCheck::Name(_) => Ok(Some(raw)),
    }
}

/// A string of at most `max` characters, else `too_long`.
pub fn bounded_string(
    p: &Params,
    name: &str,
    max: usize,
    too_long: ErrorCode,
) -> Result<Option<String>, ErrorCode> {
    match p.string(name)? {
        Some(s) if s.chars().count() > max => Err(too_long),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["a@b", "User.Name+tag@Example.COM", "a-b_c@x-y.z", "1@2.3"] {
            assert_eq!(email_syntax(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "a",
            "@b",
            "a@",
            "a@b..c",
            "a@.b",
            "a b@c",
            "a@b_c",
            &format!("{}@b", "a".repeat(65)),
            "a@b@c",
        ] {
            assert_eq!(email_syntax(bad), Err(ErrorCode::EmailInvalid), "{bad}");
        }
    }

    fn reply(v: &str, allow: bool) -> Result<Option<String>, ErrorCode> {
        reply_url(&Params::from_text_pairs([("replyUrl", v)]), allow)
    }

    #[test]
    fn reply_urls() {
        assert_eq!(
            reply("https://hooks.example.com/x", false),
            Ok(Some("https://hooks.example.com/x".into()))
        );
        assert_eq!(reply("", false), Ok(None));
        assert_eq!(
            reply(&format!("https://e.com/{}", "a".repeat(1024)), false),
            Err(ErrorCode::ReplyUrlTooLong)
        );
        for bad in [
            "ftp://e.com",
            "e.com/x",
            "https://u:p@e.com/",
            "https://u@e.com/",
            "http://",
            "mailto:a@b",
        ] {
            assert_eq!(reply(bad, false), Err(ErrorCode::ReplyUrlInvalid), "{bad}");
        }
        for private in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://127.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost:8080/",
            "http://a.localhost/",
            "http://10.1.2.3/",
            "http://169.254.169.254/",
        ] {
            assert_eq!(
                reply(private, false),
                Err(ErrorCode::ReplyUrlPrivate),
                "{private}"
            );
        }
        assert_eq!(
            reply("http://127.0.0.1:9/", true),
            Ok(Some("http://127.0.0.1:9/".into()))
        );
        let p = Params::from_json(br#"{"replyUrl":5}"#).unwrap();
        assert_eq!(
            reply_url(&p, false),
            Err(ErrorCode::ParamNotString {
                name: "replyUrl".into()
            })
        );
    }
}

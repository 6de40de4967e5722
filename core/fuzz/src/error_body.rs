//! `HttpResponse::fields` / `oauth_fields` / `retry_after` / `header` on arbitrary
//! headers and bodies (`@now: ms` is the clock).

use crate::{RawResponse, T0, assert_no_token_in_error};
use termauth_core::ErrorKind;

/// The target.
pub fn run(data: &[u8]) {
    let raw = RawResponse::parse(&String::from_utf8_lossy(data));
    let resp = raw.response(7);
    let fields = resp.fields();
    let oauth = resp.oauth_fields();
    match (&fields, &oauth) {
        (Ok(f), Ok(o)) => {
            assert_eq!(f, o, "oauth_fields returns the fields");
            assert!(resp.is_success(), "oauth_fields accepted HTTP {}", resp.status);
            assert!(!f.get("error").is_some_and(|e| e.is_string()), "an `error` member was accepted");
        }
        (Ok(f), Err(e)) => {
            assert!(matches!(e.kind, ErrorKind::OAuth | ErrorKind::Protocol), "{e:?}");
            if e.kind == ErrorKind::OAuth {
                assert!(f.get("error").is_some_and(|v| v.is_string()), "OAuth error without an `error` member");
            } else {
                assert_eq!(e.code, "unexpected_status");
                assert!(!resp.is_success());
            }
            assert_eq!(e.status, Some(resp.status));
            assert!(e.message.chars().all(|c| !c.is_control()), "control characters in the message");
            assert_no_token_in_error(&resp, f, |r| r.oauth_fields().map(|_| ()));
        }
        (Err(fe), Err(oe)) => {
            // The same error, with the server's Retry-After said on a 429 or 503.
            let told = matches!(resp.status, 429 | 503) && resp.header("retry-after").is_some_and(|v| !v.trim().is_empty());
            if told {
                assert!(oe.message.starts_with(fe.message.trim_end_matches('.')), "{oe:?}");
                assert!(oe.retry_after.as_ref().is_some_and(|v| v.chars().count() <= 65 && !v.chars().any(char::is_control)));
                assert_eq!((&fe.code, fe.kind, fe.hint, fe.status), (&oe.code, oe.kind, oe.hint, oe.status));
            } else {
                assert_eq!(fe, oe, "oauth_fields fails as fields does");
            }
            assert_eq!(fe.kind, ErrorKind::Protocol);
            if let Some(x) = &fe.excerpt {
                assert!(x.chars().count() <= 121 && x.chars().all(|c| !c.is_control()), "excerpt {x:?}");
            }
        }
        (Err(_), Ok(_)) => panic!("oauth_fields succeeded where fields failed"),
    }
    let now = raw.pseudo_u64("now").unwrap_or(T0);
    for t in [0, now, T0, u64::MAX - 1, u64::MAX] {
        if let Some(at) = resp.retry_after(t) {
            assert!(at >= t, "Retry-After {at} before now {t}");
        }
    }
    for (name, value) in &resp.headers {
        let found = resp.header(&name.to_ascii_uppercase()).expect("header lookup is case-insensitive");
        let first = resp.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        assert_eq!(Some(found), first);
        let _ = value;
    }
}

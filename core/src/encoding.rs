//! Small encoders shared by every flow: base64 and base64url (RFC 4648),
//! `application/x-www-form-urlencoded`, and HTTP Basic client authentication.
//!
//! base64 is written out here rather than taken from a crate: it is twenty lines, and the
//! general-purpose crate's engine (with its panicking UTF-8 check) was 10 KB of the
//! WebAssembly module. The tests check it against the `base64` crate.

/// RFC 4648 §4, the base64 alphabet (HTTP Basic).
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// RFC 4648 §5, the URL- and filename-safe alphabet (PKCE, `state`, JWT parts).
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes `bytes` in 6-bit groups, most significant first (RFC 4648 §4), padding the
/// last group with `=` when `pad` is set.
fn base64_with(alphabet: &[u8; 64], bytes: &[u8], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let group = chunk.iter().enumerate().fold(0u32, |g, (i, &b)| g | u32::from(b) << (16 - 8 * i));
        // A chunk of n octets gives n + 1 characters (RFC 4648 §4, cases 1–3).
        for i in 0..=chunk.len() {
            out.push(char::from(alphabet[(group >> (18 - 6 * i) & 0x3f) as usize]));
        }
        if pad {
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

/// base64url without padding (RFC 4648 §5), the encoding of PKCE values and JWT parts.
pub fn base64url(bytes: &[u8]) -> String {
    base64_with(BASE64URL, bytes, false)
}

/// Decodes base64url with or without padding. `None` for a character outside the
/// alphabet, an impossible length, or non-zero bits after the last octet (a
/// non-canonical encoding, RFC 4648 §3.5).
pub(crate) fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=').as_bytes();
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        let mut group = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            let sextet = BASE64URL.iter().position(|a| a == c)? as u32;
            group |= sextet << (18 - 6 * i);
        }
        // n characters carry n - 1 whole octets; the bits left over must be zero.
        let octets = chunk.len() - 1;
        if group & (0x00ff_ffff >> (8 * octets)) != 0 {
            return None;
        }
        for i in 0..octets {
            out.push((group >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

/// Encodes name/value pairs as an `application/x-www-form-urlencoded` body.
pub fn form_encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// The `Authorization` header value for `client_secret_basic`.
///
/// RFC 6749 §2.3.1: the client identifier and secret are each encoded with the
/// `application/x-www-form-urlencoded` algorithm *before* being joined with `:` and
/// base64-encoded. Many libraries skip this step, which breaks secrets containing
/// `:`, `+`, `/` or `%`.
pub fn basic_authorization(client_id: &str, client_secret: &str) -> String {
    let id: String = form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    let secret: String = form_urlencoded::byte_serialize(client_secret.as_bytes()).collect();
    format!("Basic {}", base64_with(BASE64, format!("{id}:{secret}").as_bytes(), true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};

    #[test]
    fn base64_matches_rfc4648_vectors() {
        // RFC 4648 §10.
        let vectors = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")];
        for (plain, encoded) in vectors {
            assert_eq!(base64_with(BASE64, plain.as_bytes(), true), encoded);
            assert_eq!(base64url(plain.as_bytes()), encoded.trim_end_matches('='));
            assert_eq!(base64url_decode(encoded).as_deref(), Some(plain.as_bytes()));
            assert_eq!(base64url_decode(encoded.trim_end_matches('=')).as_deref(), Some(plain.as_bytes()));
        }
    }

    #[test]
    fn base64_agrees_with_the_base64_crate() {
        // Every length up to 64 and every byte value, against an independent implementation.
        let mut rng = crate::Rng::from_seed([7; 32]);
        for len in 0..=64 {
            let mut bytes = vec![0; len];
            rng.fill(&mut bytes);
            assert_eq!(base64_with(BASE64, &bytes, true), STANDARD.encode(&bytes));
            let url = base64url(&bytes);
            assert_eq!(url, URL_SAFE_NO_PAD.encode(&bytes));
            assert_eq!(base64url_decode(&url), Some(bytes.clone()));
            assert_eq!(base64url_decode(&URL_SAFE.encode(&bytes)), Some(bytes));
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64url(&all), URL_SAFE_NO_PAD.encode(&all));
    }

    #[test]
    fn base64url_decode_agrees_with_the_base64_crate_on_random_text() {
        // Short strings over the alphabet plus the characters that must be refused: both
        // decoders accept the same strings and give the same octets.
        let chars = b"AQgw_-Zz09=+/ .";
        let mut rng = crate::Rng::from_seed([9; 32]);
        let mut accepted = 0;
        for _ in 0..20_000 {
            let mut pick = [0u8; 9];
            rng.fill(&mut pick);
            let len = usize::from(pick[0] % 9);
            let text: String = pick[1..=len].iter().map(|b| char::from(chars[usize::from(*b) % chars.len()])).collect();
            let theirs = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok();
            assert_eq!(base64url_decode(&text), theirs, "{text:?}");
            accepted += usize::from(theirs.is_some());
        }
        assert!(accepted > 1_000, "the sample must exercise valid input too ({accepted})");
    }

    #[test]
    fn base64url_decode_refuses_what_the_base64_crate_refuses() {
        for bad in ["A", "AAAAA", "Zh", "Zm9=v", "Zm+v", "Zm/v", "Zm9v\n", "Zm 9v", "Zm9vYr"] {
            assert_eq!(base64url_decode(bad), None, "{bad}");
            assert!(URL_SAFE_NO_PAD.decode(bad.trim_end_matches('=')).is_err(), "{bad}");
        }
    }

    #[test]
    fn basic_auth_form_encodes_before_base64() {
        // id "my client", secret "s3cr3t:with/special+chars"
        // form-encoded: "my+client" and "s3cr3t%3Awith%2Fspecial%2Bchars"
        let h = basic_authorization("my client", "s3cr3t:with/special+chars");
        let decoded = STANDARD.decode(h.strip_prefix("Basic ").unwrap()).unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "my+client:s3cr3t%3Awith%2Fspecial%2Bchars"
        );
    }

    #[test]
    fn form() {
        assert_eq!(form_encode([("a", "b c"), ("d", "é&")]), "a=b+c&d=%C3%A9%26");
    }
}

//! Small encoders shared by every flow: base64 and base64url (RFC 4648, by the `base64`
//! crate), `application/x-www-form-urlencoded` (by `form_urlencoded`, from the url
//! project), and HTTP Basic client authentication.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// base64url without padding (RFC 4648 §5), the encoding of PKCE values and JWT parts.
pub fn base64url(bytes: &[u8]) -> String {
    encode(&URL_SAFE_NO_PAD, bytes)
}

/// `engine.encode(bytes)`, without its `expect` on the UTF-8 check (the output is ASCII):
/// the panic would link the `Debug` formatting of the error and of byte vectors (about 1 KB
/// of the WebAssembly module).
fn encode(engine: &impl Engine, bytes: &[u8]) -> String {
    let mut out = vec![0; bytes.len().div_ceil(3) * 4];
    let len = engine.encode_slice(bytes, &mut out).unwrap_or(0);
    out.truncate(len);
    String::from_utf8(out).unwrap_or_default()
}

/// Decodes base64url with or without padding. `None` for a character outside the
/// alphabet, an impossible length, or non-zero bits after the last octet (a
/// non-canonical encoding, RFC 4648 §3.5).
pub(crate) fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
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
    format!("Basic {}", encode(&STANDARD, format!("{id}:{secret}").as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        // RFC 4648 §10.
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(STANDARD.encode(plain), encoded);
            assert_eq!(base64url(plain.as_bytes()), encoded.trim_end_matches('='));
            assert_eq!(base64url_decode(encoded).as_deref(), Some(plain.as_bytes()));
            assert_eq!(base64url_decode(encoded.trim_end_matches('=')).as_deref(), Some(plain.as_bytes()));
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64url_decode(&base64url(&all)), Some(all));
    }

    #[test]
    fn base64url_decode_refuses_what_is_not_canonical_base64url() {
        for bad in ["A", "AAAAA", "Zh", "Zm9=v", "Zm+v", "Zm/v", "Zm9v\n", "Zm 9v", "Zm9vYr"] {
            assert_eq!(base64url_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn basic_auth_form_encodes_before_base64() {
        // id "my client", secret "s3cr3t:with/special+chars"
        // form-encoded: "my+client" and "s3cr3t%3Awith%2Fspecial%2Bchars"
        let h = basic_authorization("my client", "s3cr3t:with/special+chars");
        let decoded = STANDARD.decode(h.strip_prefix("Basic ").unwrap()).unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "my+client:s3cr3t%3Awith%2Fspecial%2Bchars");
    }

    #[test]
    fn form() {
        assert_eq!(form_encode([("a", "b c"), ("d", "é&")]), "a=b+c&d=%C3%A9%26");
    }
}

//! Small encoders shared by every flow: base64url, `application/x-www-form-urlencoded`,
//! and HTTP Basic client authentication.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// base64url without padding (RFC 4648 §5), the encoding of PKCE values and JWT parts.
pub fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url with or without padding.
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
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

#[cfg(test)]
mod tests {
    use super::*;

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

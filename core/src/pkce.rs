//! Proof Key for Code Exchange (RFC 7636), `S256` only.
//!
//! The `plain` method is refused everywhere: it protects nothing against an attacker who
//! can read the authorization request (RFC 7636 §4.2, and OAuth 2.0 Security BCP
//! RFC 9700 §2.1.1).

use crate::encoding::base64url;
use crate::rng::Rng;
use sha2::{Digest, Sha256};

/// `BASE64URL(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2).
///
/// ```
/// // RFC 7636 Appendix B
/// assert_eq!(
///     termauth_core::pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
///     "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
/// );
/// ```
pub fn s256_challenge(code_verifier: &str) -> String {
    base64url(&Sha256::digest(code_verifier.as_bytes()))
}

/// A fresh `code_verifier`: 32 random octets, base64url-encoded to 43 characters, the
/// construction RFC 7636 §4.1 recommends.
pub fn new_verifier(rng: &mut Rng) -> String {
    rng.token(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        // The octets of Appendix B's verifier, then its encodings.
        let octets: [u8; 32] = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191, 240, 91,
            88, 5, 88, 83, 132, 141, 121,
        ];
        let verifier = base64url(&octets);
        assert_eq!(verifier, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(s256_challenge(&verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn verifier_shape() {
        let v = new_verifier(&mut Rng::from_seed([1; 32]));
        assert_eq!(v.len(), 43);
        assert!(v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
}

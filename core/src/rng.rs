//! The flow-owned random number generator.
//!
//! Every random value a flow needs (`state`, the PKCE `code_verifier`, the OIDC `nonce`)
//! comes from an [`Rng`] that the flow owns. Drivers seed it from the operating system
//! ([`Rng::from_os`], feature `os-rng`, or 32 bytes from `crypto.getRandomValues` in
//! JavaScript); tests and conversation vectors seed it with fixed bytes so that every
//! request is byte-exact.
//!
//! The generator is SHA-256 in counter mode over a 256-bit seed: block *i* is
//! `SHA-256(seed ‖ i as u64 little-endian)`. With a secret, uniformly random seed its
//! output is indistinguishable from random (SHA-256 as a PRF), which is all that `state`,
//! `nonce` and the verifier need, and it costs no dependency beyond `sha2`, which PKCE
//! already needs.

use sha2::{Digest, Sha256};

/// A deterministic, seedable random generator (see the module docs).
#[derive(Clone)]
pub struct Rng {
    seed: [u8; 32],
    counter: u64,
}

impl std::fmt::Debug for Rng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rng(***)")
    }
}

impl Rng {
    /// A generator from a 32-byte seed. The same seed always gives the same bytes.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Rng { seed, counter: 0 }
    }

    /// A generator seeded from the operating system's random source.
    ///
    /// # Errors
    /// When the operating system has no random source available.
    #[cfg(feature = "os-rng")]
    pub fn from_os() -> Result<Self, crate::Error> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| {
            crate::Error::usage(
                "os_random_unavailable",
                format!(
                    "The operating system's random source failed ({e}); termauth cannot create secure login state without it."
                ),
            )
        })?;
        Ok(Rng::from_seed(seed))
    }

    /// Fills `out` with random bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(32) {
            let mut hasher = Sha256::new();
            hasher.update(self.seed);
            hasher.update(self.counter.to_le_bytes());
            self.counter = self.counter.wrapping_add(1);
            let block = hasher.finalize();
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }

    /// `n` random bytes, base64url-encoded without padding: the shape of `state`, `nonce`
    /// and the PKCE verifier.
    pub fn token(&mut self, n: usize) -> String {
        let mut bytes = vec![0u8; n];
        self.fill(&mut bytes);
        crate::encoding::base64url(&bytes)
    }
}

/// Parses a 64-hex-digit seed, as written in conversation vectors and binding APIs.
///
/// # Errors
/// A usage error when the text is not exactly 64 hexadecimal digits.
pub fn parse_seed_hex(hex: &str) -> Result<[u8; 32], crate::Error> {
    let bad = || crate::Error::usage("invalid_seed", "An RNG seed must be exactly 64 hexadecimal digits (32 bytes).");
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_and_blocks_differ() {
        let mut a = Rng::from_seed([7; 32]);
        let mut b = Rng::from_seed([7; 32]);
        let (mut x, mut y) = ([0u8; 80], [0u8; 80]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        assert_ne!(x[..32], x[32..64]);
        let mut c = Rng::from_seed([8; 32]);
        let mut z = [0u8; 80];
        c.fill(&mut z);
        assert_ne!(x, z);
    }

    #[test]
    fn seed_hex() {
        let s = parse_seed_hex(&"0f".repeat(32)).unwrap();
        assert_eq!(s, [15u8; 32]);
        assert!(parse_seed_hex("00").is_err());
        assert!(parse_seed_hex(&"zz".repeat(32)).is_err());
        assert!(parse_seed_hex(&"é".repeat(32)).is_err());
    }
}

//! Opaque bearer secrets: 256 random bits behind a prefix that says what they are.
//! Only their SHA-256 is stored.

use sha2::{Digest, Sha256};

pub const SESSION_PREFIX: &str = "mgs_";
pub const API_KEY_PREFIX: &str = "mgk_";

/// A fresh secret with `prefix`, e.g. `mgs_` + 43 base64url characters.
pub fn generate(prefix: &str) -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_unique_and_long() {
        let a = generate(SESSION_PREFIX);
        let b = generate(SESSION_PREFIX);
        assert!(a.starts_with("mgs_"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 43);
        assert_eq!(digest(&a).len(), 32);
    }
}

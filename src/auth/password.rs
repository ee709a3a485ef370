//! Password hashing with Argon2id and the minimum strength rule.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 128;

/// Hashes `password` with Argon2id (the crate's default parameters) and a random salt, in PHC
/// string form.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// [`hash`] on a blocking thread, so the slow hashing never holds up an actix worker.
pub async fn hash_off_thread(secret: String) -> Result<String, crate::error::ApiError> {
    use crate::error::ApiError;
    actix_web::web::block(move || hash(&secret))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("hashing failed: {e}")))?
        .map_err(ApiError::Internal)
}

/// Whether `password` matches the PHC string `stored`; a malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random password: verifying against it costs what a real check costs, so an
/// unknown username takes as long to refuse as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash(&uuid::Uuid::new_v4().to_string()).unwrap_or_default())
}

/// Why `password` is too weak, or `None`: 10 to 128 characters, with at least one letter and
/// one digit, and not containing the username.
pub fn weakness(password: &str, username: &str) -> Option<String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Some(format!("must be at least {MIN_LENGTH} characters"));
    }
    if length > MAX_LENGTH {
        return Some(format!("must be at most {MAX_LENGTH} characters"));
    }
    if !password.chars().any(char::is_alphabetic) || !password.chars().any(|c| c.is_ascii_digit()) {
        return Some("must contain at least one letter and one digit".into());
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Some("must not contain the username".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let stored = hash("Đồng-Tháp-2025").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("Đồng-Tháp-2025", &stored));
        assert!(!verify("Dong-Thap-2025", &stored));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn strength_rule() {
        assert!(weakness("short1", "u").is_some());
        assert!(weakness("onlyletterslong", "u").is_some());
        assert!(weakness("1234567890", "u").is_some());
        assert!(weakness("officer-dkkd-2025", "officer-dkkd").is_some());
        assert!(weakness("Plan-tracker-2025", "officer").is_none());
    }
}

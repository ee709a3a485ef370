//! The service's own access tokens: HS256 JWTs with a pinned algorithm.

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::role::Role;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// The user id, or `client:<id>` for an API client.
    pub sub: String,
    /// The caller's unit code; absent for an admin without a unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub roles: Vec<Role>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: i64,
}

impl TokenKeys {
    pub fn new(secret: &[u8], issuer: &str, audience: &str, ttl_secs: i64) -> anyhow::Result<Self> {
        // Only HS256 is accepted: a token naming `none`, RS256 or anything else fails
        // validation, which rules out algorithm confusion.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)
                .map_err(|e| anyhow::anyhow!("JWT signing key: {e}"))?,
            decoding: DecodingKey::from_secret(secret)
                .map_err(|e| anyhow::anyhow!("JWT verification key: {e}"))?,
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl_secs,
        })
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// Signs a token for `subject`: a user id, or `client:<id>` for an API client.
    pub fn issue(
        &self,
        subject: String,
        unit: Option<String>,
        roles: Vec<Role>,
    ) -> anyhow::Result<String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: subject,
            unit,
            roles,
            iat: now,
            exp: now + self.ttl_secs,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| anyhow::anyhow!("signing a token: {e}"))
    }

    /// Verifies signature, algorithm, issuer, audience and lifetime; the error says which
    /// check failed, in words safe to show the caller.
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| "malformed token")?;
        if header.kid.is_some() {
            return Err("unknown signing key (kid)".into());
        }
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| rejection(&e).to_owned())
    }
}

/// Why a token failed verification, in words safe to show the caller.
pub fn rejection(error: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::ExpiredSignature => "token expired",
        ErrorKind::ImmatureSignature => "token not yet valid",
        ErrorKind::InvalidIssuer => "wrong token issuer",
        ErrorKind::InvalidAudience => "wrong token audience",
        ErrorKind::InvalidAlgorithm => "token algorithm not accepted",
        ErrorKind::InvalidSignature => "invalid token signature",
        ErrorKind::MissingRequiredClaim(_) => "token lacks a required claim",
        _ => "malformed token",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn keys() -> TokenKeys {
        TokenKeys::new(SECRET, "plan-tracker", "plan-tracker", 3600).unwrap()
    }

    #[test]
    fn issued_token_verifies() {
        let token = keys()
            .issue("7".into(), Some("SKHDT-DKKD".into()), vec![Role::Officer])
            .unwrap();
        let claims = keys().verify(&token).unwrap();
        assert_eq!(claims.sub, "7");
        assert_eq!(claims.unit.as_deref(), Some("SKHDT-DKKD"));
        assert_eq!(claims.roles, vec![Role::Officer]);
    }

    #[test]
    fn rejects_other_key_issuer_audience() {
        let token = keys().issue("1".into(), None, vec![Role::Admin]).unwrap();
        let other_key = TokenKeys::new(
            b"another-secret-another-secret-xx",
            "plan-tracker",
            "plan-tracker",
            60,
        )
        .unwrap();
        assert!(other_key.verify(&token).is_err());
        let other_issuer = TokenKeys::new(SECRET, "someone-else", "plan-tracker", 60).unwrap();
        assert_eq!(
            other_issuer.verify(&token).unwrap_err(),
            "wrong token issuer"
        );
        let other_audience = TokenKeys::new(SECRET, "plan-tracker", "portal", 60).unwrap();
        assert_eq!(
            other_audience.verify(&token).unwrap_err(),
            "wrong token audience"
        );
    }

    #[test]
    fn rejects_alg_none() {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let now = Utc::now().timestamp();
        let header = engine.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = engine.encode(
            serde_json::json!({"sub":"1","roles":["admin"],"iat":now,"exp":now+60,
                "iss":"plan-tracker","aud":"plan-tracker"})
            .to_string(),
        );
        assert!(keys().verify(&format!("{header}.{payload}.")).is_err());
    }
}

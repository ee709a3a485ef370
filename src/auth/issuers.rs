//! Trusted external token issuers (`TRUSTED_ISSUERS`): their configuration, checked at start,
//! and the mapping of a verified token's claims to a caller of this service.
//!
//! The setting holds a JSON array, or the path of a file holding one: a value starting with
//! `[` is JSON, anything else a path. See the README for every field.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde_json::Value;

use crate::domain::role::Role;
use crate::error::ApiError;

/// Seconds between two fetches of an issuer's JWKS when a token names an unknown `kid`.
pub const DEFAULT_MIN_REFRESH_SECS: u64 = 60;

/// One trusted issuer, as configured.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The exact `iss` of its tokens.
    pub issuer: String,
    /// The `aud` its tokens must carry for this service.
    pub audience: String,
    /// `RS256`, `ES256` and/or `EdDSA`; shared-secret algorithms (HS*) are refused.
    pub algorithms: Vec<String>,
    /// Public keys as PEM files.
    #[serde(default)]
    pub keys: Vec<PemKey>,
    /// A JWKS document on disk, read at start.
    pub jwks_file: Option<String>,
    /// A JWKS URL: https, or http to a loopback host only. Fetched on first use and again
    /// when a token names an unknown `kid`, at most once per `min_refresh_secs`.
    pub jwks_url: Option<String>,
    #[serde(default = "default_min_refresh")]
    pub min_refresh_secs: u64,
    /// Which claims carry what.
    #[serde(default)]
    pub claims: ClaimNames,
    /// External role name → role of this service; roles not listed are ignored.
    pub role_map: BTreeMap<String, Role>,
}

fn default_min_refresh() -> u64 {
    DEFAULT_MIN_REFRESH_SECS
}

/// A PEM public key file, with the `kid` tokens name it by (a key without one verifies tokens
/// without a `kid`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PemKey {
    pub pem_file: String,
    pub kid: Option<String>,
}

/// Where a claim is found; a dotted name walks into objects (`realm_access.roles`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimNames {
    pub subject: String,
    pub name: String,
    /// The claim naming the caller's unit; without it callers have no unit.
    pub unit: Option<String>,
    /// Whether the unit claim holds this service's unit `code` or the unit's electronic agency
    /// code (`gov_code`, Decision 20/2020/QĐ-TTg, e.g. `000.00.00.H20`).
    pub unit_is: UnitKey,
    /// An array of role names, or one string of space-separated names.
    pub roles: String,
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames {
            subject: "sub".into(),
            name: "name".into(),
            unit: None,
            unit_is: UnitKey::Code,
            roles: "roles".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKey {
    Code,
    GovCode,
}

/// The unit a token names, by the key the issuer uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRef {
    pub key: UnitKey,
    pub value: String,
}

/// What a verified token says about its bearer, in this service's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalUser {
    pub subject: String,
    pub name: Option<String>,
    pub unit: Option<UnitRef>,
    pub roles: Vec<Role>,
}

/// Reads `TRUSTED_ISSUERS`: JSON when it starts with `[`, else the path of a JSON file.
pub fn parse_setting(value: &str) -> anyhow::Result<Vec<IssuerConfig>> {
    let value = value.trim();
    let (json, source) = if value.starts_with('[') {
        (value.to_owned(), "the TRUSTED_ISSUERS value".to_owned())
    } else {
        let json = std::fs::read_to_string(value)
            .with_context(|| format!("TRUSTED_ISSUERS: reading the file {value:?}"))?;
        (json, format!("the TRUSTED_ISSUERS file {value:?}"))
    };
    let configs: Vec<IssuerConfig> =
        serde_json::from_str(&json).with_context(|| format!("{source} is not valid"))?;
    let mut seen = std::collections::HashSet::new();
    for config in &configs {
        config
            .check()
            .with_context(|| format!("TRUSTED_ISSUERS: issuer {:?}", config.issuer))?;
        if !seen.insert(config.issuer.as_str()) {
            bail!("TRUSTED_ISSUERS names the issuer {:?} twice", config.issuer);
        }
    }
    Ok(configs)
}

/// The asymmetric algorithm an issuer may use, by its JOSE name.
pub fn parse_algorithm(name: &str) -> anyhow::Result<Algorithm> {
    match name {
        "RS256" => Ok(Algorithm::RS256),
        "ES256" => Ok(Algorithm::ES256),
        "EdDSA" => Ok(Algorithm::EdDSA),
        other if other.starts_with("HS") => bail!(
            "algorithm {other} is refused: a shared-secret algorithm would let anyone holding \
             the issuer's key mint tokens, and mixes up with public keys; use RS256, ES256 or \
             EdDSA"
        ),
        other => bail!("algorithm {other:?} is not supported; use RS256, ES256 or EdDSA"),
    }
}

impl IssuerConfig {
    fn check(&self) -> anyhow::Result<()> {
        if self.issuer.trim().is_empty() || self.audience.trim().is_empty() {
            bail!("issuer and audience must not be empty");
        }
        if self.algorithms.is_empty() {
            bail!("algorithms must name at least one of RS256, ES256, EdDSA");
        }
        for name in &self.algorithms {
            parse_algorithm(name)?;
        }
        if self.jwks_file.is_some() && self.jwks_url.is_some() {
            bail!("give jwks_file or jwks_url, not both");
        }
        if self.keys.is_empty() && self.jwks_file.is_none() && self.jwks_url.is_none() {
            bail!("no keys: give keys (PEM files), jwks_file or jwks_url");
        }
        if let Some(url) = &self.jwks_url {
            check_jwks_url(url)?;
        }
        if self.role_map.is_empty() {
            bail!("role_map must map at least one external role to a role of this service");
        }
        Ok(())
    }

    pub fn algorithms(&self) -> Vec<Algorithm> {
        self.algorithms
            .iter()
            .filter_map(|name| parse_algorithm(name).ok())
            .collect()
    }

    /// Reads the caller from a verified token's claims: 401 without a subject, 403 when no
    /// role maps or no unit is named where one is needed.
    pub fn map_claims(&self, claims: &Value) -> Result<ExternalUser, ApiError> {
        let names = &self.claims;
        let subject = claim_text(claims, &names.subject).ok_or_else(|| {
            ApiError::Unauthorized(format!(
                "the token lacks its subject claim `{}`",
                names.subject
            ))
        })?;
        let external_roles: Vec<String> = match claim(claims, &names.roles) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(text)) => text.split_whitespace().map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        let mut roles: Vec<Role> = external_roles
            .iter()
            .filter_map(|r| self.role_map.get(r).copied())
            .collect();
        roles.sort();
        roles.dedup();
        if roles.is_empty() {
            return Err(ApiError::Forbidden(if external_roles.is_empty() {
                format!(
                    "the token of issuer {} carries no roles (claim `{}`), so it grants no role \
                     in this service",
                    self.issuer, names.roles
                )
            } else {
                format!(
                    "none of the token's roles ({}) maps to a role of this service; issuer {} \
                     maps only {}",
                    external_roles.join(", "),
                    self.issuer,
                    self.role_map.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            }));
        }
        let unit = names
            .unit
            .as_deref()
            .and_then(|name| claim_text(claims, name))
            .map(|value| UnitRef {
                key: names.unit_is,
                value,
            });
        if unit.is_none() && crate::domain::role::unit_required(&roles) {
            return Err(ApiError::Forbidden(format!(
                "the token names no unit{}; every caller but an admin belongs to one unit",
                names
                    .unit
                    .as_deref()
                    .map(|n| format!(" (claim `{n}`)"))
                    .unwrap_or_default()
            )));
        }
        Ok(ExternalUser {
            subject,
            name: claim_text(claims, &names.name),
            unit,
            roles,
        })
    }
}

fn check_jwks_url(url: &str) -> anyhow::Result<()> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("jwks_url {url:?}"))?;
    let host = parsed.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => bail!("jwks_url must be https (plain http only to a loopback host), got {url:?}"),
    }
}

/// The claim at a dotted `path`.
fn claim<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(claims, |value, name| value.get(name))
}

/// A claim as non-empty text (a number counts, as some issuers send numeric subjects).
fn claim_text(claims: &Value, path: &str) -> Option<String> {
    match claim(claims, path)? {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(extra: Value) -> anyhow::Result<Vec<IssuerConfig>> {
        let mut issuer = json!({
            "issuer": "https://sso.dongthap.gov.vn", "audience": "plan-tracker",
            "algorithms": ["RS256"], "jwks_url": "https://sso.dongthap.gov.vn/jwks",
            "claims": {"unit": "org.code", "unit_is": "gov_code", "roles": "groups"},
            "role_map": {"CanBo": "officer", "LanhDao": "leader", "QuanTri": "admin"}
        });
        for (k, v) in extra.as_object().unwrap() {
            issuer[k] = v.clone();
        }
        parse_setting(&json!([issuer]).to_string())
    }

    fn forbidden(result: Result<ExternalUser, ApiError>) -> String {
        match result {
            Err(ApiError::Forbidden(detail)) => detail,
            other => panic!("expected 403, got {other:?}"),
        }
    }

    #[test]
    fn refuses_bad_configurations_with_a_reason() {
        let cases = [
            (json!({"algorithms": ["HS256"]}), "HS256 is refused"),
            (json!({"algorithms": ["PS512"]}), "not supported"),
            (json!({"algorithms": []}), "at least one"),
            (json!({"jwks_url": "http://sso.example/jwks"}), "https"),
            (json!({"jwks_file": "x.json"}), "not both"),
            (json!({"role_map": {}}), "role_map"),
            (json!({"role_map": {"CanBo": "superuser"}}), "not valid"),
            (json!({"surprise": 1}), "not valid"),
        ];
        for (extra, expected) in cases {
            let error = format!("{:#}", config(extra.clone()).unwrap_err());
            assert!(error.contains(expected), "{extra}: {error}");
        }
        assert!(config(json!({"jwks_url": "http://127.0.0.1:9/jwks"})).is_ok());
        let twice = json!([
            {"issuer": "a", "audience": "b", "algorithms": ["ES256"], "jwks_url": "https://a/j", "role_map": {"x": "viewer"}},
            {"issuer": "a", "audience": "b", "algorithms": ["ES256"], "jwks_url": "https://a/j", "role_map": {"x": "viewer"}}
        ]);
        assert!(parse_setting(&twice.to_string()).is_err());
        assert!(parse_setting("/no/such/file.json").is_err());
    }

    #[test]
    fn maps_roles_from_an_array_or_a_string_and_the_unit_by_gov_code() {
        let issuer = &config(json!({})).unwrap()[0];
        let from_array = issuer
            .map_claims(&json!({"sub": "u-1", "name": "Trần Thị B",
                "groups": ["CanBo", "Other", "LanhDao"], "org": {"code": "000.00.00.H20"}}))
            .unwrap();
        assert_eq!(from_array.subject, "u-1");
        assert_eq!(from_array.name.as_deref(), Some("Trần Thị B"));
        assert_eq!(from_array.roles, vec![Role::Leader, Role::Officer]);
        assert_eq!(
            from_array.unit,
            Some(UnitRef {
                key: UnitKey::GovCode,
                value: "000.00.00.H20".into()
            })
        );
        let from_string = issuer
            .map_claims(
                &json!({"sub": 42, "groups": "QuanTri CanBo QuanTri", "org": {"code": "X"}}),
            )
            .unwrap();
        assert_eq!(from_string.subject, "42");
        assert_eq!(from_string.roles, vec![Role::Admin, Role::Officer]);
    }

    #[test]
    fn never_grants_a_silent_role_or_unit() {
        let issuer = &config(json!({})).unwrap()[0];
        let unmapped = forbidden(issuer.map_claims(&json!({"sub": "u", "groups": ["Guest"]})));
        assert!(
            unmapped.contains("Guest") && unmapped.contains("CanBo"),
            "{unmapped}"
        );
        let none = forbidden(issuer.map_claims(&json!({"sub": "u", "org": {"code": "X"}})));
        assert!(none.contains("no roles"), "{none}");
        let no_unit = forbidden(issuer.map_claims(&json!({"sub": "u", "groups": ["CanBo"]})));
        assert!(no_unit.contains("org.code"), "{no_unit}");
        // An admin needs no unit, as for local accounts.
        assert!(issuer
            .map_claims(&json!({"sub": "u", "groups": ["QuanTri"]}))
            .is_ok());
        assert!(matches!(
            issuer.map_claims(&json!({"groups": ["QuanTri"]})),
            Err(ApiError::Unauthorized(_))
        ));
    }
}

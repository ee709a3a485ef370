//! Verifying tokens of trusted external issuers: each issuer's public keys (PEM files, a JWKS
//! file, or a JWKS URL fetched and cached) and the algorithms it is pinned to.
//!
//! A key is used only for the one algorithm its type allows (RSA → RS256, P-256 → ES256,
//! Ed25519 → EdDSA), and only if the issuer's configuration lists that algorithm; shared-secret
//! keys are never loaded. So a token cannot be verified with a key of another kind, such as an
//! HS256 token "signed" with an issuer's public key.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use super::issuers::{parse_algorithm, IssuerConfig};
use crate::error::ApiError;

/// How long a JWKS fetch may take before it counts as failed.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest JWKS document read.
const MAX_JWKS_BYTES: usize = 256 * 1024;

#[derive(Clone)]
struct VerifyKey {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

/// A JWKS URL with its cached keys.
struct RemoteKeys {
    url: String,
    min_refresh: Duration,
    client: reqwest::Client,
    keys: RwLock<Arc<Vec<VerifyKey>>>,
    /// Bumped by every successful fetch, so a request that waited for another's fetch uses it.
    generation: AtomicU64,
    /// When the last fetch started; held across the fetch so only one runs at a time.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

/// One trusted issuer, ready to verify its tokens.
pub struct TrustedIssuer {
    pub config: IssuerConfig,
    algorithms: Vec<Algorithm>,
    fixed: Vec<VerifyKey>,
    remote: Option<RemoteKeys>,
}

/// Every trusted issuer, chosen by a token's `iss`.
#[derive(Default)]
pub struct TrustedIssuers {
    issuers: Vec<TrustedIssuer>,
}

#[derive(Deserialize)]
struct IssuerOnly {
    iss: Option<String>,
}

impl TrustedIssuers {
    /// Loads every issuer's PEM and JWKS files; fails with the reason on any unusable key.
    pub fn new(configs: &[IssuerConfig], own_issuer: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            // Each actix worker runs its own runtime: a pooled connection must not outlive the
            // request that opened it.
            .pool_max_idle_per_host(0)
            .build()
            .context("building the JWKS HTTP client")?;
        let issuers = configs
            .iter()
            .map(|config| {
                if config.issuer == own_issuer {
                    bail!(
                        "the trusted issuer {:?} is this service's own JWT_ISSUER",
                        config.issuer
                    );
                }
                TrustedIssuer::load(config, &client)
                    .with_context(|| format!("TRUSTED_ISSUERS: issuer {:?}", config.issuer))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(TrustedIssuers { issuers })
    }

    /// Chooses the verifier by the token's (not yet verified) `iss`.
    pub fn classify<'a>(&'a self, token: &str, own_issuer: &str) -> TokenIssuer<'a> {
        let iss = jsonwebtoken::dangerous::insecure_decode_claims::<IssuerOnly>(token)
            .ok()
            .and_then(|claims| claims.iss);
        match iss {
            // Without a readable `iss` the own verifier names what is wrong with the token.
            None => TokenIssuer::Own,
            Some(iss) if iss == own_issuer => TokenIssuer::Own,
            Some(iss) => match self.issuers.iter().find(|i| i.config.issuer == iss) {
                Some(issuer) => TokenIssuer::Trusted(issuer),
                None => TokenIssuer::Unknown(iss),
            },
        }
    }
}

/// Who issued a token, by its claim.
pub enum TokenIssuer<'a> {
    /// This service.
    Own,
    /// A configured external issuer.
    Trusted(&'a TrustedIssuer),
    /// Anyone else.
    Unknown(String),
}

impl TrustedIssuer {
    fn load(config: &IssuerConfig, client: &reqwest::Client) -> anyhow::Result<Self> {
        let algorithms = config.algorithms();
        let mut fixed = Vec::new();
        for pem in &config.keys {
            let text = std::fs::read(&pem.pem_file)
                .with_context(|| format!("reading the PEM file {:?}", pem.pem_file))?;
            let (alg, key) = pem_key(&text, &algorithms)
                .with_context(|| format!("the PEM file {:?}", pem.pem_file))?;
            fixed.push(VerifyKey {
                kid: pem.kid.clone(),
                alg,
                key,
            });
        }
        if let Some(path) = &config.jwks_file {
            let text =
                std::fs::read(path).with_context(|| format!("reading the JWKS file {path:?}"))?;
            let keys =
                jwks_keys(&text, &algorithms).with_context(|| format!("the JWKS file {path:?}"))?;
            if keys.is_empty() {
                bail!(
                    "the JWKS file {path:?} holds no key for {:?}",
                    config.algorithms
                );
            }
            fixed.extend(keys);
        }
        let remote = config.jwks_url.as_ref().map(|url| RemoteKeys {
            url: url.clone(),
            min_refresh: Duration::from_secs(config.min_refresh_secs),
            client: client.clone(),
            keys: RwLock::new(Arc::new(Vec::new())),
            generation: AtomicU64::new(0),
            last_fetch: tokio::sync::Mutex::new(None),
        });
        Ok(TrustedIssuer {
            config: config.clone(),
            algorithms,
            fixed,
            remote,
        })
    }

    /// Verifies signature, pinned algorithm, issuer, audience and lifetime, and returns the
    /// claims. A failed check is 401 saying which check failed, in words safe to show the
    /// caller; an issuer whose JWKS has never been fetched successfully is 503 (its outage is
    /// not the token's fault). An unknown `kid` refreshes the issuer's JWKS once (at most once
    /// per `min_refresh_secs`).
    pub async fn verify(&self, token: &str) -> Result<Value, ApiError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| ApiError::Unauthorized("malformed token".into()))?;
        if !self.algorithms.contains(&header.alg) {
            return Err(ApiError::Unauthorized(
                "token algorithm not accepted".into(),
            ));
        }
        let kid = header.kid.as_deref();
        if let Some(outcome) = self.try_keys(token, header.alg, kid) {
            return outcome.map_err(ApiError::Unauthorized);
        }
        if let Some(remote) = &self.remote {
            if remote.refresh(&self.algorithms).await {
                if let Some(outcome) = self.try_keys(token, header.alg, kid) {
                    return outcome.map_err(ApiError::Unauthorized);
                }
            }
            if remote.current().is_empty() {
                return Err(ApiError::Unavailable(format!(
                    "the signing keys of the token issuer {} could not be fetched; retry later",
                    self.config.issuer
                )));
            }
        }
        Err(ApiError::Unauthorized("unknown signing key (kid)".into()))
    }

    /// The verification outcome with the keys that could have signed the token, or `None`
    /// when there is none.
    fn try_keys(
        &self,
        token: &str,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Option<Result<Value, String>> {
        let remote = self
            .remote
            .as_ref()
            .map(RemoteKeys::current)
            .unwrap_or_default();
        let candidates: Vec<&VerifyKey> = self
            .fixed
            .iter()
            .chain(remote.iter())
            .filter(|k| k.alg == alg && (kid.is_none() || k.kid.as_deref() == kid))
            .collect();
        let mut outcome = None;
        for key in candidates {
            let result = jsonwebtoken::decode::<Value>(token, &key.key, &self.validation(alg))
                .map(|data| data.claims)
                .map_err(|e| super::token::rejection(&e).to_owned());
            if result.is_ok() {
                return Some(result);
            }
            outcome = Some(result);
        }
        outcome
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        validation
    }
}

impl RemoteKeys {
    /// The keys of the last successful fetch.
    fn current(&self) -> Arc<Vec<VerifyKey>> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Fetches the JWKS unless one was fetched within `min_refresh`; `true` when keys may have
    /// changed since the caller looked.
    async fn refresh(&self, algorithms: &[Algorithm]) -> bool {
        let seen = self.generation.load(Ordering::Acquire);
        let mut last_fetch = self.last_fetch.lock().await;
        if self.generation.load(Ordering::Acquire) != seen {
            return true;
        }
        if last_fetch.is_some_and(|at| at.elapsed() < self.min_refresh) {
            return false;
        }
        *last_fetch = Some(Instant::now());
        match self.fetch(algorithms).await {
            Ok(keys) => {
                tracing::info!(url = %self.url, keys = keys.len(), "fetched a JWKS");
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
                self.generation.fetch_add(1, Ordering::Release);
                true
            }
            Err(error) => {
                tracing::warn!(url = %self.url, error = format!("{error:#}"), "JWKS fetch failed");
                false
            }
        }
    }

    async fn fetch(&self, algorithms: &[Algorithm]) -> anyhow::Result<Vec<VerifyKey>> {
        let response = self
            .client
            .get(&self.url)
            .send()
            .await?
            .error_for_status()?;
        if response
            .content_length()
            .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
        {
            bail!("the JWKS is larger than {MAX_JWKS_BYTES} bytes");
        }
        let body = response.bytes().await?;
        if body.len() > MAX_JWKS_BYTES {
            bail!("the JWKS is larger than {MAX_JWKS_BYTES} bytes");
        }
        jwks_keys(&body, algorithms)
    }
}

/// The algorithm a key of `family` verifies, if the issuer allows it.
fn algorithm_for(family: AlgorithmFamily, allowed: &[Algorithm]) -> Option<Algorithm> {
    let alg = match family {
        AlgorithmFamily::Rsa => Algorithm::RS256,
        AlgorithmFamily::Ec => Algorithm::ES256,
        AlgorithmFamily::Ed => Algorithm::EdDSA,
        AlgorithmFamily::Hmac => return None,
    };
    allowed.contains(&alg).then_some(alg)
}

/// A public key from a PEM file, for the one allowed algorithm its type fits.
fn pem_key(text: &[u8], allowed: &[Algorithm]) -> anyhow::Result<(Algorithm, DecodingKey)> {
    if String::from_utf8_lossy(text).contains("PRIVATE KEY") {
        bail!("holds a private key; configure the issuer's public key only");
    }
    type Parser = fn(&[u8]) -> jsonwebtoken::errors::Result<DecodingKey>;
    let parsers: [Parser; 3] = [
        DecodingKey::from_rsa_pem,
        DecodingKey::from_ec_pem,
        DecodingKey::from_ed_pem,
    ];
    parsers
        .iter()
        .filter_map(|parse| parse(text).ok())
        .find_map(|key| algorithm_for(key.family(), allowed).map(|alg| (alg, key)))
        .with_context(|| format!("is not a PEM public key for any of the algorithms {allowed:?}"))
}

/// The usable signing keys of a JWKS document: keys of other types, for encryption, or for
/// algorithms the issuer does not allow are skipped.
fn jwks_keys(body: &[u8], allowed: &[Algorithm]) -> anyhow::Result<Vec<VerifyKey>> {
    #[derive(Deserialize)]
    struct Set {
        keys: Vec<Value>,
    }
    let set: Set = serde_json::from_slice(body).context("not a JWKS document")?;
    Ok(set
        .keys
        .iter()
        .filter_map(|raw| {
            if raw["use"].as_str().is_some_and(|u| u != "sig") {
                return None;
            }
            if raw["kty"] == "EC" && raw["crv"] != "P-256" {
                return None;
            }
            let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(raw.clone()).ok()?;
            let key = DecodingKey::from_jwk(&jwk).ok()?;
            let alg = algorithm_for(key.family(), allowed)?;
            if let Some(named) = raw["alg"].as_str() {
                if parse_algorithm(named).ok()? != alg {
                    return None;
                }
            }
            Some(VerifyKey {
                kid: raw["kid"].as_str().map(str::to_owned),
                alg,
                key,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwks_yields_only_signing_keys_of_allowed_algorithms() {
        let rsa: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/test-keys/test-rsa-1.jwk.json"
        ))
        .unwrap();
        let mut enc = rsa.clone();
        enc["use"] = "enc".into();
        enc["kid"] = "enc".into();
        let mut wrong_alg = rsa.clone();
        wrong_alg["alg"] = "PS256".into();
        let secret =
            serde_json::json!({"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ", "kid": "hs"});
        let body = serde_json::json!({"keys": [rsa, enc, wrong_alg, secret, {"kty": "weird"}]});
        let keys = jwks_keys(body.to_string().as_bytes(), &[Algorithm::RS256]).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some("rsa-1"));
        assert_eq!(keys[0].alg, Algorithm::RS256);
        // The same RSA key is useless to an issuer pinned to ES256.
        assert!(jwks_keys(body.to_string().as_bytes(), &[Algorithm::ES256])
            .unwrap()
            .is_empty());
    }

    fn issuer_config(keys: Value) -> IssuerConfig {
        let mut config = serde_json::json!({"issuer": "https://idp.test", "audience": "plan-tracker",
            "algorithms": ["RS256"], "role_map": {"x": "viewer"}});
        for (k, v) in keys.as_object().unwrap() {
            config[k] = v.clone();
        }
        serde_json::from_value(config).unwrap()
    }

    #[tokio::test]
    async fn a_jwks_file_verifies_its_issuers_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        let jwk: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/test-keys/test-rsa-1.jwk.json"
        ))
        .unwrap();
        std::fs::write(&path, serde_json::json!({"keys": [jwk]}).to_string()).unwrap();
        let config = issuer_config(serde_json::json!({"jwks_file": path}));
        let issuers = TrustedIssuers::new(&[config], "plan-tracker").unwrap();
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(include_bytes!(
            "../../tests/fixtures/test-keys/test-rsa-1.key.pem"
        ))
        .unwrap();
        let now = chrono::Utc::now().timestamp();
        let claims = serde_json::json!({"iss": "https://idp.test", "aud": "plan-tracker",
            "sub": "u", "exp": now + 60});
        let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
        header.kid = Some("rsa-1".into());
        let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
        let TokenIssuer::Trusted(issuer) = issuers.classify(&token, "plan-tracker") else {
            panic!("the issuer is trusted");
        };
        assert_eq!(issuer.verify(&token).await.unwrap()["sub"], "u");
        header.kid = Some("rsa-2".into());
        let other = jsonwebtoken::encode(&header, &claims, &key).unwrap();
        assert!(matches!(
            issuer.verify(&other).await,
            Err(ApiError::Unauthorized(detail)) if detail == "unknown signing key (kid)"
        ));
    }

    #[test]
    fn unusable_keys_and_a_borrowed_issuer_stop_the_start() {
        let cases = [
            (
                issuer_config(serde_json::json!({"keys": [{"pem_file": "/no/such.pem"}]})),
                "/no/such.pem",
            ),
            (
                issuer_config(serde_json::json!({"jwks_file": "/no/such.json"})),
                "/no/such.json",
            ),
        ];
        for (config, expected) in cases {
            let error = format!(
                "{:#}",
                TrustedIssuers::new(&[config], "plan-tracker")
                    .err()
                    .unwrap()
            );
            assert!(error.contains(expected), "{error}");
        }
        let own = issuer_config(serde_json::json!({"jwks_url": "https://idp.test/jwks"}));
        let error = format!(
            "{:#}",
            TrustedIssuers::new(&[own], "https://idp.test")
                .err()
                .unwrap()
        );
        assert!(error.contains("own JWT_ISSUER"), "{error}");
    }

    #[tokio::test]
    async fn an_eddsa_pem_key_verifies_eddsa_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ed.pem");
        std::fs::write(
            &path,
            include_bytes!("../../tests/fixtures/test-keys/test-ed-1.pub.pem"),
        )
        .unwrap();
        let config = issuer_config(serde_json::json!({"algorithms": ["EdDSA"],
            "keys": [{"pem_file": path}]}));
        let issuers = TrustedIssuers::new(&[config], "plan-tracker").unwrap();
        let key = jsonwebtoken::EncodingKey::from_ed_pem(include_bytes!(
            "../../tests/fixtures/test-keys/test-ed-1.key.pem"
        ))
        .unwrap();
        let claims = serde_json::json!({"iss": "https://idp.test", "aud": "plan-tracker",
            "sub": "ed", "exp": chrono::Utc::now().timestamp() + 60});
        let token =
            jsonwebtoken::encode(&jsonwebtoken::Header::new(Algorithm::EdDSA), &claims, &key)
                .unwrap();
        let TokenIssuer::Trusted(issuer) = issuers.classify(&token, "plan-tracker") else {
            panic!("the issuer is trusted");
        };
        assert_eq!(issuer.verify(&token).await.unwrap()["sub"], "ed");
    }

    #[test]
    fn a_pem_key_serves_only_the_algorithm_of_its_type() {
        let ec = include_bytes!("../../tests/fixtures/test-keys/test-ec-1.pub.pem");
        let (alg, _) = pem_key(ec, &[Algorithm::RS256, Algorithm::ES256]).unwrap();
        assert_eq!(alg, Algorithm::ES256);
        assert!(pem_key(ec, &[Algorithm::RS256]).is_err());
        let private = include_bytes!("../../tests/fixtures/test-keys/test-ec-1.key.pem");
        let error = format!("{:#}", pem_key(private, &[Algorithm::ES256]).unwrap_err());
        assert!(error.contains("private key"), "{error}");
    }
}

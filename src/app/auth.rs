//! GitHub App authentication: the App's RS256 JWT, and installation tokens
//! cached per installation until shortly before they expire, each with its
//! client. The key and the tokens are never formatted into a log or comment
//! (`Debug` is written by hand to say so).

use crate::github::fetch::Secret;
use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use tokio::sync::Mutex;

use crate::github::octo::OctocrabGitHub;
use crate::github::retry::RetryPolicy;

/// A token is renewed when it has less than this left (seconds).
const RENEW_BEFORE: u64 = 5 * 60;

pub struct AppKey {
    app_id: u64,
    key: EncodingKey,
}

impl std::fmt::Debug for AppKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AppKey {{ app_id: {}, key: <redacted> }}", self.app_id)
    }
}

#[derive(Serialize)]
struct Claims {
    iat: u64,
    exp: u64,
    iss: String,
}

impl AppKey {
    pub fn from_pem(app_id: u64, pem: &[u8]) -> Result<AppKey> {
        let key = EncodingKey::from_rsa_pem(pem).context(
            "the private key is not an RSA key in PEM form (GitHub's .pem download is one)",
        )?;
        Ok(AppKey { app_id, key })
    }

    /// The App's JWT at `now` (unix seconds): issued a minute in the past
    /// against clock drift, expiring nine minutes on (GitHub allows ten).
    pub fn jwt(&self, now: u64) -> Result<String> {
        let claims = Claims {
            iat: now.saturating_sub(60),
            exp: now + 9 * 60,
            iss: self.app_id.to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .context("signing the App's JWT")
    }
}

/// An installation's client and the token it carries.
pub struct Installation {
    pub client: Arc<OctocrabGitHub>,
    pub token: Secret,
    expires_at: u64,
}

pub struct Installations {
    key: AppKey,
    api_url: String,
    policy: RetryPolicy,
    cache: Mutex<HashMap<u64, Arc<Installation>>>,
}

use crate::timestamp::now as now_seconds;

impl Installations {
    pub fn new(key: AppKey, api_url: &str, policy: RetryPolicy) -> Installations {
        Installations {
            key,
            api_url: api_url.to_string(),
            policy,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// A client authenticated as the App itself (for the App's own endpoints).
    pub fn app_client(&self) -> Result<OctocrabGitHub> {
        let jwt = self.key.jwt(now_seconds())?;
        Ok(OctocrabGitHub::new(&self.api_url, &jwt, self.policy)?)
    }

    /// The installation's client, with a token renewed when it is close to
    /// expiring. The lock is held across the renewal so concurrent jobs ask
    /// GitHub for one token, not one each.
    pub async fn get(&self, installation: u64) -> Result<Arc<Installation>> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.get(&installation)
            && cached.expires_at > now_seconds() + RENEW_BEFORE
        {
            return Ok(cached.clone());
        }
        let token = self
            .app_client()?
            .installation_token(installation)
            .await
            .with_context(|| format!("getting a token for installation {installation}"))?;
        let client = OctocrabGitHub::new(&self.api_url, &token.token, self.policy)?;
        let fresh = Arc::new(Installation {
            client: Arc::new(client),
            token: Secret::new(token.token),
            expires_at: token.expires_at,
        });
        cache.insert(installation, fresh.clone());
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jwt_is_rs256_issued_a_minute_back_and_short_lived() {
        let pem = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/github/test-app-key.pem"
        ))
        .unwrap();
        let key = AppKey::from_pem(42, &pem).unwrap();
        let jwt = key.jwt(1_700_000_000).unwrap();
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        use base64::Engine as _;
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(jwt.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["iss"], "42");
        assert_eq!(claims["iat"], 1_700_000_000u64 - 60);
        let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
        assert!(lifetime <= 600, "{lifetime}");
        assert!(!format!("{key:?}").contains("BEGIN"));
    }

    #[test]
    fn a_key_that_is_not_pem_is_a_clear_error() {
        let error = AppKey::from_pem(1, b"not a key").unwrap_err();
        assert!(format!("{error:#}").contains("PEM"));
    }
}

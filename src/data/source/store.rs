//! Objects in remote stores, through the Arrow project's `object_store`:
//! S3 (and S3-compatible servers), Google Cloud Storage, Azure Blob
//! Storage, HTTP(S), and local folders. Credentials come from each
//! store's standard chain (environment variables, instance and workload
//! roles), or from options a DVC remote names; they are never printed.
//!
//! Downloads stream into the cache; the async client runs on a thread of
//! its own, so the blocking evidence code can call it from anywhere.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use futures::StreamExt;
use object_store::path::Path as StorePath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt};

use super::cache::{Algorithm, Cache, Hash, Mismatch, Writer};

/// A remote object: its URL, and options for its store (a DVC remote's
/// `endpointurl`, `region`, keys from `config.local`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub url: String,
    pub options: BTreeMap<String, String>,
}

/// Why a remote object could not be had, in words for the check run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    NotFound(String),
    /// The credentials were refused, or there were none.
    Denied(String),
    TooLarge {
        size: u64,
        limit: u64,
    },
    Mismatch {
        expected: String,
        got: String,
    },
    Other(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::NotFound(what) => write!(f, "the object is not there ({what})"),
            StoreError::Denied(what) => write!(f, "access was refused ({what})"),
            StoreError::TooLarge { size, limit } => write!(
                f,
                "it is {:.1} MB, over the limit of {:.1} MB for pull requests from forks (nothing was downloaded)",
                *size as f64 / 1e6,
                *limit as f64 / 1e6
            ),
            StoreError::Mismatch { expected, got } => {
                write!(
                    f,
                    "its content does not match: {got} where {expected} was expected"
                )
            }
            StoreError::Other(what) => f.write_str(what),
        }
    }
}

fn from_store(error: object_store::Error) -> StoreError {
    let text = error.to_string();
    match error {
        object_store::Error::NotFound { .. } => StoreError::NotFound(first_line(&text)),
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => StoreError::Denied(first_line(&text)),
        // The last link of AWS's chain is the instance role: when nothing
        // answers there, there were no credentials at all.
        _ if text.contains("/latest/api/token") || text.contains("/latest/meta-data") => {
            StoreError::Denied("no credentials were found: no AWS_ACCESS_KEY_ID, no profile in ~/.aws, no instance role".into())
        }
        _ if ["AccessDenied", "403", "credential", "Credential"]
            .iter()
            .any(|sign| text.contains(sign)) =>
        {
            StoreError::Denied(first_line(&text))
        }
        _ => StoreError::Other(first_line(&text)),
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or(text)
        .chars()
        .take(300)
        .collect()
}

/// The store and the object's path in it.
fn open(remote: &Remote) -> Result<(Arc<dyn ObjectStore>, StorePath), StoreError> {
    let url = &remote.url;
    let option = |key: &str| remote.options.get(key).cloned();
    let bad = |e: object_store::Error| {
        StoreError::Other(format!("`{url}`: {}", first_line(&e.to_string())))
    };
    let (scheme, rest) = url.split_once("://").unwrap_or(("file", url));
    let store: Arc<dyn ObjectStore> = match scheme {
        "s3" => {
            let mut builder = object_store::aws::AmazonS3Builder::from_env().with_url(url);
            if let Some(endpoint) = option("endpointurl") {
                builder = builder
                    .with_allow_http(endpoint.starts_with("http://"))
                    .with_endpoint(endpoint);
            }
            for (key, name) in [
                ("region", "region"),
                ("access_key_id", "access_key_id"),
                ("secret_access_key", "secret_access_key"),
                ("session_token", "token"),
            ] {
                if let Some(value) = option(key) {
                    builder = builder.with_config(name.parse().map_err(bad)?, value);
                }
            }
            let profile = aws_profile(&Env::process());
            let no_keys = option("access_key_id").is_none()
                && std::env::var_os("AWS_ACCESS_KEY_ID").is_none();
            for (name, value) in profile.iter().filter(|_| no_keys) {
                builder = builder.with_config(name.parse().map_err(bad)?, value);
            }
            if option("region").is_none()
                && std::env::var_os("AWS_DEFAULT_REGION").is_none()
                && std::env::var_os("AWS_REGION").is_none()
                && !profile.iter().any(|(name, _)| name == "region")
            {
                builder = builder.with_region("us-east-1");
            }
            Arc::new(builder.build().map_err(bad)?)
        }
        "gs" => Arc::new(
            object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_url(url)
                .build()
                .map_err(bad)?,
        ),
        "az" | "azure" | "abfs" | "abfss" => Arc::new(
            object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_url(url.replacen("azure://", "az://", 1))
                .build()
                .map_err(bad)?,
        ),
        "http" | "https" => {
            let (base, path) = split_http(url);
            let store = object_store::http::HttpBuilder::new()
                .with_url(base)
                .with_client_options(ClientOptions::new().with_allow_http(scheme == "http"))
                .build()
                .map_err(bad)?;
            return Ok((Arc::new(store), StorePath::from(path)));
        }
        other => {
            return Err(StoreError::Other(format!(
                "`{other}://` is not a store dslp-bot reads; use s3://, gs://, az://, https:// or a folder"
            )));
        }
    };
    let path = rest.split_once('/').map_or("", |(_, p)| p);
    Ok((store, StorePath::from(path)))
}

/// What the AWS profile files hold for the profile in use.
struct Env {
    profile: String,
    credentials: Option<PathBuf>,
    config: Option<PathBuf>,
}

impl Env {
    fn process() -> Env {
        let var = |name: &str| std::env::var_os(name).map(PathBuf::from);
        let home = var("HOME").map(|h| h.join(".aws"));
        Env {
            profile: std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into()),
            credentials: var("AWS_SHARED_CREDENTIALS_FILE")
                .or_else(|| home.as_ref().map(|h| h.join("credentials"))),
            config: var("AWS_CONFIG_FILE").or_else(|| home.map(|h| h.join("config"))),
        }
    }
}

/// Keys and region from `~/.aws/credentials` and `~/.aws/config` (the
/// files `aws configure` writes), which object_store does not read
/// itself: the CLI on a laptop finds what `aws s3 cp` finds.
fn aws_profile(env: &Env) -> Vec<(String, String)> {
    let read = |path: &Option<PathBuf>| {
        path.as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
    };
    let named = format!("profile {}", env.profile);
    let mut found = Vec::new();
    for (text, sections, keys) in [
        (
            read(&env.credentials),
            vec![env.profile.as_str()],
            &[
                ("aws_access_key_id", "access_key_id"),
                ("aws_secret_access_key", "secret_access_key"),
                ("aws_session_token", "token"),
            ][..],
        ),
        (
            read(&env.config),
            vec![named.as_str(), env.profile.as_str()],
            &[("region", "region")][..],
        ),
    ] {
        let mut all = super::ini::sections(&text);
        let values = sections
            .iter()
            .find_map(|s| all.remove(*s))
            .unwrap_or_default();
        for (key, name) in keys {
            if let Some(value) = values.get(*key) {
                found.push((name.to_string(), value.clone()));
            }
        }
    }
    found
}

/// `https://host/a/b/c` as the store's base (`https://host`) and the path.
fn split_http(url: &str) -> (String, String) {
    let after = url.find("://").map_or(0, |i| i + 3);
    match url[after..].find('/') {
        Some(slash) => (
            url[..after + slash].to_string(),
            url[after + slash + 1..].to_string(),
        ),
        None => (url.to_string(), String::new()),
    }
}

/// Runs the async client on a thread of its own.
fn on_own_thread<T: Send>(
    work: impl std::future::Future<Output = T> + Send,
) -> Result<T, StoreError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| StoreError::Other(format!("starting the download: {e}")))?;
                Ok(runtime.block_on(work))
            })
            .join()
            .map_err(|_| StoreError::Other("the download stopped".into()))?
    })
}

/// The one TLS provider (ring) the HTTP clients need installed first.
fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// What a remote object is: its size and its version (an ETag), for
/// limits and for caching an object named by a URL alone.
pub fn head(remote: &Remote) -> Result<(u64, Option<String>), StoreError> {
    if let Some(path) = local(&remote.url) {
        let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
        return Ok((meta.len(), None));
    }
    install_tls();
    let (store, path) = open(remote)?;
    on_own_thread(async move {
        let meta = store.head(&path).await.map_err(from_store)?;
        Ok((meta.size, meta.e_tag))
    })?
}

/// Downloads the object into the cache, checked against `expected` when
/// given (else addressed by `algorithm` of what arrived), refusing more
/// than `limit` bytes.
pub fn fetch(
    remote: &Remote,
    cache: &Cache,
    algorithm: Algorithm,
    expected: Option<&Hash>,
    limit: Option<u64>,
) -> Result<PathBuf, StoreError> {
    let writer = cache
        .writer(algorithm)
        .map_err(|e| StoreError::Other(format!("cannot write the download cache: {e}")))?;
    let writer = match local(&remote.url) {
        Some(path) => copy_local(path, writer, limit)?,
        None => download(remote, writer, limit)?,
    };
    writer.finish(cache, expected).map_err(|e| match e {
        Mismatch::Hash { got } => StoreError::Mismatch {
            expected: expected.map(ToString::to_string).unwrap_or_default(),
            got: got.to_string(),
        },
        Mismatch::Io(e) => StoreError::Other(format!("cannot write the download cache: {e}")),
    })
}

/// A `file://` URL's path.
fn local(url: &str) -> Option<&str> {
    url.strip_prefix("file://")
}

fn io_error(path: &str, error: std::io::Error) -> StoreError {
    match error.kind() {
        std::io::ErrorKind::NotFound => StoreError::NotFound(path.to_string()),
        std::io::ErrorKind::PermissionDenied => StoreError::Denied(path.to_string()),
        _ => StoreError::Other(format!("{path}: {error}")),
    }
}

/// A folder remote's object, copied in a piece at a time.
fn copy_local(path: &str, mut writer: Writer, limit: Option<u64>) -> Result<Writer, StoreError> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let size = file.metadata().map_err(|e| io_error(path, e))?.len();
    if let Some(limit) = limit.filter(|l| size > *l) {
        return Err(StoreError::TooLarge { size, limit });
    }
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(|e| io_error(path, e))?;
        if read == 0 {
            return Ok(writer);
        }
        writer
            .write(&buffer[..read])
            .map_err(|e| StoreError::Other(format!("cannot write the download cache: {e}")))?;
    }
}

/// A remote store's object, streamed in.
fn download(remote: &Remote, mut writer: Writer, limit: Option<u64>) -> Result<Writer, StoreError> {
    install_tls();
    let (store, path) = open(remote)?;
    on_own_thread(async move {
        let got = store.get(&path).await.map_err(from_store)?;
        if let Some(limit) = limit
            && got.meta.size > limit
        {
            return Err(StoreError::TooLarge {
                size: got.meta.size,
                limit,
            });
        }
        let mut stream = got.into_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(from_store)?;
            writer
                .write(&chunk)
                .map_err(|e| StoreError::Other(format!("cannot write the download cache: {e}")))?;
        }
        Ok(writer)
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aws_profile_in_use_gives_keys_and_region() {
        let dir = tempfile::tempdir().unwrap();
        let credentials = dir.path().join("credentials");
        let config = dir.path().join("config");
        std::fs::write(
            &credentials,
            "[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = s1\n\n[team]\naws_access_key_id=AKTEAM\naws_secret_access_key=s2\n",
        )
        .unwrap();
        std::fs::write(
            &config,
            "[default]\nregion = us-east-1\n[profile team]\nregion = eu-west-1\n",
        )
        .unwrap();
        let env = |profile: &str| Env {
            profile: profile.into(),
            credentials: Some(credentials.clone()),
            config: Some(config.clone()),
        };
        let pairs = |v: Vec<(String, String)>| {
            v.into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            pairs(aws_profile(&env("team"))),
            [
                "access_key_id=AKTEAM",
                "secret_access_key=s2",
                "region=eu-west-1"
            ]
        );
        assert_eq!(
            pairs(aws_profile(&env("default"))),
            [
                "access_key_id=AKDEFAULT",
                "secret_access_key=s1",
                "region=us-east-1"
            ]
        );
        assert!(aws_profile(&env("absent")).is_empty());
    }

    #[test]
    fn an_http_url_is_a_base_and_a_path() {
        assert_eq!(
            split_http("https://data.example.com/churn/2026-11.csv"),
            (
                "https://data.example.com".into(),
                "churn/2026-11.csv".into()
            )
        );
        assert_eq!(
            split_http("http://host"),
            ("http://host".into(), String::new())
        );
    }
}

//! Git LFS: a pointer in git, the bytes elsewhere. The object comes from
//! `.git/lfs/objects/` when the checkout has it (`actions/checkout` with
//! `lfs: true`), else from the remote's batch API (Git LFS's
//! `docs/api/batch.md`), with the token in a header; it is checked against
//! the pointer's oid and size, and the size is checked against the limits
//! before anything is fetched.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::cache::{Algorithm, Cache, Hash, Mismatch};
use super::local::DataError;

/// A Git LFS server: the repository's remote, with the token that may read it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LfsRemote {
    /// The repository's git URL (`https://github.com/o/r.git`).
    pub url: String,
    pub token: Option<crate::secret::Secret>,
}

impl LfsRemote {
    /// The LFS API's base: `<repository>.git/info/lfs`, or `url` itself when
    /// it is one already (`lfs.url`).
    pub fn endpoint(&self) -> String {
        let url = self.url.trim_end_matches('/');
        if url.ends_with("/info/lfs") {
            url.to_string()
        } else if url.ends_with(".git") {
            format!("{url}/info/lfs")
        } else {
            format!("{url}.git/info/lfs")
        }
    }

    /// The LFS server of a git remote URL, as git-lfs derives it: HTTPS
    /// as is; SSH (`git@host:o/r.git`, `ssh://git@host/o/r`) as HTTPS on
    /// the same host; a local path has none (its objects are read in place).
    pub fn of_git_url(url: &str) -> Option<LfsRemote> {
        let https = if url.starts_with("https://") || url.starts_with("http://") {
            url.to_string()
        } else if let Some(rest) = url.strip_prefix("ssh://") {
            let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
            let (host, path) = rest.split_once('/')?;
            let host = host.split(':').next().unwrap_or(host);
            format!("https://{host}/{path}")
        } else if let Some((user_host, path)) = url.split_once(':')
            && !user_host.contains('/')
            && user_host.contains('@')
        {
            let host = user_host.split_once('@').map_or(user_host, |(_, h)| h);
            format!("https://{host}/{}", path.trim_start_matches('/'))
        } else {
            return None;
        };
        Some(LfsRemote {
            url: https,
            token: None,
        })
    }
}

/// The first line of every pointer file.
const VERSION: &str = "version https://git-lfs.github.com/spec/v1";
/// Pointer files are small; anything larger is data.
const POINTER_MAX: usize = 1024;

/// A Git LFS pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    /// The object's sha256, hex.
    pub oid: String,
    pub size: u64,
}

impl Pointer {
    /// The pointer `bytes` hold, if they are one.
    pub fn parse(bytes: &[u8]) -> Option<Pointer> {
        if bytes.len() > POINTER_MAX || !bytes.starts_with(VERSION.as_bytes()) {
            return None;
        }
        let text = std::str::from_utf8(bytes).ok()?;
        let mut oid = None;
        let mut size = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("oid sha256:") {
                oid = Some(rest.trim().to_ascii_lowercase());
            } else if let Some(rest) = line.strip_prefix("size ") {
                size = rest.trim().parse().ok();
            }
        }
        let oid = oid.filter(|o| o.len() == 64 && o.bytes().all(|b| b.is_ascii_hexdigit()))?;
        Some(Pointer { oid, size: size? })
    }

    fn hash(&self) -> Hash {
        Hash {
            algorithm: Algorithm::Sha256,
            hex: self.oid.clone(),
        }
    }
}

/// Whether the first bytes of a file look like a pointer (cheap: for a
/// file on disk, read only its head).
pub fn peek(path: &Path) -> Option<Pointer> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut head = vec![0u8; POINTER_MAX + 1];
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(_) => return None,
        }
    }
    Pointer::parse(&head[..read])
}

/// Where the object of `pointer` is, fetching it when no `local` store of
/// LFS objects (a git dir's `lfs/objects`, a local remote's) has it.
pub fn object(
    file: &str,
    pointer: &Pointer,
    local: &[PathBuf],
    remote: Option<&LfsRemote>,
    cache: &Cache,
) -> Result<PathBuf, DataError> {
    let found = local.iter().find_map(|objects| {
        let path = objects
            .join(&pointer.oid[..2])
            .join(&pointer.oid[2..4])
            .join(&pointer.oid);
        path.is_file().then_some(path)
    });
    if let Some(found) = found {
        return Ok(found);
    }
    if let Some(cached) = cache.get(&pointer.hash()) {
        return Ok(cached);
    }
    let remote = remote.ok_or_else(|| {
        DataError::new(
            file,
            format!(
                "is a Git LFS pointer (object {}), and neither the checkout nor a remote has the object; check out with `lfs: true` (actions/checkout) or run `git lfs pull`",
                short(&pointer.oid)
            ),
        )
    })?;
    download(file, pointer, remote, cache)
}

fn short(oid: &str) -> &str {
    &oid[..12.min(oid.len())]
}

#[derive(Serialize)]
struct BatchRequest<'a> {
    operation: &'a str,
    transfers: [&'a str; 1],
    objects: [BatchObject<'a>; 1],
    hash_algo: &'a str,
}

#[derive(Serialize)]
struct BatchObject<'a> {
    oid: &'a str,
    size: u64,
}

#[derive(Deserialize)]
struct BatchResponse {
    #[serde(default)]
    objects: Vec<ObjectAnswer>,
}

#[derive(Deserialize)]
struct ObjectAnswer {
    #[serde(default)]
    actions: Option<Actions>,
    #[serde(default)]
    error: Option<ObjectError>,
}

#[derive(Deserialize)]
struct Actions {
    download: Option<Action>,
}

#[derive(Deserialize)]
struct Action {
    href: String,
    #[serde(default)]
    header: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct ObjectError {
    code: u16,
    message: String,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(600)))
        .timeout_connect(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .user_agent("dslp-bot")
        .build()
        .into()
}

/// Asks the remote's batch API where the object is, then downloads it.
fn download(
    file: &str,
    pointer: &Pointer,
    remote: &LfsRemote,
    cache: &Cache,
) -> Result<PathBuf, DataError> {
    let fail = |message: String| DataError::new(file, message);
    let endpoint = format!("{}/objects/batch", remote.endpoint());
    let request = BatchRequest {
        operation: "download",
        transfers: ["basic"],
        objects: [BatchObject {
            oid: &pointer.oid,
            size: pointer.size,
        }],
        hash_algo: "sha256",
    };
    let agent = agent();
    let mut call = agent
        .post(&endpoint)
        .header("Accept", "application/vnd.git-lfs+json")
        .header("Content-Type", "application/vnd.git-lfs+json");
    if let Some(token) = &remote.token {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("x-access-token:{}", token.expose()));
        call = call.header("Authorization", &format!("Basic {basic}"));
    }
    let body = serde_json::to_vec(&request).unwrap_or_default();
    let where_ = redact(&endpoint);
    let response = call.send(&body[..]).map_err(|e| {
        fail(format!(
            "is a Git LFS pointer; its server {where_} could not be reached: {e} — fetch the objects with `git lfs pull`, or check out with `lfs: true` (actions/checkout)"
        ))
    })?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(fail(format!(
            "is a Git LFS pointer; its server {where_} answered {status}{}",
            match status {
                401 | 403 =>
                    " (the token may not read the repository's LFS objects: the App needs Contents: read, the Action's token `contents: read`)",
                404 => " (no such repository, or it has no LFS objects)",
                _ => "",
            }
        )));
    }
    let text = response
        .into_body()
        .read_to_string()
        .map_err(|e| fail(format!("reading the Git LFS server's answer: {e}")))?;
    let answer: BatchResponse = serde_json::from_str(&text).map_err(|e| {
        fail(format!(
            "the Git LFS server {where_} gave an answer that is not the batch API's: {e}"
        ))
    })?;
    let object = answer.objects.into_iter().next().ok_or_else(|| {
        fail(format!(
            "the Git LFS server {where_} knows nothing of object {}",
            short(&pointer.oid)
        ))
    })?;
    if let Some(error) = object.error {
        return Err(fail(format!(
            "is a Git LFS pointer to object {}, which its server does not have ({} {}): push it with `git lfs push --all origin`",
            short(&pointer.oid),
            error.code,
            error.message
        )));
    }
    let action = object.actions.and_then(|a| a.download).ok_or_else(|| {
        fail(format!(
            "the Git LFS server {where_} gave no way to download object {}",
            short(&pointer.oid)
        ))
    })?;
    fetch_object(file, pointer, &agent, &action, cache)
}

/// Downloads the object where the batch API said, into the cache.
fn fetch_object(
    file: &str,
    pointer: &Pointer,
    agent: &ureq::Agent,
    action: &Action,
    cache: &Cache,
) -> Result<PathBuf, DataError> {
    let fail = |message: String| DataError::new(file, message);
    let mut call = agent.get(&action.href);
    for (name, value) in &action.header {
        call = call.header(name, value);
    }
    let where_ = redact(&action.href);
    let response = call
        .call()
        .map_err(|e| fail(format!("downloading its Git LFS object from {where_}: {e}")))?;
    if response.status().as_u16() != 200 {
        return Err(fail(format!(
            "downloading its Git LFS object from {where_}: {}",
            response.status()
        )));
    }
    let mut reader = response.into_body().into_reader();
    let mut writer = cache
        .writer(Algorithm::Sha256)
        .map_err(|e| fail(format!("cannot write the download cache: {e}")))?;
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = reader
            .read(&mut buffer)
            .map_err(|e| fail(format!("downloading its Git LFS object: {e}")))?;
        if read == 0 {
            break;
        }
        // Never more than the pointer said.
        if writer.bytes + read as u64 > pointer.size {
            return Err(fail(format!(
                "its Git LFS object is larger than the pointer's size of {} bytes",
                pointer.size
            )));
        }
        writer
            .write(&buffer[..read])
            .map_err(|e| fail(format!("cannot write the download cache: {e}")))?;
    }
    if writer.bytes != pointer.size {
        return Err(fail(format!(
            "its Git LFS object has {} bytes where the pointer says {}",
            writer.bytes, pointer.size
        )));
    }
    writer.finish(cache, Some(&pointer.hash())).map_err(|e| match e {
        Mismatch::Hash { got } => fail(format!(
            "its Git LFS object does not match the pointer: sha256 {} where the pointer says {}",
            short(&got.hex),
            short(&pointer.oid)
        )),
        Mismatch::Io(e) => fail(format!("cannot write the download cache: {e}")),
    })
}

/// A URL without any user:password part (and so without a token).
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.split('?').next().unwrap_or(url).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remotes_lfs_server_is_derived_as_git_lfs_does() {
        let endpoint = |url: &str| LfsRemote::of_git_url(url).map(|r| r.endpoint());
        let github = Some("https://github.com/acme/churn.git/info/lfs".to_string());
        assert_eq!(endpoint("https://github.com/acme/churn.git"), github);
        assert_eq!(endpoint("https://github.com/acme/churn"), github);
        assert_eq!(endpoint("git@github.com:acme/churn.git"), github);
        assert_eq!(endpoint("ssh://git@github.com:22/acme/churn.git"), github);
        assert_eq!(endpoint("/srv/git/churn.git"), None);
        assert_eq!(endpoint("file:///srv/git/churn.git"), None);
        assert_eq!(
            LfsRemote {
                url: "https://lfs.example.com/team/info/lfs".into(),
                token: None
            }
            .endpoint(),
            "https://lfs.example.com/team/info/lfs"
        );
    }

    #[test]
    fn a_pointer_is_read_and_anything_else_is_not() {
        let text = format!("{VERSION}\noid sha256:{}\nsize 1234\n", "ab".repeat(32));
        assert_eq!(
            Pointer::parse(text.as_bytes()),
            Some(Pointer {
                oid: "ab".repeat(32),
                size: 1234
            })
        );
        assert_eq!(Pointer::parse(b"a,b\n1,2\n"), None);
        assert_eq!(
            Pointer::parse(format!("{VERSION}\noid sha256:12\nsize 3\n").as_bytes()),
            None
        );
        assert_eq!(
            Pointer::parse(format!("{VERSION}\noid sha256:{}\n", "ab".repeat(32)).as_bytes()),
            None
        );
    }
}

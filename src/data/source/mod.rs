//! Where a dataset's bytes come from, and why they could not be had: the
//! one layer every reader goes through, for the head and the base alike.
//!
//! 1. Plain git: a file of the working tree, or a blob at a revision.
//! 2. Git LFS: a pointer, whose object comes from `.git/lfs/objects/` or
//!    the remote's batch API ([`lfs`]).
//! 3. DVC: a path a `.dvc` file or `dvc.lock` tracks, whose object comes
//!    from the DVC cache or the default remote ([`dvc`]).
//! 4. A URI in the config: `s3://`, `gs://`, `az://`, `https://`, with an
//!    optional `sha256:` pin ([`store`]).
//!
//! Downloads are cached by content hash ([`cache`]) and streamed to disk,
//! so a remote file is read as a local one is: a block at a time.

mod cache;
mod combine;
pub mod dvc;
mod ini;
pub mod lfs;
mod local;
pub mod store;

use std::path::{Path, PathBuf};

pub use lfs::LfsRemote;
pub use local::{DataError, Input, resolve_in_repo};

use serde::{Deserialize, Serialize};

use self::cache::{Algorithm, Cache, Hash};
use crate::data::spec::FileFormat;
use crate::revision::{Blob, RevisionError, Revisions};

/// What the readers know beyond the working tree: where downloads are
/// cached, how to reach LFS objects, the most a file may bring (a fork's
/// limit, checked before anything is downloaded), and the DVC config to
/// trust (a fork's pull request answers to its base's).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sources {
    /// Default: `.git/dslp-cache/objects`.
    pub cache: Option<PathBuf>,
    pub lfs: Option<LfsRemote>,
    pub max_bytes: Option<u64>,
    /// `.dvc/config`'s text, in place of the checkout's.
    pub dvc_config: Option<String>,
}

/// Resolves a dataset's `path:` to bytes, at the head or at a revision.
pub struct Resolver<'a> {
    pub root: &'a Path,
    pub revisions: Option<&'a Revisions>,
    pub sources: &'a Sources,
}

pub use crate::data::spec::is_uri;

/// Where a dataset's bytes are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    Git,
    GitLfs,
    Dvc,
    ObjectStore,
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SourceKind::Git => "git",
            SourceKind::GitLfs => "Git LFS",
            SourceKind::Dvc => "DVC",
            SourceKind::ObjectStore => "an object store",
        })
    }
}

impl Resolver<'_> {
    fn cache(&self) -> Cache {
        let dir = self.sources.cache.clone().unwrap_or_else(|| {
            self.revisions
                .map(|r| r.git_dir().join("dslp-cache/objects"))
                .unwrap_or_else(|| self.root.join(".dslp-cache"))
        });
        Cache { dir }
    }

    /// The job's LFS server (the App's, the Action's: set, with a token);
    /// else, for the CLI, git-lfs's own choice: `lfs.url` in git's config
    /// or `.lfsconfig`, then `origin`'s. The CLI sends no token.
    fn lfs_remote(&self) -> Option<LfsRemote> {
        if let Some(set) = &self.sources.lfs {
            return Some(set.clone());
        }
        let revisions = self.revisions?;
        let configured = revisions.config_string("lfs.url").or_else(|| {
            let text = std::fs::read_to_string(self.root.join(".lfsconfig")).ok()?;
            ini::value(&text, "lfs", "url")
        });
        match configured {
            Some(url) => Some(LfsRemote { url, token: None }),
            None => LfsRemote::of_git_url(&revisions.remote_url("origin")?),
        }
    }

    /// Where LFS objects may already be: this checkout's, and a local
    /// `origin`'s (a bare repository's `lfs/objects`, or a work tree's).
    fn lfs_local(&self) -> Vec<PathBuf> {
        let Some(revisions) = self.revisions else {
            return Vec::new();
        };
        let mut dirs = vec![revisions.git_dir().join("lfs/objects")];
        if let Some(origin) = revisions.remote_url("origin")
            && LfsRemote::of_git_url(&origin).is_none()
        {
            let path = PathBuf::from(origin.strip_prefix("file://").unwrap_or(&origin));
            let path = if path.is_relative() {
                self.root.join(path)
            } else {
                path
            };
            dirs.push(path.join("lfs/objects"));
            dirs.push(path.join(".git/lfs/objects"));
        }
        dirs
    }

    /// Where the working tree's `path` keeps its bytes.
    pub fn kind_of(&self, path: &str) -> SourceKind {
        if is_uri(path) {
            return SourceKind::ObjectStore;
        }
        match resolve_in_repo(self.root, path) {
            Ok(file) if lfs::peek(&file).is_some() => SourceKind::GitLfs,
            Ok(_) => SourceKind::Git,
            Err(_) => {
                let read = |p: &str| std::fs::read(self.root.join(p)).ok();
                match dvc::tracked(path, &read) {
                    Ok(Some(_)) => SourceKind::Dvc,
                    _ => SourceKind::Git,
                }
            }
        }
    }

    /// The bytes of `path` in the working tree; `pin` is a URI's sha256.
    pub fn head(
        &self,
        path: &str,
        pin: Option<&str>,
        format: FileFormat,
    ) -> Result<Input, DataError> {
        if is_uri(path) {
            return self.uri(path, pin);
        }
        match resolve_in_repo(self.root, path) {
            Ok(file) => match lfs::peek(&file) {
                Some(pointer) => self.lfs(path, &pointer),
                None => Ok(Input::File(file)),
            },
            Err(missing) if missing.message.contains("does not exist") => {
                let read = |p: &str| std::fs::read(self.root.join(p)).ok();
                match dvc::tracked(path, &read)? {
                    Some(tracked) => self.dvc(path, &tracked, format),
                    None => Err(missing),
                }
            }
            Err(other) => Err(other),
        }
    }

    /// The bytes of `path` at revision `rev`.
    pub fn at(
        &self,
        rev: &str,
        path: &str,
        pin: Option<&str>,
        format: FileFormat,
    ) -> Result<Input, DataError> {
        if is_uri(path) {
            return self.uri(path, pin);
        }
        let revisions = self.revisions.ok_or_else(|| {
            DataError::new(
                path,
                format!("{} is not inside a git repository", self.root.display()),
            )
        })?;
        match revisions.open(rev, path) {
            Ok(Blob::Streamed(stream)) => Ok(Input::Stream(stream)),
            Ok(Blob::Whole(bytes)) => match lfs::Pointer::parse(&bytes) {
                Some(pointer) => self.lfs(path, &pointer),
                None => Ok(Input::Bytes(bytes)),
            },
            Err(RevisionError::NoSuchFile { .. }) => {
                let read = |p: &str| revisions.read(rev, p).ok();
                match dvc::tracked(path, &read)? {
                    Some(tracked) => self.dvc(path, &tracked, format),
                    None => Err(DataError::new(
                        path,
                        format!("the dataset is new: `{path}` does not exist at `{rev}`"),
                    )),
                }
            }
            Err(other) => Err(DataError::new(path, other.to_string())),
        }
    }

    fn lfs(&self, path: &str, pointer: &lfs::Pointer) -> Result<Input, DataError> {
        if let Some(limit) = self.sources.max_bytes.filter(|l| pointer.size > *l) {
            return Err(DataError::new(
                path,
                format!(
                    "is a Git LFS pointer to {:.1} MB, over the limit of {:.1} MB for pull requests from forks; nothing was downloaded",
                    pointer.size as f64 / 1e6,
                    limit as f64 / 1e6
                ),
            ));
        }
        lfs::object(
            path,
            pointer,
            &self.lfs_local(),
            self.lfs_remote().as_ref(),
            &self.cache(),
        )
        .map(Input::File)
    }

    fn dvc(
        &self,
        path: &str,
        tracked: &dvc::Tracked,
        format: FileFormat,
    ) -> Result<Input, DataError> {
        self.dvc_objects().input(path, tracked, format)
    }

    fn dvc_objects(&self) -> dvc::Objects {
        let dvc_dir = self.root.join(".dvc");
        let config = match &self.sources.dvc_config {
            Some(text) => Some(text.clone()),
            None => std::fs::read_to_string(dvc_dir.join("config")).ok(),
        };
        let local = std::fs::read_to_string(dvc_dir.join("config.local")).ok();
        dvc::Objects {
            local_cache: Some(dvc_dir.join("cache")).filter(|c| c.is_dir()),
            remote: config.and_then(|c| dvc::default_remote(&c, local.as_deref(), &dvc_dir)),
            cache: self.cache(),
            limit: self.sources.max_bytes,
        }
    }

    /// Starts downloading the base's DVC object of `path` at `rev` on a
    /// thread of its own, so it arrives while the head is read; the base's
    /// own read joins it first (and reports any error itself).
    pub fn prefetch(&self, rev: &str, path: &str) -> Option<std::thread::JoinHandle<()>> {
        let revisions = self.revisions?;
        if is_uri(path)
            || !matches!(
                revisions.blob_id(rev, path),
                Err(RevisionError::NoSuchFile { .. })
            )
        {
            return None;
        }
        let read = |p: &str| revisions.read(rev, p).ok();
        let tracked = dvc::tracked(path, &read).ok()??;
        // The same object as the head's arrives with the head.
        let head_read = |p: &str| std::fs::read(self.root.join(p)).ok();
        if let Ok(Some(head)) = dvc::tracked(path, &head_read)
            && head.md5 == tracked.md5
        {
            return None;
        }
        let objects = self.dvc_objects();
        objects.remote.as_ref()?;
        let path = path.to_string();
        // A directory's parts are fetched as its format is known: by the read.
        let format = FileFormat::from_path(&path).unwrap_or(FileFormat::Csv);
        Some(std::thread::spawn(move || {
            let _ = objects.input(&path, &tracked, format);
        }))
    }

    /// A URI's object: checked against its pin, cached by it (or by the
    /// URI and the object's version when unpinned).
    fn uri(&self, path: &str, pin: Option<&str>) -> Result<Input, DataError> {
        let remote = store::Remote {
            url: path.to_string(),
            options: Default::default(),
        };
        let failed = |e: store::StoreError| {
            DataError::new(
                path,
                format!(
                    "could not be read: {e} — check the URI, and that dslp-bot has credentials for it (the App: the server's environment or role; the Action: the workflow's)"
                ),
            )
        };
        let cache = self.cache();
        let expected = pin.map(|hex| Hash {
            algorithm: Algorithm::Sha256,
            hex: hex.to_ascii_lowercase(),
        });
        if let Some(hit) = expected.as_ref().and_then(|h| cache.get(h)) {
            return Ok(Input::File(hit));
        }
        let (size, version) = store::head(&remote).map_err(failed)?;
        if let Some(limit) = self.sources.max_bytes.filter(|l| size > *l) {
            return Err(failed(store::StoreError::TooLarge { size, limit }));
        }
        let by_version = (expected.is_none() && version.is_some()).then(|| {
            let key = crate::data::source::cache::sha256_of(&format!(
                "{path}\n{}",
                version.as_deref().unwrap_or_default()
            ));
            cache.dir.join("uri").join(key)
        });
        if let Some(hit) = by_version.as_ref().filter(|p| p.is_file()) {
            return Ok(Input::File(hit.clone()));
        }
        let fetched = store::fetch(&remote, &cache, Algorithm::Sha256, expected.as_ref(), self.sources.max_bytes)
            .map_err(|e| match e {
                store::StoreError::Mismatch { got, .. } => DataError::new(
                    path,
                    format!("does not match its pin: {got}, where `sha256:` says {}; the object changed: pin the new hash, or point `path:` at the version you meant", pin.unwrap_or_default()),
                ),
                other => failed(other),
            })?;
        if let Some(link) = by_version {
            let _ = std::fs::create_dir_all(link.parent().unwrap_or(Path::new(".")));
            let _ = std::fs::hard_link(&fetched, &link)
                .or_else(|_| std::fs::copy(&fetched, &link).map(|_| ()));
        }
        Ok(Input::File(fetched))
    }

    /// The size a file will have, when it can be told before anything is
    /// downloaded (an LFS pointer's, DVC's record): for a fork's limits.
    pub fn promised_size(&self, path: &str) -> Option<u64> {
        let file = resolve_in_repo(self.root, path).ok()?;
        if let Some(pointer) = lfs::peek(&file) {
            return Some(pointer.size);
        }
        None
    }
}

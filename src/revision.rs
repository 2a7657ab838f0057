//! Reading files as they were at a git revision, straight from the object
//! database: no checkout, the working tree untouched.

use std::path::{Component, Path};

use git2::{ErrorCode, ObjectType, Repository};

mod stream;
pub use stream::Streamed;

/// A file at a revision: small ones whole, large ones as a stream.
pub enum Blob {
    Whole(Vec<u8>),
    Streamed(Streamed),
}

/// Blobs under this size are read whole: Git LFS pointers (under 1024
/// bytes by the specification) must be recognised from their bytes.
const STREAM_FROM: u64 = 1024;

/// Why a file could not be read at a revision; the message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevisionError {
    #[error("{0} is not inside a git repository; comparing with a base revision needs one")]
    NoRepository(String),
    #[error(
        "the base revision `{rev}` is not in this clone, which is shallow; fetch it with `git fetch --unshallow` (or `git fetch origin {rev}`), or check out with `fetch-depth: 0` in actions/checkout"
    )]
    ShallowClone { rev: String },
    #[error("no revision `{rev}` in this repository; fetch it first (`git fetch origin {rev}`)")]
    UnknownRevision { rev: String },
    #[error("`{path}` does not exist at `{rev}`")]
    NoSuchFile { rev: String, path: String },
    #[error("`{path}` at `{rev}` is not a regular file")]
    NotAFile { rev: String, path: String },
    #[error("`{path}` is not a path inside the repository")]
    OutsideRepository { path: String },
    #[error("reading `{path}` at `{rev}`: {message}")]
    Git {
        rev: String,
        path: String,
        message: String,
    },
}

/// A repository opened for reading revisions. Paths are relative to the
/// directory it was opened from, which may lie below the work tree's root.
pub struct Revisions {
    repo: Repository,
    prefix: std::path::PathBuf,
}

impl Revisions {
    /// Opens the repository that contains `dir`.
    pub fn discover(dir: &Path) -> Result<Revisions, RevisionError> {
        let repo = Repository::discover(dir)
            .map_err(|_| RevisionError::NoRepository(dir.display().to_string()))?;
        // Reading a large base blob spent a third of its time re-hashing
        // it: the objects were hashed when they were written or fetched
        // (the fetch indexes each pack), and zlib still checks each one.
        git2::opts::strict_hash_verification(false);
        let prefix = match (
            repo.workdir().and_then(|w| w.canonicalize().ok()),
            dir.canonicalize().ok(),
        ) {
            (Some(workdir), Some(dir)) => dir
                .strip_prefix(&workdir)
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            _ => std::path::PathBuf::new(),
        };
        Ok(Revisions { repo, prefix })
    }

    /// The repository's git directory (`.git`).
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// The working tree's root, where there is one.
    pub fn work_tree(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// The URL of remote `name` (`origin`), where there is one.
    pub fn remote_url(&self, name: &str) -> Option<String> {
        self.repo
            .find_remote(name)
            .ok()?
            .url()
            .ok()
            .map(str::to_string)
    }

    /// A value of the repository's git config (`lfs.url`).
    pub fn config_string(&self, key: &str) -> Option<String> {
        self.repo.config().ok()?.get_string(key).ok()
    }

    /// The full commit id `rev` names.
    pub fn commit_id(&self, rev: &str) -> Result<String, RevisionError> {
        Ok(self.commit(rev)?.id().to_string())
    }

    fn commit(&self, rev: &str) -> Result<git2::Commit<'_>, RevisionError> {
        let object = self
            .repo
            .revparse_single(rev)
            .map_err(|e| self.missing(rev, e))?;
        object.peel_to_commit().map_err(|e| self.missing(rev, e))
    }

    fn missing(&self, rev: &str, _: git2::Error) -> RevisionError {
        if self.repo.is_shallow() {
            RevisionError::ShallowClone {
                rev: rev.to_string(),
            }
        } else {
            RevisionError::UnknownRevision {
                rev: rev.to_string(),
            }
        }
    }

    /// The bytes of `path` (relative to the repository root) at `rev`.
    pub fn read(&self, rev: &str, path: &str) -> Result<Vec<u8>, RevisionError> {
        self.read_blob(self.blob_id(rev, path)?, rev, path)
    }

    fn read_blob(&self, id: git2::Oid, rev: &str, path: &str) -> Result<Vec<u8>, RevisionError> {
        let blob = self.repo.find_blob(id).map_err(|e| RevisionError::Git {
            rev: rev.to_string(),
            path: path.to_string(),
            message: e.message().to_string(),
        })?;
        Ok(blob.content().to_vec())
    }

    /// `path` at `rev`, streamed when it is large and stored whole (its
    /// inflation then runs beside whoever reads it), else read whole.
    pub fn open(&self, rev: &str, path: &str) -> Result<Blob, RevisionError> {
        let id = self.blob_id(rev, path)?;
        let streamed = id.as_bytes().try_into().ok().and_then(|bytes| {
            stream::open(self.repo.commondir(), bytes, STREAM_FROM)
                .ok()
                .flatten()
        });
        match streamed {
            Some(streamed) => Ok(Blob::Streamed(streamed)),
            None => self.read_blob(id, rev, path).map(Blob::Whole),
        }
    }

    /// The id of the blob `path` is at `rev`: it names the bytes, so what
    /// was computed from them can be found again without reading them.
    pub fn blob_id(&self, rev: &str, path: &str) -> Result<git2::Oid, RevisionError> {
        let relative = Path::new(path);
        let inside = relative
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside {
            return Err(RevisionError::OutsideRepository {
                path: path.to_string(),
            });
        }
        let commit = self.commit(rev)?;
        let in_tree = self.prefix.join(relative);
        let git_error = |e: git2::Error| RevisionError::Git {
            rev: rev.to_string(),
            path: path.to_string(),
            message: e.message().to_string(),
        };
        let tree = commit.tree().map_err(git_error)?;
        let entry = match tree.get_path(&in_tree) {
            Ok(entry) => entry,
            Err(e) if e.code() == ErrorCode::NotFound => {
                return Err(RevisionError::NoSuchFile {
                    rev: rev.to_string(),
                    path: path.to_string(),
                });
            }
            Err(e) => return Err(git_error(e)),
        };
        // 0o120000 is a symlink: its blob is a path, not the data.
        if entry.kind() != Some(ObjectType::Blob) || entry.filemode() == 0o120000 {
            return Err(RevisionError::NotAFile {
                rev: rev.to_string(),
                path: path.to_string(),
            });
        }
        Ok(entry.id())
    }
}

//! Downloads kept by their content hash, so the next job (whose base is
//! usually the same object) reads them from disk. A download is written
//! to a temporary file while its hash is computed, checked, then renamed
//! into place: a file under its hash's name always holds those bytes.

use std::io::Write;
use std::path::{Path, PathBuf};

use md5::Md5;
use sha2::{Digest, Sha256};

/// How an object is addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Md5,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Md5 => "md5",
        }
    }
}

/// An object's expected hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hash {
    pub algorithm: Algorithm,
    pub hex: String,
}

impl std::fmt::Display for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

/// The cache's directory.
#[derive(Debug, Clone)]
pub struct Cache {
    pub dir: PathBuf,
}

impl Cache {
    /// Where the object of `hash` lives, whether or not it is there yet.
    pub fn path(&self, hash: &Hash) -> PathBuf {
        self.dir
            .join(hash.algorithm.name())
            .join(&hash.hex[..2.min(hash.hex.len())])
            .join(&hash.hex)
    }

    /// The object, when the cache holds it.
    pub fn get(&self, hash: &Hash) -> Option<PathBuf> {
        let path = self.path(hash);
        path.is_file().then_some(path)
    }

    /// A writer that checks what it was given against `expected` (a hash,
    /// or for a download with none, the hash of what arrives).
    pub fn writer(&self, algorithm: Algorithm) -> std::io::Result<Writer> {
        std::fs::create_dir_all(&self.dir)?;
        let file = tempfile::NamedTempFile::new_in(&self.dir)?;
        Ok(Writer {
            file: std::io::BufWriter::with_capacity(1 << 20, file),
            hasher: match algorithm {
                Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
                Algorithm::Md5 => Hasher::Md5(Md5::new()),
            },
            algorithm,
            bytes: 0,
        })
    }
}

enum Hasher {
    Sha256(Sha256),
    Md5(Md5),
}

/// A download on its way into the cache.
pub struct Writer {
    file: std::io::BufWriter<tempfile::NamedTempFile>,
    hasher: Hasher,
    algorithm: Algorithm,
    pub bytes: u64,
}

impl Writer {
    pub fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        match &mut self.hasher {
            Hasher::Sha256(h) => h.update(chunk),
            Hasher::Md5(h) => h.update(chunk),
        }
        self.bytes += chunk.len() as u64;
        self.file.write_all(chunk)
    }

    /// Checks the bytes against `expected` and puts them in place; answers
    /// where, or what arrived when it was not that.
    pub fn finish(self, cache: &Cache, expected: Option<&Hash>) -> Result<PathBuf, Mismatch> {
        let hex = match self.hasher {
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Md5(h) => hex::encode(h.finalize()),
        };
        let got = Hash {
            algorithm: self.algorithm,
            hex,
        };
        if let Some(expected) = expected
            && !expected.hex.eq_ignore_ascii_case(&got.hex)
        {
            return Err(Mismatch::Hash { got });
        }
        let target = cache.path(&got);
        let file = self
            .file
            .into_inner()
            .map_err(|e| Mismatch::Io(e.into_error()))?;
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(Mismatch::Io)?;
        }
        file.persist(&target).map_err(|e| Mismatch::Io(e.error))?;
        Ok(target)
    }
}

/// Why a download did not go into the cache.
#[derive(Debug)]
pub enum Mismatch {
    /// It arrived with another hash.
    Hash {
        got: Hash,
    },
    Io(std::io::Error),
}

/// The sha256 of a short text, hex: a cache key.
pub fn sha256_of(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Hashes a file already on disk (a local cache's, a local remote's).
pub fn hash_file(path: &Path, algorithm: Algorithm) -> std::io::Result<Hash> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0u8; 1 << 20];
    let mut sha = Sha256::new();
    let mut md5 = Md5::new();
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        match algorithm {
            Algorithm::Sha256 => sha.update(&buffer[..read]),
            Algorithm::Md5 => md5.update(&buffer[..read]),
        }
    }
    let hex = match algorithm {
        Algorithm::Sha256 => hex::encode(sha.finalize()),
        Algorithm::Md5 => hex::encode(md5.finalize()),
    };
    Ok(Hash { algorithm, hex })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_enters_the_cache_under_its_hash_only_when_it_is_what_was_expected() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache {
            dir: dir.path().to_path_buf(),
        };
        let expected = Hash {
            algorithm: Algorithm::Md5,
            hex: "5d41402abc4b2a76b9719d911017c592".into(), // md5("hello")
        };
        let mut writer = cache.writer(Algorithm::Md5).unwrap();
        writer.write(b"hel").unwrap();
        writer.write(b"lo").unwrap();
        let path = writer.finish(&cache, Some(&expected)).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        assert_eq!(cache.get(&expected), Some(path.clone()));
        assert_eq!(hash_file(&path, Algorithm::Md5).unwrap(), expected);
        let mut wrong = cache.writer(Algorithm::Md5).unwrap();
        wrong.write(b"hullo").unwrap();
        assert!(matches!(
            wrong.finish(&cache, Some(&expected)),
            Err(Mismatch::Hash { .. })
        ));
    }
}

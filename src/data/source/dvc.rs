//! DVC: a dataset tracked by a `.dvc` file or by `dvc.lock` is its md5;
//! the bytes come from the DVC cache when the checkout has them, else
//! from the default remote of `.dvc/config` (with `.dvc/config.local`),
//! in DVC 3's layout (`files/md5/ab/cdef…`) or DVC 2's (`ab/cdef…`).
//! A directory output (`….dir`) is a dataset too: its files, read as one
//! table. Every object is checked against its md5.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::cache::{Algorithm, Cache, Hash, hash_file};
use super::ini;
use super::local::{DataError, Input};
use super::store::{self, Remote, StoreError};
use crate::data::spec::FileFormat;

/// What DVC records of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    /// The md5 of the file, or of a directory's manifest (`….dir`).
    pub md5: String,
    pub size: Option<u64>,
    /// Within a tracked directory: the file's path inside it.
    pub inside: Option<String>,
    /// Where it is recorded (`data/churn.csv.dvc`, `dvc.lock`).
    pub by: String,
}

impl Tracked {
    fn is_dir(&self) -> bool {
        self.md5.ends_with(".dir")
    }
}

#[derive(Deserialize)]
struct DvcFile {
    #[serde(default)]
    outs: Vec<Out>,
}

#[derive(Deserialize)]
struct Out {
    path: String,
    #[serde(default)]
    md5: Option<String>,
    #[serde(default)]
    size: Option<u64>,
}

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    stages: BTreeMap<String, Stage>,
}

#[derive(Deserialize)]
struct Stage {
    #[serde(default)]
    outs: Vec<Out>,
}

/// Reads a file of the repository at the revision being resolved.
pub type Read<'a> = &'a dyn Fn(&str) -> Option<Vec<u8>>;

/// Whether DVC tracks `path`: a `.dvc` file beside it or beside one of its
/// directories, or an output of `dvc.lock`. A `.dvc` file that cannot be
/// read is an error that names it.
pub fn tracked(path: &str, read: Read<'_>) -> Result<Option<Tracked>, DataError> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    // The file itself, then each directory above it.
    for depth in (1..=parts.len()).rev() {
        let out_path = parts[..depth].join("/");
        let dvc_path = format!("{out_path}.dvc");
        let Some(bytes) = read(&dvc_path) else {
            continue;
        };
        let file: DvcFile = serde_saphyr::from_slice(&bytes).map_err(|e| {
            DataError::new(&dvc_path, format!("is not a DVC file DVC can read: {e}"))
        })?;
        let name = parts[depth - 1];
        if let Some(out) = file.outs.into_iter().find(|o| o.path == name) {
            return found(out, &dvc_path, &parts[depth..]).map(Some);
        }
    }
    let Some(bytes) = read("dvc.lock") else {
        return Ok(None);
    };
    let lock: Lock = serde_saphyr::from_slice(&bytes)
        .map_err(|e| DataError::new("dvc.lock", format!("is not a dvc.lock DVC can read: {e}")))?;
    for out in lock.stages.into_values().flat_map(|s| s.outs) {
        let out_parts: Vec<&str> = out.path.split('/').filter(|p| !p.is_empty()).collect();
        if parts.starts_with(&out_parts) {
            let rest = parts[out_parts.len()..].to_vec();
            return found(out, "dvc.lock", &rest).map(Some);
        }
    }
    Ok(None)
}

fn found(out: Out, by: &str, rest: &[&str]) -> Result<Tracked, DataError> {
    let md5 = out.md5.filter(|m| m.len() >= 32).ok_or_else(|| {
        DataError::new(
            by,
            format!("records `{}` without its md5; run `dvc commit`", out.path),
        )
    })?;
    Ok(Tracked {
        md5,
        size: out.size,
        inside: (!rest.is_empty()).then(|| rest.join("/")),
        by: by.to_string(),
    })
}

/// The default remote of a `.dvc/config` (and its `config.local`), with
/// the options dslp-bot passes to the store.
pub fn default_remote(config: &str, local: Option<&str>, dvc_dir: &Path) -> Option<Remote> {
    let mut sections = ini::sections(config);
    if let Some(local) = local {
        for (section, values) in ini::sections(local) {
            sections.entry(section).or_default().extend(values);
        }
    }
    let name = sections.get("core")?.get("remote")?.clone();
    let values = sections.get(&format!("remote \"{name}\""))?;
    let mut url = values.get("url")?.clone();
    if !url.contains("://") {
        // A folder remote, relative to `.dvc/` when not absolute.
        let folder = Path::new(&url);
        let absolute = if folder.is_absolute() {
            folder.to_path_buf()
        } else {
            dvc_dir.join(folder)
        };
        url = format!("file://{}", absolute.display());
    }
    let mut options = values.clone();
    options.remove("url");
    Some(Remote { url, options })
}

/// Where the repository's DVC objects can be had.
pub struct Objects {
    /// The checkout's DVC cache (`.dvc/cache`).
    pub local_cache: Option<PathBuf>,
    pub remote: Option<Remote>,
    pub cache: Cache,
    /// The most bytes a download may bring (a fork's limit).
    pub limit: Option<u64>,
}

impl Objects {
    /// The tracked path's bytes: a file, or a directory's files read as one.
    pub fn input(
        &self,
        path: &str,
        tracked: &Tracked,
        format: FileFormat,
    ) -> Result<Input, DataError> {
        if let (Some(limit), Some(size)) = (self.limit, tracked.size)
            && size > limit
        {
            return Err(DataError::new(
                path,
                format!(
                    "is tracked by DVC ({}) at {:.1} MB, over the limit of {:.1} MB for pull requests from forks; nothing was downloaded",
                    tracked.by,
                    size as f64 / 1e6,
                    limit as f64 / 1e6
                ),
            ));
        }
        if !tracked.is_dir() {
            return self.object(path, tracked, &tracked.md5).map(Input::File);
        }
        let manifest = self.manifest(path, tracked)?;
        match &tracked.inside {
            Some(inside) => {
                let entry = manifest
                    .iter()
                    .find(|e| e.relpath == *inside)
                    .ok_or_else(|| {
                        DataError::new(
                            path,
                            format!("is not in the directory DVC tracks ({})", tracked.by),
                        )
                    })?;
                self.object(path, tracked, &entry.md5).map(Input::File)
            }
            None => self.combined(path, tracked, &manifest, format),
        }
    }

    /// One object, from the checkout's DVC cache, the download cache or
    /// the remote, checked against its md5.
    fn object(&self, path: &str, tracked: &Tracked, md5: &str) -> Result<PathBuf, DataError> {
        // A directory's manifest is addressed as `<md5>.dir`; its bytes hash
        // to the md5 alone.
        let hash = Hash {
            algorithm: Algorithm::Md5,
            hex: md5.trim_end_matches(".dir").to_string(),
        };
        let (head, tail) = md5.split_at(2.min(md5.len()));
        if let Some(dvc_cache) = &self.local_cache {
            for candidate in [
                dvc_cache.join("files/md5").join(head).join(tail),
                dvc_cache.join(head).join(tail),
            ] {
                if candidate.is_file() {
                    self.verify(path, &candidate, md5)?;
                    return Ok(candidate);
                }
            }
        }
        if let Some(cached) = self.cache.get(&hash) {
            return Ok(cached);
        }
        let remote = self.remote.as_ref().ok_or_else(|| {
            DataError::new(
                path,
                format!(
                    "is tracked by DVC ({}), its object is not in this checkout's DVC cache, and `.dvc/config` names no default remote; set one with `dvc remote add -d NAME URL` and `dvc push`",
                    tracked.by
                ),
            )
        })?;
        let base = remote.url.trim_end_matches('/');
        let mut last = None;
        for key in [
            format!("{base}/files/md5/{head}/{tail}"),
            format!("{base}/{head}/{tail}"),
        ] {
            let at = Remote {
                url: key,
                options: remote.options.clone(),
            };
            match store::fetch(&at, &self.cache, Algorithm::Md5, Some(&hash), self.limit) {
                Ok(file) => return Ok(file),
                Err(StoreError::NotFound(why)) => last = Some(StoreError::NotFound(why)),
                Err(other) => return Err(remote_error(path, tracked, remote, other)),
            }
        }
        Err(remote_error(
            path,
            tracked,
            remote,
            last.unwrap_or(StoreError::NotFound(String::new())),
        ))
    }

    fn verify(&self, path: &str, file: &Path, md5: &str) -> Result<(), DataError> {
        let got = hash_file(file, Algorithm::Md5)
            .map_err(|e| DataError::new(path, format!("cannot read its DVC object: {e}")))?;
        match got.hex == md5.trim_end_matches(".dir") || md5.ends_with(".dir") {
            true => Ok(()),
            false => Err(DataError::new(
                path,
                format!(
                    "its DVC object's md5 is {} where DVC recorded {md5}; run `dvc status` and `dvc commit`",
                    got.hex
                ),
            )),
        }
    }

    fn manifest(&self, path: &str, tracked: &Tracked) -> Result<Vec<Entry>, DataError> {
        let file = self.object(path, tracked, &tracked.md5)?;
        let bytes = std::fs::read(&file).map_err(|e| {
            DataError::new(path, format!("cannot read its DVC directory manifest: {e}"))
        })?;
        serde_json::from_slice(&bytes).map_err(|e| {
            DataError::new(
                path,
                format!("its DVC directory manifest is not DVC's: {e}"),
            )
        })
    }

    /// A directory's data files as one file of `format`: the CSV parts
    /// share their header, which is kept once.
    fn combined(
        &self,
        path: &str,
        tracked: &Tracked,
        manifest: &[Entry],
        format: FileFormat,
    ) -> Result<Input, DataError> {
        let parts: Vec<&Entry> = manifest
            .iter()
            .filter(|e| FileFormat::from_path(&e.relpath) == Some(format))
            .collect();
        if parts.is_empty() {
            return Err(DataError::new(
                path,
                format!(
                    "is a directory DVC tracks ({}), with no {format:?} file in it",
                    tracked.by
                )
                .to_lowercase(),
            ));
        }
        let hash = Hash {
            algorithm: Algorithm::Md5,
            hex: tracked.md5.trim_end_matches(".dir").to_string(),
        };
        let target = self
            .cache
            .dir
            .join("combined")
            .join(format!("{}.{format:?}", hash.hex).to_lowercase());
        if target.is_file() {
            return Ok(Input::File(target));
        }
        let files: Vec<(String, PathBuf)> = parts
            .iter()
            .map(|e| Ok((e.relpath.clone(), self.object(path, tracked, &e.md5)?)))
            .collect::<Result<_, DataError>>()?;
        super::combine::files(path, &files, format, &target)?;
        Ok(Input::File(target))
    }
}

/// One file of a directory output.
#[derive(Debug, Deserialize)]
struct Entry {
    md5: String,
    relpath: String,
}

fn remote_error(path: &str, tracked: &Tracked, remote: &Remote, error: StoreError) -> DataError {
    let advice = match &error {
        StoreError::NotFound(_) => "push it with `dvc push`".to_string(),
        StoreError::Denied(_) => "give dslp-bot read access to the remote: for the App, credentials in the server's environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or an instance role); for the Action, the workflow's (aws-actions/configure-aws-credentials, or secrets as env)".to_string(),
        StoreError::Mismatch { .. } => "the remote holds other bytes under this md5; push again with `dvc push --force`".to_string(),
        _ => "check the remote's URL and that it can be reached".to_string(),
    };
    DataError::new(
        path,
        format!(
            "is tracked by DVC ({}) in remote {}; it could not be read: {error} — {advice}",
            tracked.by, remote.url
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<Vec<u8>> {
        let map: BTreeMap<String, Vec<u8>> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect();
        move |path: &str| map.get(path).cloned()
    }

    #[test]
    fn a_path_is_tracked_by_its_dvc_file_its_directorys_or_dvc_lock() {
        let read = files(&[
            (
                "data/churn.csv.dvc",
                "outs:\n- md5: a304afb96060aad90176268345e10355\n  size: 12\n  hash: md5\n  path: churn.csv\n",
            ),
            (
                "data/raw.dvc",
                "outs:\n- md5: 0123456789abcdef0123456789abcdef.dir\n  size: 99\n  nfiles: 2\n  path: raw\n",
            ),
            (
                "dvc.lock",
                "schema: '2.0'\nstages:\n  prepare:\n    cmd: python prepare.py\n    outs:\n    - path: data/prepared.csv\n      hash: md5\n      md5: ffffffffffffffffffffffffffffffff\n      size: 5\n",
            ),
        ]);
        let t = tracked("data/churn.csv", &read).unwrap().unwrap();
        assert_eq!(
            (t.md5.as_str(), t.size, t.by.as_str()),
            (
                "a304afb96060aad90176268345e10355",
                Some(12),
                "data/churn.csv.dvc"
            )
        );
        let t = tracked("data/raw/2026-11.csv", &read).unwrap().unwrap();
        assert_eq!(
            (t.inside.as_deref(), t.is_dir()),
            (Some("2026-11.csv"), true)
        );
        let t = tracked("data/raw", &read).unwrap().unwrap();
        assert_eq!(t.inside, None);
        let t = tracked("data/prepared.csv", &read).unwrap().unwrap();
        assert_eq!(t.by, "dvc.lock");
        assert_eq!(tracked("data/other.csv", &read).unwrap(), None);
        let broken = files(&[("data/churn.csv.dvc", "outs: [ not: yaml")]);
        assert!(
            tracked("data/churn.csv", &broken)
                .unwrap_err()
                .to_string()
                .contains("data/churn.csv.dvc")
        );
    }

    #[test]
    fn the_default_remote_with_its_local_options() {
        let config = "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://bucket/dvc\n    endpointurl = http://127.0.0.1:5000\n";
        let local = "['remote \"storage\"']\n    access_key_id = key\n";
        let remote = default_remote(config, Some(local), Path::new("/repo/.dvc")).unwrap();
        assert_eq!(remote.url, "s3://bucket/dvc");
        assert_eq!(remote.options["endpointurl"], "http://127.0.0.1:5000");
        assert_eq!(remote.options["access_key_id"], "key");
        let folder = "[core]\nremote = local\n['remote \"local\"']\nurl = ../../store\n";
        let remote = default_remote(folder, None, Path::new("/repo/.dvc")).unwrap();
        assert_eq!(remote.url, "file:///repo/.dvc/../../store");
        assert_eq!(default_remote("[core]\n", None, Path::new("/r")), None);
    }
}

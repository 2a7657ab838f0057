//! The same model on the base revision: its own config and data, read
//! from git, trained once and cached by what it was trained from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{CONFIG_PATH, RepoConfig};
use crate::model::curves::Curves;
use crate::model::stamp;
use crate::revision::Revisions;

use super::files::{dataset_paths, read_at};
use super::run::{ModelRun, external_metrics, run_model};
use crate::data::source::Resolver;

#[derive(Serialize, Deserialize)]
struct CachedMetrics {
    key: String,
    metrics: BTreeMap<String, f64>,
    /// The parameters it was trained with (tuned ones included); none in
    /// caches an older dslp-bot wrote.
    #[serde(default)]
    params: Option<BTreeMap<String, f64>>,
    /// Its ROC and precision-recall curves (a binary model's).
    #[serde(default)]
    curves: Option<Curves>,
}

/// The model as it is on the base revision: its metrics, and the
/// parameters it was trained with (none for an external pipeline's).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct BaseRun {
    pub metrics: BTreeMap<String, f64>,
    pub params: Option<BTreeMap<String, f64>>,
    pub curves: Option<Curves>,
}

/// The base revision's config.
pub(super) fn config_at(revisions: &Revisions, rev: &str) -> Result<RepoConfig, String> {
    let text = revisions
        .read(rev, CONFIG_PATH)
        .map_err(|e| format!("no base config: {e}"))?;
    let text = String::from_utf8(text).map_err(|_| "the base config is not UTF-8".to_string())?;
    RepoConfig::parse(&text, &format!("{CONFIG_PATH} at {rev}"))
        .map_err(|e| format!("the base config is invalid: {e}"))
}

/// The model at the base revision, from its own config and data; cached
/// by (config hash, data hash) so an unchanged base is not retrained.
pub(super) fn base_run(resolver: &Resolver<'_>, rev: &str, name: &str) -> Result<BaseRun, String> {
    let revisions = resolver
        .revisions
        .ok_or("the working tree is not inside a git repository")?;
    let config = config_at(revisions, rev)?;
    let spec = config
        .models
        .get(name)
        .ok_or_else(|| format!("model `{name}` is new on this branch"))?;
    let dataset = config
        .datasets
        .get(&spec.dataset)
        .ok_or_else(|| format!("the base config lacks dataset `{}`", spec.dataset))?;
    let read_base =
        |path: &str| read_at(resolver, rev, Some(dataset), path).map_err(|e| e.to_string());
    if let Some(path) = &spec.metrics_file {
        let bytes = read_base(&path.0)?;
        let metrics = external_metrics(&bytes, &path.0).map_err(|e| e.message)?;
        return Ok(BaseRun {
            metrics,
            params: None,
            curves: None,
        });
    }
    let mut hasher_input = vec![stamp::hash_of(&(spec, dataset))];
    for path in dataset_paths(dataset) {
        // A file in git (or its LFS or DVC pointer) is named by its blob
        // id: the cache is found without reading a large base again.
        let id = match revisions.blob_id(rev, &path) {
            Ok(id) => format!("git:{id}"),
            Err(_) => stamp::sha256_hex(&read_base(&path)?),
        };
        hasher_input.push(id);
    }
    hasher_input.push(
        stamp::versions()
            .values()
            .cloned()
            .collect::<Vec<_>>()
            .join(","),
    );
    let key = stamp::hash_of(&hasher_input);
    let cache = cache_path(revisions, &key);
    if let Some(cached) = cache.as_deref().and_then(|p| read_cached(p, &key)) {
        return Ok(cached);
    }
    crate::progress::step(|| format!("training `{name}` as it is at `{rev}`"));
    let run = match run_model(name, spec, dataset, read_base, false)
        .map_err(|e| format!("the base model could not be trained: {e}"))?
    {
        ModelRun::Trained(trained) => BaseRun {
            curves: trained.report.evaluation.curves.clone(),
            metrics: trained.report.evaluation.metrics,
            params: Some(trained.report.params),
        },
        ModelRun::External(metrics) => BaseRun {
            metrics,
            params: None,
            curves: None,
        },
    };
    if let Some(path) = cache {
        write_cached(&path, key, &run);
    }
    Ok(run)
}

/// The cached metrics at `path`, when they are `key`'s. Read back bit for
/// bit (serde_json's `float_roundtrip`): a cached base must compare with a
/// head exactly as a fresh one would.
fn read_cached(path: &Path, key: &str) -> Option<BaseRun> {
    let bytes = std::fs::read(path).ok()?;
    let cached: CachedMetrics = serde_json::from_slice(&bytes).ok()?;
    (cached.key == key).then_some(BaseRun {
        metrics: cached.metrics,
        params: cached.params,
        curves: cached.curves,
    })
}

/// Caches the run; a cache that cannot be written is only slower.
fn write_cached(path: &Path, key: String, run: &BaseRun) {
    let _ = std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")));
    let cached = CachedMetrics {
        key,
        metrics: run.metrics.clone(),
        params: run.params.clone(),
        curves: run.curves.clone(),
    };
    let _ = std::fs::write(path, serde_json::to_vec(&cached).unwrap_or_default());
}

/// Inside `.git/`, so the cache is never committed.
fn cache_path(revisions: &Revisions, key: &str) -> Option<PathBuf> {
    Some(
        revisions
            .git_dir()
            .join("dslp-cache")
            .join(format!("base-{key}.json")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Brier score of the issue that found it: read back through the
    /// cache it came out one bit off, and an unchanged model showed a delta.
    #[test]
    fn cached_metrics_read_back_bit_for_bit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("base.json");
        let metrics = BTreeMap::from([
            ("brier".to_string(), 0.18457485394174467),
            ("roc_auc".to_string(), 0.1 + 0.2),
            ("tiny".to_string(), 5e-324),
        ]);
        let run = BaseRun {
            metrics: metrics.clone(),
            params: Some(BTreeMap::from([("c".to_string(), 0.5)])),
            curves: Some(Curves {
                roc: vec![0.0, 0.75, 1.0],
                precision_recall: vec![1.0, 0.5, 0.25],
            }),
        };
        write_cached(&path, "k".into(), &run);
        let back = read_cached(&path, "k").unwrap();
        for (name, value) in &metrics {
            assert_eq!(back.metrics[name].to_bits(), value.to_bits(), "{name}");
        }
        assert_eq!((back.params, back.curves), (run.params, run.curves));
        assert_eq!(read_cached(&path, "another key"), None);
        // A cache an older dslp-bot wrote has no parameters: read, without them.
        std::fs::write(&path, r#"{"key":"k","metrics":{"roc_auc":0.5}}"#).unwrap();
        assert_eq!(read_cached(&path, "k").unwrap().params, None);
    }
}

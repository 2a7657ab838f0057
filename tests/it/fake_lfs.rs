//! Git LFS's batch API (git-lfs `docs/api/batch.md`) as GitHub serves it
//! beside a repository, for the fake: objects live where real `git lfs
//! push` to a bare repository puts them (`<repo>.git/lfs/objects/aa/bb/oid`),
//! and `git lfs` itself can fetch from it (see `lfs.rs`), so the fake
//! answers what the real client expects.

use std::path::Path;

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const MEDIA: &str = "application/vnd.git-lfs+json";

/// Answers `…/<repo>.git/info/lfs/…`; `repo_dir` is the bare repository,
/// `base` the URL it is served at. Authorization was checked by the caller.
pub fn answer(
    repo_dir: &Path,
    base: &str,
    rest: &str,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    match (method.as_str(), rest) {
        ("POST", "objects/batch") => batch(repo_dir, base, headers, body),
        ("GET", oid) if oid.starts_with("objects/") => {
            let oid = &oid["objects/".len()..];
            match object_path(repo_dir, oid).and_then(|p| std::fs::read(p).ok()) {
                Some(bytes) => (StatusCode::OK, bytes).into_response(),
                None => lfs_error(StatusCode::NOT_FOUND, "Object does not exist"),
            }
        }
        _ => lfs_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

fn batch(repo_dir: &Path, base: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    let accepts = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(MEDIA));
    if !accepts {
        return lfs_error(
            StatusCode::NOT_ACCEPTABLE,
            "Accept must be the LFS media type",
        );
    }
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return lfs_error(StatusCode::UNPROCESSABLE_ENTITY, "Body is not JSON");
    };
    if request["operation"] != "download" {
        return lfs_error(StatusCode::FORBIDDEN, "This fake serves downloads only");
    }
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let objects: Vec<Value> = request["objects"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|object| {
            let oid = object["oid"].as_str().unwrap_or_default().to_string();
            let size = object["size"].as_u64().unwrap_or(0);
            match object_path(repo_dir, &oid).filter(|p| p.is_file()) {
                Some(_) => json!({
                    "oid": oid, "size": size, "authenticated": true,
                    "actions": {"download": {
                        "href": format!("{base}/info/lfs/objects/{oid}"),
                        "header": {"Authorization": authorization},
                        "expires_in": 3600,
                    }},
                }),
                None => json!({
                    "oid": oid, "size": size,
                    "error": {"code": 404, "message": "Object does not exist"},
                }),
            }
        })
        .collect();
    let answer = json!({"transfer": "basic", "objects": objects, "hash_algo": "sha256"});
    (
        StatusCode::OK,
        [("content-type", MEDIA)],
        answer.to_string(),
    )
        .into_response()
}

fn object_path(repo_dir: &Path, oid: &str) -> Option<std::path::PathBuf> {
    let valid = oid.len() == 64 && oid.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then(|| {
        repo_dir
            .join("lfs/objects")
            .join(&oid[..2])
            .join(&oid[2..4])
            .join(oid)
    })
}

fn lfs_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [("content-type", MEDIA)],
        json!({"message": message}).to_string(),
    )
        .into_response()
}

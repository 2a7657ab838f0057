//! The fake GitHub's releases: created (as drafts or not), listed newest
//! first, published, and their assets uploaded to the `upload_url` each
//! release names, as GitHub's uploads host takes them (raw bytes, the name
//! in the query).

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use super::{World, paged, reply};

/// The answer to a release operation; `None` for any other.
#[allow(clippy::too_many_arguments)]
pub fn answer(
    world: &mut World,
    method: &str,
    template: &str,
    release_id: u64,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    json_body: &Value,
) -> Option<Response> {
    let refused = || {
        reply(
            StatusCode::FORBIDDEN,
            json!({"message": "Resource not accessible by integration"}),
        )
    };
    Some(match (method, template) {
        ("GET", "repos/{owner}/{repo}/releases") => {
            let mut newest_first = world.releases.clone();
            newest_first.reverse();
            paged(uri, newest_first)
        }
        ("POST", "repos/{owner}/{repo}/releases") if world.contents_read_only => refused(),
        ("POST", "repos/{owner}/{repo}/releases") => {
            let tag = json_body["tag_name"].as_str().unwrap_or_default();
            if world.releases.iter().any(|r| r["tag_name"] == tag) {
                return Some(reply(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"message": "Validation Failed", "errors": [{"resource": "Release", "code": "already_exists", "field": "tag_name"}]}),
                ));
            }
            world.next_id += 1;
            let id = world.next_id;
            let host = headers
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1");
            let path = uri.path();
            let release = json!({
                "id": id,
                "tag_name": tag,
                "target_commitish": json_body["target_commitish"],
                "name": json_body["name"],
                "body": json_body["body"],
                "draft": json_body["draft"].as_bool().unwrap_or(false),
                "html_url": format!("https://github.com{}", path.trim_start_matches("/repos").replace("/releases", "/releases/tag/") + tag),
                "upload_url": format!("http://{host}{path}/{id}/assets{{?name,label}}"),
                "assets": [],
            });
            world.releases.push(release.clone());
            reply(StatusCode::CREATED, release)
        }
        ("PATCH", "repos/{owner}/{repo}/releases/{release_id}") => {
            match world.releases.iter_mut().find(|r| r["id"] == release_id) {
                Some(release) => {
                    if let Some(draft) = json_body["draft"].as_bool() {
                        release["draft"] = draft.into();
                    }
                    reply(StatusCode::OK, release.clone())
                }
                None => reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"})),
            }
        }
        ("POST", "repos/{owner}/{repo}/releases/{release_id}/assets") => {
            let name = uri
                .query()
                .unwrap_or_default()
                .split('&')
                .find_map(|p| p.strip_prefix("name="))
                .map(super::percent_decode);
            let Some(name) = name.filter(|n| !n.is_empty()) else {
                world
                    .violations
                    .push("an asset upload without `?name=`".to_string());
                return Some(reply(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"message": "name is required"}),
                ));
            };
            world.next_id += 1;
            let new_id = world.next_id;
            let Some(release) = world.releases.iter_mut().find(|r| r["id"] == release_id) else {
                return Some(reply(
                    StatusCode::NOT_FOUND,
                    json!({"message": "Not Found"}),
                ));
            };
            let assets = release["assets"].as_array_mut().unwrap();
            if assets.iter().any(|a| a["name"] == name.as_str()) {
                return Some(reply(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"message": "Validation Failed", "errors": [{"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}]}),
                ));
            }
            let content_type = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let asset = json!({"id": new_id, "name": name, "size": body.len(), "content_type": content_type, "state": "uploaded"});
            assets.push(asset.clone());
            world
                .release_assets
                .insert((release_id, name), body.to_vec());
            reply(StatusCode::CREATED, asset)
        }
        ("GET", "repos/{owner}/{repo}/releases/assets/{asset_id}") => {
            let id = asset_id(uri);
            let found = world.releases.iter().find_map(|r| {
                let release = r["id"].as_u64()?;
                let asset = r["assets"].as_array()?.iter().find(|a| a["id"] == id)?;
                Some((release, asset["name"].as_str()?.to_string()))
            });
            let wants_bytes = headers
                .get("accept")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("application/octet-stream"));
            match found {
                Some(key) if wants_bytes => axum::response::IntoResponse::into_response((
                    StatusCode::OK,
                    [("content-type", "application/octet-stream")],
                    world.release_assets[&key].clone(),
                )),
                Some((_, name)) => reply(StatusCode::OK, json!({"id": id, "name": name})),
                None => reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"})),
            }
        }
        _ => return None,
    })
}

fn asset_id(uri: &Uri) -> u64 {
    uri.path()
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or(0)
}

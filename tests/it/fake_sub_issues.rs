//! The fake GitHub's sub-issues (one parent per issue, linked by the
//! child's id as GitHub does, `replace_parent` to move it) and rulesets.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{World, reply};

pub fn answer(
    world: &mut World,
    method: &str,
    template: &str,
    number: u64,
    json_body: &Value,
) -> Option<Response> {
    let child_of = |world: &World| {
        let id = json_body["sub_issue_id"].as_u64()?;
        world
            .issues
            .values()
            .find(|i| i["id"].as_u64() == Some(id))
            .and_then(|i| i["number"].as_u64())
    };
    let not_found = || reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"}));
    Some(match (method, template) {
        ("GET", "repos/{owner}/{repo}/issues/{issue_number}/parent") => {
            match world.parents.get(&number).and_then(|p| world.issues.get(p)) {
                Some(parent) => reply(StatusCode::OK, parent.clone()),
                None => not_found(),
            }
        }
        ("GET", "repos/{owner}/{repo}/issues/{issue_number}/sub_issues") => {
            let children: Vec<Value> = world
                .parents
                .iter()
                .filter(|(_, parent)| **parent == number)
                .filter_map(|(child, _)| world.issues.get(child).cloned())
                .collect();
            reply(StatusCode::OK, Value::Array(children))
        }
        ("POST", "repos/{owner}/{repo}/issues/{issue_number}/sub_issues") => {
            let Some(child) = child_of(world) else {
                return Some(not_found());
            };
            let replace = json_body["replace_parent"].as_bool().unwrap_or(false);
            if world.parents.contains_key(&child) && !replace {
                return Some(reply(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"message": "Validation Failed", "errors": [{"message": "Issue already has a parent"}]}),
                ));
            }
            world.parents.insert(child, number);
            reply(StatusCode::CREATED, world.issues[&child].clone())
        }
        ("DELETE", "repos/{owner}/{repo}/issues/{issue_number}/sub_issue") => {
            match child_of(world).filter(|c| world.parents.get(c) == Some(&number)) {
                Some(child) => {
                    world.parents.remove(&child);
                    reply(StatusCode::OK, world.issues[&child].clone())
                }
                None => not_found(),
            }
        }
        // Rulesets: listed, created, replaced by id.
        ("GET", "repos/{owner}/{repo}/rulesets") if world.rulesets_unavailable => not_found(),
        ("GET", "repos/{owner}/{repo}/rulesets") => reply(
            StatusCode::OK,
            Value::Array(
                world
                    .rulesets
                    .iter()
                    .map(|r| json!({"id": r["id"], "name": r["name"], "source_type": "Repository"}))
                    .collect(),
            ),
        ),
        ("POST", "repos/{owner}/{repo}/rulesets") => {
            world.next_id += 1;
            let mut ruleset = json_body.clone();
            ruleset["id"] = world.next_id.into();
            world.rulesets.push(ruleset.clone());
            reply(StatusCode::CREATED, ruleset)
        }
        ("PUT", "repos/{owner}/{repo}/rulesets/{ruleset_id}") => {
            let id = number;
            match world.rulesets.iter_mut().find(|r| r["id"] == id) {
                Some(ruleset) => {
                    *ruleset = json_body.clone();
                    ruleset["id"] = id.into();
                    reply(StatusCode::OK, ruleset.clone())
                }
                None => not_found(),
            }
        }
        _ => return None,
    })
}

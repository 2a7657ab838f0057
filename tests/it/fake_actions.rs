//! The fake GitHub's Actions: dispatching a workflow (known by its file
//! name; GitHub answers the run it started when asked for it) and reading
//! a run, whose state the tests move on.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{World, reply};

pub fn answer(
    world: &mut World,
    method: &str,
    template: &str,
    params: &BTreeMap<String, String>,
    json_body: &Value,
) -> Option<Response> {
    let not_found = || reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"}));
    Some(match (method, template) {
        ("POST", "repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches") => {
            let workflow = params.get("workflow_id").cloned().unwrap_or_default();
            if !world.workflows.contains(&workflow) {
                return Some(not_found());
            }
            world.next_id += 1;
            let id = world.next_id;
            let html_url = format!("https://github.com/acme/churn/actions/runs/{id}");
            world.workflow_runs.insert(
                id,
                json!({"id": id, "status": "queued", "conclusion": null, "html_url": html_url}),
            );
            world.dispatches.push((workflow, json_body.clone()));
            if json_body["return_run_details"].as_bool() == Some(true) {
                reply(
                    StatusCode::OK,
                    json!({
                        "workflow_run_id": id,
                        "run_url": format!("https://api.github.com/repos/acme/churn/actions/runs/{id}"),
                        "html_url": html_url,
                    }),
                )
            } else {
                reply(StatusCode::NO_CONTENT, Value::Null)
            }
        }
        ("GET", "repos/{owner}/{repo}/actions/runs/{run_id}") => {
            let id = params.get("run_id").and_then(|v| v.parse::<u64>().ok());
            match id.and_then(|id| world.workflow_runs.get(&id)) {
                Some(run) => reply(StatusCode::OK, run.clone()),
                None => not_found(),
            }
        }
        _ => return None,
    })
}

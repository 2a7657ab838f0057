//! The fake GitHub's organisation: its issue types (none for a personal
//! account: 404), and its Projects: projects by number and title,
//! their fields (a single-select field's options get ids), items added once
//! per issue, and the item's field values. An organisation without them (a
//! personal account) answers 404.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{World, reply};

/// One organisation project.
#[derive(Debug, Clone, Default)]
pub struct Project {
    pub title: String,
    pub fields: Vec<Value>,
    /// item id → (issue number, field id → option id).
    pub items: BTreeMap<u64, (u64, BTreeMap<u64, String>)>,
}

impl Project {
    /// The stage option's name an issue's item has, if any.
    pub fn stage_of(&self, issue: u64) -> Option<String> {
        let field = self.fields.iter().find(|f| f["name"] == "Stage")?;
        let (_, values) = self.items.values().find(|(n, _)| *n == issue)?;
        let option = values.get(&field["id"].as_u64()?)?;
        let options = field["options"].as_array()?;
        let chosen = options.iter().find(|o| o["id"] == option.as_str())?;
        chosen["name"]["raw"].as_str().map(String::from)
    }
}

pub fn answer(
    world: &mut World,
    method: &str,
    template: &str,
    params: &BTreeMap<String, String>,
    json_body: &Value,
) -> Option<Response> {
    if template == "orgs/{org}/issue-types" {
        return Some(issue_types(world, method, json_body));
    }
    if !template.starts_with("orgs/{org}/projectsV2") {
        return None;
    }
    let not_found = || reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"}));
    let number = params
        .get("project_number")
        .and_then(|n| n.parse::<u64>().ok());
    if template == "orgs/{org}/projectsV2" {
        let listed: Vec<Value> = world
            .projects
            .iter()
            .map(|(n, p)| json!({"id": n * 100, "number": n, "title": p.title}))
            .collect();
        return Some(match world.projects.is_empty() {
            true => not_found(),
            false => reply(StatusCode::OK, Value::Array(listed)),
        });
    }
    world.next_id += 1;
    let next_id = world.next_id;
    let Some(project) = number.and_then(|n| world.projects.get_mut(&n)) else {
        return Some(not_found());
    };
    Some(match (method, template) {
        ("GET", "orgs/{org}/projectsV2/{project_number}/fields") => {
            reply(StatusCode::OK, Value::Array(project.fields.clone()))
        }
        ("POST", "orgs/{org}/projectsV2/{project_number}/fields") => {
            let options: Vec<Value> = json_body["single_select_options"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, o)| {
                    json!({
                        "id": format!("opt{next_id}-{i}"),
                        "name": {"raw": o["name"], "html": o["name"]},
                        "description": {"raw": "", "html": ""},
                        "color": o["color"],
                    })
                })
                .collect();
            let field = json!({
                "id": next_id, "name": json_body["name"], "data_type": json_body["data_type"],
                "options": options, "project_url": "https://api.github.com/projects/1",
                "created_at": "2026-12-04T00:00:00Z", "updated_at": "2026-12-04T00:00:00Z",
            });
            project.fields.push(field.clone());
            reply(StatusCode::CREATED, field)
        }
        ("POST", "orgs/{org}/projectsV2/{project_number}/items") => {
            let issue = json_body["number"].as_u64().unwrap_or(0);
            let existing = project
                .items
                .iter()
                .find(|(_, (n, _))| *n == issue)
                .map(|(id, _)| *id);
            let id = existing.unwrap_or_else(|| {
                project.items.insert(next_id, (issue, BTreeMap::new()));
                next_id
            });
            reply(
                StatusCode::CREATED,
                json!({"id": id, "content_type": "Issue"}),
            )
        }
        ("PATCH", "orgs/{org}/projectsV2/{project_number}/items/{item_id}") => {
            let item = params.get("item_id").and_then(|n| n.parse::<u64>().ok());
            let Some((_, values)) = item.and_then(|id| project.items.get_mut(&id)) else {
                return Some(not_found());
            };
            for field in json_body["fields"].as_array().into_iter().flatten() {
                if let (Some(id), Some(value)) = (field["id"].as_u64(), field["value"].as_str()) {
                    values.insert(id, value.to_string());
                }
            }
            reply(StatusCode::OK, json!({"id": item}))
        }
        _ => return None,
    })
}

/// `GET` lists the organisation's issue types; `POST` adds one (the
/// repository's list shows it too).
fn issue_types(world: &mut World, method: &str, json_body: &Value) -> Response {
    let Some(types) = world.org_issue_types.as_mut() else {
        return reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"}));
    };
    if method == "POST" {
        let name = json_body["name"].as_str().unwrap_or_default().to_string();
        types.push(name.clone());
        world.issue_types.push(name.clone());
        return reply(
            StatusCode::OK,
            json!({"id": types.len(), "node_id": "IT_new", "name": name, "is_enabled": true}),
        );
    }
    let listed: Vec<Value> = types
        .iter()
        .enumerate()
        .map(|(i, name)| json!({"id": i + 1, "node_id": format!("IT_{i}"), "name": name, "is_enabled": true}))
        .collect();
    reply(StatusCode::OK, Value::Array(listed))
}

//! A fake GitHub on loopback: an in-memory model of issues, comments,
//! labels, check runs, statuses and pull-request files, which the real
//! octocrab client talks to. Every request's method, path and JSON body is
//! validated against GitHub's published OpenAPI description (the vendored
//! subset); anything else is recorded as a violation and fails the test.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::support::fixture;

// Beside the file, so the benches that include this one find it too.
#[path = "fake_lfs.rs"]
mod fake_lfs;

#[path = "fake_releases.rs"]
mod fake_releases;

#[path = "fake_actions.rs"]
mod fake_actions;
#[path = "fake_projects.rs"]
pub mod fake_projects;
#[path = "fake_sub_issues.rs"]
mod fake_sub_issues;

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub issue: u64,
    pub body: String,
    pub edits: u32,
}

#[derive(Debug, Clone)]
pub struct CheckRun {
    pub id: u64,
    pub name: String,
    pub head_sha: String,
    /// `in_progress` until it has a conclusion, then `completed`.
    pub status: String,
    pub external_id: String,
    pub details_url: String,
    pub conclusion: String,
    pub title: String,
    pub summary: String,
    pub text: String,
    pub annotations: usize,
}

/// An answer to give instead of the real one.
#[derive(Debug, Clone)]
pub enum Fault {
    Status(u16),
    RateLimited {
        retry_after: u64,
    },
    /// Answer only after this long: longer than the client's timeout is a timeout.
    Slow(Duration),
}

#[derive(Default)]
pub struct World {
    pub issues: BTreeMap<u64, Value>,
    pub comments: Vec<Comment>,
    pub check_runs: Vec<CheckRun>,
    pub statuses: Vec<(String, Value)>,
    pub labels: BTreeMap<String, Value>,
    pub pull_files: BTreeMap<u64, Vec<String>>,
    /// (path, ref) → contents.
    pub files: BTreeMap<(String, String), Vec<u8>>,
    /// (method, path fragment, fault): the next matching request gets the fault.
    pub faults: VecDeque<(Method, String, Fault)>,
    /// The token may not use the Checks API or comment (a fork's read-only token).
    pub read_only: bool,
    pub requests: Vec<String>,
    pub violations: Vec<String>,
    /// Set for an App host: `/app` calls must carry a JWT this key verifies,
    /// and repository calls a token issued by `access_tokens`.
    pub app: Option<AppHost>,
    /// Installation tokens issued, in order.
    pub tokens: Vec<String>,
    /// branch → commit.
    pub branches: BTreeMap<String, String>,
    /// Pull requests as `GET /pulls/{n}` answers them, when set.
    pub pulls: BTreeMap<u64, Value>,
    /// What `GET /app/hook/deliveries` lists, newest first.
    pub hook_deliveries: Vec<Value>,
    /// Delivery ids the App asked to redeliver.
    pub redeliveries: Vec<u64>,
    /// Bare repositories served over git's smart HTTP at `/git/{owner}/{name}.git`.
    pub git_root: Option<std::path::PathBuf>,
    /// user → permission (`admin`, `write`, `read`…); others are not collaborators.
    pub permissions: BTreeMap<String, String>,
    /// A person's edit that lands right after the bot's next read of an
    /// issue: (issue, text appended to its body).
    pub edit_after_read: Option<(u64, String)>,
    /// branch → commits of `main` it lacks (compare's `behind_by`).
    pub behind: BTreeMap<String, u64>,
    /// branch → the protection body it was given.
    pub protections: BTreeMap<String, Value>,
    /// The token may only read contents: creating branches is refused.
    pub contents_read_only: bool,
    /// The token may change branch protection (Administration: write).
    pub may_administer: bool,
    /// Pull requests opened through the API: (number, title, head, base, body).
    pub opened_pulls: Vec<(u64, String, String, String, String)>,
    /// Sub-issue → its parent issue (numbers).
    pub parents: BTreeMap<u64, u64>,
    /// The organisation's issue types.
    pub issue_types: Vec<String>,
    /// The organisation's issue types (`None`: a personal account, 404).
    pub org_issue_types: Option<Vec<String>>,
    /// The organisation's projects, by number (none: a personal account).
    pub projects: BTreeMap<u64, fake_projects::Project>,
    /// Workflow files on the default branch that take `workflow_dispatch`.
    pub workflows: std::collections::BTreeSet<String>,
    /// Dispatches asked for: (workflow, request body).
    pub dispatches: Vec<(String, Value)>,
    /// Workflow runs by id, as `GET /actions/runs/{id}` answers them.
    pub workflow_runs: BTreeMap<u64, Value>,
    /// The repository's rulesets, as created (with their `id`).
    pub rulesets: Vec<Value>,
    /// Rulesets are not a route here (an older GitHub Enterprise Server).
    pub rulesets_unavailable: bool,
    /// Releases, oldest first.
    pub releases: Vec<Value>,
    /// (release id, asset name) → the bytes uploaded.
    pub release_assets: BTreeMap<(u64, String), Vec<u8>>,
    next_id: u64,
}

#[derive(Clone)]
pub struct AppHost {
    pub app_id: u64,
    pub public_key_pem: Vec<u8>,
}

/// Checks an App JWT as GitHub does: RS256 under the App's key, issued by
/// the App, not expired, and living at most ten minutes.
fn verify_app_jwt(app: &AppHost, authorization: Option<&str>) -> Result<(), String> {
    let token = authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .ok_or("no Bearer JWT")?;
    let key =
        jsonwebtoken::DecodingKey::from_rsa_pem(&app.public_key_pem).map_err(|e| e.to_string())?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_issuer(&[app.app_id.to_string()]);
    validation.set_required_spec_claims(&["exp", "iat", "iss"]);
    let data =
        jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|e| e.to_string())?;
    let (iat, exp) = (
        data.claims["iat"].as_u64().unwrap_or(0),
        data.claims["exp"].as_u64().unwrap_or(u64::MAX),
    );
    if exp.saturating_sub(iat) > 600 {
        return Err(format!("the JWT lives {} s; GitHub allows 600", exp - iat));
    }
    Ok(())
}

pub struct FakeGitHub {
    pub url: String,
    pub world: Arc<Mutex<World>>,
}

struct Operation {
    method: String,
    template: Vec<String>,
    body_schema: Option<Value>,
    /// GitHub accepts no body at all when the request body is optional.
    body_required: bool,
}

fn operations() -> Vec<Operation> {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("github/openapi-subset.json")).unwrap(),
    )
    .unwrap();
    let mut out = Vec::new();
    for (path, methods) in spec["paths"].as_object().unwrap() {
        for (method, op) in methods.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let body_schema = op["requestBody"]["content"]["application/json"]["schema"]
                .as_object()
                .map(|schema| {
                    let mut schema = Value::Object(schema.clone());
                    openapi_to_json_schema(&mut schema);
                    let mut components = spec["components"].clone();
                    openapi_to_json_schema(&mut components);
                    schema["components"] = components;
                    schema
                });
            out.push(Operation {
                body_required: op["requestBody"]["required"].as_bool().unwrap_or(false),
                method: method.to_uppercase(),
                template: path
                    .trim_start_matches('/')
                    .split('/')
                    .map(str::to_string)
                    .collect(),
                body_schema,
            });
        }
    }
    out
}

/// OpenAPI 3.0's `nullable: true` is `type: [T, "null"]` in JSON Schema.
fn openapi_to_json_schema(node: &mut Value) {
    match node {
        Value::Object(map) => {
            if map.get("nullable") == Some(&Value::Bool(true))
                && let Some(Value::String(t)) = map.get("type").cloned()
            {
                map.insert("type".into(), json!([t, "null"]));
            }
            for value in map.values_mut() {
                openapi_to_json_schema(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(openapi_to_json_schema),
        _ => {}
    }
}

fn matches(template: &[String], path: &[&str]) -> Option<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    for (i, part) in template.iter().enumerate() {
        // A trailing file path or git ref spans the rest of the URL.
        if part == "{path}" || (part == "{ref}" && i + 1 == template.len()) {
            let name = part.trim_matches(|c| c == '{' || c == '}').to_string();
            params.insert(name, percent_decode(&path.get(i..)?.join("/")));
            return Some(params);
        }
        let segment = path.get(i)?;
        if part.starts_with('{') {
            params.insert(
                part.trim_matches(|c| c == '{' || c == '}').to_string(),
                percent_decode(segment),
            );
        } else if part != segment {
            return None;
        }
    }
    (template.len() == path.len()).then_some(params)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl FakeGitHub {
    pub async fn start() -> FakeGitHub {
        let world = Arc::new(Mutex::new(World {
            next_id: 1000,
            ..World::default()
        }));
        let ops = Arc::new(operations());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = world.clone();
        let git_state = world.clone();
        let app = axum::Router::new()
            .route(
                "/git/{*path}",
                axum::routing::any(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let state = git_state.clone();
                        async move {
                            tokio::task::spawn_blocking(move || {
                                git_http_backend(&state, method, uri, headers, body)
                            })
                            .await
                            .unwrap()
                        }
                    },
                ),
            )
            .fallback(
                move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                    let state = state.clone();
                    let ops = ops.clone();
                    async move {
                        let (response, delay) = handle(&state, &ops, method, uri, headers, body);
                        if let Some(delay) = delay {
                            tokio::time::sleep(delay).await;
                        }
                        response
                    }
                },
            );
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeGitHub { url, world }
    }

    /// Seeds the demo project's issues (Ask #1 … Experiment #8).
    pub fn with_demo_issues(&self) {
        let export: Value =
            serde_json::from_str(&std::fs::read_to_string(fixture("demo/issues.json")).unwrap())
                .unwrap();
        self.with_issues(&export);
    }

    /// Seeds issues from a `gh issue list --json` export.
    pub fn with_issues(&self, export: &Value) {
        let mut world = self.world.lock().unwrap();
        for issue in export.as_array().unwrap() {
            let number = issue["number"].as_u64().unwrap();
            world.issues.insert(
                number,
                json!({
                    "id": 100_000 + number,
                    "number": number,
                    "title": issue["title"],
                    "body": issue["body"],
                    "state": issue["state"].as_str().unwrap_or("open").to_lowercase(),
                    "labels": issue["labels"],
                }),
            );
        }
    }

    pub fn add_pull_request(&self, number: u64, title: &str, files: &[&str]) {
        let mut world = self.world.lock().unwrap();
        world.issues.insert(number, json!({"number": number, "title": title, "body": "", "state": "open", "labels": [], "pull_request": {"url": "x"}}));
        world
            .pull_files
            .insert(number, files.iter().map(|f| f.to_string()).collect());
    }

    pub fn inject(&self, method: Method, path_fragment: &str, fault: Fault) {
        self.world
            .lock()
            .unwrap()
            .faults
            .push_back((method, path_fragment.to_string(), fault));
    }

    pub fn comments_on(&self, issue: u64) -> Vec<Comment> {
        self.world
            .lock()
            .unwrap()
            .comments
            .iter()
            .filter(|c| c.issue == issue)
            .cloned()
            .collect()
    }

    pub fn check_runs(&self) -> Vec<CheckRun> {
        self.world.lock().unwrap().check_runs.clone()
    }

    /// Fails the test if the bot sent anything GitHub's description rejects.
    pub fn assert_no_violations(&self) {
        let world = self.world.lock().unwrap();
        assert!(
            world.violations.is_empty(),
            "requests GitHub would reject: {:#?}",
            world.violations
        );
    }
}

/// git's smart HTTP, served by `git http-backend` as GitHub serves it, with
/// an installation token required as Basic credentials.
fn git_http_backend(
    world: &Mutex<World>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    use base64::Engine as _;
    use std::io::Write as _;
    let (root, tokens) = {
        let mut world = world.lock().unwrap();
        world.requests.push(format!("{method} {}", uri.path()));
        (world.git_root.clone(), world.tokens.clone())
    };
    let Some(root) = root else {
        return reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"}));
    };
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|c| c.strip_prefix("x-access-token:").map(str::to_string))
        .is_some_and(|token| tokens.contains(&token));
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", "Basic realm=\"GitHub\"")],
            "Invalid username or token.",
        )
            .into_response();
    }
    let path_info = uri.path().trim_start_matches("/git");
    if let Some((repo, rest)) = path_info.split_once(".git/info/lfs/") {
        let host = headers
            .get("host")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("127.0.0.1");
        let base = format!("http://{host}/git{repo}.git");
        let repo_dir = root.join(format!("{}.git", repo.trim_start_matches('/')));
        return fake_lfs::answer(&repo_dir, &base, rest, &method, &headers, &body);
    }
    let mut child = std::process::Command::new("git")
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", &root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", path_info)
        .env("REQUEST_METHOD", method.as_str())
        .env("QUERY_STRING", uri.query().unwrap_or(""))
        .env(
            "CONTENT_TYPE",
            headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
        )
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&body).unwrap();
    let output = child.wait_with_output().unwrap();
    let raw = output.stdout;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| {
            raw.windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, i + 2))
        })
        .unwrap_or((raw.len(), raw.len()));
    let head = String::from_utf8_lossy(&raw[..split.0]).into_owned();
    let mut status = StatusCode::OK;
    let mut response_headers = Vec::new();
    for line in head.lines() {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("status") {
                let code = value.trim().split(' ').next().unwrap_or("200");
                status = StatusCode::from_u16(code.parse().unwrap_or(200)).unwrap();
            } else {
                response_headers.push((name.trim().to_string(), value.trim().to_string()));
            }
        }
    }
    let mut response = (status, raw[split.1..].to_vec()).into_response();
    for (name, value) in response_headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            axum::http::HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// A query parameter's value, percent-decoded.
fn query_value(uri: &Uri, key: &str) -> Option<String> {
    let prefix = format!("{key}=");
    let raw = uri
        .query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix(prefix.as_str()))?;
    Some(percent_decode(raw))
}

/// The `page` query parameter, 1 when absent.
fn page(uri: &Uri) -> usize {
    uri.query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("page=")))
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
}

/// A page of `items` as GitHub answers it: `per_page` of them (30 unless
/// asked), and a `Link` header to the next page while there is one.
fn paged(uri: &Uri, items: Vec<Value>) -> Response {
    let per_page = uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("per_page=")))
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = page(uri);
    let more = items.len() > page * per_page;
    let body = Value::Array(
        items
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect(),
    );
    let mut response = reply(StatusCode::OK, body);
    if more {
        let query: Vec<&str> = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|kv| !kv.is_empty() && !kv.starts_with("page="))
            .collect();
        let link = format!(
            "<http://localhost{}?{}&page={}>; rel=\"next\"",
            uri.path(),
            query.join("&"),
            page + 1
        );
        response.headers_mut().insert("link", link.parse().unwrap());
    }
    response
}

fn reply(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The answer, and how long to hold it back.
fn handle(
    world: &Mutex<World>,
    ops: &[Operation],
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (Response, Option<Duration>) {
    let mut delay = None;
    let response = answer(world, ops, method, uri, headers, body, &mut delay);
    (response, delay)
}

fn answer(
    world: &Mutex<World>,
    ops: &[Operation],
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    delay: &mut Option<Duration>,
) -> Response {
    let mut world = world.lock().unwrap();
    let path = uri.path().to_string();
    world.requests.push(format!("{method} {path}"));
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    if let Some(app) = world.app.clone() {
        let refused = if path.starts_with("/app") {
            verify_app_jwt(&app, authorization).err()
        } else {
            let token = authorization.and_then(|a| {
                a.strip_prefix("Bearer ")
                    .or_else(|| a.strip_prefix("token "))
            });
            (!token.is_some_and(|t| world.tokens.iter().any(|issued| issued == t)))
                .then(|| "not an installation token this App was given".to_string())
        };
        if let Some(why) = refused {
            world.violations.push(format!("{method} {path}: {why}"));
            return reply(
                StatusCode::UNAUTHORIZED,
                json!({"message": "Bad credentials"}),
            );
        }
    }
    if !authorization.is_some_and(|v| v.starts_with("Bearer ") || v.starts_with("token ")) {
        world.violations.push(format!("{method} {path}: no token"));
        return reply(
            StatusCode::UNAUTHORIZED,
            json!({"message": "Requires authentication"}),
        );
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let Some((op, params)) = ops.iter().find_map(|op| {
        (op.method == method.as_str())
            .then(|| matches(&op.template, &parts))
            .flatten()
            .map(|p| (op, p))
    }) else {
        world.violations.push(format!(
            "{method} {path}: not an operation of GitHub's REST API we know"
        ));
        return reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"}));
    };
    let json_body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let optional_and_absent = body.is_empty() && !op.body_required;
    if let Some(schema) = op.body_schema.as_ref().filter(|_| !optional_and_absent) {
        match jsonschema::validator_for(schema) {
            Ok(validator) => {
                let errors: Vec<String> = validator
                    .iter_errors(&json_body)
                    .map(|e| e.to_string())
                    .collect();
                if !errors.is_empty() {
                    world.violations.push(format!(
                        "{method} {path}: body {json_body} breaks the schema: {}",
                        errors.join("; ")
                    ));
                    return reply(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        json!({"message": "Validation Failed"}),
                    );
                }
            }
            Err(e) => world.violations.push(format!(
                "{method} {path}: the vendored schema does not compile: {e}"
            )),
        }
    }
    if let Some(index) = world
        .faults
        .iter()
        .position(|(m, fragment, _)| *m == method && path.contains(fragment.as_str()))
    {
        let (_, _, fault) = world.faults.remove(index).unwrap();
        return match fault {
            Fault::Slow(duration) => {
                // Answered too late to matter, and not acted on, as a request
                // that never reached GitHub.
                *delay = Some(duration);
                reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"message": "too late"}),
                )
            }
            Fault::Status(code) => reply(
                StatusCode::from_u16(code).unwrap(),
                json!({"message": "injected fault"}),
            ),
            Fault::RateLimited { retry_after } => (
                StatusCode::FORBIDDEN,
                [
                    ("content-type", "application/json".to_string()),
                    ("retry-after", retry_after.to_string()),
                    ("x-ratelimit-remaining", "0".to_string()),
                ],
                json!({"message": "You have exceeded a secondary rate limit"}).to_string(),
            )
                .into_response(),
        };
    }
    let read_only_refusal = || {
        reply(
            StatusCode::FORBIDDEN,
            json!({"message": "Resource not accessible by integration"}),
        )
    };
    let number = |key: &str| {
        params
            .get(key)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let template = op.template.join("/");
    if let Some(answer) = fake_releases::answer(
        &mut world,
        method.as_str(),
        &template,
        number("release_id"),
        &uri,
        &headers,
        &body,
        &json_body,
    ) {
        return answer;
    }
    let issue_number = number("issue_number").max(number("ruleset_id"));
    if let Some(answer) =
        fake_projects::answer(&mut world, method.as_str(), &template, &params, &json_body)
    {
        return answer;
    }
    if let Some(answer) =
        fake_actions::answer(&mut world, method.as_str(), &template, &params, &json_body)
    {
        return answer;
    }
    if let Some(answer) = fake_sub_issues::answer(
        &mut world,
        method.as_str(),
        &template,
        issue_number,
        &json_body,
    ) {
        return answer;
    }
    match (method.as_str(), template.as_str()) {
        ("GET", "repos/{owner}/{repo}/issues") => {
            let all: Vec<Value> = world.issues.values().cloned().collect();
            paged(&uri, all)
        }
        ("GET", "repos/{owner}/{repo}/issues/{issue_number}") => {
            let wanted = number("issue_number");
            let answer = match world.issues.get(&wanted) {
                Some(issue) => reply(StatusCode::OK, issue.clone()),
                None => reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"})),
            };
            if world
                .edit_after_read
                .as_ref()
                .is_some_and(|(n, _)| *n == wanted)
            {
                let (_, text) = world.edit_after_read.take().unwrap();
                if let Some(issue) = world.issues.get_mut(&wanted) {
                    let body = format!("{}{text}", issue["body"].as_str().unwrap_or_default());
                    issue["body"] = body.into();
                }
            }
            answer
        }
        ("POST", "repos/{owner}/{repo}/issues") => {
            let number = world.issues.keys().max().copied().unwrap_or(0) + 1;
            let labels: Vec<Value> = json_body["labels"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|l| json!({"name": l}))
                .collect();
            let mut issue = json!({"id": 100_000 + number, "number": number, "title": json_body["title"], "body": json_body["body"], "state": "open", "labels": labels});
            if let Some(name) = json_body["type"].as_str() {
                if !world.issue_types.iter().any(|t| t == name) {
                    return reply(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        json!({"message": format!("Issue type `{name}` does not exist")}),
                    );
                }
                issue["type"] = json!({"name": name});
            }
            world.issues.insert(number, issue.clone());
            reply(StatusCode::CREATED, issue)
        }
        ("GET", "repos/{owner}/{repo}/compare/{basehead}") => {
            let basehead = params.get("basehead").cloned().unwrap_or_default();
            let head = basehead
                .split_once("...")
                .map(|(_, h)| h.to_string())
                .unwrap_or_default();
            let behind = world.behind.get(&head).copied().unwrap_or(0);
            reply(
                StatusCode::OK,
                json!({"status": if behind > 0 { "diverged" } else { "ahead" }, "ahead_by": 1, "behind_by": behind, "total_commits": 1}),
            )
        }
        ("GET", "repos/{owner}/{repo}/issue-types") => reply(
            StatusCode::OK,
            Value::Array(
                world
                    .issue_types
                    .iter()
                    .enumerate()
                    .map(|(i, name)| json!({"id": i + 1, "node_id": format!("IT_{i}"), "name": name, "description": null, "color": "gray", "is_enabled": true}))
                    .collect(),
            ),
        ),
        ("GET", "repos/{owner}/{repo}") => reply(
            StatusCode::OK,
            json!({"full_name": format!("{}/{}", params["owner"], params["repo"]), "default_branch": "main"}),
        ),
        ("PUT", "repos/{owner}/{repo}/contents/{path}") => {
            use base64::Engine as _;
            let path = params.get("path").cloned().unwrap_or_default();
            let branch = json_body["branch"].as_str().unwrap_or("main").to_string();
            if world.files.contains_key(&(path.clone(), branch.clone())) {
                return reply(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"message": "Invalid request. \"sha\" wasn't supplied."}),
                );
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(json_body["content"].as_str().unwrap_or_default())
                .unwrap_or_default();
            world.files.insert((path.clone(), branch), bytes);
            reply(StatusCode::CREATED, json!({"content": {"path": path}}))
        }
        ("POST", "repos/{owner}/{repo}/pulls") => {
            let number = world.issues.keys().max().copied().unwrap_or(0) + 1;
            let field = |k: &str| json_body[k].as_str().unwrap_or_default().to_string();
            world.issues.insert(number, json!({"number": number, "title": field("title"), "body": field("body"), "state": "open", "labels": [], "pull_request": {"url": "x"}}));
            world.opened_pulls.push((
                number,
                field("title"),
                field("head"),
                field("base"),
                field("body"),
            ));
            reply(StatusCode::CREATED, json!({"number": number}))
        }
        ("GET", "repos/{owner}/{repo}/branches/{branch}/protection") => {
            let branch = params.get("branch").cloned().unwrap_or_default();
            match world.protections.get(&branch) {
                Some(protection) => reply(StatusCode::OK, protection.clone()),
                None => reply(
                    StatusCode::NOT_FOUND,
                    json!({"message": "Branch not protected"}),
                ),
            }
        }
        ("PUT", "repos/{owner}/{repo}/branches/{branch}/protection") => {
            if !world.may_administer {
                return reply(
                    StatusCode::FORBIDDEN,
                    json!({"message": "Resource not accessible by integration"}),
                );
            }
            let branch = params.get("branch").cloned().unwrap_or_default();
            world.protections.insert(branch, json_body.clone());
            reply(StatusCode::OK, json_body)
        }
        ("GET", "repos/{owner}/{repo}/collaborators/{username}/permission") => {
            let user = params.get("username").cloned().unwrap_or_default();
            match world.permissions.get(&user) {
                Some(permission) => reply(
                    StatusCode::OK,
                    json!({"permission": permission, "role_name": permission, "user": {"login": user}}),
                ),
                None => reply(
                    StatusCode::NOT_FOUND,
                    json!({"message": format!("{user} is not a user")}),
                ),
            }
        }
        ("POST", "repos/{owner}/{repo}/git/refs") if world.contents_read_only => {
            read_only_refusal()
        }
        ("POST", "repos/{owner}/{repo}/git/refs") => {
            let name = json_body["ref"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches("refs/heads/")
                .to_string();
            if world.branches.contains_key(&name) {
                return reply(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"message": "Reference already exists"}),
                );
            }
            let sha = json_body["sha"].as_str().unwrap_or_default().to_string();
            world.branches.insert(name.clone(), sha.clone());
            reply(
                StatusCode::CREATED,
                json!({"ref": format!("refs/heads/{name}"), "object": {"sha": sha, "type": "commit"}}),
            )
        }
        ("DELETE", "repos/{owner}/{repo}/git/refs/{ref}") => {
            let name = params
                .get("ref")
                .cloned()
                .unwrap_or_default()
                .trim_start_matches("heads/")
                .to_string();
            match world.branches.remove(&name) {
                Some(_) => (StatusCode::NO_CONTENT, "").into_response(),
                None => reply(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"message": "Reference does not exist"}),
                ),
            }
        }
        ("PATCH", "repos/{owner}/{repo}/pulls/{pull_number}") => {
            let n = number("pull_number");
            if let Some(state) = json_body["state"].as_str()
                && let Some(issue) = world.issues.get_mut(&n)
            {
                issue["state"] = state.into();
            }
            match world.pulls.get_mut(&n) {
                Some(pull) => {
                    if let Some(base) = json_body["base"].as_str() {
                        pull["base"]["ref"] = base.into();
                    }
                    if let Some(state) = json_body["state"].as_str() {
                        pull["state"] = state.into();
                    }
                    reply(StatusCode::OK, pull.clone())
                }
                None => reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"})),
            }
        }
        ("PATCH", "repos/{owner}/{repo}/issues/{issue_number}") => {
            match world.issues.get_mut(&number("issue_number")) {
                Some(issue) => {
                    for key in ["title", "body", "state"] {
                        if let Some(value) = json_body.get(key) {
                            issue[key] = value.clone();
                        }
                    }
                    reply(StatusCode::OK, issue.clone())
                }
                None => reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"})),
            }
        }
        ("POST", "app/installations/{installation_id}/access_tokens") => {
            let token = format!("ghs_fake_installation_token_{}", world.tokens.len() + 1);
            world.tokens.push(token.clone());
            reply(
                StatusCode::CREATED,
                json!({"token": token, "expires_at": "2099-01-01T00:00:00Z", "permissions": {}, "repository_selection": "all"}),
            )
        }
        ("GET", "app/hook/deliveries") => {
            reply(StatusCode::OK, Value::Array(world.hook_deliveries.clone()))
        }
        ("POST", "app/hook/deliveries/{delivery_id}/attempts") => {
            let id = number("delivery_id");
            world.redeliveries.push(id);
            reply(StatusCode::ACCEPTED, json!({}))
        }
        ("GET", "repos/{owner}/{repo}/branches/{branch}") => {
            let name = params.get("branch").cloned().unwrap_or_default();
            match world.branches.get(&name) {
                Some(sha) => reply(
                    StatusCode::OK,
                    json!({"name": name, "commit": {"sha": sha}, "protected": false}),
                ),
                None => reply(
                    StatusCode::NOT_FOUND,
                    json!({"message": "Branch not found"}),
                ),
            }
        }
        ("GET", "repos/{owner}/{repo}/pulls/{pull_number}")
            if world.pulls.contains_key(&number("pull_number")) =>
        {
            reply(StatusCode::OK, world.pulls[&number("pull_number")].clone())
        }
        ("GET", "repos/{owner}/{repo}/pulls/{pull_number}") => match world
            .issues
            .get(&number("pull_number"))
            .filter(|i| i.get("pull_request").is_some())
        {
            Some(issue) => reply(
                StatusCode::OK,
                json!({
                    "number": issue["number"], "body": issue["body"], "state": issue["state"], "merged": false, "mergeable": true,
                    "head": {"ref": "head", "sha": "0000000000000000000000000000000000000000"}, "base": {"ref": "main", "sha": "0000000000000000000000000000000000000000"},
                }),
            ),
            None => reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"})),
        },
        ("GET", "repos/{owner}/{repo}/issues/{issue_number}/comments") => {
            let issue = number("issue_number");
            let comments: Vec<Value> = world
                .comments
                .iter()
                .filter(|c| c.issue == issue)
                .map(|c| json!({"id": c.id, "body": c.body, "user": {"login": "dslp-bot[bot]"}}))
                .collect();
            reply(StatusCode::OK, Value::Array(comments))
        }
        ("POST", "repos/{owner}/{repo}/issues/{issue_number}/comments") => {
            if world.read_only {
                return read_only_refusal();
            }
            world.next_id += 1;
            let comment = Comment {
                id: world.next_id,
                issue: number("issue_number"),
                body: json_body["body"].as_str().unwrap_or("").to_string(),
                edits: 0,
            };
            world.comments.push(comment.clone());
            reply(
                StatusCode::CREATED,
                json!({"id": comment.id, "body": comment.body}),
            )
        }
        ("PATCH", "repos/{owner}/{repo}/issues/comments/{comment_id}") => {
            let id = number("comment_id");
            match world.comments.iter_mut().find(|c| c.id == id) {
                Some(comment) => {
                    comment.body = json_body["body"].as_str().unwrap_or("").to_string();
                    comment.edits += 1;
                    reply(StatusCode::OK, json!({"id": id, "body": comment.body}))
                }
                None => reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"})),
            }
        }
        ("GET", "repos/{owner}/{repo}/commits/{ref}/check-runs") => {
            if world.read_only {
                return read_only_refusal();
            }
            let sha = params.get("ref").cloned().unwrap_or_default();
            let name = query_value(&uri, "check_name");
            let runs: Vec<Value> = world
                .check_runs
                .iter()
                .filter(|r| r.head_sha == sha && name.as_ref().is_none_or(|n| *n == r.name))
                .map(|r| {
                    json!({
                        "id": r.id, "name": r.name, "status": r.status,
                        "conclusion": (!r.conclusion.is_empty()).then_some(&r.conclusion),
                        "external_id": r.external_id,
                        "html_url": format!("https://github.com/acme/churn/runs/{}", r.id),
                        "output": {"title": r.title, "text": r.text},
                    })
                })
                .collect();
            reply(
                StatusCode::OK,
                json!({"total_count": runs.len(), "check_runs": runs}),
            )
        }
        ("POST", "repos/{owner}/{repo}/check-runs") => {
            if world.read_only {
                return read_only_refusal();
            }
            world.next_id += 1;
            let run = CheckRun {
                id: world.next_id,
                name: json_body["name"].as_str().unwrap_or("").into(),
                head_sha: json_body["head_sha"].as_str().unwrap_or("").into(),
                status: match json_body["conclusion"].as_str() {
                    Some(_) => "completed".into(),
                    None => json_body["status"].as_str().unwrap_or("queued").into(),
                },
                external_id: json_body["external_id"].as_str().unwrap_or("").into(),
                details_url: json_body["details_url"].as_str().unwrap_or("").into(),
                conclusion: json_body["conclusion"].as_str().unwrap_or("").into(),
                title: json_body["output"]["title"].as_str().unwrap_or("").into(),
                summary: json_body["output"]["summary"].as_str().unwrap_or("").into(),
                text: json_body["output"]["text"].as_str().unwrap_or("").into(),
                annotations: json_body["output"]["annotations"]
                    .as_array()
                    .map_or(0, Vec::len),
            };
            world.check_runs.push(run.clone());
            reply(StatusCode::CREATED, json!({"id": run.id}))
        }
        ("PATCH", "repos/{owner}/{repo}/check-runs/{check_run_id}") => {
            let id = number("check_run_id");
            match world.check_runs.iter_mut().find(|r| r.id == id) {
                Some(run) => {
                    if json_body["conclusion"].is_string() {
                        run.status = "completed".into();
                    }
                    run.conclusion = json_body["conclusion"]
                        .as_str()
                        .unwrap_or(&run.conclusion)
                        .into();
                    run.title = json_body["output"]["title"]
                        .as_str()
                        .unwrap_or(&run.title)
                        .into();
                    run.summary = json_body["output"]["summary"]
                        .as_str()
                        .unwrap_or(&run.summary)
                        .into();
                    run.text = json_body["output"]["text"]
                        .as_str()
                        .unwrap_or(&run.text)
                        .into();
                    run.annotations += json_body["output"]["annotations"]
                        .as_array()
                        .map_or(0, Vec::len);
                    reply(StatusCode::OK, json!({"id": id}))
                }
                None => reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"})),
            }
        }
        ("GET", "repos/{owner}/{repo}/commits/{ref}/statuses") => {
            let sha = params.get("ref").cloned().unwrap_or_default();
            let statuses: Vec<Value> = world
                .statuses
                .iter()
                .rev()
                .filter(|(s, _)| *s == sha)
                .map(|(_, status)| status.clone())
                .collect();
            reply(StatusCode::OK, Value::Array(statuses))
        }
        ("POST", "repos/{owner}/{repo}/statuses/{sha}") => {
            world.statuses.push((
                params.get("sha").cloned().unwrap_or_default(),
                json_body.clone(),
            ));
            reply(
                StatusCode::CREATED,
                json!({"id": 1, "state": json_body["state"]}),
            )
        }
        ("GET", "repos/{owner}/{repo}/pulls/{pull_number}/files") => {
            let files: Vec<Value> = world
                .pull_files
                .get(&number("pull_number"))
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|f| json!({"filename": f, "status": "modified"}))
                .collect();
            paged(&uri, files)
        }
        ("GET", "repos/{owner}/{repo}/contents/{path}") => {
            use base64::Engine as _;
            let reference = uri
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("ref=")))
                .map(percent_decode)
                .unwrap_or_else(|| "main".into());
            let path = params.get("path").cloned().unwrap_or_default();
            match world.files.get(&(path.clone(), reference)) {
                Some(bytes) => reply(
                    StatusCode::OK,
                    json!({"type": "file", "encoding": "base64", "path": path, "content": base64::engine::general_purpose::STANDARD.encode(bytes)}),
                ),
                None => reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"})),
            }
        }
        ("PATCH", "repos/{owner}/{repo}/labels/{name}") => {
            let name = params.get("name").cloned().unwrap_or_default();
            world.labels.insert(name, json_body.clone());
            reply(StatusCode::OK, json_body)
        }
        ("POST", "repos/{owner}/{repo}/issues/{issue_number}/labels") => {
            let number = number("issue_number");
            let added: Vec<Value> = json_body["labels"].as_array().cloned().unwrap_or_default();
            match world.issues.get_mut(&number) {
                Some(issue) => {
                    let mut labels = issue["labels"].as_array().cloned().unwrap_or_default();
                    for label in added {
                        let name = label.as_str().unwrap_or_default().to_string();
                        if !labels.iter().any(|l| l["name"] == name.as_str()) {
                            labels.push(json!({"name": name}));
                        }
                    }
                    issue["labels"] = Value::Array(labels.clone());
                    reply(StatusCode::OK, Value::Array(labels))
                }
                None => reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"})),
            }
        }
        ("DELETE", "repos/{owner}/{repo}/issues/{issue_number}/labels/{name}") => {
            let name = params.get("name").cloned().unwrap_or_default();
            match world.issues.get_mut(&number("issue_number")) {
                Some(issue) => {
                    let labels: Vec<Value> = issue["labels"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|l| l["name"] != name.as_str())
                        .collect();
                    issue["labels"] = Value::Array(labels.clone());
                    reply(StatusCode::OK, Value::Array(labels))
                }
                None => reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"})),
            }
        }
        ("GET", "repos/{owner}/{repo}/labels/{name}") => match world
            .labels
            .get(params.get("name").map(String::as_str).unwrap_or(""))
        {
            Some(label) => reply(StatusCode::OK, label.clone()),
            None => reply(StatusCode::NOT_FOUND, json!({"message": "Not Found"})),
        },
        ("POST", "repos/{owner}/{repo}/labels") => {
            let name = json_body["name"].as_str().unwrap_or("").to_string();
            world.labels.insert(name, json_body.clone());
            reply(StatusCode::CREATED, json_body)
        }
        _ => {
            world.violations.push(format!(
                "{method} {path}: the fake does not model this operation yet"
            ));
            reply(
                StatusCode::NOT_IMPLEMENTED,
                json!({"message": "not modelled"}),
            )
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fake_rejects_what_github_would_reject() {
    let github = FakeGitHub::start().await;
    github.add_pull_request(1, "x", &[]);
    let send = |method: &'static str, path: &'static str, body: &'static str| {
        let url = format!("{}{path}", github.url);
        std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let response = agent
                .run(
                    axum::http::Request::builder()
                        .method(method)
                        .uri(&url)
                        .header("Authorization", "Bearer t")
                        .header("Content-Type", "application/json")
                        .body(body.to_string())
                        .unwrap(),
                )
                .unwrap();
            response.status().as_u16().to_string()
        })
        .join()
        .unwrap()
    };
    // A comment without `body`, a check run with an unknown conclusion, and a route GitHub does not have.
    assert_eq!(
        send(
            "POST",
            "/repos/acme/churn/issues/1/comments",
            r#"{"text": "hi"}"#
        ),
        "422"
    );
    assert_eq!(
        send(
            "POST",
            "/repos/acme/churn/check-runs",
            r#"{"name": "dslp", "head_sha": "abc", "conclusion": "great"}"#
        ),
        "422"
    );
    assert_eq!(
        send(
            "POST",
            "/repos/acme/churn/issues/1/comment",
            r#"{"body": "hi"}"#
        ),
        "404"
    );
    assert_eq!(
        send(
            "POST",
            "/repos/acme/churn/issues/1/comments",
            r#"{"body": "hi"}"#
        ),
        "201"
    );
    let violations = github.world.lock().unwrap().violations.clone();
    assert_eq!(violations.len(), 3, "{violations:#?}");
    assert!(
        violations[0].contains("\"body\" is a required property"),
        "{}",
        violations[0]
    );
}

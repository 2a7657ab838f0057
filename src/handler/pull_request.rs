//! A pull request: its rules, the fork gate and limits, the fetch, the
//! evidence, the report, and the lifecycle around it.

use super::*;

pub(super) async fn pull_request(
    github: &impl GitHub,
    ctx: RunContext<'_>,
    event: &PullRequestEvent,
    approved: bool,
) -> Result<Outcome> {
    let (tree, limits) = (ctx.tree, ctx.limits);
    let repo = &event.repo;
    // A fork's pull request answers to the base branch's config, and is not
    // fetched at all until a maintainer approves it.
    let fork_config = match tree {
        Tree::Fetched(_) if event.from_fork => Some(config_at(github, repo, &event.base_ref).await),
        _ => None,
    };
    let fork_approval = match &fork_config {
        Some(Ok(config)) => config.automations.fork_approval,
        _ => true,
    };
    let waits_for_approval = event.from_fork
        && fork_approval
        && !approved
        && !event.labels.iter().any(|l| l == automation::OK_TO_TEST);
    let root = match tree {
        Tree::Workspace(root) => Some(root.clone()),
        // A closed pull request needs only its rules: no fetch.
        Tree::Fetched(_) if event.action == "closed" || waits_for_approval => None,
        Tree::Fetched(fetch) => {
            let clone_url = event.clone_url.clone().ok_or_else(|| {
                anyhow!("the payload names no clone URL for {repo}; cannot fetch its commits")
            })?;
            let (fetch, pull) = (fetch.clone(), event.clone());
            let fetch_limits = if event.from_fork {
                Limits {
                    evidence_time: limits.evidence_time.min(limits.fork_time),
                    ..limits
                }
            } else {
                limits
            };
            Some(
                off_executor(
                    fetch_limits,
                    "fetching the pull request's commits",
                    move || fetch.checkout(&pull, &clone_url),
                )
                .await??,
            )
        }
    };
    let loaded = match (fork_config, &root) {
        (Some(config), _) => config,
        (None, Some(root)) => load_config(root),
        (None, None) => config_of(github, tree, repo).await,
    }
    .and_then(|config| {
        let rulebook = config.rulebook(CONFIG_PATH)?;
        Ok((config, rulebook))
    });
    let (config, rulebook) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => match error.downcast_ref::<ConfigError>() {
            Some(config_error) => return bad_config(github, repo, event, config_error).await,
            None => return Err(error),
        },
    };
    let repository = Repository::read(github, repo).await?;
    let directory = &repository.directory;
    let changed = github.pull_files(repo, event.number).await.ok();
    let facts = PullRequest {
        number: Some(event.number),
        head: event.head_ref.clone(),
        base: event.base_ref.clone(),
        body: Some(event.body.clone()),
        labels: event.labels.clone(),
        state: event.state,
        merged: event.merged,
        changed_files: changed,
        ..PullRequest::default()
    };
    let branch = engine::pull_request_rules(&facts, &rulebook, directory);
    let kind = branch
        .head
        .kind
        .map(|k| rulebook.conventions.policies.get(k).policy.evidence)
        .unwrap_or_default();
    let wants_evidence =
        (kind.data_tests || kind.training) && event.action != "closed" && !waits_for_approval;
    let mut warnings = Vec::new();
    let limits = if event.from_fork {
        limits.for_fork(&config)
    } else {
        limits
    };
    // A fork's files are measured before anything of them is parsed.
    let over_limit = match (&root, event.from_fork && wants_evidence) {
        (Some(root), true) => evidence::within_limits(root, &config, limits.fork_files).err(),
        _ => None,
    };
    let evidence = match root.filter(|_| wants_evidence && over_limit.is_none()) {
        Some(root) => {
            if let Err(RevisionError::ShallowClone { .. }) =
                Revisions::discover(&root).and_then(|r| r.commit_id(&event.base_sha))
            {
                warnings.push(format!(
                    "the base commit {} is not in this shallow clone; set `fetch-depth: 0` on actions/checkout to compare with the base branch",
                    event.base_sha
                ));
            }
            let base = event.base_sha.clone();
            let (data_tests, training) = (kind.data_tests, kind.training);
            let config = config.clone();
            Some(
                off_executor(limits, "gathering the evidence", move || {
                    evidence::gather(&Request {
                        root: &root,
                        config: &config,
                        base: Some(&base),
                        models: &[],
                        run_data_tests: data_tests,
                        run_training: training,
                        output: None,
                    })
                })
                .await?,
            )
        }
        None => None,
    };
    let notice = match &over_limit {
        Some(why) => Some(format!(
            "Not evaluated: {why}. The server's limits (`DSLP_FORK_MAX_ROWS`, `DSLP_FORK_MAX_MB`) and `automations.fork_limits` set them."
        )),
        None if waits_for_approval && (kind.data_tests || kind.training) && event.action != "closed" => Some(
            "This pull request comes from a fork: its data tests and training run after a maintainer comments `/dslp ok-to-test`.".to_string(),
        ),
        None => None,
    };
    let plan = engine::pull_request(
        event.number,
        &event.head_sha,
        &branch,
        &rulebook,
        evidence.as_ref(),
        CONFIG_PATH,
        notice.as_deref(),
    );
    warnings.extend(execute(github, repo, &plan).await?);
    // The lifecycle around the pull request.
    let head = rulebook.conventions.classify(&event.head_ref);
    let linked = match head.number.map(|n| directory.lookup_number(n)) {
        Some(Lookup::Found(issue)) if !issue.is_pull_request => Some(issue),
        _ => None,
    };
    // The ledger's evaluations, with this one.
    let mut evaluations = ctx.evaluations.to_vec();
    if let Some(evidence) = &evidence {
        evaluations.push(Evaluation::new(
            &event.head_ref,
            event.number,
            &plan.verdict,
            evidence.metrics_by_model(),
            &evidence.stamps_by_model(),
        ));
    }
    let lifecycle = Lifecycle {
        repository: &repository,
        rulebook: &rulebook,
        config: &config,
        evaluations: &evaluations,
    };
    if event.action == "closed" {
        let closed = automation::ClosedPull {
            kind: head.kind,
            issue: linked,
            head_ref: &event.head_ref,
            base_kind: rulebook.conventions.classify(&event.base_ref).kind,
            merged: event.merged,
        };
        if let Some(text) = automation::pull_closed(github, &lifecycle, &closed).await? {
            automation::say(github, repo, event.number, &text).await?;
        }
    }
    if let Some(issue) = linked {
        let asks = automation::asks_touched(issue, directory);
        automation::refresh_asks(github, &lifecycle, &asks).await?;
    }
    let mut outcome = Outcome::of(plan, warnings);
    outcome.evaluated = evidence
        .into_iter()
        .map(|evidence| Evaluated {
            repo: event.repo.clone(),
            pull: event.number,
            verdict: outcome.verdict.clone(),
            head_ref: event.head_ref.clone(),
            head_sha: event.head_sha.clone(),
            base_sha: event.base_sha.clone(),
            evidence,
        })
        .collect();
    Ok(outcome)
}

/// A config that cannot be read fails the check, with an annotation at the
/// line and column, and says so in the pull request.
async fn bad_config(
    github: &impl GitHub,
    repo: &RepoName,
    pr: &PullRequestEvent,
    error: &ConfigError,
) -> Result<Outcome> {
    let title = format!("{CONFIG_PATH} is invalid");
    let message = format!(
        "{}:{}:{}: {}",
        CONFIG_PATH, error.line, error.column, error.message
    );
    let body = format!(
        "{PR_MARKER}\n## ❌ dslp: **NO-GO**\n\n`{CONFIG_PATH}` cannot be used, so nothing was checked:\n\n```\n{message}\n```\n\n`dslp lint config` checks it locally.\n",
    );
    let run = CheckRun {
        name: engine::CHECK_NAME.into(),
        head_sha: pr.head_sha.clone(),
        conclusion: Conclusion::Failure,
        title: title.clone(),
        summary: message.clone(),
        text: body.clone(),
        annotations: vec![Annotation {
            path: CONFIG_PATH.into(),
            start_line: error.line,
            end_line: error.line,
            annotation_level: AnnotationLevel::Failure,
            message: error.message.clone(),
            title,
        }],
    };
    let plan = Plan {
        effects: vec![
            Effect::UpsertComment {
                issue: pr.number,
                marker: PR_MARKER,
                body: body.clone(),
            },
            Effect::Check(run),
        ],
        summary: body,
        verdict: "NO-GO".into(),
    };
    let warnings = execute(github, repo, &plan).await?;
    Ok(Outcome::of(plan, warnings))
}

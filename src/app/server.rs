//! `dslp serve`: the webhook endpoint, `/healthz` and `/metrics`, the
//! workers and the redelivery sweep, with a graceful shutdown that stops
//! taking deliveries, then lets the jobs in flight finish.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::watch;

use crate::app::auth::Installations;
use crate::app::intake::recorder::Journaling;
use crate::app::intake::{self, Delivery, MAX_BODY};
use crate::app::metrics::{Metrics, event_label};
use crate::app::redeliver;
use crate::app::settings::ServeArgs;
use crate::app::store::{NewDelivery, NewJob, Recorded, Store};
use crate::app::worker::Worker;
use crate::event::Event;
use crate::github::octo::install_tls_provider;
use crate::github::retry::RetryPolicy;
use crate::handler::sandbox::Sandbox;
use crate::lifecycle::links::RepoName;

struct Intake {
    secrets: Vec<String>,
    store: Store,
    metrics: Arc<Metrics>,
}

/// A delivery as the store records it, with the job it makes, if any:
/// keyed so that one job per pull request, issue or branch runs at a time.
fn record_of(delivery: Delivery) -> NewDelivery {
    let key = match &delivery.event {
        Event::PullRequest(pr) => Some((format!("{}#{}", pr.repo, pr.number), true)),
        Event::Issue { repo, issue, .. } | Event::IssueComment { repo, issue, .. } => Some((
            format!("{repo}#{}", issue.number.unwrap_or_default()),
            false,
        )),
        Event::Push { repo, branch, .. } => Some((
            format!("{repo}@{}", branch.as_deref().unwrap_or_default()),
            false,
        )),
        Event::Rerequested {
            repo,
            pulls,
            head_sha,
        } => Some(match pulls.as_slice() {
            [one] => (format!("{repo}#{one}"), true),
            _ => (format!("{repo}@{head_sha}"), false),
        }),
        Event::Installed { .. } => Some((
            format!("installation {}", delivery.installation.unwrap_or_default()),
            false,
        )),
        // Queued by the App itself, never delivered: keyed as its pull request.
        Event::Watch(watch) => Some((format!("{}#{}", watch.repo, watch.pull), false)),
        // GitHub sends no schedule to an App, and no workflow's dispatch:
        // the Action's alone.
        Event::Ignored { .. } | Event::Scheduled { .. } | Event::ReleaseDispatched { .. } => None,
    };
    let action = match delivery.event {
        Event::Ignored { action, .. } => action,
        _ => None,
    };
    NewDelivery {
        id: delivery.id,
        event: delivery.event_name,
        action,
        installation: delivery.installation,
        // The stored event moves into the job: no copy on the hot path.
        job: key.map(|(key, evaluates)| NewJob {
            key,
            evaluates,
            payload: delivery.stored,
        }),
    }
}

async fn webhook(State(intake): State<Arc<Intake>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let event = event_label(header("x-github-event"));
    let accepted = intake::accept(
        &intake.secrets,
        header("x-github-event"),
        header("x-github-delivery"),
        header("x-hub-signature-256"),
        header("content-type"),
        &body,
    );
    let delivery = match accepted {
        Ok(delivery) => delivery,
        Err(rejection) => {
            let outcome = match rejection.status() {
                401 => "unauthorized",
                413 => "too_large",
                _ => "bad_request",
            };
            intake.metrics.delivery(event, outcome);
            tracing::warn!(event, "delivery refused: {rejection}");
            let status =
                StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::BAD_REQUEST);
            return (status, format!("{rejection}\n")).into_response();
        }
    };
    let record = record_of(delivery);
    let queued = record.job.is_some();
    let id = record.id.clone();
    match intake.store.record(record).await {
        Ok(Recorded::New) if queued => {
            intake.metrics.delivery(event, "queued");
            (StatusCode::ACCEPTED, "queued\n").into_response()
        }
        Ok(Recorded::New) => {
            intake.metrics.delivery(event, "ignored");
            (StatusCode::OK, "nothing to do for this event\n").into_response()
        }
        Ok(Recorded::Duplicate) => {
            intake.metrics.delivery(event, "duplicate");
            (StatusCode::OK, "already received\n").into_response()
        }
        Err(error) => {
            intake.metrics.delivery(event, "store_error");
            tracing::error!("recording delivery {id}: {error:#}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the delivery could not be stored; it will be asked for again\n",
            )
                .into_response()
        }
    }
}

/// 200 while the store records; 503, saying why, when it cannot, so that
/// a load balancer stops sending deliveries this replica would refuse.
async fn health(State(intake): State<Arc<Intake>>) -> Response {
    match intake.store.healthy().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(problem) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unhealthy: {problem:#}\n"),
        )
            .into_response(),
    }
}

async fn metrics(State(intake): State<Arc<Intake>>) -> Response {
    let jobs = intake.store.jobs_by_state().await.unwrap_or_default();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        intake.metrics.render(&jobs),
    )
        .into_response()
}

pub fn router(
    webhook_path: &str,
    store: Store,
    secrets: Vec<String>,
    metrics: Arc<Metrics>,
) -> Router {
    let state = Arc::new(Intake {
        secrets,
        store,
        metrics,
    });
    Router::new()
        .route(webhook_path, post(webhook))
        .route("/healthz", get(health))
        .route("/metrics", get(self::metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

fn init_logging(filter: tracing_subscriber::EnvFilter) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

pub fn run(args: ServeArgs) -> Result<i32> {
    // On one core (pinned, or a container's quota) there is nothing to
    // steal work from: the current-thread scheduler skips that machinery.
    let one_core = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_core {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = builder
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))?;
    Ok(0)
}

async fn serve(args: ServeArgs) -> Result<()> {
    init_logging(args.log_filter()?);
    install_tls_provider();
    crate::github::fetch::register_transport();
    args.require()?;
    let secrets = args.secrets()?;
    let key = args.app_key()?;
    let webhook_path = if args.webhook_path.starts_with('/') {
        args.webhook_path.clone()
    } else {
        format!("/{}", args.webhook_path)
    };
    let journaling = Journaling {
        journal_bytes: args.intake_journal_mb << 20,
        commit_every: Duration::from_millis(args.commit_every_ms),
    };
    let lease = Duration::from_secs(args.job_lease_seconds);
    let store = Store::open_journaled(&args.database_url, journaling, lease).await?;
    let policy = RetryPolicy {
        base_delay: args.retry_base(),
        ..RetryPolicy::default()
    };
    let installations = Arc::new(Installations::new(key, &args.github_api_url, policy));
    let metrics = Arc::new(Metrics::default());
    let (stop, stopped) = watch::channel(false);

    let worker = Arc::new(worker(&args, &store, &installations, &metrics)?);
    let workers: Vec<_> = (0..args.workers)
        .map(|_| tokio::spawn(worker.clone().run(stopped.clone())))
        .collect();
    tokio::spawn(schedules(
        store.clone(),
        Duration::from_millis(args.schedule_tick_ms.max(10)),
        stopped.clone(),
    ));
    if args.redeliver_every > 0 {
        tokio::spawn(sweep(
            installations.clone(),
            store.clone(),
            Duration::from_secs(args.redeliver_every),
            stopped.clone(),
        ));
    }

    let address = format!("{}:{}", args.host, args.port);
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .with_context(|| format!("listening on {address}"))?;
    tracing::info!(
        "dslp serve: listening on http://{} (webhooks at {webhook_path}), store {}",
        listener.local_addr()?,
        args.database_url
    );
    // Answers go out at once, not held back by Nagle's algorithm.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        listener,
        router(&webhook_path, store.clone(), secrets, metrics),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving")?;
    tracing::info!("dslp serve: no longer taking deliveries; finishing the jobs in flight");
    let _ = stop.send(true);
    for worker in workers {
        let _ = worker.await;
    }
    store.close().await;
    tracing::info!("dslp serve: stopped");
    Ok(())
}

/// What each worker runs with, from the settings.
fn worker(
    args: &ServeArgs,
    store: &Store,
    installations: &Arc<Installations>,
    metrics: &Arc<Metrics>,
) -> Result<Worker> {
    Ok(Worker {
        store: store.clone(),
        installations: installations.clone(),
        metrics: metrics.clone(),
        checkouts: args.data_dir.join("checkouts"),
        downloads: args.data_dir.join("downloads"),
        limits: args.limits(),
        sandbox: Sandbox::Child {
            program: std::env::current_exe().context("finding dslp's own binary")?,
        },
        following: crate::handler::Following {
            poll: Duration::from_secs(args.compute_poll_seconds.max(1)),
            deadline: Duration::from_secs(args.compute_deadline_seconds),
        },
        max_attempts: args.max_attempts.max(1),
        retry_base: args.retry_base(),
        set_up: crate::automation::SetUp {
            pull_request: args.setup_pr,
            protection: args.protect,
            rulesets: args.rulesets,
            issue_types: args.issue_types,
            app_id: args.app_id,
        },
    })
}

/// Monitoring schedules: every `tick`, the due ones are claimed (by this
/// replica alone) and queued as jobs, as if GitHub had delivered them.
async fn schedules(store: Store, tick: Duration, mut stopped: watch::Receiver<bool>) {
    loop {
        if leads(&store).await {
            match store.claim_due_schedules(crate::timestamp::now_ms()).await {
                Ok(due) => {
                    for schedule in due {
                        queue_schedule(&store, schedule).await;
                    }
                }
                Err(error) => tracing::error!("claiming monitoring schedules: {error:#}"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = stopped.changed() => return,
        }
    }
}

async fn queue_schedule(store: &Store, schedule: crate::app::store::schedules::DueSchedule) {
    let Some(repo) = RepoName::parse(&schedule.repository) else {
        return;
    };
    let event = Event::Scheduled {
        repo: Some(repo),
        clone_url: schedule.clone_url,
    };
    let delivery = NewDelivery {
        // Names this run: a claim repeated after a crash is one delivery.
        id: format!("schedule:{}:{}", schedule.repository, schedule.next_run),
        event: "schedule".into(),
        action: None,
        installation: schedule.installation,
        job: Some(NewJob {
            key: format!("{}@monitor", schedule.repository),
            evaluates: false,
            payload: event.to_stored(),
        }),
    };
    match store.record(delivery).await {
        Ok(_) => tracing::info!("queued scheduled monitoring of {}", schedule.repository),
        Err(error) => tracing::error!("queueing monitoring of {}: {error:#}", schedule.repository),
    }
}

/// Whether this replica runs the once-per-App duties now (one replica at
/// a time on PostgreSQL; another takes over when it dies).
async fn leads(store: &Store) -> bool {
    store.lead().await.unwrap_or_else(|error| {
        tracing::warn!("asking the store which replica leads: {error:#}");
        false
    })
}

/// The redelivery sweep: at start, then every `every` (on the leading replica).
async fn sweep(
    installations: Arc<Installations>,
    store: Store,
    every: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        if leads(&store).await {
            match redeliver::catch_up(&installations, &store).await {
                Ok(0) => {}
                Ok(n) => tracing::info!("asked GitHub to redeliver {n} missed deliveries"),
                Err(error) => tracing::warn!("looking for missed deliveries: {error:#}"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopped.changed() => return,
        }
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => return interrupt.await.unwrap_or(()),
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

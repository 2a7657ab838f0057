//! Fetching a pull request's two commits with git2 over HTTP(S).
//!
//! libgit2 is built without its own HTTPS (that would bring OpenSSL), so
//! git's smart HTTP protocol is carried by a small subtransport over ureq
//! and rustls. The installation token goes in an `Authorization` header,
//! never in the URL, so it cannot reach a log line or `.git/config`.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use base64::Engine as _;
use git2::transport::{Service, SmartSubtransport, SmartSubtransportStream, Transport};
use git2::{FetchOptions, Oid, Repository, build::CheckoutBuilder};

use crate::lifecycle::links::RepoName;

thread_local! {
    /// The `Authorization` header of the fetch running on this thread.
    /// libgit2 calls the transport on the thread that called fetch, and its
    /// transport factory sees only the remote, so the header travels here.
    static AUTHORIZATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

static REGISTER: Once = Once::new();

/// Makes git2 use our HTTP transport for `http://` and `https://` remotes.
pub fn register_transport() {
    REGISTER.call_once(|| {
        for scheme in ["http", "https"] {
            // SAFETY: called once, before any fetch, as git2 requires.
            let registered = unsafe {
                git2::transport::register(scheme, |remote| {
                    Transport::smart(remote, true, HttpTransport::new())
                })
            };
            if let Err(e) = registered {
                tracing::error!("registering the {scheme} transport for git: {e}");
            }
        }
    });
}

struct HttpTransport {
    agent: ureq::Agent,
}

impl HttpTransport {
    fn new() -> HttpTransport {
        crate::github::octo::install_tls_provider();
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(600)))
            .timeout_connect(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .user_agent("dslp-bot")
            .build()
            .into();
        HttpTransport { agent }
    }
}

impl SmartSubtransport for HttpTransport {
    fn action(
        &self,
        url: &str,
        action: Service,
    ) -> Result<Box<dyn SmartSubtransportStream>, git2::Error> {
        let (path, post) = match action {
            Service::UploadPackLs => ("/info/refs?service=git-upload-pack", false),
            Service::UploadPack => ("/git-upload-pack", true),
            Service::ReceivePackLs | Service::ReceivePack => {
                return Err(git2::Error::from_str(
                    "dslp-bot only fetches; it never pushes",
                ));
            }
        };
        Ok(Box::new(HttpStream {
            agent: self.agent.clone(),
            url: format!("{}{path}", url.trim_end_matches('/')),
            post,
            authorization: AUTHORIZATION.with(|a| a.borrow().clone()),
            request: Vec::new(),
            response: None,
        }))
    }

    fn close(&self) -> Result<(), git2::Error> {
        Ok(())
    }
}

struct HttpStream {
    agent: ureq::Agent,
    url: String,
    post: bool,
    authorization: Option<String>,
    request: Vec<u8>,
    response: Option<Box<dyn Read + Send>>,
}

impl HttpStream {
    fn send(&mut self) -> io::Result<Box<dyn Read + Send>> {
        let fail = |e: ureq::Error| io::Error::other(format!("{}: {e}", redact(&self.url)));
        let response = if self.post {
            let mut request = self
                .agent
                .post(&self.url)
                .header("Content-Type", "application/x-git-upload-pack-request")
                .header("Accept", "application/x-git-upload-pack-result");
            if let Some(auth) = &self.authorization {
                request = request.header("Authorization", auth);
            }
            request.send(&self.request[..]).map_err(fail)?
        } else {
            let mut request = self.agent.get(&self.url);
            if let Some(auth) = &self.authorization {
                request = request.header("Authorization", auth);
            }
            request.call().map_err(fail)?
        };
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let hint = match status {
                401 | 403 => {
                    " (the installation token was refused: does the App have Contents: read?)"
                }
                404 => " (no such repository, or the App is not installed on it)",
                _ => "",
            };
            return Err(io::Error::other(format!(
                "{} answered {status}{hint}",
                redact(&self.url)
            )));
        }
        Ok(Box::new(response.into_body().into_reader()))
    }
}

/// A URL with any user:password part removed.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

impl Read for HttpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.response.is_none() {
            self.response = Some(self.send()?);
        }
        self.response.as_mut().map_or(Ok(0), |r| r.read(buf))
    }
}

impl Write for HttpStream {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.request.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub use crate::secret::Secret;

/// What a fetch needs to know of a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullHead {
    pub repo: RepoName,
    pub number: u64,
    pub base_ref: String,
    pub head_sha: String,
}

/// Brings a pull request's commits to a local working tree.
pub trait Fetch: Send + Sync {
    /// A working tree at the pull request's head, with its base commit in
    /// the object database. Blocking (git). Nothing of the tree is run.
    fn checkout(&self, pull: &PullHead, clone_url: &str) -> Result<PathBuf>;
    /// A working tree at `branch`'s head (scheduled monitoring reads the
    /// default branch's config and fresh data). Blocking; nothing is run.
    fn checkout_branch(&self, repo: &RepoName, branch: &str, clone_url: &str) -> Result<PathBuf>;
}

/// Fetches into one working tree per pull request under `root`, with a
/// token (the App's installation token, the Action's workflow token).
pub struct GitFetcher {
    pub root: PathBuf,
    pub token: Secret,
}

impl GitFetcher {
    /// Fetches `refspecs` at depth 1 into the repository at `dir` with the
    /// token, in the header.
    fn fetch(
        &self,
        dir: &std::path::Path,
        clone_url: &str,
        refspecs: &[String],
    ) -> Result<Repository> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let repo = match Repository::open(dir) {
            Ok(repo) => repo,
            Err(_) => {
                Repository::init(dir).with_context(|| format!("git init {}", dir.display()))?
            }
        };
        let credentials = base64::engine::general_purpose::STANDARD
            .encode(format!("x-access-token:{}", self.token.expose()));
        let mut remote = repo.remote_anonymous(clone_url)?;
        let mut options = FetchOptions::new();
        options.depth(1);
        AUTHORIZATION.with(|a| *a.borrow_mut() = Some(format!("Basic {credentials}")));
        let fetched = remote.fetch(refspecs, Some(&mut options), None);
        AUTHORIZATION.with(|a| *a.borrow_mut() = None);
        fetched.map_err(|e| anyhow!("{}", e.message()))?;
        drop(remote);
        Ok(repo)
    }
}

impl Fetch for GitFetcher {
    fn checkout_branch(
        &self,
        repo_name: &RepoName,
        branch: &str,
        clone_url: &str,
    ) -> Result<PathBuf> {
        register_transport();
        let dir = self
            .root
            .join(&repo_name.owner)
            .join(&repo_name.name)
            .join("default-branch");
        let refspecs = [format!("+refs/heads/{branch}:refs/dslp/branch")];
        let repo = self
            .fetch(&dir, clone_url, &refspecs)
            .map_err(|e| anyhow!("fetching {repo_name}@{branch}: {e}"))?;
        let head = repo.refname_to_id("refs/dslp/branch")?;
        repo.set_head_detached(head)?;
        repo.checkout_head(Some(CheckoutBuilder::new().force().remove_untracked(true)))?;
        Ok(dir)
    }

    fn checkout(&self, event: &PullHead, clone_url: &str) -> Result<PathBuf> {
        register_transport();
        let repo_name = &event.repo;
        let dir = self
            .root
            .join(&repo_name.owner)
            .join(&repo_name.name)
            .join(event.number.to_string());
        // The two commits are all the evidence needs: no history.
        let refspecs = [
            format!("+refs/pull/{0}/head:refs/dslp/pull/{0}", event.number),
            format!("+refs/heads/{0}:refs/dslp/base/{0}", event.base_ref),
        ];
        let repo = self
            .fetch(&dir, clone_url, &refspecs)
            .map_err(|e| anyhow!("fetching {repo_name}#{}: {e}", event.number))?;
        let head = Oid::from_str(&event.head_sha)
            .ok()
            .and_then(|oid| repo.find_commit(oid).ok())
            .ok_or_else(|| {
                anyhow!(
                    "the pull request's head {} is no longer its head (a newer push will be checked)",
                    event.head_sha
                )
            })?;
        repo.set_head_detached(head.id())?;
        repo.checkout_head(Some(CheckoutBuilder::new().force().remove_untracked(true)))?;
        Ok(dir)
    }
}

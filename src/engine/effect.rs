//! What dslp-bot does to GitHub, as data: every flow decides a list of
//! effects from the facts it was given, and one executor (the handler's)
//! carries them out through the GitHub port, with the rules for retrying
//! and for doing a thing once in one place.

use crate::github::{CheckRun, IssueUpdate, Status};
use crate::lifecycle::Verdict;
use crate::lifecycle::labels::LabelSpec;
use crate::report::release::Asset;

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Create the comment with this marker, or edit it in place.
    UpsertComment {
        issue: u64,
        marker: &'static str,
        body: String,
    },
    /// The `dslp` check run (or, where the Checks API is refused, a status).
    Check(CheckRun),
    SetStatus {
        sha: String,
        status: Status,
    },
    /// Create or update a label to its exact colour and description.
    EnsureLabel(LabelSpec),
    AddLabels {
        issue: u64,
        labels: Vec<String>,
    },
    /// Take a label off; one already gone is fine.
    RemoveLabel {
        issue: u64,
        label: String,
    },
    /// Change an issue's title, body or state.
    EditIssue {
        issue: u64,
        update: IssueUpdate,
    },
    /// Put `section` between the Ask's markers, in its body as it is at the
    /// moment of writing: a person's edit made meanwhile is kept.
    UpdateAskSection {
        ask: u64,
        section: String,
    },
    /// Open an issue, unless one whose body holds `marker` exists: a flow
    /// run twice opens one.
    CreateIssue {
        title: String,
        body: String,
        labels: Vec<String>,
        marker: String,
    },
    /// Create a branch at a commit; one that exists already is fine.
    CreateBranch {
        name: String,
        sha: String,
    },
    /// Delete a branch; one already gone is fine.
    DeleteBranch {
        name: String,
    },
    /// Change a pull request's base branch.
    Retarget {
        pull: u64,
        base: String,
    },
    /// Close a pull request without merging it.
    ClosePull {
        pull: u64,
    },
    /// Create a file on a branch (it must not exist there yet).
    CreateFile {
        branch: String,
        path: String,
        contents: String,
        message: String,
    },
    /// Open a pull request.
    CreatePull {
        title: String,
        head: String,
        base: String,
        body: String,
    },
    /// Require `checks` on an unprotected branch.
    Protect {
        branch: String,
        checks: Vec<String>,
    },
    /// Make issue `sub_issue_id` (GitHub's id) a sub-issue of `parent`,
    /// taking it from any other parent.
    AddSubIssue {
        parent: u64,
        sub_issue_id: u64,
    },
    RemoveSubIssue {
        parent: u64,
        sub_issue_id: u64,
    },
    /// Create an issue type in the repository's organisation.
    CreateIssueType {
        name: String,
        description: String,
        color: String,
    },
    /// Put issue `issue` on the organisation's project with this `Stage`
    /// (the field created when the project lacks it).
    PlaceOnBoard {
        project: crate::config::ProjectRef,
        issue: u64,
        stage: crate::lifecycle::stage::Stage,
    },
    /// Create a repository ruleset (`id: None`), or bring ruleset `id` to this.
    PutRuleset {
        id: Option<u64>,
        ruleset: serde_json::Value,
    },
    /// Publish a GitHub Release with its assets, unless its tag has one.
    PublishRelease(Box<ReleasePlan>),
    /// Try the effect; if the token may not, say `otherwise` instead of
    /// failing (the Action's default token cannot create branches).
    Try {
        effect: Box<Effect>,
        otherwise: String,
    },
}

impl Effect {
    /// The effect, or `otherwise` said where the token may not.
    pub fn or_say(self, otherwise: impl Into<String>) -> Effect {
        Effect::Try {
            effect: Box::new(self),
            otherwise: otherwise.into(),
        }
    }
}

/// A release to publish: created as a draft, its assets uploaded, then
/// published, so a release never shows without its files.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleasePlan {
    pub tag: String,
    /// The commit the tag is made at.
    pub target: String,
    pub name: String,
    pub notes: String,
    pub assets: Vec<Asset>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub effects: Vec<Effect>,
    /// The whole report, for the job summary.
    pub summary: String,
    pub verdict: Verdict,
}

//! The fork boundary: whether a pull request's head may be fetched and
//! evaluated. Trust is allowed, never assumed: only a head in the base
//! repository itself is trusted without anyone's say.

/// How far a pull request's head is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// The head is a branch of the base repository.
    SameRepository,
    /// A fork whose author has write access to the base repository.
    TrustedAuthor,
    /// A fork whose head commit a maintainer approved (`/dslp ok-to-test`).
    Approved,
    /// A fork the repository's config lets be evaluated without approval
    /// (`automations.fork_approval: false`).
    OpenToForks,
    /// A fork nobody approved at this head commit.
    Unapproved,
}

/// What trust is decided from, gathered by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustFacts {
    /// The head repository is known and is the base repository.
    pub same_repository: bool,
    /// The base branch's config asks for approval of forks.
    pub approval_required: bool,
    /// A maintainer approved exactly the head commit.
    pub head_approved: bool,
    /// The pull request's author has write access to the base repository.
    pub author_may_write: bool,
}

impl Trust {
    pub fn decide(facts: TrustFacts) -> Trust {
        if facts.same_repository {
            Trust::SameRepository
        } else if facts.author_may_write {
            Trust::TrustedAuthor
        } else if facts.head_approved {
            Trust::Approved
        } else if !facts.approval_required {
            Trust::OpenToForks
        } else {
            Trust::Unapproved
        }
    }

    /// Whether the head may be fetched and its evidence gathered.
    pub fn evaluates(self) -> bool {
        self != Trust::Unapproved
    }

    /// Whether the head comes from a fork: the base branch's config and
    /// the fork limits apply to it.
    pub fn is_fork(self) -> bool {
        self != Trust::SameRepository
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(same: bool, required: bool, approved: bool, writer: bool) -> TrustFacts {
        TrustFacts {
            same_repository: same,
            approval_required: required,
            head_approved: approved,
            author_may_write: writer,
        }
    }

    #[test]
    fn only_the_same_repository_is_trusted_without_anyones_say() {
        let table = [
            (facts(true, true, false, false), Trust::SameRepository, true),
            (facts(false, true, false, false), Trust::Unapproved, false),
            (facts(false, true, true, false), Trust::Approved, true),
            (facts(false, true, false, true), Trust::TrustedAuthor, true),
            (facts(false, false, false, false), Trust::OpenToForks, true),
        ];
        for (given, trust, evaluates) in table {
            assert_eq!(Trust::decide(given), trust, "{given:?}");
            assert_eq!(trust.evaluates(), evaluates, "{trust:?}");
            assert_eq!(trust.is_fork(), trust != Trust::SameRepository);
        }
    }
}

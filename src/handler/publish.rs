//! Publishing a release once: a draft first, its assets uploaded, then
//! published. A run that stopped half way is finished by the next (the
//! draft is found by its tag and only missing assets are uploaded); a tag
//! already published is left alone.

use crate::engine::ReleasePlan;
use crate::github::{GitHub, GitHubError, NewRelease};
use crate::lifecycle::links::RepoName;

pub(super) async fn publish(
    github: &impl GitHub,
    repo: &RepoName,
    plan: &ReleasePlan,
) -> Result<(), GitHubError> {
    let existing = github
        .releases(repo)
        .await?
        .into_iter()
        .find(|r| r.tag_name == plan.tag);
    let release = match existing {
        Some(release) if !release.draft => {
            tracing::info!("release {} exists already", plan.tag);
            return Ok(());
        }
        Some(draft) => draft,
        None => {
            let new = NewRelease {
                tag_name: plan.tag.clone(),
                target_commitish: plan.target.clone(),
                name: plan.name.clone(),
                body: plan.notes.clone(),
                draft: true,
            };
            github.create_release(repo, &new).await?
        }
    };
    for asset in &plan.assets {
        if release.assets.iter().any(|a| a.name == asset.name) {
            continue;
        }
        github
            .upload_asset(
                &release,
                &asset.name,
                asset.content_type,
                asset.text.clone().into_bytes(),
            )
            .await?;
    }
    github.publish_release(repo, release.id).await
}

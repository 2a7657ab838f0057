//! What the App keeps in an organisation: its issue types, and its
//! Projects board (the REST API for Projects): find a project by title,
//! its single-select field, add the field, add an issue as an item, set the
//! item's field.

use http::Method;
use serde::Deserialize;
use serde_json::json;

use super::{OctocrabGitHub, segment};
use crate::github::GitHubError;
use crate::github::projects::{FieldJson, SelectField};
use crate::lifecycle::links::RepoName;

fn project_path(org: &str, project: u64) -> String {
    format!("/orgs/{}/projectsV2/{project}", segment(org))
}

impl OctocrabGitHub {
    pub(super) async fn issue_types_of_org(
        &self,
        org: &str,
    ) -> Result<Option<Vec<String>>, GitHubError> {
        #[derive(Deserialize)]
        struct IssueType {
            name: String,
        }
        let path = format!("/orgs/{}/issue-types", segment(org));
        let listed: Result<Vec<IssueType>, _> = self
            .json(
                Method::GET,
                &path,
                None,
                "list the organisation's issue types",
            )
            .await;
        match listed {
            Ok(types) => Ok(Some(types.into_iter().map(|t| t.name).collect())),
            Err(GitHubError::NotFound(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub(super) async fn new_issue_type(
        &self,
        org: &str,
        name: &str,
        description: &str,
        color: &str,
    ) -> Result<(), GitHubError> {
        let body =
            json!({"name": name, "description": description, "color": color, "is_enabled": true});
        let path = format!("/orgs/{}/issue-types", segment(org));
        self.no_content(Method::POST, &path, Some(&body), "create an issue type")
            .await
    }

    pub(super) async fn project_by_title(
        &self,
        org: &str,
        title: &str,
    ) -> Result<Option<u64>, GitHubError> {
        #[derive(Deserialize)]
        struct Project {
            number: u64,
            title: String,
        }
        let path = format!("/orgs/{}/projectsV2?per_page=100", segment(org));
        let projects: Vec<Project> = self
            .json(Method::GET, &path, None, "list the organisation's projects")
            .await?;
        Ok(projects
            .into_iter()
            .find(|p| p.title == title)
            .map(|p| p.number))
    }

    pub(super) async fn select_field(
        &self,
        org: &str,
        project: u64,
        name: &str,
    ) -> Result<Option<SelectField>, GitHubError> {
        let path = format!("{}/fields?per_page=100", project_path(org, project));
        let fields: Vec<FieldJson> = self
            .json(Method::GET, &path, None, "list the project's fields")
            .await?;
        Ok(fields
            .into_iter()
            .find(|f| f.name == name && f.data_type == "single_select")
            .map(FieldJson::select))
    }

    pub(super) async fn new_select_field(
        &self,
        org: &str,
        project: u64,
        name: &str,
        options: &[(&str, &str)],
    ) -> Result<SelectField, GitHubError> {
        let options: Vec<_> = options
            .iter()
            .map(|(name, color)| json!({"name": name, "color": color, "description": ""}))
            .collect();
        let body =
            json!({"name": name, "data_type": "single_select", "single_select_options": options});
        let path = format!("{}/fields", project_path(org, project));
        let field: FieldJson = self
            .json(Method::POST, &path, Some(&body), "add the project's field")
            .await?;
        Ok(field.select())
    }

    pub(super) async fn new_project_item(
        &self,
        org: &str,
        project: u64,
        repo: &RepoName,
        number: u64,
    ) -> Result<u64, GitHubError> {
        #[derive(Deserialize)]
        struct Item {
            id: u64,
        }
        let body =
            json!({"type": "Issue", "owner": repo.owner, "repo": repo.name, "number": number});
        let path = format!("{}/items", project_path(org, project));
        let item: Item = self
            .json(
                Method::POST,
                &path,
                Some(&body),
                "add the issue to the project",
            )
            .await?;
        Ok(item.id)
    }

    pub(super) async fn set_item_option(
        &self,
        org: &str,
        project: u64,
        item: u64,
        field: u64,
        option: &str,
    ) -> Result<(), GitHubError> {
        let body = json!({"fields": [{"id": field, "value": option}]});
        let path = format!("{}/items/{item}", project_path(org, project));
        self.no_content(Method::PATCH, &path, Some(&body), "set the item's stage")
            .await
    }
}

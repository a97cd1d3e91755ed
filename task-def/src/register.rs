//! Registration: a new revision only when the desired definition differs from the latest
//! ACTIVE one; deregistration of the revisions this module made.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{TaskDefinitionField, TaskDefinitionStatus};
use converge::{Action, Aws, AwsResultExt, Change, Error, Plan, ProvideErrorMetadata, Tags};

use crate::sdk::{self, Normal};
use crate::task::TaskDefinition;

const KIND: &str = "aws_ecs_task_definition";

impl TaskDefinition {
    pub(crate) fn tags(&self) -> Tags {
        let environment = self.environment.as_deref().unwrap_or(&self.family);
        Tags::for_instance("task-def", environment, &self.family).with_extra(self.tags.clone())
    }

    /// Whether registering would make a new revision, and which fields differ.
    pub async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        let latest = self.latest(aws).await?;
        let mut plan = Plan::new();
        plan.push(self.change(latest.as_ref()));
        Ok(plan)
    }

    /// Registers the definition and returns the ARN of the revision that matches it: the
    /// latest ACTIVE revision when it already does (no mutating call), else a new one.
    pub async fn register(&self, aws: &Aws) -> Result<String, Error> {
        let latest = self.latest(aws).await?;
        let change = self.change(latest.as_ref());
        if let (Action::NoOp, Some((arn, _))) = (change.action, latest) {
            return Ok(arn);
        }
        let tags = self.tags();
        let mut call = aws
            .ecs()
            .register_task_definition()
            .family(&self.family)
            .set_cpu(self.cpu.map(|c| c.to_string()))
            .set_memory(self.memory.map(|m| m.to_string()))
            .set_network_mode(self.network_mode.map(sdk::network_mode))
            .set_execution_role_arn(self.execution_role_arn.clone())
            .set_task_role_arn(self.task_role_arn.clone())
            .set_runtime_platform(self.runtime_platform.as_ref().map(sdk::runtime_platform))
            .set_tags(Some(tags.ecs(&self.family)));
        for c in &self.container_definitions {
            call = call.container_definitions(c.into());
        }
        for c in &self.requires_compatibilities {
            call = call.requires_compatibilities(sdk::compatibility(*c));
        }
        for v in &self.volumes {
            call = call.volumes(sdk::volume(v));
        }
        let out = call.send().await.context(
            "RegisterTaskDefinition",
            format_args!("{KIND} \"{}\"", self.family),
        )?;
        let arn = out
            .task_definition()
            .and_then(|td| td.task_definition_arn())
            .unwrap_or_default()
            .to_owned();
        tracing::info!(%arn, differs = ?change.diffs.iter().map(|d| &d.field).collect::<Vec<_>>(), "registered task definition");
        Ok(arn)
    }

    /// Deregisters every ACTIVE revision of the family that carries this module's ownership
    /// tag; revisions registered by anything else are left alone. Returns the ARNs
    /// deregistered.
    pub async fn deregister(&self, aws: &Aws) -> Result<Vec<String>, Error> {
        let tags = self.tags();
        let mut owned = Vec::new();
        let mut pages = aws
            .ecs()
            .list_task_definitions()
            .family_prefix(&self.family)
            .status(TaskDefinitionStatus::Active)
            .into_paginator()
            .items()
            .send();
        while let Some(arn) = pages.next().await {
            let arn = arn.context("ListTaskDefinitions", &self.family)?;
            // The prefix also matches other families (`blog` and `blog-worker`).
            if family_of(&arn) != Some(self.family.as_str()) {
                continue;
            }
            let described = aws
                .ecs()
                .describe_task_definition()
                .task_definition(&arn)
                .include(TaskDefinitionField::Tags)
                .send()
                .await
                .context("DescribeTaskDefinition", &arn)?;
            let pairs = described
                .tags()
                .iter()
                .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()));
            if tags.is_owned(pairs) {
                owned.push(arn);
            }
        }
        for arn in &owned {
            aws.ecs()
                .deregister_task_definition()
                .task_definition(arn)
                .send()
                .await
                .context("DeregisterTaskDefinition", arn)?;
        }
        Ok(owned)
    }

    /// The latest ACTIVE revision of the family, with its ARN, or `None` when there is none.
    async fn latest(&self, aws: &Aws) -> Result<Option<(String, Normal)>, Error> {
        let described = aws
            .ecs()
            .describe_task_definition()
            .task_definition(&self.family)
            .include(TaskDefinitionField::Tags)
            .send()
            .await;
        let out = match described {
            Ok(out) => out,
            // ECS answers a family with no ACTIVE revision with this ClientException.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_client_exception())
                    && err
                        .message()
                        .is_some_and(|m| m.contains("Unable to describe task definition")) =>
            {
                return Ok(None)
            }
            Err(err) => return Err(err).context("DescribeTaskDefinition", &self.family),
        };
        let Some(td) = out.task_definition() else {
            return Ok(None);
        };
        if td.status() != Some(&TaskDefinitionStatus::Active) {
            return Ok(None);
        }
        let arn = td.task_definition_arn().unwrap_or_default().to_owned();
        Ok(Some((arn, Normal::actual(td, out.tags()))))
    }

    fn change(&self, latest: Option<&(String, Normal)>) -> Change {
        let tags: BTreeMap<String, String> = self.tags().for_resource(&self.family);
        let desired = Normal::desired(self, tags);
        match latest {
            None => Change::new(Action::Create, KIND, &self.family),
            Some((arn, actual)) => {
                let differences = desired.differences(actual);
                if differences.is_empty() {
                    Change::new(Action::NoOp, KIND, &self.family).id(arn)
                } else {
                    // A task definition revision is immutable: a change is a new revision.
                    differences.into_iter().fold(
                        Change::new(Action::Replace, KIND, &self.family).id(arn),
                        |change, field| {
                            change.diff(field, Some("(latest revision)"), Some("(desired)"))
                        },
                    )
                }
            }
        }
    }
}

/// `arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>` → the family.
fn family_of(arn: &str) -> Option<&str> {
    let (_, rest) = arn.rsplit_once("task-definition/")?;
    rest.rsplit_once(':').map(|(family, _)| family)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_from_arn() {
        assert_eq!(
            family_of("arn:aws:ecs:us-east-1:123456789012:task-definition/blog:3"),
            Some("blog")
        );
        assert_eq!(
            family_of("arn:aws:ecs:us-east-1:123456789012:task-definition/blog-worker:1"),
            Some("blog-worker")
        );
        assert_eq!(family_of("nonsense"), None);
    }
}

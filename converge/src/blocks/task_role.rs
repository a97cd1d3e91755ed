//! A task role: the IAM role a task's containers call AWS as, with the managed policies and
//! inline policies the application needs (Terraform's `aws_iam_role` with
//! `aws_iam_role_policy_attachment`s and `aws_iam_role_policy`s).
//!
//! Claimed by the ownership tag `ecs-modules:owner=task-role/<name>`. Its inline policies are
//! called `<name>.<policy>`, which is how the role's read tells them from the ones a service
//! puts there (ECS Exec's, `<environment>-<service>-exec`, which never holds a dot: neither
//! environments nor ECS service names may): an inline policy taken out of the inputs is
//! deleted, the service's are left alone, whatever the role and the service are called.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::is_role_name;
use super::role_ref::RoleRefs;
use crate::kinds::iam_role::{trust_policy, RoleKind, RoleOutputs, RoleSpec};
use crate::kinds::role_policy::{PolicyNames, RolePolicyKey, RolePolicyKind, RolePolicySpec};
use crate::{Applied, Aws, Error, Handle, Invalid, Module, Plan, Stack, Tags, Value};

const OWNER_KIND: &str = "task-role";
/// IAM's limit on a role's managed policies (the default quota).
const MAX_MANAGED: usize = 20;
/// IAM's limit on the size of a role's inline policies together, in characters without
/// white space.
const MAX_INLINE_SIZE: usize = 10_240;
const MAX_POLICY_NAME_LEN: usize = 128;

/// The role a task's containers run as: trusted by `ecs-tasks.amazonaws.com`, with the
/// managed policies and inline policies given. Give it to a service with
/// `task_role(&refs)`, the [`RoleRefs`] its [`declare`](Module::declare) returns.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let aws = converge::Aws::from_env().await;
/// let role = converge::TaskRole::builder()
///     .environment("blog")
///     .name("blog-web-task")
///     .managed_policy_arn("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
///     .inline_policy(
///         "queue",
///         r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:eu-west-1:123456789012:jobs"}]}"#,
///     )
///     .build()?;
/// let out = role.apply(&aws).await?;
/// println!("{}", out.role_arn);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskRole {
    environment: String,
    name: String,
    managed_policy_arns: Vec<String>,
    inline_policies: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
}

/// Builds a [`TaskRole`]; only the environment is required.
#[derive(Clone, Debug, Default)]
pub struct TaskRoleBuilder {
    environment: Option<String>,
    name: Option<String>,
    managed_policy_arns: Vec<String>,
    inline_policies: Vec<(String, String)>,
    tags: BTreeMap<String, String>,
}

impl TaskRoleBuilder {
    /// Required. The `Environment` tag and the prefix of the default name.
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// The role's name (default `<environment>-ecs-task`): 1 to 64 letters, digits and
    /// `_+=,.@-`. Give each service its own.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A managed policy to attach, by ARN (AWS's or the account's own). Policies others
    /// attach are left attached.
    pub fn managed_policy_arn(mut self, arn: impl Into<String>) -> Self {
        self.managed_policy_arns.push(arn.into());
        self
    }

    /// An inline policy, `document` as JSON; it is called `<role name>.<name>`.
    pub fn inline_policy(mut self, name: impl Into<String>, document: impl Into<String>) -> Self {
        self.inline_policies.push((name.into(), document.into()));
        self
    }

    /// An extra tag. `Name`, `Environment` and the ownership tag are the module's.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Checks every input and reports every problem at once.
    pub fn build(self) -> Result<TaskRole, Invalid> {
        let mut invalid = Invalid::new();
        let environment = self.environment.unwrap_or_default();
        invalid.check_environment(&environment);
        let name = self
            .name
            .unwrap_or_else(|| format!("{environment}-ecs-task"));
        invalid.check(
            is_role_name(&name),
            "name",
            format_args!(
                "{name:?} must be 1 to 64 letters, digits and _+=,.@- (IAM role name rules)"
            ),
        );
        invalid.check(
            self.managed_policy_arns.len() <= MAX_MANAGED,
            "managed_policy_arns",
            format_args!("at most {MAX_MANAGED} (IAM's limit per role)"),
        );
        for (i, arn) in self.managed_policy_arns.iter().enumerate() {
            let policy = arn
                .strip_prefix("arn:")
                .and_then(|rest| rest.split(':').nth(4))
                .is_some_and(|r| r.starts_with("policy/") && r.len() > "policy/".len());
            invalid.check(
                policy && arn.split(':').nth(2) == Some("iam"),
                format!("managed_policy_arns[{i}]"),
                format_args!("{arn:?} is not an IAM policy ARN (arn:<partition>:iam::<account or aws>:policy/<name>)"),
            );
            invalid.check(
                !self.managed_policy_arns[..i].contains(arn),
                format!("managed_policy_arns[{i}]"),
                format_args!("{arn:?} is given twice"),
            );
        }
        let mut inline = BTreeMap::new();
        let mut size = 0;
        for (policy, document) in &self.inline_policies {
            let field = format!("inline_policies[{policy:?}]");
            let full = format!("{name}.{policy}");
            invalid.check(
                !policy.is_empty()
                    && full.len() <= MAX_POLICY_NAME_LEN
                    && policy
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)),
                &field,
                format_args!(
                    "the name must be letters, digits and _+=,.@-, and {full:?} at most {MAX_POLICY_NAME_LEN} characters"
                ),
            );
            match check_policy(document) {
                Ok(compact) => size += compact.len(),
                Err(rule) => invalid.push(&field, rule),
            }
            invalid.check(
                inline.insert(full, document.clone()).is_none(),
                &field,
                "is given twice",
            );
        }
        invalid.check(
            size <= MAX_INLINE_SIZE,
            "inline_policies",
            format_args!(
                "{size} characters together: IAM allows {MAX_INLINE_SIZE} per role (attach a managed policy instead)"
            ),
        );
        invalid.check_tags(&self.tags);
        invalid.into_result(())?;
        Ok(TaskRole {
            environment,
            name,
            managed_policy_arns: self.managed_policy_arns,
            inline_policies: inline,
            tags: self.tags,
        })
    }
}

/// A policy document's rules that IAM would refuse it for: JSON, an object, with statements.
/// Returns it compact (IAM counts its size without white space).
pub(crate) fn check_policy(document: &str) -> Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_str(document).map_err(|e| format!("the policy is not JSON: {e}"))?;
    let statements = value
        .get("Statement")
        .ok_or("the policy has no Statement")?;
    let some = match statements {
        serde_json::Value::Array(items) => !items.is_empty(),
        serde_json::Value::Object(_) => true,
        _ => false,
    };
    if !some {
        return Err("the policy's Statement must be a statement or a non-empty list".into());
    }
    Ok(value.to_string())
}

impl TaskRole {
    /// A builder; only the environment is required.
    pub fn builder() -> TaskRoleBuilder {
        TaskRoleBuilder::default()
    }

    /// The role's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn tags(&self) -> Tags {
        Tags::for_instance(OWNER_KIND, &self.environment, &self.name).with_extra(self.tags.clone())
    }

    fn add_to(&self, stack: &mut Stack) -> Handle<RoleKind> {
        let spec = RoleSpec {
            assume_role_policy: trust_policy("ecs-tasks.amazonaws.com"),
            managed_policy_arns: self.managed_policy_arns.clone(),
        };
        let tags = self.tags();
        let role = stack.add(RoleKind, &self.name, tags.clone(), (), move |_| {
            spec.clone()
        });
        let key = RolePolicyKey {
            role: self.name.clone(),
            names: PolicyNames::Prefix(format!("{}.", self.name)),
        };
        for (policy, document) in &self.inline_policies {
            let spec = RolePolicySpec {
                role: self.name.clone(),
                document: Value::Known(document.clone()),
            };
            let inline = stack.add(
                RolePolicyKind,
                policy,
                tags.clone(),
                key.clone(),
                move |_| spec.clone(),
            );
            stack.options(inline, crate::Options::new().depends_on(role.done()));
        }
        if self.inline_policies.is_empty() {
            // Read all the same: one an earlier apply made goes.
            stack.track(
                RolePolicyKind,
                key.names.label(),
                tags,
                key.clone(),
                move |r| {
                    let _ = r.get(&role);
                },
            );
        }
        role
    }

    /// What [`apply`](TaskRole::apply) would change.
    pub async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::plan(self, aws).await
    }

    /// Makes the role and its policies match the inputs; returns its ARN and name.
    pub async fn apply(&self, aws: &Aws) -> Result<Applied<RoleOutputs>, Error> {
        Module::apply(self, aws).await
    }

    /// Deletes the role, when it is ours, with its inline policies.
    pub async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::destroy(self, aws).await
    }
}

#[async_trait]
impl Module for TaskRole {
    type Outputs = RoleOutputs;

    type Refs = RoleRefs;

    async fn declare(&self, _aws: &Aws, stack: &mut Stack) -> Result<RoleRefs, Error> {
        let start = stack.len();
        let outputs = self.add_to(stack).output(Clone::clone);
        Ok(RoleRefs::new(
            &self.name,
            outputs,
            stack.addresses_from(start),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

    fn fields(err: &Invalid) -> Vec<&str> {
        err.problems.iter().map(|p| p.field.as_str()).collect()
    }

    #[test]
    fn defaults_and_policy_names() {
        let role = TaskRole::builder()
            .environment("blog")
            .inline_policy("s3", POLICY)
            .build()
            .unwrap();
        assert_eq!(role.name(), "blog-ecs-task");
        assert!(role.inline_policies.contains_key("blog-ecs-task.s3"));
        assert_eq!(
            role.tags().for_resource(role.name())[crate::OWNER_TAG],
            "task-role/blog/blog-ecs-task"
        );
    }

    #[test]
    fn every_problem_is_named() {
        let err = TaskRole::builder()
            .environment("blog")
            .name("a b")
            .managed_policy_arn("AmazonS3ReadOnlyAccess")
            .managed_policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
            .managed_policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
            .inline_policy("bad name", POLICY)
            .inline_policy("notjson", "{")
            .inline_policy("empty", r#"{"Statement":[]}"#)
            .inline_policy("empty", POLICY)
            .build()
            .unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "name",
                "managed_policy_arns[0]",
                "managed_policy_arns[2]",
                "inline_policies[\"bad name\"]",
                "inline_policies[\"notjson\"]",
                "inline_policies[\"empty\"]",
                "inline_policies[\"empty\"]",
            ]
        );
    }

    #[test]
    fn the_inline_policies_together_fit_iams_limit() {
        let big = format!(
            r#"{{"Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"{}"}}]}}"#,
            "a".repeat(6000)
        );
        let err = TaskRole::builder()
            .environment("blog")
            .inline_policy("one", &big)
            .inline_policy("two", &big)
            .build()
            .unwrap_err();
        assert_eq!(fields(&err), ["inline_policies"]);
    }
}

//! The task execution role: the IAM role ECS assumes to pull the service's images and write
//! its logs, with AWS's managed `AmazonECSTaskExecutionRolePolicy` attached.
//!
//! Found by name (role names are unique per account) and claimed only when it carries our
//! ownership tag `ecs-modules:owner=execution-role/<environment>`. The tag is scoped to the
//! environment, so two environments that ask for the same role name get [`Error::NotOwned`]
//! instead of sharing one.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::is_role_name;
use super::role_ref::RoleRefs;
use crate::kinds::iam_role::{managed_policy_arn, trust_policy, RoleKind, RoleSpec};
use crate::{Applied, Aws, Error, Handle, Invalid, Module, Plan, Stack, Tags};

/// What [`TaskExecutionRole::apply`] returns: the role's ARN (for a task definition's
/// `executionRoleArn`) and name.
pub type TaskExecutionRoleOutputs = crate::kinds::iam_role::RoleOutputs;

/// The module name in the ownership tag's value.
const OWNER_KIND: &str = "execution-role";
const MAX_NAME_LEN: usize = 64;

/// AWS's managed policy for pulling from ECR and writing to CloudWatch Logs, after
/// `arn:<partition>:iam::aws:policy/`.
const MANAGED_POLICY: &str = "service-role/AmazonECSTaskExecutionRolePolicy";

/// The IAM role ECS tasks run their agent as: trusted by `ecs-tasks.amazonaws.com`, with
/// `AmazonECSTaskExecutionRolePolicy` attached, tagged `Name`, `Environment` and
/// `ecs-modules:owner=execution-role/<environment>` in its create call.
///
/// Made by [`TaskExecutionRole::builder`], which checks every input; then
/// [`plan`](TaskExecutionRole::plan), [`apply`](TaskExecutionRole::apply) and
/// [`destroy`](TaskExecutionRole::destroy) it.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let aws = converge::Aws::from_env().await;
/// let role = converge::TaskExecutionRole::builder()
///     .environment("blog")
///     .build()?;
/// let out = role.apply(&aws).await?;
/// println!("{}", out.role_arn);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskExecutionRole {
    environment: String,
    name: String,
    tags: BTreeMap<String, String>,
}

/// Builds a [`TaskExecutionRole`]; only the environment is required.
#[derive(Clone, Debug, Default)]
pub struct TaskExecutionRoleBuilder {
    environment: Option<String>,
    name: Option<String>,
    tags: BTreeMap<String, String>,
}

impl TaskExecutionRoleBuilder {
    /// Required. The `Environment` tag, the prefix of the default name and the scope of the
    /// ownership tag: 1 to 32 letters, digits and hyphens, starting with a letter.
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// The role's name (default `<environment>-ecs-task-execution`): 1 to 64 letters, digits
    /// and `_+=,.@-`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// An extra tag. `Name`, `Environment` and the ownership tag are the module's and are
    /// refused here.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Checks every input and reports every problem at once.
    pub fn build(self) -> Result<TaskExecutionRole, Invalid> {
        let mut invalid = Invalid::new();
        let environment = self.environment.unwrap_or_default();
        invalid.check_environment(&environment);
        // The default name is at most 32 + 19 characters of the environment's alphabet.
        if let Some(name) = &self.name {
            invalid.check(
                is_role_name(name),
                "name",
                format_args!(
                    "{name:?} must be 1 to {MAX_NAME_LEN} letters, digits and _+=,.@- (IAM role name rules)"
                ),
            );
        }
        invalid.check_tags(&self.tags);
        invalid.into_result(())?;
        Ok(TaskExecutionRole {
            name: self
                .name
                .unwrap_or_else(|| format!("{environment}-ecs-task-execution")),
            environment,
            tags: self.tags,
        })
    }
}

impl TaskExecutionRole {
    /// A builder; only the environment is required.
    pub fn builder() -> TaskExecutionRoleBuilder {
        TaskExecutionRoleBuilder::default()
    }

    /// The environment.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The role's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn tags(&self) -> Tags {
        Tags::new(OWNER_KIND, &self.environment).with_extra(self.tags.clone())
    }

    fn add_to(&self, aws: &Aws, stack: &mut Stack) -> Handle<RoleKind> {
        let spec = RoleSpec {
            assume_role_policy: trust_policy("ecs-tasks.amazonaws.com"),
            managed_policy_arns: vec![managed_policy_arn(aws.region(), MANAGED_POLICY)],
        };
        stack.add(RoleKind, &self.name, self.tags(), (), move |_| spec.clone())
    }

    /// What [`apply`](TaskExecutionRole::apply) would change, without changing anything. A
    /// role of this name without our ownership tag is an [`Error::NotOwned`] here too.
    pub async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::plan(self, aws).await
    }

    /// Makes the role match the inputs and returns its ARN and name. A second apply makes no
    /// mutating call; a same-named role we did not make is never adopted. Managed policies
    /// attached by others are left attached.
    pub async fn apply(&self, aws: &Aws) -> Result<Applied<TaskExecutionRoleOutputs>, Error> {
        Module::apply(self, aws).await
    }

    /// What [`destroy`](TaskExecutionRole::destroy) would delete: the role, when it is ours.
    pub async fn plan_destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::plan_destroy(self, aws).await
    }

    /// Deletes the role when it carries our ownership tag: first every managed policy
    /// attachment and every inline policy (IAM deletes no role that has any), then the role.
    /// A role already gone is done, and one we did not make is left alone. Returns what it
    /// deleted.
    pub async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::destroy(self, aws).await
    }
}

#[async_trait]
impl Module for TaskExecutionRole {
    type Outputs = TaskExecutionRoleOutputs;

    type Refs = RoleRefs;

    async fn declare(&self, aws: &Aws, stack: &mut Stack) -> Result<RoleRefs, Error> {
        let start = stack.len();
        let outputs = self.add_to(aws, stack).output(Clone::clone);
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

    fn fields(err: &Invalid) -> Vec<&str> {
        err.problems.iter().map(|p| p.field.as_str()).collect()
    }

    #[test]
    fn defaults() {
        let role = TaskExecutionRole::builder()
            .environment("blog")
            .build()
            .unwrap();
        assert_eq!(role.name(), "blog-ecs-task-execution");
        assert_eq!(
            role.tags().for_resource(role.name())[crate::OWNER_TAG],
            "execution-role/blog"
        );
        let longest = TaskExecutionRole::builder()
            .environment("a".repeat(32))
            .build()
            .unwrap();
        assert!(is_role_name(longest.name()));
    }

    #[test]
    fn environment_is_required() {
        let err = TaskExecutionRole::builder().build().unwrap_err();
        assert_eq!(fields(&err), ["environment"]);
    }

    #[test]
    fn name_follows_iam_rules() {
        for good in ["blog", "blog_role+=,.@-1", &"a".repeat(64)] {
            assert!(
                TaskExecutionRole::builder()
                    .environment("blog")
                    .name(good)
                    .build()
                    .is_ok(),
                "{good}"
            );
        }
        for bad in [
            "",
            "blog role",
            "blog/role",
            "blog:role",
            "rôle",
            &"a".repeat(65),
        ] {
            let err = TaskExecutionRole::builder()
                .environment("blog")
                .name(bad)
                .build()
                .unwrap_err();
            assert_eq!(fields(&err), ["name"], "{bad}");
        }
    }

    #[test]
    fn reports_every_problem_at_once() {
        let err = TaskExecutionRole::builder()
            .environment("")
            .name("a b")
            .tag("Environment", "prod")
            .build()
            .unwrap_err();
        assert_eq!(
            fields(&err),
            ["environment", "name", "tags[\"Environment\"]"]
        );
    }
}

//! The CloudWatch log group the service's containers write to: the module's
//! `aws_cloudwatch_log_group`.
//!
//! Found by name (log group names are unique per account and region) and claimed only when it
//! carries our ownership tag `ecs-modules:owner=log-group/<environment>`, read with
//! `ListTagsForResource`. The tag is scoped to the environment, so two environments that ask
//! for the same log group get [`Error::NotOwned`] instead of sharing one.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::kinds::log_group::{LogGroupKind, LogGroupSpec};
use crate::{Address, Applied, Aws, Error, Handle, Invalid, Module, Plan, Ref, Refs, Stack, Tags};

pub use crate::kinds::log_group::LogGroupOutputs;

/// The module name in the ownership tag's value.
const OWNER_KIND: &str = "log-group";
const MAX_NAME_LEN: usize = 512;

/// A CloudWatch log group, tagged `Name`, `Environment` and
/// `ecs-modules:owner=log-group/<environment>` in its create call.
///
/// Made by [`LogGroup::builder`], which checks every input; then [`plan`](LogGroup::plan),
/// [`apply`](LogGroup::apply) and [`destroy`](LogGroup::destroy) it.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let aws = converge::Aws::from_env().await;
/// let logs = converge::LogGroup::builder()
///     .environment("blog")
///     .name("/ecs/blog")
///     .retention_in_days(7)
///     .build()?;
/// let out = logs.apply(&aws).await?;
/// println!("{}", out.log_group_arn);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogGroup {
    environment: String,
    name: String,
    retention_in_days: Option<u32>,
    tags: BTreeMap<String, String>,
}

/// Builds a [`LogGroup`]; the environment and the name are required.
#[derive(Clone, Debug)]
pub struct LogGroupBuilder {
    environment: Option<String>,
    name: Option<String>,
    retention_in_days: Option<u32>,
    tags: BTreeMap<String, String>,
}

impl Default for LogGroupBuilder {
    fn default() -> Self {
        Self {
            environment: None,
            name: None,
            retention_in_days: Some(30),
            tags: BTreeMap::new(),
        }
    }
}

impl LogGroupBuilder {
    /// Required. The `Environment` tag and the scope of the ownership tag: 1 to 32 letters,
    /// digits and hyphens, starting with a letter.
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Required. The log group's name: 1 to 512 letters, digits and `.-_/#`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// How long CloudWatch keeps the events: one of [`LogGroup::RETENTION_DAYS`], or `None` to keep them
    /// forever. The default is 30 days, unlike Terraform's (and AWS's) never expire, because
    /// logs kept forever are a bill that only grows.
    pub fn retention_in_days(mut self, days: impl Into<Option<u32>>) -> Self {
        self.retention_in_days = days.into();
        self
    }

    /// An extra tag. `Name`, `Environment` and the ownership tag are the module's and are
    /// refused here.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Checks every input and reports every problem at once.
    pub fn build(self) -> Result<LogGroup, Invalid> {
        let mut invalid = Invalid::new();
        let environment = self.environment.unwrap_or_default();
        invalid.check_environment(&environment);
        let name = self.name.unwrap_or_default();
        if name.is_empty() {
            invalid.push("name", "is required");
        } else {
            invalid.check(
                is_log_group_name(&name),
                "name",
                format_args!(
                    "{name:?} must be 1 to {MAX_NAME_LEN} letters, digits and .-_/# (CloudWatch Logs name rules)"
                ),
            );
            invalid.check(
                !name.starts_with("aws/"),
                "name",
                format_args!("{name:?} starts with aws/, which CloudWatch Logs keeps for AWS's own log groups"),
            );
        }
        if let Some(days) = self.retention_in_days {
            invalid.check(
                LogGroup::RETENTION_DAYS.contains(&days),
                "retention_in_days",
                format_args!("{days} is not a retention CloudWatch Logs accepts: one of {:?}, or None to never expire", LogGroup::RETENTION_DAYS),
            );
        }
        invalid.check_tags(&self.tags);
        invalid.into_result(())?;
        Ok(LogGroup {
            environment,
            name,
            retention_in_days: self.retention_in_days,
            tags: self.tags,
        })
    }
}

fn is_log_group_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_/#".contains(c))
}

impl LogGroup {
    /// The retentions CloudWatch Logs accepts, in days.
    pub const RETENTION_DAYS: [u32; 22] = [
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
        2922, 3288, 3653,
    ];

    /// A builder; the environment and the name are required.
    pub fn builder() -> LogGroupBuilder {
        LogGroupBuilder::default()
    }

    /// The environment.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The log group's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The retention in days; `None` is never expire.
    pub fn retention_in_days(&self) -> Option<u32> {
        self.retention_in_days
    }

    fn tags(&self) -> Tags {
        Tags::new(OWNER_KIND, &self.environment).with_extra(self.tags.clone())
    }

    fn add_to(&self, stack: &mut Stack) -> Handle<LogGroupKind> {
        let spec = LogGroupSpec {
            retention_in_days: self.retention_in_days,
        };
        stack.add(LogGroupKind, &self.name, self.tags(), (), move |_| {
            spec.clone()
        })
    }

    /// What [`apply`](LogGroup::apply) would change, without changing anything. A log group
    /// of this name without our ownership tag is an [`Error::NotOwned`] here too.
    pub async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::plan(self, aws).await
    }

    /// Makes the log group match the inputs and returns its name and ARN. A second apply makes
    /// no mutating call; a same-named log group we did not make is never adopted.
    pub async fn apply(&self, aws: &Aws) -> Result<Applied<LogGroupOutputs>, Error> {
        Module::apply(self, aws).await
    }

    /// What [`destroy`](LogGroup::destroy) would delete: the log group, when it is ours.
    pub async fn plan_destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::plan_destroy(self, aws).await
    }

    /// Deletes the log group, with its events, when it carries our ownership tag; one already
    /// gone is done, and one we did not make is left alone. Returns what it deleted.
    pub async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::destroy(self, aws).await
    }
}

#[async_trait]
impl Module for LogGroup {
    type Outputs = LogGroupOutputs;
    type Refs = LogGroupRefs;

    async fn declare(&self, _aws: &Aws, stack: &mut Stack) -> Result<LogGroupRefs, Error> {
        let start = stack.len();
        let outputs = self.add_to(stack).output(Clone::clone);
        Ok(LogGroupRefs {
            name: self.name.clone(),
            outputs,
            addresses: stack.addresses_from(start),
        })
    }
}

/// A log group declared into a stack: its name (known from the inputs) and its outputs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LogGroupRefs {
    /// The log group's name.
    pub name: String,
    /// Its outputs, known once it exists.
    pub outputs: Ref<LogGroupOutputs>,
    /// The log group's address.
    pub addresses: Vec<Address>,
}

impl Refs for LogGroupRefs {
    type Outputs = LogGroupOutputs;

    fn outputs(&self) -> Ref<LogGroupOutputs> {
        self.outputs.clone()
    }

    fn addresses(&self) -> &[Address] {
        &self.addresses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(err: &Invalid) -> Vec<&str> {
        err.problems.iter().map(|p| p.field.as_str()).collect()
    }

    fn blog() -> LogGroupBuilder {
        LogGroup::builder().environment("blog").name("/ecs/blog")
    }

    #[test]
    fn aws_prefix_is_refused() {
        let err = LogGroup::builder()
            .environment("blog")
            .name("aws/ecs/blog")
            .build()
            .unwrap_err();
        assert_eq!(fields(&err), ["name"]);
        assert!(err.problems[0].rule.contains("aws/"), "{err}");
        assert!(blog().name("/aws/ecs/blog").build().is_ok());
    }

    #[test]
    fn defaults_keep_logs_thirty_days() {
        let group = blog().build().unwrap();
        assert_eq!(group.retention_in_days(), Some(30));
        assert_eq!(group.name(), "/ecs/blog");
        assert_eq!(
            group.tags().for_resource("/ecs/blog")[crate::OWNER_TAG],
            "log-group/blog"
        );
        assert_eq!(
            blog()
                .retention_in_days(None)
                .build()
                .unwrap()
                .retention_in_days(),
            None
        );
    }

    #[test]
    fn environment_and_name_are_required() {
        let err = LogGroup::builder().build().unwrap_err();
        assert_eq!(fields(&err), ["environment", "name"]);
        assert!(err.to_string().contains("name: is required"), "{err}");
    }

    #[test]
    fn name_follows_cloudwatch_rules() {
        for good in ["/ecs/blog", "a", "My.Group_1-#/x", &"a".repeat(512)] {
            assert!(blog().name(good).build().is_ok(), "{good}");
        }
        for bad in [
            "/ecs/blog app",
            "/ecs/blog:1",
            "blog*",
            "é",
            &"a".repeat(513),
        ] {
            let err = blog().name(bad).build().unwrap_err();
            assert_eq!(fields(&err), ["name"], "{bad}");
        }
    }

    #[test]
    fn retention_must_be_one_cloudwatch_takes() {
        for days in LogGroup::RETENTION_DAYS {
            assert!(blog().retention_in_days(days).build().is_ok(), "{days}");
        }
        for days in [0, 2, 31, 3650, 10_000] {
            let err = blog().retention_in_days(days).build().unwrap_err();
            assert_eq!(fields(&err), ["retention_in_days"], "{days}");
        }
    }

    #[test]
    fn reports_every_problem_at_once() {
        let err = LogGroup::builder()
            .environment("blog_")
            .name("bad name")
            .retention_in_days(2)
            .tag("aws:x", "y")
            .build()
            .unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "environment",
                "name",
                "retention_in_days",
                "tags[\"aws:x\"]"
            ]
        );
        assert!(err.to_string().starts_with("4 invalid inputs:"), "{err}");
    }
}

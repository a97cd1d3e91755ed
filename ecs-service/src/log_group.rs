//! The CloudWatch log group the service's containers write to: the module's
//! `aws_cloudwatch_log_group`.
//!
//! Found by name (log group names are unique per account and region) and claimed only when it
//! carries our ownership tag `ecs-modules:owner=log-group/<environment>`, read with
//! `ListTagsForResource`. The tag is scoped to the environment, so two environments that ask
//! for the same log group get [`Error::NotOwned`] instead of sharing one.

use std::collections::BTreeMap;
use std::time::Duration;

use converge::{Action, Aws, AwsResultExt, Change, Error, Invalid, Plan, Progress, Tags, Wait};
use serde::{Deserialize, Serialize};

/// The plan's name for a log group, as Terraform's.
pub(crate) const KIND: &str = "aws_cloudwatch_log_group";
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
/// let logs = ecs_service::LogGroup::builder()
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

/// What [`LogGroup::apply`] returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogGroupOutputs {
    /// The log group's name.
    pub log_group_name: String,
    /// The log group's ARN, without the `:*` that `DescribeLogGroups`' `arn` ends with (the
    /// form IAM policies and `ListTagsForResource` take).
    pub log_group_arn: String,
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

/// The log group of the wanted name, as `DescribeLogGroups` has it.
#[derive(Clone, Debug)]
struct Described {
    arn: String,
    retention: Option<i32>,
}

/// A described log group with its tags.
#[derive(Clone, Debug)]
struct Found {
    arn: String,
    retention: Option<i32>,
    tags: Vec<(String, String)>,
}

impl Found {
    fn tag_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

fn days(days: Option<impl ToString>) -> Option<String> {
    days.map(|d| d.to_string())
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

    fn resource(&self) -> String {
        format!("{KIND} \"{}\"", self.name)
    }

    /// What [`apply`](LogGroup::apply) would change, without changing anything. A log group
    /// of this name without our ownership tag is an [`Error::NotOwned`] here too.
    pub async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        let found = self.find_owned(aws).await?;
        let mut plan = Plan::new();
        plan.push(self.change(found.as_ref()));
        Ok(plan)
    }

    /// Makes the log group match the inputs and returns its name and ARN. A second apply makes
    /// no mutating call; a same-named log group we did not make is never adopted. A failure
    /// after the create says the log group was left behind; applying again finishes the job.
    pub async fn apply(&self, aws: &Aws) -> Result<LogGroupOutputs, Error> {
        let found = self.find_owned(aws).await?;
        let change = self.change(found.as_ref());
        converge::events::planned([&change]);
        let progress = Progress::new();
        let log_group_arn = match (change.action, found) {
            (Action::Update, Some(found)) => {
                self.set_retention(aws).await?;
                found.arn
            }
            (_, Some(found)) => found.arn,
            (_, None) => {
                self.create(aws).await?;
                progress.made(self.resource());
                let arn = self.arn_after_create(aws).await;
                let retention = match self.retention_in_days {
                    Some(_) => self.set_retention(aws).await,
                    None => Ok(()),
                };
                match (arn, retention) {
                    (Ok(arn), Ok(())) => arn,
                    (Err(err), _) | (_, Err(err)) => return Err(progress.fail(err)),
                }
            }
        };
        Ok(LogGroupOutputs {
            log_group_name: self.name.clone(),
            log_group_arn,
        })
    }

    /// What [`destroy`](LogGroup::destroy) would delete: the log group, when it is ours.
    pub async fn plan_destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        let found = self.find(aws).await?;
        Ok(self.deletions(found.as_ref()))
    }

    /// Deletes the log group, with its events, when it carries our ownership tag; one already
    /// gone is done, and one we did not make is left alone. Returns what it deleted.
    pub async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        let found = self.find(aws).await?;
        let plan = self.deletions(found.as_ref());
        if !plan.is_empty() {
            let result = aws
                .logs()
                .delete_log_group()
                .log_group_name(&self.name)
                .send()
                .await
                .context("DeleteLogGroup", self.resource());
            converge::ignore_not_found(result)?;
            tracing::info!(log_group = %self.name, "log group deleted");
        }
        Ok(plan)
    }

    fn deletions(&self, found: Option<&Found>) -> Plan {
        let mut plan = Plan::new();
        match found {
            Some(found) if self.tags().is_owned(found.tag_pairs()) => {
                plan.push(Change::new(Action::Delete, KIND, &self.name).id(&found.arn));
            }
            Some(found) => {
                tracing::warn!(log_group = %found.arn, "not tagged as ours: destroy leaves it");
            }
            None => {}
        }
        plan
    }

    fn change(&self, found: Option<&Found>) -> Change {
        let want = self.retention_in_days;
        match found {
            None => {
                let change = Change::new(Action::Create, KIND, &self.name);
                match want {
                    Some(d) => {
                        change.diff("retention_in_days", None::<String>, Some(d.to_string()))
                    }
                    None => change,
                }
            }
            Some(found) => {
                let change = Change::new(Action::NoOp, KIND, &self.name).id(&found.arn);
                let have = found.retention.and_then(|d| u32::try_from(d).ok());
                if have == want {
                    change
                } else {
                    // `(none)` on either side is never expire.
                    Change {
                        action: Action::Update,
                        ..change
                    }
                    .diff(
                        "retention_in_days",
                        days(found.retention),
                        days(want),
                    )
                }
            }
        }
    }

    /// The log group of exactly this name: `DescribeLogGroups` takes a prefix, so others that
    /// start with it are skipped, page by page.
    async fn describe(&self, aws: &Aws) -> Result<Option<Described>, Error> {
        let mut next_token = None;
        loop {
            let out = aws
                .logs()
                .describe_log_groups()
                .log_group_name_prefix(&self.name)
                .set_next_token(next_token)
                .send()
                .await
                .context("DescribeLogGroups", self.resource())?;
            let hit = out
                .log_groups()
                .iter()
                .find(|g| g.log_group_name() == Some(self.name.as_str()));
            if let Some(group) = hit {
                let arn = group
                    .log_group_arn()
                    .or_else(|| group.arn().map(|a| a.trim_end_matches(":*")))
                    .ok_or_else(|| Error::Failed {
                        resource: self.resource(),
                        reason: "DescribeLogGroups returned it without an ARN".to_owned(),
                    })?;
                return Ok(Some(Described {
                    arn: arn.to_owned(),
                    retention: group.retention_in_days(),
                }));
            }
            match out.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(None),
            }
        }
    }

    /// The log group with its tags.
    async fn find(&self, aws: &Aws) -> Result<Option<Found>, Error> {
        let Some(described) = self.describe(aws).await? else {
            return Ok(None);
        };
        let out = aws
            .logs()
            .list_tags_for_resource()
            .resource_arn(&described.arn)
            .send()
            .await
            .context("ListTagsForResource", self.resource())?;
        let mut tags: Vec<(String, String)> = out
            .tags()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        tags.sort();
        Ok(Some(Found {
            arn: described.arn,
            retention: described.retention,
            tags,
        }))
    }

    /// [`find`](Self::find), refusing a log group that lacks our ownership tag.
    async fn find_owned(&self, aws: &Aws) -> Result<Option<Found>, Error> {
        let found = self.find(aws).await?;
        if let Some(found) = &found {
            self.tags()
                .ensure_owned(KIND, &self.name, found.tag_pairs())?;
        }
        Ok(found)
    }

    /// Creates the log group, tagged in the same call.
    async fn create(&self, aws: &Aws) -> Result<(), Error> {
        aws.logs()
            .create_log_group()
            .log_group_name(&self.name)
            .set_tags(Some(self.tags().map(&self.name)))
            .send()
            .await
            .context("CreateLogGroup", self.resource())?;
        tracing::info!(log_group = %self.name, "log group created");
        Ok(())
    }

    /// `CreateLogGroup` answers nothing, so the ARN is read back; a log group just made may
    /// take a moment to be listed.
    async fn arn_after_create(&self, aws: &Aws) -> Result<String, Error> {
        let wait = Wait {
            timeout: Duration::from_secs(30),
            initial_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        };
        wait.until(&format!("{} to be listed", self.resource()), || async {
            Ok(self.describe(aws).await?.map(|d| d.arn))
        })
        .await
    }

    /// Puts the wanted retention, or deletes the policy for never expire.
    async fn set_retention(&self, aws: &Aws) -> Result<(), Error> {
        match self.retention_in_days {
            Some(days) => {
                aws.logs()
                    .put_retention_policy()
                    .log_group_name(&self.name)
                    .retention_in_days(days as i32)
                    .send()
                    .await
                    .context("PutRetentionPolicy", self.resource())?;
            }
            None => {
                aws.logs()
                    .delete_retention_policy()
                    .log_group_name(&self.name)
                    .send()
                    .await
                    .context("DeleteRetentionPolicy", self.resource())?;
            }
        }
        Ok(())
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
    fn defaults_keep_logs_thirty_days() {
        let group = blog().build().unwrap();
        assert_eq!(group.retention_in_days(), Some(30));
        assert_eq!(group.name(), "/ecs/blog");
        assert_eq!(
            group.tags().for_resource("/ecs/blog")[converge::OWNER_TAG],
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

    #[test]
    fn plan_shows_the_retention_difference() {
        let group = blog().build().unwrap();
        let create = group.change(None);
        assert_eq!(create.action, Action::Create);
        assert_eq!(create.diffs[0].after.as_deref(), Some("30"));
        let found = Found {
            arn: "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/blog".into(),
            retention: Some(7),
            tags: vec![],
        };
        let update = group.change(Some(&found));
        assert_eq!(update.action, Action::Update);
        assert_eq!(update.to_string(), "  ~ aws_cloudwatch_log_group \"/ecs/blog\" (arn:aws:logs:us-east-1:123456789012:log-group:/ecs/blog)\n      retention_in_days: \"7\" -> \"30\"");
        let forever = blog().retention_in_days(None).build().unwrap();
        let change = forever.change(Some(&found));
        assert_eq!(change.diffs[0].after, None);
        let never = Found {
            retention: None,
            ..found
        };
        assert_eq!(forever.change(Some(&never)).action, Action::NoOp);
    }
}

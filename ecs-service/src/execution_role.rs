//! The task execution role: the IAM role ECS assumes to pull the service's images and write
//! its logs, with AWS's managed `AmazonECSTaskExecutionRolePolicy` attached.
//!
//! Found by name (role names are unique per account) and claimed only when it carries our
//! ownership tag `ecs-modules:owner=execution-role/<environment>`. The tag is scoped to the
//! environment, so two environments that ask for the same role name get [`Error::NotOwned`]
//! instead of sharing one.

use std::collections::BTreeMap;

use converge::{
    Action, Aws, AwsResultExt, Change, Error, Invalid, Plan, Progress, Tags, Transient,
};
use futures::future::try_join_all;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The plan's names for the role, its managed policy attachments and its inline policies, as
/// Terraform's.
pub(crate) const KIND: &str = "aws_iam_role";
const ATTACHMENT_KIND: &str = "aws_iam_role_policy_attachment";
const INLINE_KIND: &str = "aws_iam_role_policy";
/// The module name in the ownership tag's value.
const OWNER_KIND: &str = "execution-role";
const MAX_NAME_LEN: usize = 64;

/// Who may assume the role: ECS tasks.
const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
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
/// let role = ecs_service::TaskExecutionRole::builder()
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

/// What [`TaskExecutionRole::apply`] returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskExecutionRoleOutputs {
    /// The role's ARN, for a task definition's `executionRoleArn`.
    pub role_arn: String,
    /// The role's name.
    pub role_name: String,
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

fn is_role_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

/// The role of the wanted name, as IAM has it.
#[derive(Clone, Debug)]
struct Found {
    arn: String,
    /// The trust policy as text, URL-decoded.
    trust: String,
    tags: Vec<(String, String)>,
}

impl Found {
    fn tag_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether its trust policy says what ours says, whatever the spelling.
    fn trust_matches(&self) -> bool {
        let want = serde_json::from_str(TRUST_POLICY).map(normalize).ok();
        let have = serde_json::from_str(&self.trust).map(normalize).ok();
        have.is_some() && have == want
    }
}

/// The partition of a region, for AWS's own ARNs.
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn managed_policy_arn(region: &str) -> String {
    format!("arn:{}:iam::aws:policy/{MANAGED_POLICY}", partition(region))
}

fn is_no_such_entity(err: &Error) -> bool {
    err.code() == Some("NoSuchEntity")
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

    fn resource(&self) -> String {
        format!("{KIND} \"{}\"", self.name)
    }

    fn attachment_name(&self, policy_arn: &str) -> String {
        let short = policy_arn.rsplit('/').next().unwrap_or(policy_arn);
        format!("{}/{short}", self.name)
    }

    /// What [`apply`](TaskExecutionRole::apply) would change, without changing anything. A
    /// role of this name without our ownership tag is an [`Error::NotOwned`] here too.
    pub async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        let found = self.find_owned(aws).await?;
        let attached = match &found {
            Some(_) => self.attached(aws).await?,
            None => Vec::new(),
        };
        let (role, attachment) = self.changes(aws, found.as_ref(), &attached);
        Ok(Plan {
            changes: vec![role, attachment],
        })
    }

    /// Makes the role match the inputs and returns its ARN and name. A second apply makes no
    /// mutating call; a same-named role we did not make is never adopted. Managed policies
    /// attached by others are left attached. A failure after the create says the role was left
    /// behind; applying again finishes the job.
    pub async fn apply(&self, aws: &Aws) -> Result<TaskExecutionRoleOutputs, Error> {
        let found = self.find_owned(aws).await?;
        let policy_arn = managed_policy_arn(aws.region());
        let role_arn = match found {
            None => {
                let (role, attachment) = self.changes(aws, None, &[]);
                converge::events::planned([&role, &attachment]);
                let arn = self.create(aws).await?;
                let progress = Progress::new();
                progress.made(format_args!("{} ({arn})", self.resource()));
                // IAM may not show a role just made to the next call yet.
                let attach = aws
                    .retry()
                    .run(&self.name, Transient::codes(&["NoSuchEntity"]), || {
                        aws.iam()
                            .attach_role_policy()
                            .role_name(&self.name)
                            .policy_arn(&policy_arn)
                            .send()
                    })
                    .await
                    .context("AttachRolePolicy", self.resource());
                attach.map_err(|err| progress.fail(err))?;
                arn
            }
            Some(found) => {
                let attached = self.attached(aws).await?;
                let (role, attachment) = self.changes(aws, Some(&found), &attached);
                converge::events::planned([&role, &attachment]);
                if !found.trust_matches() {
                    aws.iam()
                        .update_assume_role_policy()
                        .role_name(&self.name)
                        .policy_document(TRUST_POLICY)
                        .send()
                        .await
                        .context("UpdateAssumeRolePolicy", self.resource())?;
                }
                if !attached.contains(&policy_arn) {
                    self.attach(aws, &policy_arn).await?;
                }
                found.arn
            }
        };
        Ok(TaskExecutionRoleOutputs {
            role_arn,
            role_name: self.name.clone(),
        })
    }

    /// What [`destroy`](TaskExecutionRole::destroy) would delete: when the role is ours, its
    /// policy attachments, its inline policies and the role.
    pub async fn plan_destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        Ok(self.deletions(aws).await?.0)
    }

    /// Deletes the role when it carries our ownership tag: first every managed policy
    /// attachment and every inline policy (IAM deletes no role that has any), then the role.
    /// A role already gone is done, and one we did not make is left alone. Returns what it
    /// deleted.
    pub async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        let (plan, attached, inline) = self.deletions(aws).await?;
        if plan.is_empty() {
            return Ok(plan);
        }
        try_join_all(attached.iter().map(|arn| async move {
            let result = aws
                .iam()
                .detach_role_policy()
                .role_name(&self.name)
                .policy_arn(arn)
                .send()
                .await
                .context("DetachRolePolicy", self.resource());
            converge::ignore_not_found(result)
        }))
        .await?;
        try_join_all(inline.iter().map(|policy| async move {
            let result = aws
                .iam()
                .delete_role_policy()
                .role_name(&self.name)
                .policy_name(policy)
                .send()
                .await
                .context("DeleteRolePolicy", self.resource());
            converge::ignore_not_found(result)
        }))
        .await?;
        // IAM can still count a policy just detached for a moment.
        let result = aws
            .retry()
            .run(&self.name, Transient::codes(&["DeleteConflict"]), || {
                aws.iam().delete_role().role_name(&self.name).send()
            })
            .await
            .context("DeleteRole", self.resource());
        converge::ignore_not_found(result)?;
        tracing::info!(role = %self.name, "execution role deleted");
        Ok(plan)
    }

    /// The deletions destroy makes, with the attached policy ARNs and inline policy names.
    async fn deletions(&self, aws: &Aws) -> Result<(Plan, Vec<String>, Vec<String>), Error> {
        let mut plan = Plan::new();
        let Some(found) = self.find(aws).await? else {
            return Ok((plan, Vec::new(), Vec::new()));
        };
        if !self.tags().is_owned(found.tag_pairs()) {
            tracing::warn!(role = %found.arn, "not tagged as ours: destroy leaves it");
            return Ok((plan, Vec::new(), Vec::new()));
        }
        let (attached, inline) = tokio::try_join!(self.attached(aws), self.inline(aws))?;
        for arn in &attached {
            plan.push(
                Change::new(Action::Delete, ATTACHMENT_KIND, self.attachment_name(arn)).id(arn),
            );
        }
        for policy in &inline {
            plan.push(
                Change::new(
                    Action::Delete,
                    INLINE_KIND,
                    format!("{}/{policy}", self.name),
                )
                .id(format!("{}:{policy}", self.name)),
            );
        }
        plan.push(Change::new(Action::Delete, KIND, &self.name).id(&found.arn));
        Ok((plan, attached, inline))
    }

    /// The role's change and its policy attachment's.
    fn changes(&self, aws: &Aws, found: Option<&Found>, attached: &[String]) -> (Change, Change) {
        let policy_arn = managed_policy_arn(aws.region());
        let attachment = Change::new(
            Action::Create,
            ATTACHMENT_KIND,
            self.attachment_name(&policy_arn),
        );
        match found {
            None => (
                Change::new(Action::Create, KIND, &self.name).diff(
                    "assume_role_policy",
                    None::<String>,
                    Some(TRUST_POLICY),
                ),
                attachment.diff("policy_arn", None::<String>, Some(policy_arn)),
            ),
            Some(found) => {
                let mut role = Change::new(Action::NoOp, KIND, &self.name).id(&found.arn);
                if !found.trust_matches() {
                    role.action = Action::Update;
                    role = role.diff(
                        "assume_role_policy",
                        Some(compact(&found.trust)),
                        Some(TRUST_POLICY),
                    );
                }
                let attachment = if attached.contains(&policy_arn) {
                    Change {
                        action: Action::NoOp,
                        ..attachment
                    }
                    .id(policy_arn)
                } else {
                    attachment.diff("policy_arn", None::<String>, Some(policy_arn))
                };
                (role, attachment)
            }
        }
    }

    /// The role of this name with its tags; `NoSuchEntity` is no role.
    async fn find(&self, aws: &Aws) -> Result<Option<Found>, Error> {
        let result = aws
            .iam()
            .get_role()
            .role_name(&self.name)
            .send()
            .await
            .context("GetRole", self.resource());
        let out = match result {
            Err(err) if is_no_such_entity(&err) => return Ok(None),
            other => other?,
        };
        let Some(role) = out.role() else {
            return Ok(None);
        };
        let mut tags: Vec<(String, String)> = role
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect();
        // GetRole has returned tags since 2019, but not every IAM (nor emulator) does.
        if tags.is_empty() {
            tags = self.list_tags(aws).await?;
        }
        let raw = role.assume_role_policy_document().unwrap_or_default();
        Ok(Some(Found {
            arn: role.arn().to_owned(),
            trust: decode_policy(raw),
            tags,
        }))
    }

    /// [`find`](Self::find), refusing a role that lacks our ownership tag.
    async fn find_owned(&self, aws: &Aws) -> Result<Option<Found>, Error> {
        let found = self.find(aws).await?;
        if let Some(found) = &found {
            self.tags()
                .ensure_owned(KIND, &self.name, found.tag_pairs())?;
        }
        Ok(found)
    }

    async fn list_tags(&self, aws: &Aws) -> Result<Vec<(String, String)>, Error> {
        let mut tags = Vec::new();
        let mut marker = None;
        loop {
            let out = aws
                .iam()
                .list_role_tags()
                .role_name(&self.name)
                .set_marker(marker)
                .send()
                .await
                .context("ListRoleTags", self.resource())?;
            tags.extend(
                out.tags()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned())),
            );
            match out.marker() {
                Some(next) if out.is_truncated() => marker = Some(next.to_owned()),
                _ => return Ok(tags),
            }
        }
    }

    /// The ARNs of the managed policies attached to the role.
    async fn attached(&self, aws: &Aws) -> Result<Vec<String>, Error> {
        let mut arns = Vec::new();
        let mut marker = None;
        loop {
            let out = aws
                .iam()
                .list_attached_role_policies()
                .role_name(&self.name)
                .set_marker(marker)
                .send()
                .await
                .context("ListAttachedRolePolicies", self.resource())?;
            arns.extend(
                out.attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn())
                    .map(str::to_owned),
            );
            match out.marker() {
                Some(next) if out.is_truncated() => marker = Some(next.to_owned()),
                _ => return Ok(arns),
            }
        }
    }

    /// The names of the role's inline policies.
    async fn inline(&self, aws: &Aws) -> Result<Vec<String>, Error> {
        let mut names = Vec::new();
        let mut marker = None;
        loop {
            let out = aws
                .iam()
                .list_role_policies()
                .role_name(&self.name)
                .set_marker(marker)
                .send()
                .await
                .context("ListRolePolicies", self.resource())?;
            names.extend(out.policy_names().iter().cloned());
            match out.marker() {
                Some(next) if out.is_truncated() => marker = Some(next.to_owned()),
                _ => return Ok(names),
            }
        }
    }

    /// Creates the role, tagged and with its trust policy in the same call; returns its ARN.
    async fn create(&self, aws: &Aws) -> Result<String, Error> {
        let out = aws
            .iam()
            .create_role()
            .role_name(&self.name)
            .assume_role_policy_document(TRUST_POLICY)
            .set_tags(Some(self.tags().iam(&self.name)))
            .send()
            .await
            .context("CreateRole", self.resource())?;
        let arn = out.role().map(|r| r.arn()).unwrap_or_default().to_owned();
        tracing::info!(role = %arn, "execution role created");
        Ok(arn)
    }

    async fn attach(&self, aws: &Aws, policy_arn: &str) -> Result<(), Error> {
        aws.iam()
            .attach_role_policy()
            .role_name(&self.name)
            .policy_arn(policy_arn)
            .send()
            .await
            .context("AttachRolePolicy", self.resource())?;
        Ok(())
    }
}

/// A policy document as IAM returns it: URL-encoded (RFC 3986) by the API, though some
/// tools hand it back decoded. Text that is JSON already is kept as it is.
fn decode_policy(raw: &str) -> String {
    if serde_json::from_str::<Value>(raw).is_ok() {
        return raw.to_owned();
    }
    percent_decode(raw).unwrap_or_else(|| raw.to_owned())
}

/// `%XX` escapes to bytes; `None` when the result is not UTF-8 or an escape is broken.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A policy's JSON on one line, for the plan; the text itself when it is not JSON.
fn compact(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| text.to_owned())
}

/// A policy in one canonical spelling: IAM treats `"Action": "x"` as `["x"]`, a lone
/// statement as a list of one, and the order inside those lists as irrelevant.
fn normalize(value: Value) -> Value {
    const LISTS: [&str; 8] = [
        "Statement",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Service",
        "AWS",
        "Federated",
    ];
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let value = normalize(value);
                    if LISTS.contains(&key.as_str()) {
                        let mut items = match value {
                            Value::Array(items) => items,
                            one => vec![one],
                        };
                        items.sort_by_cached_key(Value::to_string);
                        (key, Value::Array(items))
                    } else {
                        (key, value)
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        other => other,
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
            role.tags().for_resource(role.name())[converge::OWNER_TAG],
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

    #[test]
    fn trust_policy_compares_by_meaning() {
        let found = |trust: &str| Found {
            arn: String::new(),
            trust: decode_policy(trust),
            tags: Vec::new(),
        };
        assert!(found(TRUST_POLICY).trust_matches());
        // As IAM returns it: URL-encoded.
        let encoded = "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%7B%22Effect%22%3A%20%22Allow%22%2C%20%22Principal%22%3A%20%7B%22Service%22%3A%20%22ecs-tasks.amazonaws.com%22%7D%2C%20%22Action%22%3A%20%22sts%3AAssumeRole%22%7D%5D%7D";
        assert!(found(encoded).trust_matches());
        // Other spellings of the same policy.
        assert!(found(
            r#"{"Statement":{"Action":["sts:AssumeRole"],"Principal":{"Service":["ecs-tasks.amazonaws.com"]},"Effect":"Allow"},"Version":"2012-10-17"}"#
        )
        .trust_matches());
        // A different principal, or no JSON at all, differs.
        assert!(!found(&TRUST_POLICY.replace("ecs-tasks", "ec2")).trust_matches());
        assert!(!found("%ZZ").trust_matches());
        assert!(!found("").trust_matches());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2Fc").as_deref(), Some("a b/c"));
        assert_eq!(percent_decode("100%").as_deref(), None);
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(percent_decode("%FF").as_deref(), None);
    }

    #[test]
    fn managed_policy_arn_follows_the_partition() {
        assert_eq!(
            managed_policy_arn("us-east-1"),
            "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
        );
        assert!(managed_policy_arn("cn-north-1").starts_with("arn:aws-cn:"));
        assert!(managed_policy_arn("us-gov-west-1").starts_with("arn:aws-us-gov:"));
    }
}

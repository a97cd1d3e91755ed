//! `aws_cloudwatch_log_group`: found by name (log group names are unique per account and
//! region), claimed by the ownership tag that `ListTagsForResource` reads.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::delta::{Delta, Field};
use crate::plan::{Action, Diff};
use crate::resource::{Cx, Progress, Resource, Wanted};
use crate::{Aws, AwsResultExt, Error, Wait};

/// The log group kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogGroupKind;

/// What a log group should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogGroupSpec {
    /// Days CloudWatch keeps events; `None` is never expire.
    pub retention_in_days: Option<u32>,
}

impl crate::phase::KnownAtPlan for LogGroupSpec {}

/// A log group as AWS has it.
#[derive(Clone, Debug)]
pub struct FoundLogGroup {
    name: String,
    arn: String,
    retention: Option<i32>,
    owner: Option<String>,
}

/// A log group's outputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LogGroupOutputs {
    /// The log group's name.
    pub log_group_name: String,
    /// The log group's ARN, without the `:*` that `DescribeLogGroups`' `arn` ends with (the
    /// form IAM policies and `ListTagsForResource` take).
    pub log_group_arn: String,
}

fn days(days: Option<impl ToString>) -> Option<String> {
    days.map(|d| d.to_string())
}

/// The log group of exactly `name`: `DescribeLogGroups` takes a prefix, so others that start
/// with it are skipped, page by page. Returns (ARN, retention).
async fn describe(aws: &Aws, name: &str) -> Result<Option<(String, Option<i32>)>, Error> {
    let groups = crate::paging::drain_by_marker(
        "DescribeLogGroups",
        LogGroupKind::label(name),
        |token| {
            (aws.logs().describe_log_groups())
                .log_group_name_prefix(name)
                .set_next_token(token)
                .send()
        },
        |page| {
            let groups = page.log_groups.unwrap_or_default();
            // The page that holds it is the last one needed.
            let next = match groups.iter().any(|g| g.log_group_name() == Some(name)) {
                true => None,
                false => page.next_token,
            };
            (groups, next)
        },
    )
    .await?;
    let Some(group) = groups.iter().find(|g| g.log_group_name() == Some(name)) else {
        return Ok(None);
    };
    let arn = group
        .log_group_arn()
        .or_else(|| group.arn().map(|a| a.trim_end_matches(":*")))
        .ok_or_else(|| Error::Failed {
            resource: LogGroupKind::label(name),
            reason: "DescribeLogGroups returned it without an ARN".to_owned(),
        })?;
    Ok(Some((arn.to_owned(), group.retention_in_days())))
}

async fn find(aws: &Aws, name: &str) -> Result<Option<FoundLogGroup>, Error> {
    let Some((arn, retention)) = describe(aws, name).await? else {
        return Ok(None);
    };
    let tags = aws
        .logs()
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .context("ListTagsForResource", LogGroupKind::label(name))?;
    let owner = crate::owner_in(
        tags.tags()
            .into_iter()
            .flatten()
            .map(|(k, v)| (Some(k.as_str()), Some(v.as_str()))),
    );
    Ok(Some(FoundLogGroup {
        name: name.to_owned(),
        arn,
        retention,
        owner,
    }))
}

/// Puts the wanted retention, or deletes the policy for never expire.
async fn set_retention(aws: &Aws, name: &str, days: Option<u32>) -> Result<(), Error> {
    match days {
        Some(days) => {
            aws.logs()
                .put_retention_policy()
                .log_group_name(name)
                .retention_in_days(days as i32)
                .send()
                .await
                .context("PutRetentionPolicy", LogGroupKind::label(name))?;
        }
        None => {
            aws.logs()
                .delete_retention_policy()
                .log_group_name(name)
                .send()
                .await
                .context("DeleteRetentionPolicy", LogGroupKind::label(name))?;
        }
    }
    Ok(())
}

/// A log group's fields that a plan can show changed; it changes in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogGroupField {
    /// Days CloudWatch keeps events (`(none)`: never expire).
    RetentionInDays,
}

impl Field for LogGroupField {
    fn name(&self) -> &str {
        match self {
            LogGroupField::RetentionInDays => "retention_in_days",
        }
    }
}

#[async_trait]
impl Resource for LogGroupKind {
    const KIND: &'static str = "aws_cloudwatch_log_group";
    // Read by the names declared or tracked: a tracked group of the stack's (a feature turned
    // off) goes; a declared one is always claimed.
    const PRUNE: bool = true;
    // How long a log group just made may take to be listed.
    const WAIT: Wait = Wait::new(
        Duration::from_secs(30),
        Duration::from_millis(200),
        Duration::from_secs(2),
    );
    type Field = LogGroupField;
    type Key = ();
    type Desired = LogGroupSpec;
    type Observed = FoundLogGroup;
    type Outputs = LogGroupOutputs;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<crate::permissions::Grant> {
        use crate::permissions::Grant;
        let actions = [
            "logs:CreateLogGroup",
            "logs:PutRetentionPolicy",
            "logs:DeleteRetentionPolicy",
            "logs:ListTagsForResource",
            "logs:TagResource",
            "logs:DeleteLogGroup",
        ];
        vec![
            Grant::new(["logs:DescribeLogGroups"]),
            Grant::new(actions).on("arn:aws:logs:*:*:log-group:{name}"),
            Grant::new(actions).on("arn:aws:logs:*:*:log-group:{name}:*"),
        ]
    }

    async fn read(
        &self,
        aws: &Aws,
        wanted: &[Wanted<'_, ()>],
    ) -> Result<Vec<FoundLogGroup>, Error> {
        let found = futures::future::try_join_all(wanted.iter().map(|w| find(aws, w.name))).await?;
        Ok(found.into_iter().flatten().collect())
    }

    fn name<'o>(&self, o: &'o FoundLogGroup) -> &'o str {
        &o.name
    }

    fn owner<'o>(&self, o: &'o FoundLogGroup) -> Option<&'o str> {
        o.owner.as_deref()
    }

    fn id(&self, o: &FoundLogGroup) -> String {
        o.arn.clone()
    }

    fn tag_target(&self, o: &FoundLogGroup) -> Option<crate::TagTarget> {
        Some(crate::TagTarget::Logs(
            o.arn.trim_end_matches(":*").to_owned(),
        ))
    }

    fn describe(&self, d: &LogGroupSpec) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        if let Some(days) = d.retention_in_days {
            delta.update(LogGroupField::RetentionInDays, None::<u32>, Some(days));
        }
        delta.diffs()
    }

    fn diff(&self, d: &LogGroupSpec, o: &FoundLogGroup) -> Delta<LogGroupField> {
        let mut delta = Delta::new();
        let have = o.retention.and_then(|d| u32::try_from(d).ok());
        if have != d.retention_in_days {
            // `(none)` on either side is never expire.
            delta.update(
                LogGroupField::RetentionInDays,
                days(o.retention),
                days(d.retention_in_days),
            );
        }
        delta
    }

    fn outputs(&self, o: &FoundLogGroup) -> LogGroupOutputs {
        LogGroupOutputs {
            log_group_name: o.name.clone(),
            log_group_arn: o.arn.clone(),
        }
    }

    fn output_id(&self, out: &LogGroupOutputs) -> Option<String> {
        Some(out.log_group_arn.clone())
    }

    async fn create(&self, cx: Cx<'_>, _: &LogGroupSpec) -> Result<LogGroupOutputs, Error> {
        let aws = cx.aws;
        aws.logs()
            .create_log_group()
            .log_group_name(cx.name)
            .set_tags(Some(cx.tags.map(cx.name)))
            .send()
            .await
            .context("CreateLogGroup", LogGroupKind::label(cx.name))?;
        // `CreateLogGroup` answers nothing: the ARN is read back once it is listed
        // (`ready`), and the retention set then.
        Ok(LogGroupOutputs {
            log_group_name: cx.name.to_owned(),
            log_group_arn: String::new(),
        })
    }

    /// A log group just made is listed, with its ARN (it may take a moment); then its
    /// retention is set (a put, so a poll that fails after it can be repeated).
    async fn ready(
        &self,
        cx: Cx<'_>,
        d: &LogGroupSpec,
        out: &LogGroupOutputs,
        action: Action,
    ) -> Result<Progress<LogGroupOutputs>, Error> {
        if action == Action::Update {
            return Ok(Progress::Done(out.clone()));
        }
        let Some((arn, _)) = describe(cx.aws, cx.name).await? else {
            return Ok(Progress::pending(format!(
                "{} to be listed",
                LogGroupKind::label(cx.name)
            )));
        };
        if d.retention_in_days.is_some() {
            set_retention(cx.aws, cx.name, d.retention_in_days).await?;
        }
        Ok(Progress::Done(LogGroupOutputs {
            log_group_arn: arn,
            ..out.clone()
        }))
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &LogGroupSpec,
        o: &FoundLogGroup,
        delta: &Delta<LogGroupField>,
    ) -> Result<LogGroupOutputs, Error> {
        for field in delta.fields() {
            match field {
                LogGroupField::RetentionInDays => {
                    set_retention(cx.aws, cx.name, d.retention_in_days).await?;
                }
            }
        }
        Ok(self.outputs(o))
    }

    async fn delete(&self, cx: Cx<'_>, _o: &FoundLogGroup) -> Result<(), Error> {
        cx.aws
            .logs()
            .delete_log_group()
            .log_group_name(cx.name)
            .send()
            .await
            .context("DeleteLogGroup", LogGroupKind::label(cx.name))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    fn found(retention: Option<i32>) -> FoundLogGroup {
        FoundLogGroup {
            name: "/ecs/blog".into(),
            arn: "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/blog".into(),
            retention,
            owner: None,
        }
    }

    #[test]
    fn the_diff_is_the_retention() {
        let want = |d| LogGroupSpec {
            retention_in_days: d,
        };
        assert_eq!(
            LogGroupKind.describe(&want(Some(30)))[0].after.as_deref(),
            Some("30")
        );
        let delta = LogGroupKind.diff(&want(Some(30)), &found(Some(7)));
        assert_eq!(delta.diffs()[0].before.as_deref(), Some("7"));
        assert_eq!(delta.fields(), [LogGroupField::RetentionInDays]);
        assert_eq!(delta.diffs()[0].field, "retention_in_days");
        assert!(!delta.replaces());
        let forever = LogGroupKind.diff(&want(None), &found(Some(7)));
        assert_eq!(forever.diffs()[0].after, None);
        assert!(LogGroupKind.diff(&want(None), &found(None)).is_empty());
    }

    #[test]
    fn an_unknown_value_differs() {
        let mut delta = Delta::<LogGroupField>::new();
        delta.compare(LogGroupField::RetentionInDays, &1, &Value::AfterApply);
        assert_eq!(delta.diffs().len(), 1);
    }
}

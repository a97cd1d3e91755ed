//! The CloudWatch log group for the ECS agent.

use converge::{Aws, AwsResultExt, Error, Tags};

/// The plan's name for it.
pub(crate) const KIND: &str = "aws_cloudwatch_log_group";

/// Whether our log group `name` exists: `Some(true)` ours, `Some(false)` someone else's.
pub(crate) async fn find(aws: &Aws, tags: &Tags, name: &str) -> Result<Option<bool>, Error> {
    let resource = format!("{KIND} \"{name}\"");
    let out = aws
        .logs()
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .context("DescribeLogGroups", &resource)?;
    let Some(group) = out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
    else {
        return Ok(None);
    };
    let arn = group.arn().unwrap_or_default().trim_end_matches(":*");
    let listed = aws
        .logs()
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .context("ListTagsForResource", &resource)?;
    let owned = tags.is_owned(
        listed
            .tags()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    Ok(Some(owned))
}

/// Makes the log group, tagged in the create call.
pub(crate) async fn create(aws: &Aws, tags: &Tags, name: &str) -> Result<(), Error> {
    aws.logs()
        .create_log_group()
        .log_group_name(name)
        .set_tags(Some(tags.map(name)))
        .send()
        .await
        .context("CreateLogGroup", format_args!("{KIND} \"{name}\""))?;
    Ok(())
}

/// Deletes it.
pub(crate) async fn delete(aws: &Aws, name: &str) -> Result<(), Error> {
    let result = aws
        .logs()
        .delete_log_group()
        .log_group_name(name)
        .send()
        .await
        .context("DeleteLogGroup", format_args!("{KIND} \"{name}\""));
    crate::ignore_gone(result)
}

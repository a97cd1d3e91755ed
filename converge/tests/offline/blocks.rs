//! Unit tests of the building blocks (cluster, log group, task execution role) against
//! aws-smithy-mocks: no AWS, no emulator.
//!
//! Every rule is `RuleMode::MatchAny` and the create and update rules match only well-formed
//! requests (tagged in the call, naming the right resource), so a request the code gets wrong
//! matches no rule and the mock panics on the spot. A client with no rule for an operation
//! panics on any call to it, which is how "nothing was mutated" is enforced, besides the call
//! counter.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_cloudwatchlogs::operation::create_log_group::CreateLogGroupOutput;
use aws_sdk_cloudwatchlogs::operation::delete_log_group::DeleteLogGroupOutput;
use aws_sdk_cloudwatchlogs::operation::delete_retention_policy::DeleteRetentionPolicyOutput;
use aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput;
use aws_sdk_cloudwatchlogs::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_cloudwatchlogs::operation::put_retention_policy::{
    PutRetentionPolicyError, PutRetentionPolicyOutput,
};
use aws_sdk_cloudwatchlogs::types::LogGroup as Group;
use aws_sdk_cloudwatchlogs::Client as Logs;
use aws_sdk_ecs::operation::create_cluster::{CreateClusterError, CreateClusterOutput};
use aws_sdk_ecs::operation::delete_cluster::{DeleteClusterError, DeleteClusterOutput};
use aws_sdk_ecs::operation::describe_clusters::DescribeClustersOutput;
use aws_sdk_ecs::operation::update_cluster::UpdateClusterOutput;
use aws_sdk_ecs::types::error::{ClusterContainsServicesException, ClusterNotFoundException};
use aws_sdk_ecs::types::{
    Cluster as EcsCluster, ClusterField, ClusterSetting, ClusterSettingName, Failure,
};
use aws_sdk_ecs::Client as Ecs;
use aws_sdk_iam::operation::attach_role_policy::{AttachRolePolicyError, AttachRolePolicyOutput};
use aws_sdk_iam::operation::create_role::CreateRoleOutput;
use aws_sdk_iam::operation::delete_role::DeleteRoleOutput;
use aws_sdk_iam::operation::delete_role_policy::DeleteRolePolicyOutput;
use aws_sdk_iam::operation::detach_role_policy::DetachRolePolicyOutput;
use aws_sdk_iam::operation::get_role::{GetRoleError, GetRoleOutput};
use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
use aws_sdk_iam::operation::list_role_tags::ListRoleTagsOutput;
use aws_sdk_iam::operation::update_assume_role_policy::UpdateAssumeRolePolicyOutput;
use aws_sdk_iam::types::{AttachedPolicy, Role};
use aws_sdk_iam::Client as Iam;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use converge::{Action, Aws, Error, Retry};
use converge::{Cluster, LogGroup, TaskExecutionRole};

const OWNER: &str = "ecs-modules:owner";
const CLUSTER_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/blog";
const GROUP_ARN: &str = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/blog";
const ROLE: &str = "blog-ecs-task-execution";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/blog-ecs-task-execution";
const POLICY_ARN: &str = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// Clients answering from the rules, SDK retries off (a retried mock error would silently
/// consume the next response), converge's retries fast.
fn aws(ecs: &[Rule], logs: &[Rule], iam: &[Rule]) -> Aws {
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, ecs, |c| c
        .retry_config(aws_sdk_ecs::config::retry::RetryConfig::disabled()));
    let logs = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, logs, |c| c
        .retry_config(aws_sdk_cloudwatchlogs::config::retry::RetryConfig::disabled()));
    let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, iam, |c| c
        .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled()));
    Aws::builder()
        .ecs(ecs)
        .logs(logs)
        .iam(iam)
        .retry(Retry::fast())
        .build()
}

/// The identity tags a block in the `blog` environment puts on `name`, plus `Team=platform`.
fn owned(kind: &str, name: &str) -> Vec<(String, String)> {
    [
        ("Name", name.to_owned()),
        ("Environment", "blog".to_owned()),
        (OWNER, format!("{kind}/blog")),
        ("Team", "platform".to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v))
    .to_vec()
}

/// Tags a same-named resource made by someone else carries: a `Name`, no ownership tag.
fn foreign(name: &str) -> Vec<(String, String)> {
    vec![("Name".to_owned(), name.to_owned())]
}

/// Whether `pairs` holds exactly the tags of [`owned`].
fn is_owned_tags<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    kind: &str,
    name: &str,
) -> bool {
    let mut got: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let mut want = owned(kind, name);
    got.sort();
    want.sort();
    got == want
}

fn no_mutations(aws: &Aws) {
    let calls = aws.calls().report();
    assert_eq!(calls.mutating, 0, "{calls:#}");
}

// ---------------------------------------------------------------------------------------------
// Cluster

fn blog_cluster(insights: bool) -> Cluster {
    Cluster::builder()
        .environment("blog")
        .container_insights(insights)
        .tag("Team", "platform")
        .build()
        .unwrap()
}

fn ecs_cluster(status: &str, insights: &str, tags: Vec<(String, String)>) -> EcsCluster {
    let builder = EcsCluster::builder()
        .cluster_name("blog")
        .cluster_arn(CLUSTER_ARN)
        .status(status)
        .settings(
            ClusterSetting::builder()
                .name(ClusterSettingName::ContainerInsights)
                .value(insights)
                .build(),
        );
    tags.into_iter()
        .fold(builder, |b, (k, v)| {
            b.tags(aws_sdk_ecs::types::Tag::builder().key(k).value(v).build())
        })
        .build()
}

/// `DescribeClusters` for `blog` with tags and settings, answering `clusters` (or a MISSING
/// failure when there are none).
fn describe_clusters(clusters: Vec<EcsCluster>) -> Rule {
    mock!(Ecs::describe_clusters)
        .match_requests(|r| {
            r.clusters() == ["blog"]
                && r.include().contains(&ClusterField::Tags)
                && r.include().contains(&ClusterField::Settings)
        })
        .then_output(move || {
            let out = DescribeClustersOutput::builder().set_clusters(Some(clusters.clone()));
            if clusters.is_empty() {
                out.failures(
                    Failure::builder()
                        .arn(CLUSTER_ARN)
                        .reason("MISSING")
                        .build(),
                )
            } else {
                out
            }
            .build()
        })
}

#[tokio::test]
async fn cluster_create_sends_tags_and_insights_in_one_call() {
    // A deleted cluster ECS still lists as INACTIVE is no cluster.
    let inactive = ecs_cluster("INACTIVE", "disabled", owned("cluster", "blog"));
    let create = mock!(Ecs::create_cluster)
        .match_requests(|r| {
            let tags = r
                .tags()
                .iter()
                .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()));
            r.cluster_name() == Some("blog")
                && is_owned_tags(tags, "cluster", "blog")
                && r.settings()
                    == [ClusterSetting::builder()
                        .name(ClusterSettingName::ContainerInsights)
                        .value("enabled")
                        .build()]
        })
        .then_output(|| {
            CreateClusterOutput::builder()
                .cluster(
                    EcsCluster::builder()
                        .cluster_name("blog")
                        .cluster_arn(CLUSTER_ARN)
                        .build(),
                )
                .build()
        });
    let aws = aws(&[describe_clusters(vec![inactive]), create], &[], &[]);
    let cluster = blog_cluster(true);

    let plan = cluster.plan(&aws).await.unwrap();
    assert_eq!(plan.summary(), (1, 0, 0), "{plan}");
    let out = cluster.apply(&aws).await.unwrap();
    assert_eq!(out.cluster_arn, CLUSTER_ARN);
    assert_eq!(out.cluster_name, "blog");
    assert_eq!(
        aws.calls().report().mutations(),
        [("CreateCluster", 1)].into()
    );
}

#[tokio::test]
async fn cluster_in_desired_state_makes_no_mutating_call() {
    let active = ecs_cluster("ACTIVE", "disabled", owned("cluster", "blog"));
    let aws = aws(&[describe_clusters(vec![active])], &[], &[]);
    let cluster = blog_cluster(false);

    assert!(cluster.plan(&aws).await.unwrap().is_empty());
    let out = cluster.apply(&aws).await.unwrap();
    assert_eq!(out.cluster_arn, CLUSTER_ARN);
    no_mutations(&aws);
}

#[tokio::test]
async fn cluster_insights_drift_is_planned_and_updated() {
    let active = ecs_cluster("ACTIVE", "enabled", owned("cluster", "blog"));
    let update = mock!(Ecs::update_cluster)
        .match_requests(|r| {
            r.cluster() == Some("blog")
                && r.settings()
                    == [ClusterSetting::builder()
                        .name(ClusterSettingName::ContainerInsights)
                        .value("disabled")
                        .build()]
        })
        .then_output(|| UpdateClusterOutput::builder().build());
    let aws = aws(&[describe_clusters(vec![active]), update], &[], &[]);
    let cluster = blog_cluster(false);

    let plan = cluster.plan(&aws).await.unwrap();
    let change = plan.find("aws_ecs_cluster", "blog").unwrap();
    assert_eq!(change.action, Action::Update);
    assert_eq!(
        change.to_string(),
        format!("  ~ aws_ecs_cluster \"blog\" ({CLUSTER_ARN})\n      container_insights: \"enabled\" -> \"disabled\"")
    );
    cluster.apply(&aws).await.unwrap();
    assert_eq!(
        aws.calls().report().mutations(),
        [("UpdateCluster", 1)].into()
    );
}

#[tokio::test]
async fn cluster_not_owned_is_refused_and_left_alone() {
    // Same name, made by someone else: no ownership tag, or another environment's.
    for tags in [
        foreign("blog"),
        owned("cluster", "blog")
            .into_iter()
            .map(|(k, v)| {
                if k == OWNER {
                    (k, "cluster/other".to_owned())
                } else {
                    (k, v)
                }
            })
            .collect(),
    ] {
        let found = match converge::owner_in(
            tags.iter()
                .map(|(k, v)| (Some(k.as_str()), Some(v.as_str()))),
        ) {
            Some(owner) => format!("it belongs to {}", converge::display_owner(&owner)),
            None => "it has none".to_owned(),
        };
        let active = ecs_cluster("ACTIVE", "disabled", tags);
        let aws = aws(&[describe_clusters(vec![active])], &[], &[]);
        let cluster = blog_cluster(false);

        let err = cluster.apply(&aws).await.unwrap_err();
        assert!(matches!(err, Error::NotOwned { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("aws_ecs_cluster {CLUSTER_ARN} (\"blog\") is not tagged ecs-modules:owner=cluster/blog ({found}): left untouched")
        );
        assert!(matches!(
            cluster.plan(&aws).await.unwrap_err(),
            Error::NotOwned { .. }
        ));
        assert!(cluster.destroy(&aws).await.unwrap().changes.is_empty());
        no_mutations(&aws);
    }
}

#[tokio::test]
async fn cluster_destroy_retries_while_services_drain() {
    let active = ecs_cluster("ACTIVE", "disabled", owned("cluster", "blog"));
    let busy = || {
        DeleteClusterError::ClusterContainsServicesException(
            ClusterContainsServicesException::builder()
                .message("The Cluster cannot be deleted while Services are active.")
                .meta(
                    ErrorMetadata::builder()
                        .code("ClusterContainsServicesException")
                        .build(),
                )
                .build(),
        )
    };
    let delete = mock!(Ecs::delete_cluster)
        .match_requests(|r| r.cluster() == Some(CLUSTER_ARN))
        .sequence()
        .error(busy)
        .error(busy)
        .output(|| DeleteClusterOutput::builder().build())
        .build();
    let aws = aws(&[describe_clusters(vec![active]), delete.clone()], &[], &[]);

    let gone = blog_cluster(false).destroy(&aws).await.unwrap();
    assert_eq!(gone.summary(), (0, 0, 1));
    assert_eq!(gone.changes[0].id.as_deref(), Some(CLUSTER_ARN));
    assert_eq!(delete.num_calls(), 3);
}

#[tokio::test]
async fn cluster_destroy_counts_not_found_as_done() {
    let active = ecs_cluster("ACTIVE", "disabled", owned("cluster", "blog"));
    let delete = mock!(Ecs::delete_cluster).then_error(|| {
        DeleteClusterError::ClusterNotFoundException(
            ClusterNotFoundException::builder()
                .meta(
                    ErrorMetadata::builder()
                        .code("ClusterNotFoundException")
                        .build(),
                )
                .build(),
        )
    });
    let aws = aws(&[describe_clusters(vec![active]), delete], &[], &[]);
    assert_eq!(
        blog_cluster(false).destroy(&aws).await.unwrap().summary(),
        (0, 0, 1)
    );

    // Nothing there: nothing to do.
    let aws = aws_empty_ecs();
    assert!(blog_cluster(false)
        .destroy(&aws)
        .await
        .unwrap()
        .changes
        .is_empty());
    no_mutations(&aws);
}

fn aws_empty_ecs() -> Aws {
    aws(&[describe_clusters(Vec::new())], &[], &[])
}

#[tokio::test]
async fn errors_name_the_resource_the_operation_the_code_and_the_message() {
    let denied = mock!(Ecs::create_cluster).then_error(|| {
        CreateClusterError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("not allowed")
                .build(),
        )
    });
    let aws = aws(&[describe_clusters(Vec::new()), denied], &[], &[]);
    let err = blog_cluster(false).apply(&aws).await.unwrap_err();
    let Error::Stopped { failed, source, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(failed.to_string(), "aws_ecs_cluster \"blog\"");
    assert_eq!(
        source.to_string(),
        "CreateCluster on aws_ecs_cluster \"blog\" failed (AccessDeniedException): not allowed"
    );
    assert_eq!(err.code(), Some("AccessDeniedException"));
}

// ---------------------------------------------------------------------------------------------
// Log group

fn blog_group(retention: Option<u32>) -> LogGroup {
    LogGroup::builder()
        .environment("blog")
        .name("/ecs/blog")
        .retention_in_days(retention)
        .tag("Team", "platform")
        .build()
        .unwrap()
}

/// A log group as `DescribeLogGroups` lists it: `arn` ends with `:*`, and older answers have
/// no `logGroupArn`.
fn group(name: &str, retention: Option<i32>) -> Group {
    Group::builder()
        .log_group_name(name)
        .arn(format!(
            "arn:aws:logs:us-east-1:123456789012:log-group:{name}:*"
        ))
        .set_retention_in_days(retention)
        .build()
}

/// `DescribeLogGroups` by the `/ecs/blog` prefix, answering `pages` in turn (the last one
/// repeatedly). A sibling whose name only starts with ours is on every page.
fn describe_groups(pages: Vec<Vec<Group>>) -> Rule {
    let pages = Arc::new(Mutex::new(pages));
    mock!(Logs::describe_log_groups)
        .match_requests(|r| r.log_group_name_prefix() == Some("/ecs/blog"))
        .then_compute_output(move |_| {
            let mut pages = pages.lock().unwrap();
            let page = if pages.len() > 1 {
                pages.remove(0)
            } else {
                pages[0].clone()
            };
            DescribeLogGroupsOutput::builder()
                .set_log_groups(Some(
                    std::iter::once(group("/ecs/blog-api", Some(1)))
                        .chain(page)
                        .collect(),
                ))
                .build()
        })
}

/// `ListTagsForResource` on the ARN without `:*`, answering `tags`.
fn group_tags(tags: Vec<(String, String)>) -> Rule {
    mock!(Logs::list_tags_for_resource)
        .match_requests(|r| r.resource_arn() == Some(GROUP_ARN))
        .then_output(move || {
            ListTagsForResourceOutput::builder()
                .set_tags(Some(tags.iter().cloned().collect::<HashMap<_, _>>()))
                .build()
        })
}

fn put_retention(days: i32) -> Rule {
    mock!(Logs::put_retention_policy)
        .match_requests(move |r| {
            r.log_group_name() == Some("/ecs/blog") && r.retention_in_days() == Some(days)
        })
        .then_output(|| PutRetentionPolicyOutput::builder().build())
}

fn create_group() -> Rule {
    mock!(Logs::create_log_group)
        .match_requests(|r| {
            let tags = r
                .tags()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), v.as_str()));
            r.log_group_name() == Some("/ecs/blog") && is_owned_tags(tags, "log-group", "/ecs/blog")
        })
        .then_output(|| CreateLogGroupOutput::builder().build())
}

#[tokio::test]
async fn log_group_create_sends_tags_then_retention() {
    // Not listed before the create, listed after it.
    let describe = describe_groups(vec![vec![], vec![group("/ecs/blog", None)]]);
    let aws = aws(&[], &[describe, create_group(), put_retention(30)], &[]);
    let out = blog_group(Some(30)).apply(&aws).await.unwrap();
    assert_eq!(out.log_group_name, "/ecs/blog");
    assert_eq!(out.log_group_arn, GROUP_ARN);
    assert_eq!(
        aws.calls().report().mutations(),
        [("CreateLogGroup", 1), ("PutRetentionPolicy", 1)].into()
    );
}

#[tokio::test]
async fn log_group_in_desired_state_makes_no_mutating_call() {
    let describe = describe_groups(vec![vec![group("/ecs/blog", Some(30))]]);
    let tags = group_tags(owned("log-group", "/ecs/blog"));
    let aws = aws(&[], &[describe, tags], &[]);
    let logs = blog_group(Some(30));
    assert!(logs.plan(&aws).await.unwrap().is_empty());
    let out = logs.apply(&aws).await.unwrap();
    assert_eq!(out.log_group_arn, GROUP_ARN);
    no_mutations(&aws);
}

#[tokio::test]
async fn log_group_retention_drift_is_planned_and_repaired() {
    let describe = || describe_groups(vec![vec![group("/ecs/blog", Some(7))]]);
    let tags = || group_tags(owned("log-group", "/ecs/blog"));
    let aws_put = aws(&[], &[describe(), tags(), put_retention(30)], &[]);
    let plan = blog_group(Some(30)).plan(&aws_put).await.unwrap();
    let diff = &plan.changes[0].diffs[0];
    assert_eq!(
        (
            diff.field.as_str(),
            diff.before.as_deref(),
            diff.after.as_deref()
        ),
        ("retention_in_days", Some("7"), Some("30"))
    );
    blog_group(Some(30)).apply(&aws_put).await.unwrap();
    assert_eq!(
        aws_put.calls().report().mutations(),
        [("PutRetentionPolicy", 1)].into()
    );

    // Never expire: the retention policy goes.
    let delete = mock!(Logs::delete_retention_policy)
        .match_requests(|r| r.log_group_name() == Some("/ecs/blog"))
        .then_output(|| DeleteRetentionPolicyOutput::builder().build());
    let aws_delete = aws(&[], &[describe(), tags(), delete], &[]);
    blog_group(None).apply(&aws_delete).await.unwrap();
    assert_eq!(
        aws_delete.calls().report().mutations(),
        [("DeleteRetentionPolicy", 1)].into()
    );
}

#[tokio::test]
async fn log_group_not_owned_is_refused_and_left_alone() {
    let describe = describe_groups(vec![vec![group("/ecs/blog", None)]]);
    let tags = group_tags(foreign("/ecs/blog"));
    let aws = aws(&[], &[describe, tags], &[]);
    let logs = blog_group(Some(30));
    let err = logs.apply(&aws).await.unwrap_err();
    assert!(matches!(err, Error::NotOwned { .. }), "{err:?}");
    assert!(matches!(
        logs.plan(&aws).await.unwrap_err(),
        Error::NotOwned { .. }
    ));
    assert!(logs.destroy(&aws).await.unwrap().changes.is_empty());
    no_mutations(&aws);
}

#[tokio::test]
async fn log_group_retention_failure_names_the_group_and_what_remains() {
    let describe = describe_groups(vec![vec![], vec![group("/ecs/blog", None)]]);
    let refused = mock!(Logs::put_retention_policy).then_error(|| {
        PutRetentionPolicyError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .build(),
        )
    });
    let aws = aws(&[], &[describe, create_group(), refused], &[]);
    let err = blog_group(Some(30)).apply(&aws).await.unwrap_err();
    let Error::Stopped {
        failed, remaining, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    // The group itself exists (its create succeeded): applying again sets the retention.
    assert_eq!(failed.to_string(), "aws_cloudwatch_log_group \"/ecs/blog\"");
    assert_eq!(remaining, &[failed.as_ref().clone()]);
    assert_eq!(err.code(), Some("AccessDeniedException"));
}

#[tokio::test]
async fn log_group_destroy_deletes_only_its_own() {
    let describe = describe_groups(vec![vec![group("/ecs/blog", Some(30))]]);
    let tags = group_tags(owned("log-group", "/ecs/blog"));
    let delete = mock!(Logs::delete_log_group)
        .match_requests(|r| r.log_group_name() == Some("/ecs/blog"))
        .then_output(|| DeleteLogGroupOutput::builder().build());
    let aws = aws(&[], &[describe, tags, delete], &[]);
    let gone = blog_group(Some(30)).destroy(&aws).await.unwrap();
    assert_eq!(gone.summary(), (0, 0, 1));
    assert_eq!(gone.changes[0].id.as_deref(), Some(GROUP_ARN));
    assert_eq!(
        aws.calls().report().mutations(),
        [("DeleteLogGroup", 1)].into()
    );
}

// ---------------------------------------------------------------------------------------------
// Task execution role

fn blog_role() -> TaskExecutionRole {
    TaskExecutionRole::builder()
        .environment("blog")
        .tag("Team", "platform")
        .build()
        .unwrap()
}

fn no_such_entity() -> ErrorMetadata {
    ErrorMetadata::builder()
        .code("NoSuchEntity")
        .message("The role with name blog-ecs-task-execution cannot be found.")
        .build()
}

/// The role as `GetRole` returns it: the trust policy URL-encoded, with `tags` (IAM may leave
/// them out, in which case `ListRoleTags` has them).
fn iam_role(trust: &str, tags: &[(String, String)]) -> Role {
    let encoded: String = trust
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    tags.iter()
        .fold(
            Role::builder()
                .path("/")
                .role_name(ROLE)
                .role_id("AROAEXAMPLE")
                .arn(ROLE_ARN)
                .create_date(aws_smithy_types::DateTime::from_secs(0))
                .assume_role_policy_document(encoded),
            |b, (k, v)| b.tags(iam_tag(k, v)),
        )
        .build()
        .unwrap()
}

fn iam_tag(k: &str, v: &str) -> aws_sdk_iam::types::Tag {
    aws_sdk_iam::types::Tag::builder()
        .key(k)
        .value(v)
        .build()
        .unwrap()
}

fn get_role(role: Role) -> Rule {
    mock!(Iam::get_role)
        .match_requests(|r| r.role_name() == Some(ROLE))
        .then_output(move || GetRoleOutput::builder().role(role.clone()).build())
}

fn attached(arns: &'static [&'static str]) -> Rule {
    mock!(Iam::list_attached_role_policies)
        .match_requests(|r| r.role_name() == Some(ROLE))
        .then_output(move || {
            ListAttachedRolePoliciesOutput::builder()
                .set_attached_policies(Some(
                    arns.iter()
                        .map(|arn| {
                            AttachedPolicy::builder()
                                .policy_arn(*arn)
                                .policy_name(arn.rsplit('/').next().unwrap())
                                .build()
                        })
                        .collect(),
                ))
                .is_truncated(false)
                .build()
        })
}

fn attach_policy() -> Rule {
    mock!(Iam::attach_role_policy)
        .match_requests(|r| r.role_name() == Some(ROLE) && r.policy_arn() == Some(POLICY_ARN))
        .then_output(|| AttachRolePolicyOutput::builder().build())
}

/// Whether a policy document says what the module's trust policy says.
fn is_trust(doc: Option<&str>) -> bool {
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    doc.and_then(parse).is_some_and(|v| Some(v) == parse(TRUST))
}

#[tokio::test]
async fn role_create_sends_tags_and_trust_then_attaches_the_policy() {
    let missing = mock!(Iam::get_role).then_error(|| GetRoleError::generic(no_such_entity()));
    let create = mock!(Iam::create_role)
        .match_requests(|r| {
            let tags = r.tags().iter().map(|t| (t.key(), t.value()));
            r.role_name() == Some(ROLE)
                && is_trust(r.assume_role_policy_document())
                && is_owned_tags(tags, "execution-role", ROLE)
        })
        .then_output(|| {
            CreateRoleOutput::builder()
                .role(iam_role(TRUST, &[]))
                .build()
        });
    // IAM does not show the new role to the next call at once: the attach is retried.
    let not_yet = mock!(Iam::attach_role_policy)
        .match_requests(|r| r.role_name() == Some(ROLE) && r.policy_arn() == Some(POLICY_ARN))
        .sequence()
        .error(|| AttachRolePolicyError::generic(no_such_entity()))
        .output(|| AttachRolePolicyOutput::builder().build())
        .build();
    let aws = aws(&[], &[], &[missing, create, not_yet.clone()]);
    let role = blog_role();

    let plan = role.plan(&aws).await.unwrap();
    assert_eq!(plan.summary(), (1, 0, 0), "{plan}");
    let create = plan.find("aws_iam_role", ROLE).unwrap();
    assert!(create
        .diffs
        .iter()
        .any(|d| d.field == "managed_policy_arns" && d.after.as_deref() == Some(POLICY_ARN)));
    let out = role.apply(&aws).await.unwrap();
    assert_eq!(out.role_arn, ROLE_ARN);
    assert_eq!(out.role_name, ROLE);
    // Each retry is a call of its own.
    assert_eq!(not_yet.num_calls(), 2);
    assert_eq!(
        aws.calls().report().mutations(),
        [("AttachRolePolicy", 2), ("CreateRole", 1)].into()
    );
}

#[tokio::test]
async fn role_in_desired_state_makes_no_mutating_call() {
    // GetRole without tags: the ownership tag comes from ListRoleTags.
    let tags = mock!(Iam::list_role_tags)
        .match_requests(|r| r.role_name() == Some(ROLE))
        .then_output(|| {
            ListRoleTagsOutput::builder()
                .set_tags(Some(
                    owned("execution-role", ROLE)
                        .iter()
                        .map(|(k, v)| iam_tag(k, v))
                        .collect(),
                ))
                .is_truncated(false)
                .build()
                .unwrap()
        });
    let aws = aws(
        &[],
        &[],
        &[
            get_role(iam_role(TRUST, &[])),
            tags,
            attached(&[POLICY_ARN]),
        ],
    );
    let role = blog_role();
    assert!(role.plan(&aws).await.unwrap().is_empty());
    let out = role.apply(&aws).await.unwrap();
    assert_eq!(out.role_arn, ROLE_ARN);
    no_mutations(&aws);
}

#[tokio::test]
async fn role_drift_is_planned_and_repaired() {
    let ec2_trust = TRUST.replace("ecs-tasks", "ec2");
    let update = mock!(Iam::update_assume_role_policy)
        .match_requests(|r| r.role_name() == Some(ROLE) && is_trust(r.policy_document()))
        .then_output(|| UpdateAssumeRolePolicyOutput::builder().build());
    let aws = aws(
        &[],
        &[],
        &[
            get_role(iam_role(&ec2_trust, &owned("execution-role", ROLE))),
            attached(&["arn:aws:iam::aws:policy/ReadOnlyAccess"]),
            update,
            attach_policy(),
        ],
    );
    let role = blog_role();
    let plan = role.plan(&aws).await.unwrap();
    assert_eq!(plan.summary(), (0, 1, 0), "{plan}");
    let diffs = &plan.find("aws_iam_role", ROLE).unwrap().diffs;
    assert_eq!(diffs[1].after.as_deref(), Some(POLICY_ARN));
    let trust = &diffs[0];
    assert_eq!(trust.field, "assume_role_policy");
    assert!(trust
        .before
        .as_deref()
        .unwrap()
        .contains("ec2.amazonaws.com"));
    role.apply(&aws).await.unwrap();
    // The policy someone else attached stays.
    assert_eq!(
        aws.calls().report().mutations(),
        [("AttachRolePolicy", 1), ("UpdateAssumeRolePolicy", 1)].into()
    );
}

#[tokio::test]
async fn role_not_owned_is_refused_and_left_alone() {
    let aws = aws(&[], &[], &[get_role(iam_role(TRUST, &foreign(ROLE)))]);
    let role = blog_role();
    let err = role.apply(&aws).await.unwrap_err();
    assert!(matches!(err, Error::NotOwned { .. }), "{err:?}");
    assert!(matches!(
        role.plan(&aws).await.unwrap_err(),
        Error::NotOwned { .. }
    ));
    assert!(role.destroy(&aws).await.unwrap().changes.is_empty());
    no_mutations(&aws);
}

#[tokio::test]
async fn role_destroy_detaches_and_deletes_policies_then_the_role() {
    let order = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = |order: &Arc<Mutex<Vec<String>>>, what: String| order.lock().unwrap().push(what);
    let (o1, o2, o3) = (order.clone(), order.clone(), order.clone());
    let inline = mock!(Iam::list_role_policies)
        .match_requests(|r| r.role_name() == Some(ROLE))
        .then_output(|| {
            ListRolePoliciesOutput::builder()
                .policy_names("extra-logs")
                .is_truncated(false)
                .build()
                .unwrap()
        });
    let detach = mock!(Iam::detach_role_policy)
        .match_requests(|r| r.role_name() == Some(ROLE))
        .then_compute_output(move |r| {
            log(&o1, format!("detach {}", r.policy_arn().unwrap()));
            DetachRolePolicyOutput::builder().build()
        });
    let delete_inline = mock!(Iam::delete_role_policy)
        .match_requests(|r| r.role_name() == Some(ROLE))
        .then_compute_output(move |r| {
            log(&o2, format!("delete inline {}", r.policy_name().unwrap()));
            DeleteRolePolicyOutput::builder().build()
        });
    let delete = mock!(Iam::delete_role)
        .match_requests(|r| r.role_name() == Some(ROLE))
        .then_compute_output(move |_| {
            log(&o3, "delete role".to_owned());
            DeleteRoleOutput::builder().build()
        });
    let aws = aws(
        &[],
        &[],
        &[
            get_role(iam_role(TRUST, &owned("execution-role", ROLE))),
            attached(&[POLICY_ARN, "arn:aws:iam::aws:policy/ReadOnlyAccess"]),
            inline,
            detach,
            delete_inline,
            delete,
        ],
    );
    let gone = blog_role().destroy(&aws).await.unwrap();
    let kinds: Vec<_> = gone.changes.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(kinds, ["aws_iam_role"]);
    let order = order.lock().unwrap().clone();
    assert_eq!(order.len(), 4, "{order:?}");
    assert_eq!(order.last().map(String::as_str), Some("delete role"));
    assert!(order.contains(&format!("detach {POLICY_ARN}")), "{order:?}");
    assert!(
        order.contains(&"delete inline extra-logs".to_owned()),
        "{order:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Task role

const TASK_ROLE: &str = "blog-ecs-task";
const QUEUE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:123456789012:jobs"}]}"#;

fn url_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The task role's inline policies as IAM lists them: the role's own (one still in the
/// inputs, one taken out) and a service's exec policy, which is not the role's to judge.
#[tokio::test]
async fn task_role_compares_inline_policies_by_meaning_and_deletes_only_its_own_removed_one() {
    use aws_sdk_iam::operation::get_role_policy::GetRolePolicyOutput;

    let tags = [
        ("Name", TASK_ROLE),
        ("Environment", "blog"),
        (OWNER, "task-role/blog/blog-ecs-task"),
    ];
    let role = tags
        .iter()
        .fold(
            Role::builder()
                .path("/")
                .role_name(TASK_ROLE)
                .role_id("AROATASK")
                .arn(format!("arn:aws:iam::123456789012:role/{TASK_ROLE}"))
                .create_date(aws_smithy_types::DateTime::from_secs(0))
                .assume_role_policy_document(url_encoded(TRUST)),
            |b, (k, v)| b.tags(iam_tag(k, v)),
        )
        .build()
        .unwrap();
    let get = mock!(Iam::get_role)
        .match_requests(|r| r.role_name() == Some(TASK_ROLE))
        .then_output(move || GetRoleOutput::builder().role(role.clone()).build());
    let managed = mock!(Iam::list_attached_role_policies).then_output(|| {
        ListAttachedRolePoliciesOutput::builder()
            .is_truncated(false)
            .build()
    });
    let names = mock!(Iam::list_role_policies)
        .match_requests(|r| r.role_name() == Some(TASK_ROLE))
        .then_output(|| {
            ListRolePoliciesOutput::builder()
                .policy_names("blog-ecs-task.queue")
                .policy_names("blog-ecs-task.old")
                // A service's, on a role named like it: not the role's.
                .policy_names("blog-ecs-task-exec")
                .is_truncated(false)
                .build()
                .unwrap()
        });
    // As IAM answers: URL-encoded, and spelled otherwise than the inputs.
    let documents = mock!(Iam::get_role_policy)
        .match_requests(|r| r.role_name() == Some(TASK_ROLE))
        .then_output(|| {
            GetRolePolicyOutput::builder()
                .role_name(TASK_ROLE)
                .policy_name("blog-ecs-task.queue")
                .policy_document(url_encoded(
                    r#"{"Statement": {"Resource": "arn:aws:sqs:us-east-1:123456789012:jobs", "Action": ["sqs:SendMessage"], "Effect": "Allow"}, "Version": "2012-10-17"}"#,
                ))
                .build()
                .unwrap()
        });
    let delete = mock!(Iam::delete_role_policy)
        .match_requests(|r| {
            r.role_name() == Some(TASK_ROLE) && r.policy_name() == Some("blog-ecs-task.old")
        })
        .then_output(|| DeleteRolePolicyOutput::builder().build());
    let aws = aws(&[], &[], &[get, managed, names, documents, delete]);
    let role = converge::TaskRole::builder()
        .environment("blog")
        .inline_policy("queue", QUEUE)
        .build()
        .unwrap();

    let plan = role.plan(&aws).await.unwrap();
    assert_eq!(plan.summary(), (0, 0, 1), "{plan}");
    let gone = plan.actions().next().unwrap();
    assert_eq!(gone.kind, "aws_iam_role_policy");
    assert_eq!(gone.name, "blog-ecs-task.old");
    role.apply(&aws).await.unwrap();
    assert_eq!(
        aws.calls().report().mutations(),
        [("DeleteRolePolicy", 1)].into()
    );
}

//! The building blocks (ECS cluster, log group, task execution role) against the emulator:
//! outputs, no-op second apply, out-of-band drift shown and repaired, destroy, look-alikes.

use aws_sdk_ecs::types::{ClusterField, ClusterSetting, ClusterSettingName};
use converge::{Action, Aws, Error};
use ecs_modules::ecs_service::{Cluster, LogGroup, TaskExecutionRole};

use crate::util::{aws, environment};

const POLICY_ARN: &str = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
const OWNER: &str = "ecs-modules:owner";

fn assert_no_mutations(aws: &Aws) {
    let calls = aws.calls().report();
    assert_eq!(calls.mutating, 0, "{calls:#}");
}

// ---------------------------------------------------------------------------------------------
// Cluster

/// The cluster `name` as ECS lists it, any status.
async fn ecs_cluster(aws: &Aws, name: &str) -> Option<aws_sdk_ecs::types::Cluster> {
    let out = aws
        .ecs()
        .describe_clusters()
        .clusters(name)
        .include(ClusterField::Tags)
        .include(ClusterField::Settings)
        .send()
        .await
        .unwrap();
    out.clusters().first().cloned()
}

fn insights(cluster: &aws_sdk_ecs::types::Cluster) -> Option<&str> {
    cluster
        .settings()
        .iter()
        .find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights))
        .and_then(|s| s.value())
}

fn ecs_tag<'a>(cluster: &'a aws_sdk_ecs::types::Cluster, key: &str) -> Option<&'a str> {
    cluster
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

#[tokio::test]
async fn cluster_applies_once_repairs_insights_and_destroys() {
    let aws = aws().await;
    let env = environment("blk-cluster");
    let cluster = Cluster::builder()
        .environment(&env)
        .tag("Team", "platform")
        .build()
        .unwrap();

    let out = cluster.apply(&aws).await.unwrap();
    assert_eq!(out.cluster_name, env);
    assert!(
        out.cluster_arn.ends_with(&format!(":cluster/{env}")),
        "{}",
        out.cluster_arn
    );
    let made = ecs_cluster(&aws, &env).await.unwrap();
    assert_eq!(made.status(), Some("ACTIVE"));
    assert_eq!(insights(&made), Some("disabled"));
    assert_eq!(
        ecs_tag(&made, OWNER),
        Some(format!("cluster/{env}").as_str())
    );
    assert_eq!(ecs_tag(&made, "Environment"), Some(env.as_str()));
    assert_eq!(ecs_tag(&made, "Team"), Some("platform"));

    aws.calls().reset();
    assert_eq!(cluster.apply(&aws).await.unwrap(), out.outputs);
    assert_no_mutations(&aws);

    // Someone turns Container Insights on behind our back.
    aws.ecs()
        .update_cluster()
        .cluster(&env)
        .settings(
            ClusterSetting::builder()
                .name(ClusterSettingName::ContainerInsights)
                .value("enabled")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let plan = cluster.plan(&aws).await.unwrap();
    let change = plan.find("aws_ecs_cluster", &env).unwrap();
    assert_eq!(change.action, Action::Update, "{plan}");
    assert_eq!(change.diffs[0].field, "container_insights");
    assert_eq!(change.diffs[0].before.as_deref(), Some("enabled"));
    assert_eq!(change.diffs[0].after.as_deref(), Some("disabled"));
    cluster.apply(&aws).await.unwrap();
    assert_eq!(
        insights(&ecs_cluster(&aws, &env).await.unwrap()),
        Some("disabled")
    );
    assert!(cluster.plan(&aws).await.unwrap().is_empty());

    // Asking for insights is an update too.
    let with_insights = Cluster::builder()
        .environment(&env)
        .container_insights(true)
        .build()
        .unwrap();
    with_insights.apply(&aws).await.unwrap();
    assert_eq!(
        insights(&ecs_cluster(&aws, &env).await.unwrap()),
        Some("enabled")
    );

    let gone = cluster.destroy(&aws).await.unwrap();
    assert_eq!(gone.summary(), (0, 0, 1), "{gone}");
    let left = ecs_cluster(&aws, &env).await;
    assert!(
        left.as_ref().is_none_or(|c| c.status() != Some("ACTIVE")),
        "{left:?}"
    );
    assert!(cluster.destroy(&aws).await.unwrap().changes.is_empty());
    assert_eq!(cluster.plan(&aws).await.unwrap().summary(), (1, 0, 0));
}

#[tokio::test]
async fn cluster_without_our_tag_survives_destroy() {
    let aws = aws().await;
    let env = environment("blk-cluster-foreign");
    aws.ecs()
        .create_cluster()
        .cluster_name(&env)
        .send()
        .await
        .unwrap();
    let cluster = Cluster::builder().environment(&env).build().unwrap();

    let err = cluster.apply(&aws).await.unwrap_err();
    assert!(matches!(err, Error::NotOwned { .. }), "{err}");
    assert!(cluster.destroy(&aws).await.unwrap().changes.is_empty());
    assert_eq!(
        ecs_cluster(&aws, &env).await.unwrap().status(),
        Some("ACTIVE")
    );

    // Ours in another environment is not ours either.
    let ours = Cluster::builder()
        .environment(&env)
        .name(format!("{env}-x"))
        .build()
        .unwrap();
    ours.apply(&aws).await.unwrap();
    let other_env = Cluster::builder()
        .environment("other")
        .name(format!("{env}-x"))
        .build()
        .unwrap();
    assert!(matches!(
        other_env.apply(&aws).await.unwrap_err(),
        Error::NotOwned { .. }
    ));
    assert!(other_env.destroy(&aws).await.unwrap().changes.is_empty());
    assert_eq!(ours.destroy(&aws).await.unwrap().summary(), (0, 0, 1));

    aws.ecs()
        .delete_cluster()
        .cluster(&env)
        .send()
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Log group

/// The retention of the log group `name` (`None`: never expires), or `None` when there is no
/// such group. (The root package does not name CloudWatch Logs types.)
async fn listed(aws: &Aws, name: &str) -> Option<Option<i32>> {
    let out = aws
        .logs()
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .unwrap();
    out.log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .map(|g| g.retention_in_days())
}

async fn retention(aws: &Aws, name: &str) -> Option<i32> {
    listed(aws, name).await.expect("log group exists")
}

#[tokio::test]
async fn log_group_applies_once_repairs_retention_and_destroys() {
    let aws = aws().await;
    let env = environment("blk-logs");
    let name = format!("/ecs/{env}");
    let logs = LogGroup::builder()
        .environment(&env)
        .name(&name)
        .tag("Team", "platform")
        .build()
        .unwrap();

    let out = logs.apply(&aws).await.unwrap();
    assert_eq!(out.log_group_name, name);
    assert!(
        out.log_group_arn.ends_with(&format!(":log-group:{name}")),
        "{}",
        out.log_group_arn
    );
    assert_eq!(retention(&aws, &name).await, Some(30));
    let tags = aws
        .logs()
        .list_tags_for_resource()
        .resource_arn(&out.log_group_arn)
        .send()
        .await
        .unwrap();
    let tags = tags.tags().unwrap();
    assert_eq!(tags[OWNER], format!("log-group/{env}"));
    assert_eq!(tags["Name"], name);
    assert_eq!(tags["Team"], "platform");

    aws.calls().reset();
    assert_eq!(logs.apply(&aws).await.unwrap(), out.outputs);
    assert_no_mutations(&aws);

    // Someone shortens the retention behind our back.
    aws.logs()
        .put_retention_policy()
        .log_group_name(&name)
        .retention_in_days(7)
        .send()
        .await
        .unwrap();
    let plan = logs.plan(&aws).await.unwrap();
    let change = plan.find("aws_cloudwatch_log_group", &name).unwrap();
    assert_eq!(change.action, Action::Update, "{plan}");
    assert_eq!(change.diffs[0].before.as_deref(), Some("7"));
    assert_eq!(change.diffs[0].after.as_deref(), Some("30"));
    logs.apply(&aws).await.unwrap();
    assert_eq!(retention(&aws, &name).await, Some(30));
    assert!(logs.plan(&aws).await.unwrap().is_empty());

    // Never expire, as Terraform's default: the retention policy goes.
    let forever = LogGroup::builder()
        .environment(&env)
        .name(&name)
        .retention_in_days(None)
        .build()
        .unwrap();
    forever.apply(&aws).await.unwrap();
    assert_eq!(retention(&aws, &name).await, None);
    aws.calls().reset();
    forever.apply(&aws).await.unwrap();
    assert_no_mutations(&aws);

    let gone = logs.destroy(&aws).await.unwrap();
    assert_eq!(gone.summary(), (0, 0, 1), "{gone}");
    assert!(listed(&aws, &name).await.is_none());
    assert!(logs.destroy(&aws).await.unwrap().changes.is_empty());
}

#[tokio::test]
async fn log_group_without_our_tag_survives_destroy() {
    let aws = aws().await;
    let env = environment("blk-logs-foreign");
    let name = format!("/ecs/{env}");
    aws.logs()
        .create_log_group()
        .log_group_name(&name)
        .send()
        .await
        .unwrap();
    let logs = LogGroup::builder()
        .environment(&env)
        .name(&name)
        .build()
        .unwrap();

    let err = logs.apply(&aws).await.unwrap_err();
    assert!(matches!(err, Error::NotOwned { .. }), "{err}");
    assert!(logs.destroy(&aws).await.unwrap().changes.is_empty());
    // Untouched: still there, still never expiring.
    assert_eq!(retention(&aws, &name).await, None);

    aws.logs()
        .delete_log_group()
        .log_group_name(&name)
        .send()
        .await
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Task execution role

async fn attached_policies(aws: &Aws, role: &str) -> Vec<String> {
    let out = aws
        .iam()
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    out.attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn execution_role_applies_once_repairs_drift_and_destroys() {
    let aws = aws().await;
    let env = environment("blk-role");
    let role = TaskExecutionRole::builder()
        .environment(&env)
        .tag("Team", "platform")
        .build()
        .unwrap();
    let name = format!("{env}-ecs-task-execution");

    let out = role.apply(&aws).await.unwrap();
    assert_eq!(out.role_name, name);
    assert!(
        out.role_arn.ends_with(&format!(":role/{name}")),
        "{}",
        out.role_arn
    );
    assert_eq!(attached_policies(&aws, &name).await, [POLICY_ARN]);
    let got = aws.iam().get_role().role_name(&name).send().await.unwrap();
    let tags = got.role().unwrap().tags();
    let tag = |key: &str| tags.iter().find(|t| t.key() == key).map(|t| t.value());
    assert_eq!(tag(OWNER), Some(format!("execution-role/{env}").as_str()));
    assert_eq!(tag("Team"), Some("platform"));

    aws.calls().reset();
    assert_eq!(role.apply(&aws).await.unwrap(), out.outputs);
    assert_no_mutations(&aws);

    // Someone detaches the policy and lets EC2 assume the role instead.
    aws.iam()
        .detach_role_policy()
        .role_name(&name)
        .policy_arn(POLICY_ARN)
        .send()
        .await
        .unwrap();
    aws.iam()
        .update_assume_role_policy()
        .role_name(&name)
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let plan = role.plan(&aws).await.unwrap();
    // One role to change: its trust policy and its missing managed policy.
    assert_eq!(plan.summary(), (0, 1, 0), "{plan}");
    let diffs = &plan.find("aws_iam_role", &name).unwrap().diffs;
    assert_eq!(diffs[1].after.as_deref(), Some(POLICY_ARN), "{plan}");
    let trust = &diffs[0];
    assert!(
        trust
            .before
            .as_deref()
            .unwrap()
            .contains("ec2.amazonaws.com"),
        "{plan}"
    );
    role.apply(&aws).await.unwrap();
    assert_eq!(attached_policies(&aws, &name).await, [POLICY_ARN]);
    assert!(role.plan(&aws).await.unwrap().is_empty());

    // Destroy takes what others added to the role with it: IAM deletes no role with policies.
    aws.iam()
        .attach_role_policy()
        .role_name(&name)
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .send()
        .await
        .unwrap();
    aws.iam()
        .put_role_policy()
        .role_name(&name)
        .policy_name("extra")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:CreateLogStream","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let gone = role.destroy(&aws).await.unwrap();
    // The role goes with the policies others added: one resource.
    assert_eq!(gone.summary(), (0, 0, 1), "{gone}");
    let err = aws
        .iam()
        .get_role()
        .role_name(&name)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        converge::ProvideErrorMetadata::code(&err),
        Some("NoSuchEntity")
    );
    assert!(role.destroy(&aws).await.unwrap().changes.is_empty());
}

#[tokio::test]
async fn execution_role_without_our_tag_survives_destroy() {
    let aws = aws().await;
    let env = environment("blk-role-foreign");
    let name = format!("{env}-ecs-task-execution");
    aws.iam()
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let role = TaskExecutionRole::builder()
        .environment(&env)
        .build()
        .unwrap();

    let err = role.apply(&aws).await.unwrap_err();
    assert!(matches!(err, Error::NotOwned { .. }), "{err}");
    assert!(role.destroy(&aws).await.unwrap().changes.is_empty());
    aws.iam().get_role().role_name(&name).send().await.unwrap();
    assert!(attached_policies(&aws, &name).await.is_empty());

    aws.iam()
        .delete_role()
        .role_name(&name)
        .send()
        .await
        .unwrap();
}

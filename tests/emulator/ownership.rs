//! Identities that cannot collide: stacks whose names only look alike (environment `E` with
//! service `api-v2`, environment `E-api` with service `v2`) neither take nor delete each
//! other's resources; inline policies are claimed by their exact names (`web` and
//! `web-admin` on one role); resources an earlier release tagged are re-tagged in place.

use converge::{Action, Aws, Module, Ref, RoleRef, TaskExecutionRole, OWNER_TAG};
use ecs_modules::ecs_service::{Autoscaling, ScheduledScaling, Service, ServiceOutputs};
use ecs_modules::task_def::{ContainerDefinition, PortMapping};
use ecs_modules::vpc::VpcOutputs;

use crate::permissions::inline_names;
use crate::service::{blog_builder, cluster, network, public_lb};
use crate::util::{aws, environment, inventory};

const IMAGE: &str = "npalm/040code.github.io:latest";

/// A service called `name` in `env`, in the shared VPC and cluster.
fn service(env: &str, name: &str, net: &VpcOutputs, cluster: &str) -> Service {
    blog_builder(env, net, IMAGE)
        .service_name(name)
        .cluster(cluster)
        .load_balancer(public_lb(net))
        .build()
        .unwrap()
}

/// `first` exists; `second` spells the same names: refused before any write, its destroy
/// leaves `first` alone.
async fn second_is_refused(
    aws: &Aws,
    first: &Service,
    (second, second_env): (&Service, &str),
    owner: &str,
) {
    let before = first.apply(aws).await.unwrap();
    let err = second.plan(aws).await.unwrap_err();
    assert!(matches!(err, converge::Error::NotOwned { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("it belongs to {owner}")),
        "the refusal names the owner it found: {err}"
    );
    aws.calls().reset();
    let err = second.apply(aws).await.unwrap_err();
    assert!(matches!(err, converge::Error::NotOwned { .. }), "{err}");
    assert_eq!(aws.calls().report().mutating, 0, "refused before any write");
    let plan = second.plan_destroy(aws).await.unwrap();
    assert!(plan.is_empty(), "{second_env} owns nothing:\n{plan}");

    second.destroy(aws).await.unwrap();
    let plan = first.plan(aws).await.unwrap();
    assert!(
        plan.is_empty(),
        "the other stack's destroy took something:\n{plan}"
    );
    let after = first.apply(aws).await.unwrap();
    assert_eq!(after.lb_arn, before.lb_arn);
    assert_eq!(after.lb_target_group_arn, before.lb_target_group_arn);
    assert_eq!(after.task_definition_arn, before.task_definition_arn);
}

#[tokio::test]
async fn look_alike_stacks_are_refused_and_kept_apart_in_both_orders() {
    let aws = aws().await;
    let base = environment("own");
    let (vpc, net) = network(&aws, &base).await;
    cluster(&aws, &base).await;
    let a = service(&base, "api-v2", &net, &base);
    let b = service(&format!("{base}-api"), "v2", &net, &base);
    assert_eq!(a.full_name(), b.full_name(), "the two spell the same names");

    let b_env = format!("{base}-api");
    second_is_refused(
        &aws,
        &a,
        (&b, &b_env),
        &format!("ecs-service/{base}/api-v2"),
    )
    .await;
    a.destroy(&aws).await.unwrap();
    second_is_refused(&aws, &b, (&a, &base), &format!("ecs-service/{base}-api/v2")).await;
    b.destroy(&aws).await.unwrap();
    vpc.destroy(&aws).await.unwrap();
    for env in [&base, &b_env] {
        let left = inventory(&aws, env).await;
        assert!(left.values().all(|n| *n == 0), "{env}: {left:?}");
    }
}

/// A container that reads one secret.
fn with_secret() -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("blog")
        .image(IMAGE)
        .port_mapping(PortMapping::tcp(80))
        .secret("DB_PASSWORD", "/blog/db_password")
        .build()
}

fn night() -> ScheduledScaling {
    ScheduledScaling {
        name: "night".into(),
        schedule: "cron(0 20 * * ? *)".into(),
        timezone: None,
        min_capacity: Some(0),
        max_capacity: Some(1),
    }
}

async fn scheduled(aws: &Aws, cluster: &str, service: &str) -> Vec<String> {
    aws.appautoscaling()
        .describe_scheduled_actions()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .resource_id(format!("service/{cluster}/{service}"))
        .send()
        .await
        .unwrap()
        .scheduled_actions()
        .iter()
        .map(|a| a.scheduled_action_name().to_owned())
        .collect()
}

#[tokio::test]
async fn web_and_web_admin_keep_their_own_policies_and_actions_on_one_role() {
    let aws = aws().await;
    let env = environment("own");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    let role = TaskExecutionRole::builder()
        .environment(&env)
        .build()
        .unwrap();
    let role_out = role.apply(&aws).await.unwrap();
    let role_ref = RoleRef::new(role.name(), Ref::known(role_out.role_arn.clone()));
    let stack = |name: &str| {
        Service::builder()
            .environment(&env)
            .service_name(name)
            .network(&net)
            .cluster(&env)
            .containers([with_secret()])
            .task_cpu(256)
            .task_memory(512)
            .execution_role(role_ref.clone())
            .autoscaling(Autoscaling::new(1, 2).scheduled(night()))
            .build()
            .unwrap()
    };
    let (web, admin) = (stack("web"), stack("web-admin"));
    let both = vec![
        format!("{env}-web-admin-secrets"),
        format!("{env}-web-secrets"),
    ];

    admin.apply(&aws).await.unwrap();
    web.apply(&aws).await.unwrap();
    assert_eq!(inline_names(&aws, role.name()).await, both);
    // Each one's second apply and plan leave the other's alone.
    for s in [&web, &admin] {
        let plan = s.plan(&aws).await.unwrap();
        assert!(plan.is_empty(), "{plan}");
        s.apply(&aws).await.unwrap();
    }
    assert_eq!(inline_names(&aws, role.name()).await, both);
    for name in ["web", "web-admin"] {
        assert_eq!(
            scheduled(&aws, &env, name).await,
            [format!("{env}-{name}-night")]
        );
    }

    web.destroy(&aws).await.unwrap();
    assert_eq!(
        inline_names(&aws, role.name()).await,
        [format!("{env}-web-admin-secrets")]
    );
    let plan = admin.plan(&aws).await.unwrap();
    assert!(plan.is_empty(), "web's destroy took web-admin's:\n{plan}");
    admin.destroy(&aws).await.unwrap();
    role.destroy(&aws).await.unwrap();
    vpc.destroy(&aws).await.unwrap();
}

/// Writes ownership values on everything a service made, as an earlier release did: the
/// service's `owner` and its task definition's `family_owner`.
async fn tag_as(aws: &Aws, out: &ServiceOutputs, owner: &str, family_owner: &str) {
    let elb = [&out.lb_arn, &out.lb_target_group_arn, &out.lb_listener_arn]
        .into_iter()
        .flatten();
    for arn in elb {
        aws.elbv2()
            .add_tags()
            .resource_arns(arn)
            .tags(
                aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                    .key(OWNER_TAG)
                    .value(owner)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    for (arn, owner) in [
        (&out.service_arn, owner),
        (&out.task_definition_arn, family_owner),
    ] {
        aws.ecs()
            .tag_resource()
            .resource_arn(arn)
            .tags(
                aws_sdk_ecs::types::Tag::builder()
                    .key(OWNER_TAG)
                    .value(owner)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let groups = [&out.lb_security_group_id, &out.task_security_group_id]
        .into_iter()
        .flatten();
    for id in groups {
        aws.ec2()
            .create_tags()
            .resources(id)
            .tags(
                aws_sdk_ec2::types::Tag::builder()
                    .key(OWNER_TAG)
                    .value(owner)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn resources_an_earlier_release_tagged_are_retagged_in_place() {
    let aws = aws().await;
    let env = environment("own");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    let blog = service(&env, "blog", &net, &env);
    let first = blog.apply(&aws).await.unwrap();
    // The values releases before identities were structured wrote: `<module>/<instance>`.
    tag_as(
        &aws,
        &first,
        &format!("ecs-service/{env}-blog"),
        &format!("task-def/{env}-blog"),
    )
    .await;
    let new = [
        format!("ecs-service/{env}/blog"),
        format!("task-def/{env}/{env}-blog"),
    ];

    let plan = blog.plan(&aws).await.unwrap();
    let (add, _, destroy) = plan.summary();
    assert_eq!(
        (add, destroy),
        (0, 0),
        "nothing is made or deleted:\n{plan}"
    );
    let retagged: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    assert!(retagged.len() >= 6, "{plan}");
    for change in &retagged {
        assert_eq!(change.action, Action::Update, "{plan}");
        assert!(
            change
                .diffs
                .iter()
                .any(|d| d.field == format!("tags.{OWNER_TAG}")
                    && d.after.as_ref().is_some_and(|a| new.contains(a))),
            "{plan}"
        );
    }

    let second = blog.apply(&aws).await.unwrap();
    assert_eq!(second, first.outputs, "the same resources, re-tagged");
    let plan = blog.plan(&aws).await.unwrap();
    assert!(plan.is_empty(), "{plan}");
    aws.calls().reset();
    blog.apply(&aws).await.unwrap();
    assert_eq!(aws.calls().report().mutating, 0);
    blog.destroy(&aws).await.unwrap();
    vpc.destroy(&aws).await.unwrap();
}

//! Registration and deregistration against aws-smithy-mocks: no AWS, no emulator.
//!
//! Every rule is `RuleMode::MatchAny` and matches only well-formed requests, so a request the
//! module gets wrong matches no rule and the mock panics, naming the request.

use std::collections::BTreeMap;

use aws_sdk_ecs::config::retry::RetryConfig;
use aws_sdk_ecs::error::ErrorMetadata;
use aws_sdk_ecs::operation::deregister_task_definition::DeregisterTaskDefinitionOutput;
use aws_sdk_ecs::operation::describe_task_definition::{
    DescribeTaskDefinitionError, DescribeTaskDefinitionInput, DescribeTaskDefinitionOutput,
};
use aws_sdk_ecs::operation::list_task_definitions::ListTaskDefinitionsOutput;
use aws_sdk_ecs::operation::register_task_definition::{
    RegisterTaskDefinitionInput, RegisterTaskDefinitionOutput,
};
use aws_sdk_ecs::types::error::ClientException;
use aws_sdk_ecs::types::{self as ecs, TaskDefinitionField, TaskDefinitionStatus};
use aws_sdk_ecs::Client as Ecs;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use converge::{Action, Aws};
use task_def::{
    Compatibility, ContainerDefinition, DependencyCondition, EfsVolumeConfiguration,
    FirelensConfiguration, HealthCheck, LogConfiguration, MountPoint, NetworkMode, PortMapping,
    TaskDefinition, Volume,
};

const FAMILY: &str = "blog";
const ENVIRONMENT: &str = "production";
const IMAGE: &str = "npalm/040code.github.io:latest";
const OLD_IMAGE: &str = "npalm/040code.github.io:2019-01";
const EXECUTION_ROLE: &str = "arn:aws:iam::123456789012:role/blog-execution";
const DB_SECRET: &str = "arn:aws:ssm:us-east-1:123456789012:parameter/blog/db-password";
const KIND: &str = "aws_ecs_task_definition";

/// The ARN of revision `revision` of `family`.
fn arn(family: &str, revision: u32) -> String {
    format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:{revision}")
}

/// The blog's only container, leaving out what ECS fills in (cpu, essential, protocol, host
/// port).
fn blog_container() -> ContainerDefinition {
    ContainerDefinition::builder()
        .name(FAMILY)
        .image(IMAGE)
        .port_mapping(PortMapping::tcp(80))
        .environment("PORT", "80")
        .environment("LOG_LEVEL", "info")
        .secret("DB_PASSWORD", DB_SECRET)
        // Timings left out: ECS describes them as Docker's defaults, 30/5/3.
        .health_check(HealthCheck {
            command: vec![
                "CMD-SHELL".into(),
                "curl -f http://localhost/ || exit 1".into(),
            ],
            interval: None,
            timeout: None,
            retries: None,
            start_period: Some(10),
        })
        .log_configuration(LogConfiguration::awslogs(FAMILY, "us-east-1", FAMILY))
        .build()
}

/// The blog's task: Fargate, 256 CPU units, 512 MiB, one extra tag.
fn blog() -> TaskDefinition {
    TaskDefinition::builder()
        .family(FAMILY)
        .environment(ENVIRONMENT)
        .container(blog_container())
        .requires_compatibility(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu(256)
        .memory(512)
        .execution_role_arn(EXECUTION_ROLE)
        .tag("Team", "platform")
        .build()
        .expect("valid task definition")
}

/// The tags the module puts on the blog's revisions.
fn owned_tags() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("Name", FAMILY),
        ("Environment", ENVIRONMENT),
        ("ecs-modules:owner", "task-def/production/blog"),
        ("Team", "platform"),
    ])
}

fn ecs_tags(tags: &BTreeMap<&str, &str>) -> Vec<ecs::Tag> {
    tags.iter()
        .map(|(k, v)| ecs::Tag::builder().key(*k).value(*v).build())
        .collect()
}

/// The blog's container in the SDK's type, written out by hand rather than converted, so the
/// crate's conversion is checked against it. `filled_by_ecs`: as DescribeTaskDefinition
/// returns it, with ECS's defaults filled in and the environment in another order.
fn sdk_container(image: &str, filled_by_ecs: bool) -> ecs::ContainerDefinition {
    let env =
        |name: &str, value: &str| ecs::KeyValuePair::builder().name(name).value(value).build();
    let mut environment = vec![env("PORT", "80"), env("LOG_LEVEL", "info")];
    let mut port = ecs::PortMapping::builder().container_port(80);
    let mut container = ecs::ContainerDefinition::builder();
    if filled_by_ecs {
        environment.reverse();
        port = port.host_port(80).protocol(ecs::TransportProtocol::Tcp);
        container = container.cpu(0).essential(true);
    }
    container
        .name(FAMILY)
        .image(image)
        .port_mappings(port.build())
        .set_environment(Some(environment))
        .secrets(
            ecs::Secret::builder()
                .name("DB_PASSWORD")
                .value_from(DB_SECRET)
                .build()
                .expect("name and valueFrom set"),
        )
        .health_check(
            ecs::HealthCheck::builder()
                .command("CMD-SHELL")
                .command("curl -f http://localhost/ || exit 1")
                .set_interval(filled_by_ecs.then_some(30))
                .set_timeout(filled_by_ecs.then_some(5))
                .set_retries(filled_by_ecs.then_some(3))
                .start_period(10)
                .build()
                .expect("command set"),
        )
        .log_configuration(
            ecs::LogConfiguration::builder()
                .log_driver(ecs::LogDriver::Awslogs)
                .options("awslogs-group", FAMILY)
                .options("awslogs-region", "us-east-1")
                .options("awslogs-stream-prefix", FAMILY)
                .build()
                .expect("log driver set"),
        )
        .build()
}

/// An ACTIVE revision of the blog as ECS describes it, running `image`.
fn described_blog(revision: u32, image: &str) -> DescribeTaskDefinitionOutput {
    let task = ecs::TaskDefinition::builder()
        .task_definition_arn(arn(FAMILY, revision))
        .family(FAMILY)
        .revision(revision as i32)
        .status(TaskDefinitionStatus::Active)
        .container_definitions(sdk_container(image, true))
        .cpu("256")
        .memory("512")
        .network_mode(ecs::NetworkMode::Awsvpc)
        .requires_compatibilities(ecs::Compatibility::Fargate)
        .compatibilities(ecs::Compatibility::Ec2)
        .compatibilities(ecs::Compatibility::Fargate)
        .execution_role_arn(EXECUTION_ROLE)
        .build();
    DescribeTaskDefinitionOutput::builder()
        .task_definition(task)
        .set_tags(Some(ecs_tags(&owned_tags())))
        .build()
}

/// Whether a describe call asks for `task_definition` with its tags (without them ownership
/// cannot be told).
fn describes(r: &DescribeTaskDefinitionInput, task_definition: &str) -> bool {
    r.task_definition() == Some(task_definition) && r.include().contains(&TaskDefinitionField::Tags)
}

/// DescribeTaskDefinition of the family answering the latest revision, `revision`, running
/// `image`.
fn latest_is(revision: u32, image: &'static str) -> Rule {
    mock!(Ecs::describe_task_definition)
        .match_requests(|r| describes(r, FAMILY))
        .then_output(move || described_blog(revision, image))
}

/// Whether a RegisterTaskDefinition request is the blog's, running `image`, tagged.
fn registers_blog(r: &RegisterTaskDefinitionInput, image: &str) -> bool {
    let tags: BTreeMap<_, _> = r
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect();
    r.family() == Some(FAMILY)
        && r.cpu() == Some("256")
        && r.memory() == Some("512")
        && r.network_mode() == Some(&ecs::NetworkMode::Awsvpc)
        && r.requires_compatibilities() == [ecs::Compatibility::Fargate]
        && r.execution_role_arn() == Some(EXECUTION_ROLE)
        && r.task_role_arn().is_none()
        && r.container_definitions() == [sdk_container(image, false)]
        && r.volumes().is_empty()
        && r.runtime_platform().is_none()
        && r.ephemeral_storage().is_none()
        && r.tags().len() == tags.len()
        && tags == owned_tags()
}

/// RegisterTaskDefinition of the blog as desired, answering revision `revision`.
fn register_blog(revision: u32) -> Rule {
    mock!(Ecs::register_task_definition)
        .match_requests(|r| registers_blog(r, IMAGE))
        .then_output(move || {
            RegisterTaskDefinitionOutput::builder()
                .task_definition(
                    ecs::TaskDefinition::builder()
                        .task_definition_arn(arn(FAMILY, revision))
                        .revision(revision as i32)
                        .build(),
                )
                .build()
        })
}

/// Clients answering from `rules`. SDK retries are off: a retried mock error would silently
/// consume the next response.
fn aws(rules: &[&Rule]) -> Aws {
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, rules, |c| c
        .retry_config(RetryConfig::disabled()));
    Aws::builder().ecs(ecs).build()
}

/// ECS's answer for a family with no ACTIVE revision. The error code is in the metadata, as
/// the SDK's deserializer puts it there; the crate matches on that code.
fn no_revision() -> Rule {
    mock!(Ecs::describe_task_definition)
        .match_requests(|r| describes(r, FAMILY))
        .then_error(|| {
            DescribeTaskDefinitionError::ClientException(
                ClientException::builder()
                    .message("Unable to describe task definition.")
                    .meta(
                        ErrorMetadata::builder()
                            .code("ClientException")
                            .message("Unable to describe task definition.")
                            .build(),
                    )
                    .build(),
            )
        })
}

#[tokio::test]
async fn registers_when_no_revision_exists() {
    let no_revision = no_revision();
    let register = register_blog(1);
    let aws = aws(&[&no_revision, &register]);
    let task = blog();

    let plan = task.plan(&aws).await.expect("plan");
    let change = plan.find(KIND, FAMILY).expect("a change for the family");
    assert_eq!(change.action, Action::Create, "{plan}");

    assert_eq!(task.register(&aws).await.expect("register"), arn(FAMILY, 1));
    assert_eq!(register.num_calls(), 1);
    assert_eq!(
        aws.calls().report().mutations(),
        BTreeMap::from([("RegisterTaskDefinition", 1)])
    );
}

#[tokio::test]
async fn same_definition_makes_no_call() {
    let latest = latest_is(3, IMAGE);
    let register = register_blog(4);
    let aws = aws(&[&latest, &register]);
    let task = blog();

    let plan = task.plan(&aws).await.expect("plan");
    assert!(plan.is_empty(), "{plan:#?}");

    assert_eq!(task.register(&aws).await.expect("register"), arn(FAMILY, 3));
    assert_eq!(register.num_calls(), 0);
    let report = aws.calls().report();
    assert_eq!(report.mutating, 0, "{report:#}");
}

#[tokio::test]
async fn a_changed_image_registers_a_new_revision() {
    let latest = latest_is(3, OLD_IMAGE);
    let register = register_blog(4);
    // Once the new revision exists, the one it replaces (ours) is deregistered; the new one
    // stays.
    let (old, new) = (arn(FAMILY, 3), arn(FAMILY, 4));
    let listed = [old.clone(), new.clone()];
    let list = mock!(Ecs::list_task_definitions)
        .match_requests(|r| r.family_prefix() == Some(FAMILY))
        .then_output(move || {
            ListTaskDefinitionsOutput::builder()
                .set_task_definition_arns(Some(listed.to_vec()))
                .build()
        });
    let describe_old = revision_tagged(old.clone(), owned_tags());
    let deregister_old = {
        let old = old.clone();
        mock!(Ecs::deregister_task_definition)
            .match_requests(move |r| r.task_definition() == Some(old.as_str()))
            .then_output(|| DeregisterTaskDefinitionOutput::builder().build())
    };
    let aws = aws(&[&latest, &register, &list, &describe_old, &deregister_old]);
    let task = blog();

    let plan = task.plan(&aws).await.expect("plan");
    let change = plan.find(KIND, FAMILY).expect("a change for the family");
    assert_eq!(change.action, Action::Replace, "{plan}");
    assert_eq!(change.id.as_deref(), Some(arn(FAMILY, 3).as_str()));
    // The plan shows the field that moved, with both values.
    let diff = &change.diffs[..];
    assert_eq!(diff.len(), 1, "{plan}");
    assert_eq!(diff[0].field, r#"container_definitions["blog"].image"#);
    // Revisions are immutable: the plan says why a new one is registered.
    assert!(
        diff[0]
            .replaces
            .as_deref()
            .is_some_and(|why| why.contains("new revision")),
        "{plan}"
    );
    assert_eq!(
        diff[0].before.as_deref(),
        Some("npalm/040code.github.io:2019-01")
    );
    assert_eq!(diff[0].after.as_deref(), Some(IMAGE));

    assert_eq!(task.register(&aws).await.expect("register"), new);
    assert_eq!(register.num_calls(), 1);
    assert_eq!(deregister_old.num_calls(), 1);
    assert_eq!(
        aws.calls().report().mutations(),
        BTreeMap::from([
            ("DeregisterTaskDefinition", 1),
            ("RegisterTaskDefinition", 1)
        ])
    );
}

/// DescribeTaskDefinition of the revision `task_definition`, answering it ACTIVE with `tags`.
fn revision_tagged(task_definition: String, tags: BTreeMap<&'static str, &'static str>) -> Rule {
    let answer = task_definition.clone();
    mock!(Ecs::describe_task_definition)
        .match_requests(move |r| describes(r, &task_definition))
        .then_output(move || {
            DescribeTaskDefinitionOutput::builder()
                .task_definition(
                    ecs::TaskDefinition::builder()
                        .task_definition_arn(&answer)
                        .status(TaskDefinitionStatus::Active)
                        .build(),
                )
                .set_tags(Some(ecs_tags(&tags)))
                .build()
        })
}

#[tokio::test]
async fn deregister_only_touches_owned_revisions() {
    let (owned, foreign, other_family) = (arn(FAMILY, 1), arn(FAMILY, 2), arn("blog-worker", 1));
    let arns = [owned.clone(), foreign.clone(), other_family.clone()];
    // `blog` is a prefix of `blog-worker`, so ECS lists both families.
    let list = mock!(Ecs::list_task_definitions)
        .match_requests(|r| {
            r.family_prefix() == Some(FAMILY) && r.status() == Some(&TaskDefinitionStatus::Active)
        })
        .then_output(move || {
            ListTaskDefinitionsOutput::builder()
                .set_task_definition_arns(Some(arns.to_vec()))
                .build()
        });
    let describe_owned = revision_tagged(owned.clone(), owned_tags());
    // Named and in the environment like ours, but not tagged as made by this module.
    let describe_foreign = revision_tagged(
        foreign,
        BTreeMap::from([("Name", FAMILY), ("Environment", ENVIRONMENT)]),
    );
    let describe_other_family = revision_tagged(other_family, owned_tags());
    let deregister_owned = {
        let owned = owned.clone();
        mock!(Ecs::deregister_task_definition)
            .match_requests(move |r| r.task_definition() == Some(owned.as_str()))
            .then_output(|| DeregisterTaskDefinitionOutput::builder().build())
    };
    // Catches any other deregistration, so the test fails on a count rather than a panic.
    let deregister_other = mock!(Ecs::deregister_task_definition)
        .then_output(|| DeregisterTaskDefinitionOutput::builder().build());
    let aws = aws(&[
        &list,
        &describe_owned,
        &describe_foreign,
        &describe_other_family,
        &deregister_owned,
        &deregister_other,
    ]);

    let deregistered = blog().deregister(&aws).await.expect("deregister");

    assert_eq!(deregistered, [owned]);
    assert_eq!(list.num_calls(), 1);
    assert_eq!(describe_owned.num_calls(), 1);
    assert_eq!(
        describe_other_family.num_calls(),
        0,
        "other family described"
    );
    assert_eq!(deregister_owned.num_calls(), 1);
    assert_eq!(
        deregister_other.num_calls(),
        0,
        "unowned revision deregistered"
    );
    assert_eq!(
        aws.calls().report().mutations(),
        BTreeMap::from([("DeregisterTaskDefinition", 1)])
    );
}

const FILE_SYSTEM: &str = "fs-0123456789abcdef0";
const ACCESS_POINT: &str = "fsap-0123456789abcdef0";
const ROUTER_IMAGE: &str = "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable";

/// The blog hardened: on Graviton with 50 GiB of storage, its content on EFS through an
/// access point, a read-only root, an init process, no capabilities, a label, timeouts, a
/// user, a kernel parameter, logs through a FireLens router.
fn hardened_blog() -> TaskDefinition {
    let app = ContainerDefinition::builder()
        .name(FAMILY)
        .image(IMAGE)
        .port_mapping(PortMapping::tcp(80))
        .readonly_root_filesystem(true)
        .init_process_enabled(true)
        .drop_capability("ALL")
        .docker_label("com.example.team", "web")
        .stop_timeout(60)
        .start_timeout(30)
        .user("1000")
        .system_control("net.core.somaxconn", "1024")
        .mount_point(MountPoint {
            source_volume: "content".into(),
            container_path: "/usr/share/nginx/html".into(),
            read_only: Some(true),
        })
        .depends_on("log_router", DependencyCondition::Start)
        .log_configuration(LogConfiguration::driver(
            "awsfirelens",
            [("Name", "cloudwatch_logs")],
        ))
        .build();
    let router = ContainerDefinition::builder()
        .name("log_router")
        .image(ROUTER_IMAGE)
        .memory_reservation(50)
        .firelens(FirelensConfiguration::fluentbit().option("enable-ecs-log-metadata", "true"))
        .build();
    TaskDefinition::builder()
        .family(FAMILY)
        .environment(ENVIRONMENT)
        .container(app)
        .container(router)
        .requires_compatibility(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu(512)
        .memory(1024)
        .execution_role_arn(EXECUTION_ROLE)
        .cpu_architecture("ARM64")
        .ephemeral_storage(50)
        .volume(Volume::efs(
            "content",
            EfsVolumeConfiguration::new(FILE_SYSTEM)
                .encrypted()
                .access_point(ACCESS_POINT)
                .iam(),
        ))
        .tag("Team", "platform")
        .build()
        .expect("valid task definition")
}

/// The hardened blog's containers in the SDK's types, by hand. `filled_by_ecs`: as
/// DescribeTaskDefinition returns them, with `cpu: 0`, `essential`, the host port and
/// protocol, and the router's user `0` (ECS runs FireLens as root).
fn sdk_hardened_containers(filled_by_ecs: bool) -> Vec<ecs::ContainerDefinition> {
    let mut port = ecs::PortMapping::builder().container_port(80);
    let mut app = ecs::ContainerDefinition::builder();
    let mut router = ecs::ContainerDefinition::builder();
    if filled_by_ecs {
        port = port.host_port(80).protocol(ecs::TransportProtocol::Tcp);
        app = app.cpu(0).essential(true);
        router = router.cpu(0).essential(true).user("0");
    }
    let app = app
        .name(FAMILY)
        .image(IMAGE)
        .port_mappings(port.build())
        .readonly_root_filesystem(true)
        .linux_parameters(
            ecs::LinuxParameters::builder()
                .init_process_enabled(true)
                .capabilities(ecs::KernelCapabilities::builder().drop("ALL").build())
                .build(),
        )
        .docker_labels("com.example.team", "web")
        .stop_timeout(60)
        .start_timeout(30)
        .user("1000")
        .system_controls(
            ecs::SystemControl::builder()
                .namespace("net.core.somaxconn")
                .value("1024")
                .build(),
        )
        .mount_points(
            ecs::MountPoint::builder()
                .source_volume("content")
                .container_path("/usr/share/nginx/html")
                .read_only(true)
                .build(),
        )
        .depends_on(
            ecs::ContainerDependency::builder()
                .container_name("log_router")
                .condition(ecs::ContainerCondition::Start)
                .build()
                .expect("name and condition set"),
        )
        .log_configuration(
            ecs::LogConfiguration::builder()
                .log_driver(ecs::LogDriver::Awsfirelens)
                .options("Name", "cloudwatch_logs")
                .build()
                .expect("log driver set"),
        )
        .build();
    let router = router
        .name("log_router")
        .image(ROUTER_IMAGE)
        .memory_reservation(50)
        .firelens_configuration(
            ecs::FirelensConfiguration::builder()
                .r#type(ecs::FirelensConfigurationType::Fluentbit)
                .options("enable-ecs-log-metadata", "true")
                .build()
                .expect("type set"),
        )
        .build();
    vec![app, router]
}

/// The hardened blog's EFS volume in the SDK's type.
fn sdk_content_volume() -> ecs::Volume {
    ecs::Volume::builder()
        .name("content")
        .efs_volume_configuration(
            ecs::EfsVolumeConfiguration::builder()
                .file_system_id(FILE_SYSTEM)
                .transit_encryption(ecs::EfsTransitEncryption::Enabled)
                .authorization_config(
                    ecs::EfsAuthorizationConfig::builder()
                        .access_point_id(ACCESS_POINT)
                        .iam(ecs::EfsAuthorizationConfigIam::Enabled)
                        .build(),
                )
                .build()
                .expect("file system set"),
        )
        .build()
}

fn arm64() -> ecs::RuntimePlatform {
    ecs::RuntimePlatform::builder()
        .cpu_architecture(ecs::CpuArchitecture::Arm64)
        .build()
}

/// Whether a RegisterTaskDefinition request is the hardened blog's, every new field included.
fn registers_hardened_blog(r: &RegisterTaskDefinitionInput) -> bool {
    let tags: BTreeMap<_, _> = r
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect();
    r.family() == Some(FAMILY)
        && r.cpu() == Some("512")
        && r.memory() == Some("1024")
        && r.network_mode() == Some(&ecs::NetworkMode::Awsvpc)
        && r.requires_compatibilities() == [ecs::Compatibility::Fargate]
        && r.execution_role_arn() == Some(EXECUTION_ROLE)
        && r.container_definitions() == sdk_hardened_containers(false)
        && r.volumes() == [sdk_content_volume()]
        && r.runtime_platform() == Some(&arm64())
        && r.ephemeral_storage() == Some(&ecs::EphemeralStorage::builder().size_in_gib(50).build())
        && tags == owned_tags()
}

/// DescribeTaskDefinition of the family answering the hardened blog as revision `revision`.
fn latest_is_hardened(revision: u32) -> Rule {
    mock!(Ecs::describe_task_definition)
        .match_requests(|r| describes(r, FAMILY))
        .then_output(move || {
            let task = ecs::TaskDefinition::builder()
                .task_definition_arn(arn(FAMILY, revision))
                .family(FAMILY)
                .revision(revision as i32)
                .status(TaskDefinitionStatus::Active)
                .set_container_definitions(Some(sdk_hardened_containers(true)))
                .cpu("512")
                .memory("1024")
                .network_mode(ecs::NetworkMode::Awsvpc)
                .requires_compatibilities(ecs::Compatibility::Fargate)
                .compatibilities(ecs::Compatibility::Ec2)
                .compatibilities(ecs::Compatibility::Fargate)
                .execution_role_arn(EXECUTION_ROLE)
                .volumes(sdk_content_volume())
                .runtime_platform(arm64())
                .ephemeral_storage(ecs::EphemeralStorage::builder().size_in_gib(50).build())
                .build();
            DescribeTaskDefinitionOutput::builder()
                .task_definition(task)
                .set_tags(Some(ecs_tags(&owned_tags())))
                .build()
        })
}

fn register_hardened_blog(revision: u32) -> Rule {
    mock!(Ecs::register_task_definition)
        .match_requests(registers_hardened_blog)
        .then_output(move || {
            RegisterTaskDefinitionOutput::builder()
                .task_definition(
                    ecs::TaskDefinition::builder()
                        .task_definition_arn(arn(FAMILY, revision))
                        .revision(revision as i32)
                        .build(),
                )
                .build()
        })
}

#[tokio::test]
async fn register_carries_the_new_fields() {
    let no_revision = no_revision();
    let register = register_hardened_blog(1);
    let aws = aws(&[&no_revision, &register]);
    let task = hardened_blog();

    let plan = task.plan(&aws).await.expect("plan");
    let change = plan.find(KIND, FAMILY).expect("a change for the family");
    assert_eq!(change.action, Action::Create, "{plan}");
    let described: BTreeMap<_, _> = change
        .diffs
        .iter()
        .map(|d| (d.field.as_str(), d.after.as_deref().unwrap_or_default()))
        .collect();
    assert_eq!(described["cpu_architecture"], "ARM64", "{plan}");
    assert_eq!(described["ephemeral_storage"], "50 GiB", "{plan}");
    assert_eq!(described["volume.content"], FILE_SYSTEM, "{plan}");

    assert_eq!(task.register(&aws).await.expect("register"), arn(FAMILY, 1));
    assert_eq!(register.num_calls(), 1);
}

#[tokio::test]
async fn new_fields_as_described_make_no_revision() {
    let latest = latest_is_hardened(7);
    let register = register_hardened_blog(8);
    let aws = aws(&[&latest, &register]);
    let task = hardened_blog();

    let plan = task.plan(&aws).await.expect("plan");
    assert!(plan.is_empty(), "{plan:#?}");
    assert_eq!(task.register(&aws).await.expect("register"), arn(FAMILY, 7));
    assert_eq!(register.num_calls(), 0);
    let report = aws.calls().report();
    assert_eq!(report.mutating, 0, "{report:#}");
}

#[tokio::test]
async fn the_blog_described_misses_the_new_fields() {
    // The hardened definition against the plain blog's latest revision: every new field is
    // a difference.
    let latest = latest_is(3, IMAGE);
    let aws = aws(&[&latest]);
    let plan = hardened_blog().plan(&aws).await.expect("plan");
    let change = plan.find(KIND, FAMILY).expect("a change for the family");
    assert_eq!(change.action, Action::Replace, "{plan}");
    // Each leaf is shown; the top-level fields they are in:
    let mut fields: Vec<_> = change
        .diffs
        .iter()
        .map(|d| d.field.split(['.', '[']).next().unwrap())
        .collect();
    fields.dedup();
    assert_eq!(
        fields,
        [
            "container_definitions",
            "cpu",
            "memory",
            "volumes",
            "runtime_platform",
            "ephemeral_storage"
        ],
        "{plan}"
    );
}

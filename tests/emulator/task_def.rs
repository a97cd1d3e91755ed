//! Task definitions against the emulator.

use ecs_modules::task_def::{
    json, Compatibility, ContainerDefinition, LogConfiguration, NetworkMode, PortMapping,
    TaskDefinition,
};

use crate::util::{aws, environment};

fn blog(family: &str, image: &str) -> TaskDefinition {
    let container = ContainerDefinition::builder()
        .name("blog")
        .image(image)
        .essential(true)
        .port_mapping(PortMapping::tcp(80))
        .environment("GREETING", "hello")
        .log_configuration(LogConfiguration::awslogs(family, "us-east-1", "blog"))
        .build();
    TaskDefinition::builder()
        .family(family)
        .container(container)
        .requires_compatibility(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu(256)
        .memory(512)
        .execution_role_arn("arn:aws:iam::123456789012:role/blog-execution")
        .build()
        .unwrap()
}

#[tokio::test]
async fn register_once_then_only_on_change_then_deregister() {
    let aws = aws().await;
    let family = environment("td");
    let v1 = blog(&family, "npalm/040code.github.io:latest");

    let first = v1.register(&aws).await.unwrap();
    assert!(
        first.ends_with(&format!("task-definition/{family}:1")),
        "{first}"
    );

    aws.calls().reset();
    let again = v1.register(&aws).await.unwrap();
    let calls = aws.calls().report();
    assert_eq!(again, first);
    assert_eq!(calls.mutating, 0, "{calls:#}");
    assert!(v1.plan(&aws).await.unwrap().is_empty());

    let v2 = blog(&family, "npalm/040code.github.io:v2");
    let plan = v2.plan(&aws).await.unwrap();
    assert_eq!(plan.summary(), (1, 0, 1), "{plan}");
    let diff = &plan.changes[0].diffs[0];
    assert_eq!(
        diff.field, r#"container_definitions["blog"].image"#,
        "{plan}"
    );
    assert_eq!(
        diff.before.as_deref(),
        Some("npalm/040code.github.io:latest")
    );
    assert_eq!(diff.after.as_deref(), Some("npalm/040code.github.io:v2"));
    let second = v2.register(&aws).await.unwrap();
    assert!(
        second.ends_with(&format!("task-definition/{family}:2")),
        "{second}"
    );

    // The replacement deregistered the revision it replaced, as Terraform does.
    let gone = v2.deregister(&aws).await.unwrap();
    assert_eq!(gone, [second]);
    let left = aws
        .ecs()
        .list_task_definitions()
        .family_prefix(&family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap();
    assert!(left.task_definition_arns().is_empty());
}

#[tokio::test]
async fn deregister_leaves_revisions_it_did_not_make() {
    let aws = aws().await;
    let family = environment("td-foreign");
    // Registered by someone else: same family, no ownership tag.
    let foreign = aws
        .ecs()
        .register_task_definition()
        .family(&family)
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("other")
                .image("nginx")
                .memory(128)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_owned();
    let ours = blog(&family, "npalm/040code.github.io:latest")
        .register(&aws)
        .await
        .unwrap();
    assert_ne!(ours, foreign);

    let gone = blog(&family, "npalm/040code.github.io:latest")
        .deregister(&aws)
        .await
        .unwrap();
    assert_eq!(gone, [ours]);
    let still = aws
        .ecs()
        .describe_task_definition()
        .task_definition(&foreign)
        .send()
        .await
        .unwrap();
    assert_eq!(
        still.task_definition().unwrap().status(),
        Some(&aws_sdk_ecs::types::TaskDefinitionStatus::Active)
    );
}

#[tokio::test]
async fn the_blog_template_registers() {
    let aws = aws().await;
    let family = environment("td-json");
    let containers = json::from_template(
        r#"[{"essential": true, "memoryReservation": null, "image": "${image}", "name": "${container_name}",
             "portMappings": [{"containerPort": ${container_port}}],
             "logConfiguration": {"logDriver": "awslogs", "options": {
               "awslogs-group": "${log_group_name}", "awslogs-region": "${log_group_region}",
               "awslogs-stream-prefix": "${container_name}"}}}]"#,
        [
            ("image", "npalm/040code.github.io:latest"),
            ("container_name", "blog"),
            ("container_port", "80"),
            ("log_group_name", family.as_str()),
            ("log_group_region", "us-east-1"),
        ],
    )
    .unwrap();
    let task = TaskDefinition::builder()
        .family(&family)
        .containers(containers)
        .requires_compatibility(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu(256)
        .memory(512)
        .build()
        .unwrap();
    let arn = task.register(&aws).await.unwrap();
    aws.calls().reset();
    assert_eq!(task.register(&aws).await.unwrap(), arn);
    assert_eq!(aws.calls().report().mutating, 0);
    task.deregister(&aws).await.unwrap();
}

//! The image a deploy pipeline rolls out: kept per container, or the whole task definition
//! left to the pipeline, so that an apply after a deploy does not roll it back.

use converge::{Action, Aws};
use ecs_modules::ecs_service::{Service, ServiceBuilder};

use crate::service::{blog_builder, cluster, network, public_lb};
use crate::util::{aws, described_service, environment};

const IMAGE: &str = "npalm/040code.github.io:latest";
const DEPLOYED: &str = "npalm/040code.github.io:ci-2";

/// What a pipeline does: registers the running revision again with another image for every
/// container (without our tags, as `aws ecs register-task-definition` does), and moves the
/// service to it. Returns the new revision's ARN.
pub(crate) async fn pipeline_deploys(
    aws: &Aws,
    cluster: &str,
    service: &str,
    image: &str,
) -> String {
    let running = described_service(aws, cluster, service).await;
    let described = aws
        .ecs()
        .describe_task_definition()
        .task_definition(running.task_definition().unwrap())
        .send()
        .await
        .unwrap();
    let td = described.task_definition().unwrap();
    let containers = td
        .container_definitions()
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.image = Some(image.to_owned());
            c
        })
        .collect();
    let registered = aws
        .ecs()
        .register_task_definition()
        .family(td.family().unwrap())
        .set_container_definitions(Some(containers))
        .set_cpu(td.cpu().map(str::to_owned))
        .set_memory(td.memory().map(str::to_owned))
        .set_network_mode(td.network_mode().cloned())
        .set_requires_compatibilities(Some(td.requires_compatibilities().to_vec()))
        .set_execution_role_arn(td.execution_role_arn().map(str::to_owned))
        .send()
        .await
        .unwrap();
    let arn = registered
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .unwrap()
        .to_owned();
    aws.ecs()
        .update_service()
        .cluster(cluster)
        .service(service)
        .task_definition(&arn)
        .send()
        .await
        .unwrap();
    arn
}

async fn running_image(aws: &Aws, cluster: &str) -> (String, String) {
    let service = described_service(aws, cluster, "blog").await;
    let arn = service.task_definition().unwrap().to_owned();
    let described = aws
        .ecs()
        .describe_task_definition()
        .task_definition(&arn)
        .send()
        .await
        .unwrap();
    let td = described.task_definition().unwrap();
    let image = td.container_definitions()[0].image().unwrap().to_owned();
    (arn, image)
}

fn service(builder: ServiceBuilder, net: &ecs_modules::vpc::VpcOutputs) -> Service {
    builder.load_balancer(public_lb(net)).build().unwrap()
}

/// A kept image survives plan and apply after a deploy; a change of another field makes a
/// revision with the deployed image, never the inputs' one.
#[tokio::test]
async fn a_kept_image_survives_an_apply_after_a_deploy() {
    let aws = aws().await;
    let env = environment("keepimg");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    let kept = |memory| {
        service(
            blog_builder(&env, &net, IMAGE)
                .task_memory(memory)
                .keep_deployed_image("blog"),
            &net,
        )
    };
    let first = kept(512);
    first.apply(&aws).await.unwrap();
    let deployed = pipeline_deploys(&aws, &env, "blog", DEPLOYED).await;

    // The plan keeps the deployed image and says so; apply changes nothing.
    let plan = first.plan(&aws).await.unwrap();
    assert!(plan.is_empty(), "{plan}");
    let family = format!("{env}-blog");
    let td = plan.find("aws_ecs_task_definition", &family).unwrap();
    assert_eq!(td.kept.len(), 1, "{td}");
    assert!(td.kept[0].contains(DEPLOYED) && td.kept[0].contains(&deployed));
    assert!(plan
        .to_string()
        .contains("# keeps container \"blog\" image"));
    aws.calls().reset();
    first.apply(&aws).await.unwrap();
    let calls = aws.calls().report();
    assert_eq!(calls.mutating, 0, "{calls:#}");
    assert_eq!(
        running_image(&aws, &env).await,
        (deployed.clone(), DEPLOYED.into())
    );

    // More memory: a new revision, with the deployed image, which the service moves to.
    let more = kept(1024);
    let plan = more.plan(&aws).await.unwrap();
    assert_eq!(
        plan.find("aws_ecs_task_definition", &family)
            .map(|c| c.action),
        Some(Action::Replace)
    );
    more.apply(&aws).await.unwrap();
    let (arn, image) = running_image(&aws, &env).await;
    assert_ne!(arn, deployed);
    assert_eq!(image, DEPLOYED);
    aws.calls().reset();
    more.apply(&aws).await.unwrap();
    assert_eq!(aws.calls().report().mutating, 0);

    // Without the option, the inputs' image comes back: what a user asks for by dropping it.
    let plain = service(blog_builder(&env, &net, IMAGE).task_memory(1024), &net);
    plain.apply(&aws).await.unwrap();
    assert_eq!(running_image(&aws, &env).await.1, IMAGE);

    plain.destroy(&aws).await.unwrap();
    vpc.destroy(&aws).await.unwrap();
}

/// A task definition left to the pipeline: after a deploy, a change of the inputs is said
/// in the plan and neither registered nor rolled out; the rest of the service converges.
#[tokio::test]
async fn a_task_definition_left_to_ci_is_not_rolled_back() {
    let aws = aws().await;
    let env = environment("leftci");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    let left = |memory, count| {
        service(
            blog_builder(&env, &net, IMAGE)
                .task_memory(memory)
                .desired_count(count)
                .ignore_task_definition_changes(true),
            &net,
        )
    };
    left(512, 1).apply(&aws).await.unwrap();
    let deployed = pipeline_deploys(&aws, &env, "blog", DEPLOYED).await;

    let changed = left(1024, 1);
    let plan = changed.plan(&aws).await.unwrap();
    assert!(plan.is_empty(), "{plan}");
    let family = format!("{env}-blog");
    let td = plan.find("aws_ecs_task_definition", &family).unwrap();
    assert!(
        td.kept[0].contains("left to CI") && td.kept[0].contains("memory"),
        "{td}"
    );
    aws.calls().reset();
    changed.apply(&aws).await.unwrap();
    assert_eq!(aws.calls().report().mutating, 0);
    assert_eq!(
        running_image(&aws, &env).await,
        (deployed.clone(), DEPLOYED.into())
    );

    // The rest of the service still follows the inputs, and keeps the deployed revision.
    let scaled = left(1024, 2);
    aws.calls().reset();
    scaled.apply(&aws).await.unwrap();
    let calls = aws.calls().report();
    assert_eq!(
        calls.by_operation.get("UpdateService"),
        Some(&1),
        "{calls:#}"
    );
    assert_eq!(calls.by_operation.get("RegisterTaskDefinition"), None);
    let running = described_service(&aws, &env, "blog").await;
    assert_eq!(running.desired_count(), 2);
    assert_eq!(running.task_definition(), Some(deployed.as_str()));

    scaled.destroy(&aws).await.unwrap();
    vpc.destroy(&aws).await.unwrap();
}

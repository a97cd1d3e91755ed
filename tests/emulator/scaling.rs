//! Scaling and capacity against the emulator: service autoscaling on Application Auto Scaling,
//! capacity provider strategies, and the cluster's Fargate providers.

use converge::{Aws, Module, StrategyItem, FARGATE, FARGATE_SPOT};
use ecs_modules::ecs_service::{
    Autoscaling, LaunchType, ScalingMetric, ScheduledScaling, Service, TargetTracking,
};
use ecs_modules::vpc::VpcOutputs;

use crate::service::{blog_builder, cluster, network, public_lb};
use crate::util::{aws, described_service, environment, fargate_cluster};

const IMAGE: &str = "npalm/040code.github.io:latest";

fn autoscaled(env: &str, net: &VpcOutputs, autoscaling: Option<Autoscaling>) -> Service {
    let b = blog_builder(env, net, IMAGE)
        .load_balancer(public_lb(net))
        .desired_count(2);
    match autoscaling {
        Some(a) => b.autoscaling(a),
        None => b,
    }
    .build()
    .unwrap()
}

fn night() -> ScheduledScaling {
    ScheduledScaling {
        name: "night".into(),
        schedule: "cron(0 20 * * ? *)".into(),
        timezone: Some("Europe/Amsterdam".into()),
        min_capacity: Some(0),
        max_capacity: Some(1),
    }
}

/// The scalable target's bounds, the policies' names and the scheduled actions' names.
async fn scaling_of(aws: &Aws, env: &str) -> (Option<(i32, i32)>, Vec<String>, Vec<String>) {
    use aws_sdk_applicationautoscaling::types::ServiceNamespace;
    let id = format!("service/{env}/blog");
    let client = aws.appautoscaling();
    let target = client
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(&id)
        .send()
        .await
        .unwrap();
    let bounds = target
        .scalable_targets()
        .first()
        .map(|t| (t.min_capacity(), t.max_capacity()));
    let policies = client
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&id)
        .send()
        .await
        .unwrap();
    let mut policies: Vec<String> = policies
        .scaling_policies()
        .iter()
        .filter(|p| p.resource_id() == id)
        .map(|p| p.policy_name().to_owned())
        .collect();
    policies.sort();
    let actions = client
        .describe_scheduled_actions()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&id)
        .send()
        .await
        .unwrap();
    let actions = actions
        .scheduled_actions()
        .iter()
        .map(|a| a.scheduled_action_name().to_owned())
        .collect();
    (bounds, policies, actions)
}

async fn desired_count(aws: &Aws, env: &str) -> i32 {
    described_service(aws, env, "blog").await.desired_count()
}

/// A second apply makes no mutating call.
async fn applied_again<M: Module>(aws: &Aws, module: &M) {
    aws.calls().reset();
    module.apply(aws).await.unwrap();
    let calls = aws.calls().report();
    assert_eq!(calls.mutating, 0, "{calls:#}");
}

/// The position of the first call of `operation` in `order`.
fn at(order: &[String], operation: &str) -> usize {
    order
        .iter()
        .position(|o| o == operation)
        .unwrap_or_else(|| panic!("no {operation} in {order:?}"))
}

#[tokio::test]
async fn an_autoscaled_service_leaves_its_count_to_the_autoscaler() {
    let aws = aws().await;
    let env = environment("scale");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;

    let first = Autoscaling::new(1, 4)
        .target_tracking(TargetTracking::new(ScalingMetric::Cpu, 60.0))
        .target_tracking(TargetTracking::new(ScalingMetric::RequestsPerTarget, 500.0))
        .scheduled(night());
    let service = autoscaled(&env, &net, Some(first.clone()));
    aws.calls().reset();
    service.apply(&aws).await.unwrap();
    // The target after the service, the policies after the target.
    let order = aws.calls().order();
    assert!(at(&order, "CreateService") < at(&order, "RegisterScalableTarget"));
    assert!(at(&order, "RegisterScalableTarget") < at(&order, "PutScalingPolicy"));
    assert!(at(&order, "RegisterScalableTarget") < at(&order, "PutScheduledAction"));
    assert_eq!(
        scaling_of(&aws, &env).await,
        (
            Some((1, 4)),
            vec![format!("{env}-blog-cpu"), format!("{env}-blog-requests")],
            vec![format!("{env}-blog-night")]
        )
    );
    // Requests per target name the load balancer and the target group.
    let policies = aws
        .appautoscaling()
        .describe_scaling_policies()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .resource_id(format!("service/{env}/blog"))
        .send()
        .await
        .unwrap();
    let label = policies
        .scaling_policies()
        .iter()
        .find_map(|p| {
            p.target_tracking_scaling_policy_configuration()?
                .predefined_metric_specification()?
                .resource_label()
        })
        .unwrap()
        .to_owned();
    assert!(
        label.starts_with("app/") && label.contains("/targetgroup/"),
        "{label}"
    );
    assert_eq!(desired_count(&aws, &env).await, 2);

    applied_again(&aws, &service).await;

    // The autoscaler moves the count: no drift, and apply leaves it.
    aws.ecs()
        .update_service()
        .cluster(&env)
        .service("blog")
        .desired_count(3)
        .send()
        .await
        .unwrap();
    let plan = service.plan(&aws).await.unwrap();
    assert!(plan.is_empty(), "{plan}");
    applied_again(&aws, &service).await;
    assert_eq!(desired_count(&aws, &env).await, 3);

    // Other bounds, memory instead of CPU and requests, no schedule: the rest goes.
    let second =
        Autoscaling::new(1, 6).target_tracking(TargetTracking::new(ScalingMetric::Memory, 70.0));
    let changed = autoscaled(&env, &net, Some(second));
    changed.apply(&aws).await.unwrap();
    assert_eq!(
        scaling_of(&aws, &env).await,
        (Some((1, 6)), vec![format!("{env}-blog-memory")], vec![])
    );
    applied_again(&aws, &changed).await;

    // Autoscaling off: the target goes with its policies, and the count is the inputs' again.
    let off = autoscaled(&env, &net, None);
    let plan = off.plan(&aws).await.unwrap();
    assert!(
        plan.to_string().contains("aws_appautoscaling_target"),
        "{plan}"
    );
    off.apply(&aws).await.unwrap();
    assert_eq!(scaling_of(&aws, &env).await, (None, vec![], vec![]));
    assert_eq!(desired_count(&aws, &env).await, 2);
    applied_again(&aws, &off).await;

    // On again, then destroy: the policies and the target go before the service.
    service.apply(&aws).await.unwrap();
    aws.calls().reset();
    service.destroy(&aws).await.unwrap();
    let order = aws.calls().order();
    assert!(at(&order, "DeleteScalingPolicy") < at(&order, "DeregisterScalableTarget"));
    assert!(at(&order, "DeleteScheduledAction") < at(&order, "DeregisterScalableTarget"));
    assert!(at(&order, "DeregisterScalableTarget") < at(&order, "DeleteService"));
    assert_eq!(scaling_of(&aws, &env).await, (None, vec![], vec![]));
    vpc.destroy(&aws).await.unwrap();
}

/// A service's placement as ECS describes it: the launch type, and the strategy.
async fn placement(aws: &Aws, env: &str) -> (Option<String>, Vec<StrategyItem>) {
    let s = described_service(aws, env, "blog").await;
    let mut strategy: Vec<StrategyItem> = s
        .capacity_provider_strategy()
        .iter()
        .map(StrategyItem::from_sdk)
        .collect();
    strategy.sort();
    (s.launch_type().map(|l| l.as_str().to_owned()), strategy)
}

#[tokio::test]
async fn a_service_moves_between_fargate_spot_and_its_launch_type_in_place() {
    let aws = aws().await;
    let env = environment("spot");
    let (vpc, net) = network(&aws, &env).await;
    fargate_cluster(&env, vec![StrategyItem::new(FARGATE, 1)])
        .apply(&aws)
        .await
        .unwrap();
    // Someone else's provider joins; a change of the default strategy keeps it.
    aws.ecs()
        .put_cluster_capacity_providers()
        .cluster(&env)
        .capacity_providers(FARGATE)
        .capacity_providers(FARGATE_SPOT)
        .capacity_providers("someone-elses")
        .send()
        .await
        .unwrap();
    let spot_default = fargate_cluster(
        &env,
        vec![
            StrategyItem::new(FARGATE, 1).base(1),
            StrategyItem::new(FARGATE_SPOT, 4),
        ],
    );
    spot_default.apply(&aws).await.unwrap();
    let described = aws
        .ecs()
        .describe_clusters()
        .clusters(&env)
        .send()
        .await
        .unwrap();
    let c = &described.clusters()[0];
    assert_eq!(
        c.capacity_providers(),
        [FARGATE, FARGATE_SPOT, "someone-elses"]
    );
    assert_eq!(c.default_capacity_provider_strategy().len(), 2);
    applied_again(&aws, &spot_default).await;

    let spot = [
        StrategyItem::new(FARGATE, 1).base(1),
        StrategyItem::new(FARGATE_SPOT, 3),
    ];
    let on_spot = blog_builder(&env, &net, IMAGE)
        .load_balancer(public_lb(&net))
        .capacity_provider_strategy(spot.clone())
        .build()
        .unwrap();
    on_spot.apply(&aws).await.unwrap();
    let mut want = spot.to_vec();
    want.sort();
    assert_eq!(placement(&aws, &env).await, (None, want.clone()));
    applied_again(&aws, &on_spot).await;

    // To the launch type and back: updates with a new deployment, never a new service.
    let on_fargate = blog_builder(&env, &net, IMAGE)
        .load_balancer(public_lb(&net))
        .launch_type(LaunchType::Fargate)
        .build()
        .unwrap();
    for (service, want) in [
        (&on_fargate, (Some("FARGATE".to_owned()), vec![])),
        (&on_spot, (None, want)),
    ] {
        let plan = service.plan(&aws).await.unwrap();
        assert!(
            plan.to_string().contains("capacity_provider_strategy"),
            "{plan}"
        );
        aws.calls().reset();
        service.apply(&aws).await.unwrap();
        let calls = aws.calls().report();
        assert_eq!(
            calls.mutations().get("UpdateService"),
            Some(&1),
            "{calls:#}"
        );
        assert_eq!(calls.mutations().get("CreateService"), None, "{calls:#}");
        assert_eq!(calls.mutations().get("DeleteService"), None, "{calls:#}");
        assert_eq!(placement(&aws, &env).await, want);
        applied_again(&aws, service).await;
    }

    on_spot.destroy(&aws).await.unwrap();
    spot_default.destroy(&aws).await.unwrap();
    vpc.destroy(&aws).await.unwrap();
}

/// `Module::plan` of a service without autoscaling reads its scalable target, so one left by
/// an earlier apply is found.
#[tokio::test]
async fn a_plain_service_looks_for_a_scalable_target_once() {
    let aws = aws().await;
    let env = environment("scale-plain");
    let net = crate::util::two_zone_network();
    let service = autoscaled(&env, &net, None);
    aws.calls().reset();
    Module::plan(&service, &aws).await.unwrap();
    let calls = aws.calls().report();
    assert_eq!(
        calls.by_operation.get("DescribeScalableTargets"),
        Some(&1),
        "{calls:#}"
    );
}

/// Application Auto Scaling does not know a service made a moment ago ("ECS service doesn't
/// exist", modelled by the harness): the target is retried until it does.
#[tokio::test]
async fn a_target_right_after_its_service_is_retried_until_autoscaling_knows_it() {
    let base = crate::reliability::base_config().await;
    let harness = ecs_modules::harness::Harness::builder()
        .propagation(std::time::Duration::from_secs(1))
        .account_has_used_ecs()
        .build();
    let aws = Aws::from_sdk_config(&harness.wrap(&base));
    let env = environment("scale-new");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    let service = autoscaled(
        &env,
        &net,
        Some(Autoscaling::new(1, 2).target_tracking(TargetTracking::new(ScalingMetric::Cpu, 50.0))),
    );
    service.apply(&aws).await.unwrap();
    assert_eq!(scaling_of(&aws, &env).await.0, Some((1, 2)));
    let refusals = harness.refusals();
    assert!(
        refusals.get("service unknown to autoscaling") > Some(&0),
        "{refusals:?}"
    );
    applied_again(&aws, &service).await;
    service.destroy(&aws).await.unwrap();
    vpc.destroy(&aws).await.unwrap();
}

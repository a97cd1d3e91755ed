//! Deployment strategies that shift traffic: what a service needs for them is made, the
//! service names it, a second apply changes nothing, and turning the strategy off removes
//! what only it needed, in one update of the service.

use std::time::{Duration, Instant};

use converge::{Action, Aws};
use ecs_modules::ecs_service::{DeploymentStrategy, Service};
use ecs_modules::harness::Harness;
use ecs_modules::vpc::VpcOutputs;

use crate::service::{blog_builder, cluster, network, public_lb};
use crate::util::{self, aws, environment};

const IMAGE: &str = "npalm/040code.github.io:latest";

fn service(env: &str, net: &VpcOutputs, strategy: DeploymentStrategy) -> Service {
    blog_builder(env, net, IMAGE)
        .load_balancer(public_lb(net))
        .deployment_strategy(strategy)
        .build()
        .unwrap()
}

/// The target groups the production rule forwards to, with their weights.
async fn production_rule(aws: &Aws, listener_arn: &str) -> Option<(String, Vec<(String, i32)>)> {
    let rules = aws
        .elbv2()
        .describe_rules()
        .listener_arn(listener_arn)
        .send()
        .await
        .unwrap();
    rules
        .rules()
        .iter()
        .find(|r| r.priority() == Some("1"))
        .map(|r| {
            let groups = r.actions()[0]
                .forward_config()
                .map(|f| {
                    f.target_groups()
                        .iter()
                        .map(|t| {
                            (
                                t.target_group_arn().unwrap_or_default().to_owned(),
                                t.weight().unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            (r.rule_arn().unwrap_or_default().to_owned(), groups)
        })
}

#[tokio::test]
async fn blue_green_makes_what_ecs_shifts_traffic_with_and_rolling_removes_it() {
    let aws = aws().await;
    let env = environment("bg");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;

    let blue_green = service(&env, &net, DeploymentStrategy::BlueGreen { bake_time: 15 });
    let plan = blue_green.plan(&aws).await.unwrap();
    for (kind, name) in [
        ("aws_lb_target_group", format!("{env}-blog-g")),
        ("aws_lb_listener_rule", format!("{env}-blog-production")),
        ("aws_iam_role", format!("{env}-blog-ecs-infra")),
    ] {
        let change = plan.find(kind, &name);
        assert_eq!(
            change.map(|c| c.action),
            Some(Action::Create),
            "{kind} {name}: {plan}"
        );
    }
    let out = blue_green.apply(&aws).await.unwrap();

    // The service names the alternate group, the production rule and the role, with the
    // strategy; the rule forwards to both groups, all traffic to the first.
    let described = util::described_service(&aws, &env, "blog").await;
    let deployment = described.deployment_configuration().unwrap();
    assert_eq!(
        deployment.strategy().map(|s| s.as_str()),
        Some("BLUE_GREEN")
    );
    assert_eq!(deployment.bake_time_in_minutes(), Some(15));
    let lb = &described.load_balancers()[0];
    let advanced = lb.advanced_configuration().expect("advanced configuration");
    let (rule_arn, groups) = production_rule(&aws, out.lb_listener_arn.as_deref().unwrap())
        .await
        .expect("a production rule");
    assert_eq!(advanced.production_listener_rule(), Some(rule_arn.as_str()));
    assert!(advanced
        .role_arn()
        .unwrap()
        .ends_with(&format!("/{env}-blog-ecs-infra")));
    let primary = out.lb_target_group_arn.clone().unwrap();
    let alternate = advanced.alternate_target_group_arn().unwrap().to_owned();
    assert_eq!(lb.target_group_arn(), Some(primary.as_str()));
    assert_eq!(groups, [(primary.clone(), 100), (alternate.clone(), 0)]);

    aws.calls().reset();
    let again = blue_green.plan(&aws).await.unwrap();
    assert!(again.is_empty(), "{again}");
    blue_green.apply(&aws).await.unwrap();
    assert_eq!(
        aws.calls().report().mutating,
        0,
        "{:#}",
        aws.calls().report()
    );

    // ECS moves the weights during a deployment: that is not drift.
    aws.elbv2()
        .modify_rule()
        .rule_arn(&rule_arn)
        .actions(
            aws_sdk_elasticloadbalancingv2::types::Action::builder()
                .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
                .forward_config(
                    aws_sdk_elasticloadbalancingv2::types::ForwardActionConfig::builder()
                        .target_groups(
                            aws_sdk_elasticloadbalancingv2::types::TargetGroupTuple::builder()
                                .target_group_arn(&primary)
                                .weight(0)
                                .build(),
                        )
                        .target_groups(
                            aws_sdk_elasticloadbalancingv2::types::TargetGroupTuple::builder()
                                .target_group_arn(&alternate)
                                .weight(100)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let shifted = blue_green.plan(&aws).await.unwrap();
    assert!(shifted.is_empty(), "{shifted}");

    // A canary is the same service, updated in place.
    let canary = service(
        &env,
        &net,
        DeploymentStrategy::Canary {
            percent: 10.0,
            interval: 5,
            bake_time: 10,
        },
    );
    let plan = canary.plan(&aws).await.unwrap();
    assert_eq!(plan.summary(), (0, 1, 0), "{plan}");
    let change = plan.find("aws_ecs_service", "blog").unwrap();
    assert_eq!(change.diffs[0].field, "deployment_strategy");
    canary.apply(&aws).await.unwrap();
    let described = util::described_service(&aws, &env, "blog").await;
    let deployment = described.deployment_configuration().unwrap();
    assert_eq!(deployment.strategy().map(|s| s.as_str()), Some("CANARY"));
    let c = deployment.canary_configuration().unwrap();
    assert_eq!(
        (c.canary_percent(), c.canary_bake_time_in_minutes()),
        (Some(10.0), Some(5))
    );
    assert!(canary.plan(&aws).await.unwrap().is_empty());

    // Rolling again: one update of the service, then the group, rule and role go.
    let rolling = service(&env, &net, DeploymentStrategy::Rolling);
    let plan = rolling.plan(&aws).await.unwrap();
    assert_eq!(plan.summary(), (0, 1, 3), "{plan}");
    rolling.apply(&aws).await.unwrap();
    let described = util::described_service(&aws, &env, "blog").await;
    assert!(described.load_balancers()[0]
        .advanced_configuration()
        .is_none());
    assert!(
        production_rule(&aws, out.lb_listener_arn.as_deref().unwrap())
            .await
            .is_none()
    );
    let role = aws
        .iam()
        .get_role()
        .role_name(format!("{env}-blog-ecs-infra"))
        .send()
        .await;
    assert!(role.is_err(), "the infrastructure role is gone");
    assert!(rolling.plan(&aws).await.unwrap().is_empty());

    rolling.destroy(&aws).await.unwrap();
    vpc.destroy(&aws).await.unwrap();
    assert!(util::nothing_tagged(&aws, &env).await);
}

#[tokio::test]
async fn a_strategy_that_shifts_traffic_without_a_load_balancer_is_refused() {
    let env = environment("bgbad");
    let net = util::two_zone_network();
    let err = blog_builder(&env, &net, IMAGE)
        .deployment_strategy(DeploymentStrategy::Linear {
            step_percent: 2.0,
            interval: 3,
            bake_time: 2000,
        })
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("deployment_strategy.bake_time: 2000 minutes"),
        "{err}"
    );
    assert!(
        err.contains("deployment_strategy.step_percent: 2 must be 3 to 100"),
        "{err}"
    );
    assert!(
        err.contains("LINEAR shifts traffic between two target groups: it needs a load_balancer or a listener_rule"),
        "{err}"
    );
}

/// The blue/green service, waiting for its deployments, on clients through `harness`.
fn waited(env: &str, net: &VpcOutputs) -> Service {
    blog_builder(env, net, IMAGE)
        .load_balancer(public_lb(net))
        .deployment_strategy(DeploymentStrategy::BlueGreen { bake_time: 1 })
        .wait_for_steady_state(Duration::from_secs(120))
        .build()
        .unwrap()
}

async fn harnessed(harness: &Harness) -> Aws {
    Aws::from_sdk_config(&harness.wrap(&util::sdk_config().await))
}

/// AWS's deployment stages, modelled: an apply that waits follows the deployment through its
/// traffic shift and bake to its end; a second apply while one runs changes nothing; a
/// destroy while one runs waits for it.
#[tokio::test]
async fn a_deployment_is_followed_through_its_stages_and_outlived_by_nothing() {
    let (shift, bake) = (Duration::from_secs(2), Duration::from_secs(2));
    let harness = Harness::builder().deploying(shift, bake, None).build();
    let aws = harnessed(&harness).await;
    let env = environment("bgwait");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;

    let started = Instant::now();
    waited(&env, &net).apply(&aws).await.unwrap();
    assert!(
        started.elapsed() >= shift + bake,
        "apply returned before the deployment ended: {:?}",
        started.elapsed()
    );
    let followed = aws
        .calls()
        .report()
        .by_operation
        .get("DescribeServiceDeployments")
        .copied()
        .unwrap_or_default();
    assert!(followed >= 2, "the deployment was polled {followed} times");

    // Without the wait, a new revision's deployment is left running...
    let moved = blog_builder(&env, &net, "npalm/040code.github.io:v2")
        .load_balancer(public_lb(&net))
        .deployment_strategy(DeploymentStrategy::BlueGreen { bake_time: 1 })
        .build()
        .unwrap();
    moved.apply(&aws).await.unwrap();
    // ...a second apply meanwhile changes nothing...
    aws.calls().reset();
    moved.apply(&aws).await.unwrap();
    assert_eq!(
        aws.calls().report().mutating,
        0,
        "{:#}",
        aws.calls().report()
    );
    // ...and a destroy waits for it (ECS refuses DeleteService until it ends).
    moved.destroy(&aws).await.unwrap();
    assert!(
        harness
            .refusals()
            .get("deployment in progress")
            .copied()
            .unwrap_or_default()
            >= 1,
        "{:?}",
        harness.refusals()
    );
    vpc.destroy(&aws).await.unwrap();
    assert!(util::nothing_tagged(&aws, &env).await);
}

/// An alarm in ALARM during the bake rolls the deployment back: apply fails with ECS's
/// reason, typed.
#[tokio::test]
async fn a_rolled_back_deployment_fails_the_apply_with_ecs_reason() {
    let harness = Harness::builder()
        .deploying(
            Duration::from_secs(1),
            Duration::from_secs(1),
            Some("blog-5xx-rate"),
        )
        .build();
    let aws = harnessed(&harness).await;
    let env = environment("bgroll");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;

    let service = waited(&env, &net);
    let err = service.apply(&aws).await.unwrap_err();
    let converge::Error::Stopped { source, .. } = &err else {
        panic!("not a stopped run: {err}");
    };
    let converge::Error::RolledBack {
        resource,
        status,
        reason,
    } = source.as_ref()
    else {
        panic!("not a rollback: {source}");
    };
    assert_eq!(resource, "aws_ecs_service \"blog\"");
    assert_eq!(status, "ROLLBACK_SUCCESSFUL");
    assert_eq!(reason, "alarm blog-5xx-rate is in ALARM (modelled)");

    service.destroy(&aws).await.unwrap();
    vpc.destroy(&aws).await.unwrap();
}

/// `--blue-green --wait-steady` follows the deployments and, when ECS rolls one back, exits
/// 1 with ECS's reason.
#[test]
fn the_command_line_exits_non_zero_with_the_reason_of_a_rollback() {
    use std::process::ExitCode;
    use std::sync::{Arc, Mutex};

    use crate::cli::{Buffer, Run};
    use ecs_modules::blog::Fargate;
    use ecs_modules::cli::{self, Io};

    util::keep_progress_events_asking();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = rt.block_on(util::sdk_config());
    let harness = Harness::builder()
        .deploying(
            Duration::from_millis(500),
            Duration::from_millis(500),
            Some("blog-5xx-rate"),
        )
        .build();
    let env = environment("bgcli");
    let run = |args: &[&str]| {
        let (out, err) = (Buffer::default(), Buffer::default());
        let io = Io {
            out: Box::new(out.clone()),
            err: Arc::new(Mutex::new(err.clone())),
            err_is_terminal: false,
            confirm: None,
        };
        let mut argv = vec!["example", "--environment", &env];
        argv.extend_from_slice(args);
        let code = cli::run_against::<Fargate>("test", argv, io, harness.wrap(&config));
        Run {
            code,
            out: out.text(),
            err: err.text(),
        }
    };
    let failed = run(&["apply", "--blue-green", "--wait-steady"]);
    assert_eq!(failed.code, ExitCode::from(1), "{}", failed.err);
    assert!(
        failed.err.contains(
            "deployment was rolled back (ROLLBACK_SUCCESSFUL): alarm blog-5xx-rate is in ALARM"
        ),
        "{}",
        failed.err
    );
    run(&["destroy", "--yes", "--blue-green"]).ok();
}

/// Deployment alarms: the module's are made before the service, which names them with the
/// user's own; without them, the service names none and the module's go.
#[tokio::test]
async fn deployment_alarms_are_made_named_by_the_service_and_removed() {
    use ecs_modules::ecs_service::DeploymentAlarms;

    let aws = aws().await;
    let env = environment("bgalarm");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    let alarmed = |alarms: Option<DeploymentAlarms>| {
        let mut b = blog_builder(&env, &net, IMAGE)
            .load_balancer(public_lb(&net))
            .deployment_strategy(DeploymentStrategy::BlueGreen { bake_time: 5 });
        if let Some(alarms) = alarms {
            b = b.deployment_alarms(alarms);
        }
        b.build().unwrap()
    };
    let with = alarmed(Some(
        DeploymentAlarms::new()
            .existing(["team-latency"])
            .target_5xx_rate(5.0)
            .cpu(80.0),
    ));
    with.apply(&aws).await.unwrap();
    let described = util::described_service(&aws, &env, "blog").await;
    let alarms = described
        .deployment_configuration()
        .and_then(|d| d.alarms())
        .expect("deployment alarms");
    let mut names = alarms.alarm_names().to_vec();
    names.sort();
    assert_eq!(
        names,
        [
            format!("{env}-blog-5xx-rate"),
            format!("{env}-blog-cpu"),
            "team-latency".to_owned()
        ]
    );
    assert!(alarms.enable() && alarms.rollback());
    let made = aws
        .cloudwatch()
        .describe_alarms()
        .alarm_name_prefix(format!("{env}-blog-"))
        .send()
        .await
        .unwrap();
    assert_eq!(made.metric_alarms().len(), 2);
    assert!(with.plan(&aws).await.unwrap().is_empty());

    let without = alarmed(None);
    let plan = without.plan(&aws).await.unwrap();
    assert_eq!(plan.summary(), (0, 1, 2), "{plan}");
    assert_eq!(
        plan.find("aws_ecs_service", "blog").unwrap().diffs[0].field,
        "deployment_alarms"
    );
    without.apply(&aws).await.unwrap();
    assert!(without.plan(&aws).await.unwrap().is_empty());
    let left = aws
        .cloudwatch()
        .describe_alarms()
        .alarm_name_prefix(format!("{env}-blog-"))
        .send()
        .await
        .unwrap();
    assert!(left.metric_alarms().is_empty());

    without.destroy(&aws).await.unwrap();
    vpc.destroy(&aws).await.unwrap();
}

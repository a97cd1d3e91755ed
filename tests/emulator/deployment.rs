//! Deployment strategies that shift traffic: what a service needs for them is made, the
//! service names it, a second apply changes nothing, and turning the strategy off removes
//! what only it needed, in one update of the service.

use converge::{Action, Aws};
use ecs_modules::ecs_service::{DeploymentStrategy, Service};
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

//! A service's rule on a shared listener, and the shared listener itself, against
//! aws-smithy-mocks: the calls a rule is made with, a priority another owner holds, and a
//! listener that other owners' rules keep from being deleted. No mutating call but the ones
//! mocked can happen: another would match no rule, and the mock would panic.

use aws_sdk_elasticloadbalancingv2::operation::create_rule::CreateRuleOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_listeners::DescribeListenersOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::DescribeLoadBalancersOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_rules::DescribeRulesOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_tags::DescribeTagsOutput;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, Listener, LoadBalancer, ProtocolEnum,
    Rule as ElbRule, Tag, TagDescription,
};
use aws_sdk_elasticloadbalancingv2::Client as Elbv2;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use converge::{Aws, Error, Retry, Stack, Tags, Value, NAME_TAG, OWNER_TAG};
use ecs_service::{
    listener_name, ListenerAction, ListenerKind, ListenerOf, ListenerRuleKind, ListenerRuleSpec,
    ListenerSpec, RuleAt,
};

const LB: &str = "blog-shared";
const LB_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/blog-shared/1";
const LISTENER_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/blog-shared/1/2";
const WEB_RULE_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/blog-shared/1/2/3";
const API_RULE_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/blog-shared/1/2/4";
const API_TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blog-api/5";

fn shared_tags() -> Tags {
    Tags::for_instance("shared-alb", "blog", LB)
}

fn api_tags() -> Tags {
    Tags::for_instance("ecs-service", "blog", "blog-api")
}

fn elb_tags(owner: &str, name: &str) -> Vec<Tag> {
    [(OWNER_TAG, owner), (NAME_TAG, name)]
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
        .collect()
}

/// The shared load balancer with its listener answering 404, and the `web` service's rule at
/// `web_priority` on it.
fn shared_listener_with_web_rule(web_priority: &str) -> Vec<Rule> {
    let lbs = mock!(Elbv2::describe_load_balancers).then_output(|| {
        DescribeLoadBalancersOutput::builder()
            .load_balancers(
                LoadBalancer::builder()
                    .load_balancer_name(LB)
                    .load_balancer_arn(LB_ARN)
                    .build(),
            )
            .build()
    });
    let tags = mock!(Elbv2::describe_tags).then_compute_output(|r| {
        let descriptions = r.resource_arns().iter().map(|arn| {
            let tags = match arn.as_str() {
                LB_ARN => elb_tags(shared_tags().owner(), LB),
                WEB_RULE_ARN => elb_tags("ecs-service/blog-web", "blog-web"),
                _ => Vec::new(),
            };
            TagDescription::builder()
                .resource_arn(arn)
                .set_tags(Some(tags))
                .build()
        });
        DescribeTagsOutput::builder()
            .set_tag_descriptions(Some(descriptions.collect()))
            .build()
    });
    let listeners = mock!(Elbv2::describe_listeners)
        .match_requests(|r| r.load_balancer_arn() == Some(LB_ARN))
        .then_output(|| {
            DescribeListenersOutput::builder()
                .listeners(
                    Listener::builder()
                        .listener_arn(LISTENER_ARN)
                        .load_balancer_arn(LB_ARN)
                        .port(80)
                        .protocol(ProtocolEnum::Http)
                        .default_actions(not_found())
                        .build(),
                )
                .build()
        });
    let priority = web_priority.to_owned();
    let rules = mock!(Elbv2::describe_rules)
        .match_requests(|r| r.listener_arn() == Some(LISTENER_ARN))
        .then_output(move || {
            DescribeRulesOutput::builder()
                .rules(
                    ElbRule::builder()
                        .rule_arn(WEB_RULE_ARN)
                        .priority(&priority)
                        .is_default(false)
                        .build(),
                )
                .rules(
                    ElbRule::builder()
                        .rule_arn(format!("{LISTENER_ARN}/default"))
                        .priority("default")
                        .is_default(true)
                        .actions(not_found())
                        .build(),
                )
                .build()
        });
    vec![lbs, tags, listeners, rules]
}

fn not_found() -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::FixedResponse)
        .fixed_response_config(
            FixedResponseActionConfig::builder()
                .status_code("404")
                .build(),
        )
        .build()
}

fn aws(rules: &[Rule]) -> Aws {
    let elbv2 = mock_client!(
        aws_sdk_elasticloadbalancingv2,
        RuleMode::MatchAny,
        rules,
        |c| c.retry_config(aws_sdk_elasticloadbalancingv2::config::retry::RetryConfig::disabled())
    );
    Aws::builder().elbv2(elbv2).retry(Retry::fast()).build()
}

/// The `api` service's rule at `priority`, alone in a stack.
fn api_rule(priority: i32) -> Stack {
    let mut stack = Stack::new();
    let at = RuleAt {
        load_balancer: LB.into(),
        port: 80,
        priority,
    };
    stack.add(ListenerRuleKind, "blog-api", api_tags(), at, move |_| {
        ListenerRuleSpec {
            listener_arn: Value::Known(LISTENER_ARN.into()),
            priority,
            host_headers: Vec::new(),
            path_patterns: vec!["/api/*".into()],
            target_group_arn: Value::Known(API_TG.into()),
            alternate_target_group_arn: None,
        }
    });
    stack
}

#[tokio::test]
async fn a_rule_is_made_tagged_at_its_priority_and_another_owners_rule_is_left_alone() {
    let create = mock!(Elbv2::create_rule)
        .match_requests(|r| {
            let tagged = r
                .tags()
                .iter()
                .any(|t| t.key() == Some(OWNER_TAG) && t.value() == Some(api_tags().owner()))
                && r.tags()
                    .iter()
                    .any(|t| t.key() == Some(NAME_TAG) && t.value() == Some("blog-api"));
            let paths = r.conditions().iter().any(|c| {
                c.field() == Some("path-pattern")
                    && c.path_pattern_config().map(|p| p.values())
                        == Some(&["/api/*".to_owned()][..])
            });
            let forwards = r.actions().iter().any(|a| {
                a.r#type() == Some(&ActionTypeEnum::Forward) && a.target_group_arn() == Some(API_TG)
            });
            r.listener_arn() == Some(LISTENER_ARN)
                && r.priority() == Some(10)
                && tagged
                && paths
                && forwards
        })
        .then_output(|| {
            CreateRuleOutput::builder()
                .rules(ElbRule::builder().rule_arn(API_RULE_ARN).build())
                .build()
        });
    let mut rules = shared_listener_with_web_rule("100");
    rules.push(create);
    let aws = aws(&rules);
    let plan = api_rule(10).plan(&aws).await.unwrap().into_plan();
    assert_eq!(plan.summary(), (1, 0, 0), "{plan}");
    aws.calls().reset();
    api_rule(10).apply(&aws).await.unwrap();
    // The web rule (another owner's) is neither modified nor pruned: no mock would answer.
    assert_eq!(aws.calls().report().mutating, 1);
}

#[tokio::test]
async fn a_priority_another_owner_holds_is_refused_at_plan_naming_its_rule() {
    let aws = aws(&shared_listener_with_web_rule("10"));
    let err = api_rule(10).plan(&aws).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("\"blog-web\"") && text.contains(WEB_RULE_ARN),
        "{text}"
    );
    assert!(api_rule(10).apply(&aws).await.is_err());
    assert_eq!(aws.calls().report().mutating, 0);
}

#[tokio::test]
async fn a_destroy_does_not_look_for_collisions() {
    // Our rule is gone, and another owner took its priority: nothing to delete, no refusal.
    let aws = aws(&shared_listener_with_web_rule("10"));
    let plan = api_rule(10).destroy(&aws).await.unwrap();
    assert!(plan.is_empty(), "{plan}");
    assert_eq!(aws.calls().report().mutating, 0);
}

#[tokio::test]
async fn a_shared_listener_with_another_owners_rule_is_not_destroyed() {
    let aws = aws(&shared_listener_with_web_rule("100"));
    let mut stack = Stack::new();
    stack.add(
        ListenerKind,
        listener_name(LB, 80),
        shared_tags(),
        ListenerOf {
            load_balancer: LB.into(),
            shared: true,
        },
        |_| ListenerSpec {
            load_balancer_arn: Value::Known(LB_ARN.into()),
            port: 80,
            protocol: "HTTP".into(),
            certificate_arn: None,
            ssl_policy: None,
            action: ListenerAction::NotFound,
        },
    );
    // Converged as it is: the 404 is what the listener answers.
    assert!(stack.plan(&aws).await.unwrap().plan().is_empty());
    let err = stack.destroy(&aws).await.unwrap_err();
    assert!(matches!(err, Error::Protected { .. }), "{err}");
    assert!(err.to_string().contains("\"blog-web\""), "{err}");
    assert_eq!(aws.calls().report().mutating, 0);
}

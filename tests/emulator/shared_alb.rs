//! One load balancer for many services: a shared block, and services with a rule on its
//! listener each, applied and destroyed as separate stacks.

use aws_sdk_elasticloadbalancingv2::types::{
    Action as ElbAction, ActionTypeEnum, FixedResponseActionConfig, PathPatternConditionConfig,
    RuleCondition,
};
use converge::{Action, Aws, Error};
use ecs_modules::ecs_service::{
    ListenerRule, Service, SharedListener, SharedLoadBalancer, SharedLoadBalancerOutputs,
    TargetGroup,
};
use ecs_modules::vpc::{Vpc, VpcOutputs};

use crate::service::{blog_builder, cluster, network};
use crate::util::{aws, environment};

pub(crate) fn shared(env: &str, net: &VpcOutputs) -> SharedLoadBalancer {
    SharedLoadBalancer::builder()
        .environment(env)
        .name("public")
        .network(net)
        .build()
        .unwrap()
}

/// A fresh environment `prefix-...` with a network and a cluster.
async fn place(prefix: &str) -> (Aws, String, Vpc, VpcOutputs) {
    let aws = aws().await;
    let env = environment(prefix);
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    (aws, env, vpc, net)
}

/// The network goes, and nothing of the environment is left.
async fn cleared(aws: &Aws, env: &str, vpc: &Vpc) {
    vpc.destroy(aws).await.unwrap();
    assert!(crate::util::nothing_tagged(aws, env).await);
}

/// HTTPS on 443 with an emulator certificate, HTTP on 80 redirected to it.
async fn https_shared(env: &str, net: &VpcOutputs) -> SharedLoadBalancer {
    let cert = crate::service::certificate(env).await;
    SharedLoadBalancer::builder()
        .environment(env)
        .name("public")
        .network(net)
        .listener(ecs_modules::ecs_service::Listener::https(&cert))
        .build()
        .unwrap()
}

/// The blog's container as `name`, with a rule at `priority` for `paths` on the shared
/// listener, which it knows from the outputs alone.
pub(crate) fn routed(
    env: &str,
    net: &VpcOutputs,
    out: &SharedLoadBalancerOutputs,
    (name, priority, paths): (&str, i32, &[&str]),
) -> Service {
    let mut rule =
        ListenerRule::new(SharedListener::from_outputs(out), priority).target_group(TargetGroup {
            container_name: Some("blog".into()),
            container_port: 80,
            ..TargetGroup::default()
        });
    for path in paths {
        rule = rule.path(*path);
    }
    blog_builder(env, net, "npalm/040code.github.io:latest")
        .service_name(name)
        .listener_rule(rule)
        .build()
        .unwrap()
}

/// The listener's rules other than the default: (priority, paths, target group).
async fn rules(aws: &Aws, listener: &str) -> Vec<(String, Vec<String>, String)> {
    let out = aws
        .elbv2()
        .describe_rules()
        .listener_arn(listener)
        .send()
        .await
        .unwrap();
    let mut rules: Vec<_> = out
        .rules()
        .iter()
        .filter(|r| r.is_default() != Some(true))
        .map(|r| {
            let paths = r
                .conditions()
                .iter()
                .flat_map(|c| {
                    c.path_pattern_config()
                        .map(|p| p.values().to_vec())
                        .unwrap_or_else(|| c.values().to_vec())
                })
                .collect();
            let tg = r
                .actions()
                .iter()
                .find_map(|a| a.target_group_arn())
                .unwrap_or_default()
                .to_owned();
            (r.priority().unwrap_or_default().to_owned(), paths, tg)
        })
        .collect();
    rules.sort();
    rules
}

async fn target_group_exists(aws: &Aws, arn: &str) -> bool {
    aws.elbv2()
        .describe_target_groups()
        .target_group_arns(arn)
        .send()
        .await
        .is_ok_and(|o| !o.target_groups().is_empty())
}

#[tokio::test]
async fn two_services_share_one_load_balancer_by_path_and_only_touch_their_own_rules() {
    let (aws, env, vpc, net) = place("alb").await;

    let alb = shared(&env, &net);
    let lb = alb.apply(&aws).await.unwrap();
    assert!(lb.url.starts_with("http://"), "{}", lb.url);
    assert_eq!(lb.redirect_listener_arn, None);
    let web = routed(&env, &net, &lb, ("web", 100, &["/*"]));
    let api = routed(&env, &net, &lb, ("api", 10, &["/api/*"]));
    let web_out = web.apply(&aws).await.unwrap();
    let api_out = api.apply(&aws).await.unwrap();

    // One load balancer: both services' URLs are on it, each rule forwards to its own group.
    assert_eq!(web_out.service_url.as_deref(), Some(lb.url.as_str()));
    assert_eq!(
        api_out.service_url.as_deref(),
        Some(format!("{}/api/", lb.url).as_str())
    );
    assert_eq!(web_out.lb_arn.as_deref(), Some(lb.lb_arn.as_str()));
    assert_eq!(
        api_out.lb_listener_arn.as_deref(),
        Some(lb.listener_arn.as_str())
    );
    let web_tg = web_out.lb_target_group_arn.clone().unwrap();
    let api_tg = api_out.lb_target_group_arn.clone().unwrap();
    assert_eq!(
        rules(&aws, &lb.listener_arn).await,
        [
            ("10".to_owned(), vec!["/api/*".to_owned()], api_tg.clone()),
            ("100".to_owned(), vec!["/*".to_owned()], web_tg.clone()),
        ]
    );
    // The tasks admit the shared load balancer's group, on the container port only.
    let task_sg = aws
        .ec2()
        .describe_security_groups()
        .group_ids(api_out.task_security_group_id.clone().unwrap())
        .send()
        .await
        .unwrap();
    let ingress = task_sg.security_groups()[0].ip_permissions();
    assert_eq!(ingress.len(), 1, "{ingress:?}");
    assert_eq!(ingress[0].from_port(), Some(80));
    assert_eq!(
        ingress[0].user_id_group_pairs()[0].group_id(),
        Some(lb.security_group_id.as_str())
    );
    // The listener answers 404 itself.
    let listener = aws
        .elbv2()
        .describe_listeners()
        .listener_arns(&lb.listener_arn)
        .send()
        .await
        .unwrap();
    let default = &listener.listeners()[0].default_actions()[0];
    assert_eq!(default.r#type(), Some(&ActionTypeEnum::FixedResponse));
    assert_eq!(
        default
            .fixed_response_config()
            .and_then(|f| f.status_code()),
        Some("404")
    );

    // Second applies change nothing, however many rules the listener has.
    for module in [&web, &api] {
        aws.calls().reset();
        module.apply(&aws).await.unwrap();
        assert_eq!(
            aws.calls().report().mutating,
            0,
            "{:#}",
            aws.calls().report()
        );
    }
    aws.calls().reset();
    alb.apply(&aws).await.unwrap();
    assert_eq!(aws.calls().report().mutating, 0);

    // A rule made by hand, untagged, at priority 50 (answering itself, so it holds no
    // service's target group): left alone by every apply.
    let foreign = aws
        .elbv2()
        .create_rule()
        .listener_arn(&lb.listener_arn)
        .priority(50)
        .conditions(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .values("/admin/*")
                        .build(),
                )
                .build(),
        )
        .actions(
            ElbAction::builder()
                .r#type(ActionTypeEnum::FixedResponse)
                .fixed_response_config(
                    FixedResponseActionConfig::builder()
                        .status_code("403")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let foreign_arn = foreign.rules()[0].rule_arn().unwrap().to_owned();
    assert!(web.plan(&aws).await.unwrap().is_empty());

    // A priority another rule holds is refused at plan, naming the rule; apply makes nothing.
    let admin = routed(&env, &net, &lb, ("admin", 10, &["/admin/*"]));
    let err = admin.plan(&aws).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    assert!(err.to_string().contains(&format!("\"{env}-api\"")), "{err}");
    assert!(err.to_string().contains("priority 10"), "{err}");
    aws.calls().reset();
    assert!(admin.apply(&aws).await.is_err());
    assert_eq!(aws.calls().report().mutating, 0);
    let admin = routed(&env, &net, &lb, ("admin", 50, &["/admin/*"]));
    let err = admin.plan(&aws).await.unwrap_err().to_string();
    assert!(
        err.contains("untagged") && err.contains(&foreign_arn),
        "{err}"
    );

    // A changed rule: its paths and priority change in place, the other rules stay.
    let api_v2 = routed(&env, &net, &lb, ("api", 20, &["/api/*", "/v2/*"]));
    let plan = api_v2.plan(&aws).await.unwrap();
    let change = plan
        .find("aws_lb_listener_rule", &format!("{env}-api"))
        .unwrap();
    let fields: Vec<&str> = change.diffs.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(
        (change.action, fields),
        (Action::Update, vec!["priority", "path_pattern"])
    );
    assert_eq!(plan.summary(), (0, 1, 0), "{plan}");
    api_v2.apply(&aws).await.unwrap();
    assert!(api_v2.plan(&aws).await.unwrap().is_empty());
    assert_eq!(rules(&aws, &lb.listener_arn).await.len(), 3);

    // The shared block refuses to go while other stacks' rules are on its listener, naming
    // them, and deletes nothing.
    let err = alb.destroy(&aws).await.unwrap_err();
    assert!(matches!(err, Error::Protected { .. }), "{err}");
    let text = err.to_string();
    for name in [
        format!("\"{env}-web\""),
        format!("\"{env}-api\""),
        foreign_arn.clone(),
    ] {
        assert!(text.contains(&name), "{name} not in {text}");
    }
    assert!(alb.plan(&aws).await.unwrap().is_empty(), "nothing deleted");

    // Destroying one service removes only its rule and its target group.
    api_v2.destroy(&aws).await.unwrap();
    let left = rules(&aws, &lb.listener_arn).await;
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.iter().all(|(_, _, tg)| tg != &api_tg), "{left:?}");
    assert!(!target_group_exists(&aws, &api_tg).await);
    assert!(target_group_exists(&aws, &web_tg).await);
    assert!(web.plan(&aws).await.unwrap().is_empty());

    // With the others' rules gone, the shared block goes.
    web.destroy(&aws).await.unwrap();
    let err = alb.destroy(&aws).await.unwrap_err().to_string();
    assert!(
        err.contains(&foreign_arn) && !err.contains("-web\""),
        "{err}"
    );
    aws.elbv2()
        .delete_rule()
        .rule_arn(&foreign_arn)
        .send()
        .await
        .unwrap();
    let gone = alb.destroy(&aws).await.unwrap();
    assert_eq!(gone.summary(), (0, 0, 3), "{gone}");
    assert!(!target_group_exists(&aws, &web_tg).await);
    cleared(&aws, &env, &vpc).await;
}

#[tokio::test]
async fn https_shared_listener_with_http_redirected_and_rules_by_host() {
    let (aws, env, vpc, net) = place("albs").await;
    let alb = https_shared(&env, &net).await;
    let lb = alb.apply(&aws).await.unwrap();
    assert!(lb.url.starts_with("https://"), "{}", lb.url);
    assert!(lb.redirect_listener_arn.is_some());

    let rule = ListenerRule::new(&lb, 5)
        .host("api.example.com")
        .path("/v1/*")
        .target_group(TargetGroup {
            container_name: Some("blog".into()),
            container_port: 80,
            ..TargetGroup::default()
        });
    let api = blog_builder(&env, &net, "npalm/040code.github.io:latest")
        .service_name("api")
        .listener_rule(rule)
        .build()
        .unwrap();
    let out = api.apply(&aws).await.unwrap();
    assert_eq!(
        out.service_url.as_deref(),
        Some("https://api.example.com/v1/")
    );
    aws.calls().reset();
    api.apply(&aws).await.unwrap();
    assert_eq!(aws.calls().report().mutating, 0);
    // The rule is on the HTTPS listener; the redirect listener has none.
    let rules = aws
        .elbv2()
        .describe_rules()
        .listener_arn(lb.redirect_listener_arn.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert!(rules.rules().iter().all(|r| r.is_default() == Some(true)));

    api.destroy(&aws).await.unwrap();
    assert_eq!(alb.destroy(&aws).await.unwrap().summary(), (0, 0, 4));
    cleared(&aws, &env, &vpc).await;
}

/// A shared load balancer moved from HTTP to HTTPS: its HTTP listener becomes the redirect,
/// and the rules on it are served (and hold it) until each service applies again on the
/// HTTPS listener, which moves its rule there, made before the old one goes.
#[tokio::test]
async fn moving_the_shared_listener_to_https_takes_each_rule_along() {
    let (aws, env, vpc, net) = place("albm").await;
    let http = shared(&env, &net);
    let before = http.apply(&aws).await.unwrap();
    let web = routed(&env, &net, &before, ("web", 100, &["/*"]));
    web.apply(&aws).await.unwrap();

    let https = https_shared(&env, &net).await;
    let plan = https.plan(&aws).await.unwrap();
    let port_80 = format!("{env}-public:80");
    assert_eq!(
        plan.find("aws_lb_listener", &port_80).unwrap().action,
        Action::Update,
        "{plan}"
    );
    let after = https.apply(&aws).await.unwrap();
    assert_eq!(
        after.redirect_listener_arn.as_deref(),
        Some(before.listener_arn.as_str())
    );
    // The rule still serves HTTP, and holds the redirect listener.
    assert_eq!(rules(&aws, &before.listener_arn).await.len(), 1);
    let err = https.destroy(&aws).await.unwrap_err().to_string();
    assert!(err.contains(&format!("\"{env}-web\"")), "{err}");

    // The service follows: its rule is replaced on the HTTPS listener.
    let moved = routed(&env, &net, &after, ("web", 100, &["/*"]));
    let plan = moved.plan(&aws).await.unwrap();
    let rule = plan
        .find("aws_lb_listener_rule", &format!("{env}-web"))
        .unwrap();
    assert_eq!(rule.action, Action::Replace, "{plan}");
    moved.apply(&aws).await.unwrap();
    assert!(moved.plan(&aws).await.unwrap().is_empty());
    assert!(rules(&aws, &before.listener_arn).await.is_empty());
    assert_eq!(rules(&aws, &after.listener_arn).await.len(), 1);

    moved.destroy(&aws).await.unwrap();
    https.destroy(&aws).await.unwrap();
    cleared(&aws, &env, &vpc).await;
}

/// A service moved from a load balancer of its own onto a shared listener, in one apply: a
/// new target group (a group belongs to one load balancer) and the rule, the service and its
/// tasks' group moved, then its own load balancer, listener, group and target group gone.
#[tokio::test]
async fn a_service_moves_from_its_own_load_balancer_onto_a_shared_listener() {
    let (aws, env, vpc, net) = place("albo").await;
    let own = blog_builder(&env, &net, "npalm/040code.github.io:latest")
        .load_balancer(crate::service::public_lb(&net))
        .build()
        .unwrap();
    let before = own.apply(&aws).await.unwrap();
    let alb = shared(&env, &net);
    let lb = alb.apply(&aws).await.unwrap();

    let routed = routed(&env, &net, &lb, ("blog", 10, &["/*"]));
    let plan = routed.plan(&aws).await.unwrap();
    let blog = format!("{env}-blog");
    for (kind, name, action) in [
        ("aws_lb_target_group", format!("{blog}-r"), Action::Create),
        ("aws_lb_listener_rule", blog.clone(), Action::Create),
        ("aws_ecs_service", "blog".to_owned(), Action::Update),
        ("aws_lb", blog.clone(), Action::Delete),
        ("aws_lb_listener", format!("{blog}:80"), Action::Delete),
        ("aws_lb_target_group", blog.clone(), Action::Delete),
        (
            "aws_security_group",
            format!("{blog}-alb-sg"),
            Action::Delete,
        ),
    ] {
        let change = plan.find(kind, &name);
        assert_eq!(
            change.map(|c| c.action),
            Some(action),
            "{kind} {name}:\n{plan}"
        );
    }
    let after = routed.apply(&aws).await.unwrap();
    assert!(routed.plan(&aws).await.unwrap().is_empty());
    assert_eq!(after.lb_arn.as_deref(), Some(lb.lb_arn.as_str()));
    assert_ne!(after.lb_target_group_arn, before.lb_target_group_arn);
    assert!(!target_group_exists(&aws, before.lb_target_group_arn.as_deref().unwrap()).await);
    let own_lbs = aws
        .elbv2()
        .describe_load_balancers()
        .names(&blog)
        .send()
        .await;
    assert!(own_lbs.is_err() || own_lbs.unwrap().load_balancers().is_empty());
    let svc = crate::util::described_service(&aws, &env, "blog").await;
    assert_eq!(
        svc.load_balancers()[0].target_group_arn(),
        after.lb_target_group_arn.as_deref()
    );

    routed.destroy(&aws).await.unwrap();
    alb.destroy(&aws).await.unwrap();
    cleared(&aws, &env, &vpc).await;
}

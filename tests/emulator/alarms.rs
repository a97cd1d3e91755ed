//! A service's deployment alarms against the emulator (CloudWatch over Smithy RPC v2 CBOR,
//! through `scripts/moto_server.py`'s shim): made with their dimensions from the target
//! group's and load balancer's ARNs, a second apply that calls nothing, a threshold changed
//! in place, an alarm no longer asked for deleted, and destroy, which leaves other owners'
//! alarms of similar names alone.

use aws_sdk_cloudwatch::types::{ComparisonOperator, MetricAlarm, Tag};
use converge::{Aws, Ref, Stack, Tags, Value, OWNER_TAG};
use ecs_modules::ecs_service::{AlarmTarget, DeploymentAlarms};
use ecs_modules::harness::{Harness, Rate, Rates};

use crate::util::{aws, environment, sdk_config};

fn tg_arn(env: &str) -> String {
    format!(
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{env}-web/73e2d6bc24d8a067"
    )
}

fn lb_arn(env: &str) -> String {
    format!(
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/{env}/50dc6c495c0c9188"
    )
}

fn tags(env: &str) -> Tags {
    Tags::for_instance("ecs-service", env, "web")
}

/// The stack of `alarms` for the service `web` of cluster `env`, the names starting with
/// `<env>-web`; and the names the service would list.
fn stack(env: &str, alarms: &DeploymentAlarms) -> (Stack, Ref<Vec<String>>) {
    let target = AlarmTarget::new("web", env)
        .name_prefix(format!("{env}-web"))
        .load_balancer(Ref::known(tg_arn(env)), Ref::known(lb_arn(env)));
    let mut stack = Stack::new();
    let names = alarms.declare(&mut stack, &tags(env), &target);
    (stack, names)
}

/// The metric alarms named `names`, as CloudWatch has them.
async fn described(aws: &Aws, names: &[String]) -> Vec<MetricAlarm> {
    let out = aws
        .cloudwatch()
        .describe_alarms()
        .set_alarm_names(Some(names.to_vec()))
        .send()
        .await
        .unwrap();
    out.metric_alarms().to_vec()
}

/// An alarm another owner made, called `name`.
async fn theirs(aws: &Aws, env: &str, name: &str) {
    aws.cloudwatch()
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/ECS")
        .metric_name("CPUUtilization")
        .statistic("Average".into())
        .period(60)
        .evaluation_periods(1)
        .threshold(50.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .tags(Tag::builder().key(OWNER_TAG).value("someone/else").build())
        .tags(Tag::builder().key("Environment").value(env).build())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn deployment_alarms_are_made_kept_changed_and_destroyed() {
    let aws = aws().await;
    let env = environment("alarm");
    let prefix = format!("{env}-web");
    // Another owner's alarms: one of a name the module would make but is not asked to (the
    // module tracks it), one of a similar name.
    let memory = format!("{prefix}-memory");
    let similar = format!("{prefix}-cpu-2");
    theirs(&aws, &env, &memory).await;
    theirs(&aws, &env, &similar).await;

    let alarms = DeploymentAlarms::new()
        .existing([format!("{env}-latency")])
        .target_5xx_rate(5.0)
        .unhealthy_hosts(1)
        .cpu(80.0);
    let (first, names) = stack(&env, &alarms);
    let plan = first.plan(&aws).await.unwrap().into_plan();
    assert_eq!(plan.summary(), (3, 0, 0), "{plan}");
    aws.calls().reset();
    let applied = first.apply(&aws).await.unwrap();
    let made: Vec<String> = ["5xx-rate", "unhealthy-hosts", "cpu"]
        .iter()
        .map(|s| format!("{prefix}-{s}"))
        .collect();
    let mut all = vec![format!("{env}-latency")];
    all.extend(made.iter().cloned());
    assert_eq!(applied.value(&names), Value::Known(all));
    let report = aws.calls().report();
    assert_eq!(
        report.mutations().get("PutMetricAlarm"),
        Some(&3),
        "{report:#}"
    );
    assert_eq!(report.mutating, 3, "{report:#}");

    // The 5XX rate: math over the target group's two metrics, by their dimensions.
    let found = described(&aws, &made).await;
    assert_eq!(found.len(), 3);
    let rate = found
        .iter()
        .find(|a| a.alarm_name() == Some(made[0].as_str()))
        .unwrap();
    assert_eq!(rate.threshold(), Some(5.0));
    assert_eq!(rate.treat_missing_data(), Some("notBreaching"));
    let queries = rate.metrics();
    assert_eq!(queries.len(), 3);
    for q in queries.iter().filter(|q| q.expression().is_none()) {
        let dims: Vec<(&str, &str)> = q
            .metric_stat()
            .and_then(|s| s.metric())
            .map(|m| m.dimensions())
            .unwrap_or_default()
            .iter()
            .map(|d| (d.name().unwrap(), d.value().unwrap()))
            .collect();
        let tg = format!("targetgroup/{env}-web/73e2d6bc24d8a067");
        let lb = format!("app/{env}/50dc6c495c0c9188");
        assert_eq!(
            dims,
            [("TargetGroup", tg.as_str()), ("LoadBalancer", lb.as_str())]
        );
    }
    let cpu = found
        .iter()
        .find(|a| a.alarm_name() == Some(made[2].as_str()))
        .unwrap();
    let dims: Vec<(&str, &str)> = (cpu.dimensions().iter())
        .map(|d| (d.name().unwrap(), d.value().unwrap()))
        .collect();
    assert_eq!(
        dims,
        [("ClusterName", env.as_str()), ("ServiceName", "web")]
    );
    let arn = cpu.alarm_arn().unwrap();
    let tagged = aws
        .cloudwatch()
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap();
    assert!(
        tagged
            .tags()
            .iter()
            .any(|t| t.key() == Some(OWNER_TAG) && t.value() == Some(tags(&env).owner())),
        "{tagged:?}"
    );

    // Again: nothing to do, nothing done.
    let again = first.plan(&aws).await.unwrap().into_plan();
    assert!(again.is_empty(), "{again}");
    aws.calls().reset();
    first.apply(&aws).await.unwrap();
    let report = aws.calls().report();
    assert_eq!(report.mutating, 0, "{report:#}");
    // One DescribeAlarms for every name the stack declares or tracks.
    assert_eq!(
        report.by_operation.get("DescribeAlarms"),
        Some(&1),
        "{report:#}"
    );

    // A threshold changed: one put.
    let (higher, _) = stack(&env, &alarms.clone().cpu(90.0));
    let plan = higher.plan(&aws).await.unwrap().into_plan();
    assert_eq!(plan.summary(), (0, 1, 0), "{plan}");
    aws.calls().reset();
    higher.apply(&aws).await.unwrap();
    let report = aws.calls().report();
    assert_eq!(
        report.mutations().into_iter().collect::<Vec<_>>(),
        [("PutMetricAlarm", 1)]
    );
    let cpu = described(&aws, &made[2..]).await;
    assert_eq!(cpu[0].threshold(), Some(90.0));
    assert!(higher.plan(&aws).await.unwrap().plan().is_empty());

    // The unhealthy hosts no longer asked for: that alarm goes, the other owner's stay.
    let mut fewer = alarms.clone().cpu(90.0);
    fewer.unhealthy_hosts = None;
    let (fewer, _) = stack(&env, &fewer);
    let plan = fewer.plan(&aws).await.unwrap().into_plan();
    assert_eq!(plan.summary(), (0, 0, 1), "{plan}");
    fewer.apply(&aws).await.unwrap();
    assert!(described(&aws, &made[1..2]).await.is_empty());

    // Destroy: ours gone, theirs kept.
    fewer.destroy(&aws).await.unwrap();
    assert!(described(&aws, &made).await.is_empty());
    let kept: Vec<String> = described(&aws, &[memory.clone(), similar.clone()])
        .await
        .iter()
        .filter_map(|a| a.alarm_name().map(str::to_owned))
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    // Nothing left to destroy.
    let after = fewer.plan_destroy(&aws).await.unwrap();
    assert!(after.is_empty(), "{after}");
}

/// CloudWatch's throttling answer, in CBOR, is one the SDK reads and retries: four puts and
/// four deletes at once through a bucket of one write go through.
#[tokio::test]
async fn throttled_alarm_calls_are_retried() {
    let env = environment("alarmt");
    let one_write = Rate {
        bucket: 1.0,
        refill: 20.0,
    };
    let harness = Harness::builder()
        .throttling_rates(Rates::aws().with("CloudWatch writes", one_write))
        .build();
    let aws = Aws::from_sdk_config(&harness.wrap(&sdk_config().await));
    let alarms = DeploymentAlarms::new()
        .target_5xx_rate(5.0)
        .unhealthy_hosts(1)
        .cpu(80.0)
        .memory(80.0);
    let (four, _) = stack(&env, &alarms);
    four.apply(&aws).await.unwrap();
    let made = harness.throttled();
    assert!(made > 0, "no call was throttled");
    assert!(four.plan(&aws).await.unwrap().plan().is_empty());
    four.destroy(&aws).await.unwrap();
    assert!(harness.throttled() > made, "no delete was throttled");
    let names: Vec<String> = alarms.names(&format!("{env}-web"));
    assert!(described(&aws, &names).await.is_empty());
}

//! Idempotent creates. The harness models AWS's client tokens (the emulator ignores them) and
//! loses the answer to create calls it forwarded, so the SDK sends them again: a create that
//! takes a token gets the resource its first call made, and the run ends with one of each. A
//! create without one (`CreateSecurityGroup`) is met by the next apply's read.

use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_types::SdkConfig;
use converge::{Aws, Module};
use ecs_modules::harness::Harness;
use ecs_modules::vpc::{FlowLogs, NatGateways, Vpc};

use crate::reliability::{base_config, fargate, fast_fargate_ec2, one_of_each};
use crate::util::{environment, fast_wait, inventory, leftovers, nothing_tagged, tagged};

/// The creates of the Fargate deployment that take a client token.
const FARGATE_TOKEN_CREATES: [&str; 4] = [
    "CreateNatGateway",
    "CreateRouteTable",
    "CreateVpcEndpoint",
    "CreateService",
];

/// The emulator's configuration, with the SDK's standard retry (three attempts) pausing
/// milliseconds instead of up to a second, so a lost answer costs its round trip only.
async fn quick() -> SdkConfig {
    base_config()
        .await
        .to_builder()
        .retry_config(
            RetryConfig::standard()
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(50)),
        )
        .build()
}

/// An apply that follows a finished one changes nothing, and destroy leaves nothing.
async fn again_then_destroy<M: Module>(aws: &Aws, env: &str, stack: &M) {
    aws.calls().reset();
    stack.apply(aws).await.unwrap();
    let calls = aws.calls().report();
    assert_eq!(calls.mutating, 0, "{env}: {calls:#}");
    stack.destroy(aws).await.unwrap();
    assert_eq!(leftovers(aws, env).await, [], "{env}");
}

/// The Fargate deployment, its NAT gateway, S3 endpoint, both route tables and the service
/// each losing their create's answer once: one of each, as a run without a fault makes.
#[tokio::test]
async fn lost_answers_to_the_fargate_creates_that_take_a_token_leave_one_of_each() {
    let base = quick().await;
    let clean = Aws::from_sdk_config(&base);

    // The same apply without a lost answer, for the cost of five.
    let env = environment("tok-base");
    let harness = Harness::builder().idempotency().build();
    let aws = Aws::from_sdk_config(&harness.wrap(&base));
    let start = Instant::now();
    fargate(&env).apply(&aws).await.unwrap();
    let (plain, plain_time) = (harness.forwarded(), start.elapsed());
    assert_eq!(harness.repeats(), 0);
    fargate(&env).destroy(&clean).await.unwrap();

    let env = environment("tok");
    let stack = fargate(&env);
    let harness = Harness::builder()
        .idempotency()
        .lose_answers(FARGATE_TOKEN_CREATES, 1)
        .lose_answers(["CreateRouteTable"], 2)
        .build();
    let aws = Aws::from_sdk_config(&harness.wrap(&base));
    let start = Instant::now();
    stack.apply(&aws).await.unwrap();
    let lossy_time = start.elapsed();
    assert_eq!(harness.lost_answers(), 5);
    // Each retry carried the token of a call AWS had carried out: answered, not made again,
    // and not forwarded.
    assert_eq!(harness.repeats(), 5);
    assert_eq!(harness.forwarded(), plain);
    println!(
        "fargate apply: {plain} calls forwarded in {plain_time:?}; with 5 lost answers, \
         {} forwarded, 5 answered from their token, in {lossy_time:?}",
        harness.forwarded()
    );
    assert_eq!(inventory(&clean, &env).await, one_of_each());
    again_then_destroy(&clean, &env, &stack).await;
}

/// A network with a private hosted zone, a flow log and an interface endpoint beside the S3
/// one: Route 53 refuses the retried `CallerReference` as made already, and the zone that
/// reference made is the one kept.
#[tokio::test]
async fn lost_answers_to_a_hosted_zone_a_flow_log_and_endpoints_leave_one_of_each() {
    let base = quick().await;
    let clean = Aws::from_sdk_config(&base);
    let env = environment("tok-net");
    let net = Vpc::builder()
        .environment(&env)
        .nat_gateways(NatGateways::None)
        .create_private_hosted_zone(true)
        .interface_endpoints(["logs"])
        .flow_logs(FlowLogs::default())
        .wait(fast_wait())
        .build()
        .unwrap();
    let harness = Harness::builder()
        .idempotency()
        .lose_answers(
            ["CreateHostedZone", "CreateFlowLogs", "CreateVpcEndpoint"],
            1,
        )
        .lose_answers(["CreateVpcEndpoint"], 2)
        .build();
    let aws = Aws::from_sdk_config(&harness.wrap(&base));
    let out = net.apply(&aws).await.unwrap();
    assert_eq!(harness.lost_answers(), 4);
    assert_eq!(harness.repeats(), 4);

    let domain = format!("{env}.local.");
    let zones = clean
        .route53()
        .list_hosted_zones_by_name()
        .dns_name(&domain)
        .send()
        .await
        .unwrap();
    let ours: Vec<_> = zones
        .hosted_zones()
        .iter()
        .filter(|z| z.name() == domain)
        .collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(
        out.private_dns_zone_id.as_deref(),
        Some(ours[0].id().trim_start_matches("/hostedzone/"))
    );
    let flows = clean
        .ec2()
        .describe_flow_logs()
        .filter(crate::util::env_filter(&env))
        .send()
        .await
        .unwrap();
    assert_eq!(flows.flow_logs().len(), 1);
    let counted: std::collections::BTreeMap<_, _> =
        tagged(&clean, &env).await.into_iter().collect();
    assert_eq!(counted["vpc endpoints"], 2, "{counted:?}");

    clean.calls().reset();
    net.apply(&clean).await.unwrap();
    assert_eq!(clean.calls().report().mutating, 0);
    net.destroy(&clean).await.unwrap();
    assert!(nothing_tagged(&clean, &env).await);
}

/// `fargate_ec2`: its launch template and both services losing their create's answer once.
#[tokio::test]
async fn lost_answers_to_the_launch_template_and_both_services_leave_one_of_each() {
    let base = quick().await;
    let clean = Aws::from_sdk_config(&base);
    let env = environment("tok-ec2");
    let stack = fast_fargate_ec2(&env);
    let harness = Harness::builder()
        .idempotency()
        .lose_answers(["CreateLaunchTemplate", "CreateService"], 1)
        .lose_answers(["CreateService"], 2)
        .build();
    let aws = Aws::from_sdk_config(&harness.wrap(&base));
    stack.apply(&aws).await.unwrap();
    assert_eq!(harness.lost_answers(), 3);
    assert_eq!(harness.repeats(), 3);
    let found = inventory(&clean, &env).await;
    assert_eq!(found["launch templates"], 1, "{found:?}");
    assert_eq!(found["ecs services"], 2, "{found:?}");
    again_then_destroy(&clean, &env, &stack).await;
}

/// `CreateSecurityGroup` takes no token: its retry after a lost answer is refused
/// (`InvalidGroup.Duplicate`), and the run stops there; the next apply reads the group the
/// lost call made, by its tags, and finishes with one of each.
#[tokio::test]
async fn a_lost_answer_to_a_create_without_a_token_is_met_by_its_retry() {
    let base = quick().await;
    let clean = Aws::from_sdk_config(&base);
    let env = environment("tok-sg");
    let stack = fargate(&env);
    let harness = Harness::builder()
        .idempotency()
        .lose_answers(["CreateSecurityGroup"], 1)
        .build();
    let aws = Aws::from_sdk_config(&harness.wrap(&base));
    // The retried create meets the group it made (`InvalidGroup.Duplicate`), which carries
    // our identity: it is taken as made.
    stack.apply(&aws).await.unwrap();
    assert_eq!(harness.lost_answers(), 1);
    assert_eq!(harness.repeats(), 0);
    assert_eq!(inventory(&clean, &env).await, one_of_each());
    again_then_destroy(&clean, &env, &stack).await;
}

//! The reliability suite on the whole Fargate deployment: applies and destroys cut off after
//! every one of their calls and run again, injected throttling and 5xx errors, look-alike
//! resources we do not own, out-of-band drift, and two environments at once.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_types::SdkConfig;
use converge::{Action, Aws, Error, Module};
use ecs_modules::blog::{Fargate, FargateEc2};
use ecs_modules::cli::{Deployment, Settings};
use ecs_modules::harness::Harness;
use ecs_modules::target;
use futures::StreamExt;

use crate::util::{aws, described_service, environment, inventory, leftovers};

/// How many cut-off runs go at once.
const PARALLEL: usize = 4;

/// The SDK configuration for the emulator, started once.
pub(crate) async fn base_config() -> SdkConfig {
    let _ = aws().await;
    target::emulator_config(&target::emulator_url(), None).await
}

pub(crate) fn fargate(env: &str) -> Fargate {
    Fargate::new(&Settings {
        environment: env.to_owned(),
        ..Settings::default()
    })
    .unwrap()
}

/// One of each resource of the Fargate deployment, and nothing else.
pub(crate) fn one_of_each() -> BTreeMap<&'static str, usize> {
    [
        ("vpcs", 1),
        ("subnets", 6),
        ("internet gateways", 1),
        ("route tables", 2),
        ("elastic ips", 1),
        ("nat gateways", 1),
        // The S3 gateway endpoint.
        ("vpc endpoints", 1),
        ("security groups", 2),
        ("launch templates", 0),
        ("instances", 0),
        ("load balancers", 1),
        ("target groups", 1),
        ("ecs clusters", 1),
        ("ecs services", 1),
        ("task definitions", 1),
        ("capacity providers", 0),
        ("iam roles", 1),
        ("instance profiles", 0),
        ("log groups", 1),
        ("auto scaling groups", 0),
    ]
    .into()
}

/// Runs `work` until the harness has let `k` calls through, then drops it, as a killed
/// process would stop. Returns whether `work` finished first.
async fn cut_after<T>(harness: &Harness, work: impl std::future::Future<Output = T>) -> bool {
    tokio::select! {
        biased;
        () = harness.stopped() => false,
        _ = work => true,
    }
}

/// How many calls a run of `work` makes.
async fn calls_of<F, Fut>(aws: &Aws, work: F) -> usize
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future,
{
    aws.calls().reset();
    work().await;
    aws.calls().report().total as usize
}

#[tokio::test]
async fn an_apply_cut_off_after_any_call_finishes_on_the_next_with_one_of_each() {
    let base = base_config().await;
    let clean = Aws::from_sdk_config(&base);
    let probe = environment("cutp");
    let full = calls_of(&clean, || async {
        fargate(&probe).apply(&clean).await.unwrap();
    })
    .await;
    fargate(&probe).destroy(&clean).await.unwrap();
    assert!(full > 40, "{full}");

    // A few environments at a time: each is independent, and the emulator answers in parallel.
    futures::stream::iter(1..=full)
        .map(|k| {
            let (base, clean) = (&base, &clean);
            async move {
                let env = environment(&format!("ca{k}"));
                let stack = fargate(&env);
                let harness = Harness::builder().stop_after(k).build();
                let cut = Aws::from_sdk_config(&harness.wrap(base));
                let finished = cut_after(&harness, stack.apply(&cut)).await;
                assert!(!finished || k == full, "k={k}: apply finished early");

                let out = stack
                    .apply(clean)
                    .await
                    .unwrap_or_else(|e| panic!("k={k}: apply after the cut failed: {e}"));
                assert!(out.blog_url.starts_with("http://"), "k={k}");
                assert_eq!(inventory(clean, &env).await, one_of_each(), "k={k}");

                stack.destroy(clean).await.unwrap();
                assert_eq!(leftovers(clean, &env).await, [], "k={k}");
            }
        })
        .buffer_unordered(PARALLEL)
        .collect::<Vec<()>>()
        .await;
}

#[tokio::test]
async fn a_destroy_cut_off_after_any_call_finishes_on_the_next_and_leaves_nothing() {
    let base = base_config().await;
    let clean = Aws::from_sdk_config(&base);
    let probe = environment("cdp");
    fargate(&probe).apply(&clean).await.unwrap();
    let full = calls_of(&clean, || async {
        fargate(&probe).destroy(&clean).await.unwrap();
    })
    .await;
    assert!(full > 40, "{full}");

    futures::stream::iter(1..=full)
        .map(|k| {
            let (base, clean) = (&base, &clean);
            async move {
                let env = environment(&format!("cd{k}"));
                let stack = fargate(&env);
                stack.apply(clean).await.unwrap();
                let harness = Harness::builder().stop_after(k).build();
                let cut = Aws::from_sdk_config(&harness.wrap(base));
                let finished = cut_after(&harness, stack.destroy(&cut)).await;
                assert!(!finished || k == full, "k={k}: destroy finished early");

                stack
                    .destroy(clean)
                    .await
                    .unwrap_or_else(|e| panic!("k={k}: destroy after the cut failed: {e}"));
                assert_eq!(leftovers(clean, &env).await, [], "k={k}");
            }
        })
        .buffer_unordered(PARALLEL)
        .collect::<Vec<()>>()
        .await;
}

#[tokio::test]
async fn throttling_and_server_errors_on_a_fifth_of_calls_change_nothing_in_the_result() {
    let base = base_config().await;
    let clean = Aws::from_sdk_config(&base);
    // The SDK retries throttling and 5xx; at a 20% fault rate three attempts are not enough
    // for a run of a hundred calls, ten are (Terraform's AWS provider makes up to 25).
    let patient = base
        .to_builder()
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(10)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(50)),
        )
        .build();
    for seed in [1, 2, 3] {
        let env = environment(&format!("flt{seed}"));
        let stack = fargate(&env);
        let harness = Harness::builder().faults(0.2, seed).build();
        let faulty = Aws::from_sdk_config(&harness.wrap(&patient));

        let out = stack
            .apply(&faulty)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(
            harness.injected() > 5,
            "seed {seed}: {}",
            harness.injected()
        );
        assert_eq!(inventory(&clean, &env).await, one_of_each(), "seed {seed}");
        // The same outputs as a clean run, which changes nothing.
        clean.calls().reset();
        assert_eq!(
            stack.apply(&clean).await.unwrap(),
            out.outputs,
            "seed {seed}"
        );
        assert_eq!(clean.calls().report().mutating, 0, "seed {seed}");

        stack
            .destroy(&faulty)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: destroy: {e}"));
        assert_eq!(leftovers(&clean, &env).await, [], "seed {seed}");
    }
}

/// Whether `err` is the conflict with a resource we do not own, naming `id`.
fn is_conflict(err: &Error, id: &str) -> bool {
    let mut e: Option<&Error> = Some(err);
    while let Some(cur) = e {
        if let Error::NotOwned { id: found, .. } = cur {
            return found.contains(id);
        }
        e = match cur {
            Error::Stopped { source, .. } => Some(source),
            _ => None,
        };
    }
    false
}

#[tokio::test]
async fn look_alikes_we_do_not_own_make_apply_fail_and_survive_destroy() {
    let aws = aws().await;

    // A VPC named like ours.
    let env = environment("own");
    let vpc = aws
        .ec2()
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Vpc)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("Name")
                        .value(format!("{env}-vpc"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    let err = fargate(&env).apply(&aws).await.unwrap_err();
    assert!(is_conflict(&err, &vpc), "{err}");
    fargate(&env).destroy(&aws).await.unwrap();
    let still = aws
        .ec2()
        .describe_vpcs()
        .vpc_ids(&vpc)
        .send()
        .await
        .unwrap();
    assert_eq!(still.vpcs().len(), 1);
    aws.ec2().delete_vpc().vpc_id(&vpc).send().await.unwrap();
    assert_eq!(leftovers(&aws, &env).await, []);

    // A log group and a role named like ours. The modules apply side by side, so either may
    // be the one that stops the run.
    let env = environment("own");
    let group = format!("/ecs/{env}");
    let role = format!("{env}-ecs-task-execution");
    aws.logs()
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    aws.iam()
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let err = fargate(&env).apply(&aws).await.unwrap_err();
    assert!(
        is_conflict(&err, &group) || is_conflict(&err, &role),
        "{err}"
    );
    fargate(&env).destroy(&aws).await.unwrap();
    assert!(aws.iam().get_role().role_name(&role).send().await.is_ok());
    let logs = aws
        .logs()
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .unwrap();
    assert_eq!(
        logs.log_groups().len(),
        1,
        "the look-alike log group survived"
    );
    aws.logs()
        .delete_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    let err = fargate(&env).apply(&aws).await.unwrap_err();
    assert!(is_conflict(&err, &role), "{err}");
    fargate(&env).destroy(&aws).await.unwrap();
    assert!(aws.iam().get_role().role_name(&role).send().await.is_ok());
    aws.iam()
        .delete_role()
        .role_name(&role)
        .send()
        .await
        .unwrap();
    assert_eq!(leftovers(&aws, &env).await, []);

    // A security group named like the load balancer's, in our VPC.
    let env = environment("own");
    let stack = fargate(&env);
    let net = ecs_modules::vpc::Vpc::builder()
        .environment(&env)
        .build()
        .unwrap()
        .apply(&aws)
        .await
        .unwrap();
    let sg = aws
        .ec2()
        .create_security_group()
        .group_name(format!("{env}-blog-alb-sg"))
        .description("not ours")
        .vpc_id(&net.vpc_id)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::SecurityGroup)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key("Name")
                        .value(format!("{env}-blog-alb-sg"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    let err = stack.apply(&aws).await.unwrap_err();
    assert!(is_conflict(&err, &sg), "{err}");
    aws.ec2()
        .delete_security_group()
        .group_id(&sg)
        .send()
        .await
        .unwrap_or_else(|e| panic!("the look-alike must have survived: {e:?}"));
    stack.destroy(&aws).await.unwrap();
    assert_eq!(leftovers(&aws, &env).await, []);
}

#[tokio::test]
async fn drift_shows_in_plan_and_apply_repairs_it() {
    let aws = aws().await;
    let env = environment("drift");
    let stack = fargate(&env);
    let out = stack.apply(&aws).await.unwrap();
    let ec2 = aws.ec2();

    // The private route to the NAT gateway, deleted.
    let tables = ec2
        .describe_route_tables()
        .filters(crate::util::env_filter(&env))
        .send()
        .await
        .unwrap();
    let private = tables
        .route_tables()
        .iter()
        .find(|t| {
            t.tags()
                .iter()
                .any(|tag| tag.value() == Some(&format!("{env}-private-routetable")))
        })
        .unwrap();
    ec2.delete_route()
        .route_table_id(private.route_table_id().unwrap())
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    // A rule added to the tasks' security group.
    let task_sg = out.service.task_security_group_id.clone().unwrap();
    ec2.authorize_security_group_ingress()
        .group_id(&task_sg)
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .cidr_ip("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    // The desired count changed.
    aws.ecs()
        .update_service()
        .cluster(&env)
        .service("blog")
        .desired_count(3)
        .send()
        .await
        .unwrap();
    // A private subnet deleted.
    let gone = out.vpc.private_subnets[2].clone();
    ec2.delete_subnet().subnet_id(&gone).send().await.unwrap();

    let plan = stack.plan(&aws).await.unwrap();
    let action = |kind: &str, name: &str| {
        plan.find(kind, name)
            .map(|c| c.action)
            .unwrap_or_else(|| panic!("{kind} {name} not in:\n{plan}"))
    };
    assert_eq!(
        action("aws_route_table", &format!("{env}-private-routetable")),
        Action::Update
    );
    assert_eq!(
        action("aws_security_group", &format!("{env}-blog-task-sg")),
        Action::Update
    );
    assert_eq!(action("aws_ecs_service", "blog"), Action::Update);
    assert_eq!(
        action("aws_subnet", &format!("{env}-us-east-1c-private")),
        Action::Create
    );

    let repaired = stack.apply(&aws).await.unwrap();
    assert_ne!(repaired.vpc.private_subnets[2], gone);
    let plan = stack.plan(&aws).await.unwrap();
    assert!(plan.is_empty(), "{plan}");
    let service = described_service(&aws, &env, "blog").await;
    assert_eq!(service.desired_count(), 1);
    let subnets = service
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .map(|a| a.subnets().to_vec())
        .unwrap();
    assert!(
        subnets.contains(&repaired.vpc.private_subnets[2]),
        "{subnets:?}"
    );
    assert!(!subnets.contains(&gone));

    stack.destroy(&aws).await.unwrap();
    assert_eq!(leftovers(&aws, &env).await, []);
}

#[tokio::test]
async fn two_environments_applied_and_destroyed_at_once_do_not_interfere() {
    let aws = aws().await;
    let (a, b) = (environment("para"), environment("parb"));
    let (sa, sb) = (fargate(&a), fargate(&b));
    let (oa, ob) = tokio::try_join!(sa.apply(&aws), sb.apply(&aws)).unwrap();
    assert_ne!(oa.vpc.vpc_id, ob.vpc.vpc_id);
    assert_eq!(inventory(&aws, &a).await, one_of_each());
    assert_eq!(inventory(&aws, &b).await, one_of_each());
    tokio::try_join!(sa.destroy(&aws), sb.destroy(&aws)).unwrap();
    assert_eq!(leftovers(&aws, &a).await, []);
    assert_eq!(leftovers(&aws, &b).await, []);
}

/// Every model of AWS at once, scaled down: AWS's 90 s NAT wait and 150 s load balancer
/// provisioning at 1/60, its 300 s deregistration delay at 1/100 and half a second for the
/// tasks to stop, interfaces released 2 s after the deletes, propagation in 1 s.
fn modelled() -> ecs_modules::harness::HarnessBuilder {
    Harness::builder()
        .provisioning(Duration::from_millis(1500), Duration::from_millis(3000))
        .fresh_ids(Duration::from_secs(60))
        .releasing(Duration::from_secs(2))
        .draining(0.01, Duration::from_millis(500))
        .propagation(Duration::from_secs(1))
}

/// The deployments with short waits, for the modelled runs.
fn fast_fargate(env: &str) -> Fargate {
    fargate(env).with_wait(crate::util::fast_wait()).unwrap()
}

pub(crate) fn fast_fargate_ec2(env: &str) -> FargateEc2 {
    fast_fargate_ec2_on(env, false)
}

/// With `capacity_provider`, the EC2 service runs through the instances' provider.
fn fast_fargate_ec2_on(env: &str, capacity_provider: bool) -> FargateEc2 {
    FargateEc2::new(&Settings {
        environment: env.to_owned(),
        capacity_provider,
        ..Settings::default()
    })
    .unwrap()
    .with_wait(crate::util::fast_wait())
    .unwrap()
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

/// Both deployments under AWS's provisioning times and eventual consistency, modelled by the
/// harness (a NAT gateway pending, a load balancer provisioning, services draining, network
/// interfaces released a while after the deletes, scaled down; the first use of each fresh EC2
/// id refused; the service-linked role, instance profile, listener and capacity provider
/// propagating): apply waits for the NAT gateway only
/// (the ECS service needs the private route to it; nothing needs the load balancer active),
/// a second apply changes nothing, destroy leaves nothing.
#[tokio::test]
async fn both_deployments_converge_under_aws_provisioning_times() {
    let base = base_config().await;
    let harness = modelled().build();
    let aws = Aws::from_sdk_config(&harness.wrap(&base));

    let env = environment("prov");
    let stack = fast_fargate(&env);
    aws.calls().reset();
    let out = stack.apply(&aws).await.unwrap();
    assert!(out.blog_url.starts_with("http://"));
    // Counted, not timed: the NAT gateway was seen pending and polled until available; the
    // load balancer was read once (the listing its kind and the listener kind share), never polled.
    let calls = aws.calls().report();
    assert!(calls.by_operation["DescribeNatGateways"] >= 3, "{calls:#}");
    assert_eq!(calls.by_operation["DescribeLoadBalancers"], 1, "{calls:#}");
    again_then_destroy(&aws, &env, &stack).await;
    assert!(
        harness.injected() > 5,
        "fresh ids refused: {}",
        harness.injected()
    );

    let env = environment("prov-ec2");
    let stack = fast_fargate_ec2(&env);
    stack.apply(&aws).await.unwrap();
    again_then_destroy(&aws, &env, &stack).await;

    // These models were met, and their refusals retried through. (The service starts after
    // the NAT gateway's wait, by when its listener has long propagated: the test below meets
    // that model, and the instances' graph test the instance profile's and the provider's.)
    let refusals = harness.refusals();
    for met in [
        "fresh id",
        "interfaces releasing",
        "service draining",
        "service-linked role being made",
        "role propagating",
    ] {
        assert!(refusals.get(met) > Some(&0), "{met}: {refusals:?}");
    }
}

/// `fargate_ec2 --capacity-provider` under every model: the EC2 service names the instances'
/// provider, which joins the cluster once ACTIVE; the group starts at zero, and ECS's managed
/// scaling moving it is no drift; destroy takes the services away before the provider leaves
/// the cluster.
#[tokio::test]
async fn fargate_ec2_on_its_capacity_provider_converges_under_aws_models() {
    let base = base_config().await;
    let harness = modelled().account_has_used_ecs().build();
    let aws = Aws::from_sdk_config(&harness.wrap(&base));
    let env = environment("prov-cp");
    let stack = fast_fargate_ec2_on(&env, true);
    let out = stack.apply(&aws).await.unwrap();
    let provider = format!("{env}-ecs-instances");
    assert_eq!(
        out.instances.capacity_provider_name.as_deref(),
        Some(provider.as_str())
    );
    let service = described_service(&aws, &env, "blog-ec2").await;
    assert_eq!(service.launch_type(), None);
    let strategy = service.capacity_provider_strategy();
    assert_eq!(strategy.len(), 1);
    assert_eq!(strategy[0].capacity_provider(), provider);
    let group = |aws: Aws, name: String| async move {
        let out = aws
            .autoscaling()
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(name)
            .send()
            .await
            .unwrap();
        let g = &out.auto_scaling_groups()[0];
        (g.min_size(), g.desired_capacity(), g.max_size())
    };
    let asg = out.instances.asg_name.clone();
    assert_eq!(
        group(aws.clone(), asg.clone()).await,
        (Some(0), Some(0), Some(2))
    );
    // ECS's managed scaling adds an instance for the task.
    aws.autoscaling()
        .set_desired_capacity()
        .auto_scaling_group_name(&asg)
        .desired_capacity(1)
        .send()
        .await
        .unwrap();
    aws.calls().reset();
    stack.apply(&aws).await.unwrap();
    let calls = aws.calls().report();
    assert_eq!(calls.mutating, 0, "{calls:#}");
    assert_eq!(group(aws.clone(), asg).await.1, Some(1));

    aws.calls().reset();
    stack.destroy(&aws).await.unwrap();
    let order = aws.calls().order();
    let last_service = order.iter().rposition(|o| o == "DeleteService");
    let provider_leaves = order
        .iter()
        .position(|o| o == "PutClusterCapacityProviders");
    assert!(
        last_service.is_some() && last_service < provider_leaves,
        "{order:?}"
    );
    assert_eq!(leftovers(&aws, &env).await, [], "{env}");
    assert!(harness.refusals().get("capacity provider not yet active") > Some(&0));
}

/// Applies `stack(env)` where only propagation is modelled and the NAT gateway is available at
/// once, so each service follows what forwards to its target group closely enough to meet
/// ECS's "does not have an associated load balancer"; asserts it was retried through, that a
/// second apply changes nothing and that destroy leaves nothing.
async fn meets_the_association_window<M: Module>(
    prefix: &str,
    stack: impl FnOnce(&str) -> M,
) -> M::Outputs {
    let base = base_config().await;
    let harness = Harness::builder()
        .propagation(Duration::from_secs(2))
        .account_has_used_ecs()
        .build();
    let aws = Aws::from_sdk_config(&harness.wrap(&base));
    let env = environment(prefix);
    // The execution role exists already, long propagated: a fresh one's policy attachment
    // would hold the task definition, and so the service, past the listener's window.
    converge::TaskExecutionRole::builder()
        .environment(&env)
        .build()
        .unwrap()
        .apply(&Aws::from_sdk_config(&base))
        .await
        .unwrap();
    let stack = stack(&env);
    let out = stack.apply(&aws).await.unwrap();
    again_then_destroy(&aws, &env, &stack).await;
    let refusals = harness.refusals();
    assert!(
        refusals.get("target group not yet associated") > Some(&0),
        "{refusals:?}"
    );
    out.outputs
}

/// The service right after its listener is retried until the association is known.
#[tokio::test]
async fn a_service_right_after_its_listener_is_retried_until_the_association_is_known() {
    meets_the_association_window("assoc", fargate).await;
}

/// The same behind a shared load balancer: each service follows its rule on the shared
/// listener.
#[tokio::test]
async fn services_right_after_their_rules_on_a_shared_listener_are_retried_through() {
    let out = meets_the_association_window("assoc-alb", |env| {
        ecs_modules::blog::SharedAlb::new(&Settings {
            environment: env.to_owned(),
            ..Settings::default()
        })
        .unwrap()
    })
    .await;
    assert!(out.api_url.ends_with("/api/"), "{}", out.api_url);
}

/// How many calls `work` makes through a fresh modelled AWS.
async fn modelled_calls<F, Fut>(base: &SdkConfig, work: F) -> usize
where
    F: FnOnce(Aws) -> Fut,
    Fut: std::future::Future,
{
    let harness = modelled().build();
    work(Aws::from_sdk_config(&harness.wrap(base))).await;
    harness.forwarded() + harness.injected()
}

/// One deployment, under every model at once, cut off after `k` calls of its apply, run
/// again by a new process that meets the same modelled AWS (the NAT gateway still pending, the
/// listener still propagating), then applied once more, which changes nothing; then cut off
/// after `k` calls of its destroy (the service still draining, interfaces still releasing) and
/// destroyed again, which leaves nothing.
async fn cut_and_run_again<M: Module>(base: &SdkConfig, env: &str, stack: &M, k: usize) {
    let cut = modelled().stop_after(k).build();
    let aws = Aws::from_sdk_config(&cut.wrap(base));
    tokio::select! {
        biased;
        () = cut.stopped() => {}
        out = stack.apply(&aws) => panic!("{env}, k={k}: apply ended before the cut: {:?}", out.err()),
    }
    let again = cut.restarted(None);
    let aws = Aws::from_sdk_config(&again.wrap(base));
    stack
        .apply(&aws)
        .await
        .unwrap_or_else(|e| panic!("{env}, k={k}: apply after the cut failed: {e}"));
    aws.calls().reset();
    stack.apply(&aws).await.unwrap();
    let calls = aws.calls().report();
    assert_eq!(calls.mutating, 0, "{env}, k={k}: {calls:#}");

    let cut = again.restarted(Some(k));
    let aws = Aws::from_sdk_config(&cut.wrap(base));
    tokio::select! {
        biased;
        () = cut.stopped() => {}
        out = stack.destroy(&aws) => panic!("{env}, k={k}: destroy ended before the cut: {:?}", out.err()),
    }
    let again = Aws::from_sdk_config(&cut.restarted(None).wrap(base));
    stack
        .destroy(&again)
        .await
        .unwrap_or_else(|e| panic!("{env}, k={k}: destroy after the cut failed: {e}"));
    assert_eq!(leftovers(&again, env).await, [], "{env}, k={k}");
}

/// Both deployments cut off at several points of apply and of destroy under every model of
/// AWS at once, and run again ([`cut_and_run_again`]).
#[tokio::test]
async fn cut_off_under_aws_models_both_deployments_converge_when_run_again() {
    /// Cut points per deployment, spread over its calls.
    const CUTS: usize = 4;
    let base = base_config().await;

    // The fewest calls either run makes without a cut bounds the cut points.
    let probe = environment("mcp");
    let probe = probe.as_str();
    let (a, d) = (
        modelled_calls(&base, |aws| async move {
            fast_fargate(probe).apply(&aws).await.unwrap()
        })
        .await,
        modelled_calls(&base, |aws| async move {
            fast_fargate(probe).destroy(&aws).await.unwrap()
        })
        .await,
    );
    let fewest = a.min(d);
    let points: Vec<usize> = (1..=CUTS).map(|i| fewest * i / (CUTS + 1)).collect();

    let runs = points.iter().flat_map(|&k| [(k, false), (k, true)]);
    futures::stream::iter(runs)
        .map(|(k, ec2)| {
            let base = &base;
            async move {
                if ec2 {
                    let env = environment(&format!("me{k}"));
                    cut_and_run_again(base, &env, &fast_fargate_ec2(&env), k).await;
                } else {
                    let env = environment(&format!("mf{k}"));
                    cut_and_run_again(base, &env, &fast_fargate(&env), k).await;
                }
            }
        })
        .buffer_unordered(PARALLEL)
        .collect::<Vec<()>>()
        .await;
}

/// A call that never answers (the harness stops the world after a few calls) makes the run
/// fail, within the operation timeout, with a timeout error naming the operation: nothing
/// hangs, though the SDK retries the timed-out attempts.
#[tokio::test]
async fn a_stalled_call_fails_the_run_with_a_timeout_naming_the_operation() {
    let base = base_config().await;
    let timeouts = converge::Timeouts {
        connect: Duration::from_millis(500),
        attempt: Duration::from_millis(300),
        operation: Duration::from_secs(1),
    };
    for k in [0, 3, 10] {
        let env = environment(&format!("stall{k}"));
        let harness = Harness::builder().stop_after(k).build();
        let aws = Aws::builder()
            .sdk_config(&harness.wrap(&base))
            .timeouts(timeouts)
            .build();
        let start = std::time::Instant::now();
        let err = fargate(&env).apply(&aws).await.unwrap_err();
        let took = start.elapsed();
        // The first failure, under what the stack's run says of it.
        let mut cause: &(dyn std::error::Error + 'static) = &err;
        while let Some(source) = cause.source() {
            if let Some(Error::Aws { .. }) = cause.downcast_ref::<Error>() {
                break;
            }
            cause = source;
        }
        let Some(Error::Aws {
            operation, message, ..
        }) = cause.downcast_ref::<Error>()
        else {
            panic!("k={k}: not an AWS call's error: {err:?}");
        };
        let message = message.as_deref().unwrap_or_default();
        assert!(
            !operation.is_empty() && message.contains("timed out"),
            "k={k}: {operation}: {message}"
        );
        // One operation's bound, plus the calls that went through before the stall.
        assert!(took < Duration::from_secs(5), "k={k}: took {took:?}: {err}");
        eprintln!("k={k}: {operation} failed after {took:?}: {message}");
    }
}

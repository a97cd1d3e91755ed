//! The ECS instances module against the emulator: outputs, no-op second apply, a new launch
//! template version on a changed instance type, sizes updated in place, destroy, validation.

use aws_sdk_ec2::types::{Filter, InstanceStateName};
use converge::{Action, Aws, Module};
use ecs_modules::ecs_instances::{Instances, InstancesBuilder, ManagedScaling};

use crate::util::{aws, environment};

const OWNER: &str = "ecs-modules:owner";

/// A VPC with two subnets, made directly (the module only needs their ids).
async fn network(aws: &Aws) -> (String, Vec<String>) {
    let vpc = aws
        .ec2()
        .create_vpc()
        .cidr_block("10.42.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    let mut subnets = Vec::new();
    for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        let subnet = aws
            .ec2()
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.42.{i}.0/24"))
            .availability_zone(*az)
            .send()
            .await
            .unwrap();
        subnets.push(subnet.subnet().unwrap().subnet_id().unwrap().to_owned());
    }
    (vpc, subnets)
}

fn builder(env: &str, vpc: &str, subnets: &[String]) -> InstancesBuilder {
    Instances::builder()
        .environment(env)
        .cluster(env)
        .network(ecs_modules::vpc::Network::ids(vpc, "10.42.0.0/16"))
        .subnets(subnets.iter().cloned())
        .tag("Team", "platform")
}

fn owner_filter(env: &str) -> Filter {
    Filter::builder()
        .name(format!("tag:{OWNER}"))
        .values(format!("ecs-instances/{env}"))
        .build()
}

/// What still carries our ownership tag or our names, by kind.
async fn left(aws: &Aws, env: &str) -> Vec<&'static str> {
    let mut left = Vec::new();
    let sgs = aws
        .ec2()
        .describe_security_groups()
        .filters(owner_filter(env))
        .send()
        .await
        .unwrap();
    if !sgs.security_groups().is_empty() {
        left.push("security group");
    }
    let lts = aws
        .ec2()
        .describe_launch_templates()
        .filters(owner_filter(env))
        .send()
        .await
        .unwrap();
    if !lts.launch_templates().is_empty() {
        left.push("launch template");
    }
    let asgs = aws
        .autoscaling()
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(format!("{env}-ecs-asg"))
        .send()
        .await
        .unwrap();
    if !asgs.auto_scaling_groups().is_empty() {
        left.push("auto scaling group");
    }
    if aws
        .iam()
        .get_role()
        .role_name(format!("{env}-ecs-instance-role"))
        .send()
        .await
        .is_ok()
    {
        left.push("role");
    }
    if aws
        .iam()
        .get_instance_profile()
        .instance_profile_name(format!("{env}-ecs-instance-profile"))
        .send()
        .await
        .is_ok()
    {
        left.push("instance profile");
    }
    let logs = aws
        .logs()
        .describe_log_groups()
        .log_group_name_prefix(format!("/ecs/{env}/"))
        .send()
        .await
        .unwrap();
    if !logs.log_groups().is_empty() {
        left.push("log group");
    }
    let running = aws
        .ec2()
        .describe_instances()
        .filters(owner_filter(env))
        .send()
        .await
        .unwrap()
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| i.state().and_then(|s| s.name()) != Some(&InstanceStateName::Terminated))
        .count();
    if running > 0 {
        left.push("instances");
    }
    left
}

#[tokio::test]
async fn instances_apply_once_new_template_version_and_destroy() {
    let aws = aws().await;
    let env = environment("inst");
    let (vpc, subnets) = network(&aws).await;
    let instances = builder(&env, &vpc, &subnets).build().unwrap();

    let plan = instances.plan(&aws).await.unwrap();
    assert_eq!(plan.summary(), (6, 0, 0), "{plan}");
    // A create lists what it sets; what this apply makes is shown as unknown, never as a
    // placeholder id.
    let after = |kind: &str, name: String, field: &str| {
        let change = plan
            .find(kind, &name)
            .unwrap_or_else(|| panic!("{kind} {name}: {plan}"));
        let diff = change.diffs.iter().find(|d| d.field == field);
        diff.and_then(|d| d.after.clone())
            .unwrap_or_else(|| panic!("{kind} {name} {field}: {plan}"))
    };
    let template = format!("{env}-ecs-instances");
    let lt = "aws_launch_template";
    assert_eq!(after(lt, template.clone(), "instance_type"), "t3.small");
    assert!(after(lt, template.clone(), "image_id").starts_with("ami-"));
    for field in ["security_groups", "iam_instance_profile"] {
        assert_eq!(after(lt, template.clone(), field), converge::AFTER_APPLY);
    }
    let group = format!("{env}-ecs-asg");
    let asg = "aws_autoscaling_group";
    assert_eq!(after(asg, group.clone(), "min_size"), "1");
    assert_eq!(after(asg, group.clone(), "max_size"), "2");
    assert_eq!(after(asg, group.clone(), "desired_capacity"), "1");
    assert_eq!(
        after(asg, group.clone(), "vpc_zone_identifier"),
        subnets.join(",")
    );
    assert_eq!(
        after(asg, group, "launch_template.id"),
        converge::AFTER_APPLY
    );
    assert_eq!(
        after(
            "aws_security_group",
            format!("{env}-ecs-instances-sg"),
            "vpc_id"
        ),
        vpc
    );

    let out = instances.apply(&aws).await.unwrap();
    assert_eq!(out.asg_name, format!("{env}-ecs-asg"));
    assert!(
        out.asg_arn.starts_with("arn:aws:autoscaling:"),
        "{}",
        out.asg_arn
    );
    assert!(out.launch_template_id.starts_with("lt-"));
    assert_eq!(out.launch_template_version, "1");
    assert!(out
        .instance_role_arn
        .ends_with(&format!("role/{env}-ecs-instance-role")));
    assert!(out
        .instance_profile_arn
        .ends_with(&format!("instance-profile/{env}-ecs-instance-profile")));
    assert!(out.security_group_id.starts_with("sg-"));
    assert_eq!(out.log_group_name, format!("/ecs/{env}/ecs-agent"));
    let logs = aws
        .logs()
        .describe_log_groups()
        .log_group_name_prefix(&out.log_group_name)
        .send()
        .await
        .unwrap();
    assert_eq!(logs.log_groups()[0].retention_in_days(), Some(30));
    assert_eq!(out.service_role_arn, None);
    assert_eq!(out.capacity_provider_name, None);

    // The template as EC2 has it.
    let version = aws
        .ec2()
        .describe_launch_template_versions()
        .launch_template_id(&out.launch_template_id)
        .versions("1")
        .send()
        .await
        .unwrap();
    let data = version.launch_template_versions()[0]
        .launch_template_data()
        .unwrap()
        .clone();
    let ami = aws
        .ssm()
        .get_parameter()
        .name(ecs_modules::ecs_instances::AMI_PARAMETER)
        .send()
        .await
        .unwrap();
    assert_eq!(data.image_id(), ami.parameter().unwrap().value());
    assert_eq!(data.instance_type().unwrap().as_str(), "t3.small");
    assert_eq!(
        data.metadata_options()
            .unwrap()
            .http_tokens()
            .unwrap()
            .as_str(),
        "required"
    );
    let nic = &data.network_interfaces()[0];
    assert_eq!(nic.associate_public_ip_address(), Some(false));
    assert_eq!(nic.groups(), std::slice::from_ref(&out.security_group_id));
    assert_eq!(
        data.block_device_mappings()[0].ebs().unwrap().encrypted(),
        Some(true)
    );
    let user_data = decode_base64(data.user_data().unwrap());
    assert!(
        user_data.contains(&format!("ECS_CLUSTER={env}\n")),
        "{user_data}"
    );

    // The group: on version 1, across both subnets, tags propagated.
    let group = aws
        .autoscaling()
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&out.asg_name)
        .send()
        .await
        .unwrap()
        .auto_scaling_groups()[0]
        .clone();
    assert_eq!(group.launch_template().unwrap().version(), Some("1"));
    assert_eq!(
        (group.min_size(), group.max_size(), group.desired_capacity()),
        (Some(1), Some(2), Some(1))
    );
    let team = group
        .tags()
        .iter()
        .find(|t| t.key() == Some("Team"))
        .unwrap();
    assert_eq!(team.propagate_at_launch(), Some(true));

    // Nothing to do the second time.
    aws.calls().reset();
    assert!(instances.plan(&aws).await.unwrap().is_empty());
    assert_eq!(instances.apply(&aws).await.unwrap(), out.outputs);
    let calls = aws.calls().report();
    assert_eq!(calls.mutating, 0, "{calls:#}");

    // A new instance type: a new template version, the group moved to it.
    let bigger = builder(&env, &vpc, &subnets)
        .instance_type("t3.medium")
        .asg_max(3)
        .build()
        .unwrap();
    let plan = bigger.plan(&aws).await.unwrap();
    let template = plan
        .find("aws_launch_template", &format!("{env}-ecs-instances"))
        .unwrap();
    assert_eq!(template.action, Action::Update, "{plan}");
    assert!(template
        .diffs
        .iter()
        .any(|d| d.field == "instance_type" && d.after.as_deref() == Some("t3.medium")));
    let group_change = plan.find("aws_autoscaling_group", &out.asg_name).unwrap();
    assert_eq!(group_change.action, Action::Update, "{plan}");
    assert_eq!(plan.summary(), (0, 2, 0), "{plan}");
    aws.calls().reset();
    let out2 = bigger.apply(&aws).await.unwrap();
    assert_eq!(out2.launch_template_version, "2");
    assert_eq!(out2.launch_template_id, out.launch_template_id);
    let mutations = aws.calls().report();
    assert_eq!(
        mutations.mutations(),
        [
            ("CreateLaunchTemplateVersion", 1),
            ("UpdateAutoScalingGroup", 1)
        ]
        .into(),
        "{mutations:#}"
    );
    let group = aws
        .autoscaling()
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&out.asg_name)
        .send()
        .await
        .unwrap()
        .auto_scaling_groups()[0]
        .clone();
    assert_eq!(group.launch_template().unwrap().version(), Some("2"));
    assert_eq!(group.max_size(), Some(3));
    aws.calls().reset();
    bigger.apply(&aws).await.unwrap();
    assert_eq!(aws.calls().report().mutating, 0);

    // The ingress rule removed out of band: plan shows it, apply puts it back.
    aws.ec2()
        .revoke_security_group_ingress()
        .group_id(&out.security_group_id)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(0)
                .to_port(65535)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("10.42.0.0/16")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let plan = bigger.plan(&aws).await.unwrap();
    assert_eq!(plan.summary(), (0, 1, 0), "{plan}");
    bigger.apply(&aws).await.unwrap();
    assert!(bigger.plan(&aws).await.unwrap().is_empty());

    // Destroy leaves nothing of ours, and a second destroy has nothing to do.
    let deleted = bigger.destroy(&aws).await.unwrap();
    assert_eq!(deleted.summary(), (0, 0, 6), "{deleted}");
    assert_eq!(left(&aws, &env).await, Vec::<&str>::new());
    assert!(bigger.destroy(&aws).await.unwrap().is_empty());
    drop_network(&aws, &vpc, &subnets).await;
}

async fn drop_network(aws: &Aws, vpc: &str, subnets: &[String]) {
    for subnet in subnets {
        aws.ec2()
            .delete_subnet()
            .subnet_id(subnet)
            .send()
            .await
            .unwrap();
    }
    aws.ec2().delete_vpc().vpc_id(vpc).send().await.unwrap();
}

fn decode_base64(b64: &str) -> String {
    // A tiny base64 decoder, so the test needs no extra dependency.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in b64.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn instances_refuse_invalid_sizes_before_any_call() {
    let err = builder("inst-bad", "vpc-1234", &["subnet-1".to_owned()])
        .asg_min(2)
        .asg_desired(1)
        .asg_max(3)
        .instance_type("large")
        .ami_id("ami-123")
        .build()
        .unwrap_err();
    let fields: Vec<&str> = err.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["instance_type", "asg_desired", "ami_id"]);
    let err = builder("inst-bad", "vpc-1234", &[]).build().unwrap_err();
    assert!(err.has("subnets"), "{err}");
}

#[tokio::test]
async fn instances_never_adopt_or_delete_a_look_alike_role() {
    let aws = aws().await;
    let env = environment("inst-look");
    let role = format!("{env}-ecs-instance-role");
    aws.iam()
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let instances = builder(&env, "vpc-12345678", &["subnet-1".to_owned()])
        .build()
        .unwrap();
    let err = instances.apply(&aws).await.unwrap_err();
    assert!(matches!(err, converge::Error::NotOwned { .. }), "{err}");
    assert!(instances.destroy(&aws).await.unwrap().is_empty());
    assert!(aws.iam().get_role().role_name(&role).send().await.is_ok());
    aws.iam()
        .delete_role()
        .role_name(&role)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn instances_make_the_legacy_service_role_only_when_asked() {
    let aws = aws().await;
    let env = environment("inst-svc");
    let (vpc, subnets) = network(&aws).await;
    let instances = builder(&env, &vpc, &subnets)
        .create_ecs_service_role(true)
        .asg_min(0)
        .asg_desired(0)
        .build()
        .unwrap();
    let out = instances.apply(&aws).await.unwrap();
    let arn = out.service_role_arn.clone().unwrap();
    assert!(
        arn.ends_with(&format!("role/{env}-ecs-service-role")),
        "{arn}"
    );
    aws.calls().reset();
    assert_eq!(instances.apply(&aws).await.unwrap(), out.outputs);
    assert_eq!(aws.calls().report().mutating, 0);

    // Destroy finds the role even when the inputs no longer ask for it.
    let without = builder(&env, &vpc, &subnets)
        .asg_min(0)
        .asg_desired(0)
        .build()
        .unwrap();
    let doomed = without.plan_destroy(&aws).await.unwrap();
    assert_eq!(doomed.summary(), (0, 0, 7), "{doomed}");
    let deleted = without.destroy(&aws).await.unwrap();
    assert_eq!(deleted.summary(), (0, 0, 7), "{deleted}");
    assert!(aws
        .iam()
        .get_role()
        .role_name(format!("{env}-ecs-service-role"))
        .send()
        .await
        .is_err());
    assert_eq!(left(&aws, &env).await, Vec::<&str>::new());
    for subnet in &subnets {
        aws.ec2()
            .delete_subnet()
            .subnet_id(subnet)
            .send()
            .await
            .unwrap();
    }
    aws.ec2().delete_vpc().vpc_id(&vpc).send().await.unwrap();
}

/// The cluster's capacity providers and the providers of its default strategy.
async fn cluster_providers(aws: &Aws, cluster: &str) -> (Vec<String>, Vec<String>) {
    let out = aws
        .ecs()
        .describe_clusters()
        .clusters(cluster)
        .send()
        .await
        .unwrap();
    let c = &out.clusters()[0];
    (
        c.capacity_providers().to_vec(),
        c.default_capacity_provider_strategy()
            .iter()
            .map(|s| s.capacity_provider().to_owned())
            .collect(),
    )
}

#[tokio::test]
async fn instances_capacity_provider_joins_the_cluster_beside_fargate_and_leaves_on_destroy() {
    let aws = aws().await;
    let env = environment("cap");
    let (vpc, subnets) = network(&aws).await;
    aws.ecs()
        .create_cluster()
        .cluster_name(&env)
        .capacity_providers("FARGATE")
        .default_capacity_provider_strategy(
            aws_sdk_ecs::types::CapacityProviderStrategyItem::builder()
                .capacity_provider("FARGATE")
                .weight(1)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let name = format!("{env}-ecs-instances");
    let with = |target_capacity| {
        builder(&env, &vpc, &subnets)
            .capacity_provider(ManagedScaling {
                target_capacity,
                ..ManagedScaling::default()
            })
            .build()
            .unwrap()
    };

    let out = with(90).apply(&aws).await.unwrap();
    assert_eq!(out.capacity_provider_name.as_deref(), Some(name.as_str()));
    let described = aws
        .ecs()
        .describe_capacity_providers()
        .capacity_providers(&name)
        .send()
        .await
        .unwrap();
    let asg_provider = described.capacity_providers()[0]
        .auto_scaling_group_provider()
        .unwrap();
    assert_eq!(asg_provider.auto_scaling_group_arn(), out.asg_arn);
    let scaling = asg_provider.managed_scaling().unwrap();
    assert_eq!(scaling.status().map(|s| s.as_str()), Some("ENABLED"));
    assert_eq!(scaling.target_capacity(), Some(90));
    assert_eq!(
        cluster_providers(&aws, &env).await,
        (
            vec!["FARGATE".to_owned(), name.clone()],
            vec!["FARGATE".to_owned()]
        )
    );

    aws.calls().reset();
    assert!(with(90).plan(&aws).await.unwrap().is_empty());
    with(90).apply(&aws).await.unwrap();
    assert_eq!(aws.calls().report().mutating, 0);

    // A new target capacity is an update in place.
    let plan = with(75).plan(&aws).await.unwrap();
    let change = plan.find("aws_ecs_capacity_provider", &name).unwrap();
    assert_eq!(change.action, Action::Update, "{plan}");
    aws.calls().reset();
    with(75).apply(&aws).await.unwrap();
    assert_eq!(
        aws.calls().report().mutations(),
        [("UpdateCapacityProvider", 1)].into()
    );

    // Turned off: taken out of the cluster (its own resource, the provider's place in the
    // list) and deleted, FARGATE kept.
    let without = builder(&env, &vpc, &subnets).build().unwrap();
    let plan = without.plan(&aws).await.unwrap();
    assert_eq!(plan.summary(), (0, 0, 2), "{plan}");
    assert_eq!(
        plan.find("aws_ecs_cluster_capacity_providers", &name)
            .map(|c| (c.action, c.id.clone())),
        Some((Action::Delete, Some(env.clone()))),
        "{plan}"
    );
    let out = without.apply(&aws).await.unwrap();
    assert_eq!(out.capacity_provider_name, None);
    assert_eq!(
        cluster_providers(&aws, &env).await,
        (vec!["FARGATE".to_owned()], vec!["FARGATE".to_owned()])
    );

    // Back on, then destroy: the provider goes first and the cluster keeps FARGATE.
    with(100).apply(&aws).await.unwrap();
    let deleted = with(100).destroy(&aws).await.unwrap();
    assert_eq!(deleted.summary(), (0, 0, 8), "{deleted}");
    assert_eq!(
        cluster_providers(&aws, &env).await,
        (vec!["FARGATE".to_owned()], vec!["FARGATE".to_owned()])
    );
    let described = aws
        .ecs()
        .describe_capacity_providers()
        .capacity_providers(&name)
        .send()
        .await
        .unwrap();
    assert!(described.capacity_providers().is_empty());
    assert_eq!(left(&aws, &env).await, Vec::<&str>::new());

    aws.ecs()
        .delete_cluster()
        .cluster(&env)
        .send()
        .await
        .unwrap();
    drop_network(&aws, &vpc, &subnets).await;
}

/// One graph: the network, the cluster and the instances declared into one stack, the
/// instances reading the network and the cluster by reference. Nothing is a placeholder, a
/// second apply makes no mutating call, and destroy leaves nothing of ours.
#[tokio::test]
async fn instances_in_one_graph_with_the_network_and_the_cluster() {
    let _ = aws().await;
    // Under AWS's propagation, modelled: the new instance profile and the new capacity
    // provider each refuse their first use, and the cluster its delete right after the
    // provider left it.
    let harness = ecs_modules::harness::Harness::builder()
        .propagation(std::time::Duration::from_secs(2))
        .account_has_used_ecs()
        .build();
    let base =
        ecs_modules::target::emulator_config(&ecs_modules::target::emulator_url(), None).await;
    let aws = Aws::from_sdk_config(&harness.wrap(&base));
    let env = environment("inst-graph");
    let network = ecs_modules::vpc::Vpc::builder()
        .environment(&env)
        .cidr_block("10.43.0.0/16")
        .availability_zones(["us-east-1a", "us-east-1b"])
        .nat_gateways(ecs_modules::vpc::NatGateways::None)
        .build()
        .unwrap();
    let cluster = converge::Cluster::builder()
        .environment(&env)
        .build()
        .unwrap();
    let instances = |net: &ecs_modules::vpc::VpcRefs, cluster: &converge::ClusterRefs| {
        Instances::builder()
            .environment(&env)
            .cluster(cluster)
            .network(net)
            .capacity_provider(ManagedScaling::default())
            .build()
            .unwrap()
    };
    let declare = || async {
        let mut stack = converge::Stack::new();
        let net = network.declare(&aws, &mut stack).await.unwrap();
        let cluster = cluster.declare(&aws, &mut stack).await.unwrap();
        let refs = instances(&net, &cluster)
            .declare(&aws, &mut stack)
            .await
            .unwrap();
        (stack, refs)
    };

    let (stack, refs) = declare().await;
    // What needs the network or the cluster waits for them.
    let deps = stack.dependencies("aws_launch_template", &format!("{env}-ecs-instances"));
    assert!(
        deps.contains(&("aws_ecs_cluster", env.as_str())),
        "{deps:?}"
    );
    let deps = stack.dependencies("aws_autoscaling_group", &format!("{env}-ecs-asg"));
    assert!(
        deps.iter().any(|(kind, _)| *kind == "aws_subnet"),
        "{deps:?}"
    );
    let plan = stack.plan(&aws).await.unwrap().into_plan();
    assert!(!plan.to_string().contains("-00000000"), "{plan}");
    let joined = plan
        .find(
            "aws_ecs_cluster_capacity_providers",
            &format!("{env}-ecs-instances"),
        )
        .unwrap();
    assert_eq!(
        joined.diffs[0].after.as_deref(),
        Some(converge::AFTER_APPLY)
    );

    let applied = stack.apply(&aws).await.unwrap();
    let out = applied.value(&refs.outputs).into_known().unwrap();
    assert_eq!(
        out.capacity_provider_name.as_deref(),
        Some(format!("{env}-ecs-instances").as_str())
    );
    assert_eq!(
        cluster_providers(&aws, &env).await.0,
        [format!("{env}-ecs-instances")]
    );

    let (stack, _) = declare().await;
    assert!(stack.plan(&aws).await.unwrap().plan().is_empty());
    aws.calls().reset();
    stack.apply(&aws).await.unwrap();
    let calls = aws.calls().report();
    assert_eq!(calls.mutating, 0, "{calls:#}");

    stack.destroy(&aws).await.unwrap();
    assert_eq!(left(&aws, &env).await, Vec::<&str>::new());
    let (stack, _) = declare().await;
    assert!(stack.plan_destroy(&aws).await.unwrap().is_empty());
    let refusals = harness.refusals();
    for met in [
        "instance profile propagating",
        "capacity provider not yet active",
        "capacity providers leaving",
    ] {
        assert!(refusals.get(met) > Some(&0), "{met}: {refusals:?}");
    }
}

/// Issue 26: user data can carry credentials, so a plan (text and JSON) shows its digest and
/// size, never its text, before the template exists and after it changed.
#[tokio::test]
async fn plans_show_a_digest_of_user_data_never_its_text() {
    let aws = aws().await;
    let env = environment("udata");
    let (vpc, subnets) = network(&aws).await;
    let secret = |token: &str| {
        format!("#!/bin/bash\necho ECS_ENGINE_AUTH_DATA={token} >> /etc/ecs/ecs.config\n")
    };
    let with = |token: &str| {
        builder(&env, &vpc, &subnets)
            .user_data(secret(token))
            .build()
            .unwrap()
    };
    let shown = |plan: &converge::Plan| format!("{plan}\n{}", serde_json::to_string(plan).unwrap());
    let first = with("s3cr3t-one");
    let plan = first.plan(&aws).await.unwrap();
    let text = shown(&plan);
    let digest = ecs_modules::ecs_instances::user_data::digest(secret("s3cr3t-one").as_bytes());
    assert!(
        !text.contains("s3cr3t") && !text.contains("ECS_ENGINE_AUTH_DATA"),
        "{text}"
    );
    assert!(text.contains(&digest), "{text}");
    first.apply(&aws).await.unwrap();
    assert!(first.plan(&aws).await.unwrap().is_empty());
    let changed = with("s3cr3t-two").plan(&aws).await.unwrap();
    let text = shown(&changed);
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(text.contains(&digest), "the old digest as before: {text}");
    first.destroy(&aws).await.unwrap();
}

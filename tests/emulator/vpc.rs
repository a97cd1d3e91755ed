//! The VPC module against the emulator.

use aws_sdk_ec2::types::{Filter, ResourceType, RouteTable, Tag, TagSpecification};
use converge::{Action, Aws};
use ecs_modules::vpc::{NatGateways, Vpc, VpcOutputs};

use crate::util::{self, aws, environment};

fn network(env: &str) -> Vpc {
    Vpc::builder()
        .environment(env)
        .wait(util::fast_wait())
        .build()
        .unwrap()
}

async fn subnet_layout(aws: &Aws, ids: &[String]) -> Vec<(String, String)> {
    let out = aws
        .ec2()
        .describe_subnets()
        .set_subnet_ids(Some(ids.to_vec()))
        .send()
        .await
        .unwrap();
    // In the order of `ids`, which is the outputs' AZ order.
    ids.iter()
        .map(|id| {
            let s = out
                .subnets()
                .iter()
                .find(|s| s.subnet_id() == Some(id))
                .unwrap();
            (
                s.cidr_block().unwrap().to_owned(),
                s.availability_zone().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The route table a subnet is associated with.
async fn route_table_of(aws: &Aws, subnet_id: &str) -> RouteTable {
    let out = aws
        .ec2()
        .describe_route_tables()
        .filters(
            Filter::builder()
                .name("association.subnet-id")
                .values(subnet_id)
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.route_tables()[0].clone()
}

#[tokio::test]
async fn apply_returns_the_modules_network() {
    let aws = aws().await;
    let env = environment("apply");
    let net = network(&env);
    let out = net.apply(&aws).await.unwrap();
    println!("apply: {:#}", aws.calls().report());

    assert_eq!(out.vpc_cidr, "10.0.0.0/16");
    assert_eq!(
        out.availability_zones,
        ["us-east-1a", "us-east-1b", "us-east-1c"]
    );
    assert_eq!(out.availability_zone_ids.len(), 3);
    assert!(
        out.availability_zone_ids
            .iter()
            .all(|id| id.starts_with("use1-az")),
        "{:?}",
        out.availability_zone_ids
    );
    let pairs = |cidrs: [&str; 3]| -> Vec<(String, String)> {
        cidrs
            .iter()
            .zip(&out.availability_zones)
            .map(|(c, az)| (c.to_string(), az.clone()))
            .collect()
    };
    assert_eq!(
        subnet_layout(&aws, &out.public_subnets).await,
        pairs(["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"])
    );
    assert_eq!(
        subnet_layout(&aws, &out.private_subnets).await,
        pairs(["10.0.3.0/24", "10.0.4.0/24", "10.0.5.0/24"])
    );
    assert_eq!(out.nat_gateway_ids.len(), 1);
    assert_eq!(out.private_dns_zone_id, None);

    // The NAT sits in the first public subnet; the private route goes through it.
    let nat = aws
        .ec2()
        .describe_nat_gateways()
        .nat_gateway_ids(&out.nat_gateway_ids[0])
        .send()
        .await
        .unwrap();
    assert_eq!(
        nat.nat_gateways()[0].subnet_id(),
        Some(out.public_subnets[0].as_str())
    );
    let private_rt = route_table_of(&aws, &out.private_subnets[1]).await;
    let routes = private_rt.routes();
    assert!(routes
        .iter()
        .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0")
            && r.nat_gateway_id() == Some(out.nat_gateway_ids[0].as_str())));

    // DNS support and hostnames, as the module.
    let hostnames = aws
        .ec2()
        .describe_vpc_attribute()
        .vpc_id(&out.vpc_id)
        .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
        .send()
        .await
        .unwrap();
    assert_eq!(
        hostnames.enable_dns_hostnames().and_then(|v| v.value()),
        Some(true)
    );

    net.destroy(&aws).await.unwrap();
}

#[tokio::test]
async fn second_apply_makes_no_mutating_call() {
    let aws = aws().await;
    let env = environment("noop");
    let net = network(&env);
    let first = net.apply(&aws).await.unwrap();
    let created = aws.calls().report();

    aws.calls().reset();
    let second = net.apply(&aws).await.unwrap();
    let again = aws.calls().report();
    println!("first apply: {created:#}\nsecond apply: {again:#}");
    assert_eq!(again.mutating, 0, "{again:#}");
    assert_eq!(first, second.outputs);
    assert!(net.plan(&aws).await.unwrap().is_empty());

    aws.calls().reset();
    net.destroy(&aws).await.unwrap();
    println!("destroy: {:#}", aws.calls().report());
}

#[tokio::test]
async fn plan_shows_drift_and_apply_repairs_it() {
    let aws = aws().await;
    let env = environment("drift");
    let net = network(&env);
    let out = net.apply(&aws).await.unwrap();

    // Out of band: the private default route and a public subnet go.
    let private_rt = route_table_of(&aws, &out.private_subnets[0]).await;
    aws.ec2()
        .delete_route()
        .route_table_id(private_rt.route_table_id().unwrap())
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    let public_rt = route_table_of(&aws, &out.public_subnets[2]).await;
    let association = public_rt
        .associations()
        .iter()
        .find(|a| a.subnet_id() == Some(out.public_subnets[2].as_str()))
        .unwrap();
    aws.ec2()
        .disassociate_route_table()
        .association_id(association.route_table_association_id().unwrap())
        .send()
        .await
        .unwrap();
    aws.ec2()
        .delete_subnet()
        .subnet_id(&out.public_subnets[2])
        .send()
        .await
        .unwrap();

    let plan = net.plan(&aws).await.unwrap();
    println!("{plan}");
    let route = plan
        .find("aws_route_table", &format!("{env}-private-routetable"))
        .unwrap();
    assert_eq!(route.action, Action::Update);
    assert_eq!(route.diffs[0].field, "route 0.0.0.0/0");
    assert_eq!(route.diffs[0].before, None);
    assert_eq!(
        route.diffs[0].after.as_deref(),
        Some(out.nat_gateway_ids[0].as_str())
    );
    let subnet = plan
        .find("aws_subnet", &format!("{env}-us-east-1c-public"))
        .unwrap();
    assert_eq!(subnet.action, Action::Create);
    assert_eq!(
        plan.summary(),
        (1, 2, 0),
        "the subnet, and the two route tables"
    );

    aws.calls().reset();
    let repaired = net.apply(&aws).await.unwrap();
    println!("repair: {:#}", aws.calls().report());
    let mutations = aws
        .calls()
        .report()
        .mutations()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect::<Vec<_>>();
    assert_eq!(
        mutations,
        [
            ("AssociateRouteTable".to_owned(), 1),
            ("CreateRoute".to_owned(), 1),
            ("CreateSubnet".to_owned(), 1)
        ]
    );
    assert_ne!(repaired.public_subnets[2], out.public_subnets[2]);
    assert!(net.plan(&aws).await.unwrap().is_empty());

    net.destroy(&aws).await.unwrap();
}

#[tokio::test]
async fn destroy_leaves_nothing_tagged_and_tolerates_half_built_stacks() {
    let aws = aws().await;
    let env = environment("destroy");
    let net = Vpc::builder()
        .environment(&env)
        .nat_gateways(NatGateways::PerAz)
        .create_private_hosted_zone(true)
        .wait(util::fast_wait())
        .build()
        .unwrap();
    let out = net.apply(&aws).await.unwrap();
    assert_eq!(out.nat_gateway_ids.len(), 3);
    assert_eq!(
        out.private_domain_name.as_deref(),
        Some(format!("{env}.local").as_str())
    );
    let zone_id = out.private_dns_zone_id.clone().unwrap();

    let deleted = net.destroy(&aws).await.unwrap();
    assert_eq!(
        deleted.summary(),
        // With the S3 endpoint and the default security group, which goes with the VPC.
        (0, 0, 1 + 6 + 1 + 4 + 3 + 3 + 1 + 1 + 1),
        "{deleted}"
    );
    assert!(net.plan_destroy(&aws).await.unwrap().is_empty());
    let left = util::tagged(&aws, &env).await;
    assert!(left.iter().all(|(_, n)| *n == 0), "left behind: {left:?}");
    let zone = aws.route53().get_hosted_zone().id(&zone_id).send().await;
    assert!(zone.is_err(), "hosted zone {zone_id} survived");

    // Destroying an absent stack is done at once.
    assert!(net.destroy(&aws).await.unwrap().is_empty());

    // A half-built stack: a VPC and one subnet, as a crash after two calls would leave them.
    let tags = converge::Tags::new("vpc", &env);
    let vpc_id = aws
        .ec2()
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .tag_specifications(tags.ec2_spec(ResourceType::Vpc, &format!("{env}-vpc")))
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    aws.ec2()
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.0.0.0/24")
        .tag_specifications(
            tags.ec2_spec(ResourceType::Subnet, &format!("{env}-us-east-1a-public")),
        )
        .send()
        .await
        .unwrap();
    let deleted = net.destroy(&aws).await.unwrap();
    assert_eq!(deleted.summary(), (0, 0, 2));
    assert!(util::nothing_tagged(&aws, &env).await);
}

#[tokio::test]
async fn an_untagged_look_alike_is_refused_and_survives_destroy() {
    let aws = aws().await;
    let env = environment("alike");
    // Same name and Environment tag as ours, but no ownership tag.
    let look_alike = TagSpecification::builder()
        .resource_type(ResourceType::Vpc)
        .tags(
            Tag::builder()
                .key("Name")
                .value(format!("{env}-vpc"))
                .build(),
        )
        .tags(Tag::builder().key("Environment").value(&env).build())
        .build();
    let alike_id = aws
        .ec2()
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .tag_specifications(look_alike)
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    aws.calls().reset();

    let net = network(&env);
    for err in [
        net.plan(&aws).await.unwrap_err(),
        net.apply(&aws).await.unwrap_err(),
    ] {
        assert!(
            matches!(&err, converge::Error::NotOwned { id, .. } if id.contains(&alike_id)),
            "{err}"
        );
    }
    // No outputs of ours; nothing of ours to delete, and the look-alike is left alone.
    assert_eq!(net.outputs(&aws).await.unwrap(), None);
    assert!(net.destroy(&aws).await.unwrap().is_empty());
    assert_eq!(
        aws.calls().report().mutating,
        0,
        "{:#}",
        aws.calls().report()
    );

    let still = aws
        .ec2()
        .describe_vpcs()
        .vpc_ids(&alike_id)
        .send()
        .await
        .unwrap();
    assert_eq!(still.vpcs().len(), 1, "the look-alike was deleted");
    aws.ec2()
        .delete_vpc()
        .vpc_id(&alike_id)
        .send()
        .await
        .unwrap();
}

/// Plans, applies and plans again: the plan is empty exactly when the apply makes no mutating
/// call, and empty after it. Returns the first plan.
async fn plan_agrees_with_apply(aws: &Aws, net: &Vpc, what: &str) -> converge::Plan {
    let plan = net.plan(aws).await.unwrap();
    aws.calls().reset();
    net.apply(aws).await.unwrap();
    let report = aws.calls().report();
    assert_eq!(
        plan.is_empty(),
        report.mutating == 0,
        "{what}: the plan\n{plan}\ndisagrees with the apply: {report:#}"
    );
    let after = net.plan(aws).await.unwrap();
    assert!(after.is_empty(), "{what}: plan after apply:\n{after}");
    plan
}

#[tokio::test]
async fn plan_is_empty_exactly_when_apply_changes_nothing() {
    let aws = aws().await;
    let env = environment("agree");
    let builder = || Vpc::builder().environment(&env).wait(util::fast_wait());
    let net = builder().build().unwrap();

    let fresh = plan_agrees_with_apply(&aws, &net, "from nothing").await;
    assert_eq!(fresh.summary(), (14, 0, 0), "{fresh}");
    let noop = plan_agrees_with_apply(&aws, &net, "no change").await;
    assert!(noop.is_empty());

    // Drift: a private subnet's association removed out of band.
    let out = net.outputs(&aws).await.unwrap().unwrap();
    let table = route_table_of(&aws, &out.private_subnets[1]).await;
    let association = table
        .associations()
        .iter()
        .find(|a| a.subnet_id() == Some(out.private_subnets[1].as_str()))
        .unwrap();
    aws.ec2()
        .disassociate_route_table()
        .association_id(association.route_table_association_id().unwrap())
        .send()
        .await
        .unwrap();
    let drift = plan_agrees_with_apply(&aws, &net, "association removed").await;
    assert_eq!(drift.summary(), (0, 1, 0), "{drift}");
    let private = format!("{env}-private-routetable");
    assert_eq!(
        drift.find("aws_route_table", &private).unwrap().diffs[0].field,
        format!("association {env}-us-east-1b-private")
    );

    // Input changes: public IPs on launch (in place), one NAT gateway per zone (the single
    // NAT gateway, its address and its table go), a private hosted zone.
    let public_ips = builder()
        .public_subnet_map_public_ip_on_launch(true)
        .build()
        .unwrap();
    let change = plan_agrees_with_apply(&aws, &public_ips, "public IPs").await;
    assert_eq!(change.summary(), (0, 3, 0), "{change}");

    let per_az = builder()
        .public_subnet_map_public_ip_on_launch(true)
        .nat_gateways(NatGateways::PerAz)
        .build()
        .unwrap();
    let change = plan_agrees_with_apply(&aws, &per_az, "a NAT gateway per zone").await;
    // 3 addresses, 3 NAT gateways, 3 tables; the old NAT gateway, address and table; the S3
    // endpoint moves to the new tables.
    assert_eq!(change.summary(), (9, 1, 3), "{change}");
    let out = per_az.apply(&aws).await.unwrap();
    assert_eq!(out.nat_gateway_ids.len(), 3);
    for (i, subnet) in out.private_subnets.iter().enumerate() {
        let table = route_table_of(&aws, subnet).await;
        assert!(
            table
                .routes()
                .iter()
                .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0")
                    && r.nat_gateway_id() == Some(out.nat_gateway_ids[i].as_str())),
            "{subnet} does not go out through its zone's NAT gateway"
        );
    }

    let zone = builder()
        .public_subnet_map_public_ip_on_launch(true)
        .nat_gateways(NatGateways::PerAz)
        .create_private_hosted_zone(true)
        .build()
        .unwrap();
    let change = plan_agrees_with_apply(&aws, &zone, "a private hosted zone").await;
    assert_eq!(change.summary(), (1, 0, 0), "{change}");
    let out = zone.outputs(&aws).await.unwrap().unwrap();
    assert_eq!(out.private_domain_name, Some(format!("{env}.local")));

    // Kinds turned off entirely: nothing of them is declared any more, and what is left of
    // them still goes (the zone, 3 NAT gateways, their 3 addresses, the 3 zone tables), while
    // one shared private table takes the private subnets, and the S3 endpoint moves to it.
    let off = builder()
        .public_subnet_map_public_ip_on_launch(true)
        .nat_gateways(NatGateways::None)
        .build()
        .unwrap();
    let change = plan_agrees_with_apply(&aws, &off, "zone and NAT gateways off").await;
    assert_eq!(change.summary(), (1, 1, 10), "{change}");
    let out = off.outputs(&aws).await.unwrap().unwrap();
    assert!(out.nat_gateway_ids.is_empty());
    assert_eq!(out.private_dns_zone_id, None);

    let gone = off.destroy(&aws).await.unwrap();
    let left = util::tagged(&aws, &env).await;
    assert!(left.iter().all(|(_, n)| *n == 0), "{left:?} after\n{gone}");
}

#[tokio::test]
async fn without_nat_gateways_the_private_subnets_have_no_route_out() {
    let aws = aws().await;
    let env = environment("nonat");
    let net = Vpc::builder()
        .environment(&env)
        .nat_gateways(NatGateways::None)
        .wait(util::fast_wait())
        .build()
        .unwrap();
    let out = net.apply(&aws).await.unwrap();
    assert!(out.nat_gateway_ids.is_empty());
    assert_eq!(out.private_subnets.len(), 3);
    let table = route_table_of(&aws, &out.private_subnets[0]).await;
    assert!(
        !table
            .routes()
            .iter()
            .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0")),
        "a private route out without a NAT gateway"
    );
    aws.calls().reset();
    net.apply(&aws).await.unwrap();
    assert_eq!(aws.calls().report().mutating, 0);

    // Only public subnets: no private table either.
    let public_only = Vpc::builder()
        .environment(&env)
        .create_private_subnets(false)
        .wait(util::fast_wait())
        .build()
        .unwrap();
    let plan = public_only.plan(&aws).await.unwrap();
    // The private subnets, their table and the S3 endpoint that served it go.
    assert_eq!(plan.summary(), (0, 0, 5), "{plan}");
    let out = public_only.apply(&aws).await.unwrap();
    assert!(out.private_subnets.is_empty());
    assert!(public_only.plan(&aws).await.unwrap().is_empty());

    public_only.destroy(&aws).await.unwrap();
    assert!(util::nothing_tagged(&aws, &env).await);
}

#[tokio::test]
async fn two_environments_side_by_side() {
    let aws = aws().await;
    let (a, b) = (
        network(&environment("side-a")),
        network(&environment("side-b")),
    );
    let (out_a, out_b) = tokio::try_join!(a.apply(&aws), b.apply(&aws)).unwrap();
    let (out_a, out_b): (VpcOutputs, VpcOutputs) = (out_a.outputs, out_b.outputs);
    assert_ne!(out_a.vpc_id, out_b.vpc_id);

    a.destroy(&aws).await.unwrap();
    assert!(util::nothing_tagged(&aws, a.environment()).await);
    let plan_b = b.plan(&aws).await.unwrap();
    assert!(
        plan_b.is_empty(),
        "destroying one environment touched the other:\n{plan_b}"
    );
    assert_eq!(b.apply(&aws).await.unwrap(), out_b);
    b.destroy(&aws).await.unwrap();
}

#[tokio::test]
async fn a_zone_the_region_lacks_is_refused_before_any_change() {
    let aws = aws().await;
    let net = Vpc::builder()
        .environment(environment("zones"))
        .availability_zones(["us-east-1a", "us-west-2a"])
        .build()
        .unwrap();
    let err = net.apply(&aws).await.unwrap_err();
    let converge::Error::Invalid(invalid) = &err else {
        panic!("expected invalid input, got {err}");
    };
    assert!(invalid.has("availability_zones[1]"), "{err}");
    assert!(
        err.to_string()
            .contains("us-west-2a is not an available zone of region us-east-1"),
        "{err}"
    );
    assert_eq!(aws.calls().report().mutating, 0);

    // A zone id of another region, the same.
    let err = Vpc::builder()
        .environment(environment("zones"))
        .availability_zones(["usw2-az1"])
        .build()
        .unwrap()
        .plan(&aws)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("usw2-az1 is not an available zone"),
        "{err}"
    );
}

/// The VPC's default security group as EC2 has it.
async fn default_group(aws: &Aws, vpc_id: &str) -> aws_sdk_ec2::types::SecurityGroup {
    let out = aws
        .ec2()
        .describe_security_groups()
        .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
        .filters(
            Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.security_groups()[0].clone()
}

/// Apply closes the default security group and tags it ours; a rule added out of band shows
/// in the plan and goes at apply; destroy takes it along with the VPC.
#[tokio::test]
async fn the_default_security_group_is_closed_and_kept_closed() {
    use aws_sdk_ec2::types::{IpPermission, IpRange};

    let aws = aws().await;
    let env = environment("defsg");
    let net = network(&env);
    let out = net.apply(&aws).await.unwrap();
    let group = default_group(&aws, &out.vpc_id).await;
    assert!(group.ip_permissions().is_empty(), "{group:?}");
    assert!(group.ip_permissions_egress().is_empty(), "{group:?}");
    assert!(group
        .tags()
        .iter()
        .any(|t| t.key() == Some("ecs-modules:owner") && t.value() == Some(&format!("vpc/{env}"))));

    aws.ec2()
        .authorize_security_group_ingress()
        .group_id(group.group_id().unwrap())
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let plan = plan_agrees_with_apply(&aws, &net, "a rule added to the default group").await;
    let change = plan
        .find("aws_default_security_group", &format!("{env}-default"))
        .unwrap();
    assert_eq!(change.action, Action::Update);
    assert_eq!(change.diffs[0].field, "ingress");
    assert!(default_group(&aws, &out.vpc_id)
        .await
        .ip_permissions()
        .is_empty());

    // Left alone when not managed.
    let unmanaged = Vpc::builder()
        .environment(&env)
        .wait(util::fast_wait())
        .manage_default_security_group(false)
        .build()
        .unwrap();
    assert!(unmanaged.plan(&aws).await.unwrap().is_empty());

    net.destroy(&aws).await.unwrap();
    assert!(util::nothing_tagged(&aws, &env).await);
}

/// The S3 gateway endpoint (on by default) on the private route tables; interface endpoints
/// in the private subnets with private DNS behind a group admitting HTTPS from the VPC; a
/// route table taken out of the S3 endpoint out of band is put back; endpoints taken out of
/// the inputs go, their group with them; destroy leaves nothing.
#[tokio::test]
async fn endpoints_serve_the_private_subnets_and_go_when_not_wanted() {
    let aws = aws().await;
    let env = environment("vpce");
    let with = |services: &[&str]| {
        Vpc::builder()
            .environment(&env)
            .nat_gateways(NatGateways::None)
            .interface_endpoints(services.iter().copied())
            .wait(util::fast_wait())
            .build()
            .unwrap()
    };
    let net = with(&["ecr.api", "ecr.dkr", "logs"]);
    let plan = plan_agrees_with_apply(&aws, &net, "endpoints from nothing").await;
    assert!(plan
        .find("aws_vpc_endpoint", &format!("{env}-vpce-ecr-dkr"))
        .is_some());
    let out = net.outputs(&aws).await.unwrap().unwrap();
    let described = aws
        .ec2()
        .describe_vpc_endpoints()
        .filters(util::env_filter(&env))
        .send()
        .await
        .unwrap();
    let alive: Vec<_> = described
        .vpc_endpoints()
        .iter()
        .filter(|e| e.state().map(|s| s.as_str()) != Some("deleted"))
        .collect();
    assert_eq!(alive.len(), 4, "{alive:?}");
    let s3 = alive
        .iter()
        .find(|e| e.service_name() == Some("com.amazonaws.us-east-1.s3"))
        .unwrap();
    let private_tables: Vec<String> = {
        let mut ids = Vec::new();
        for subnet in &out.private_subnets {
            ids.push(
                route_table_of(&aws, subnet)
                    .await
                    .route_table_id()
                    .unwrap()
                    .to_owned(),
            );
        }
        ids.sort();
        ids.dedup();
        ids
    };
    let mut tables = s3.route_table_ids().to_vec();
    tables.sort();
    assert_eq!(tables, private_tables);
    let logs = alive
        .iter()
        .find(|e| e.service_name() == Some("com.amazonaws.us-east-1.logs"))
        .unwrap();
    let mut subnets = logs.subnet_ids().to_vec();
    subnets.sort();
    let mut private = out.private_subnets.clone();
    private.sort();
    assert_eq!(subnets, private);
    assert_eq!(logs.private_dns_enabled(), Some(true));
    let group = logs.groups()[0].group_id().unwrap().to_owned();
    let sg = aws
        .ec2()
        .describe_security_groups()
        .group_ids(&group)
        .send()
        .await
        .unwrap();
    let rule = &sg.security_groups()[0].ip_permissions()[0];
    assert_eq!(rule.from_port(), Some(443));
    assert_eq!(rule.ip_ranges()[0].cidr_ip(), Some(out.vpc_cidr.as_str()));

    // Drift: a private route table taken out of the S3 endpoint; apply puts it back.
    aws.ec2()
        .modify_vpc_endpoint()
        .vpc_endpoint_id(s3.vpc_endpoint_id().unwrap())
        .remove_route_table_ids(&private_tables[0])
        .send()
        .await
        .unwrap();
    let plan = plan_agrees_with_apply(&aws, &net, "a table taken out of the S3 endpoint").await;
    let change = plan
        .find("aws_vpc_endpoint", &format!("{env}-vpce-s3"))
        .unwrap();
    assert_eq!(change.action, Action::Update);

    // Fewer endpoints, then none: those taken out go, and the group with the last of them.
    let fewer = with(&["logs"]);
    let plan = plan_agrees_with_apply(&aws, &fewer, "fewer endpoints").await;
    assert_eq!(plan.summary(), (0, 0, 2), "{plan}");
    let none = Vpc::builder()
        .environment(&env)
        .nat_gateways(NatGateways::None)
        .s3_gateway_endpoint(false)
        .wait(util::fast_wait())
        .build()
        .unwrap();
    let plan = plan_agrees_with_apply(&aws, &none, "no endpoints").await;
    assert_eq!(plan.summary(), (0, 0, 3), "{plan}");
    assert!(aws
        .ec2()
        .describe_security_groups()
        .group_ids(&group)
        .send()
        .await
        .is_err());

    with(&["sts"]).apply(&aws).await.unwrap();
    none.destroy(&aws).await.unwrap();
    assert!(util::nothing_tagged(&aws, &env).await);
}

/// Flow logs: the log group with its retention, the role VPC Flow Logs assumes with a policy
/// for that group only, the flow log on the VPC; other traffic is a new flow log; turned
/// off, the flow log goes; destroy leaves nothing.
#[tokio::test]
async fn flow_logs_deliver_to_their_log_group_as_their_role() {
    use ecs_modules::vpc::{FlowLogTraffic, FlowLogs};

    let aws = aws().await;
    let env = environment("flow");
    let with = |flow: Option<FlowLogs>| {
        let mut b = Vpc::builder()
            .environment(&env)
            .nat_gateways(NatGateways::None)
            .wait(util::fast_wait());
        if let Some(flow) = flow {
            b = b.flow_logs(flow);
        }
        b.build().unwrap()
    };
    let net = with(Some(FlowLogs::default()));
    plan_agrees_with_apply(&aws, &net, "flow logs from nothing").await;
    let out = net.outputs(&aws).await.unwrap().unwrap();
    let group = format!("/aws/vpc-flow-logs/{env}");
    let flows = aws
        .ec2()
        .describe_flow_logs()
        .filter(util::env_filter(&env))
        .send()
        .await
        .unwrap();
    let flow = &flows.flow_logs()[0];
    assert_eq!(flow.resource_id(), Some(out.vpc_id.as_str()));
    assert_eq!(flow.log_group_name(), Some(group.as_str()));
    let role = format!("{env}-vpc-flow-logs");
    assert!(flow
        .deliver_logs_permission_arn()
        .unwrap()
        .ends_with(&format!("role/{role}")));
    let groups = aws
        .logs()
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(30));
    let policy = aws
        .iam()
        .get_role_policy()
        .role_name(&role)
        .policy_name(format!("{role}-deliver"))
        .send()
        .await
        .unwrap();
    assert!(policy.policy_document().contains("vpc-flow-logs"));

    let rejected = with(Some(FlowLogs {
        traffic: FlowLogTraffic::Reject,
        ..FlowLogs::default()
    }));
    let plan = plan_agrees_with_apply(&aws, &rejected, "rejected traffic only").await;
    assert_eq!(
        plan.find("aws_flow_log", &format!("{env}-flow-log"))
            .map(|c| c.action),
        Some(Action::Replace)
    );

    // Off: the flow log, its role (with its policy) and its log group go.
    let off = with(None);
    let plan = plan_agrees_with_apply(&aws, &off, "flow logs off").await;
    assert_eq!(plan.summary(), (0, 0, 3), "{plan}");
    assert_eq!(
        plan.find("aws_flow_log", &format!("{env}-flow-log"))
            .map(|c| c.action),
        Some(Action::Delete)
    );
    assert!(aws.iam().get_role().role_name(&role).send().await.is_err());
    let groups = aws
        .logs()
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .unwrap();
    assert!(groups.log_groups().is_empty());
    rejected.apply(&aws).await.unwrap();
    rejected.destroy(&aws).await.unwrap();
    assert!(aws.iam().get_role().role_name(&role).send().await.is_err());
    assert!(util::nothing_tagged(&aws, &env).await);
}

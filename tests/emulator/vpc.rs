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
    assert_eq!(first, second);
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
        (0, 0, 1 + 6 + 1 + 4 + 3 + 3 + 1),
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
    assert_eq!(fresh.summary(), (12, 0, 0), "{fresh}");
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
    // 3 addresses, 3 NAT gateways, 3 tables; the old NAT gateway, address and table.
    assert_eq!(change.summary(), (9, 0, 3), "{change}");
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
    // one shared private table takes the private subnets.
    let off = builder()
        .public_subnet_map_public_ip_on_launch(true)
        .nat_gateways(NatGateways::None)
        .build()
        .unwrap();
    let change = plan_agrees_with_apply(&aws, &off, "zone and NAT gateways off").await;
    assert_eq!(change.summary(), (1, 0, 10), "{change}");
    let out = off.outputs(&aws).await.unwrap().unwrap();
    assert!(out.nat_gateway_ids.is_empty());
    assert_eq!(out.private_dns_zone_id, None);

    off.destroy(&aws).await.unwrap();
    assert!(util::nothing_tagged(&aws, &env).await);
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
    // The private subnets and their table go.
    assert_eq!(plan.summary(), (0, 0, 4), "{plan}");
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
    let (out_a, out_b): (VpcOutputs, VpcOutputs) =
        tokio::try_join!(a.apply(&aws), b.apply(&aws)).unwrap();
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

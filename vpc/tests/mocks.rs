//! Unit tests of the vpc module against aws-smithy-mocks: no AWS, no emulator.
//!
//! Every rule is `RuleMode::MatchAny` and most match only well-formed requests (tagged, filtered
//! by the ownership tag, naming the right ids), so a request the module gets wrong matches no
//! rule and the mock panics: the test fails on the spot, naming the request.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ec2::error::ErrorMetadata;
use aws_sdk_ec2::operation::allocate_address::AllocateAddressOutput;
use aws_sdk_ec2::operation::associate_route_table::AssociateRouteTableOutput;
use aws_sdk_ec2::operation::attach_internet_gateway::{
    AttachInternetGatewayError, AttachInternetGatewayOutput,
};
use aws_sdk_ec2::operation::create_internet_gateway::CreateInternetGatewayOutput;
use aws_sdk_ec2::operation::create_nat_gateway::CreateNatGatewayOutput;
use aws_sdk_ec2::operation::create_route::CreateRouteOutput;
use aws_sdk_ec2::operation::create_route_table::CreateRouteTableOutput;
use aws_sdk_ec2::operation::create_subnet::{CreateSubnetError, CreateSubnetOutput};
use aws_sdk_ec2::operation::create_vpc::CreateVpcOutput;
use aws_sdk_ec2::operation::delete_internet_gateway::DeleteInternetGatewayOutput;
use aws_sdk_ec2::operation::delete_nat_gateway::DeleteNatGatewayOutput;
use aws_sdk_ec2::operation::delete_route_table::DeleteRouteTableOutput;
use aws_sdk_ec2::operation::delete_subnet::DeleteSubnetOutput;
use aws_sdk_ec2::operation::delete_vpc::DeleteVpcOutput;
use aws_sdk_ec2::operation::describe_addresses::DescribeAddressesOutput;
use aws_sdk_ec2::operation::describe_availability_zones::DescribeAvailabilityZonesOutput;
use aws_sdk_ec2::operation::describe_internet_gateways::DescribeInternetGatewaysOutput;
use aws_sdk_ec2::operation::describe_nat_gateways::DescribeNatGatewaysOutput;
use aws_sdk_ec2::operation::describe_route_tables::DescribeRouteTablesOutput;
use aws_sdk_ec2::operation::describe_subnets::DescribeSubnetsOutput;
use aws_sdk_ec2::operation::describe_vpc_attribute::DescribeVpcAttributeOutput;
use aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsOutput;
use aws_sdk_ec2::operation::detach_internet_gateway::DetachInternetGatewayOutput;
use aws_sdk_ec2::operation::disassociate_route_table::DisassociateRouteTableOutput;
use aws_sdk_ec2::operation::modify_vpc_attribute::ModifyVpcAttributeOutput;
use aws_sdk_ec2::operation::release_address::ReleaseAddressOutput;
use aws_sdk_ec2::types::{
    Address, AttributeBooleanValue, AvailabilityZone, AvailabilityZoneState, Filter,
    InternetGateway, InternetGatewayAttachment, NatGateway, NatGatewayState, ResourceType, Route,
    RouteTable, RouteTableAssociation, Subnet, Tag, TagSpecification, Vpc as Ec2Vpc,
    VpcAttributeName,
};
use aws_sdk_ec2::Client as Ec2;
use aws_sdk_route53::operation::list_hosted_zones_by_name::ListHostedZonesByNameOutput;
use aws_sdk_route53::Client as Route53;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use converge::{Aws, Error, Module, Retry, Wait};

const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];

/// The module's carving of 10.0.0.0/16 for `ZONES`: (zone, tier, CIDR block), public first.
const SUBNETS: [(&str, &str, &str); 6] = [
    ("us-east-1a", "public", "10.0.0.0/24"),
    ("us-east-1b", "public", "10.0.1.0/24"),
    ("us-east-1c", "public", "10.0.2.0/24"),
    ("us-east-1a", "private", "10.0.3.0/24"),
    ("us-east-1b", "private", "10.0.4.0/24"),
    ("us-east-1c", "private", "10.0.5.0/24"),
];

/// The `blog` VPC in `zones`, with waits short enough for mocks.
fn blog(zones: &[&str]) -> vpc::Vpc {
    vpc::Vpc::builder()
        .environment("blog")
        .availability_zones(zones.iter().copied())
        // The default group's adoption and the endpoints have tests of their own, beside
        // their kinds and against the emulator.
        .manage_default_security_group(false)
        .s3_gateway_endpoint(false)
        .wait(Wait {
            timeout: Duration::from_secs(2),
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        })
        .build()
        .expect("valid inputs")
}

/// Clients answering from `ec2` rules; Route 53 knows no hosted zone. SDK retries are off:
/// a retried mock error would silently consume the next response.
fn aws(ec2: &[Rule]) -> Aws {
    let no_zones = mock!(Route53::list_hosted_zones_by_name)
        .match_requests(|r| r.dns_name() == Some("blog.local."))
        .then_output(|| {
            ListHostedZonesByNameOutput::builder()
                .set_hosted_zones(Some(Vec::new()))
                .is_truncated(false)
                .max_items(100)
                .build()
                .expect("required fields set")
        });
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, ec2, |c| c
        .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()));
    let route53 = mock_client!(aws_sdk_route53, RuleMode::MatchAny, &[no_zones], |c| c
        .retry_config(aws_sdk_route53::config::retry::RetryConfig::disabled()));
    // No flow logs wanted, but a role and a log group made for them before would still go:
    // both are looked for by name, and neither exists.
    let no_role = mock!(aws_sdk_iam::Client::get_role)
        .match_requests(|r| r.role_name() == Some("blog-vpc-flow-logs"))
        .then_error(|| {
            aws_sdk_iam::operation::get_role::GetRoleError::generic(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("NoSuchEntity")
                    .build(),
            )
        });
    let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, &[no_role], |c| c
        .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled()));
    let no_group = mock!(aws_sdk_cloudwatchlogs::Client::describe_log_groups)
        .match_requests(|r| r.log_group_name_prefix() == Some("/aws/vpc-flow-logs/blog"))
        .then_output(|| {
            aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput::builder()
                .build()
        });
    let logs = mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        &[no_group],
        |c| c.retry_config(aws_sdk_cloudwatchlogs::config::retry::RetryConfig::disabled())
    );
    Aws::builder()
        .ec2(ec2)
        .route53(route53)
        .iam(iam)
        .logs(logs)
        .retry(Retry::fast())
        .build()
}

/// The tags the module puts on a resource called `name`.
fn owned_tags(name: &str) -> Vec<Tag> {
    [
        ("Name", name),
        ("Environment", "blog"),
        ("ecs-modules:owner", "vpc/blog"),
    ]
    .map(|(k, v)| Tag::builder().key(k).value(v).build())
    .to_vec()
}

/// Whether a create call's only tag specification is for `kind` and carries the module's
/// `Name`, `Environment` and ownership tags.
fn tagged(specs: &[TagSpecification], kind: ResourceType, name: &str) -> bool {
    let [spec] = specs else { return false };
    let has = |k: &str, v: &str| {
        spec.tags()
            .iter()
            .any(|t| t.key() == Some(k) && t.value() == Some(v))
    };
    spec.resource_type() == Some(&kind)
        && has("Name", name)
        && has("Environment", "blog")
        && has("ecs-modules:owner", "vpc/blog")
}

/// Whether a Describe* call asks only for what `vpc/blog` owns.
fn owner_filtered(filters: &[Filter]) -> bool {
    filters
        .iter()
        .any(|f| f.name() == Some("tag:ecs-modules:owner") && f.values() == ["vpc/blog"])
}

/// The VPC's lookup: by our VPC's name, ours or not, so look-alikes are seen too.
fn name_filtered(filters: &[Filter]) -> bool {
    filters
        .iter()
        .any(|f| f.name() == Some("tag:Name") && f.values() == ["blog-vpc"])
}

/// An available zone of `kind` (`availability-zone`, `local-zone`).
fn available_zone(name: &str, id: Option<&str>, kind: &str) -> AvailabilityZone {
    AvailabilityZone::builder()
        .zone_name(name)
        .set_zone_id(id.map(str::to_owned))
        .zone_type(kind)
        .state(AvailabilityZoneState::Available)
        .build()
}

/// us-east-1a/b/c available, plus a local zone the module must not pick.
fn region_zones() -> Rule {
    mock!(Ec2::describe_availability_zones).then_output(|| {
        let zone = |name, kind| available_zone(name, None, kind);
        DescribeAvailabilityZonesOutput::builder()
            .availability_zones(zone("us-east-1a", "availability-zone"))
            .availability_zones(zone("us-east-1-bos-1a", "local-zone"))
            .availability_zones(zone("us-east-1b", "availability-zone"))
            .availability_zones(zone("us-east-1c", "availability-zone"))
            .build()
    })
}

/// Names for the rules of [`Owned::rules`], in their order.
const DISCOVERY: [&str; 6] = [
    "DescribeVpcs",
    "DescribeInternetGateways",
    "DescribeSubnets",
    "DescribeRouteTables",
    "DescribeNatGateways",
    "DescribeAddresses",
];

/// What the batched Describe* calls (one per kind) return.
#[derive(Default)]
struct Owned {
    vpcs: Vec<Ec2Vpc>,
    igws: Vec<InternetGateway>,
    subnets: Vec<Subnet>,
    route_tables: Vec<RouteTable>,
    nats: Vec<NatGateway>,
    eips: Vec<Address>,
}

impl Owned {
    /// One rule per Describe* (in `DISCOVERY` order), each matching only a request filtered by
    /// the ownership tag (the VPC's: by name); no endpoints, their security group, nor flow
    /// log.
    fn rules(self) -> [Rule; 9] {
        let Owned {
            vpcs,
            igws,
            subnets,
            route_tables,
            nats,
            eips,
        } = self;
        [
            mock!(Ec2::describe_vpcs)
                .match_requests(|r| name_filtered(r.filters()))
                .then_output(move || {
                    DescribeVpcsOutput::builder()
                        .set_vpcs(Some(vpcs.clone()))
                        .build()
                }),
            mock!(Ec2::describe_internet_gateways)
                .match_requests(|r| owner_filtered(r.filters()))
                .then_output(move || {
                    DescribeInternetGatewaysOutput::builder()
                        .set_internet_gateways(Some(igws.clone()))
                        .build()
                }),
            mock!(Ec2::describe_subnets)
                .match_requests(|r| owner_filtered(r.filters()))
                .then_output(move || {
                    DescribeSubnetsOutput::builder()
                        .set_subnets(Some(subnets.clone()))
                        .build()
                }),
            mock!(Ec2::describe_route_tables)
                .match_requests(|r| owner_filtered(r.filters()))
                .then_output(move || {
                    DescribeRouteTablesOutput::builder()
                        .set_route_tables(Some(route_tables.clone()))
                        .build()
                }),
            // Its field is `filter`, unlike the others'.
            mock!(Ec2::describe_nat_gateways)
                .match_requests(|r| owner_filtered(r.filter()))
                .then_output(move || {
                    DescribeNatGatewaysOutput::builder()
                        .set_nat_gateways(Some(nats.clone()))
                        .build()
                }),
            mock!(Ec2::describe_addresses)
                .match_requests(|r| owner_filtered(r.filters()))
                .then_output(move || {
                    DescribeAddressesOutput::builder()
                        .set_addresses(Some(eips.clone()))
                        .build()
                }),
            mock!(Ec2::describe_vpc_endpoints)
                .match_requests(|r| owner_filtered(r.filters()))
                .then_output(|| {
                    aws_sdk_ec2::operation::describe_vpc_endpoints::DescribeVpcEndpointsOutput::builder()
                        .build()
                }),
            // Its field is `filter` too.
            mock!(Ec2::describe_flow_logs)
                .match_requests(|r| owner_filtered(r.filter()))
                .then_output(|| {
                    aws_sdk_ec2::operation::describe_flow_logs::DescribeFlowLogsOutput::builder()
                        .build()
                }),
            // By the ownership tag and by name, as the security group kind reads.
            mock!(Ec2::describe_security_groups).then_output(|| {
                aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput::builder()
                    .build()
            }),
        ]
    }
}

/// DNS support and hostnames both on (as the module leaves them), whichever is asked for.
fn vpc_attributes() -> Rule {
    mock!(Ec2::describe_vpc_attribute).then_compute_output(|r| {
        let on = AttributeBooleanValue::builder().value(true).build();
        let out = DescribeVpcAttributeOutput::builder().set_vpc_id(r.vpc_id().map(Into::into));
        match r.attribute() {
            Some(VpcAttributeName::EnableDnsSupport) => out.enable_dns_support(on),
            _ => out.enable_dns_hostnames(on),
        }
        .build()
    })
}

/// The subnet `blog-<az>-<tier>` made in vpc-1 with its CIDR block, answered with the id
/// `subnet-<az>-<tier>`.
fn create_subnet(az: &str, tier: &str, cidr: &str) -> Rule {
    let (az, cidr) = (az.to_owned(), cidr.to_owned());
    let (name, id) = (format!("blog-{az}-{tier}"), format!("subnet-{az}-{tier}"));
    mock!(Ec2::create_subnet)
        .match_requests(move |r| {
            r.vpc_id() == Some("vpc-1")
                && r.availability_zone() == Some(az.as_str())
                && r.cidr_block() == Some(cidr.as_str())
                && tagged(r.tag_specifications(), ResourceType::Subnet, &name)
        })
        .then_output(move || {
            CreateSubnetOutput::builder()
                .subnet(Subnet::builder().subnet_id(&id).build())
                .build()
        })
}

/// The route table `name` made in vpc-1, answered with `id`.
fn create_route_table(name: &'static str, id: &'static str) -> Rule {
    mock!(Ec2::create_route_table)
        .match_requests(move |r| {
            r.vpc_id() == Some("vpc-1")
                && tagged(r.tag_specifications(), ResourceType::RouteTable, name)
        })
        .then_output(move || {
            CreateRouteTableOutput::builder()
                .route_table(RouteTable::builder().route_table_id(id).build())
                .build()
        })
}

/// Every call a first apply of `blog` in `ZONES` makes. Each create matches only when its tag
/// specification names the resource as the module does, and wiring calls only with the ids the
/// creates returned.
fn fresh_apply() -> Vec<Rule> {
    let mut rules = vec![region_zones()];
    rules.extend(Owned::default().rules());
    rules.extend(
        SUBNETS
            .iter()
            .map(|(az, tier, cidr)| create_subnet(az, tier, cidr)),
    );
    rules.extend([
        mock!(Ec2::create_vpc)
            .match_requests(|r| {
                r.cidr_block() == Some("10.0.0.0/16")
                    && tagged(r.tag_specifications(), ResourceType::Vpc, "blog-vpc")
            })
            .then_output(|| {
                CreateVpcOutput::builder()
                    .vpc(Ec2Vpc::builder().vpc_id("vpc-1").build())
                    .build()
            }),
        // A new VPC has DNS support already; only hostnames need turning on.
        mock!(Ec2::modify_vpc_attribute)
            .match_requests(|r| {
                r.vpc_id() == Some("vpc-1")
                    && r.enable_dns_hostnames().and_then(|v| v.value()) == Some(true)
            })
            .then_output(|| ModifyVpcAttributeOutput::builder().build()),
        mock!(Ec2::create_internet_gateway)
            .match_requests(|r| {
                tagged(
                    r.tag_specifications(),
                    ResourceType::InternetGateway,
                    "blog-internet-gateway",
                )
            })
            .then_output(|| {
                CreateInternetGatewayOutput::builder()
                    .internet_gateway(
                        InternetGateway::builder()
                            .internet_gateway_id("igw-1")
                            .build(),
                    )
                    .build()
            }),
        mock!(Ec2::attach_internet_gateway)
            .match_requests(|r| {
                r.internet_gateway_id() == Some("igw-1") && r.vpc_id() == Some("vpc-1")
            })
            .then_output(|| AttachInternetGatewayOutput::builder().build()),
        mock!(Ec2::allocate_address)
            .match_requests(|r| {
                tagged(
                    r.tag_specifications(),
                    ResourceType::ElasticIp,
                    "blog-nat-eip",
                )
            })
            .then_output(|| {
                AllocateAddressOutput::builder()
                    .allocation_id("eipalloc-1")
                    .build()
            }),
        // The one NAT gateway sits in the first zone's public subnet.
        mock!(Ec2::create_nat_gateway)
            .match_requests(|r| {
                r.subnet_id() == Some("subnet-us-east-1a-public")
                    && r.allocation_id() == Some("eipalloc-1")
                    && tagged(
                        r.tag_specifications(),
                        ResourceType::Natgateway,
                        "blog-nat-gateway",
                    )
            })
            .then_output(|| {
                CreateNatGatewayOutput::builder()
                    .nat_gateway(NatGateway::builder().nat_gateway_id("nat-1").build())
                    .build()
            }),
        // The wait for the new NAT gateway, by id, not by tag.
        mock!(Ec2::describe_nat_gateways)
            .match_requests(|r| r.nat_gateway_ids() == ["nat-1"])
            .then_output(|| {
                DescribeNatGatewaysOutput::builder()
                    .nat_gateways(
                        NatGateway::builder()
                            .nat_gateway_id("nat-1")
                            .state(NatGatewayState::Available)
                            .build(),
                    )
                    .build()
            }),
        create_route_table("blog-public-routetable", "rtb-public"),
        // A new table looks up where its subnets are served now (a changed layout moves
        // them): nowhere, in a fresh network.
        mock!(Ec2::describe_route_tables)
            .match_requests(|r| {
                r.filters()
                    .iter()
                    .any(|f| f.name() == Some("association.subnet-id") && f.values().len() == 3)
            })
            .then_output(|| DescribeRouteTablesOutput::builder().build()),
        create_route_table("blog-private-routetable", "rtb-private"),
        // Public traffic leaves through the internet gateway, private through the NAT gateway.
        mock!(Ec2::create_route)
            .match_requests(|r| {
                r.destination_cidr_block() == Some("0.0.0.0/0")
                    && match r.route_table_id() {
                        Some("rtb-public") => r.gateway_id() == Some("igw-1"),
                        Some("rtb-private") => r.nat_gateway_id() == Some("nat-1"),
                        _ => false,
                    }
            })
            .then_output(|| CreateRouteOutput::builder().build()),
        mock!(Ec2::associate_route_table)
            .match_requests(|r| {
                let public = r.subnet_id().is_some_and(|s| s.ends_with("-public"));
                let table = if public { "rtb-public" } else { "rtb-private" };
                r.route_table_id() == Some(table)
            })
            .then_compute_output(|r| {
                AssociateRouteTableOutput::builder()
                    .association_id(format!("rtbassoc-{}", r.subnet_id().unwrap_or_default()))
                    .build()
            }),
    ]);
    rules
}

#[tokio::test]
async fn tags_travel_in_every_create_call() {
    let aws = aws(&fresh_apply());
    let out = blog(&ZONES).apply(&aws).await.expect("apply");

    assert_eq!(out.vpc_id, "vpc-1");
    assert_eq!(out.vpc_cidr, "10.0.0.0/16");
    assert_eq!(out.availability_zones, ZONES);
    assert_eq!(
        out.public_subnets,
        [
            "subnet-us-east-1a-public",
            "subnet-us-east-1b-public",
            "subnet-us-east-1c-public"
        ]
    );
    assert_eq!(
        out.private_subnets,
        [
            "subnet-us-east-1a-private",
            "subnet-us-east-1b-private",
            "subnet-us-east-1c-private"
        ]
    );
    assert_eq!(out.nat_gateway_ids, ["nat-1"]);
    assert_eq!(out.internet_gateway_id, "igw-1");
    assert_eq!(out.private_dns_zone_id, None);

    let report = aws.calls().report();
    assert_eq!(
        report.mutations(),
        BTreeMap::from([
            ("AllocateAddress", 1),
            ("AssociateRouteTable", 6),
            ("AttachInternetGateway", 1),
            ("CreateInternetGateway", 1),
            ("CreateNatGateway", 1),
            ("CreateRoute", 2),
            ("CreateRouteTable", 2),
            ("CreateSubnet", 6),
            ("CreateVpc", 1),
            ("ModifyVpcAttribute", 1),
        ]),
        "{report:#}"
    );
    // One batched read per kind; the NAT gateway's wait and each new table's look-up of
    // where its subnets are served come on top.
    let reads: Vec<(&str, u64)> = report
        .by_operation
        .iter()
        .filter(|(op, _)| !converge::is_mutating(op))
        .map(|(op, n)| (op.as_str(), *n))
        .collect();
    assert_eq!(
        reads,
        [
            ("DescribeAddresses", 1),
            ("DescribeAvailabilityZones", 1),
            // No flow log wanted, but one made before would still go.
            ("DescribeFlowLogs", 1),
            ("DescribeInternetGateways", 1),
            ("DescribeLogGroups", 1),
            ("DescribeNatGateways", 2),
            ("DescribeRouteTables", 3),
            // The endpoints' group, by ownership tag and by name: none wanted, but one made
            // before would still go.
            ("DescribeSecurityGroups", 2),
            ("DescribeSubnets", 1),
            ("DescribeVpcEndpoints", 1),
            ("DescribeVpcs", 1),
            ("GetRole", 1),
            // No hosted zone wanted, but one made before would still go: the kind is read.
            ("ListHostedZonesByName", 1),
        ],
        "{report:#}"
    );
}

#[tokio::test]
async fn a_look_alike_vpc_is_a_conflict_never_adopted_nor_doubled() {
    // Named and in the environment as ours, but without the ownership tag.
    let look_alike = Ec2Vpc::builder()
        .vpc_id("vpc-other")
        .cidr_block("10.0.0.0/16")
        .tags(Tag::builder().key("Name").value("blog-vpc").build())
        .tags(Tag::builder().key("Environment").value("blog").build())
        .build();
    let discovery = Owned {
        vpcs: vec![look_alike],
        ..Owned::default()
    }
    .rules();
    let attributes = vpc_attributes();
    let mut rules = vec![region_zones(), attributes.clone()];
    rules.extend(discovery.iter().cloned());
    let aws = aws(&rules);

    let err = blog(&ZONES).plan(&aws).await.unwrap_err();
    assert!(
        matches!(&err, Error::NotOwned { id, .. } if id.contains("vpc-other")),
        "{err}"
    );
    for (rule, operation) in discovery.iter().zip(DISCOVERY) {
        assert_eq!(rule.num_calls(), 1, "{operation}");
    }
    // Not ours: not even its DNS attributes were read.
    assert_eq!(attributes.num_calls(), 0);
    assert!(blog(&ZONES).apply(&aws).await.is_err());
    // Destroy has nothing of ours to delete and leaves it alone.
    assert!(blog(&ZONES).destroy(&aws).await.unwrap().is_empty());
    assert_eq!(aws.calls().report().mutating, 0);
}

#[tokio::test]
async fn eventual_consistency_errors_are_retried() {
    // The VPC is not yet visible to the attach call: a first-match rule ahead of the plain one.
    let attach = mock!(Ec2::attach_internet_gateway)
        .sequence()
        .error(|| {
            AttachInternetGatewayError::generic(
                ErrorMetadata::builder()
                    .code("InvalidVpcID.NotFound")
                    .message("The vpc ID 'vpc-1' does not exist")
                    .build(),
            )
        })
        .output(|| AttachInternetGatewayOutput::builder().build())
        .build();
    let mut rules = vec![attach.clone()];
    rules.extend(fresh_apply());
    let aws = aws(&rules);

    let out = blog(&ZONES).apply(&aws).await.expect("apply after a retry");

    assert_eq!(out.internet_gateway_id, "igw-1");
    assert_eq!(attach.num_calls(), 2);
    assert_eq!(
        aws.calls().report().by_operation["AttachInternetGateway"],
        2
    );
}

#[tokio::test]
async fn non_transient_errors_fail_at_once_and_say_what_was_left_behind() {
    let rejected = mock!(Ec2::create_subnet)
        .match_requests(|r| r.cidr_block() == Some("10.0.4.0/24"))
        .then_error(|| {
            CreateSubnetError::generic(
                ErrorMetadata::builder()
                    .code("InvalidParameterValue")
                    .message("Value (us-east-1b) for parameter availabilityZone is invalid")
                    .build(),
            )
        });
    let mut rules = vec![rejected.clone()];
    rules.extend(fresh_apply());
    let aws = aws(&rules);

    let err = blog(&ZONES).apply(&aws).await.unwrap_err();

    assert_eq!(rejected.num_calls(), 1, "not retried");
    assert_eq!(err.code(), Some("InvalidParameterValue"));
    let Error::Stopped {
        failed,
        done,
        remaining,
        source,
    } = &err
    else {
        panic!("expected Stopped, got {err:?}");
    };
    assert_eq!(failed.name, "blog-us-east-1b-private");
    assert!(
        done.iter()
            .any(|a| a.to_string() == "aws_vpc \"blog-vpc\" (vpc-1)"),
        "{done:?}"
    );
    // The table that needs the failed subnet never started; branches that do not need it
    // (the public side, the NAT gateway) were let finish.
    let left: Vec<&str> = remaining.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(left, ["blog-us-east-1b-private", "blog-private-routetable"]);
    assert!(
        err.to_string()
            .contains("aws_subnet \"blog-us-east-1b-private\" failed"),
        "{err}"
    );
    // Stopped's own text says what is left; the failed call is its source.
    assert!(
        matches!(
            **source,
            Error::Aws {
                operation: "CreateSubnet",
                ..
            }
        ),
        "{source:?}"
    );
    assert_eq!(
        source.to_string(),
        "CreateSubnet on aws_subnet \"blog-us-east-1b-private\" failed (InvalidParameterValue): Value (us-east-1b) for parameter availabilityZone is invalid"
    );
}

#[tokio::test]
async fn validation_errors_make_no_call() {
    let err = vpc::Vpc::builder()
        .environment("blog")
        .cidr_block("10.0.0.1/16")
        .availability_zones(["us-east-1a", "us-east-1a"])
        .build()
        .unwrap_err();
    let fields: Vec<_> = err.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["cidr_block", "availability_zones[1]"]);

    // Valid names, but us-west-2a is not a zone of the region: found after one read, before any
    // change. No create rule exists, so a create call would also fail the test.
    let mut rules = vec![region_zones()];
    rules.extend(Owned::default().rules());
    let aws = aws(&rules);
    let err = blog(&["us-east-1a", "us-west-2a"])
        .apply(&aws)
        .await
        .unwrap_err();
    let Error::Invalid(invalid) = &err else {
        panic!("expected Invalid, got {err:?}");
    };
    let fields: Vec<_> = invalid.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["availability_zones[1]"], "{invalid}");
    let text = invalid.to_string();
    assert!(text.contains("us-west-2a"), "{text}");
    // The zones it offers instead are the region's real ones, not its local zone.
    assert!(
        text.contains("us-east-1a, us-east-1b, us-east-1c)"),
        "{text}"
    );
    let report = aws.calls().report();
    assert_eq!(report.mutating, 0, "{report:#}");
    assert_eq!(report.by_operation["DescribeAvailabilityZones"], 1);
}

/// The order mutating calls were made in, shared with the rules that record it.
type Log = Arc<Mutex<Vec<&'static str>>>;

/// A response that first records `op` in `log`.
fn logged<I, O>(log: &Log, op: &'static str, output: impl Fn() -> O) -> impl Fn(&I) -> O {
    let log = Arc::clone(log);
    move |_| {
        log.lock().expect("log poisoned").push(op);
        output()
    }
}

/// One resource of each kind, all owned by `vpc/blog`, in vpc-1.
fn one_of_each() -> Owned {
    Owned {
        vpcs: vec![Ec2Vpc::builder()
            .vpc_id("vpc-1")
            .cidr_block("10.0.0.0/16")
            .set_tags(Some(owned_tags("blog-vpc")))
            .build()],
        igws: vec![InternetGateway::builder()
            .internet_gateway_id("igw-1")
            .attachments(InternetGatewayAttachment::builder().vpc_id("vpc-1").build())
            .set_tags(Some(owned_tags("blog-internet-gateway")))
            .build()],
        subnets: vec![Subnet::builder()
            .subnet_id("subnet-1")
            .vpc_id("vpc-1")
            .availability_zone("us-east-1a")
            .cidr_block("10.0.0.0/24")
            .set_tags(Some(owned_tags("blog-us-east-1a-public")))
            .build()],
        route_tables: vec![RouteTable::builder()
            .route_table_id("rtb-1")
            .vpc_id("vpc-1")
            .routes(
                Route::builder()
                    .destination_cidr_block("0.0.0.0/0")
                    .gateway_id("igw-1")
                    .build(),
            )
            .associations(
                RouteTableAssociation::builder()
                    .route_table_association_id("rtbassoc-1")
                    .subnet_id("subnet-1")
                    .main(false)
                    .build(),
            )
            .set_tags(Some(owned_tags("blog-public-routetable")))
            .build()],
        nats: vec![NatGateway::builder()
            .nat_gateway_id("nat-1")
            .vpc_id("vpc-1")
            .subnet_id("subnet-1")
            .state(NatGatewayState::Available)
            .set_tags(Some(owned_tags("blog-nat-gateway")))
            .build()],
        eips: vec![Address::builder()
            .allocation_id("eipalloc-1")
            .set_tags(Some(owned_tags("blog-nat-eip")))
            .build()],
    }
}

/// Where `op` is in `order`, failing when it was not called exactly once.
fn position(order: &[&str], op: &str) -> usize {
    let at: Vec<_> = order
        .iter()
        .enumerate()
        .filter(|(_, o)| **o == op)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "{op} called {} times in {order:?}", at.len());
    at[0]
}

#[tokio::test]
async fn destroy_deletes_in_dependency_order() {
    let log = Log::default();
    let mut rules = vec![region_zones(), vpc_attributes()];
    rules.extend(one_of_each().rules());
    rules.extend([
        mock!(Ec2::delete_nat_gateway)
            .match_requests(|r| r.nat_gateway_id() == Some("nat-1"))
            .then_compute_output(logged(&log, "DeleteNatGateway", || {
                DeleteNatGatewayOutput::builder()
                    .nat_gateway_id("nat-1")
                    .build()
            })),
        // The wait after the delete, by id: gone at the first look.
        mock!(Ec2::describe_nat_gateways)
            .match_requests(|r| r.nat_gateway_ids() == ["nat-1"])
            .then_compute_output(logged(&log, "(NAT gateway deleted)", || {
                DescribeNatGatewaysOutput::builder()
                    .nat_gateways(
                        NatGateway::builder()
                            .nat_gateway_id("nat-1")
                            .state(NatGatewayState::Deleted)
                            .build(),
                    )
                    .build()
            })),
        mock!(Ec2::release_address)
            .match_requests(|r| r.allocation_id() == Some("eipalloc-1"))
            .then_compute_output(logged(&log, "ReleaseAddress", || {
                ReleaseAddressOutput::builder().build()
            })),
        mock!(Ec2::disassociate_route_table)
            .match_requests(|r| r.association_id() == Some("rtbassoc-1"))
            .then_compute_output(logged(&log, "DisassociateRouteTable", || {
                DisassociateRouteTableOutput::builder().build()
            })),
        mock!(Ec2::delete_route_table)
            .match_requests(|r| r.route_table_id() == Some("rtb-1"))
            .then_compute_output(logged(&log, "DeleteRouteTable", || {
                DeleteRouteTableOutput::builder().build()
            })),
        mock!(Ec2::delete_subnet)
            .match_requests(|r| r.subnet_id() == Some("subnet-1"))
            .then_compute_output(logged(&log, "DeleteSubnet", || {
                DeleteSubnetOutput::builder().build()
            })),
        mock!(Ec2::detach_internet_gateway)
            .match_requests(|r| {
                r.internet_gateway_id() == Some("igw-1") && r.vpc_id() == Some("vpc-1")
            })
            .then_compute_output(logged(&log, "DetachInternetGateway", || {
                DetachInternetGatewayOutput::builder().build()
            })),
        mock!(Ec2::delete_internet_gateway)
            .match_requests(|r| r.internet_gateway_id() == Some("igw-1"))
            .then_compute_output(logged(&log, "DeleteInternetGateway", || {
                DeleteInternetGatewayOutput::builder().build()
            })),
        mock!(Ec2::delete_vpc)
            .match_requests(|r| r.vpc_id() == Some("vpc-1"))
            .then_compute_output(logged(&log, "DeleteVpc", || {
                DeleteVpcOutput::builder().build()
            })),
    ]);
    let aws = aws(&rules);

    let deleted = blog(&ZONES).destroy(&aws).await.expect("destroy");

    // NAT gateway, Elastic IP, route table, subnet, internet gateway, VPC.
    assert_eq!(deleted.summary(), (0, 0, 6), "{deleted}");
    let order = log.lock().expect("log poisoned").clone();
    let at = |op| position(&order, op);
    assert!(
        at("DeleteNatGateway") < at("(NAT gateway deleted)"),
        "{order:?}"
    );
    assert!(
        at("(NAT gateway deleted)") < at("ReleaseAddress"),
        "{order:?}"
    );
    assert!(
        at("DisassociateRouteTable") < at("DeleteRouteTable"),
        "{order:?}"
    );
    assert!(at("DeleteRouteTable") < at("DeleteSubnet"), "{order:?}");
    assert!(
        at("DetachInternetGateway") < at("DeleteInternetGateway"),
        "{order:?}"
    );
    assert!(at("DeleteInternetGateway") < at("DeleteVpc"), "{order:?}");
    assert_eq!(order.last(), Some(&"DeleteVpc"), "{order:?}");
    let report = aws.calls().report();
    assert_eq!(report.mutating, 8, "{report:#}");
}

#[tokio::test]
async fn a_failed_nat_gateway_says_why_and_nothing_routes_through_it() {
    let failed = mock!(Ec2::describe_nat_gateways)
        .match_requests(|r| r.nat_gateway_ids() == ["nat-1"])
        .then_output(|| {
            DescribeNatGatewaysOutput::builder()
                .nat_gateways(
                    NatGateway::builder()
                        .nat_gateway_id("nat-1")
                        .state(NatGatewayState::Failed)
                        .failure_code("InsufficientFreeAddressesInSubnet")
                        .failure_message("Subnet has insufficient free addresses")
                        .build(),
                )
                .build()
        });
    let mut rules = vec![failed];
    rules.extend(fresh_apply());
    let aws = aws(&rules);

    let err = blog(&ZONES).apply(&aws).await.unwrap_err();

    let Error::Stopped {
        failed,
        remaining,
        source,
        ..
    } = &err
    else {
        panic!("expected Stopped, got {err:?}");
    };
    assert_eq!(failed.name, "blog-nat-gateway");
    assert_eq!(
        source.to_string(),
        "aws_nat_gateway \"blog-nat-gateway\" (nat-1) failed: InsufficientFreeAddressesInSubnet: Subnet has insufficient free addresses"
    );
    assert!(
        remaining
            .iter()
            .any(|a| a.name == "blog-private-routetable"),
        "{remaining:?}"
    );
    // The private table waits for the NAT gateway: it was never made.
    let report = aws.calls().report();
    assert_eq!(report.mutations()["CreateRouteTable"], 1, "{report:#}");
}

#[tokio::test]
async fn the_declaration_wires_each_resource_to_what_it_reads() {
    let mut rules = vec![region_zones()];
    rules.extend(Owned::default().rules());
    let aws = aws(&rules);
    let mut stack = converge::Stack::new();
    let refs = blog(&ZONES)
        .declare(&aws, &mut stack)
        .await
        .expect("declare");

    // VPC, internet gateway, 6 subnets, Elastic IP, NAT gateway, 2 route tables, and the
    // hosted zone, the endpoints, their security group, the flow log, its role and its log
    // group tracked (none wanted, any left from before goes).
    assert_eq!(stack.len(), 18);
    let deps = |kind, name| stack.dependencies(kind, name);
    assert_eq!(
        deps("aws_nat_gateway", "blog-nat-gateway"),
        [
            ("aws_subnet", "blog-us-east-1a-public"),
            ("aws_eip", "blog-nat-eip")
        ]
    );
    let private = deps("aws_route_table", "blog-private-routetable");
    assert!(private.contains(&("aws_nat_gateway", "blog-nat-gateway")));
    assert!(private.contains(&("aws_subnet", "blog-us-east-1c-private")));
    assert!(!private.contains(&("aws_internet_gateway", "blog-internet-gateway")));
    let public = deps("aws_route_table", "blog-public-routetable");
    assert!(public.contains(&("aws_internet_gateway", "blog-internet-gateway")));
    assert_eq!(
        deps("aws_subnet", "blog-us-east-1b-private"),
        [("aws_vpc", "blog-vpc")]
    );

    // Planned from nothing: what comes from the inputs is known, ids are not.
    let plan = stack.plan(&aws).await.expect("plan");
    assert_eq!(plan.plan().summary(), (12, 0, 0));
    assert_eq!(
        plan.value(&refs.availability_zones).into_known(),
        Some(ZONES.map(String::from).to_vec())
    );
    assert_eq!(
        plan.value(&refs.vpc_cidr).into_known().as_deref(),
        Some("10.0.0.0/16")
    );
    assert!(!plan.value(&refs.vpc_id).is_known());
    assert!(!plan.value(&refs.private_egress).is_known());
    assert!(!plan.value(&refs.outputs).is_known());
    let subnet = plan
        .plan()
        .find("aws_subnet", "blog-us-east-1a-private")
        .expect("planned");
    assert_eq!(
        subnet.diffs[0].after.as_deref(),
        Some(converge::AFTER_APPLY)
    );
    assert_eq!(aws.calls().report().mutating, 0);
}

#[tokio::test]
async fn without_private_subnets_egress_is_known_at_once() {
    let mut rules = vec![region_zones()];
    rules.extend(Owned::default().rules());
    let aws = aws(&rules);
    let net = vpc::Vpc::builder()
        .environment("blog")
        .availability_zones(ZONES)
        .create_private_subnets(false)
        .manage_default_security_group(false)
        .build()
        .expect("valid inputs");
    let mut stack = converge::Stack::new();
    let refs = net.declare(&aws, &mut stack).await.expect("declare");
    // VPC, internet gateway, 3 public subnets, the public route table: no NAT gateway; the
    // NAT gateway, address, hosted zone, endpoint, endpoint group, flow log, flow log role
    // and flow log group kinds tracked.
    assert_eq!(stack.len(), 14);
    let plan = stack.plan(&aws).await.expect("plan");
    assert!(plan.value(&refs.private_egress).is_known());
    assert_eq!(
        plan.value(&refs.private_subnets).into_known(),
        Some(Vec::new())
    );
}

/// us-west-1 as an older account sees it: Fargate does not run in usw1-az2, its first zone.
fn west_zones() -> Rule {
    mock!(Ec2::describe_availability_zones).then_output(|| {
        let zone = |name, id| available_zone(name, Some(id), "availability-zone");
        DescribeAvailabilityZonesOutput::builder()
            .availability_zones(zone("us-west-1a", "usw1-az2"))
            .availability_zones(zone("us-west-1b", "usw1-az1"))
            .availability_zones(zone("us-west-1c", "usw1-az3"))
            .build()
    })
}

#[tokio::test]
async fn a_network_for_fargate_keeps_to_the_zones_where_fargate_runs() {
    let mut rules = vec![west_zones()];
    rules.extend(Owned::default().rules());
    let aws = aws(&rules);
    let network = |fargate: bool| {
        vpc::Vpc::builder()
            .environment("blog")
            .fargate(fargate)
            .manage_default_security_group(false)
    };

    // By default, the region's first zones where Fargate runs; without Fargate, the first three.
    let zones_of = |vpc: vpc::Vpc| {
        let aws = &aws;
        async move {
            let mut stack = converge::Stack::new();
            let refs = vpc.declare(aws, &mut stack).await.expect("declare");
            let plan = stack.plan(aws).await.expect("plan");
            (
                plan.value(&refs.availability_zones).into_known().unwrap(),
                plan.value(&refs.availability_zone_ids)
                    .into_known()
                    .unwrap(),
            )
        }
    };
    let (names, ids) = zones_of(network(true).build().unwrap()).await;
    assert_eq!(names, ["us-west-1b", "us-west-1c"]);
    assert_eq!(ids, ["usw1-az1", "usw1-az3"]);
    let (names, _) = zones_of(network(false).build().unwrap()).await;
    assert_eq!(names, ["us-west-1a", "us-west-1b", "us-west-1c"]);

    // Zones given by id are the same zones, named as this account names them.
    let (names, ids) = zones_of(
        network(true)
            .availability_zones(["usw1-az3", "usw1-az1"])
            .build()
            .unwrap(),
    )
    .await;
    assert_eq!(names, ["us-west-1c", "us-west-1b"]);
    assert_eq!(ids, ["usw1-az3", "usw1-az1"]);

    // A zone name is checked by its id once the one read has told it.
    let err = network(true)
        .availability_zones(["us-west-1b", "us-west-1a"])
        .build()
        .unwrap()
        .plan(&aws)
        .await
        .unwrap_err();
    let Error::Invalid(invalid) = &err else {
        panic!("expected Invalid, got {err:?}");
    };
    assert!(invalid.has("availability_zones[1]"), "{invalid}");
    assert!(invalid.to_string().contains("usw1-az2"), "{invalid}");
    assert_eq!(aws.calls().report().mutating, 0);

    // A zone id is checked before any call.
    let err = network(true)
        .availability_zones(["usw1-az1", "usw1-az2"])
        .build()
        .unwrap_err();
    assert!(err.has("availability_zones[1]"), "{err}");
    assert!(err.to_string().contains("usw1-az1, usw1-az3"), "{err}");
}

/// Endpoints read what they sit in, so destroy deletes them, and waits for an interface
/// endpoint's network interfaces to go, before the subnets, the route tables and the group.
#[tokio::test]
async fn endpoints_go_before_the_subnets_tables_and_group_they_use() {
    let mut rules = vec![region_zones()];
    rules.extend(Owned::default().rules());
    let aws = aws(&rules);
    let mut stack = converge::Stack::new();
    vpc::Vpc::builder()
        .environment("blog")
        .availability_zones(ZONES)
        .interface_endpoints(["logs"])
        .build()
        .expect("valid inputs")
        .declare(&aws, &mut stack)
        .await
        .expect("declare");
    let logs = stack.dependencies("aws_vpc_endpoint", "blog-vpce-logs");
    for private in ZONES.map(|z| format!("blog-{z}-private")) {
        assert!(logs.contains(&("aws_subnet", private.as_str())), "{logs:?}");
    }
    assert!(
        logs.contains(&("aws_security_group", "blog-vpce-sg")),
        "{logs:?}"
    );
    let s3 = stack.dependencies("aws_vpc_endpoint", "blog-vpce-s3");
    assert!(
        s3.contains(&("aws_route_table", "blog-private-routetable")),
        "{s3:?}"
    );
    assert!(
        s3.contains(&("aws_security_group", "blog-vpce-sg")),
        "{s3:?}"
    );
}

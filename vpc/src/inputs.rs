//! The module's inputs: a builder that validates everything before any AWS call.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use converge::{Invalid, Wait};
use serde::{Deserialize, Serialize};

use crate::cidr::Ipv4Cidr;
use crate::flow_logs::FlowLogs;

/// How the private subnets reach the internet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NatGateways {
    /// No NAT gateway: the private subnets have no route out.
    None,
    /// One NAT gateway in the first public subnet, shared by every private subnet (the
    /// Terraform module's behaviour; cheapest, but one AZ's outage cuts the others off).
    #[default]
    One,
    /// A NAT gateway in every AZ, each with its own private route table.
    PerAz,
}

/// A VPC with a public and a private subnet per availability zone: the port of
/// npalm/terraform-aws-vpc 1.1.0.
///
/// Made by [`Vpc::builder`], which checks every input; then [`plan`](Vpc::plan),
/// [`apply`](Vpc::apply) and [`destroy`](Vpc::destroy) it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vpc {
    pub(crate) environment: String,
    pub(crate) cidr_block: Ipv4Cidr,
    pub(crate) availability_zones: Option<Vec<String>>,
    pub(crate) fargate: bool,
    pub(crate) create_private_subnets: bool,
    pub(crate) create_private_hosted_zone: bool,
    pub(crate) public_subnet_map_public_ip_on_launch: bool,
    pub(crate) nat_gateways: NatGateways,
    pub(crate) manage_default_security_group: bool,
    pub(crate) s3_gateway_endpoint: bool,
    pub(crate) interface_endpoints: Vec<String>,
    pub(crate) flow_logs: Option<FlowLogs>,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) wait: Wait,
}

impl Vpc {
    /// A builder with the Terraform module's defaults.
    pub fn builder() -> VpcBuilder {
        VpcBuilder::default()
    }

    /// The environment: the prefix of every name and the `Environment` tag.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The VPC's CIDR block.
    pub fn cidr_block(&self) -> Ipv4Cidr {
        self.cidr_block
    }
}

/// Builds a [`Vpc`]. Every setter has the Terraform module's default unless its docs say
/// otherwise; only the environment is required.
#[derive(Clone, Debug)]
pub struct VpcBuilder {
    environment: Option<String>,
    cidr_block: String,
    availability_zones: Option<Vec<String>>,
    fargate: bool,
    create_private_subnets: bool,
    create_private_hosted_zone: bool,
    public_subnet_map_public_ip_on_launch: bool,
    nat_gateways: NatGateways,
    manage_default_security_group: bool,
    s3_gateway_endpoint: bool,
    interface_endpoints: Vec<String>,
    flow_logs: Option<FlowLogs>,
    tags: BTreeMap<String, String>,
    wait: Wait,
}

impl Default for VpcBuilder {
    fn default() -> Self {
        Self {
            environment: None,
            cidr_block: "10.0.0.0/16".to_owned(),
            availability_zones: None,
            fargate: false,
            create_private_subnets: true,
            create_private_hosted_zone: false,
            public_subnet_map_public_ip_on_launch: false,
            nat_gateways: NatGateways::One,
            manage_default_security_group: true,
            s3_gateway_endpoint: true,
            interface_endpoints: Vec::new(),
            flow_logs: None,
            tags: BTreeMap::new(),
            wait: Wait::timeout(Duration::from_secs(600)),
        }
    }
}

impl VpcBuilder {
    /// Required. The prefix of every resource name and the value of the `Environment` tag:
    /// 1 to 32 letters, digits and hyphens, starting with a letter.
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// The VPC's IPv4 CIDR block (default `10.0.0.0/16`). Subnets are carved from it with
    /// 8 more bits, so it must be between /16 and /19 (a load balancer needs subnets of at least /27).
    pub fn cidr_block(mut self, cidr_block: impl Into<String>) -> Self {
        self.cidr_block = cidr_block.into();
        self
    }

    /// The availability zones, in order, by name (`us-east-1a`) or by zone id (`use1-az1`, the
    /// same zone in every account). Default: the region's first three available zones,
    /// looked up when planning.
    pub fn availability_zones<I, S>(mut self, zones: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.availability_zones = Some(zones.into_iter().map(Into::into).collect());
        self
    }

    /// Whether the network will run Fargate tasks (default `false`). Some regions run Fargate
    /// in some zones only (us-west-1, ap-northeast-1, cn-north-1); for such a network a zone
    /// id where Fargate does not run is refused at once, a zone name once the plan has looked
    /// up its id, and the default zones leave such zones out.
    pub fn fargate(mut self, fargate: bool) -> Self {
        self.fargate = fargate;
        self
    }

    /// Whether to make the private subnets, their route table and the NAT gateway
    /// (default `true`).
    pub fn create_private_subnets(mut self, create: bool) -> Self {
        self.create_private_subnets = create;
        self
    }

    /// Whether to make the Route 53 private hosted zone `<environment>.local` attached to the
    /// VPC. The default is `false`, unlike the Terraform module's `true`: a hosted zone costs
    /// money every month and most Fargate services do not need one.
    pub fn create_private_hosted_zone(mut self, create: bool) -> Self {
        self.create_private_hosted_zone = create;
        self
    }

    /// Whether instances in the public subnets get a public IP (default `false`).
    pub fn public_subnet_map_public_ip_on_launch(mut self, map: bool) -> Self {
        self.public_subnet_map_public_ip_on_launch = map;
        self
    }

    /// How many NAT gateways (default [`NatGateways::One`], as the module).
    pub fn nat_gateways(mut self, nat_gateways: NatGateways) -> Self {
        self.nat_gateways = nat_gateways;
        self
    }

    /// An extra tag on every resource. `Name`, `Environment` and the ownership tag are the
    /// module's: setting them is an input error.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// How long apply waits for NAT gateways to be available and destroy for them to be gone
    /// (default ten minutes).
    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }

    /// Whether the VPC's default security group is closed: apply revokes every rule EC2
    /// gave it, and any added later (Security Hub control EC2.2; terraform-aws-vpc's
    /// `manage_default_security_group`). Default `true`; `false` leaves it as it is.
    pub fn manage_default_security_group(mut self, manage: bool) -> Self {
        self.manage_default_security_group = manage;
        self
    }

    /// The S3 gateway endpoint on the private route tables (default `true`; it is free): S3
    /// traffic, ECR's image layers among it, skips the NAT gateway. Without private subnets
    /// there is nothing for it to serve, and none is made.
    pub fn s3_gateway_endpoint(mut self, enable: bool) -> Self {
        self.s3_gateway_endpoint = enable;
        self
    }

    /// Interface endpoints in the private subnets, with private DNS and a security group
    /// admitting HTTPS from the VPC: any of `ecr.api`, `ecr.dkr`, `logs`, `secretsmanager`,
    /// `ssm`, `sts` ([`INTERFACE_SERVICES`](crate::INTERFACE_SERVICES)). With `ecr.api`,
    /// `ecr.dkr` and `logs` (and the S3 endpoint), Fargate tasks in private subnets pull from
    /// ECR and log without a NAT gateway. Each costs by the hour in every zone.
    pub fn interface_endpoints<I, S>(mut self, services: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.interface_endpoints
            .extend(services.into_iter().map(Into::into));
        self
    }

    /// The VPC's flow log, to the CloudWatch log group `/aws/vpc-flow-logs/<environment>`
    /// (30 days by default), delivered as the role `<environment>-vpc-flow-logs` with an
    /// inline policy for that group only. Off by default; turned off, the flow log goes.
    pub fn flow_logs(mut self, flow_logs: FlowLogs) -> Self {
        self.flow_logs = Some(flow_logs);
        self
    }

    /// Checks every input and reports every problem at once.
    pub fn build(self) -> Result<Vpc, Invalid> {
        let mut invalid = Invalid::new();

        let environment = self.environment.clone().unwrap_or_default();
        invalid.check_environment(&environment);
        let cidr_block = self.check_cidr_block(&mut invalid);
        self.check_zones(&mut invalid);

        invalid.check_tags(&self.tags);
        invalid.check(
            self.create_private_subnets
                || self.nat_gateways == NatGateways::One
                || self.nat_gateways == NatGateways::None,
            "nat_gateways",
            "NAT gateways per AZ need private subnets (create_private_subnets is false)",
        );

        self.check_interface_services(&mut invalid);
        self.check_flow_logs(&mut invalid);
        invalid.check(
            self.interface_endpoints.is_empty() || self.create_private_subnets,
            "interface_endpoints",
            "interface endpoints go in the private subnets, and create_private_subnets is false",
        );

        invalid.into_result(())?;
        Ok(Vpc {
            environment,
            cidr_block: cidr_block.expect("checked above"),
            availability_zones: self.availability_zones,
            fargate: self.fargate,
            create_private_subnets: self.create_private_subnets,
            create_private_hosted_zone: self.create_private_hosted_zone,
            public_subnet_map_public_ip_on_launch: self.public_subnet_map_public_ip_on_launch,
            nat_gateways: if self.create_private_subnets {
                self.nat_gateways
            } else {
                NatGateways::None
            },
            manage_default_security_group: self.manage_default_security_group,
            s3_gateway_endpoint: self.s3_gateway_endpoint,
            interface_endpoints: self.interface_endpoints,
            flow_logs: self.flow_logs,
            tags: self.tags,
            wait: self.wait,
        })
    }

    /// The VPC's CIDR block, parsed and of a size the carving fits; `None` when invalid.
    fn check_cidr_block(&self, invalid: &mut Invalid) -> Option<Ipv4Cidr> {
        match self.cidr_block.parse::<Ipv4Cidr>() {
            Ok(cidr) => {
                invalid.check(
                    (16..=19).contains(&cidr.prefix()),
                    "cidr_block",
                    format_args!(
                        "{cidr} must be between /16 and /19: each subnet takes 8 more bits, and a load balancer needs subnets of at least /27"
                    ),
                );
                Some(cidr)
            }
            Err(err) => {
                invalid.push("cidr_block", err);
                None
            }
        }
    }

    /// The availability zones given: how many, each a name or id, once, and one Fargate
    /// takes when asked.
    fn check_zones(&self, invalid: &mut Invalid) {
        let Some(zones) = &self.availability_zones else {
            return;
        };
        invalid.check(
            !zones.is_empty(),
            "availability_zones",
            "must name at least one zone",
        );
        // Public and private subnets share the 256 /24s (or smaller) the carving allows.
        let tiers = if self.create_private_subnets { 2 } else { 1 };
        invalid.check(
            zones.len() * tiers <= 256,
            "availability_zones",
            format_args!(
                "{} zones need {} subnets; 8 bits of carving give at most 256",
                zones.len(),
                zones.len() * tiers
            ),
        );
        let mut seen = HashSet::new();
        for (i, zone) in zones.iter().enumerate() {
            let field = format!("availability_zones[{i}]");
            let id = crate::zones::is_zone_id(zone);
            if !is_zone_name(zone) && !id {
                invalid.push(
                    &field,
                    format_args!(
                        "{zone:?} is neither an availability zone name (like us-east-1a) nor a zone id (like use1-az1)"
                    ),
                );
            } else if !seen.insert(zone.as_str()) {
                invalid.push(&field, format_args!("{zone} is listed twice"));
            } else if let Some(why) = self
                .fargate
                .then(|| crate::zones::fargate_refuses(zone))
                .flatten()
            {
                invalid.push(&field, why);
            }
        }
    }

    /// Each interface endpoint is a service the module knows, listed once.
    fn check_interface_services(&self, invalid: &mut Invalid) {
        for (i, service) in self.interface_endpoints.iter().enumerate() {
            let field = format!("interface_endpoints[{i}]");
            if !crate::INTERFACE_SERVICES.contains(&service.as_str()) {
                invalid.push(
                    &field,
                    format_args!(
                        "{service:?} is not one of {}",
                        crate::INTERFACE_SERVICES.join(", ")
                    ),
                );
            } else if self.interface_endpoints[..i].contains(service) {
                invalid.push(&field, format_args!("{service} is listed twice"));
            }
        }
    }

    /// The flow logs' retention is one CloudWatch Logs accepts.
    fn check_flow_logs(&self, invalid: &mut Invalid) {
        if let Some(flow) = &self.flow_logs {
            let days = flow.retention_in_days;
            invalid.check(
                converge::LogGroup::RETENTION_DAYS.contains(&days),
                "flow_logs.retention_in_days",
                format_args!(
                    "{days} is not a retention CloudWatch Logs accepts: one of {:?}",
                    converge::LogGroup::RETENTION_DAYS
                ),
            );
        }
    }
}

/// `us-east-1a`, `eu-central-1c`, `us-gov-west-1b`: a region name and a zone letter.
fn is_zone_name(zone: &str) -> bool {
    let Some((region, letter)) = zone.split_at_checked(zone.len().saturating_sub(1)) else {
        return false;
    };
    letter.chars().all(|c| c.is_ascii_lowercase())
        && region.ends_with(|c: char| c.is_ascii_digit())
        && region.contains('-')
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_modules() {
        let vpc = Vpc::builder().environment("blog").build().unwrap();
        assert_eq!(vpc.cidr_block.to_string(), "10.0.0.0/16");
        assert!(vpc.create_private_subnets);
        assert!(!vpc.create_private_hosted_zone);
        assert!(!vpc.public_subnet_map_public_ip_on_launch);
        assert_eq!(vpc.nat_gateways, NatGateways::One);
        assert_eq!(vpc.availability_zones, None);
    }

    #[test]
    fn reports_every_problem_at_once() {
        let err = Vpc::builder()
            .environment("9-bad_env")
            .cidr_block("10.0.0.1/16")
            .availability_zones(["us-east-1a", "us-east-1a", "mars"])
            .tag("aws:owner", "me")
            .build()
            .unwrap_err();
        let fields: Vec<_> = err.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "environment",
                "cidr_block",
                "availability_zones[1]",
                "availability_zones[2]",
                "tags[\"aws:owner\"]"
            ]
        );
        let text = err.to_string();
        assert!(text.starts_with("5 invalid inputs:"), "{text}");
        assert!(text.contains("did you mean 10.0.0.0/16?"), "{text}");
        assert!(text.contains("us-east-1a is listed twice"), "{text}");
    }

    #[test]
    fn the_readme_example_error() {
        let err = Vpc::builder()
            .environment("9-bad")
            .cidr_block("10.0.0.1/16")
            .availability_zones(["us-east-1a", "us-east-1a"])
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "3 invalid inputs:\n  \
             - environment: \"9-bad\" must be letters, digits and hyphens, start with a letter and not end with a hyphen (names and DNS names are built from it)\n  \
             - cidr_block: \"10.0.0.1/16\" has host bits set (did you mean 10.0.0.0/16?)\n  \
             - availability_zones[1]: us-east-1a is listed twice"
        );
    }

    #[test]
    fn cidr_must_leave_room_for_the_carving() {
        let err = Vpc::builder()
            .environment("blog")
            .cidr_block("10.0.0.0/24")
            .build()
            .unwrap_err();
        assert!(err.has("cidr_block"));
        assert!(err.to_string().contains("between /16 and /19"));
        assert!(Vpc::builder()
            .environment("blog")
            .cidr_block("10.0.0.0/19")
            .build()
            .is_ok());
        // Its subnets would be /28, too small for a load balancer.
        assert!(Vpc::builder()
            .environment("blog")
            .cidr_block("10.0.0.0/20")
            .build()
            .unwrap_err()
            .has("cidr_block"));
        assert!(Vpc::builder()
            .environment("blog")
            .cidr_block("10.0.0/16")
            .build()
            .unwrap_err()
            .has("cidr_block"));
    }

    #[test]
    fn environment_is_required_and_bounded() {
        assert!(Vpc::builder().build().unwrap_err().has("environment"));
        let long = "a".repeat(33);
        assert!(Vpc::builder()
            .environment(long)
            .build()
            .unwrap_err()
            .has("environment"));
        assert!(Vpc::builder()
            .environment("blog-")
            .build()
            .unwrap_err()
            .has("environment"));
    }

    #[test]
    fn zone_names() {
        assert!(is_zone_name("us-east-1a"));
        assert!(is_zone_name("us-gov-west-1b"));
        assert!(!is_zone_name("us-east-1"));
        assert!(!is_zone_name("a"));
        assert!(!is_zone_name(""));
        assert!(Vpc::builder()
            .environment("blog")
            .availability_zones(Vec::<String>::new())
            .build()
            .unwrap_err()
            .has("availability_zones"));
    }

    #[test]
    fn nat_per_az_needs_private_subnets() {
        let err = Vpc::builder()
            .environment("blog")
            .create_private_subnets(false)
            .nat_gateways(NatGateways::PerAz)
            .build()
            .unwrap_err();
        assert!(err.has("nat_gateways"));
    }
}

//! The module on the resource model: its resources declared into a stack, with typed
//! references to their outputs; plan, apply, destroy and outputs are runs of that stack.

use std::collections::HashMap;

use async_trait::async_trait;
use converge::kinds::iam_role::trust_policy;
use converge::kinds::{
    IngressRule, LogGroupKind, LogGroupSpec, Peer, PolicyNames, RoleKind, RolePolicyKey,
    RolePolicyKind, RolePolicySpec, RoleSpec, SecurityGroupKind, SecurityGroupSpec,
};
use converge::{Aws, Error, Handle, Module, Options, Plan, Ref, Resolver, Stack, Tags, Value};

use crate::default_security_group::{DefaultSgDesired, DefaultSgKind};
use crate::elastic_ips::EipKind;
use crate::endpoints::{EndpointDesired, EndpointKind, Placement};
use crate::flow_logs::{FlowLogDesired, FlowLogKind};
use crate::hosted_zones::{ZoneDesired, ZoneKind};
use crate::inputs::Vpc;
use crate::internet_gateways::{IgwDesired, IgwKind};
use crate::layout::{Layout, Target};
use crate::nat_gateways::{NatDesired, NatKind};
use crate::outputs::{VpcOutputs, VpcRefs};
use crate::route_tables::{RouteTableDesired, RouteTableKind};
use crate::subnets::{SubnetDesired, SubnetKind};
use crate::vpcs::{VpcDesired, VpcKind};

/// Where a route table's default route goes, by handle.
#[derive(Clone, Copy)]
enum RouteTo {
    Internet(Handle<IgwKind>),
    Nat(Handle<NatKind>),
    Nowhere,
}

/// What a declaration gives the module's own methods besides the public references.
struct Declared {
    refs: VpcRefs,
    /// The outputs of what exists, missing pieces left out: `None` without the VPC.
    partial: Ref<Option<VpcOutputs>>,
}

impl Vpc {
    async fn declare_all(&self, aws: &Aws, stack: &mut Stack) -> Result<Declared, Error> {
        let start = stack.len();
        let zones = crate::zones::resolve(aws, self).await?;
        stack.require([converge::Grant::new(["ec2:DescribeAvailabilityZones"])]);
        let zone_ids = zones.ids;
        let layout = Layout::new(self, zones.names);
        let tags = self.tags();

        let (vpc, igw) = self.declare_vpc(stack, &layout, &tags);
        let vpc_id = vpc_id_of(vpc);
        let subnets = declare_subnets(stack, &layout, &tags, vpc);
        let nats = self.declare_nats(stack, &layout, &tags, &subnets);
        let private_tables = declare_route_tables(stack, &layout, &tags, vpc, igw, &subnets, &nats);

        self.declare_endpoints(aws, stack, &tags, vpc_id, &subnets.private, &private_tables);
        self.declare_flow_logs(stack, &tags, vpc_id);
        let zone = self.declare_zone(stack, &layout, &tags, vpc);

        let ids = |handles: &[Handle<SubnetKind>]| {
            Ref::all(handles.iter().map(|h| h.output(|o| o.id.clone())))
        };
        let private_egress = if private_tables.is_empty() {
            Ref::known(())
        } else {
            Ref::all(private_tables.iter().map(|t| t.done())).map(|_| ())
        };
        let made = Made {
            vpc,
            igw,
            public: subnets.public,
            private: subnets.private,
            nats: nats.order,
            zone,
            vpc_cidr: layout.cidr.to_string(),
            zones: layout.zones.clone(),
            zone_ids,
        };
        Ok(Declared {
            refs: VpcRefs {
                vpc_id: vpc.output(|o| o.id.clone()),
                vpc_cidr: Ref::known(made.vpc_cidr.clone()),
                public_subnets: ids(&made.public),
                private_subnets: ids(&made.private),
                availability_zones: Ref::known(made.zones.clone()),
                availability_zone_ids: Ref::known(made.zone_ids.clone()),
                private_egress,
                outputs: made.outputs(),
                addresses: stack.addresses_from(start),
            },
            partial: made.partial(),
        })
    }

    /// The VPC, its internet gateway, and its default security group when managed.
    fn declare_vpc(
        &self,
        stack: &mut Stack,
        layout: &Layout,
        tags: &Tags,
    ) -> (Handle<VpcKind>, Handle<IgwKind>) {
        let cidr = layout.cidr.to_string();
        let vpc = stack.add(VpcKind, &layout.vpc_name, tags.clone(), (), move |_| {
            VpcDesired { cidr: cidr.clone() }
        });
        let vpc_id = vpc_id_of(vpc);
        let igw = stack.add(IgwKind, &layout.igw_name, tags.clone(), (), move |r| {
            IgwDesired { vpc_id: vpc_id(r) }
        });
        if self.manage_default_security_group {
            let name = format!("{}-default", self.environment);
            stack.add(DefaultSgKind, name, tags.clone(), (), move |r| {
                DefaultSgDesired { vpc_id: vpc_id(r) }
            });
        }
        (vpc, igw)
    }

    /// The NAT gateways and their addresses; when none is wanted, those left from before are
    /// still looked for, so they go.
    fn declare_nats<'a>(
        &self,
        stack: &mut Stack,
        layout: &'a Layout,
        tags: &Tags,
        subnets: &Subnets<'_>,
    ) -> Nats<'a> {
        let mut nats = Nats {
            by_name: HashMap::new(),
            order: Vec::new(),
        };
        for spec in &layout.nats {
            let eip = stack.add(EipKind, &spec.eip_name, tags.clone(), (), |_| ());
            let subnet = subnets.by_name[spec.subnet.as_str()];
            let kind = NatKind { wait: self.wait };
            let nat = stack.add(kind, &spec.name, tags.clone(), (), move |r| NatDesired {
                subnet_id: r.get(&subnet).map(|o| o.id.clone()),
                allocation_id: r.get(&eip).map(|o| o.allocation_id.clone()),
            });
            nats.by_name.insert(&spec.name, nat);
            nats.order.push(nat);
        }
        if layout.nats.is_empty() {
            // None wanted: NAT gateways and addresses left from before still go, the
            // gateways first, before the subnets they sit in.
            let env = &self.environment;
            let eips = stack.track(EipKind, format!("{env}-nat-eip"), tags.clone(), (), |_| {});
            let in_subnets = subnets.public.clone();
            stack.track(
                NatKind { wait: self.wait },
                format!("{env}-nat-gateway"),
                tags.clone(),
                (),
                move |r| {
                    r.get(&eips);
                    for h in &in_subnets {
                        r.get(h);
                    }
                },
            );
        }
        nats
    }

    /// The private hosted zone when wanted; when not (any more), one made before is still
    /// looked for, so it goes before the VPC.
    fn declare_zone(
        &self,
        stack: &mut Stack,
        layout: &Layout,
        tags: &Tags,
        vpc: Handle<VpcKind>,
    ) -> Option<Handle<ZoneKind>> {
        let vpc_id = vpc_id_of(vpc);
        let zone = layout.zone.as_ref().map(|domain| {
            stack.add(ZoneKind, domain, tags.clone(), (), move |r| ZoneDesired {
                vpc_id: vpc_id(r),
            })
        });
        if zone.is_none() {
            // Not wanted (any more): a zone made before still goes, before the VPC.
            let domain = format!("{}.local", self.environment);
            stack.track(ZoneKind, domain, tags.clone(), (), move |r| {
                vpc_id(r);
            });
        }
        zone
    }

    /// What [`apply`](Vpc::apply) would change, without changing anything. Checks the
    /// availability zones against the region first.
    pub async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::plan(self, aws).await
    }

    /// Makes AWS match the inputs and returns the outputs. Creates or updates only what
    /// differs: a second apply with the same inputs makes no mutating call, and an apply cut
    /// off part way and run again finishes the job. A failure ([`Error::Stopped`]) lists what
    /// was done and what remains.
    pub async fn apply(&self, aws: &Aws) -> Result<converge::Applied<VpcOutputs>, Error> {
        Module::apply(self, aws).await
    }

    /// Deletes everything this instance made, found by its ownership tag (never by saved
    /// outputs), in reverse dependency order. Works on a half-built or absent network, and
    /// never touches a resource without our ownership tag, whatever its name. Returns what it
    /// deleted.
    pub async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::destroy(self, aws).await
    }

    /// What [`destroy`](Vpc::destroy) would delete.
    pub async fn plan_destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::plan_destroy(self, aws).await
    }

    /// The outputs of what exists now, like `terraform output`, with no mutating call: `None`
    /// when the VPC does not exist. Unlike [`Module::outputs`], resources still missing (a
    /// half-built or drifted network) are left out of the lists rather than making the whole
    /// `None`, so what lives in the network can still be found.
    pub async fn outputs(&self, aws: &Aws) -> Result<Option<VpcOutputs>, Error> {
        match self.plan_and_outputs(aws).await {
            Ok((_, outputs)) => Ok(outputs),
            // Only the VPC is read by name: a look-alike means no VPC of ours, and reading
            // outputs (a destroy looking for what lives in the network) is no reason to fail.
            Err(Error::NotOwned { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// [`plan`](Vpc::plan) and [`outputs`](Vpc::outputs) from one read.
    pub async fn plan_and_outputs(&self, aws: &Aws) -> Result<(Plan, Option<VpcOutputs>), Error> {
        let mut stack = Stack::new();
        let declared = self.declare_all(aws, &mut stack).await?;
        let resolved = stack.plan(aws).await?;
        let outputs = resolved.value(&declared.partial).into_known().flatten();
        Ok((resolved.into_plan(), outputs))
    }

    pub(crate) fn tags(&self) -> Tags {
        Tags::new("vpc", &self.environment).with_extra(self.tags.clone())
    }
}

impl Vpc {
    /// The flow log, its log group, and the role it delivers as with the policy for that
    /// group. Without flow logs the three are still read, so that those made before go, the
    /// flow log first.
    fn declare_flow_logs(
        &self,
        stack: &mut Stack,
        tags: &Tags,
        vpc_id: impl Fn(&Resolver<'_>) -> Value<String> + Copy + Send + Sync + 'static,
    ) {
        let env = &self.environment;
        let name = format!("{env}-flow-log");
        let group_name = format!("/aws/vpc-flow-logs/{env}");
        let role_name = format!("{env}-vpc-flow-logs");
        let Some(flow) = self.flow_logs else {
            let role = stack.track(RoleKind, role_name, tags.clone(), (), |_| {});
            let group = stack.track(LogGroupKind, group_name, tags.clone(), (), |_| {});
            stack.track(FlowLogKind, name, tags.clone(), (), move |r| {
                vpc_id(r);
                let _ = (r.get(&role), r.get(&group));
            });
            return;
        };
        let group = stack.add(LogGroupKind, &group_name, tags.clone(), (), move |_| {
            LogGroupSpec {
                retention_in_days: Some(flow.retention_in_days),
            }
        });
        let role = stack.add(RoleKind, &role_name, tags.clone(), (), |_| RoleSpec {
            assume_role_policy: trust_policy("vpc-flow-logs.amazonaws.com"),
            managed_policy_arns: Vec::new(),
        });
        let policy_name = format!("{role_name}-deliver");
        let key = RolePolicyKey {
            role: role_name.clone(),
            names: PolicyNames::Exact(vec![policy_name.clone()]),
        };
        let policy_role = role_name.clone();
        let policy = stack.add(RolePolicyKind, policy_name, tags.clone(), key, move |r| {
            RolePolicySpec {
                role: policy_role.clone(),
                document: r.get(&group).map(|g| deliver_policy(&g.log_group_arn)),
            }
        });
        stack.options(policy, Options::new().depends_on(role.done()));
        let flow_log = stack.add(FlowLogKind, name, tags.clone(), (), move |r| {
            FlowLogDesired {
                vpc_id: vpc_id(r),
                traffic: flow.traffic,
                log_group: group_name.clone(),
                role_arn: r.get(&role).map(|o| o.role_arn.clone()),
            }
        });
        // Delivery needs the policy in place.
        stack.options(flow_log, Options::new().depends_on(policy.done()));
    }

    /// The S3 gateway endpoint on the private route tables, the interface endpoints in the
    /// private subnets and their security group. Each endpoint reads the group, so that
    /// destroy (and apply, for one taken out of the inputs) deletes the endpoints, and their
    /// network interfaces, before the group and the subnets. What is not wanted is still
    /// read, so that one made before goes.
    fn declare_endpoints(
        &self,
        aws: &Aws,
        stack: &mut Stack,
        tags: &Tags,
        vpc_id: impl Fn(&Resolver<'_>) -> Value<String> + Copy + Send + Sync + 'static,
        private: &[Handle<SubnetKind>],
        private_tables: &[Handle<RouteTableKind>],
    ) {
        let env = &self.environment;
        let kind = EndpointKind { wait: self.wait };
        let region = aws.region().to_owned();
        let sg_name = format!("{env}-vpce-sg");
        let sg = if self.interface_endpoints.is_empty() {
            stack.track(SecurityGroupKind, sg_name, tags.clone(), (), move |r| {
                vpc_id(r);
            })
        } else {
            let cidr = self.cidr_block.to_string();
            stack.add(SecurityGroupKind, sg_name, tags.clone(), (), move |r| {
                SecurityGroupSpec {
                    vpc_id: vpc_id(r),
                    description: "HTTPS from the VPC to its interface endpoints".into(),
                    ingress: vec![IngressRule {
                        from: 443,
                        to: 443,
                        peer: Value::Known(Peer::Cidr(cidr.clone())),
                    }],
                }
            })
        };
        let ids = |handles: &[Handle<SubnetKind>], r: &Resolver<'_>| -> Value<Vec<String>> {
            handles
                .iter()
                .map(|h| r.get(h).map(|o| o.id.clone()))
                .collect()
        };
        let mut declared = false;
        if self.s3_gateway_endpoint && !private_tables.is_empty() {
            let (tables, service) = (
                private_tables.to_vec(),
                format!("com.amazonaws.{region}.s3"),
            );
            let s3 = stack.add(kind, format!("{env}-vpce-s3"), tags.clone(), (), move |r| {
                EndpointDesired {
                    vpc_id: vpc_id(r),
                    service_name: service.clone(),
                    placement: Placement::Gateway {
                        route_tables: tables
                            .iter()
                            .map(|t| r.get(t).map(|o| o.id.clone()))
                            .collect(),
                    },
                }
            });
            // Made after, and deleted before, the endpoints' security group, as the
            // interface endpoints are.
            stack.options(s3, Options::new().depends_on(sg.done()));
            declared = true;
        }
        for service in &self.interface_endpoints {
            let (subnets, service_name) = (
                private.to_vec(),
                format!("com.amazonaws.{region}.{service}"),
            );
            let name = format!("{env}-vpce-{}", service.replace('.', "-"));
            stack.add(kind, name, tags.clone(), (), move |r| EndpointDesired {
                vpc_id: vpc_id(r),
                service_name: service_name.clone(),
                placement: Placement::Interface {
                    subnets: ids(&subnets, r),
                    security_groups: r.get(&sg).map(|o| vec![o.id.clone()]),
                },
            });
            declared = true;
        }
        if !declared {
            let (subnets, tables) = (private.to_vec(), private_tables.to_vec());
            stack.track(kind, format!("{env}-vpce"), tags.clone(), (), move |r| {
                vpc_id(r);
                let _ = r.get(&sg);
                let _ = ids(&subnets, r);
                for t in &tables {
                    let _ = r.get(t);
                }
            });
        }
    }
}

/// Reads the VPC's id, for the specs of what lives in it.
fn vpc_id_of(
    vpc: Handle<VpcKind>,
) -> impl Fn(&Resolver<'_>) -> Value<String> + Copy + Send + Sync + 'static {
    move |r: &Resolver<'_>| r.get(&vpc).map(|o| o.id.clone())
}

/// The subnets, by name and by kind, in the layout's order.
struct Subnets<'a> {
    by_name: HashMap<&'a str, Handle<SubnetKind>>,
    public: Vec<Handle<SubnetKind>>,
    private: Vec<Handle<SubnetKind>>,
}

/// The NAT gateways, by name and in the layout's order.
struct Nats<'a> {
    by_name: HashMap<&'a str, Handle<NatKind>>,
    order: Vec<Handle<NatKind>>,
}

/// Every subnet of the layout, in the VPC.
fn declare_subnets<'a>(
    stack: &mut Stack,
    layout: &'a Layout,
    tags: &Tags,
    vpc: Handle<VpcKind>,
) -> Subnets<'a> {
    let vpc_id = vpc_id_of(vpc);
    let mut subnets = Subnets {
        by_name: HashMap::new(),
        public: Vec::new(),
        private: Vec::new(),
    };
    for spec in &layout.subnets {
        let (cidr, az, map_public_ip) =
            (spec.cidr.to_string(), spec.az.clone(), spec.map_public_ip);
        let handle = stack.add(SubnetKind, &spec.name, tags.clone(), (), move |r| {
            SubnetDesired {
                vpc_id: vpc_id(r),
                cidr: cidr.clone(),
                az: az.clone(),
                map_public_ip,
            }
        });
        subnets.by_name.insert(&spec.name, handle);
        if spec.public {
            subnets.public.push(handle);
        } else {
            subnets.private.push(handle);
        }
    }
    subnets
}

/// Every route table of the layout with the subnets it serves; returns the private ones
/// (those not routed to the internet gateway).
fn declare_route_tables(
    stack: &mut Stack,
    layout: &Layout,
    tags: &Tags,
    vpc: Handle<VpcKind>,
    igw: Handle<IgwKind>,
    subnets: &Subnets<'_>,
    nats: &Nats<'_>,
) -> Vec<Handle<RouteTableKind>> {
    let vpc_id = vpc_id_of(vpc);
    let mut private_tables = Vec::new();
    for spec in &layout.route_tables {
        let to = match &spec.target {
            Target::InternetGateway => RouteTo::Internet(igw),
            Target::Nat(name) => RouteTo::Nat(nats.by_name[name.as_str()]),
            Target::None => RouteTo::Nowhere,
        };
        let served: Vec<(String, Handle<SubnetKind>)> = spec
            .subnets
            .iter()
            .map(|name| (name.clone(), subnets.by_name[name.as_str()]))
            .collect();
        let table = stack.add(RouteTableKind, &spec.name, tags.clone(), (), move |r| {
            RouteTableDesired {
                vpc_id: vpc_id(r),
                target: match to {
                    RouteTo::Internet(h) => r.get(&h).map(|o| Some(o.id.clone())),
                    RouteTo::Nat(h) => r.get(&h).map(|o| Some(o.id.clone())),
                    RouteTo::Nowhere => Value::Known(None),
                },
                subnets: served
                    .iter()
                    .map(|(name, h)| (name.clone(), r.get(h).map(|o| o.id.clone())))
                    .collect(),
            }
        });
        if !matches!(spec.target, Target::InternetGateway) {
            private_tables.push(table);
        }
    }
    private_tables
}

/// What the outputs read: the declared resources and the values known before apply.
#[derive(Clone)]
struct Made {
    vpc: Handle<VpcKind>,
    igw: Handle<IgwKind>,
    public: Vec<Handle<SubnetKind>>,
    private: Vec<Handle<SubnetKind>>,
    nats: Vec<Handle<NatKind>>,
    zone: Option<Handle<ZoneKind>>,
    vpc_cidr: String,
    zones: Vec<String>,
    zone_ids: Vec<String>,
}

impl Made {
    /// The outputs, once every resource they read is known.
    fn outputs(&self) -> Ref<VpcOutputs> {
        let made = self.clone();
        let vpc_id = vpc_id_of(made.vpc);
        Ref::new(move |r| {
            let list = |hs: &[Handle<SubnetKind>]| -> Value<Vec<String>> {
                hs.iter().map(|h| r.get(h).map(|o| o.id.clone())).collect()
            };
            let nat_ids: Value<Vec<String>> = (made.nats.iter())
                .map(|h| r.get(h).map(|o| o.id.clone()))
                .collect();
            let zone = match &made.zone {
                Some(h) => r.get(h).map(|o| Some(o.clone())),
                None => Value::Known(None),
            };
            vpc_id(r)
                .zip(list(&made.public))
                .zip(list(&made.private))
                .zip(r.get(&made.igw).map(|o| o.id.clone()))
                .zip(nat_ids)
                .zip(zone)
                .map(
                    |(((((vpc_id, public), private), igw), nats), zone)| VpcOutputs {
                        vpc_id,
                        vpc_cidr: made.vpc_cidr.clone(),
                        public_subnets: public,
                        private_subnets: private,
                        availability_zones: made.zones.clone(),
                        availability_zone_ids: made.zone_ids.clone(),
                        private_dns_zone_id: zone.as_ref().map(|z| z.id.clone()),
                        private_domain_name: zone.map(|z| z.domain),
                        nat_gateway_ids: nats,
                        internet_gateway_id: igw,
                    },
                )
        })
    }

    /// The outputs of what exists, missing pieces left out: `None` without the VPC.
    fn partial(&self) -> Ref<Option<VpcOutputs>> {
        let made = self.clone();
        let vpc_id = vpc_id_of(made.vpc);
        Ref::new(move |r| {
            let Value::Known(vpc_id) = vpc_id(r) else {
                return Value::Known(None);
            };
            let known = |hs: &[Handle<SubnetKind>]| -> Vec<String> {
                hs.iter()
                    .filter_map(|h| r.get(h).map(|o| o.id.clone()).into_known())
                    .collect()
            };
            let zone = (made.zone).and_then(|h| r.get(&h).map(Clone::clone).into_known());
            Value::Known(Some(VpcOutputs {
                vpc_id,
                vpc_cidr: made.vpc_cidr.clone(),
                public_subnets: known(&made.public),
                private_subnets: known(&made.private),
                availability_zones: made.zones.clone(),
                availability_zone_ids: made.zone_ids.clone(),
                private_dns_zone_id: zone.as_ref().map(|z| z.id.clone()),
                private_domain_name: zone.map(|z| z.domain),
                nat_gateway_ids: (made.nats.iter())
                    .filter_map(|h| r.get(h).map(|o| o.id.clone()).into_known())
                    .collect(),
                internet_gateway_id: (r.get(&made.igw).map(|o| o.id.clone()))
                    .into_known()
                    .unwrap_or_default(),
            }))
        })
    }
}

/// What VPC Flow Logs may do as the role: write streams and events into `group` only.
fn deliver_policy(group_arn: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
            ],
            "Resource": [group_arn, format!("{group_arn}:*")],
        }],
    })
    .to_string()
}

#[async_trait]
impl Module for Vpc {
    type Outputs = VpcOutputs;
    type Refs = VpcRefs;

    /// Declares the network's resources into `stack` (a composition's, so that what lives
    /// in the network starts as soon as the parts it reads exist) and returns typed
    /// references to its values. Reads the region's availability zones, and nothing else.
    async fn declare(&self, aws: &Aws, stack: &mut Stack) -> Result<VpcRefs, Error> {
        Ok(self.declare_all(aws, stack).await?.refs)
    }
}

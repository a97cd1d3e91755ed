//! `aws_vpc_endpoint`: the S3 gateway endpoint on the private route tables, and interface
//! endpoints (ECR, CloudWatch Logs, Secrets Manager, SSM, STS) in the private subnets with
//! private DNS, so that tasks reach those services without a NAT gateway.
//!
//! Found by the ownership tag. The service, the type and the VPC are fixed; route tables,
//! subnets, security groups and private DNS change in place (`ModifyVpcEndpoint`). Delete
//! waits until the endpoint is gone: an interface endpoint's network interfaces hold its
//! subnets and security group until then.

use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, VpcEndpoint, VpcEndpointType};
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{
    ec2::Found, Action, Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Progress, Resource,
    Value, Wait, Wanted,
};

/// The interface endpoints a network may ask for: what Fargate tasks in private subnets need
/// to pull from ECR, log, and read secrets and parameters.
pub const INTERFACE_SERVICES: [&str; 6] =
    ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "sts"];

/// The endpoint kind; deletes wait as the module's `wait` says.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EndpointKind {
    pub wait: Wait,
}

/// Where an endpoint's traffic comes from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Placement<P: Phase = AtPlan> {
    /// A gateway endpoint: routes in these tables.
    Gateway { route_tables: P::Value<Vec<String>> },
    /// An interface endpoint: a network interface in each subnet, behind these groups, with
    /// private DNS.
    Interface {
        subnets: P::Value<Vec<String>>,
        security_groups: P::Value<Vec<String>>,
    },
}

/// What the inputs ask for.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct EndpointDesired<P: Phase = AtPlan> {
    pub vpc_id: P::Value<String>,
    /// `com.amazonaws.<region>.<service>`.
    pub service_name: String,
    pub placement: Placement<P>,
}

impl Resolve for EndpointDesired {
    type Output = EndpointDesired<AtApply>;

    fn resolve(&self) -> Result<EndpointDesired<AtApply>, Unknown> {
        Ok(EndpointDesired {
            vpc_id: self.vpc_id.resolve("vpc_id")?,
            service_name: self.service_name.clone(),
            placement: match &self.placement {
                Placement::Gateway { route_tables } => Placement::Gateway {
                    route_tables: route_tables.resolve("placement.route_tables")?,
                },
                Placement::Interface {
                    subnets,
                    security_groups,
                } => Placement::Interface {
                    subnets: subnets.resolve("placement.subnets")?,
                    security_groups: security_groups.resolve("placement.security_groups")?,
                },
            },
        })
    }
}

/// An endpoint we own.
#[derive(Clone, Debug)]
pub(crate) struct FoundEndpoint {
    id: String,
    name: String,
    owner: Option<String>,
    vpc_id: String,
    service_name: String,
    gateway: bool,
    route_tables: Vec<String>,
    subnets: Vec<String>,
    security_groups: Vec<String>,
    private_dns: bool,
}

/// Its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct EndpointOut {
    pub id: String,
}

pub(crate) const KIND: &str = "aws_vpc_endpoint";

fn found(f: Found<VpcEndpoint>) -> FoundEndpoint {
    let e = f.item;
    FoundEndpoint {
        id: e.vpc_endpoint_id().unwrap_or_default().to_owned(),
        name: f.name,
        owner: f.owner,
        vpc_id: e.vpc_id().unwrap_or_default().to_owned(),
        service_name: e.service_name().unwrap_or_default().to_owned(),
        gateway: e.vpc_endpoint_type() == Some(&VpcEndpointType::Gateway),
        route_tables: e.route_table_ids().to_vec(),
        subnets: e.subnet_ids().to_vec(),
        security_groups: e
            .groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_owned))
            .collect(),
        private_dns: e.private_dns_enabled() == Some(true),
    }
}

/// Whether EC2 still has it (a deleted endpoint is described for a while as `deleted`).
fn alive(e: &VpcEndpoint) -> bool {
    !matches!(
        e.state()
            .map(|s| s.as_str().to_ascii_lowercase())
            .as_deref(),
        Some("deleted" | "deleting" | "rejected" | "failed" | "expired")
    )
}

/// What to add and what to remove to turn `have` into `want`.
fn change(have: &[String], want: &[String]) -> (Vec<String>, Vec<String>) {
    let add = want.iter().filter(|w| !have.contains(w)).cloned().collect();
    let remove = have.iter().filter(|h| !want.contains(h)).cloned().collect();
    (add, remove)
}

/// A VPC endpoint's fields that a plan can show changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointField {
    /// The service it reaches (`com.amazonaws.<region>.<service>`); fixed.
    ServiceName,
    /// The VPC it serves; fixed.
    VpcId,
    /// `Gateway` or `Interface`; fixed.
    VpcEndpointType,
    /// A gateway endpoint's route tables.
    RouteTableIds,
    /// An interface endpoint's subnets.
    SubnetIds,
    /// An interface endpoint's security groups.
    SecurityGroupIds,
    /// Whether an interface endpoint's private DNS names resolve in the VPC.
    PrivateDnsEnabled,
}

impl Field for EndpointField {
    fn name(&self) -> &str {
        match self {
            EndpointField::ServiceName => "service_name",
            EndpointField::VpcId => "vpc_id",
            EndpointField::VpcEndpointType => "vpc_endpoint_type",
            EndpointField::RouteTableIds => "route_table_ids",
            EndpointField::SubnetIds => "subnet_ids",
            EndpointField::SecurityGroupIds => "security_group_ids",
            EndpointField::PrivateDnsEnabled => "private_dns_enabled",
        }
    }

    fn replaces(&self) -> Option<&'static str> {
        match self {
            EndpointField::ServiceName => Some("a VPC endpoint cannot change its service"),
            EndpointField::VpcId => Some("a VPC endpoint cannot move to another VPC"),
            EndpointField::VpcEndpointType => Some("a VPC endpoint cannot change its type"),
            EndpointField::RouteTableIds
            | EndpointField::SubnetIds
            | EndpointField::SecurityGroupIds
            | EndpointField::PrivateDnsEnabled => None,
        }
    }
}

#[async_trait]
impl Resource for EndpointKind {
    const KIND: &'static str = KIND;
    // An endpoint taken out of the inputs goes.
    const PRUNE: bool = true;
    type Field = EndpointField;
    type Key = ();
    type Desired = EndpointDesired;
    type Observed = FoundEndpoint;
    type Outputs = EndpointOut;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::{ec2_tags_on_create, Grant};
        vec![
            Grant::new([
                "ec2:DescribeVpcEndpoints",
                "ec2:CreateVpcEndpoint",
                "ec2:ModifyVpcEndpoint",
            ]),
            ec2_tags_on_create("CreateVpcEndpoint"),
            Grant::new(["ec2:DeleteVpcEndpoints"]).owned(),
        ]
    }

    async fn read(
        &self,
        aws: &Aws,
        wanted: &[Wanted<'_, ()>],
    ) -> Result<Vec<FoundEndpoint>, Error> {
        let endpoints = converge::ec2::read_owned(
            wanted,
            "DescribeVpcEndpoints",
            KIND,
            |owned| {
                aws.ec2()
                    .describe_vpc_endpoints()
                    .filters(owned)
                    .into_paginator()
                    .send()
            },
            |page| page.vpc_endpoints.unwrap_or_default(),
        )
        .await?;
        Ok(endpoints
            .into_iter()
            .filter(|e| alive(&e.item))
            .map(found)
            .collect())
    }

    fn name<'o>(&self, o: &'o FoundEndpoint) -> &'o str {
        &o.name
    }
    fn owner<'o>(&self, o: &'o FoundEndpoint) -> Option<&'o str> {
        o.owner.as_deref()
    }
    fn id(&self, o: &FoundEndpoint) -> String {
        o.id.clone()
    }

    fn describe(&self, d: &EndpointDesired) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta
            .update(
                EndpointField::ServiceName,
                None::<String>,
                Some(&d.service_name),
            )
            .update(EndpointField::VpcId, None::<String>, Some(&d.vpc_id));
        match &d.placement {
            Placement::Gateway { route_tables } => {
                let tables = route_tables.as_ref().map(|t| t.join(","));
                delta.update(EndpointField::RouteTableIds, None::<String>, Some(tables));
            }
            Placement::Interface {
                subnets,
                security_groups,
            } => {
                let subnets = subnets.as_ref().map(|s| s.join(","));
                let groups = security_groups.as_ref().map(|g| g.join(","));
                delta
                    .update(EndpointField::SubnetIds, None::<String>, Some(subnets))
                    .update(
                        EndpointField::SecurityGroupIds,
                        None::<String>,
                        Some(groups),
                    )
                    .update(
                        EndpointField::PrivateDnsEnabled,
                        None::<String>,
                        Some("true"),
                    );
            }
        }
        delta.described()
    }

    fn diff(&self, d: &EndpointDesired, o: &FoundEndpoint) -> Delta<EndpointField> {
        let mut delta = Delta::new();
        delta
            .compare(
                EndpointField::ServiceName,
                &o.service_name,
                &Value::Known(d.service_name.clone()),
            )
            .compare(EndpointField::VpcId, &o.vpc_id, &d.vpc_id);
        match &d.placement {
            Placement::Gateway { route_tables } => {
                if !o.gateway {
                    delta.update(
                        EndpointField::VpcEndpointType,
                        Some("Interface"),
                        Some("Gateway"),
                    );
                }
                delta.compare_set(EndpointField::RouteTableIds, &o.route_tables, route_tables);
            }
            Placement::Interface {
                subnets,
                security_groups,
            } => {
                if o.gateway {
                    delta.update(
                        EndpointField::VpcEndpointType,
                        Some("Gateway"),
                        Some("Interface"),
                    );
                }
                delta
                    .compare_set(EndpointField::SubnetIds, &o.subnets, subnets)
                    .compare_set(
                        EndpointField::SecurityGroupIds,
                        &o.security_groups,
                        security_groups,
                    )
                    .compare(
                        EndpointField::PrivateDnsEnabled,
                        &o.private_dns,
                        &Value::Known(true),
                    );
            }
        }
        delta
    }

    /// The module's `wait` input.
    fn wait(&self, _: Option<&EndpointDesired>) -> Wait {
        self.wait
    }

    fn outputs(&self, o: &FoundEndpoint) -> EndpointOut {
        EndpointOut { id: o.id.clone() }
    }
    fn output_id(&self, out: &EndpointOut) -> Option<String> {
        Some(out.id.clone())
    }

    async fn create(&self, cx: Cx<'_>, d: &EndpointDesired<AtApply>) -> Result<EndpointOut, Error> {
        let vpc_id = &d.vpc_id;
        // The SDK fills in no token for this call: without one, a retry after a lost answer
        // makes a second endpoint.
        let token = converge::client_token(&cx, KIND, "create", converge::token::EC2);
        let mut call = cx
            .aws
            .ec2()
            .create_vpc_endpoint()
            .client_token(token.as_str())
            .vpc_id(vpc_id)
            .service_name(&d.service_name)
            .tag_specifications(cx.tags.ec2_spec(ResourceType::VpcEndpoint, cx.name));
        call = match &d.placement {
            Placement::Gateway { route_tables } => call
                .vpc_endpoint_type(VpcEndpointType::Gateway)
                .set_route_table_ids(Some(route_tables.clone())),
            Placement::Interface {
                subnets,
                security_groups,
            } => call
                .vpc_endpoint_type(VpcEndpointType::Interface)
                .set_subnet_ids(Some(subnets.clone()))
                .set_security_group_ids(Some(security_groups.clone()))
                .private_dns_enabled(true),
        };
        let out = call
            .send()
            .await
            .context("CreateVpcEndpoint", cx.address(KIND, None))?;
        token.made();
        let id = out
            .vpc_endpoint()
            .and_then(|e| e.vpc_endpoint_id())
            .unwrap_or_default()
            .to_owned();
        Ok(EndpointOut { id })
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &EndpointDesired<AtApply>,
        o: &FoundEndpoint,
        delta: &Delta<EndpointField>,
    ) -> Result<EndpointOut, Error> {
        // One `ModifyVpcEndpoint` carries every change; the fields say which parts.
        let (mut tables, mut subnets_changed, mut groups_changed, mut dns) =
            (false, false, false, false);
        for field in delta.fields() {
            match field {
                // Replaced, never updated.
                EndpointField::ServiceName
                | EndpointField::VpcId
                | EndpointField::VpcEndpointType => {}
                EndpointField::RouteTableIds => tables = true,
                EndpointField::SubnetIds => subnets_changed = true,
                EndpointField::SecurityGroupIds => groups_changed = true,
                EndpointField::PrivateDnsEnabled => dns = true,
            }
        }
        let mut call = cx.aws.ec2().modify_vpc_endpoint().vpc_endpoint_id(&o.id);
        match &d.placement {
            Placement::Gateway { route_tables } => {
                if tables {
                    let (add, remove) = change(&o.route_tables, route_tables);
                    call = call
                        .set_add_route_table_ids(Some(add).filter(|a| !a.is_empty()))
                        .set_remove_route_table_ids(Some(remove).filter(|r| !r.is_empty()));
                }
            }
            Placement::Interface {
                subnets,
                security_groups,
            } => {
                if subnets_changed {
                    let (add, remove) = change(&o.subnets, subnets);
                    call = call
                        .set_add_subnet_ids(Some(add).filter(|a| !a.is_empty()))
                        .set_remove_subnet_ids(Some(remove).filter(|r| !r.is_empty()));
                }
                if groups_changed {
                    let (add, remove) = change(&o.security_groups, security_groups);
                    call = call
                        .set_add_security_group_ids(Some(add).filter(|a| !a.is_empty()))
                        .set_remove_security_group_ids(Some(remove).filter(|r| !r.is_empty()));
                }
                if dns {
                    call = call.private_dns_enabled(true);
                }
            }
        }
        call.send()
            .await
            .context("ModifyVpcEndpoint", cx.address(KIND, Some(o.id.clone())))?;
        Ok(self.outputs(o))
    }

    /// Deletes it; the engine waits until it is [`gone`](Resource::gone).
    async fn delete(&self, cx: Cx<'_>, o: &FoundEndpoint) -> Result<(), Error> {
        let address = cx.address(KIND, Some(o.id.clone()));
        let out = cx
            .aws
            .ec2()
            .delete_vpc_endpoints()
            .vpc_endpoint_ids(&o.id)
            .send()
            .await
            .context("DeleteVpcEndpoints", address.clone())?;
        // EC2 answers a refused delete with success and the refusal in `Unsuccessful`.
        if let Some(error) = out.unsuccessful().iter().find_map(|u| u.error()) {
            let code = error.code().unwrap_or_default();
            if !code.contains("NotFound") {
                return Err(Error::Failed {
                    resource: address.to_string(),
                    reason: format!(
                        "DeleteVpcEndpoints: {code}: {}",
                        error.message().unwrap_or_default()
                    ),
                });
            }
        }
        Ok(())
    }

    /// An interface endpoint is `available`: AWS keeps a new one `pending` for a minute or
    /// two, its private DNS names resolving only after, and refuses to modify it meanwhile.
    async fn ready(
        &self,
        cx: Cx<'_>,
        d: &EndpointDesired<AtApply>,
        out: &EndpointOut,
        action: Action,
    ) -> Result<Progress<EndpointOut>, Error> {
        let gateway = matches!(d.placement, Placement::Gateway { .. });
        if gateway || action == Action::Update {
            return Ok(Progress::Done(out.clone()));
        }
        let address = cx.address(KIND, Some(out.id.clone()));
        let pending = Progress::pending(format!("{address} to be available"));
        let state = match describe(cx, &out.id, &address).await? {
            // Not described yet: EC2 is eventually consistent.
            None => return Ok(pending),
            Some(endpoint) => endpoint.state().map(|s| s.as_str().to_ascii_lowercase()),
        };
        match state.as_deref() {
            Some("available") => Ok(Progress::Done(out.clone())),
            Some(bad @ ("failed" | "rejected" | "expired")) => Err(Error::Failed {
                resource: address.to_string(),
                reason: format!("the endpoint is {bad}"),
            }),
            _ => Ok(pending),
        }
    }

    /// EC2 no longer has it, so that its network interfaces no longer hold the subnets and
    /// the security group that go after it (a gateway endpoint has none).
    async fn gone(&self, cx: Cx<'_>, o: &FoundEndpoint) -> Result<Progress<()>, Error> {
        if o.gateway {
            return Ok(Progress::Done(()));
        }
        let address = cx.address(KIND, Some(o.id.clone()));
        Ok(match describe(cx, &o.id, &address).await? {
            Some(endpoint) if alive(&endpoint) => {
                Progress::pending(format!("{address} to be deleted"))
            }
            _ => Progress::Done(()),
        })
    }
}

/// The endpoint `id`, if EC2 describes it.
async fn describe(
    cx: Cx<'_>,
    id: &str,
    address: &converge::Address,
) -> Result<Option<VpcEndpoint>, Error> {
    let out = cx
        .aws
        .ec2()
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(id)
        .send()
        .await
        .context("DescribeVpcEndpoints", address);
    match out {
        Err(err) if err.is_not_found() => Ok(None),
        other => Ok(other?.vpc_endpoints().first().cloned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found_interface() -> FoundEndpoint {
        FoundEndpoint {
            id: "vpce-1".into(),
            name: "blog-vpce-logs".into(),
            owner: None,
            vpc_id: "vpc-1".into(),
            service_name: "com.amazonaws.us-east-1.logs".into(),
            gateway: false,
            route_tables: Vec::new(),
            subnets: vec!["subnet-a".into(), "subnet-b".into()],
            security_groups: vec!["sg-1".into()],
            private_dns: true,
        }
    }

    fn interface(subnets: &[&str]) -> EndpointDesired {
        EndpointDesired {
            vpc_id: Value::Known("vpc-1".into()),
            service_name: "com.amazonaws.us-east-1.logs".into(),
            placement: Placement::Interface {
                subnets: Value::Known(subnets.iter().map(|s| s.to_string()).collect()),
                security_groups: Value::Known(vec!["sg-1".into()]),
            },
        }
    }

    /// Clients that make the endpoint `vpce-1`, logging each client token sent in `sent`.
    fn ec2(sent: &std::sync::Arc<std::sync::Mutex<Vec<String>>>) -> Aws {
        use aws_sdk_ec2::operation::create_vpc_endpoint::CreateVpcEndpointOutput;
        use aws_smithy_mocks::{mock, mock_client, RuleMode};
        let sent = std::sync::Arc::clone(sent);
        let create = mock!(aws_sdk_ec2::Client::create_vpc_endpoint)
            .match_requests(move |r| {
                sent.lock()
                    .unwrap()
                    .push(r.client_token().unwrap_or_default().to_owned());
                true
            })
            .then_output(|| {
                CreateVpcEndpointOutput::builder()
                    .vpc_endpoint(VpcEndpoint::builder().vpc_endpoint_id("vpce-1").build())
                    .build()
            });
        let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, &[create], |c| c
            .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()));
        Aws::builder().ec2(client).build()
    }

    #[tokio::test]
    async fn each_endpoint_of_each_run_is_created_with_its_own_token() {
        let sent = std::sync::Arc::default();
        let tags = converge::Tags::new("vpc", "blog");
        let kind = EndpointKind {
            wait: Wait::default(),
        };
        let s3 = EndpointDesired {
            vpc_id: Value::Known("vpc-1".into()),
            service_name: "com.amazonaws.us-east-1.s3".into(),
            placement: Placement::Gateway {
                route_tables: Value::Known(vec!["rtb-1".into()]),
            },
        };
        let (one, other) = (ec2(&sent), ec2(&sent));
        for (aws, name) in [
            (&one, "blog-vpce-s3"),
            (&one, "blog-vpce-dynamodb"),
            (&other, "blog-vpce-s3"),
        ] {
            let cx = Cx {
                aws,
                name,
                tags: &tags,
                teardown: false,
            };
            kind.create(cx, &s3.resolve().unwrap()).await.unwrap();
        }
        let sent = sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 3);
        assert!(sent.iter().all(|t| t.len() == 32), "{sent:?}");
        assert!(sent[0] != sent[1] && sent[0] != sent[2] && sent[1] != sent[2]);
    }

    #[test]
    fn subnets_change_in_place_and_the_service_is_fixed() {
        let kind = EndpointKind {
            wait: Wait::default(),
        };
        assert!(kind
            .diff(&interface(&["subnet-b", "subnet-a"]), &found_interface())
            .is_empty());
        let more = kind.diff(
            &interface(&["subnet-a", "subnet-b", "subnet-c"]),
            &found_interface(),
        );
        assert!(!more.replaces());
        assert_eq!(more.diffs()[0].field, "subnet_ids");
        assert_eq!(more.fields(), [EndpointField::SubnetIds]);
        let other = EndpointDesired {
            service_name: "com.amazonaws.us-east-1.sts".into(),
            ..interface(&["subnet-a", "subnet-b"])
        };
        let delta = kind.diff(&other, &found_interface());
        assert!(delta.replaces());
        assert_eq!(delta.changes[0].field, EndpointField::ServiceName);
        assert_eq!(
            delta.changes[0].replaces,
            Some("a VPC endpoint cannot change its service")
        );
        let gateway = EndpointDesired {
            placement: Placement::Gateway {
                route_tables: Value::Known(vec!["rtb-1".into()]),
            },
            ..interface(&[])
        };
        let delta = kind.diff(&gateway, &found_interface());
        assert_eq!(
            delta.fields(),
            [EndpointField::VpcEndpointType, EndpointField::RouteTableIds]
        );
        assert_eq!(
            delta.changes[0].replaces,
            Some("a VPC endpoint cannot change its type")
        );
        assert_eq!(
            change(&["a".into(), "b".into()], &["b".into(), "c".into()]),
            (vec!["c".to_string()], vec!["a".to_string()])
        );
    }
}

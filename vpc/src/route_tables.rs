//! `aws_route_table`: a route table with its default route and its subnet associations as
//! attributes (Terraform's `aws_route` and `aws_route_table_association`, folded in so that
//! one read of the tables sees all three).

use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{
    ignore_not_found, Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Resource, Transient, Value,
    Wanted, AFTER_APPLY,
};

/// The IPv4 default route every route table of the module manages.
pub(crate) const DEFAULT_ROUTE: &str = "0.0.0.0/0";

/// The route table kind.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RouteTableKind;

/// What the inputs ask for.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RouteTableDesired<P: Phase = AtPlan> {
    pub vpc_id: P::Value<String>,
    /// Where the default route goes (an `igw-` or `nat-` id), `Known(None)` for no route.
    pub target: P::Value<Option<String>>,
    /// The subnets it serves: (name, id).
    pub subnets: Vec<(String, P::Value<String>)>,
}

impl Resolve for RouteTableDesired {
    type Output = RouteTableDesired<AtApply>;

    fn resolve(&self) -> Result<RouteTableDesired<AtApply>, Unknown> {
        Ok(RouteTableDesired {
            vpc_id: self.vpc_id.resolve("vpc_id")?,
            target: self.target.resolve("target")?,
            subnets: self
                .subnets
                .iter()
                .map(|(name, id)| Ok((name.clone(), id.resolve("subnets")?)))
                .collect::<Result<_, Unknown>>()?,
        })
    }
}

/// A route table we own.
#[derive(Clone, Debug)]
pub(crate) struct FoundRouteTable {
    pub id: String,
    pub name: String,
    pub owner: Option<String>,
    pub vpc_id: String,
    /// The gateway or NAT gateway id the default route points at.
    pub default_route: Option<String>,
    /// (association id, subnet id), main association excluded.
    pub associations: Vec<(String, String)>,
    /// The associations of our other tables, from the same read: a subnet this table wants
    /// is moved from there (AWS refuses a second association).
    pub elsewhere: Vec<(String, String)>,
}

/// What waits for the table (the private ones: egress through the NAT gateway).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RouteTableOut {
    pub id: String,
}

pub(crate) const KIND: &str = "aws_route_table";

/// Where the default route goes in phase `P` (`None`: no route).
type Target<P> = <P as Phase>::Value<Option<String>>;

/// What a table needs to match its inputs: computed once, for the plan and the apply.
#[derive(Debug, PartialEq)]
struct Work<P: Phase = AtPlan> {
    /// (current target, wanted target), when they differ.
    route: Option<(Option<String>, Target<P>)>,
    /// Wanted subnets not associated with this table: (name, id).
    associate: Vec<(String, P::Value<String>)>,
    /// Associations to remove: (association id, subnet id).
    disassociate: Vec<(String, String)>,
}

fn work<P: Phase>(d: &RouteTableDesired<P>, o: &FoundRouteTable) -> Work<P> {
    let route = match P::known(&d.target) {
        Some(want) if *want == o.default_route => None,
        _ => Some((o.default_route.clone(), d.target.clone())),
    };
    let mine = |id: &str| o.associations.iter().any(|(_, s)| s == id);
    let associate = d
        .subnets
        .iter()
        .filter(|(_, id)| !P::known(id).is_some_and(|id| mine(id)))
        .cloned()
        .collect();
    let disassociate = o
        .associations
        .iter()
        .filter(|(_, s)| !d.subnets.iter().any(|(_, id)| P::known(id) == Some(s)))
        .cloned()
        .collect();
    Work {
        route,
        associate,
        disassociate,
    }
}

fn show_target(target: &Value<Option<String>>) -> Option<String> {
    match target {
        Value::Known(t) => t.clone(),
        Value::AfterApply => Some(AFTER_APPLY.to_owned()),
    }
}

/// A route table's fields that a plan can show changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteTableField {
    /// The VPC it is in; fixed.
    VpcId,
    /// A route, by its destination (` 0.0.0.0/0`): where it goes.
    Route,
    /// A subnet's association, by the subnet (` <name>`, or ` <id>` for one to remove).
    Association,
}

impl Field for RouteTableField {
    fn name(&self) -> &str {
        match self {
            RouteTableField::VpcId => "vpc_id",
            RouteTableField::Route => "route",
            RouteTableField::Association => "association",
        }
    }

    fn replaces(&self) -> Option<&'static str> {
        match self {
            RouteTableField::VpcId => Some("a route table cannot move to another VPC"),
            RouteTableField::Route | RouteTableField::Association => None,
        }
    }
}

#[async_trait]
impl Resource for RouteTableKind {
    const KIND: &'static str = KIND;
    // The tables of a layout no longer wanted (one NAT gateway instead of one per zone) go.
    const PRUNE: bool = true;
    // The VPC just made and not yet visible to CreateRouteTable (nothing made yet, so the
    // token is unspent and the retry cannot make a second table).
    const TRANSIENT: Transient = Transient::codes(&["InvalidVpcID.NotFound"]);
    // A gateway endpoint's routes leave the table a while after the endpoint is deleted.
    const IN_USE: Transient = Transient::DEPENDENCY;
    type Field = RouteTableField;
    type Key = ();
    type Desired = RouteTableDesired;
    type Observed = FoundRouteTable;
    type Outputs = RouteTableOut;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::{ec2_tags_on_create, Grant};
        vec![
            Grant::new([
                "ec2:DescribeRouteTables",
                "ec2:CreateRouteTable",
                "ec2:AssociateRouteTable",
                "ec2:DisassociateRouteTable",
                "ec2:ReplaceRouteTableAssociation",
                "ec2:CreateRoute",
                "ec2:DeleteRoute",
                "ec2:ReplaceRoute",
            ]),
            ec2_tags_on_create("CreateRouteTable"),
            Grant::new(["ec2:DeleteRouteTable"]).owned(),
        ]
    }

    async fn read(
        &self,
        aws: &Aws,
        wanted: &[Wanted<'_, ()>],
    ) -> Result<Vec<FoundRouteTable>, Error> {
        let tables = converge::ec2::read_owned(
            wanted,
            "DescribeRouteTables",
            KIND,
            |owned| {
                aws.ec2()
                    .describe_route_tables()
                    .filters(owned)
                    .into_paginator()
                    .send()
            },
            |page| page.route_tables.unwrap_or_default(),
        )
        .await?;
        let mut found: Vec<FoundRouteTable> = tables
            .into_iter()
            .map(|f| {
                let rt = f.item;
                FoundRouteTable {
                    id: rt.route_table_id().unwrap_or_default().to_owned(),
                    name: f.name,
                    owner: f.owner,
                    vpc_id: rt.vpc_id().unwrap_or_default().to_owned(),
                    default_route: rt
                        .routes()
                        .iter()
                        .find(|r| r.destination_cidr_block() == Some(DEFAULT_ROUTE))
                        .and_then(|r| r.nat_gateway_id().or(r.gateway_id()))
                        .map(str::to_owned),
                    associations: rt
                        .associations()
                        .iter()
                        .filter(|a| !a.main().unwrap_or(false))
                        .filter_map(|a| {
                            Some((
                                a.route_table_association_id()?.to_owned(),
                                a.subnet_id()?.to_owned(),
                            ))
                        })
                        .collect(),
                    elsewhere: Vec::new(),
                }
            })
            .collect();
        // Our tables only: AWS (and the emulator) filter this call by owner.
        let all: Vec<(String, Vec<(String, String)>)> = found
            .iter()
            .map(|rt| (rt.id.clone(), rt.associations.clone()))
            .collect();
        for rt in &mut found {
            rt.elsewhere = all
                .iter()
                .filter(|(id, _)| *id != rt.id)
                .flat_map(|(_, a)| a.iter().cloned())
                .collect();
        }
        Ok(found)
    }

    fn name<'o>(&self, o: &'o FoundRouteTable) -> &'o str {
        &o.name
    }
    fn owner<'o>(&self, o: &'o FoundRouteTable) -> Option<&'o str> {
        o.owner.as_deref()
    }
    fn id(&self, o: &FoundRouteTable) -> String {
        o.id.clone()
    }

    fn describe(&self, d: &RouteTableDesired) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta.update(RouteTableField::VpcId, None::<String>, Some(&d.vpc_id));
        if let Some(target) = show_target(&d.target) {
            delta.update_at(
                RouteTableField::Route,
                format!(" {DEFAULT_ROUTE}"),
                None::<String>,
                Some(target),
            );
        }
        for (name, _) in &d.subnets {
            delta.update_at(
                RouteTableField::Association,
                format!(" {name}"),
                None::<String>,
                Some("associated"),
            );
        }
        delta.described()
    }

    fn diff(&self, d: &RouteTableDesired, o: &FoundRouteTable) -> Delta<RouteTableField> {
        let mut delta = Delta::new();
        delta.compare(RouteTableField::VpcId, &o.vpc_id, &d.vpc_id);
        let work = work(d, o);
        if let Some((before, after)) = &work.route {
            delta.update_at(
                RouteTableField::Route,
                format!(" {DEFAULT_ROUTE}"),
                before.as_ref(),
                show_target(after),
            );
        }
        for (name, _) in &work.associate {
            delta.update_at(
                RouteTableField::Association,
                format!(" {name}"),
                None::<String>,
                Some("associated"),
            );
        }
        for (_, subnet_id) in &work.disassociate {
            delta.update_at(
                RouteTableField::Association,
                format!(" {subnet_id}"),
                Some("associated"),
                None::<String>,
            );
        }
        delta
    }

    fn outputs(&self, o: &FoundRouteTable) -> RouteTableOut {
        RouteTableOut { id: o.id.clone() }
    }
    fn output_id(&self, out: &RouteTableOut) -> Option<String> {
        Some(out.id.clone())
    }

    async fn create(
        &self,
        cx: Cx<'_>,
        d: &RouteTableDesired<AtApply>,
    ) -> Result<RouteTableOut, Error> {
        // One token for every attempt, so a retried call cannot make a second table.
        let token = converge::client_token(&cx, KIND, "create", converge::token::EC2);
        let out = cx
            .aws
            .ec2()
            .create_route_table()
            .client_token(token.as_str())
            .vpc_id(&d.vpc_id)
            .tag_specifications(cx.tags.ec2_spec(ResourceType::RouteTable, cx.name))
            .send()
            .await
            .context("CreateRouteTable", cx.address(KIND, None))?;
        token.made();
        let id = out
            .route_table()
            .and_then(|rt| rt.route_table_id())
            .unwrap_or_default()
            .to_owned();
        // Its subnets may be served by another table (a layout that changed): they are
        // moved. The read that found the others is not at hand here, so one look-up.
        let subnets: Vec<String> = d.subnets.iter().map(|(_, id)| id.clone()).collect();
        let elsewhere = associations_of(cx.aws, &subnets).await?;
        // A new table is a found one without routes or associations: the same steps apply.
        let empty = FoundRouteTable {
            id: id.clone(),
            name: cx.name.to_owned(),
            owner: None,
            vpc_id: d.vpc_id.clone(),
            default_route: None,
            associations: Vec::new(),
            elsewhere,
        };
        converge_table(cx, d, &empty, Steps::ALL).await?;
        Ok(RouteTableOut { id })
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &RouteTableDesired<AtApply>,
        o: &FoundRouteTable,
        delta: &Delta<RouteTableField>,
    ) -> Result<RouteTableOut, Error> {
        let mut steps = Steps::default();
        for field in delta.fields() {
            match field {
                // Replaced, never updated.
                RouteTableField::VpcId => {}
                RouteTableField::Route => steps.route = true,
                RouteTableField::Association => steps.associations = true,
            }
        }
        converge_table(cx, d, o, steps).await?;
        Ok(self.outputs(o))
    }

    async fn delete(&self, cx: Cx<'_>, o: &FoundRouteTable) -> Result<(), Error> {
        for (association, _) in &o.associations {
            disassociate(cx.aws, association).await?;
        }
        // Repeated whole while in use: a disassociation already made is "not found", done.
        let result = cx
            .aws
            .ec2()
            .delete_route_table()
            .route_table_id(&o.id)
            .send()
            .await
            .context("DeleteRouteTable", cx.address(KIND, Some(o.id.clone())));
        ignore_not_found(result)
    }
}

/// Which of a table's parts to bring in line.
#[derive(Clone, Copy, Debug, Default)]
struct Steps {
    /// The default route.
    route: bool,
    /// The subnet associations.
    associations: bool,
}

impl Steps {
    /// A new table: every part.
    const ALL: Steps = Steps {
        route: true,
        associations: true,
    };
}

/// Sets the default route and the associations of table `o` as `d` asks, those of `steps`.
async fn converge_table(
    cx: Cx<'_>,
    d: &RouteTableDesired<AtApply>,
    o: &FoundRouteTable,
    steps: Steps,
) -> Result<(), Error> {
    let mut work = work(d, o);
    if !steps.route {
        work.route = None;
    }
    if !steps.associations {
        work.associate.clear();
        work.disassociate.clear();
    }
    if let Some((current, want)) = work.route {
        set_default_route(cx.aws, &o.id, current.as_deref(), want.as_deref()).await?;
    }
    for (association, _) in &work.disassociate {
        disassociate(cx.aws, association).await?;
    }
    for (_, subnet) in work.associate {
        let moved = o.elsewhere.iter().find(|(_, s)| *s == subnet);
        match moved {
            Some((association, _)) => {
                let replaced = cx
                    .aws
                    .ec2()
                    .replace_route_table_association()
                    .association_id(association)
                    .route_table_id(&o.id)
                    .send()
                    .await
                    .context("ReplaceRouteTableAssociation", association);
                match replaced {
                    // The other table let go of it meanwhile.
                    Err(err) if err.is_not_found() => associate(cx.aws, &o.id, &subnet).await?,
                    other => {
                        other?;
                    }
                }
            }
            None => associate(cx.aws, &o.id, &subnet).await?,
        }
    }
    Ok(())
}

/// The associations of `subnets`, whichever table holds them: (association id, subnet id).
async fn associations_of(aws: &Aws, subnets: &[String]) -> Result<Vec<(String, String)>, Error> {
    if subnets.is_empty() {
        return Ok(Vec::new());
    }
    let out = aws
        .ec2()
        .describe_route_tables()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("association.subnet-id")
                .set_values(Some(subnets.to_vec()))
                .build(),
        )
        .send()
        .await
        .context("DescribeRouteTables", subnets.join(", "))?;
    Ok(out
        .route_tables()
        .iter()
        .flat_map(|rt| rt.associations())
        .filter_map(|a| {
            let subnet = a.subnet_id()?;
            subnets.iter().any(|s| s == subnet).then(|| {
                (
                    a.route_table_association_id()
                        .unwrap_or_default()
                        .to_owned(),
                    subnet.to_owned(),
                )
            })
        })
        .collect())
}

/// Points the default route at `target` (an `igw-` or `nat-` id), or removes it (`None`).
/// Its own retry (as the association's), not the engine's: in a create it follows
/// CreateRouteTable, whose token is spent once it made the table, so a retry of the whole
/// create would make a second one.
async fn set_default_route(
    aws: &Aws,
    id: &str,
    current: Option<&str>,
    target: Option<&str>,
) -> Result<(), Error> {
    let ec2 = aws.ec2();
    match (current, target) {
        (Some(now), Some(want)) if now == want => {}
        (None, Some(want)) => {
            aws.retry()
                .run(id, Transient::EC2_JUST_CREATED, || {
                    let call = ec2
                        .create_route()
                        .route_table_id(id)
                        .destination_cidr_block(DEFAULT_ROUTE);
                    if want.starts_with("nat-") {
                        call.nat_gateway_id(want)
                    } else {
                        call.gateway_id(want)
                    }
                    .send()
                })
                .await
                .context("CreateRoute", id)?;
        }
        (Some(_), Some(want)) => {
            let call = ec2
                .replace_route()
                .route_table_id(id)
                .destination_cidr_block(DEFAULT_ROUTE);
            if want.starts_with("nat-") {
                call.nat_gateway_id(want)
            } else {
                call.gateway_id(want)
            }
            .send()
            .await
            .context("ReplaceRoute", id)?;
        }
        (Some(_), None) => {
            let result = ec2
                .delete_route()
                .route_table_id(id)
                .destination_cidr_block(DEFAULT_ROUTE)
                .send()
                .await
                .context("DeleteRoute", id);
            ignore_not_found(result)?;
        }
        (None, None) => {}
    }
    Ok(())
}

async fn associate(aws: &Aws, id: &str, subnet_id: &str) -> Result<(), Error> {
    aws.retry()
        .run(id, Transient::EC2_JUST_CREATED, || {
            aws.ec2()
                .associate_route_table()
                .route_table_id(id)
                .subnet_id(subnet_id)
                .send()
        })
        .await
        .context("AssociateRouteTable", format_args!("{id} and {subnet_id}"))?;
    Ok(())
}

async fn disassociate(aws: &Aws, association_id: &str) -> Result<(), Error> {
    let result = aws
        .ec2()
        .disassociate_route_table()
        .association_id(association_id)
        .send()
        .await
        .context("DisassociateRouteTable", association_id);
    ignore_not_found(result)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    fn table() -> FoundRouteTable {
        FoundRouteTable {
            id: "rtb-1".into(),
            name: "blog-private-routetable".into(),
            owner: Some("vpc/blog".into()),
            vpc_id: "vpc-1".into(),
            default_route: Some("nat-1".into()),
            associations: vec![("a-1".into(), "subnet-1".into())],
            elsewhere: Vec::new(),
        }
    }

    fn wants(
        target: Value<Option<String>>,
        subnets: &[(&str, Value<String>)],
    ) -> RouteTableDesired {
        RouteTableDesired {
            vpc_id: Value::Known("vpc-1".into()),
            target,
            subnets: subnets
                .iter()
                .map(|(n, id)| (n.to_string(), id.clone()))
                .collect(),
        }
    }

    #[test]
    fn a_matching_table_is_no_change() {
        let d = wants(
            Value::Known(Some("nat-1".into())),
            &[("a", Value::Known("subnet-1".into()))],
        );
        assert!(RouteTableKind.diff(&d, &table()).is_empty());
    }

    #[test]
    fn unknown_inputs_are_differences_and_stale_associations_go() {
        let d = wants(Value::AfterApply, &[("b", Value::AfterApply)]);
        let delta = RouteTableKind.diff(&d, &table());
        assert!(!delta.replaces());
        let labels: Vec<_> = delta.changes.iter().map(|d| d.label()).collect();
        assert_eq!(
            labels,
            ["route 0.0.0.0/0", "association b", "association subnet-1"]
        );
        assert_eq!(
            delta.fields(),
            [RouteTableField::Route, RouteTableField::Association]
        );
        assert_eq!(delta.diffs()[0].after.as_deref(), Some(AFTER_APPLY));
    }

    /// Clients whose `CreateRouteTable` answers `answers` in turn (`None`: the table
    /// `rtb-1`; `Some(code)`: that error), logging every client token sent in `sent`.
    fn ec2(answers: &[Option<&'static str>], sent: &Arc<Mutex<Vec<String>>>) -> Aws {
        use aws_sdk_ec2::operation::create_route_table::{
            CreateRouteTableError, CreateRouteTableOutput,
        };
        use aws_sdk_ec2::types::RouteTable;
        use aws_smithy_mocks::{mock, mock_client, RuleMode};
        let sent = Arc::clone(sent);
        let mut create = mock!(aws_sdk_ec2::Client::create_route_table)
            .match_requests(move |r| {
                sent.lock()
                    .unwrap()
                    .push(r.client_token().unwrap_or_default().to_owned());
                true
            })
            .sequence();
        for answer in answers {
            create = match *answer {
                None => create.output(|| {
                    CreateRouteTableOutput::builder()
                        .route_table(RouteTable::builder().route_table_id("rtb-1").build())
                        .build()
                }),
                Some(code) => create.error(move || {
                    CreateRouteTableError::generic(
                        aws_sdk_ec2::error::ErrorMetadata::builder()
                            .code(code)
                            .build(),
                    )
                }),
            };
        }
        let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, &[create.build()], |c| c
            .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()));
        Aws::builder().ec2(client).build()
    }

    async fn create(aws: &Aws, name: &str) -> Result<RouteTableOut, Error> {
        let tags = converge::Tags::new("vpc", "blog");
        let cx = Cx {
            aws,
            name,
            tags: &tags,
            teardown: false,
        };
        let d = wants(Value::Known(None), &[]).resolve().unwrap();
        RouteTableKind.create(cx, &d).await
    }

    #[tokio::test]
    async fn a_table_made_again_after_a_failed_create_resends_its_token_and_not_across_runs() {
        let sent = Arc::default();
        let aws = ec2(&[Some("RouteTableLimitExceeded"), None, None], &sent);
        // The run fails on the first table and is applied again with the same clients: if
        // that create made a table after all, the same token gets it back.
        create(&aws, "blog-public-routetable").await.unwrap_err();
        create(&aws, "blog-public-routetable").await.unwrap();
        create(&aws, "blog-private-routetable").await.unwrap();
        let other_run = ec2(&[None], &sent);
        create(&other_run, "blog-public-routetable").await.unwrap();
        let sent = sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 4, "{sent:?}");
        assert!(sent.iter().all(|t| !t.is_empty() && t.len() <= 64));
        assert_eq!(sent[0], sent[1]);
        assert_ne!(sent[2], sent[1], "another table, another token");
        assert!(sent[3] != sent[0] && sent[3] != sent[2], "{sent:?}");
    }

    #[test]
    fn a_table_of_a_vpc_made_anew_is_replaced() {
        let mut d = wants(Value::Known(Some("nat-1".into())), &[]);
        d.vpc_id = Value::AfterApply;
        let delta = RouteTableKind.diff(&d, &table());
        assert!(delta.replaces());
        assert_eq!(delta.changes[0].field, RouteTableField::VpcId);
        assert_eq!(
            delta.changes[0].replaces,
            Some("a route table cannot move to another VPC")
        );
    }
}

//! Security groups: the load balancer's and the tasks'. Ingress rules are converged one by
//! one; egress stays EC2's default (everything out).

use std::time::Duration;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, ResourceType, UserIdGroupPair};
use converge::{ec2_name, Aws, AwsResultExt, Error, Tags, Transient, Wait};

/// Where an ingress rule admits traffic from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Source {
    Cidr(String),
    Group(String),
}

/// A TCP ingress rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Rule {
    pub from: i32,
    pub to: i32,
    pub source: Source,
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.source {
            Source::Cidr(c) => c,
            Source::Group(g) => g,
        };
        if self.from == self.to {
            write!(f, "tcp {} from {source}", self.from)
        } else {
            write!(f, "tcp {}-{} from {source}", self.from, self.to)
        }
    }
}

/// A security group we own.
#[derive(Clone, Debug)]
pub(crate) struct FoundGroup {
    pub id: String,
    pub name: String,
    pub rules: Vec<Rule>,
}

pub(crate) const KIND: &str = "aws_security_group";

pub(crate) async fn find(aws: &Aws, tags: &Tags) -> Result<Vec<FoundGroup>, Error> {
    let out = aws
        .ec2()
        .describe_security_groups()
        .filters(tags.ec2_filter())
        .send()
        .await
        .context("DescribeSecurityGroups", tags.owner())?;
    Ok(out
        .security_groups()
        .iter()
        .filter(|g| tags.ec2_owned(g.tags()))
        .map(|g| FoundGroup {
            id: g.group_id().unwrap_or_default().to_owned(),
            name: ec2_name(g.tags()).unwrap_or_default().to_owned(),
            rules: g.ip_permissions().iter().flat_map(rules_of).collect(),
        })
        .collect())
}

fn rules_of(p: &IpPermission) -> Vec<Rule> {
    if p.ip_protocol() != Some("tcp") {
        return Vec::new();
    }
    let (from, to) = (p.from_port().unwrap_or(0), p.to_port().unwrap_or(65535));
    let cidrs = p
        .ip_ranges()
        .iter()
        .filter_map(|r| r.cidr_ip())
        .map(|c| Source::Cidr(c.to_owned()));
    let groups = p
        .user_id_group_pairs()
        .iter()
        .filter_map(|g| g.group_id())
        .map(|g| Source::Group(g.to_owned()));
    cidrs
        .chain(groups)
        .map(|source| Rule { from, to, source })
        .collect()
}

fn permission(rule: &Rule) -> IpPermission {
    let b = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(rule.from)
        .to_port(rule.to);
    match &rule.source {
        Source::Cidr(c) => b.ip_ranges(IpRange::builder().cidr_ip(c).build()),
        Source::Group(g) => b.user_id_group_pairs(UserIdGroupPair::builder().group_id(g).build()),
    }
    .build()
}

pub(crate) async fn create(
    aws: &Aws,
    tags: &Tags,
    vpc_id: &str,
    name: &str,
    description: &str,
) -> Result<String, Error> {
    let out = aws
        .ec2()
        .create_security_group()
        .group_name(name)
        .description(description)
        .vpc_id(vpc_id)
        .tag_specifications(tags.ec2_spec(ResourceType::SecurityGroup, name))
        .send()
        .await
        .context("CreateSecurityGroup", format_args!("{KIND} \"{name}\""));
    match out {
        Ok(out) => Ok(out.group_id().unwrap_or_default().to_owned()),
        // Our groups are found by their tags, so a same-named one here is not ours: say so.
        Err(err) if err.code() == Some("InvalidGroup.Duplicate") => {
            Err(look_alike(aws, tags, vpc_id, name).await?.unwrap_or(err))
        }
        Err(err) => Err(err),
    }
}

/// The conflict with a group named `name` in the VPC that lacks our tags, if there is one.
async fn look_alike(
    aws: &Aws,
    tags: &Tags,
    vpc_id: &str,
    name: &str,
) -> Result<Option<Error>, Error> {
    let out = aws
        .ec2()
        .describe_security_groups()
        .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
        .filters(Filter::builder().name("group-name").values(name).build())
        .send()
        .await
        .context("DescribeSecurityGroups", format_args!("{KIND} \"{name}\""))?;
    Ok(out.security_groups().first().map(|g| Error::NotOwned {
        kind: KIND.into(),
        id: format!("{} (\"{name}\")", g.group_id().unwrap_or_default()),
        owner: tags.owner().to_owned(),
    }))
}

/// Adds the rules `want` lacks in `have` and removes the ones it has too many.
pub(crate) async fn converge_rules(
    aws: &Aws,
    id: &str,
    have: &[Rule],
    want: &[Rule],
) -> Result<(), Error> {
    let add: Vec<_> = want
        .iter()
        .filter(|r| !have.contains(r))
        .map(permission)
        .collect();
    let remove: Vec<_> = have
        .iter()
        .filter(|r| !want.contains(r))
        .map(permission)
        .collect();
    if !add.is_empty() {
        aws.ec2()
            .authorize_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(add))
            .send()
            .await
            .context("AuthorizeSecurityGroupIngress", id)?;
    }
    if !remove.is_empty() {
        aws.ec2()
            .revoke_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(remove))
            .send()
            .await
            .context("RevokeSecurityGroupIngress", id)?;
    }
    Ok(())
}

/// Waits for the network interfaces still in the group (tasks, load balancer nodes) to go,
/// then deletes it, retrying while EC2 still calls it in use.
pub(crate) async fn delete(aws: &Aws, wait: &Wait, id: &str) -> Result<(), Error> {
    let what = format!("the network interfaces in security group {id} to be released");
    wait.until(&what, || async {
        let out = aws
            .ec2()
            .describe_network_interfaces()
            .filters(Filter::builder().name("group-id").values(id).build())
            .send()
            .await
            .context("DescribeNetworkInterfaces", id)?;
        Ok(out.network_interfaces().is_empty().then_some(()))
    })
    .await?;
    let result = aws
        .retry()
        .run(id, Transient::DEPENDENCY, || {
            aws.ec2().delete_security_group().group_id(id).send()
        })
        .await
        .context("DeleteSecurityGroup", id);
    match result {
        Err(err) if !err.is_not_found() => Err(err),
        _ => Ok(()),
    }
}

/// How long destroy waits for network interfaces to release a group.
pub(crate) fn eni_wait() -> Wait {
    Wait {
        timeout: Duration::from_secs(900),
        initial_delay: Duration::from_secs(2),
        max_delay: Duration::from_secs(20),
    }
}

//! `aws_lb`: an application load balancer, found by name with its tags; every load balancer
//! of a stack in one listing.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancerSchemeEnum, LoadBalancerStateEnum, LoadBalancerTypeEnum,
};
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{
    Action, Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Progress, ProvideErrorMetadata,
    Resource, Transient, Value, Wait, Wanted,
};

/// The load balancer kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoadBalancerKind;

/// What a load balancer should be.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadBalancerSpec<P: Phase = AtPlan> {
    /// Internal, or internet-facing (fixed once made).
    pub internal: bool,
    /// Its subnets.
    pub subnets: P::Value<Vec<String>>,
    /// Its security groups.
    pub security_groups: P::Value<Vec<String>>,
    /// Whether a create waits until the load balancer is `active` (`--wait-steady`); nothing
    /// else needs it to be.
    pub wait_active: bool,
    /// How long to wait for it to be active, or gone.
    pub wait: Wait,
    /// Its attributes, as ELB names them (`idle_timeout.timeout_seconds`, ...): those given
    /// are set and compared, the others left as they are.
    pub attributes: BTreeMap<String, String>,
}

impl Resolve for LoadBalancerSpec {
    type Output = LoadBalancerSpec<AtApply>;

    fn resolve(&self) -> Result<LoadBalancerSpec<AtApply>, Unknown> {
        Ok(LoadBalancerSpec {
            internal: self.internal,
            subnets: self.subnets.resolve("subnets")?,
            security_groups: self.security_groups.resolve("security_groups")?,
            wait_active: self.wait_active,
            wait: self.wait,
            attributes: self.attributes.clone(),
        })
    }
}

/// A load balancer as ELB has it.
#[derive(Clone, Debug)]
pub struct FoundLoadBalancer {
    pub(crate) name: String,
    pub(crate) arn: String,
    dns_name: String,
    zone_id: String,
    internal: bool,
    subnets: Vec<String>,
    security_groups: Vec<String>,
    pub(crate) owner: Option<String>,
    /// When it was made: of two copies, the older is kept.
    created: Option<std::time::SystemTime>,
    /// Its attributes (read by this kind only; the listener kind's share of the listing
    /// has none).
    attributes: BTreeMap<String, String>,
}

/// A load balancer's outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadBalancerOutputs {
    /// Its ARN.
    pub arn: String,
    /// Its DNS name.
    pub dns_name: String,
    /// Its Route 53 zone, for alias records.
    pub zone_id: String,
}

impl LoadBalancerOutputs {
    pub(crate) fn new(arn: String, dns_name: String, zone_id: String) -> Self {
        Self {
            arn,
            dns_name,
            zone_id,
        }
    }
}

fn scheme(internal: bool) -> &'static str {
    if internal {
        "internal"
    } else {
        "internet-facing"
    }
}

/// The tags of each ARN (ELB answers at most 20 ARNs per call).
pub(crate) async fn elb_tags(
    aws: &Aws,
    arns: &[String],
) -> Result<HashMap<String, BTreeMap<String, String>>, Error> {
    let mut tags = HashMap::new();
    for chunk in arns.chunks(20) {
        let out = aws
            .elbv2()
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .context("DescribeTags", chunk.join(","))?;
        for d in out.tag_descriptions() {
            if let Some(arn) = d.resource_arn() {
                let pairs = d
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())));
                tags.insert(arn.to_owned(), pairs.collect());
            }
        }
    }
    Ok(tags)
}

/// The ownership tag of each ARN that has one.
pub(crate) async fn elb_owners(
    aws: &Aws,
    arns: &[String],
) -> Result<HashMap<String, String>, Error> {
    Ok(elb_tags(aws, arns)
        .await?
        .into_iter()
        .filter_map(|(arn, tags)| {
            let owner = converge::owner_in(
                tags.iter()
                    .map(|(k, v)| (Some(k.as_str()), Some(v.as_str()))),
            )?;
            Some((arn, owner))
        })
        .collect())
}

/// Whether the load balancer is active; `failed` is an error.
async fn poll_active(aws: &Aws, arn: &str) -> Result<Progress<()>, Error> {
    let pending = || {
        Ok(Progress::pending(format!(
            "load balancer {arn} to be active"
        )))
    };
    let out = aws
        .elbv2()
        .describe_load_balancers()
        .load_balancer_arns(arn)
        .send()
        .await;
    // Right after the create, ELB may not know the new ARN yet.
    let out = match out {
        Err(err) if err.code() == Some("LoadBalancerNotFound") => return pending(),
        other => other.context("DescribeLoadBalancers", arn)?,
    };
    let state = out
        .load_balancers()
        .first()
        .and_then(|l| l.state())
        .and_then(|s| s.code().cloned());
    match state {
        // Impaired: active, with a zone that cannot scale; it serves traffic.
        Some(LoadBalancerStateEnum::Active | LoadBalancerStateEnum::ActiveImpaired) => {
            Ok(Progress::Done(()))
        }
        Some(LoadBalancerStateEnum::Failed) => Err(Error::Failed {
            resource: format!("{} {arn}", LoadBalancerKind::KIND),
            reason: "state failed".to_owned(),
        }),
        _ => pending(),
    }
}

/// The load balancers among `names` that exist, with their owners: one listing (a name filter
/// fails as a whole when one name is missing), then the tags of the ones named. Shared within
/// a stack's read by the load balancer kind and the listener kind.
pub(crate) async fn named(
    aws: &Aws,
    names: &[&str],
) -> Result<std::sync::Arc<Vec<FoundLoadBalancer>>, Error> {
    let mut names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    names.sort();
    names.dedup();
    let key = format!("elbv2/load-balancers/{}", names.join(","));
    aws.shared(&key, || async {
        let mut found = Vec::new();
        let all = converge::paging::drain(
            "DescribeLoadBalancers",
            "(all)",
            aws.elbv2()
                .describe_load_balancers()
                .into_paginator()
                .send(),
            |page| page.load_balancers.unwrap_or_default(),
        )
        .await?;
        for lb in &all {
            let name = lb.load_balancer_name().unwrap_or_default();
            if !names.iter().any(|n| n == name) {
                continue;
            }
            found.push(FoundLoadBalancer {
                name: name.to_owned(),
                arn: lb.load_balancer_arn().unwrap_or_default().to_owned(),
                dns_name: lb.dns_name().unwrap_or_default().to_owned(),
                zone_id: lb.canonical_hosted_zone_id().unwrap_or_default().to_owned(),
                internal: lb.scheme() == Some(&LoadBalancerSchemeEnum::Internal),
                subnets: lb
                    .availability_zones()
                    .iter()
                    .filter_map(|z| z.subnet_id().map(str::to_owned))
                    .collect(),
                security_groups: lb.security_groups().to_vec(),
                owner: None,
                created: lb
                    .created_time()
                    .and_then(|t| std::time::SystemTime::try_from(*t).ok()),
                attributes: BTreeMap::new(),
            });
        }
        if !found.is_empty() {
            let arns: Vec<String> = found.iter().map(|l| l.arn.clone()).collect();
            let owners = elb_owners(aws, &arns).await?;
            for lb in &mut found {
                lb.owner = owners.get(&lb.arn).cloned();
            }
        }
        Ok(found)
    })
    .await
}

/// ELB's values of the attributes it may leave out of an answer (the emulator does).
const DEFAULTS: [(&str, &str); 4] = [
    (DELETION_PROTECTION, "false"),
    ("access_logs.s3.enabled", "false"),
    ("idle_timeout.timeout_seconds", "60"),
    ("routing.http.drop_invalid_header_fields.enabled", "false"),
];

/// The attribute that keeps a load balancer from being deleted.
pub(crate) const DELETION_PROTECTION: &str = "deletion_protection.enabled";

async fn attributes_of(aws: &Aws, arn: &str) -> Result<BTreeMap<String, String>, Error> {
    let out = aws
        .elbv2()
        .describe_load_balancer_attributes()
        .load_balancer_arn(arn)
        .send()
        .await
        .context("DescribeLoadBalancerAttributes", arn)?;
    let mut attributes: BTreeMap<String, String> = DEFAULTS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for a in out.attributes() {
        if let (Some(k), Some(v)) = (a.key(), a.value()) {
            attributes.insert(k.to_owned(), v.to_owned());
        }
    }
    Ok(attributes)
}

/// Sets `attributes` on the load balancer.
async fn set_attributes(
    aws: &Aws,
    name: &str,
    arn: &str,
    attributes: &BTreeMap<String, String>,
) -> Result<(), Error> {
    if attributes.is_empty() {
        return Ok(());
    }
    let list = attributes
        .iter()
        .map(|(k, v)| {
            aws_sdk_elasticloadbalancingv2::types::LoadBalancerAttribute::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect();
    aws.elbv2()
        .modify_load_balancer_attributes()
        .load_balancer_arn(arn)
        .set_attributes(Some(list))
        .send()
        .await
        .context(
            "ModifyLoadBalancerAttributes",
            LoadBalancerKind::label(name),
        )?;
    Ok(())
}

/// A load balancer's fields that a plan can show changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadBalancerField {
    /// `internal` or `internet-facing` (fixed).
    Scheme,
    /// Its subnets.
    Subnets,
    /// Its security groups.
    SecurityGroups,
    /// One of its attributes, shown by ELB's key alone (`idle_timeout.timeout_seconds`):
    /// recorded with [`Delta::update_at`] at that key, after an empty name.
    Attribute,
}

impl Field for LoadBalancerField {
    fn name(&self) -> &str {
        match self {
            LoadBalancerField::Scheme => "scheme",
            LoadBalancerField::Subnets => "subnets",
            LoadBalancerField::SecurityGroups => "security_groups",
            LoadBalancerField::Attribute => "",
        }
    }

    fn replaces(&self) -> Option<&'static str> {
        match self {
            LoadBalancerField::Scheme => Some("ELB cannot change a load balancer's scheme"),
            LoadBalancerField::Subnets
            | LoadBalancerField::SecurityGroups
            | LoadBalancerField::Attribute => None,
        }
    }
}

#[async_trait]
impl Resource for LoadBalancerKind {
    const KIND: &'static str = "aws_lb";
    /// Read by name only, so only a load balancer a stack names or tracks can be left over.
    const PRUNE: bool = true;
    // Subnets and a security group made a moment ago may not be visible to ELB yet. The create
    // is repeated whole: CreateLoadBalancer of a name that exists with the same settings
    // answers with it, and its attributes are a put.
    const TRANSIENT: Transient = Transient::codes(&["SubnetNotFound", "InvalidSecurityGroup"]);
    type Field = LoadBalancerField;
    type Key = ();
    type Desired = LoadBalancerSpec;
    type Observed = FoundLoadBalancer;
    type Outputs = LoadBalancerOutputs;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::{service_linked_role, Grant};
        vec![
            Grant::new([
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeLoadBalancerAttributes",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
            ]),
            Grant::new(["elasticloadbalancing:AddTags"]).when(
                "StringEquals",
                "elasticloadbalancing:CreateAction",
                ["CreateLoadBalancer"],
            ),
            Grant::new(["elasticloadbalancing:AddTags"]).tagged(),
            Grant::new(["elasticloadbalancing:DeleteLoadBalancer"]).owned(),
            service_linked_role("elasticloadbalancing.amazonaws.com"),
        ]
    }

    async fn read(
        &self,
        aws: &Aws,
        wanted: &[Wanted<'_, ()>],
    ) -> Result<Vec<FoundLoadBalancer>, Error> {
        let names: Vec<&str> = wanted.iter().map(|w| w.name).collect();
        let mut found = named(aws, &names).await?.as_ref().clone();
        let attributes =
            futures::future::try_join_all(found.iter().map(|lb| attributes_of(aws, &lb.arn)))
                .await?;
        for (lb, attributes) in found.iter_mut().zip(attributes) {
            lb.attributes = attributes;
        }
        Ok(found)
    }

    fn name<'o>(&self, o: &'o FoundLoadBalancer) -> &'o str {
        &o.name
    }

    fn owner<'o>(&self, o: &'o FoundLoadBalancer) -> Option<&'o str> {
        o.owner.as_deref()
    }

    fn id(&self, o: &FoundLoadBalancer) -> String {
        o.arn.clone()
    }

    fn created(&self, o: &FoundLoadBalancer) -> Option<std::time::SystemTime> {
        o.created
    }

    fn tag_target(&self, o: &FoundLoadBalancer) -> Option<converge::TagTarget> {
        Some(converge::TagTarget::Elbv2(o.arn.clone()))
    }

    fn describe(&self, d: &LoadBalancerSpec) -> Vec<Diff> {
        // What a create sets: nothing is replaced, whatever the field.
        let set = |field: LoadBalancerField, at: &str, after: String| Diff {
            field: format!("{}{at}", field.name()),
            before: None,
            after: Some(after),
            replaces: None,
        };
        let mut out = vec![
            set(LoadBalancerField::Scheme, "", scheme(d.internal).into()),
            set(
                LoadBalancerField::Subnets,
                "",
                d.subnets.as_ref().map(|s| s.join(",")).to_string(),
            ),
            set(
                LoadBalancerField::SecurityGroups,
                "",
                d.security_groups.as_ref().map(|s| s.join(",")).to_string(),
            ),
        ];
        out.extend(
            (d.attributes.iter()).map(|(k, v)| set(LoadBalancerField::Attribute, k, v.clone())),
        );
        out
    }

    fn diff(&self, d: &LoadBalancerSpec, o: &FoundLoadBalancer) -> Delta<LoadBalancerField> {
        let mut delta = Delta::new();
        delta.compare(
            LoadBalancerField::Scheme,
            &scheme(o.internal).to_owned(),
            &Value::Known(scheme(d.internal).to_owned()),
        );
        delta.compare_set(LoadBalancerField::Subnets, &o.subnets, &d.subnets);
        delta.compare_set(
            LoadBalancerField::SecurityGroups,
            &o.security_groups,
            &d.security_groups,
        );
        for (key, want) in &d.attributes {
            let have = o.attributes.get(key).cloned().unwrap_or_default();
            if &have != want {
                delta.update_at(LoadBalancerField::Attribute, key, Some(have), Some(want));
            }
        }
        delta
    }

    fn protected(&self, o: &FoundLoadBalancer) -> Option<String> {
        (o.attributes.get(DELETION_PROTECTION).map(String::as_str) == Some("true")).then(|| {
            format!(
                "{} has deletion protection on; turn it off (`deletion_protection: false` in the attributes of the inputs that made it, and apply; or `aws elbv2 modify-load-balancer-attributes --attributes Key=deletion_protection.enabled,Value=false`), then run again",
                o.name
            )
        })
    }

    fn outputs(&self, o: &FoundLoadBalancer) -> LoadBalancerOutputs {
        LoadBalancerOutputs {
            arn: o.arn.clone(),
            dns_name: o.dns_name.clone(),
            zone_id: o.zone_id.clone(),
        }
    }

    /// The inputs' wait (the module's `steady_state`).
    fn wait(&self, d: Option<&LoadBalancerSpec>) -> Wait {
        d.map_or(Self::WAIT, |d| d.wait)
    }

    fn output_id(&self, out: &LoadBalancerOutputs) -> Option<String> {
        Some(out.arn.clone())
    }

    async fn create(
        &self,
        cx: Cx<'_>,
        d: &LoadBalancerSpec<AtApply>,
    ) -> Result<LoadBalancerOutputs, Error> {
        let aws = cx.aws;
        let out = aws
            .elbv2()
            .create_load_balancer()
            .name(cx.name)
            .r#type(LoadBalancerTypeEnum::Application)
            .scheme(LoadBalancerSchemeEnum::from(scheme(d.internal)))
            .set_subnets(Some(d.subnets.clone()))
            .set_security_groups(Some(d.security_groups.clone()))
            .set_tags(Some(cx.tags.elbv2(cx.name)))
            .send()
            .await
            .context("CreateLoadBalancer", LoadBalancerKind::label(cx.name))?;
        let lb = out.load_balancers().first();
        let made = LoadBalancerOutputs {
            arn: lb
                .and_then(|l| l.load_balancer_arn())
                .unwrap_or_default()
                .to_owned(),
            dns_name: lb.and_then(|l| l.dns_name()).unwrap_or_default().to_owned(),
            zone_id: lb
                .and_then(|l| l.canonical_hosted_zone_id())
                .unwrap_or_default()
                .to_owned(),
        };
        set_attributes(aws, cx.name, &made.arn, &d.attributes).await?;
        Ok(made)
    }

    /// Active, when the inputs ask to wait for it (after a create).
    async fn ready(
        &self,
        cx: Cx<'_>,
        d: &LoadBalancerSpec<AtApply>,
        out: &LoadBalancerOutputs,
        action: Action,
    ) -> Result<Progress<LoadBalancerOutputs>, Error> {
        if !d.wait_active || action == Action::Update {
            return Ok(Progress::Done(out.clone()));
        }
        Ok(match poll_active(cx.aws, &out.arn).await? {
            Progress::Done(()) => Progress::Done(out.clone()),
            Progress::Pending { what, .. } => Progress::pending(what),
        })
    }

    /// Gone, so its network interfaces release the security groups and subnets.
    async fn gone(&self, cx: Cx<'_>, o: &FoundLoadBalancer) -> Result<Progress<()>, Error> {
        let out = cx
            .aws
            .elbv2()
            .describe_load_balancers()
            .load_balancer_arns(&o.arn)
            .send()
            .await;
        let gone = match out {
            Err(err) if err.code() == Some("LoadBalancerNotFound") => true,
            Err(err) => return Err(err).context("DescribeLoadBalancers", &o.arn),
            Ok(out) => out.load_balancers().is_empty(),
        };
        Ok(if gone {
            Progress::Done(())
        } else {
            Progress::pending(format!("load balancer {} to be deleted", o.arn))
        })
    }

    /// Subnets and security groups change in place.
    async fn update(
        &self,
        cx: Cx<'_>,
        d: &LoadBalancerSpec<AtApply>,
        o: &FoundLoadBalancer,
        delta: &Delta<LoadBalancerField>,
    ) -> Result<LoadBalancerOutputs, Error> {
        let (mut subnets, mut groups, mut attributes) = (false, false, false);
        for field in delta.fields() {
            match field {
                // Fixed: the engine replaces the load balancer instead.
                LoadBalancerField::Scheme => {}
                LoadBalancerField::Subnets => subnets = true,
                LoadBalancerField::SecurityGroups => groups = true,
                LoadBalancerField::Attribute => attributes = true,
            }
        }
        if subnets {
            cx.aws
                .elbv2()
                .set_subnets()
                .load_balancer_arn(&o.arn)
                .set_subnets(Some(d.subnets.clone()))
                .send()
                .await
                .context("SetSubnets", LoadBalancerKind::label(cx.name))?;
        }
        if groups {
            cx.aws
                .elbv2()
                .set_security_groups()
                .load_balancer_arn(&o.arn)
                .set_security_groups(Some(d.security_groups.clone()))
                .send()
                .await
                .context("SetSecurityGroups", LoadBalancerKind::label(cx.name))?;
        }
        if attributes {
            // Only those that differ: one `ModifyLoadBalancerAttributes` for them all.
            let changed: BTreeMap<String, String> = d
                .attributes
                .iter()
                .filter(|(k, v)| o.attributes.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            set_attributes(cx.aws, cx.name, &o.arn, &changed).await?;
        }
        Ok(self.outputs(o))
    }

    /// Deletes the load balancer (its listeners go with it).
    async fn delete(&self, cx: Cx<'_>, o: &FoundLoadBalancer) -> Result<(), Error> {
        if let Some(how) = self.protected(o) {
            return Err(Error::Protected {
                resource: LoadBalancerKind::label(cx.name),
                how,
            });
        }
        let aws = cx.aws;
        aws.elbv2()
            .delete_load_balancer()
            .load_balancer_arn(&o.arn)
            .send()
            .await
            .context("DeleteLoadBalancer", LoadBalancerKind::label(cx.name))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found() -> FoundLoadBalancer {
        FoundLoadBalancer {
            name: "blog-blog".into(),
            arn: "arn:lb".into(),
            dns_name: "blog.elb.amazonaws.com".into(),
            zone_id: "Z1".into(),
            internal: false,
            subnets: vec!["subnet-a".into(), "subnet-b".into()],
            security_groups: vec!["sg-1".into()],
            owner: None,
            created: None,
            attributes: [(DELETION_PROTECTION.to_owned(), "false".to_owned())].into(),
        }
    }

    fn spec() -> LoadBalancerSpec {
        LoadBalancerSpec {
            internal: false,
            subnets: Value::Known(vec!["subnet-b".into(), "subnet-a".into()]),
            security_groups: Value::Known(vec!["sg-1".into()]),
            wait_active: false,
            wait: Wait::default(),
            attributes: BTreeMap::new(),
        }
    }

    #[test]
    fn resolve_names_the_input_still_unknown() {
        let cases = [
            (
                LoadBalancerSpec {
                    subnets: Value::AfterApply,
                    ..spec()
                },
                "subnets",
            ),
            (
                LoadBalancerSpec {
                    security_groups: Value::AfterApply,
                    ..spec()
                },
                "security_groups",
            ),
        ];
        for (planned, input) in cases {
            assert_eq!(planned.resolve().unwrap_err().input, input);
        }
        let applied = spec().resolve().unwrap();
        assert_eq!(applied.subnets, ["subnet-b", "subnet-a"]);
        assert_eq!(applied.security_groups, ["sg-1"]);
    }

    #[test]
    fn scheme_replaces_and_groups_update_in_place() {
        assert!(LoadBalancerKind.diff(&spec(), &found()).is_empty());
        let internal = LoadBalancerSpec {
            internal: true,
            ..spec()
        };
        let delta = LoadBalancerKind.diff(&internal, &found());
        assert!(delta.replaces());
        assert_eq!(
            delta.changes[0].replaces,
            Some("ELB cannot change a load balancer's scheme")
        );
        let moved = LoadBalancerSpec {
            security_groups: Value::Known(vec!["sg-2".into()]),
            ..spec()
        };
        let delta = LoadBalancerKind.diff(&moved, &found());
        assert!(!delta.replaces());
        assert_eq!(delta.fields(), [LoadBalancerField::SecurityGroups]);
        assert_eq!(delta.diffs()[0].field, "security_groups");
        let unknown = LoadBalancerSpec {
            security_groups: Value::AfterApply,
            ..spec()
        };
        assert_eq!(LoadBalancerKind.diff(&unknown, &found()).diffs().len(), 1);
        // An attribute is compared when given; protection refuses a delete.
        let protected = LoadBalancerSpec {
            attributes: [(DELETION_PROTECTION.to_owned(), "true".to_owned())].into(),
            ..spec()
        };
        let delta = LoadBalancerKind.diff(&protected, &found());
        assert_eq!(delta.fields(), [LoadBalancerField::Attribute]);
        assert_eq!(delta.diffs()[0].field, DELETION_PROTECTION);
        let made = LoadBalancerKind.describe(&protected);
        assert_eq!(made[3].field, DELETION_PROTECTION);
        assert!(made.iter().all(|d| d.replaces.is_none()));
        assert!(LoadBalancerKind.protected(&found()).is_none());
        let on = FoundLoadBalancer {
            attributes: [(DELETION_PROTECTION.to_owned(), "true".to_owned())].into(),
            ..found()
        };
        assert!(LoadBalancerKind
            .protected(&on)
            .unwrap()
            .contains("deletion_protection"));
    }
}

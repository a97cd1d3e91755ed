//! Plan, apply and destroy.

use converge::{Action, Aws, AwsResultExt, Change, Error, Plan, Progress, Tags};

use crate::capacity_provider::{self as cp, ClusterProviders};
use crate::iam::{self, FoundProfile, FoundRole};
use crate::inputs::Instances;
use crate::outputs::InstancesOutputs;
use crate::{asg, launch_template as lt, security_group as sg};

/// The SSM parameter naming the recommended ECS-optimized Amazon Linux 2023 AMI.
pub const AMI_PARAMETER: &str =
    "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id";
/// The module name in the ownership tag's value.
const OWNER_KIND: &str = "ecs-instances";
const UNKNOWN: &str = "(known after apply)";

/// The names of everything the module makes.
struct Names {
    sg: String,
    role: String,
    profile: String,
    lt: String,
    asg: String,
    instance: String,
    service_role: String,
    capacity_provider: String,
}

/// What exists.
struct Existing {
    sg: Option<sg::Found>,
    role: Option<FoundRole>,
    profile: Option<FoundProfile>,
    /// The log group's change, from its own block (empty when destroying).
    log_group: Plan,
    lt: Option<lt::Found>,
    asg: Option<asg::Found>,
    service_role: Option<FoundRole>,
    capacity_provider: Option<cp::Found>,
    /// The cluster's providers, read when ours is wanted or exists.
    cluster: ClusterProviders,
}

impl Instances {
    fn tags(&self) -> Tags {
        Tags::new(OWNER_KIND, &self.environment).with_extra(self.tags.clone())
    }

    fn names(&self) -> Names {
        Names {
            sg: self.name("ecs-instances-sg"),
            role: self.name("ecs-instance-role"),
            profile: self.name("ecs-instance-profile"),
            lt: self.name("ecs-instances"),
            asg: self.name("ecs-asg"),
            instance: self.name("ecs-instance"),
            service_role: self.name("ecs-service-role"),
            capacity_provider: self.name("ecs-instances"),
        }
    }

    /// The AMI: the override, or the SSM parameter's value.
    pub async fn ami(&self, aws: &Aws) -> Result<String, Error> {
        if let Some(ami) = &self.ami_id {
            return Ok(ami.clone());
        }
        let out = aws
            .ssm()
            .get_parameter()
            .name(AMI_PARAMETER)
            .send()
            .await
            .context(
                "GetParameter",
                format_args!("ssm parameter {AMI_PARAMETER}"),
            )?;
        out.parameter()
            .and_then(|p| p.value())
            .map(str::to_owned)
            .ok_or_else(|| Error::Failed {
                resource: format!("ssm parameter {AMI_PARAMETER}"),
                reason: "has no value".into(),
            })
    }

    /// Reads what exists, concurrently. `strict`: a same-named resource we do not own is an
    /// error (plan, apply); otherwise it is left out (destroy).
    async fn read(&self, aws: &Aws, strict: bool) -> Result<Existing, Error> {
        let tags = self.tags();
        let n = self.names();
        let log = async {
            if strict {
                self.log_group.plan(aws).await
            } else {
                Ok(Plan::new())
            }
        };
        let capacity = async {
            let found = cp::find(aws, &tags, &n.capacity_provider, strict).await?;
            let cluster = if found.is_some() || self.capacity_provider.is_some() {
                cp::cluster_providers(aws, &self.ecs_cluster_name).await?
            } else {
                ClusterProviders::default()
            };
            Ok::<_, Error>((found, cluster))
        };
        let service_role = async {
            if strict && !self.create_ecs_service_role {
                return Ok(None);
            }
            iam::find_role(aws, &tags, &n.service_role, strict).await
        };
        let (sg, role, profile, log_group, lt, asg, service_role, (capacity_provider, cluster)) = tokio::try_join!(
            sg::find(aws, &tags, &n.sg, &self.vpc_cidr),
            iam::find_role(aws, &tags, &n.role, strict),
            iam::find_profile(aws, &tags, &n.profile, strict),
            log,
            lt::find(aws, &tags, &n.lt),
            asg::find(aws, &tags, &n.asg, strict),
            service_role,
            capacity,
        )?;
        Ok(Existing {
            sg,
            role,
            profile,
            log_group,
            lt,
            asg,
            service_role,
            capacity_provider,
            cluster,
        })
    }

    fn desired_template(&self, ami: &str, profile_arn: &str, sg_id: &str) -> lt::Desired {
        let n = self.names();
        lt::Desired {
            name: n.lt,
            instance_name: n.instance,
            ami: ami.to_owned(),
            instance_type: self.instance_type.clone(),
            profile_arn: profile_arn.to_owned(),
            sg_id: sg_id.to_owned(),
            user_data: aws_smithy_types::base64::encode(self.user_data()),
            key_name: self.key_name.clone(),
            volume_size: self.root_volume_size as i32,
        }
    }

    fn desired_group(&self, lt_id: &str, version: &str) -> asg::Desired {
        asg::Desired {
            name: self.names().asg,
            lt_id: lt_id.to_owned(),
            version: version.to_owned(),
            min: self.asg_min as i32,
            max: self.asg_max as i32,
            desired: self.asg_desired as i32,
            subnets: self.subnets.clone(),
        }
    }

    /// What [`apply`](Instances::apply) would change, without changing anything: one change
    /// per resource, a launch template change listing the attributes of its new version.
    pub async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        let (ami, existing) = tokio::try_join!(self.ami(aws), Box::pin(self.read(aws, true)))?;
        Ok(self.plan_of(aws.region(), &ami, &existing))
    }

    fn plan_of(&self, region: &str, ami: &str, existing: &Existing) -> Plan {
        let n = self.names();
        let policy = iam::policy_arn(region, iam::INSTANCE_POLICY);
        let mut plan = Plan::new();

        plan.push(match &existing.sg {
            None => Change::new(Action::Create, sg::KIND, &n.sg).diff(
                "ingress tcp 0-65535",
                None::<String>,
                Some(&self.vpc_cidr),
            ),
            Some(f) if !f.has_ingress => Change::new(Action::Update, sg::KIND, &n.sg)
                .id(&f.id)
                .diff("ingress tcp 0-65535", None::<String>, Some(&self.vpc_cidr)),
            Some(f) => Change::new(Action::NoOp, sg::KIND, &n.sg).id(&f.id),
        });
        plan.push(role_change(&n.role, existing.role.as_ref(), &policy));
        plan.push(match &existing.profile {
            None => Change::new(Action::Create, iam::PROFILE_KIND, &n.profile).diff(
                "role",
                None::<String>,
                Some(&n.role),
            ),
            Some(p) if !p.roles.contains(&n.role) => {
                Change::new(Action::Update, iam::PROFILE_KIND, &n.profile)
                    .id(&p.arn)
                    .diff("role", None::<String>, Some(&n.role))
            }
            Some(p) => Change::new(Action::NoOp, iam::PROFILE_KIND, &n.profile).id(&p.arn),
        });
        plan.extend(existing.log_group.clone());

        let profile_arn = existing
            .profile
            .as_ref()
            .map_or(UNKNOWN, |p| p.arn.as_str());
        let sg_id = existing.sg.as_ref().map_or(UNKNOWN, |s| s.id.as_str());
        let desired = self.desired_template(ami, profile_arn, sg_id);
        let (lt_id, version) = match &existing.lt {
            None => {
                let mut change = Change::new(Action::Create, lt::KIND, &n.lt);
                for (field, value) in desired.fields() {
                    change = change.diff(field, None::<String>, value);
                }
                plan.push(change);
                (UNKNOWN.to_owned(), "1".to_owned())
            }
            Some(f) => {
                let diffs = lt::differences(&f.fields, &desired.fields());
                let mut change = Change::new(Action::NoOp, lt::KIND, &n.lt).id(&f.id);
                let mut version = f.version;
                if !diffs.is_empty() {
                    change.action = Action::Update;
                    version += 1;
                    change = change.diff(
                        "latest_version",
                        Some(f.version.to_string()),
                        Some(version.to_string()),
                    );
                    for (field, before, after) in diffs {
                        change = change.diff(field, before, after);
                    }
                }
                plan.push(change);
                (f.id.clone(), version.to_string())
            }
        };

        let group = self.desired_group(&lt_id, &version);
        let asg_arn = existing.asg.as_ref().map(|f| f.arn.as_str());
        plan.push(match &existing.asg {
            None => Change::new(Action::Create, asg::KIND, &n.asg)
                .diff("launch_template.version", None::<String>, Some(&version))
                .diff("min_size", None::<String>, Some(self.asg_min.to_string()))
                .diff("max_size", None::<String>, Some(self.asg_max.to_string()))
                .diff(
                    "desired_capacity",
                    None::<String>,
                    Some(self.asg_desired.to_string()),
                ),
            Some(f) => {
                let mut change = Change::new(Action::NoOp, asg::KIND, &n.asg).id(&f.arn);
                for (field, before, after) in group.differences(f) {
                    change.action = Action::Update;
                    change = change.diff(field, Some(before), Some(after));
                }
                change
            }
        });
        self.plan_capacity_provider(&mut plan, existing, asg_arn);
        if self.create_ecs_service_role {
            let policy = iam::policy_arn(region, iam::SERVICE_POLICY);
            plan.push(role_change(
                &n.service_role,
                existing.service_role.as_ref(),
                &policy,
            ));
        }
        plan
    }

    /// Makes everything match the inputs and returns the outputs. A second apply with the same
    /// inputs makes no mutating call. A changed AMI, instance type, user data (or anything else
    /// in the template) makes a new launch template version and moves the group to it (and,
    /// with [`instance_refresh`](crate::InstancesBuilder::instance_refresh), starts an
    /// instance refresh); sizes and subnets are updated in place. A failure says what was
    /// left behind; applying again finishes the job.
    pub async fn apply(&self, aws: &Aws) -> Result<InstancesOutputs, Error> {
        let (ami, existing) = tokio::try_join!(self.ami(aws), Box::pin(self.read(aws, true)))?;
        converge::events::planned(&self.plan_of(aws.region(), &ami, &existing).changes);
        let progress = Progress::new();
        // Boxed: the whole converge is a large future, too large for a small stack in debug.
        Box::pin(self.converge(aws, ami, existing, &progress))
            .await
            .map_err(|err| progress.fail(err))
    }

    async fn converge(
        &self,
        aws: &Aws,
        ami: String,
        existing: Existing,
        progress: &Progress,
    ) -> Result<InstancesOutputs, Error> {
        let tags = self.tags();
        let n = self.names();
        let security_group = async {
            match &existing.sg {
                None => {
                    let id = sg::create(aws, &tags, &n.sg, &self.vpc_id, &self.vpc_cidr).await?;
                    progress.made(format_args!("{} \"{}\" ({id})", sg::KIND, n.sg));
                    Ok(id)
                }
                Some(f) => {
                    if !f.has_ingress {
                        sg::authorize(aws, &f.id, &self.vpc_cidr).await?;
                    }
                    Ok::<_, Error>(f.id.clone())
                }
            }
        };
        let roles = async {
            let policy = iam::policy_arn(aws.region(), iam::INSTANCE_POLICY);
            let created = existing.role.is_none();
            let role_arn = iam::ensure_role(
                aws,
                &tags,
                &n.role,
                iam::EC2_TRUST,
                &policy,
                existing.role.clone(),
            )
            .await?;
            if created {
                progress.made(format_args!("{} \"{}\"", iam::ROLE_KIND, n.role));
            }
            let created = existing.profile.is_none();
            let profile_arn =
                iam::ensure_profile(aws, &tags, &n.profile, &n.role, existing.profile.clone())
                    .await?;
            if created {
                progress.made(format_args!("{} \"{}\"", iam::PROFILE_KIND, n.profile));
            }
            Ok::<_, Error>((role_arn, profile_arn))
        };
        let logs = async {
            // The block reads again; skipping it when nothing changes keeps a no-op cheap.
            if !existing.log_group.is_empty() {
                self.log_group.apply(aws).await?;
            }
            Ok::<_, Error>(())
        };
        let service_role = async {
            if !self.create_ecs_service_role {
                return Ok(None);
            }
            let policy = iam::policy_arn(aws.region(), iam::SERVICE_POLICY);
            let arn = iam::ensure_role(
                aws,
                &tags,
                &n.service_role,
                iam::ECS_TRUST,
                &policy,
                existing.service_role.clone(),
            )
            .await?;
            Ok::<_, Error>(Some(arn))
        };
        let (sg_id, (role_arn, profile_arn), (), service_role_arn) =
            tokio::try_join!(security_group, roles, logs, service_role)?;

        let desired = self.desired_template(&ami, &profile_arn, &sg_id);
        let (lt_id, version, template_changed) = match &existing.lt {
            None => {
                let (id, version) = lt::create(aws, &tags, &desired).await?;
                progress.made(format_args!("{} \"{}\" ({id})", lt::KIND, n.lt));
                (id, version, false)
            }
            Some(f) if !lt::differences(&f.fields, &desired.fields()).is_empty() => {
                let version = lt::new_version(aws, &tags, &f.id, &desired).await?;
                tracing::info!(template = %f.id, version, "launch template version created");
                (f.id.clone(), version, true)
            }
            Some(f) => (f.id.clone(), f.version, false),
        };

        let group = self.desired_group(&lt_id, &version.to_string());
        let asg_arn = match &existing.asg {
            None => {
                asg::create(aws, &tags, &group).await?;
                progress.made(format_args!("{} \"{}\"", asg::KIND, n.asg));
                asg::find(aws, &tags, &n.asg, true)
                    .await?
                    .map(|f| f.arn)
                    .unwrap_or_default()
            }
            Some(f) => {
                if !group.differences(f).is_empty() {
                    asg::update(aws, &group).await?;
                }
                if template_changed && self.instance_refresh {
                    asg::refresh(aws, &n.asg).await?;
                }
                f.arn.clone()
            }
        };
        let capacity_provider_name = self
            .converge_capacity_provider(aws, &existing, &asg_arn, progress)
            .await?;
        Ok(InstancesOutputs {
            asg_name: n.asg,
            asg_arn,
            launch_template_id: lt_id,
            launch_template_version: version.to_string(),
            instance_role_arn: role_arn,
            instance_profile_arn: profile_arn,
            security_group_id: sg_id,
            log_group_name: self.log_group.name().to_owned(),
            service_role_arn,
            capacity_provider_name,
        })
    }

    /// Deletes everything the module made, found by name and ownership tag (never by saved
    /// outputs); anything lacking our ownership tag is left alone. The group goes first
    /// (`ForceDelete`, waited until gone), then the template, the profile (its role taken out
    /// first), the roles (their policies first) and the log group, and last the security group
    /// (retried while terminating instances hold it). Returns what it deleted.
    pub async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        let existing = Box::pin(self.read(aws, false)).await?;
        let n = self.names();
        let mut plan = Plan::new();
        if let Some(f) = &existing.capacity_provider {
            if existing.cluster.has(&n.capacity_provider) {
                cp::detach(
                    aws,
                    &self.ecs_cluster_name,
                    &existing.cluster,
                    &n.capacity_provider,
                )
                .await?;
            }
            cp::delete(aws, &self.tags(), &n.capacity_provider, &self.wait).await?;
            plan.push(Change::new(Action::Delete, cp::KIND, &n.capacity_provider).id(&f.arn));
        }
        if let Some(f) = &existing.asg {
            plan.push(Change::new(Action::Delete, asg::KIND, &n.asg).id(&f.arn));
            asg::delete(aws, &n.asg, &self.wait).await?;
        }
        let template = async {
            if let Some(f) = &existing.lt {
                lt::delete(aws, &f.id).await?;
            }
            Ok::<_, Error>(())
        };
        let instance_iam = async {
            if let Some(p) = &existing.profile {
                iam::delete_profile(aws, &n.profile, &p.roles).await?;
            }
            if let Some(r) = &existing.role {
                iam::delete_role(aws, &n.role, &r.attached).await?;
            }
            Ok::<_, Error>(())
        };
        let service_role = async {
            if let Some(r) = &existing.service_role {
                iam::delete_role(aws, &n.service_role, &r.attached).await?;
            }
            Ok::<_, Error>(())
        };
        let (_, _, _, logs) = tokio::try_join!(
            template,
            instance_iam,
            service_role,
            self.log_group.destroy(aws)
        )?;
        if let Some(f) = &existing.sg {
            sg::delete(aws, &f.id).await?;
        }
        if let Some(f) = &existing.lt {
            plan.push(Change::new(Action::Delete, lt::KIND, &n.lt).id(&f.id));
        }
        if let Some(p) = &existing.profile {
            plan.push(Change::new(Action::Delete, iam::PROFILE_KIND, &n.profile).id(&p.arn));
        }
        if let Some(r) = &existing.role {
            plan.push(Change::new(Action::Delete, iam::ROLE_KIND, &n.role).id(&r.arn));
        }
        if let Some(r) = &existing.service_role {
            plan.push(Change::new(Action::Delete, iam::ROLE_KIND, &n.service_role).id(&r.arn));
        }
        plan.extend(logs);
        if let Some(f) = &existing.sg {
            plan.push(Change::new(Action::Delete, sg::KIND, &n.sg).id(&f.id));
        }
        Ok(plan)
    }
}

/// The capacity provider: planned and converged after the group, whose ARN it names.
impl Instances {
    fn plan_capacity_provider(&self, plan: &mut Plan, existing: &Existing, asg_arn: Option<&str>) {
        let name = self.names().capacity_provider;
        let cluster = &existing.cluster;
        let listed = |providers: &[String]| Some(providers.join(","));
        match (&self.capacity_provider, &existing.capacity_provider) {
            (None, None) => {}
            (None, Some(found)) => {
                if cluster.has(&name) {
                    let after: Vec<String> = cluster
                        .providers
                        .iter()
                        .filter(|p| **p != name)
                        .cloned()
                        .collect();
                    plan.push(
                        Change::new(Action::Update, cp::CLUSTER_KIND, &self.ecs_cluster_name).diff(
                            "capacity_providers",
                            listed(&cluster.providers),
                            listed(&after),
                        ),
                    );
                }
                plan.push(Change::new(Action::Delete, cp::KIND, &name).id(&found.arn));
            }
            (Some(scaling), found) => {
                let change = match found {
                    None => {
                        let mut change = Change::new(Action::Create, cp::KIND, &name).diff(
                            "auto_scaling_group_arn",
                            None::<String>,
                            Some(asg_arn.unwrap_or(UNKNOWN)),
                        );
                        for (field, value) in scaling.fields() {
                            change = change.diff(field, None::<String>, Some(value));
                        }
                        change
                    }
                    Some(found) if asg_arn.is_some_and(|arn| arn != found.asg_arn) => {
                        Change::new(Action::Replace, cp::KIND, &name)
                            .id(&found.arn)
                            .diff("auto_scaling_group_arn", Some(&found.asg_arn), asg_arn)
                    }
                    Some(found) => {
                        let mut change = Change::new(Action::NoOp, cp::KIND, &name).id(&found.arn);
                        for ((field, have), (_, want)) in
                            found.scaling.fields().into_iter().zip(scaling.fields())
                        {
                            if have != want {
                                change.action = Action::Update;
                                change = change.diff(field, Some(have), Some(want));
                            }
                        }
                        change
                    }
                };
                plan.push(change);
                if !cluster.has(&name) {
                    let mut after = cluster.providers.clone();
                    after.push(name.clone());
                    plan.push(
                        Change::new(Action::Update, cp::CLUSTER_KIND, &self.ecs_cluster_name).diff(
                            "capacity_providers",
                            listed(&cluster.providers),
                            listed(&after),
                        ),
                    );
                }
            }
        }
    }

    /// Makes, updates, replaces or removes our capacity provider and keeps the cluster's list
    /// in step. Returns its name when it is wanted.
    async fn converge_capacity_provider(
        &self,
        aws: &Aws,
        existing: &Existing,
        asg_arn: &str,
        progress: &Progress,
    ) -> Result<Option<String>, Error> {
        let tags = self.tags();
        let name = self.names().capacity_provider;
        let cluster_name = &self.ecs_cluster_name;
        let mut cluster = existing.cluster.clone();
        let found = match &existing.capacity_provider {
            Some(found) if self.capacity_provider.is_none() || found.asg_arn != asg_arn => {
                // Not wanted any more, or bound to a group that is gone: ECS cannot move a
                // provider to another group, so it goes and (when wanted) comes back.
                if cluster.has(&name) {
                    cp::detach(aws, cluster_name, &cluster, &name).await?;
                    cluster.providers.retain(|p| *p != name);
                }
                cp::delete(aws, &tags, &name, &self.wait).await?;
                None
            }
            found => found.clone(),
        };
        let Some(scaling) = &self.capacity_provider else {
            return Ok(None);
        };
        match found {
            None => {
                let arn = cp::create(aws, &tags, &name, asg_arn, scaling).await?;
                progress.made(format_args!("{} \"{name}\" ({arn})", cp::KIND));
            }
            Some(found) if found.scaling != *scaling => {
                cp::update(aws, &name, scaling).await?;
            }
            Some(_) => {}
        }
        if !cluster.has(&name) {
            cp::attach(aws, cluster_name, &cluster, &name).await?;
        }
        Ok(Some(name))
    }
}

fn role_change(name: &str, found: Option<&FoundRole>, policy: &str) -> Change {
    match found {
        None => Change::new(Action::Create, iam::ROLE_KIND, name).diff(
            "managed_policy_arns",
            None::<String>,
            Some(policy),
        ),
        Some(r) if !r.attached.iter().any(|a| a == policy) => {
            Change::new(Action::Update, iam::ROLE_KIND, name)
                .id(&r.arn)
                .diff("managed_policy_arns", None::<String>, Some(policy))
        }
        Some(r) => Change::new(Action::NoOp, iam::ROLE_KIND, name).id(&r.arn),
    }
}

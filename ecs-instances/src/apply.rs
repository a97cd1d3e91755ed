//! Plan, apply and destroy.

use converge::{Action, Aws, AwsResultExt, Change, Error, Plan, Progress, Tags};

use crate::iam::{self, FoundProfile, FoundRole};
use crate::inputs::Instances;
use crate::outputs::InstancesOutputs;
use crate::{asg, launch_template as lt, log_group, security_group as sg};

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
    log_group: String,
    lt: String,
    asg: String,
    instance: String,
    service_role: String,
}

/// What exists.
struct Existing {
    sg: Option<sg::Found>,
    role: Option<FoundRole>,
    profile: Option<FoundProfile>,
    log_group: bool,
    lt: Option<lt::Found>,
    asg: Option<asg::Found>,
    service_role: Option<FoundRole>,
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
            log_group: format!("/ecs/{}/ecs-agent", self.environment),
            lt: self.name("ecs-instances"),
            asg: self.name("ecs-asg"),
            instance: self.name("ecs-instance"),
            service_role: self.name("ecs-service-role"),
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
            match log_group::find(aws, &tags, &n.log_group).await? {
                Some(false) if strict => Err(Error::NotOwned {
                    kind: log_group::KIND.into(),
                    id: n.log_group.clone(),
                    owner: tags.owner().to_owned(),
                }),
                found => Ok(found == Some(true)),
            }
        };
        let service_role = async {
            if strict && !self.create_ecs_service_role {
                return Ok(None);
            }
            iam::find_role(aws, &tags, &n.service_role, strict).await
        };
        let (sg, role, profile, log_group, lt, asg, service_role) = tokio::try_join!(
            sg::find(aws, &tags, &n.sg, &self.vpc_cidr),
            iam::find_role(aws, &tags, &n.role, strict),
            iam::find_profile(aws, &tags, &n.profile, strict),
            log,
            lt::find(aws, &tags, &n.lt),
            asg::find(aws, &tags, &n.asg, strict),
            service_role,
        )?;
        Ok(Existing {
            sg,
            role,
            profile,
            log_group,
            lt,
            asg,
            service_role,
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
        let n = self.names();
        let policy = iam::policy_arn(aws.region(), iam::INSTANCE_POLICY);
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
        plan.push(Change::new(
            if existing.log_group {
                Action::NoOp
            } else {
                Action::Create
            },
            log_group::KIND,
            &n.log_group,
        ));

        let profile_arn = existing
            .profile
            .as_ref()
            .map_or(UNKNOWN, |p| p.arn.as_str());
        let sg_id = existing.sg.as_ref().map_or(UNKNOWN, |s| s.id.as_str());
        let desired = self.desired_template(&ami, profile_arn, sg_id);
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
        if self.create_ecs_service_role {
            let policy = iam::policy_arn(aws.region(), iam::SERVICE_POLICY);
            plan.push(role_change(
                &n.service_role,
                existing.service_role.as_ref(),
                &policy,
            ));
        }
        Ok(plan)
    }

    /// Makes everything match the inputs and returns the outputs. A second apply with the same
    /// inputs makes no mutating call. A changed AMI, instance type, user data (or anything else
    /// in the template) makes a new launch template version and moves the group to it (and,
    /// with [`instance_refresh`](crate::InstancesBuilder::instance_refresh), starts an
    /// instance refresh); sizes and subnets are updated in place. A failure says what was
    /// left behind; applying again finishes the job.
    pub async fn apply(&self, aws: &Aws) -> Result<InstancesOutputs, Error> {
        let (ami, existing) = tokio::try_join!(self.ami(aws), Box::pin(self.read(aws, true)))?;
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
            if !existing.log_group {
                log_group::create(aws, &tags, &n.log_group).await?;
                progress.made(format_args!("{} \"{}\"", log_group::KIND, n.log_group));
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
        Ok(InstancesOutputs {
            asg_name: n.asg,
            asg_arn,
            launch_template_id: lt_id,
            launch_template_version: version.to_string(),
            instance_role_arn: role_arn,
            instance_profile_arn: profile_arn,
            security_group_id: sg_id,
            log_group_name: n.log_group,
            service_role_arn,
            capacity_provider_name: None,
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
        let logs = async {
            if existing.log_group {
                log_group::delete(aws, &n.log_group).await?;
            }
            Ok::<_, Error>(())
        };
        tokio::try_join!(template, instance_iam, service_role, logs)?;
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
        if existing.log_group {
            plan.push(Change::new(Action::Delete, log_group::KIND, &n.log_group));
        }
        if let Some(f) = &existing.sg {
            plan.push(Change::new(Action::Delete, sg::KIND, &n.sg).id(&f.id));
        }
        Ok(plan)
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

//! The module on the resource model: its resources declared into a stack, with typed
//! references to their outputs; plan, apply, destroy and outputs are runs of that stack.

use async_trait::async_trait;
use converge::kinds::iam_role::{managed_policy_arn, trust_policy};
use converge::kinds::{
    IngressRule, LogGroupOutputs, Peer, RoleKind, RoleSpec, SecurityGroupKind, SecurityGroupSpec,
};
use converge::{Aws, AwsResultExt, Error, Handle, Module, Plan, Ref, Stack, Tags, Value};

use crate::auto_scaling_group::{AutoScalingGroupKind, AutoScalingGroupSpec};
use crate::capacity_provider::{CapacityProviderKind, CapacityProviderSpec};
use crate::cluster_capacity_providers::{ClusterProvidersKind, ClusterProvidersSpec};
use crate::inputs::{default_user_data, Instances};
use crate::instance_profile::{InstanceProfileKind, InstanceProfileSpec};
use crate::launch_template::{LaunchTemplateKind, LaunchTemplateSpec};
use crate::outputs::{InstancesOutputs, InstancesRefs};

/// The SSM parameter naming the recommended ECS-optimized Amazon Linux 2023 AMI.
pub const AMI_PARAMETER: &str =
    "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id";
/// The capacity provider's name after the environment.
pub(crate) const PROVIDER_SUFFIX: &str = "ecs-instances";
/// The module name in the ownership tag's value.
const OWNER_KIND: &str = "ecs-instances";
/// The security group's description (fixed in EC2: a new one would replace the group).
const SG_DESCRIPTION: &str = "ECS instances: all TCP from the VPC";
/// The instances' managed policy: register with ECS, pull from ECR, write logs.
const INSTANCE_POLICY: &str = "service-role/AmazonEC2ContainerServiceforEC2Role";
/// The legacy service role's managed policy: register instances with load balancers.
const SERVICE_POLICY: &str = "service-role/AmazonEC2ContainerServiceRole";

/// What the declaration is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// Plan, apply, outputs: what the inputs ask for.
    Converge,
    /// Destroy: also what the inputs no longer ask for but an earlier apply may have made
    /// (the legacy service role), and no AMI lookup (nothing is made).
    Teardown,
}

/// The resources the outputs read.
#[derive(Clone)]
struct Declared {
    sg: Handle<SecurityGroupKind>,
    role: Handle<RoleKind>,
    profile: Handle<InstanceProfileKind>,
    logs: Ref<LogGroupOutputs>,
    service_role: Option<Handle<RoleKind>>,
    template: Handle<LaunchTemplateKind>,
    group: Handle<AutoScalingGroupKind>,
}

impl Instances {
    pub(crate) fn tags(&self) -> Tags {
        Tags::new(OWNER_KIND, &self.environment).with_extra(self.tags.clone())
    }

    /// The AMI: the override, or the SSM parameter's value. An input read before declaring,
    /// not a resource.
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

    async fn declare_all(
        &self,
        aws: &Aws,
        stack: &mut Stack,
        purpose: Purpose,
    ) -> Result<InstancesRefs, Error> {
        let start = stack.len();
        let ami = match purpose {
            Purpose::Converge => Value::Known(self.ami(aws).await?),
            Purpose::Teardown => Value::AfterApply,
        };
        // The AMI's public parameter (read before declaring, unless `ami_id` is given).
        stack.require([converge::Grant::new(["ssm:GetParameter"])
            .on("arn:aws:ssm:*:*:parameter/aws/service/ecs/*")]);
        let tags = self.tags();
        let region = aws.region().to_owned();

        let sg = self.declare_security_group(stack, &tags);
        let (role, profile) = self.declare_instance_role(stack, &tags, &region);
        let logs = self.log_group.declare(aws, stack).await?.outputs;
        let service_role = self.declare_service_role(stack, &tags, &region, purpose);
        let template = self.declare_launch_template(stack, &tags, ami, logs.clone(), profile, sg);
        let group = self.declare_group(stack, &tags, template);
        let capacity_provider_name = self.declare_capacity_provider(stack, &tags, group);

        let declared = Declared {
            sg,
            role,
            profile,
            logs,
            service_role,
            template,
            group,
        };
        let outputs = self.outputs(&declared, capacity_provider_name.clone());
        Ok(InstancesRefs {
            asg_name: group.output(|o| o.name.clone()),
            asg_arn: group.output(|o| o.arn.clone()),
            security_group_id: sg.output(|o| o.id.clone()),
            instance_role_arn: role.output(|o| o.role_arn.clone()),
            capacity_provider_name,
            outputs,
            addresses: stack.addresses_from(start),
        })
    }

    /// The instances' security group: all TCP from the VPC.
    fn declare_security_group(&self, stack: &mut Stack, tags: &Tags) -> Handle<SecurityGroupKind> {
        let (vpc_id, vpc_cidr) = (self.vpc_id.clone(), self.vpc_cidr.clone());
        stack.add(
            SecurityGroupKind,
            self.name("ecs-instances-sg"),
            tags.clone(),
            (),
            move |r| SecurityGroupSpec {
                vpc_id: r.value(&vpc_id),
                description: SG_DESCRIPTION.into(),
                ingress: vec![IngressRule {
                    from: 0,
                    to: 65535,
                    peer: r.value(&vpc_cidr).map(Peer::Cidr),
                }],
            },
        )
    }

    /// The instances' role and the instance profile that carries it.
    fn declare_instance_role(
        &self,
        stack: &mut Stack,
        tags: &Tags,
        region: &str,
    ) -> (Handle<RoleKind>, Handle<InstanceProfileKind>) {
        let instance_role = RoleSpec {
            assume_role_policy: trust_policy("ec2.amazonaws.com"),
            managed_policy_arns: vec![managed_policy_arn(region, INSTANCE_POLICY)],
        };
        let role = stack.add(
            RoleKind,
            self.name("ecs-instance-role"),
            tags.clone(),
            (),
            move |_| instance_role.clone(),
        );
        let profile = stack.add(
            InstanceProfileKind,
            self.name("ecs-instance-profile"),
            tags.clone(),
            (),
            move |r| InstanceProfileSpec {
                role: r.get(&role).map(|o| o.role_name.clone()),
            },
        );
        (role, profile)
    }

    /// The legacy ECS service role, when asked for, and always at teardown (an earlier apply
    /// may have made it).
    fn declare_service_role(
        &self,
        stack: &mut Stack,
        tags: &Tags,
        region: &str,
        purpose: Purpose,
    ) -> Option<Handle<RoleKind>> {
        match (self.create_ecs_service_role, purpose) {
            (false, Purpose::Converge) => None,
            _ => {
                let spec = RoleSpec {
                    assume_role_policy: trust_policy("ecs.amazonaws.com"),
                    managed_policy_arns: vec![managed_policy_arn(region, SERVICE_POLICY)],
                };
                Some(stack.add(
                    RoleKind,
                    self.name("ecs-service-role"),
                    tags.clone(),
                    (),
                    move |_| spec.clone(),
                ))
            }
        }
    }

    /// The launch template: the AMI, the profile, the group and the user data joining the
    /// cluster.
    fn declare_launch_template(
        &self,
        stack: &mut Stack,
        tags: &Tags,
        ami: Value<String>,
        logs: Ref<LogGroupOutputs>,
        profile: Handle<InstanceProfileKind>,
        sg: Handle<SecurityGroupKind>,
    ) -> Handle<LaunchTemplateKind> {
        let encode = |text: &str| aws_smithy_types::base64::encode(text);
        let user_data: Ref<String> = match &self.user_data {
            Some(custom) => Ref::known(encode(&custom.0)),
            None => self
                .cluster
                .clone()
                .map(move |cluster| encode(&default_user_data(&cluster))),
        };
        let template_spec = {
            let instance_name = self.name("ecs-instance");
            let (instance_type, key_name) = (self.instance_type.clone(), self.key_name.clone());
            let volume_size = i32::try_from(self.root_volume_size).unwrap_or(i32::MAX);
            move |r: &converge::Resolver<'_>| {
                // The instances' agent writes to the log group: it exists before them and goes
                // after them (else the agent could make it again, untagged).
                let _ = r.value(&logs);
                LaunchTemplateSpec {
                    instance_name: instance_name.clone(),
                    ami: ami.clone(),
                    instance_type: instance_type.clone(),
                    profile_arn: r.get(&profile).map(|o| o.arn.clone()),
                    sg_id: r.get(&sg).map(|o| o.id.clone()),
                    user_data: r.value(&user_data),
                    key_name: key_name.clone(),
                    volume_size,
                }
            }
        };
        stack.add(
            LaunchTemplateKind,
            self.name("ecs-instances"),
            tags.clone(),
            (),
            template_spec,
        )
    }

    /// The Auto Scaling group launching `template` in the subnets.
    fn declare_group(
        &self,
        stack: &mut Stack,
        tags: &Tags,
        template: Handle<LaunchTemplateKind>,
    ) -> Handle<AutoScalingGroupKind> {
        let group_spec = {
            let subnets = self.subnets.clone();
            let size = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
            let (min, max, desired) = (
                size(self.asg_min),
                size(self.asg_max),
                size(self.asg_desired),
            );
            let instance_refresh = self.instance_refresh;
            let desired_managed = self.capacity_provider.is_some();
            move |r: &converge::Resolver<'_>| {
                let template = r.get(&template);
                AutoScalingGroupSpec {
                    lt_id: template.clone().map(|o| o.id.clone()),
                    version: template.map(|o| o.version.clone()),
                    min,
                    max,
                    desired,
                    desired_managed,
                    subnets: r.value(&subnets),
                    instance_refresh,
                }
            }
        };
        stack.add(
            AutoScalingGroupKind { wait: self.wait },
            self.name("ecs-asg"),
            tags.clone(),
            (),
            group_spec,
        )
    }

    /// The capacity provider on `group` and its place in the cluster; returns its name, `None`
    /// when not wanted.
    fn declare_capacity_provider(
        &self,
        stack: &mut Stack,
        tags: &Tags,
        group: Handle<AutoScalingGroupKind>,
    ) -> Ref<Option<String>> {
        // The provider and its place in the cluster. Named after the environment; when not
        // wanted (any more), still read, so one made before leaves the cluster and goes.
        let provider_name = self.name(PROVIDER_SUFFIX);
        let provider_kind = CapacityProviderKind { wait: self.wait };
        let cluster = self.cluster.clone();
        let key = self.cluster_name.clone();
        match self.capacity_provider {
            Some(scaling) => {
                let provider =
                    stack.add(provider_kind, &provider_name, tags.clone(), (), move |r| {
                        CapacityProviderSpec {
                            asg_arn: r.get(&group).map(|o| o.arn.clone()),
                            scaling,
                        }
                    });
                let joined_name = provider_name.clone();
                let joined = stack.add(
                    ClusterProvidersKind,
                    &provider_name,
                    tags.clone(),
                    key,
                    move |r| ClusterProvidersSpec {
                        cluster: r.value(&cluster),
                        provider: joined_name.clone(),
                        provider_arn: r.get(&provider).map(|o| o.arn.clone()),
                    },
                );
                joined.output(|o| Some(o.provider.clone()))
            }
            None => {
                let provider =
                    stack.track(provider_kind, &provider_name, tags.clone(), (), move |r| {
                        r.get(&group);
                    });
                stack.track(
                    ClusterProvidersKind,
                    &provider_name,
                    tags.clone(),
                    key,
                    move |r| {
                        r.get(&provider);
                        r.value(&cluster);
                    },
                );
                Ref::known(None)
            }
        }
    }

    /// The module's outputs, once every resource they read is known.
    fn outputs(
        &self,
        declared: &Declared,
        capacity_provider_name: Ref<Option<String>>,
    ) -> Ref<InstancesOutputs> {
        let Declared {
            sg,
            role,
            profile,
            logs,
            service_role,
            template,
            group,
        } = declared.clone();
        let log_group_name = self.log_group.name().to_owned();
        Ref::new(move |r| {
            let service_role_arn = match &service_role {
                Some(h) => r.get(h).map(|o| Some(o.role_arn.clone())),
                None => Value::Known(None),
            };
            r.get(&group)
                .zip(r.get(&template))
                .zip(r.get(&role))
                .zip(r.get(&profile))
                .zip(r.get(&sg))
                .zip(r.value(&logs))
                .zip(service_role_arn)
                .zip(r.value(&capacity_provider_name))
                .map(
                    |(((((((group, template), role), profile), sg), _), service), cp)| {
                        InstancesOutputs {
                            asg_name: group.name.clone(),
                            asg_arn: group.arn.clone(),
                            launch_template_id: template.id.clone(),
                            launch_template_version: template.version.clone(),
                            instance_role_arn: role.role_arn.clone(),
                            instance_profile_arn: profile.arn.clone(),
                            security_group_id: sg.id.clone(),
                            log_group_name: log_group_name.clone(),
                            service_role_arn: service,
                            capacity_provider_name: cp,
                        }
                    },
                )
        })
    }

    /// What [`apply`](Instances::apply) would change, without changing anything: one change
    /// per resource, what a create sets (values made by this apply as `(known after
    /// apply)`), a launch template change listing the attributes of its new version. A
    /// same-named resource without our ownership tag is [`Error::NotOwned`] here too.
    pub async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::plan(self, aws).await
    }

    /// Makes everything match the inputs and returns the outputs, each resource as soon as
    /// the ones it reads exist. A second apply with the same inputs makes no mutating call.
    /// A changed AMI, instance type, user data (or anything else in the template) makes a
    /// new launch template version and moves the group to it (and, with
    /// [`instance_refresh`](crate::InstancesBuilder::instance_refresh), starts an instance
    /// refresh); sizes and subnets are updated in place. A failure ([`Error::Stopped`])
    /// lists what was done and what remains; applying again finishes the job.
    pub async fn apply(&self, aws: &Aws) -> Result<converge::Applied<InstancesOutputs>, Error> {
        Module::apply(self, aws).await
    }

    /// Deletes everything the module made, found by name and ownership tag (never by saved
    /// outputs), each once what uses it is gone: the capacity provider leaves the cluster
    /// (which keeps its other providers) and goes, then the group (`ForceDelete`, waited
    /// until gone), then the template, the profile, the roles, the log group, and the
    /// security group (retried while terminating instances hold it). Anything lacking our
    /// ownership tag is left alone. Returns what it deleted.
    pub async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::destroy(self, aws).await
    }

    /// What [`destroy`](Instances::destroy) would delete.
    pub async fn plan_destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        Module::plan_destroy(self, aws).await
    }
}

#[async_trait]
impl Module for Instances {
    type Outputs = InstancesOutputs;
    type Refs = InstancesRefs;

    /// Declares the module's resources into `stack` (a composition's, so that the instances
    /// start as soon as the network and the cluster they read exist) and returns typed
    /// references to its values. Reads the AMI's SSM parameter (unless
    /// [`ami_id`](crate::InstancesBuilder::ami_id) is given), and nothing else.
    async fn declare(&self, aws: &Aws, stack: &mut Stack) -> Result<InstancesRefs, Error> {
        self.declare_all(aws, stack, Purpose::Converge).await
    }

    /// Without the AMI lookup (nothing is made), and with a legacy service role an earlier
    /// apply made when asked for one, so a composition can order its own resources' deletes
    /// around them (a service on the capacity provider goes before the provider leaves the
    /// cluster).
    async fn declare_teardown(&self, aws: &Aws, stack: &mut Stack) -> Result<InstancesRefs, Error> {
        self.declare_all(aws, stack, Purpose::Teardown).await
    }
}

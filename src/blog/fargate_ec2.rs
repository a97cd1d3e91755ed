//! The mixed deployment: the Fargate one, plus an Auto Scaling group of ECS-optimized EC2
//! instances joined to the same cluster and a second service, `blog-ec2`, on them: with the
//! EC2 launch type (the blog's), or through the instances' capacity provider
//! ([`Settings::capacity_provider`], `--capacity-provider`), which scales the instances from
//! zero as the service's tasks need them.

use async_trait::async_trait;
use converge::{Aws, Error, Invalid, Module, OutputRefs, Ref, Stack, StrategyItem, Value, Wait};
use ecs_instances::{Instances, InstancesOutputs, InstancesRefs, ManagedScaling};
use ecs_service::{LaunchType, ServiceOutputs};
use serde::{Deserialize, Serialize};

use super::{blog_service, url, Base, Fargate, FargateOutputs};
use crate::cli::{Deployment, Settings};

/// The blog on Fargate and on EC2 in one cluster, as the second half of the blog post.
///
/// The post's text gives the second service launch type FARGATE by mistake; here it is EC2,
/// so its tasks run on the instances.
#[derive(Clone, Debug)]
pub struct FargateEc2 {
    fargate: Fargate,
}

/// The Fargate deployment's outputs, the instances', the EC2 service's, and both URLs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FargateEc2Outputs {
    /// Everything of the Fargate deployment, `blog_url` included.
    #[serde(flatten)]
    pub fargate: FargateOutputs,
    /// The ECS instances module's.
    pub instances: InstancesOutputs,
    /// The EC2 service's.
    pub service_ec2: ServiceOutputs,
    /// Where the EC2 service's blog answers.
    pub blog_ec2_url: String,
}

impl FargateEc2 {
    /// The same deployment, its waits (the NAT gateway's) bounded and paced by `wait`.
    pub fn with_wait(self, wait: Wait) -> Result<Self, Invalid> {
        Ok(Self {
            fargate: self.fargate.with_wait(wait)?,
        })
    }

    /// The instances, in the network's private subnets, joining the cluster once it exists;
    /// with the capacity provider, from zero instances up to two, as ECS's managed scaling
    /// needs them.
    fn instances(&self, base: &Base) -> Result<Instances, Invalid> {
        let builder = Instances::builder()
            .environment(&self.fargate.settings.environment)
            .cluster(&base.cluster)
            .network(&base.vpc);
        if self.fargate.settings.capacity_provider {
            builder
                .capacity_provider(ManagedScaling::default())
                .asg_min(0)
                .asg_desired(0)
                .asg_max(2)
                .build()
        } else {
            builder.build()
        }
    }
}

#[async_trait]
impl Module for FargateEc2 {
    type Outputs = FargateEc2Outputs;
    type Refs = OutputRefs<FargateEc2Outputs>;

    /// One stack: the Fargate deployment's resources, the instances and the EC2 service. The
    /// EC2 service waits for no instance: ECS places its tasks when instances register.
    async fn declare(&self, aws: &Aws, stack: &mut Stack) -> Result<Self::Refs, Error> {
        self.declare_for(aws, stack, Purpose::Converge).await
    }

    /// The same resources, the instances without their AMI lookup (nothing is made).
    async fn declare_teardown(&self, aws: &Aws, stack: &mut Stack) -> Result<Self::Refs, Error> {
        self.declare_for(aws, stack, Purpose::Teardown).await
    }
}

/// What a declaration is for: the instances look their AMI up only to make something.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Converge,
    Teardown,
}

impl FargateEc2 {
    async fn declare_for(
        &self,
        aws: &Aws,
        stack: &mut Stack,
        purpose: Purpose,
    ) -> Result<OutputRefs<FargateEc2Outputs>, Error> {
        let start = stack.len();
        let base = self.fargate.declare_base(aws, stack).await?;
        let service = self
            .fargate
            .service_named(aws, &base, "blog")?
            .declare(aws, stack)
            .await?;
        let instances_module = self.instances(&base)?;
        let instances = match purpose {
            Purpose::Converge => instances_module.declare(aws, stack).await?,
            Purpose::Teardown => instances_module.declare_teardown(aws, stack).await?,
        };
        let service_ec2 = self
            .service_ec2(aws, &base, &instances_module, &instances)?
            .declare(aws, stack)
            .await?
            .outputs;
        let fargate = Fargate::outputs_of(&base, service.outputs);
        let outputs = Ref::new(move |r| {
            let fargate = r.value(&fargate);
            let instances = r.value(&instances.outputs);
            let service_ec2 = r.value(&service_ec2);
            let (Value::Known(fargate), Value::Known(instances), Value::Known(service_ec2)) =
                (fargate, instances, service_ec2)
            else {
                return Value::AfterApply;
            };
            Value::Known(FargateEc2Outputs {
                blog_ec2_url: url(&service_ec2),
                fargate,
                instances,
                service_ec2,
            })
        });
        Ok(OutputRefs::new(outputs, stack.addresses_from(start)))
    }
}

impl FargateEc2 {
    /// The EC2 service: the EC2 launch type, or the instances' capacity provider, once it
    /// is in the cluster (and, on destroy, gone before the provider leaves it).
    fn service_ec2(
        &self,
        aws: &Aws,
        base: &Base,
        instances: &Instances,
        refs: &InstancesRefs,
    ) -> Result<ecs_service::Service, Error> {
        let provider = instances.capacity_provider_name();
        let joined = refs.capacity_provider_name.clone();
        blog_service(
            &self.fargate.settings,
            "blog-ec2",
            move |s| match provider {
                Some(name) => s
                    .capacity_provider_strategy([StrategyItem::new(name, 1)])
                    .depends_on(&joined),
                None => s.launch_type(LaunchType::Ec2),
            },
            aws,
            base,
        )
    }
}

impl Deployment for FargateEc2 {
    fn new(settings: &Settings) -> Result<Self, Invalid> {
        Ok(Self {
            fargate: Fargate::new(settings)?,
        })
    }

    fn urls(out: &FargateEc2Outputs) -> Vec<(&'static str, String)> {
        vec![
            ("blog_url", out.fargate.blog_url.clone()),
            ("blog_ec2_url", out.blog_ec2_url.clone()),
        ]
    }
}

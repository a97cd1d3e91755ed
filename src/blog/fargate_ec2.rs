//! The mixed deployment: the Fargate one, plus an Auto Scaling group of ECS-optimized EC2
//! instances joined to the same cluster and a second service, `blog-ec2`, on them.

use async_trait::async_trait;
use converge::{Aws, Error, Invalid, Plan};
use ecs_instances::{Instances, InstancesOutputs};
use ecs_service::{LaunchType, Service, ServiceOutputs};
use serde::{Deserialize, Serialize};
use vpc::VpcOutputs;

use super::{blog_service, network_or_unknown, url, Fargate, FargateOutputs, UNKNOWN};
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
    fn instances(&self, net: &VpcOutputs) -> Result<Instances, Invalid> {
        let env = &self.fargate.settings.environment;
        Instances::builder()
            .environment(env)
            .ecs_cluster_name(self.fargate.cluster.name())
            .network(net)
            .build()
    }

    fn service_ec2(&self, aws: &Aws, net: &VpcOutputs, role_arn: &str) -> Result<Service, Error> {
        blog_service(
            &self.fargate.settings,
            "blog-ec2",
            LaunchType::Ec2,
            aws.region(),
            net,
            self.fargate.cluster.name(),
            self.fargate.logs.name(),
            role_arn,
        )
    }
}

/// The instances need real-looking ids to build; a plan or destroy without a network uses
/// placeholders of the right form (they are only compared, never sent in a create).
fn instances_network(net: &VpcOutputs) -> VpcOutputs {
    let mut net = net.clone();
    if !net.vpc_id.starts_with("vpc-") {
        net.vpc_id = "vpc-00000000".into();
    }
    for subnet in &mut net.private_subnets {
        if !subnet.starts_with("subnet-") {
            *subnet = "subnet-00000000".into();
        }
    }
    net
}

#[async_trait]
impl Deployment for FargateEc2 {
    type Outputs = FargateEc2Outputs;

    fn new(settings: &Settings) -> Result<Self, Invalid> {
        Ok(Self {
            fargate: Fargate::new(settings)?,
        })
    }

    async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        let (mut plan, net, role_arn) = self.fargate.plan_base(aws).await?;
        let instances = self.instances(&instances_network(&net))?;
        let (fargate, instances, ec2) = tokio::try_join!(
            async { self.fargate.service(aws, &net, &role_arn)?.plan(aws).await },
            instances.plan(aws),
            async { self.service_ec2(aws, &net, &role_arn)?.plan(aws).await },
        )?;
        plan.extend(fargate);
        plan.extend(instances);
        plan.extend(ec2);
        Ok(plan)
    }

    async fn apply(&self, aws: &Aws) -> Result<FargateEc2Outputs, Error> {
        let (vpc, cluster, log_group, execution_role) = self.fargate.apply_base(aws).await?;
        let role_arn = &execution_role.role_arn;
        let instances = self.instances(&vpc)?;
        // The EC2 service waits for nothing: ECS places its tasks when instances register.
        let (service, instances, service_ec2) = tokio::try_join!(
            async { self.fargate.service(aws, &vpc, role_arn)?.apply(aws).await },
            instances.apply(aws),
            async { self.service_ec2(aws, &vpc, role_arn)?.apply(aws).await },
        )?;
        Ok(FargateEc2Outputs {
            blog_ec2_url: url(&service_ec2),
            fargate: FargateOutputs {
                blog_url: url(&service),
                vpc,
                cluster,
                log_group,
                execution_role,
                service,
            },
            instances,
            service_ec2,
        })
    }

    async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        let net = network_or_unknown(aws, &self.fargate.network).await?;
        // The services and the instances go side by side, all before the cluster (ECS
        // deletes no cluster with instances in it) and the network.
        let instances = self.instances(&instances_network(&net))?;
        let (mut deleted, ec2, instances) = tokio::try_join!(
            async { self.fargate.service(aws, &net, UNKNOWN)?.destroy(aws).await },
            async { self.service_ec2(aws, &net, UNKNOWN)?.destroy(aws).await },
            instances.destroy(aws),
        )?;
        deleted.extend(ec2);
        deleted.extend(instances);
        self.fargate.destroy_base(aws, &mut deleted).await?;
        Ok(deleted)
    }

    fn urls(out: &FargateEc2Outputs) -> Vec<(&'static str, String)> {
        vec![
            ("blog_url", out.fargate.blog_url.clone()),
            ("blog_ec2_url", out.blog_ec2_url.clone()),
        ]
    }
}

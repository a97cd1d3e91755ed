//! The Fargate deployment: a VPC over three availability zones with one NAT gateway, an ECS
//! cluster, a log group, the task execution role, and the blog on Fargate behind an ALB.

use async_trait::async_trait;
use converge::{Aws, Error, Invalid, Plan};
use ecs_service::{
    Cluster, ClusterOutputs, LaunchType, LogGroup, LogGroupOutputs, Service, ServiceOutputs,
    TaskExecutionRole, TaskExecutionRoleOutputs,
};
use serde::{Deserialize, Serialize};
use vpc::{Vpc, VpcOutputs};

use super::{blog_service, known_or_unknown, network_or_unknown, url, UNKNOWN};
use crate::cli::{Deployment, Settings};

/// The blog's Fargate deployment, as the blog post composes the modules.
#[derive(Clone, Debug)]
pub struct Fargate {
    pub(crate) settings: Settings,
    pub(crate) network: Vpc,
    pub(crate) cluster: Cluster,
    pub(crate) logs: LogGroup,
    pub(crate) role: TaskExecutionRole,
}

/// Every module's outputs, and the blog's URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FargateOutputs {
    /// The VPC module's.
    pub vpc: VpcOutputs,
    /// The cluster's.
    pub cluster: ClusterOutputs,
    /// The containers' log group's.
    pub log_group: LogGroupOutputs,
    /// The task execution role's.
    pub execution_role: TaskExecutionRoleOutputs,
    /// The Fargate service's.
    pub service: ServiceOutputs,
    /// Where the blog answers.
    pub blog_url: String,
}

impl Fargate {
    /// The Fargate service, once the network and the role are known.
    pub(crate) fn service(
        &self,
        aws: &Aws,
        net: &VpcOutputs,
        role_arn: &str,
    ) -> Result<Service, Error> {
        self.service_named(aws, net, role_arn, "blog")
    }

    /// Another Fargate service like the blog's, named `name`, on the same network, cluster,
    /// log group and role (the benchmarks scale to many).
    pub fn service_named(
        &self,
        aws: &Aws,
        net: &VpcOutputs,
        role_arn: &str,
        name: &str,
    ) -> Result<Service, Error> {
        blog_service(
            &self.settings,
            name,
            LaunchType::Fargate,
            aws.region(),
            net,
            self.cluster.name(),
            self.logs.name(),
            role_arn,
        )
    }

    /// The shared modules (network, cluster, log group, role) planned together, with the
    /// network's outputs and the role's ARN (unknown until they exist) from the same reads.
    pub(crate) async fn plan_base(&self, aws: &Aws) -> Result<(Plan, VpcOutputs, String), Error> {
        let ((mut plan, net), cluster, logs, role) = tokio::try_join!(
            self.network.plan_and_outputs(aws),
            self.cluster.plan(aws),
            self.logs.plan(aws),
            self.role.plan(aws),
        )?;
        let net = known_or_unknown(&self.network, net);
        // The role's change comes first and carries its ARN once it exists.
        let role_arn = role
            .changes
            .first()
            .and_then(|c| c.id.clone())
            .unwrap_or_else(|| UNKNOWN.to_owned());
        plan.extend(cluster);
        plan.extend(logs);
        plan.extend(role);
        Ok((plan, net, role_arn))
    }

    /// The shared modules applied: network, cluster, log group and role all at once, since
    /// none needs another.
    pub async fn apply_base(
        &self,
        aws: &Aws,
    ) -> Result<
        (
            VpcOutputs,
            ClusterOutputs,
            LogGroupOutputs,
            TaskExecutionRoleOutputs,
        ),
        Error,
    > {
        tokio::try_join!(
            self.network.apply(aws),
            self.cluster.apply(aws),
            self.logs.apply(aws),
            self.role.apply(aws),
        )
    }

    /// The shared modules destroyed, once the services and instances are gone; what was
    /// deleted is added to `deleted`.
    pub async fn destroy_base(&self, aws: &Aws, deleted: &mut Plan) -> Result<(), Error> {
        // None of the four needs another gone first.
        let (cluster, logs, role, network) = tokio::try_join!(
            self.cluster.destroy(aws),
            self.logs.destroy(aws),
            self.role.destroy(aws),
            self.network.destroy(aws),
        )?;
        deleted.extend(cluster);
        deleted.extend(logs);
        deleted.extend(role);
        deleted.extend(network);
        Ok(())
    }
}

#[async_trait]
impl Deployment for Fargate {
    type Outputs = FargateOutputs;

    fn new(settings: &Settings) -> Result<Self, Invalid> {
        let env = &settings.environment;
        Ok(Self {
            settings: settings.clone(),
            network: Vpc::builder().environment(env).build()?,
            cluster: Cluster::builder().environment(env).build()?,
            logs: LogGroup::builder()
                .environment(env)
                .name(format!("/ecs/{env}"))
                .build()?,
            role: TaskExecutionRole::builder().environment(env).build()?,
        })
    }

    async fn plan(&self, aws: &Aws) -> Result<Plan, Error> {
        let (mut plan, net, role_arn) = self.plan_base(aws).await?;
        plan.extend(self.service(aws, &net, &role_arn)?.plan(aws).await?);
        Ok(plan)
    }

    async fn apply(&self, aws: &Aws) -> Result<FargateOutputs, Error> {
        let (vpc, cluster, log_group, execution_role) = self.apply_base(aws).await?;
        let service = self
            .service(aws, &vpc, &execution_role.role_arn)?
            .apply(aws)
            .await?;
        Ok(FargateOutputs {
            blog_url: url(&service),
            vpc,
            cluster,
            log_group,
            execution_role,
            service,
        })
    }

    async fn destroy(&self, aws: &Aws) -> Result<Plan, Error> {
        // The service is found by its tags; without a network its ids are only placeholders.
        let net = network_or_unknown(aws, &self.network).await?;
        let mut deleted = self.service(aws, &net, UNKNOWN)?.destroy(aws).await?;
        self.destroy_base(aws, &mut deleted).await?;
        Ok(deleted)
    }

    fn urls(out: &FargateOutputs) -> Vec<(&'static str, String)> {
        vec![("blog_url", out.blog_url.clone())]
    }
}

//! One generic check that plan and apply agree, run over every module on the resource model:
//! for a first apply, a second, an input change and out-of-band drift, the plan is empty
//! exactly when apply makes no mutating call, and empty again after apply; destroy's plan is
//! empty exactly when destroy deletes nothing.

use std::future::Future;

use converge::{Aws, Cluster, LogGroup, Module, TaskExecutionRole};

use crate::util::{aws, environment};

/// Plans, applies, and checks the two agree; returns how many calls mutated.
async fn agree<M: Module>(aws: &Aws, module: &M, step: &str) -> u64 {
    let plan = module.plan(aws).await.unwrap();
    aws.calls().reset();
    module.apply(aws).await.unwrap();
    let calls = aws.calls().report();
    assert_eq!(
        plan.is_empty(),
        calls.mutating == 0,
        "{step}: the plan and the apply disagree\nplan:\n{plan}\ncalls: {calls:#}"
    );
    let after = module.plan(aws).await.unwrap();
    assert!(after.is_empty(), "{step}: not converged:\n{after}");
    calls.mutating
}

/// The whole life of a module: first apply, second apply, `changed` inputs, `drift` made out
/// of band, destroy.
async fn life<M, D, F>(aws: &Aws, module: M, changed: M, drift: D)
where
    M: Module,
    D: FnOnce() -> F,
    F: Future<Output = ()>,
{
    assert!(agree(aws, &module, "first apply").await > 0);
    assert_eq!(agree(aws, &module, "second apply").await, 0);
    assert!(agree(aws, &changed, "changed inputs").await > 0);
    drift().await;
    assert!(agree(aws, &changed, "drift").await > 0);

    let doomed = changed.plan_destroy(aws).await.unwrap();
    assert!(!doomed.is_empty());
    aws.calls().reset();
    let gone = changed.destroy(aws).await.unwrap();
    assert_eq!(gone.summary(), doomed.summary(), "{gone}");
    assert!(aws.calls().report().mutating > 0);
    assert!(changed.plan_destroy(aws).await.unwrap().is_empty());
    aws.calls().reset();
    assert!(changed.destroy(aws).await.unwrap().is_empty());
    assert_eq!(aws.calls().report().mutating, 0);
}

#[tokio::test]
async fn log_group() {
    let aws = aws().await;
    let env = environment("agree-logs");
    let name = format!("/ecs/{env}");
    let group = |days: u32| {
        LogGroup::builder()
            .environment(&env)
            .name(&name)
            .retention_in_days(days)
            .build()
            .unwrap()
    };
    let logs = aws.logs().clone();
    let drifted = name.clone();
    let drift = || async move {
        logs.put_retention_policy()
            .log_group_name(&drifted)
            .retention_in_days(1)
            .send()
            .await
            .unwrap();
    };
    life(&aws, group(30), group(7), drift).await;
}

#[tokio::test]
async fn cluster() {
    let aws = aws().await;
    let env = environment("agree-cluster");
    let cluster = |insights: bool| {
        Cluster::builder()
            .environment(&env)
            .container_insights(insights)
            .build()
            .unwrap()
    };
    let ecs = aws.ecs().clone();
    let name = env.clone();
    let drift = || async move {
        let off = aws_sdk_ecs::types::ClusterSetting::builder()
            .name(aws_sdk_ecs::types::ClusterSettingName::ContainerInsights)
            .value("disabled")
            .build();
        ecs.update_cluster()
            .cluster(&name)
            .settings(off)
            .send()
            .await
            .unwrap();
    };
    life(&aws, cluster(false), cluster(true), drift).await;
}

#[tokio::test]
async fn task_execution_role() {
    let aws = aws().await;
    let env = environment("agree-role");
    let role = TaskExecutionRole::builder()
        .environment(&env)
        .build()
        .unwrap();
    let renamed = TaskExecutionRole::builder()
        .environment(&env)
        .name(format!("{env}-exec"))
        .build()
        .unwrap();
    let iam = aws.iam().clone();
    let name = format!("{env}-exec");
    let drift = || async move {
        iam.detach_role_policy()
            .role_name(&name)
            .policy_arn("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
            .send()
            .await
            .unwrap();
    };
    // The renamed role is a second one: the first is destroyed separately.
    life(&aws, role.clone(), renamed, drift).await;
    role.destroy(&aws).await.unwrap();
    assert!(role.plan_destroy(&aws).await.unwrap().is_empty());
}

/// One security group in a VPC made for the test: the shared kind, on its own.
#[derive(Clone)]
struct OneGroup {
    env: String,
    vpc_id: String,
    cidr: &'static str,
}

#[async_trait::async_trait]
impl Module for OneGroup {
    type Outputs = converge::kinds::SecurityGroupOutputs;

    async fn declare(
        &self,
        _aws: &Aws,
        stack: &mut converge::Stack,
    ) -> Result<converge::Ref<Self::Outputs>, converge::Error> {
        use converge::kinds::{IngressRule, Peer, SecurityGroupKind, SecurityGroupSpec};
        let spec = SecurityGroupSpec {
            vpc_id: converge::Value::Known(self.vpc_id.clone()),
            description: "agreement test".into(),
            ingress: vec![IngressRule {
                from: 80,
                to: 80,
                peer: converge::Value::Known(Peer::Cidr(self.cidr.into())),
            }],
        };
        let tags = converge::Tags::new("agreement", &self.env);
        let group = stack.add(
            SecurityGroupKind,
            format!("{}-sg", self.env),
            tags,
            (),
            move |_| spec.clone(),
        );
        Ok(group.output(Clone::clone))
    }
}

#[tokio::test]
async fn security_group() {
    let aws = aws().await;
    let env = environment("agree-sg");
    let vpc = aws
        .ec2()
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let group = |cidr| OneGroup {
        env: env.clone(),
        vpc_id: vpc_id.clone(),
        cidr,
    };
    let ec2 = aws.ec2().clone();
    let drifted = group("10.0.0.0/8");
    let drift = || async move {
        let id = drifted
            .outputs(&ec2_aws(ec2.clone()))
            .await
            .unwrap()
            .unwrap()
            .id;
        ec2.authorize_security_group_ingress()
            .group_id(id)
            .ip_permissions(
                aws_sdk_ec2::types::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(
                        aws_sdk_ec2::types::IpRange::builder()
                            .cidr_ip("0.0.0.0/0")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
    };
    life(&aws, group("0.0.0.0/0"), group("10.0.0.0/8"), drift).await;
    aws.ec2().delete_vpc().vpc_id(&vpc_id).send().await.unwrap();
}

/// Clients that share `ec2`, for reads inside a drift.
fn ec2_aws(ec2: aws_sdk_ec2::Client) -> Aws {
    Aws::builder().ec2(ec2).build()
}

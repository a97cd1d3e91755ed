//! The policies a service puts on its roles: the secrets its containers read, on the
//! execution role; ECS Exec's channels, on the task role; and the task role block's own.

use converge::{Action, Aws, Module, Stack, TaskExecutionRole, TaskRole};
use ecs_modules::ecs_service::Service;
use ecs_modules::task_def::{ContainerDefinition, PortMapping};
use ecs_modules::vpc::VpcOutputs;
use serde_json::Value as Json;

use crate::service::{cluster, network, public_lb};
use crate::util::{aws, described_service, environment};

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:blog/api-AbC123";

/// The blog's container reading `secrets` (name, valueFrom).
fn container(secrets: &[(&str, &str)]) -> ContainerDefinition {
    let mut b = ContainerDefinition::builder()
        .name("blog")
        .image("npalm/040code.github.io:latest")
        .port_mapping(PortMapping::tcp(80));
    for (name, from) in secrets {
        b = b.secret(*name, *from);
    }
    b.build()
}

/// What the tests change between applies.
#[derive(Clone, Default)]
pub(crate) struct Inputs {
    pub secrets: Vec<(&'static str, &'static str)>,
    pub key: bool,
    pub exec: bool,
    pub inline: bool,
}

/// The roles and the service, declared in one stack as the blog does.
#[derive(Clone)]
pub(crate) struct WithRoles {
    pub env: String,
    pub net: VpcOutputs,
    pub inputs: Inputs,
}

#[async_trait::async_trait]
impl Module for WithRoles {
    type Outputs = ecs_modules::ecs_service::ServiceOutputs;
    type Refs = ecs_modules::ecs_service::ServiceRefs;

    async fn declare(&self, aws: &Aws, stack: &mut Stack) -> Result<Self::Refs, converge::Error> {
        declare(aws, stack, &self.env, &self.net, self.inputs.clone()).await
    }
}

async fn declare(
    aws: &Aws,
    stack: &mut Stack,
    env: &str,
    net: &VpcOutputs,
    inputs: Inputs,
) -> Result<ecs_modules::ecs_service::ServiceRefs, converge::Error> {
    let execution = TaskExecutionRole::builder()
        .environment(env)
        .build()
        .unwrap();
    let mut task = TaskRole::builder()
        .environment(env)
        .managed_policy_arn("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess");
    if inputs.inline {
        task = task.inline_policy(
            "queue",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:123456789012:jobs"}]}"#,
        );
    }
    let task = task.build().unwrap();
    let execution_out = execution.declare(aws, stack).await.unwrap();
    let task_out = task.declare(aws, stack).await.unwrap();
    let mut service = Service::builder()
        .environment(env)
        .service_name("blog")
        .network(net)
        .cluster(env)
        .containers([container(&inputs.secrets)])
        .task_cpu(256)
        .task_memory(512)
        .execution_role(&execution_out)
        .task_role(&task_out)
        .enable_execute_command(inputs.exec)
        .load_balancer(public_lb(net));
    if inputs.key {
        service = service.secrets_kms_key(KEY);
    }
    service.build().unwrap().declare(aws, stack).await
}

fn stack_of(env: &str, net: &VpcOutputs, inputs: Inputs) -> WithRoles {
    WithRoles {
        env: env.to_owned(),
        net: net.clone(),
        inputs,
    }
}

async fn policy(aws: &Aws, role: &str, name: &str) -> Option<Json> {
    let out = aws
        .iam()
        .get_role_policy()
        .role_name(role)
        .policy_name(name)
        .send()
        .await
        .ok()?;
    let text = converge::kinds::iam_role::decode_policy(out.policy_document());
    Some(serde_json::from_str(&text).unwrap())
}

/// The role's inline policy names, sorted.
pub(crate) async fn inline_names(aws: &Aws, role: &str) -> Vec<String> {
    let mut names = aws
        .iam()
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap()
        .policy_names()
        .to_vec();
    names.sort();
    names
}

fn resources(policy: &Json, action: &str) -> Vec<String> {
    let statement = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Action"] == action || s["Action"].as_array().is_some_and(|a| a[0] == action))
        .unwrap_or_else(|| panic!("no statement for {action} in {policy}"));
    match &statement["Resource"] {
        Json::Array(items) => items
            .iter()
            .map(|i| i.as_str().unwrap().to_owned())
            .collect(),
        one => vec![one.as_str().unwrap().to_owned()],
    }
}

/// Secrets give the execution role a policy scoped to exactly them; a change shows in plan
/// as an update of that policy; taking them out deletes it and leaves the role.
#[tokio::test]
async fn secrets_give_the_execution_role_a_policy_for_exactly_them() {
    let aws = aws().await;
    let env = environment("secrets");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    let role = format!("{env}-ecs-task-execution");
    let name = format!("{env}-blog-secrets");
    let secrets = vec![("DB_PASSWORD", "/blog/db_password"), ("API_TOKEN", SECRET)];
    let inputs = Inputs {
        secrets: secrets.clone(),
        key: true,
        ..Inputs::default()
    };

    let first = stack_of(&env, &net, inputs);
    let planned = first.plan(&aws).await.unwrap();
    let change = planned.find("aws_iam_role_policy", &name).unwrap();
    assert_eq!(change.action, Action::Create);
    first.apply(&aws).await.unwrap();
    let doc = policy(&aws, &role, &name)
        .await
        .expect("the secrets policy");
    assert_eq!(
        resources(&doc, "ssm:GetParameters"),
        ["arn:aws:ssm:us-east-1:123456789012:parameter/blog/db_password"]
    );
    assert_eq!(resources(&doc, "secretsmanager:GetSecretValue"), [SECRET]);
    assert_eq!(resources(&doc, "kms:Decrypt"), [KEY]);

    // A second apply makes no mutating call.
    aws.calls().reset();
    first.apply(&aws).await.unwrap();
    let calls = aws.calls().report();
    assert_eq!(calls.mutating, 0, "{calls:#}");

    // One secret less: the plan shows the policy's update, and apply makes it.
    let fewer = stack_of(
        &env,
        &net,
        Inputs {
            secrets: secrets[..1].to_vec(),
            key: false,
            ..Inputs::default()
        },
    );
    let planned = fewer.plan(&aws).await.unwrap();
    let change = planned.find("aws_iam_role_policy", &name).unwrap();
    assert_eq!(change.action, Action::Update);
    assert_eq!(change.diffs[0].field, "policy");
    fewer.apply(&aws).await.unwrap();
    let doc = policy(&aws, &role, &name).await.unwrap();
    assert_eq!(doc["Statement"].as_array().unwrap().len(), 1);

    // No secrets: the policy goes, the role stays.
    let none = stack_of(&env, &net, Inputs::default());
    let planned = none.plan(&aws).await.unwrap();
    assert_eq!(
        planned.find("aws_iam_role_policy", &name).map(|c| c.action),
        Some(Action::Delete)
    );
    none.apply(&aws).await.unwrap();
    assert!(policy(&aws, &role, &name).await.is_none());
    assert!(aws.iam().get_role().role_name(&role).send().await.is_ok());

    none.destroy(&aws).await.unwrap();
    vpc.destroy(&aws).await.unwrap();
}

/// ECS Exec: the service has it and the task role gets the `ssmmessages` channels, beside
/// the role's own managed and inline policies; applying the role alone leaves the service's
/// policy; turning exec off is one new deployment and deletes that policy.
#[tokio::test]
async fn exec_gives_the_task_role_its_channels_and_the_role_keeps_its_own() {
    let aws = aws().await;
    let env = environment("exec");
    let (vpc, net) = network(&aws, &env).await;
    cluster(&aws, &env).await;
    let role = format!("{env}-ecs-task");
    let exec = format!("{env}-blog-exec");
    let own = format!("{role}.queue");
    let on = Inputs {
        exec: true,
        inline: true,
        ..Inputs::default()
    };

    let first = stack_of(&env, &net, on);
    first.apply(&aws).await.unwrap();
    assert_eq!(inline_names(&aws, &role).await, [exec.clone(), own.clone()]);
    let doc = policy(&aws, &role, &exec).await.unwrap();
    assert_eq!(resources(&doc, "ssmmessages:CreateControlChannel"), ["*"]);
    let attached = aws
        .iam()
        .list_attached_role_policies()
        .role_name(&role)
        .send()
        .await
        .unwrap();
    assert_eq!(attached.attached_policies().len(), 1);
    let service = described_service(&aws, &env, "blog").await;
    assert!(service.enable_execute_command());
    aws.calls().reset();
    first.apply(&aws).await.unwrap();
    let calls = aws.calls().report();
    assert_eq!(calls.mutating, 0, "{calls:#}");

    // The role applied on its own sees the service's policy as not its own.
    let alone = TaskRole::builder()
        .environment(&env)
        .managed_policy_arn("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
        .inline_policy(
            "queue",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:123456789012:jobs"}]}"#,
        )
        .build()
        .unwrap();
    assert!(alone.plan(&aws).await.unwrap().is_empty());
    alone.apply(&aws).await.unwrap();
    assert_eq!(inline_names(&aws, &role).await, [exec.clone(), own.clone()]);

    // Exec off and the role's inline policy out of the inputs: one update of the service
    // with a new deployment, both policies deleted.
    let off = stack_of(&env, &net, Inputs::default());
    aws.calls().reset();
    off.apply(&aws).await.unwrap();
    let calls = aws.calls().report();
    assert_eq!(
        calls.by_operation.get("UpdateService"),
        Some(&1),
        "{calls:#}"
    );
    assert_eq!(
        calls.by_operation.get("DeleteRolePolicy"),
        Some(&2),
        "{calls:#}"
    );
    assert!(inline_names(&aws, &role).await.is_empty());
    let service = described_service(&aws, &env, "blog").await;
    assert!(!service.enable_execute_command());

    off.destroy(&aws).await.unwrap();
    assert!(aws.iam().get_role().role_name(&role).send().await.is_err());
    vpc.destroy(&aws).await.unwrap();
}

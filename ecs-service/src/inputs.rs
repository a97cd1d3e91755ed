//! The service's inputs: the Terraform module's variables, typed, with its defaults.

use std::collections::BTreeMap;
use std::time::Duration;

use converge::{ClusterRef, Invalid, Ref, RoleRef, StrategyItem, Wait};
use serde::{Deserialize, Serialize};
use task_def::{ContainerDefinition, NetworkMode, TaskDefinition, Volume};

use crate::autoscaling::Autoscaling;
use crate::deployment::DeploymentStrategy;
use crate::permissions::{is_key_arn, SecretSource};
use crate::shared_load_balancer::SharedListener;
use alarms::DeploymentAlarms;

pub(crate) mod alarms;
mod build;

/// Where the service's tasks run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum LaunchType {
    /// AWS Fargate.
    #[default]
    Fargate,
    /// The cluster's EC2 container instances.
    Ec2,
}

/// The listener's protocol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum ListenerProtocol {
    /// Plain HTTP.
    #[default]
    Http,
    /// HTTPS, which needs a certificate.
    Https,
}

/// The TLS policy used when none is given: TLS 1.3 and 1.2 only (the module's default,
/// `ELBSecurityPolicy-TLS-1-1-2017-01`, still allows TLS 1.1).
pub const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/// The load balancer's listener.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    /// The port (default 80).
    pub port: i32,
    /// HTTP, or HTTPS when a certificate is given.
    pub protocol: ListenerProtocol,
    /// The ACM certificate ARN for HTTPS.
    pub certificate_arn: Option<String>,
    /// The TLS policy for HTTPS (default [`DEFAULT_SSL_POLICY`]).
    pub ssl_policy: Option<String>,
    /// With HTTPS: also listen for HTTP on port 80 and answer `301` to the HTTPS URL
    /// (default `false`).
    pub redirect_http: bool,
}

impl Listener {
    /// HTTPS on 443 with `certificate_arn`, and HTTP on 80 redirected to it: what a public
    /// web service wants.
    pub fn https(certificate_arn: impl Into<String>) -> Self {
        Self {
            port: 443,
            protocol: ListenerProtocol::Https,
            certificate_arn: Some(certificate_arn.into()),
            ssl_policy: None,
            redirect_http: true,
        }
    }
}

impl Default for Listener {
    fn default() -> Self {
        Self {
            port: 80,
            protocol: ListenerProtocol::Http,
            certificate_arn: None,
            ssl_policy: None,
            redirect_http: false,
        }
    }
}

/// How the load balancer reaches the containers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroup {
    /// The container traffic goes to (default: the service name).
    pub container_name: Option<String>,
    /// Its port (default 8080, as the module).
    pub container_port: i32,
    /// The target group's port (default 80, as the module).
    pub host_port: i32,
    /// `HTTP` (default) or `HTTPS`.
    pub protocol: ListenerProtocol,
    /// Seconds a draining target keeps its connections (default 300).
    pub deregistration_delay: i32,
    /// `ip` or `instance` (default: `ip` for awsvpc tasks, `instance` for bridge).
    pub target_type: Option<String>,
}

impl Default for TargetGroup {
    fn default() -> Self {
        Self {
            container_name: None,
            container_port: 8080,
            host_port: 80,
            protocol: ListenerProtocol::Http,
            deregistration_delay: 300,
            target_type: None,
        }
    }
}

/// The target group's health check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// The path (default `/`).
    pub path: String,
    /// The HTTP codes that count as healthy (default `200`).
    pub matcher: String,
    /// Seconds between checks (default 30).
    pub interval: i32,
    /// Seconds before a check fails (default 5).
    pub timeout: i32,
    /// Successes before healthy (default 5).
    pub healthy_threshold: i32,
    /// Failures before unhealthy (default 2).
    pub unhealthy_threshold: i32,
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            path: "/".to_owned(),
            matcher: "200".to_owned(),
            interval: 30,
            timeout: 5,
            healthy_threshold: 5,
            unhealthy_threshold: 2,
        }
    }
}

/// Where the load balancer writes its access logs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessLogs {
    /// The S3 bucket (its policy must let ELB write to it).
    pub bucket: String,
    /// The key prefix (default: none).
    pub prefix: Option<String>,
}

/// The load balancer's attributes (Terraform's `aws_lb` arguments of the same names).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancerAttributes {
    /// Keeps the load balancer from being deleted (default `false`). Destroy refuses, before
    /// deleting anything, until an apply with `false` lifts it.
    pub deletion_protection: bool,
    /// Access logs to S3 (default: off).
    pub access_logs: Option<AccessLogs>,
    /// Seconds a connection may idle, 1 to 4000 (default 60).
    pub idle_timeout: i32,
    /// Drops headers that are not valid HTTP header names (default `true`; ELB's own default
    /// is `false`, which passes them to the targets).
    pub drop_invalid_header_fields: bool,
}

impl Default for LoadBalancerAttributes {
    fn default() -> Self {
        Self {
            deletion_protection: false,
            access_logs: None,
            idle_timeout: 60,
            drop_invalid_header_fields: true,
        }
    }
}

impl LoadBalancerAttributes {
    /// As ELB names them.
    pub(crate) fn elb(&self) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = [
            (
                "deletion_protection.enabled",
                self.deletion_protection.to_string(),
            ),
            (
                "idle_timeout.timeout_seconds",
                self.idle_timeout.to_string(),
            ),
            (
                "routing.http.drop_invalid_header_fields.enabled",
                self.drop_invalid_header_fields.to_string(),
            ),
            (
                "access_logs.s3.enabled",
                self.access_logs.is_some().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some(logs) = &self.access_logs {
            out.insert("access_logs.s3.bucket".into(), logs.bucket.clone());
            out.insert(
                "access_logs.s3.prefix".into(),
                logs.prefix.clone().unwrap_or_default(),
            );
        }
        out
    }
}

/// Who may reach the tasks on their port.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TaskIngress {
    /// Only the load balancer's security group, on the container port (the default).
    #[default]
    LoadBalancerOnly,
    /// Every TCP port from the whole VPC CIDR: what the blog post does. An explicit choice.
    VpcCidrAllTcp,
}

/// The load balancer in front of the service (`enable_lb`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadBalancer {
    /// Internal (default, as the module) or internet-facing.
    pub internal: bool,
    /// Its subnets (public ones when internet-facing).
    pub subnets: Vec<String>,
    /// The listener.
    pub listener: Listener,
    /// The target group.
    pub target_group: TargetGroup,
    /// The health check.
    pub health_check: HealthCheck,
    /// CIDRs allowed to reach an internet-facing listener (default `0.0.0.0/0`).
    pub whitelist: Vec<String>,
    /// Extra security groups for the load balancer.
    pub security_group_ids: Vec<String>,
    /// Seconds ECS ignores failing health checks after a task starts.
    pub health_check_grace_period_seconds: Option<i32>,
    /// Deletion protection, access logs, idle timeout, invalid header fields.
    pub attributes: LoadBalancerAttributes,
}

impl Default for LoadBalancer {
    fn default() -> Self {
        Self {
            internal: true,
            subnets: Vec::new(),
            listener: Listener::default(),
            target_group: TargetGroup::default(),
            health_check: HealthCheck::default(),
            whitelist: vec!["0.0.0.0/0".to_owned()],
            security_group_ids: Vec::new(),
            health_check_grace_period_seconds: None,
            attributes: LoadBalancerAttributes::default(),
        }
    }
}

/// A rule on a shared load balancer's listener, forwarding the requests whose host or path
/// match to a target group of the service's own: instead of a load balancer of its own
/// (`listener_rule`, exclusive with `load_balancer`).
#[derive(Clone, Debug)]
pub struct ListenerRule {
    /// The shared listener: from the shared load balancer's outputs or refs ([`SharedListener`](crate::SharedListener)).
    pub listener: SharedListener,
    /// 1 to 50,000, unique on the listener; lower is evaluated first. A priority another
    /// rule has is refused at plan, naming that rule.
    pub priority: i32,
    /// Hosts that match (`api.example.com`, `*.example.com`).
    pub host_headers: Vec<String>,
    /// Paths that match (`/api/*`); with hosts, a request must match both.
    pub path_patterns: Vec<String>,
    /// How the load balancer reaches the containers.
    pub target_group: TargetGroup,
    /// The target group's health check.
    pub health_check: HealthCheck,
    /// Seconds ECS ignores failing health checks after a task starts.
    pub health_check_grace_period_seconds: Option<i32>,
}

/// ELB's limit of condition values (hosts and paths together) in one rule.
pub const MAX_RULE_VALUES: usize = 5;
/// ELB's limit of values in one condition (the hosts, or the paths).
pub const MAX_CONDITION_VALUES: usize = 3;
/// ELB's limit of wildcards (`*`, `?`) in one rule.
pub const MAX_RULE_WILDCARDS: usize = 5;

impl ListenerRule {
    /// A rule at `priority` on `listener`, matching nothing yet: add a path or a host. The
    /// listener is a shared load balancer's: the [`SharedLoadBalancerRefs`] of one declared
    /// in the same stack, or its outputs.
    ///
    /// [`SharedLoadBalancerRefs`]: crate::SharedLoadBalancerRefs
    pub fn new(listener: impl Into<SharedListener>, priority: i32) -> Self {
        Self {
            listener: listener.into(),
            priority,
            host_headers: Vec::new(),
            path_patterns: Vec::new(),
            target_group: TargetGroup::default(),
            health_check: HealthCheck::default(),
            health_check_grace_period_seconds: None,
        }
    }
    /// Also matches requests for this host.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host_headers.push(host.into());
        self
    }
    /// Also matches requests for this path pattern.
    pub fn path(mut self, pattern: impl Into<String>) -> Self {
        self.path_patterns.push(pattern.into());
        self
    }
    /// The container and ports traffic goes to.
    pub fn target_group(mut self, target_group: TargetGroup) -> Self {
        self.target_group = target_group;
        self
    }
    /// The target group's health check.
    pub fn health_check(mut self, check: HealthCheck) -> Self {
        self.health_check = check;
        self
    }

    /// The path a URL of the service ends in: the first pattern up to its first wildcard.
    pub(crate) fn url_path(&self) -> String {
        let path = self
            .path_patterns
            .first()
            .map_or("", |p| p.split(['*', '?']).next().unwrap_or_default());
        if path == "/" {
            String::new()
        } else {
            path.to_owned()
        }
    }

    fn check(&self, invalid: &mut Invalid) {
        invalid.check(
            (1..=50_000).contains(&self.priority),
            "listener_rule.priority",
            format_args!("{} must be 1 to 50000", self.priority),
        );
        let values = self.host_headers.len() + self.path_patterns.len();
        invalid.check(
            values > 0,
            "listener_rule",
            "matches nothing: give a path pattern or a host header",
        );
        invalid.check(
            values <= MAX_RULE_VALUES,
            "listener_rule",
            format_args!(
                "has {values} hosts and paths: ELB takes at most {MAX_RULE_VALUES} in one rule"
            ),
        );
        for (field, values) in [
            ("host_headers", &self.host_headers),
            ("path_patterns", &self.path_patterns),
        ] {
            invalid.check(
                values.len() <= MAX_CONDITION_VALUES,
                format!("listener_rule.{field}"),
                format_args!(
                    "has {}: ELB takes at most {MAX_CONDITION_VALUES} in one condition",
                    values.len()
                ),
            );
        }
        let wildcards = (self.host_headers.iter().chain(&self.path_patterns))
            .flat_map(|v| v.chars())
            .filter(|c| matches!(c, '*' | '?'))
            .count();
        invalid.check(
            wildcards <= MAX_RULE_WILDCARDS,
            "listener_rule",
            format_args!(
                "has {wildcards} wildcards: ELB takes at most {MAX_RULE_WILDCARDS} in one rule"
            ),
        );
        for (i, path) in self.path_patterns.iter().enumerate() {
            let allowed = |c: char| c.is_ascii_alphanumeric() || "_-.$/~\"'@:+&*?".contains(c);
            invalid.check(
                path.starts_with('/') && path.len() <= 128 && path.chars().all(allowed),
                format!("listener_rule.path_patterns[{i}]"),
                format_args!(
                    "{path:?} must start with /, be at most 128 characters, and use letters, digits, wildcards (* ?) and _-.$/~\"'@:+& (ELB's rule)"
                ),
            );
        }
        for (i, host) in self.host_headers.iter().enumerate() {
            let allowed = |c: char| c.is_ascii_alphanumeric() || "-.*?".contains(c);
            // At least one dot, and only letters (or wildcards) after the last.
            let top = host.rsplit_once('.').map(|(_, top)| top);
            let top_ok = top.is_some_and(|t| {
                !t.is_empty()
                    && t.chars()
                        .all(|c| c.is_ascii_alphabetic() || "*?".contains(c))
            });
            invalid.check(
                host.len() <= 128 && host.chars().all(allowed) && top_ok,
                format!("listener_rule.host_headers[{i}]"),
                format_args!(
                    "{host:?} must be at most 128 letters, digits, hyphens, dots and wildcards (* ?), with a dot and only letters after the last (ELB's rule)"
                ),
            );
        }
    }
}

/// An ECS service, optionally behind an application load balancer: the port of
/// npalm/terraform-aws-ecs-service.
#[derive(Clone, Debug)]
pub struct Service {
    pub(crate) environment: String,
    pub(crate) service_name: String,
    pub(crate) network: Network,
    pub(crate) cluster: String,
    pub(crate) execution_role: Option<RoleRef>,
    pub(crate) task_role: Option<RoleRef>,
    /// Where the containers' secrets come from.
    pub(crate) secrets: Vec<SecretSource>,
    pub(crate) secrets_kms_key: Option<String>,
    pub(crate) enable_execute_command: bool,
    /// Containers whose image a pipeline deploys.
    pub(crate) keep_deployed_images: Vec<String>,
    pub(crate) ignore_task_definition_changes: bool,
    pub(crate) depends_on: Vec<Ref<()>>,
    pub(crate) task_definition: TaskDefinition,
    /// Where the tasks run: the launch type, or the kind of the strategy's providers.
    pub(crate) launch_type: LaunchType,
    /// The capacity provider strategy (empty: the launch type).
    pub(crate) strategy: Vec<StrategyItem>,
    pub(crate) autoscaling: Option<Autoscaling>,
    pub(crate) desired_count: i32,
    pub(crate) load_balancer: Option<LoadBalancer>,
    pub(crate) listener_rule: Option<ListenerRule>,
    pub(crate) security_group_ids: Vec<String>,
    pub(crate) task_ingress: TaskIngress,
    pub(crate) ecs_service_role: Option<String>,
    pub(crate) circuit_breaker: bool,
    pub(crate) deployment_strategy: DeploymentStrategy,
    pub(crate) deployment_alarms: Option<DeploymentAlarms>,
    pub(crate) minimum_healthy_percent: Option<i32>,
    pub(crate) maximum_percent: Option<i32>,
    pub(crate) steady_state: Option<Wait>,
    pub(crate) propagate_tags: bool,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) lb_name: String,
    pub(crate) wait: Wait,
}

/// Where the service lives: known values, or references to a network declared in the same
/// stack.
#[derive(Clone, Debug)]
pub(crate) struct Network {
    pub vpc_id: Ref<String>,
    pub vpc_cidr: Ref<String>,
    /// The tasks' subnets (awsvpc).
    pub subnets: Ref<Vec<String>>,
    /// The load balancer's subnets.
    pub lb_subnets: Ref<Vec<String>>,
    /// Known once the tasks' subnets can reach the internet (their images).
    pub egress: Ref<()>,
}

impl Service {
    /// A builder with the module's defaults.
    pub fn builder() -> ServiceBuilder {
        ServiceBuilder::default()
    }

    /// `<environment>-<service_name>`, the base of every name.
    pub fn full_name(&self) -> String {
        format!("{}-{}", self.environment, self.service_name)
    }

    /// The network mode of the tasks.
    pub fn network_mode(&self) -> NetworkMode {
        self.task_definition
            .network_mode()
            .unwrap_or(NetworkMode::Bridge)
    }

    /// The container and port the load balancer targets.
    pub(crate) fn target(&self) -> Option<(String, i32)> {
        self.target_group().map(|(tg, _, _)| {
            (
                tg.container_name
                    .clone()
                    .unwrap_or_else(|| self.service_name.clone()),
                tg.container_port,
            )
        })
    }

    /// The target group, its health check and the grace period, of either front: a load
    /// balancer of its own or a shared listener's rule.
    pub(crate) fn target_group(&self) -> Option<(&TargetGroup, &HealthCheck, Option<i32>)> {
        let own = self.load_balancer.as_ref().map(|lb| {
            let grace = lb.health_check_grace_period_seconds;
            (&lb.target_group, &lb.health_check, grace)
        });
        own.or_else(|| {
            self.listener_rule.as_ref().map(|r| {
                let grace = r.health_check_grace_period_seconds;
                (&r.target_group, &r.health_check, grace)
            })
        })
    }
}

/// Builds a [`Service`]; `build` checks every input before any AWS call.
#[derive(Clone, Debug, Default)]
pub struct ServiceBuilder {
    environment: Option<String>,
    service_name: Option<String>,
    network: Option<vpc::Network>,
    cluster: Option<ClusterRef>,
    depends_on: Vec<Ref<()>>,
    execution_role: Option<RoleRef>,
    task_role: Option<RoleRef>,
    secrets_kms_key: Option<String>,
    enable_execute_command: bool,
    keep_deployed_images: Vec<String>,
    ignore_task_definition_changes: bool,
    task_definition: Option<TaskDefinition>,
    containers: Vec<ContainerDefinition>,
    containers_json_error: Option<Invalid>,
    task_network_mode: Option<NetworkMode>,
    task_cpu: Option<u32>,
    task_memory: Option<u32>,
    task_role_arn: Option<String>,
    execution_role_arn: Option<String>,
    task_volumes: Vec<Volume>,
    cpu_architecture: Option<String>,
    ephemeral_storage: Option<u32>,
    launch_type: Option<LaunchType>,
    strategy: Vec<StrategyItem>,
    autoscaling: Option<Autoscaling>,
    desired_count: Option<i32>,
    load_balancer: Option<LoadBalancer>,
    listener_rule: Option<ListenerRule>,
    subnets: Vec<String>,
    security_group_ids: Vec<String>,
    task_ingress: TaskIngress,
    ecs_service_role: Option<String>,
    circuit_breaker: Option<bool>,
    deployment_strategy: DeploymentStrategy,
    deployment_alarms: Option<DeploymentAlarms>,
    minimum_healthy_percent: Option<i32>,
    maximum_percent: Option<i32>,
    steady_state: Option<Wait>,
    wait: Option<Wait>,
    propagate_tags: bool,
    tags: BTreeMap<String, String>,
}

impl ServiceBuilder {
    /// Required. The name prefix and `Environment` tag.
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }
    /// Required. The service's name.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }
    /// The network (`vpc_id`, `vpc_cidr`, the subnets): the [`vpc::VpcRefs`] of a network
    /// declared in the same stack, a network's [`vpc::VpcOutputs`], or
    /// [`vpc::Network::ids`]. The tasks go in its private subnets (unless
    /// [`subnets`](Self::subnets) says otherwise), the load balancer (when it gives no
    /// subnets) in its public ones, or its private ones when internal; the service starts
    /// once the private subnets' route to the NAT gateway exists.
    pub fn network(mut self, network: impl Into<vpc::Network>) -> Self {
        self.network = Some(network.into());
        self
    }
    /// Required. The ECS cluster (`ecs_cluster_id`): the [`converge::ClusterRefs`] of one
    /// declared in the same stack (the service waits for it), its outputs, or its name or ARN.
    pub fn cluster(mut self, cluster: impl Into<ClusterRef>) -> Self {
        self.cluster = Some(cluster.into());
        self
    }
    /// Something the service must wait for, though it reads no value of it (Terraform's
    /// `depends_on`): e.g. a log group declared in the same stack, `&logs.outputs`.
    pub fn depends_on<T: Send + Sync + 'static>(mut self, ready: &Ref<T>) -> Self {
        self.depends_on.push(ready.clone().map(|_| ()));
        self
    }
    /// A complete task definition. Alternatively give the containers and the task settings
    /// below, and the service builds one with the family `<environment>-<service_name>`.
    pub fn task_definition(mut self, task: TaskDefinition) -> Self {
        self.task_definition = Some(task);
        self
    }
    /// The containers of the task the service builds.
    pub fn containers(mut self, containers: impl IntoIterator<Item = ContainerDefinition>) -> Self {
        self.containers.extend(containers);
        self
    }
    /// The containers as container-definition JSON (Terraform's `task_definition` variable).
    pub fn container_definitions_json(mut self, json: &str) -> Self {
        match task_def::json::from_json(json) {
            Ok(containers) => self.containers.extend(containers),
            Err(invalid) => self.containers_json_error = Some(invalid),
        }
        self
    }
    /// The task's network mode (`task_network_mode`; default awsvpc on Fargate, bridge on EC2).
    pub fn task_network_mode(mut self, mode: NetworkMode) -> Self {
        self.task_network_mode = Some(mode);
        self
    }
    /// Task CPU units.
    pub fn task_cpu(mut self, cpu: u32) -> Self {
        self.task_cpu = Some(cpu);
        self
    }
    /// Task memory, MiB.
    pub fn task_memory(mut self, memory: u32) -> Self {
        self.task_memory = Some(memory);
        self
    }
    /// The role the containers run as, by ARN; exclusive with
    /// [`task_role`](ServiceBuilder::task_role).
    pub fn task_role_arn(mut self, arn: impl Into<String>) -> Self {
        self.task_role_arn = Some(arn.into());
        self
    }
    /// The role the containers run as: the [`converge::RoleRefs`] of a
    /// [`TaskRole`](crate::TaskRole) declared in the same stack, or a role's outputs. ECS
    /// Exec's permissions go on it.
    pub fn task_role(mut self, role: impl Into<RoleRef>) -> Self {
        self.task_role = Some(role.into());
        self
    }
    /// The task execution role (`awsvpc_task_execution_role_arn`), by ARN; exclusive with
    /// [`execution_role`](ServiceBuilder::execution_role).
    pub fn execution_role_arn(mut self, arn: impl Into<String>) -> Self {
        self.execution_role_arn = Some(arn.into());
        self
    }
    /// The task execution role: the [`converge::RoleRefs`] of a
    /// [`TaskExecutionRole`](crate::TaskExecutionRole) declared in the same stack, or a
    /// role's outputs. The service puts the policy that reads the containers' secrets on it.
    pub fn execution_role(mut self, role: impl Into<RoleRef>) -> Self {
        self.execution_role = Some(role.into());
        self
    }
    /// The KMS key the containers' secrets are encrypted with, when it is not AWS's own: the
    /// execution role may `kms:Decrypt` with it. A key's ARN.
    pub fn secrets_kms_key(mut self, key_arn: impl Into<String>) -> Self {
        self.secrets_kms_key = Some(key_arn.into());
        self
    }
    /// ECS Exec (`aws ecs execute-command`) into the service's tasks. Needs a task role: the
    /// service gives it the `ssmmessages` permissions the agent uses. Turning it on or off
    /// starts a new deployment, since only new tasks get the agent.
    pub fn enable_execute_command(mut self, enable: bool) -> Self {
        self.enable_execute_command = enable;
        self
    }
    /// Adds a task volume (`task_volumes`).
    pub fn task_volume(mut self, volume: Volume) -> Self {
        self.task_volumes.push(volume);
        self
    }
    /// The CPU architecture of the task the service builds: `X86_64` or `ARM64` (Graviton;
    /// cheaper on Fargate, and the image must be built for it). A complete `task_definition`
    /// carries its own.
    pub fn cpu_architecture(mut self, architecture: impl Into<String>) -> Self {
        self.cpu_architecture = Some(architecture.into());
        self
    }
    /// Fargate task storage of the task the service builds, 21 to 200 GiB (default 20).
    pub fn ephemeral_storage(mut self, gib: u32) -> Self {
        self.ephemeral_storage = Some(gib);
        self
    }
    /// Keeps the image of container `name` as the revision the service runs has it, so that
    /// an apply after a deploy pipeline rolled out a new image does not roll it back; the
    /// rest of the task definition still follows the inputs (a new revision, with the kept
    /// image, when it differs). The plan says what it keeps. Repeat for more containers.
    pub fn keep_deployed_image(mut self, name: impl Into<String>) -> Self {
        self.keep_deployed_images.push(name.into());
        self
    }
    /// Leaves the task definition to a deploy pipeline once the service runs one
    /// (terraform-aws-modules/ecs's `ignore_task_definition_changes`): the first apply
    /// registers it, later ones neither register a revision nor move the service, and the
    /// plan says what differs. The rest of the service still converges.
    pub fn ignore_task_definition_changes(mut self, ignore: bool) -> Self {
        self.ignore_task_definition_changes = ignore;
        self
    }
    /// Fargate (default) or EC2; exclusive with
    /// [`capacity_provider_strategy`](ServiceBuilder::capacity_provider_strategy).
    pub fn launch_type(mut self, launch_type: LaunchType) -> Self {
        self.launch_type = Some(launch_type);
        self
    }
    /// Runs the tasks on capacity providers instead of a launch type: `FARGATE` and
    /// `FARGATE_SPOT` (listed on the cluster by
    /// [`Cluster`](converge::ClusterBuilder::fargate_capacity_providers)), or an instance
    /// fleet's provider ([`ecs_instances`' `capacity_provider`]). Moving between a launch type
    /// and a strategy updates the service in place with a new deployment.
    ///
    /// [`ecs_instances`' `capacity_provider`]: https://docs.rs/ecs-instances
    pub fn capacity_provider_strategy(
        mut self,
        strategy: impl IntoIterator<Item = StrategyItem>,
    ) -> Self {
        self.strategy = strategy.into_iter().collect();
        self
    }
    /// Scales the task count with Application Auto Scaling. `desired_count` is then the
    /// count at create only: apply leaves the running count to the autoscaler.
    pub fn autoscaling(mut self, autoscaling: Autoscaling) -> Self {
        self.autoscaling = Some(autoscaling);
        self
    }
    /// How many tasks (default 1).
    pub fn desired_count(mut self, count: i32) -> Self {
        self.desired_count = Some(count);
        self
    }
    /// Puts the service behind a load balancer (`enable_lb`).
    pub fn load_balancer(mut self, lb: LoadBalancer) -> Self {
        self.load_balancer = Some(lb);
        self
    }
    /// Puts the service behind a rule on a shared load balancer's listener, instead of a
    /// load balancer of its own.
    pub fn listener_rule(mut self, rule: ListenerRule) -> Self {
        self.listener_rule = Some(rule);
        self
    }
    /// The tasks' subnets in awsvpc mode (default: the `network`'s private subnets).
    pub fn subnets<I: IntoIterator<Item = S>, S: Into<String>>(mut self, subnets: I) -> Self {
        self.subnets = subnets.into_iter().map(Into::into).collect();
        self
    }
    /// Extra security groups for the tasks in awsvpc mode.
    pub fn security_group_id(mut self, id: impl Into<String>) -> Self {
        self.security_group_ids.push(id.into());
        self
    }
    /// Who may reach the tasks (default: only the load balancer).
    pub fn task_ingress(mut self, ingress: TaskIngress) -> Self {
        self.task_ingress = ingress;
        self
    }
    /// The ECS service role, for bridge mode behind a load balancer in old accounts.
    pub fn ecs_service_role(mut self, role: impl Into<String>) -> Self {
        self.ecs_service_role = Some(role.into());
        self
    }
    /// The deployment circuit breaker with rollback (default on).
    pub fn circuit_breaker(mut self, on: bool) -> Self {
        self.circuit_breaker = Some(on);
        self
    }
    /// How a new revision replaces the running one (default rolling). A strategy that
    /// shifts traffic needs a load balancer or a listener rule; the module then makes what
    /// ECS shifts it with ([`DeploymentStrategy`]).
    pub fn deployment_strategy(mut self, strategy: DeploymentStrategy) -> Self {
        self.deployment_strategy = strategy;
        self
    }
    /// Alarms that, in ALARM during a deployment, fail it and (by default) roll it back:
    /// alarms the user has, and ones the module makes ([`DeploymentAlarms`]).
    pub fn deployment_alarms(mut self, alarms: DeploymentAlarms) -> Self {
        self.deployment_alarms = Some(alarms);
        self
    }
    /// Deployment bounds, in percent of the desired count.
    pub fn deployment_percent(mut self, minimum_healthy: i32, maximum: i32) -> Self {
        self.minimum_healthy_percent = Some(minimum_healthy);
        self.maximum_percent = Some(maximum);
        self
    }
    /// Waits for steady state after apply, at most `timeout` (default: no wait, like
    /// Terraform).
    pub fn wait_for_steady_state(mut self, timeout: Duration) -> Self {
        self.steady_state = Some(Wait::timeout(timeout));
        self
    }
    /// How long apply and destroy wait for the load balancer to be active or gone, and the
    /// service to be INACTIVE (default ten minutes).
    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = Some(wait);
        self
    }
    /// Copies the service's tags to its tasks.
    pub fn propagate_tags(mut self, on: bool) -> Self {
        self.propagate_tags = on;
        self
    }
    /// An extra tag on every resource.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }
}

/// ECS's limit of security groups on an awsvpc task; the module adds its own group.
pub const MAX_TASK_SECURITY_GROUPS: usize = 5;

/// ECS's deployment bounds: the minimum healthy percent 0 to 100, the maximum at least 100
/// and above the minimum, so a deployment can start a task.
fn check_deployment(invalid: &mut Invalid, minimum: Option<i32>, maximum: Option<i32>) {
    if let Some(min) = minimum {
        invalid.check(
            (0..=100).contains(&min),
            "minimum_healthy_percent",
            format_args!("{min} must be 0 to 100 (ECS's rule)"),
        );
    }
    if let Some(max) = maximum {
        invalid.check(
            (100..=i32::MAX).contains(&max),
            "maximum_percent",
            format_args!("{max} must be at least 100 (ECS's rule)"),
        );
    }
    if let (Some(min), Some(max)) = (minimum, maximum) {
        invalid.check(
            min < max,
            "maximum_percent",
            format_args!(
                "{max} must be above minimum_healthy_percent ({min}), or a deployment can neither start nor stop a task"
            ),
        );
    }
}

impl ServiceBuilder {
    /// Every name the service makes from `<environment>-<service_name>`, against the limit of
    /// the AWS resource that takes it.
    fn check_derived_names(&self, invalid: &mut Invalid, full: &str, mode: NetworkMode) {
        let mut names: Vec<(String, usize, &str)> = Vec::new();
        if self.task_definition.is_none() {
            names.push((full.to_owned(), 255, "task definition family"));
        }
        if mode == NetworkMode::Awsvpc {
            names.push((format!("{full}-task-sg"), 255, "security group name"));
        }
        if self.load_balancer.is_some() {
            names.push((format!("{full}-alb-sg"), 255, "security group name"));
        }
        let containers = self
            .task_definition
            .as_ref()
            .map_or(&self.containers[..], |t| t.containers());
        if containers.iter().any(|c| !c.secrets.is_empty()) {
            names.push((format!("{full}-secrets"), 128, "IAM inline policy name"));
        }
        if self.enable_execute_command {
            names.push((format!("{full}-exec"), 128, "IAM inline policy name"));
        }
        if let Some(a) = &self.autoscaling {
            for t in &a.target_tracking {
                let name = format!("{full}-{}", t.metric.suffix());
                names.push((name, 256, "scaling policy name"));
            }
            for s in &a.scheduled {
                names.push((format!("{full}-{}", s.name), 256, "scheduled action name"));
            }
        }
        for (name, limit, what) in names {
            let len = name.chars().count();
            invalid.check(
                len <= limit,
                "service_name",
                format_args!(
                    "makes the {what} {}... of {len} characters: AWS takes at most {limit} (shorten the environment or the service name)",
                    name.chars().take(40).collect::<String>()
                ),
            );
        }
    }
}

/// A listener's rules, for a service's own load balancer and a shared one.
pub(crate) fn check_listener(invalid: &mut Invalid, at: &str, listener: &Listener) {
    let https = listener.protocol == ListenerProtocol::Https;
    invalid.check(
        !https || listener.certificate_arn.is_some(),
        format!("{at}.certificate_arn"),
        "an HTTPS listener needs a certificate",
    );
    invalid.check(
        https || listener.certificate_arn.is_none(),
        format!("{at}.protocol"),
        "a certificate is given: the listener must be HTTPS",
    );
    invalid.check(
        (1..=65535).contains(&listener.port),
        format!("{at}.port"),
        "must be 1 to 65535",
    );
    invalid.check(
        !listener.redirect_http || https,
        format!("{at}.redirect_http"),
        "redirects HTTP to HTTPS: the listener must be HTTPS",
    );
    invalid.check(
        !listener.redirect_http || listener.port != 80,
        format!("{at}.port"),
        "80 is the redirect's port: put the HTTPS listener on another (443)",
    );
    if let Some(arn) = &listener.certificate_arn {
        invalid.check(
            is_certificate_arn(arn),
            format!("{at}.certificate_arn"),
            format_args!(
                "{arn:?} is not a certificate's ARN (arn:<partition>:acm:<region>:<account>:certificate/<id>, or IAM's arn:<partition>:iam::<account>:server-certificate/<name>)"
            ),
        );
    }
    if let Some(policy) = &listener.ssl_policy {
        invalid.check(
            https,
            format!("{at}.ssl_policy"),
            "a TLS policy is for an HTTPS listener",
        );
        invalid.check(
            policy.starts_with("ELBSecurityPolicy-")
                && policy.len() <= 255
                && policy
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-'),
            format!("{at}.ssl_policy"),
            format_args!("{policy:?} is not one of ELB's TLS policies (ELBSecurityPolicy-...)"),
        );
    }
}

/// An ACM certificate's ARN, or an IAM server certificate's: what an HTTPS listener takes.
pub(crate) fn is_certificate_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let account_ok = account.len() == 12 && account.chars().all(|c| c.is_ascii_digit());
    let named = |kind: &str| {
        resource
            .strip_prefix(kind)
            .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_graphic()))
    };
    prefix == "arn"
        && partition.starts_with("aws")
        && account_ok
        && match service {
            "acm" => !region.is_empty() && named("certificate/"),
            "iam" => region.is_empty() && named("server-certificate/"),
            _ => false,
        }
}

/// ELB's limit of security groups on a load balancer; the module adds its own group.
pub const MAX_LB_SECURITY_GROUPS: usize = 5;
/// EC2's default quota of inbound rules per security group (for each of IPv4 and IPv6).
pub const MAX_SG_RULES: usize = 60;

/// The rules of what reaches a load balancer, for a service's own and a shared one: the
/// whitelist's CIDRs, the extra security groups, and the rules they make. `at` prefixes the
/// fields (`load_balancer.` or nothing).
pub(crate) fn check_front(
    invalid: &mut Invalid,
    at: &str,
    internal: bool,
    whitelist: &[String],
    groups: &[String],
    listener: &Listener,
) {
    let mut seen = std::collections::BTreeSet::new();
    for (i, cidr) in whitelist.iter().enumerate() {
        let field = format!("{at}whitelist[{i}]");
        match cidr.parse::<vpc::Ipv4Cidr>() {
            Ok(parsed) => invalid.check(
                seen.insert(parsed.to_string()),
                field,
                format_args!(
                    "{cidr:?} is listed twice: EC2 refuses a rule given twice (InvalidPermission.Duplicate)"
                ),
            ),
            Err(err) => invalid.push(
                field,
                format_args!("{cidr:?} is not an IPv4 CIDR block EC2 takes: {err}"),
            ),
        }
    }
    let ports = if listener.redirect_http { 2 } else { 1 };
    let sources = if internal { 1 } else { whitelist.len() };
    invalid.check(
        ports * sources <= MAX_SG_RULES,
        format!("{at}whitelist"),
        format_args!(
            "{} CIDRs on {ports} port(s) make {} inbound rules: a security group takes at most {MAX_SG_RULES}",
            whitelist.len(),
            ports * sources
        ),
    );
    invalid.check(
        groups.len() < MAX_LB_SECURITY_GROUPS,
        format!("{at}security_group_ids"),
        format_args!(
            "{} extra groups: a load balancer takes at most {MAX_LB_SECURITY_GROUPS} security groups and the module adds its own, so at most {}",
            groups.len(),
            MAX_LB_SECURITY_GROUPS - 1
        ),
    );
    check_group_ids(invalid, &format!("{at}security_group_ids"), groups);
}

/// Security group ids: `sg-` and 8 or 17 hex digits, none twice.
pub(crate) fn check_group_ids(invalid: &mut Invalid, at: &str, groups: &[String]) {
    for (i, id) in groups.iter().enumerate() {
        let hex = id.strip_prefix("sg-").unwrap_or_default();
        invalid.check(
            (hex.len() == 8 || hex.len() == 17) && hex.chars().all(|c| c.is_ascii_hexdigit()),
            format!("{at}[{i}]"),
            format_args!("{id:?} is not a security group id (sg- and 8 or 17 hex digits)"),
        );
        invalid.check(
            !groups[..i].contains(id),
            format!("{at}[{i}]"),
            format_args!("{id:?} is given twice"),
        );
    }
}

/// A health check matcher: HTTP codes 200 to 499, as `200`, `200,202` or `200-299`.
pub(crate) fn is_http_matcher(matcher: &str) -> bool {
    let code = |s: &str| {
        (1..=3).contains(&s.len())
            && s.chars().all(|c| c.is_ascii_digit())
            && s.parse::<u16>().is_ok_and(|c| (200..=499).contains(&c))
    };
    !matcher.is_empty()
        && matcher.split(',').all(|part| match part.split_once('-') {
            Some((lo, hi)) => code(lo) && code(hi) && lo.parse::<u16>().ok() <= hi.parse().ok(),
            None => code(part),
        })
}

impl LoadBalancerAttributes {
    pub(crate) fn check(&self, invalid: &mut Invalid, at: &str) {
        invalid.check(
            (1..=4000).contains(&self.idle_timeout),
            format!("{at}.idle_timeout"),
            format_args!("{} must be 1 to 4000 seconds", self.idle_timeout),
        );
        if let Some(logs) = &self.access_logs {
            let bucket = &logs.bucket;
            invalid.check(
                (3..=63).contains(&bucket.len())
                    && bucket.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'
                    }),
                format!("{at}.access_logs.bucket"),
                format_args!(
                    "{bucket:?} is not an S3 bucket name (3 to 63 lowercase letters, digits, hyphens and dots)"
                ),
            );
            let prefix = logs.prefix.as_deref().unwrap_or_default();
            invalid.check(
                !prefix.starts_with('/') && !prefix.ends_with('/') && !prefix.contains("AWSLogs"),
                format!("{at}.access_logs.prefix"),
                format_args!(
                    "{prefix:?} must not start or end with / nor contain AWSLogs (ELB's rule)"
                ),
            );
        }
    }
}

/// A target group's and its health check's rules.
fn check_target(invalid: &mut Invalid, at: &str, target_group: &TargetGroup, check: &HealthCheck) {
    invalid.check(
        (0..=3600).contains(&target_group.deregistration_delay),
        format!("{at}.target_group.deregistration_delay"),
        "must be 0 to 3600 seconds",
    );
    invalid.check(
        check.path.starts_with('/'),
        format!("{at}.health_check.path"),
        "must start with /",
    );
    invalid.check(
        check.path.len() <= 1024 && check.path.chars().all(|c| c.is_ascii_graphic()),
        format!("{at}.health_check.path"),
        format_args!(
            "is {} characters: ELB takes at most 1024 printable ASCII characters, without spaces (percent-encode others)",
            check.path.chars().count()
        ),
    );
    invalid.check(
        is_http_matcher(&check.matcher),
        format!("{at}.health_check.matcher"),
        format_args!(
            "{:?} must be HTTP codes from 200 to 499, as 200, 200,202 or 200-299 (ELB's rule)",
            check.matcher
        ),
    );
    invalid.check(
        (1..=65535).contains(&target_group.host_port),
        format!("{at}.target_group.host_port"),
        format_args!("{} must be 1 to 65535", target_group.host_port),
    );
    invalid.check(
        (5..=300).contains(&check.interval),
        format!("{at}.health_check.interval"),
        "must be 5 to 300 seconds",
    );
    invalid.check(
        (2..=120).contains(&check.timeout) && check.timeout < check.interval,
        format!("{at}.health_check.timeout"),
        format_args!(
            "{} s: must be 2 to 120 seconds and less than the interval ({} s)",
            check.timeout, check.interval
        ),
    );
    invalid.check(
        (2..=10).contains(&check.healthy_threshold),
        format!("{at}.health_check.healthy_threshold"),
        "must be 2 to 10",
    );
    invalid.check(
        (2..=10).contains(&check.unhealthy_threshold),
        format!("{at}.health_check.unhealthy_threshold"),
        "must be 2 to 10",
    );
}

/// The roles a service's tasks use and the secrets the execution role reads, checked.
struct Roles {
    execution: Option<RoleRef>,
    task: Option<RoleRef>,
    secrets: Vec<SecretSource>,
}

impl Roles {
    fn check(b: &ServiceBuilder, task: Option<&TaskDefinition>, invalid: &mut Invalid) -> Self {
        let execution = role(
            b.execution_role.as_ref(),
            b.execution_role_arn.as_deref().or(b
                .task_definition
                .as_ref()
                .and_then(|t| t.execution_role_arn())),
            "execution_role",
            invalid,
        );
        let task_role = role(
            b.task_role.as_ref(),
            b.task_role_arn
                .as_deref()
                .or(b.task_definition.as_ref().and_then(|t| t.task_role_arn())),
            "task_role",
            invalid,
        );
        let containers = task.map_or(&b.containers[..], |t| t.containers());
        let mut secrets = Vec::new();
        for (i, c) in containers.iter().enumerate() {
            for (j, secret) in c.secrets.iter().enumerate() {
                match SecretSource::parse(&secret.value_from) {
                    Ok(source) => secrets.push(source),
                    Err(rule) => invalid.push(
                        format!("task_definition.containers[{i}].secrets[{j}].value_from"),
                        rule,
                    ),
                }
            }
            invalid.check(
                c.secrets.is_empty() || execution.is_some(),
                "execution_role",
                format_args!(
                    "container {:?} has secrets, which ECS reads as the execution role: give one",
                    c.name
                ),
            );
        }
        if let Some(key) = &b.secrets_kms_key {
            invalid.check(
                is_key_arn(key),
                "secrets_kms_key",
                format_args!("{key:?} is not a KMS key's ARN (arn:<partition>:kms:<region>:<account>:key/<id>)"),
            );
            invalid.check(
                !containers.iter().all(|c| c.secrets.is_empty()),
                "secrets_kms_key",
                "no container has secrets to decrypt with it",
            );
        }
        for (i, name) in b.keep_deployed_images.iter().enumerate() {
            invalid.check(
                containers.iter().any(|c| c.name == *name),
                format!("keep_deployed_images[{i}]"),
                format_args!("the task has no container {name:?}"),
            );
        }
        invalid.check(
            b.keep_deployed_images.is_empty() || !b.ignore_task_definition_changes,
            "keep_deployed_images",
            "ignore_task_definition_changes keeps the whole task definition already",
        );
        invalid.check(
            !b.enable_execute_command || task_role.is_some(),
            "enable_execute_command",
            "ECS Exec's agent runs as the task role: give one (task_role)",
        );
        Self {
            execution,
            task: task_role,
            secrets,
        }
    }
}

/// A role given as a reference or by ARN (not both), as the reference the policies use.
fn role(
    given: Option<&RoleRef>,
    arn: Option<&str>,
    field: &str,
    invalid: &mut Invalid,
) -> Option<RoleRef> {
    match (given, arn) {
        (Some(role), None) => Some(role.clone()),
        (Some(role), Some(_)) => {
            invalid.push(
                field,
                format_args!("give the role ({}) or its ARN, not both", role.name()),
            );
            None
        }
        (None, Some(arn)) => {
            let role = RoleRef::from_arn(arn);
            invalid.check(
                role.is_some(),
                format!("{field}_arn"),
                format_args!(
                    "{arn:?} is not an IAM role's ARN (arn:<partition>:iam::<account>:role/<name>)"
                ),
            );
            role
        }
        (None, None) => None,
    }
}

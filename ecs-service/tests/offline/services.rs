//! Unit tests of the ECS service module against aws-smithy-mocks: no AWS, no emulator.
//!
//! Every rule is `RuleMode::MatchAny` and matches only well-formed requests (tagged with
//! `Name`, `Environment` and the ownership tag, in the right VPC, subnets and security groups),
//! so a request the module gets wrong matches no rule and the mock panics, naming the request.
//! The create rules record their operation, so a test can check the order AWS saw them in.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_ec2::operation::authorize_security_group_ingress::{
    AuthorizeSecurityGroupIngressInput, AuthorizeSecurityGroupIngressOutput,
};
use aws_sdk_ec2::operation::create_security_group::CreateSecurityGroupOutput;
use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
use aws_sdk_ec2::types::ResourceType;
use aws_sdk_ec2::Client as Ec2;
use aws_sdk_ecs::error::ErrorMetadata as EcsErrorMetadata;
use aws_sdk_ecs::operation::create_service::{
    CreateServiceError, CreateServiceInput, CreateServiceOutput,
};
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionError;
use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionOutput;
use aws_sdk_ecs::types::error::{ClientException, InvalidParameterException};
use aws_sdk_ecs::types::{
    AssignPublicIp, LaunchType as EcsLaunchType, Service as EcsService, TaskDefinition as EcsTask,
};
use aws_sdk_ecs::Client as Ecs;
use aws_sdk_elasticloadbalancingv2::error::ErrorMetadata as ElbErrorMetadata;
use aws_sdk_elasticloadbalancingv2::operation::create_listener::CreateListenerOutput;
use aws_sdk_elasticloadbalancingv2::operation::create_load_balancer::CreateLoadBalancerOutput;
use aws_sdk_elasticloadbalancingv2::operation::create_target_group::CreateTargetGroupOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::{
    DescribeLoadBalancersError, DescribeLoadBalancersOutput,
};
use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::DescribeTargetGroupsOutput;
use aws_sdk_elasticloadbalancingv2::types::error::LoadBalancerNotFoundException;
use aws_sdk_elasticloadbalancingv2::types::{
    ActionTypeEnum, Listener, LoadBalancer as ElbLoadBalancer, LoadBalancerSchemeEnum,
    LoadBalancerState, LoadBalancerStateEnum, LoadBalancerTypeEnum, ProtocolEnum, TargetGroup,
    TargetTypeEnum,
};
use aws_sdk_elasticloadbalancingv2::Client as Elbv2;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use converge::{Aws, Retry};
use ecs_service::{ListenerProtocol, LoadBalancer, Service};
use task_def::{ContainerDefinition, NetworkMode, PortMapping};

const VPC: &str = "vpc-1";
const PRIVATE_SUBNETS: [&str; 2] = ["subnet-priv-a", "subnet-priv-b"];
const PUBLIC_SUBNETS: [&str; 2] = ["subnet-pub-a", "subnet-pub-b"];
const ALB_SG: &str = "sg-alb";
const TASK_SG: &str = "sg-task";
const LB_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/blog-blog/50dc6c495c0c9188";
const LB_DNS: &str = "blog-blog-1234567890.us-east-1.elb.amazonaws.com";
const TG_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blog-blog/73e2d6bc24d8a067";
const LISTENER_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/blog-blog/50dc6c495c0c9188/f2f7dc8efc522ab2";
const TASK_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/blog-blog:1";
const SERVICE_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:service/blog/blog";

/// The blog's container: nginx-like, on port 80.
fn blog_container() -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("blog")
        .image("npalm/040code.github.io:latest")
        .port_mapping(PortMapping::tcp(80))
        .build()
}

/// An internet-facing load balancer in the public subnets, targeting `blog:80`.
fn public_lb() -> LoadBalancer {
    LoadBalancer {
        internal: false,
        subnets: PUBLIC_SUBNETS.iter().map(|s| (*s).to_owned()).collect(),
        target_group: ecs_service::TargetGroup {
            container_name: Some("blog".into()),
            container_port: 80,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The blog service of the blog post, on Fargate behind a public load balancer, with its
/// environment and service names given (the long-name test needs others).
fn service_builder(environment: &str, name: &str) -> ecs_service::ServiceBuilder {
    Service::builder()
        .environment(environment)
        .service_name(name)
        .network(vpc::Network::ids(VPC, "10.0.0.0/16"))
        .subnets(PRIVATE_SUBNETS)
        .cluster("blog")
        .containers([blog_container()])
        .task_cpu(256)
        .task_memory(512)
        .load_balancer(public_lb())
}

fn service(environment: &str, name: &str) -> Service {
    service_builder(environment, name)
        .build()
        .expect("valid inputs")
}

/// The identity tags every create call must carry.
#[derive(Clone)]
struct Identity {
    environment: String,
    owner: String,
}

impl Identity {
    /// Whether `pairs` hold `Name=name`, the environment and the ownership tag.
    fn on<'a>(&self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>, name: &str) -> bool {
        let tags: BTreeMap<&str, &str> = pairs.into_iter().collect();
        tags.get("Name") == Some(&name)
            && tags.get("Environment") == Some(&self.environment.as_str())
            && tags.get("ecs-modules:owner") == Some(&self.owner.as_str())
    }
}

/// Mutating operations, in the order the mocks answered them.
type Log = Arc<Mutex<Vec<&'static str>>>;

fn record(log: &Log, operation: &'static str) {
    log.lock().expect("log poisoned").push(operation);
}

/// AWS with nothing of the service in it yet: every find comes back empty, every create
/// succeeds, and each create is recorded in `ops` (its resource's name in `names`).
struct Nothing {
    id: Identity,
    /// `<environment>-<service>`, the base of every name.
    full_name: String,
    service: String,
    ops: Log,
    names: Arc<Mutex<BTreeMap<&'static str, String>>>,
}

impl Nothing {
    fn new(environment: &str, service: &str) -> Self {
        let full_name = format!("{environment}-{service}");
        Self {
            id: Identity {
                environment: environment.to_owned(),
                owner: format!("ecs-service/{environment}/{service}"),
            },
            full_name,
            service: service.to_owned(),
            ops: Log::default(),
            names: Arc::default(),
        }
    }

    fn ops(&self) -> Vec<&'static str> {
        self.ops.lock().expect("log poisoned").clone()
    }

    fn name_sent(&self, operation: &str) -> String {
        self.names
            .lock()
            .expect("names poisoned")
            .get(operation)
            .cloned()
            .unwrap_or_else(|| panic!("no {operation} call"))
    }

    fn ec2(&self) -> Vec<Rule> {
        // The groups are read by ownership tag and, for look-alikes, by their names.
        let (owner, full_name) = (self.id.owner.clone(), self.full_name.clone());
        let no_groups = mock!(Ec2::describe_security_groups)
            .match_requests(move |r| {
                r.filters().iter().any(|f| {
                    (f.name() == Some("tag:ecs-modules:owner") && f.values().contains(&owner))
                        || (f.name() == Some("group-name")
                            && f.values().iter().all(|v| v.starts_with(full_name.as_str())))
                })
            })
            .then_output(|| DescribeSecurityGroupsOutput::builder().build());

        let (id, ops) = (self.id.clone(), self.ops.clone());
        let create_group = mock!(Ec2::create_security_group)
            .match_requests(move |r| {
                let name = r.group_name().unwrap_or_default();
                r.vpc_id() == Some(VPC)
                    && r.tag_specifications().iter().any(|spec| {
                        spec.resource_type() == Some(&ResourceType::SecurityGroup)
                            && id.on(converge::ec2_pairs(spec.tags()), name)
                    })
            })
            .then_compute_output(move |r| {
                let alb = r.group_name().is_some_and(|n| n.ends_with("-alb-sg"));
                record(
                    &ops,
                    if alb {
                        "CreateSecurityGroup(alb)"
                    } else {
                        "CreateSecurityGroup(task)"
                    },
                );
                CreateSecurityGroupOutput::builder()
                    .group_id(if alb { ALB_SG } else { TASK_SG })
                    .build()
            });

        // The load balancer's group admits the world on the listener port; the tasks' group
        // admits the container port from the load balancer's group and nothing else.
        let ops = self.ops.clone();
        let alb_ingress = mock!(Ec2::authorize_security_group_ingress)
            .match_requests(|r| {
                r.group_id() == Some(ALB_SG)
                    && only_tcp(r, 80).is_some_and(|p| {
                        p.user_id_group_pairs().is_empty()
                            && p.ip_ranges().len() == 1
                            && p.ip_ranges()[0].cidr_ip() == Some("0.0.0.0/0")
                    })
            })
            .then_compute_output(move |_| {
                record(&ops, "AuthorizeSecurityGroupIngress(alb)");
                AuthorizeSecurityGroupIngressOutput::builder()
                    .r#return(true)
                    .build()
            });
        let ops = self.ops.clone();
        let task_ingress = mock!(Ec2::authorize_security_group_ingress)
            .match_requests(|r| {
                r.group_id() == Some(TASK_SG)
                    && only_tcp(r, 80).is_some_and(|p| {
                        p.ip_ranges().is_empty()
                            && p.user_id_group_pairs().len() == 1
                            && p.user_id_group_pairs()[0].group_id() == Some(ALB_SG)
                    })
            })
            .then_compute_output(move |_| {
                record(&ops, "AuthorizeSecurityGroupIngress(task)");
                AuthorizeSecurityGroupIngressOutput::builder()
                    .r#return(true)
                    .build()
            });
        vec![no_groups, create_group, alb_ingress, task_ingress]
    }

    fn elbv2(&self) -> Vec<Rule> {
        // The listing: none of ours. By name (the listeners' read): none. By ARN (a wait
        // after create): active at once.
        let none_listed = mock!(Elbv2::describe_load_balancers)
            .match_requests(|r| r.names().is_empty() && r.load_balancer_arns().is_empty())
            .then_output(|| DescribeLoadBalancersOutput::builder().build());
        let no_lb = mock!(Elbv2::describe_load_balancers)
            .match_requests(|r| !r.names().is_empty())
            .then_error(|| {
                DescribeLoadBalancersError::LoadBalancerNotFoundException(
                    LoadBalancerNotFoundException::builder()
                        .meta(
                            ElbErrorMetadata::builder()
                                .code("LoadBalancerNotFound")
                                .build(),
                        )
                        .build(),
                )
            });
        let active = mock!(Elbv2::describe_load_balancers)
            .match_requests(|r| r.load_balancer_arns() == [LB_ARN])
            .then_output(|| {
                DescribeLoadBalancersOutput::builder()
                    .load_balancers(created_lb())
                    .build()
            });
        let no_tg = mock!(Elbv2::describe_target_groups)
            .match_requests(|r| r.names().is_empty() && r.load_balancer_arn().is_none())
            .then_output(|| DescribeTargetGroupsOutput::builder().build());

        let (id, ops, names) = (self.id.clone(), self.ops.clone(), self.names.clone());
        let create_lb = mock!(Elbv2::create_load_balancer)
            .match_requests(move |r| {
                let name = r.name().unwrap_or_default();
                r.scheme() == Some(&LoadBalancerSchemeEnum::InternetFacing)
                    && r.r#type() == Some(&LoadBalancerTypeEnum::Application)
                    && r.subnets() == PUBLIC_SUBNETS
                    && r.security_groups() == [ALB_SG]
                    && id.on(elb_pairs(r.tags()), name)
            })
            .then_compute_output(move |r| {
                record(&ops, "CreateLoadBalancer");
                names.lock().expect("names poisoned").insert(
                    "CreateLoadBalancer",
                    r.name().unwrap_or_default().to_owned(),
                );
                CreateLoadBalancerOutput::builder()
                    .load_balancers(created_lb())
                    .build()
            });

        let (id, ops, names) = (self.id.clone(), self.ops.clone(), self.names.clone());
        let create_tg = mock!(Elbv2::create_target_group)
            .match_requests(move |r| {
                let name = r.name().unwrap_or_default();
                r.target_type() == Some(&TargetTypeEnum::Ip)
                    && r.port() == Some(80)
                    && r.protocol() == Some(&ProtocolEnum::Http)
                    && r.vpc_id() == Some(VPC)
                    && id.on(elb_pairs(r.tags()), name)
            })
            .then_compute_output(move |r| {
                record(&ops, "CreateTargetGroup");
                names
                    .lock()
                    .expect("names poisoned")
                    .insert("CreateTargetGroup", r.name().unwrap_or_default().to_owned());
                CreateTargetGroupOutput::builder()
                    .target_groups(TargetGroup::builder().target_group_arn(TG_ARN).build())
                    .build()
            });

        let (id, ops) = (self.id.clone(), self.ops.clone());
        let create_listener = mock!(Elbv2::create_listener)
            .match_requests(move |r| {
                let forwards = r.default_actions().iter().any(|a| {
                    a.r#type() == Some(&ActionTypeEnum::Forward)
                        && a.target_group_arn() == Some(TG_ARN)
                });
                r.load_balancer_arn() == Some(LB_ARN)
                    && r.port() == Some(80)
                    && r.protocol() == Some(&ProtocolEnum::Http)
                    && forwards
                    && elb_pairs(r.tags()).any(|(k, v)| k == "ecs-modules:owner" && v == id.owner)
            })
            .then_compute_output(move |_| {
                record(&ops, "CreateListener");
                CreateListenerOutput::builder()
                    .listeners(Listener::builder().listener_arn(LISTENER_ARN).build())
                    .build()
            });
        // The new load balancer's attributes: invalid header fields dropped (ELB's default
        // passes them on), the rest ELB's defaults, set in one call.
        let ops = self.ops.clone();
        let attributes = mock!(Elbv2::modify_load_balancer_attributes)
            .match_requests(|r| {
                let set = |key: &str| {
                    r.attributes()
                        .iter()
                        .find(|a| a.key() == Some(key))
                        .and_then(|a| a.value())
                        .map(str::to_owned)
                };
                r.load_balancer_arn() == Some(LB_ARN)
                    && set("routing.http.drop_invalid_header_fields.enabled").as_deref()
                        == Some("true")
                    && set("deletion_protection.enabled").as_deref() == Some("false")
                    && set("idle_timeout.timeout_seconds").as_deref() == Some("60")
            })
            .then_compute_output(move |_| {
                record(&ops, "ModifyLoadBalancerAttributes");
                aws_sdk_elasticloadbalancingv2::operation::modify_load_balancer_attributes::ModifyLoadBalancerAttributesOutput::builder().build()
            });
        vec![
            none_listed,
            no_lb,
            active,
            no_tg,
            create_lb,
            create_tg,
            create_listener,
            attributes,
        ]
    }

    /// ECS rules; `first` come before the standard ones, so a test can answer a call its own
    /// way.
    fn ecs(&self, first: Vec<Rule>) -> Vec<Rule> {
        let service = self.service.clone();
        let no_service = mock!(Ecs::describe_services)
            .match_requests(move |r| {
                r.cluster() == Some("blog") && r.services() == [service.as_str()]
            })
            .then_output(|| DescribeServicesOutput::builder().build());
        // ECS's answer for a family with no ACTIVE revision; the message is what the crate
        // matches on, and it reads it from the metadata.
        let no_revision = mock!(Ecs::describe_task_definition).then_error(|| {
            DescribeTaskDefinitionError::ClientException(
                ClientException::builder()
                    .message("Unable to describe task definition.")
                    .meta(
                        EcsErrorMetadata::builder()
                            .code("ClientException")
                            .message("Unable to describe task definition.")
                            .build(),
                    )
                    .build(),
            )
        });
        let (family, ops) = (self.full_name.clone(), self.ops.clone());
        let register = mock!(Ecs::register_task_definition)
            .match_requests(move |r| r.family() == Some(family.as_str()))
            .then_compute_output(move |_| {
                record(&ops, "RegisterTaskDefinition");
                RegisterTaskDefinitionOutput::builder()
                    .task_definition(EcsTask::builder().task_definition_arn(TASK_ARN).build())
                    .build()
            });
        let (well_formed, ops) = (self.create_service_shape(), self.ops.clone());
        let create_service = mock!(Ecs::create_service)
            .match_requests(move |r| well_formed(r))
            .then_compute_output(move |_| {
                record(&ops, "CreateService");
                service_created()
            });
        first
            .into_iter()
            .chain([no_service, no_revision, register, create_service])
            .collect()
    }

    /// Whether a CreateService request is the one the inputs ask for: Fargate in the private
    /// subnets with no public address, in the tasks' group, behind the target group, with the
    /// circuit breaker and rollback on, tagged.
    fn create_service_shape(&self) -> impl Fn(&CreateServiceInput) -> bool + Send + Sync + 'static {
        let (id, service) = (self.id.clone(), self.service.clone());
        move |r| {
            let awsvpc = r
                .network_configuration()
                .and_then(|n| n.awsvpc_configuration());
            let lbs = r.load_balancers();
            let breaker = r
                .deployment_configuration()
                .and_then(|d| d.deployment_circuit_breaker());
            r.cluster() == Some("blog")
                && r.service_name() == Some(service.as_str())
                && r.task_definition() == Some(TASK_ARN)
                && r.launch_type() == Some(&EcsLaunchType::Fargate)
                && awsvpc.is_some_and(|a| {
                    a.subnets() == PRIVATE_SUBNETS
                        && a.security_groups() == [TASK_SG]
                        && a.assign_public_ip() == Some(&AssignPublicIp::Disabled)
                })
                && lbs.len() == 1
                && lbs[0].container_name() == Some("blog")
                && lbs[0].container_port() == Some(80)
                && lbs[0].target_group_arn() == Some(TG_ARN)
                && breaker.is_some_and(|b| b.enable() && b.rollback())
                && id.on(
                    r.tags()
                        .iter()
                        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
                    &service,
                )
        }
    }

    /// The clients, answering from these rules (ECS's `first` ahead of the standard ones).
    /// SDK retries are off: a retried mock error would silently consume the next response.
    fn aws(&self, ecs_first: Vec<Rule>) -> Aws {
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, &self.ec2(), |c| c
            .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()));
        let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &self.ecs(ecs_first), |c| c
            .retry_config(aws_sdk_ecs::config::retry::RetryConfig::disabled()));
        let elbv2 = mock_client!(
            aws_sdk_elasticloadbalancingv2,
            RuleMode::MatchAny,
            &self.elbv2(),
            |c| c.retry_config(
                aws_sdk_elasticloadbalancingv2::config::retry::RetryConfig::disabled()
            )
        );
        // No autoscaling: the service's scalable target is looked for, and is not there.
        let no_target = mock!(aws_sdk_applicationautoscaling::Client::describe_scalable_targets)
            .match_requests(|r| r.resource_ids().iter().all(|id| id.starts_with("service/blog/")))
            .then_output(|| {
                aws_sdk_applicationautoscaling::operation::describe_scalable_targets::DescribeScalableTargetsOutput::builder().build()
            });
        let appautoscaling = mock_client!(
            aws_sdk_applicationautoscaling,
            RuleMode::MatchAny,
            &[&no_target],
            |c| c.retry_config(
                aws_sdk_applicationautoscaling::config::retry::RetryConfig::disabled()
            )
        );
        // A rolling service: the infrastructure role of a strategy that shifts traffic is
        // looked for, and is not there.
        let no_role = mock!(aws_sdk_iam::Client::get_role)
            .match_requests(|r| r.role_name().is_some_and(|n| n.ends_with("-ecs-infra")))
            .then_error(|| {
                aws_sdk_iam::operation::get_role::GetRoleError::NoSuchEntityException(
                    aws_sdk_iam::types::error::NoSuchEntityException::builder()
                        .message("The role cannot be found.")
                        .meta(
                            aws_smithy_types::error::ErrorMetadata::builder()
                                .code("NoSuchEntity")
                                .build(),
                        )
                        .build(),
                )
            });
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, &[&no_role], |c| c
            .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled()));
        // No deployment alarms: those an earlier apply may have made are looked for.
        let no_alarms = mock!(aws_sdk_cloudwatch::Client::describe_alarms).then_output(|| {
            aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput::builder().build()
        });
        let cloudwatch = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, &[&no_alarms], |c| c
            .retry_config(aws_sdk_cloudwatch::config::retry::RetryConfig::disabled()));
        Aws::builder()
            .appautoscaling(appautoscaling)
            .cloudwatch(cloudwatch)
            .ec2(ec2)
            .ecs(ecs)
            .elbv2(elbv2)
            .iam(iam)
            .retry(Retry::fast())
            .build()
    }
}

/// The single TCP permission of an ingress request on `port`, when that is all it asks for.
fn only_tcp(
    r: &AuthorizeSecurityGroupIngressInput,
    port: i32,
) -> Option<&aws_sdk_ec2::types::IpPermission> {
    match r.ip_permissions() {
        [p] if p.ip_protocol() == Some("tcp")
            && p.from_port() == Some(port)
            && p.to_port() == Some(port) =>
        {
            Some(p)
        }
        _ => None,
    }
}

fn elb_pairs(
    tags: &[aws_sdk_elasticloadbalancingv2::types::Tag],
) -> impl Iterator<Item = (&str, &str)> {
    tags.iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
}

/// The load balancer as CreateLoadBalancer and a later describe report it: already active.
fn created_lb() -> ElbLoadBalancer {
    ElbLoadBalancer::builder()
        .load_balancer_arn(LB_ARN)
        .dns_name(LB_DNS)
        .canonical_hosted_zone_id("Z35SXDOTRQ7X7K")
        .state(
            LoadBalancerState::builder()
                .code(LoadBalancerStateEnum::Active)
                .build(),
        )
        .build()
}

fn service_created() -> CreateServiceOutput {
    CreateServiceOutput::builder()
        .service(EcsService::builder().service_arn(SERVICE_ARN).build())
        .build()
}

/// Asserts that `first` was called before `then`, each exactly once.
fn assert_before(ops: &[&str], first: &str, then: &str) {
    let at = |op: &str| {
        let hits: Vec<usize> = (0..ops.len()).filter(|&i| ops[i] == op).collect();
        assert_eq!(hits.len(), 1, "{op} once in {ops:?}");
        hits[0]
    };
    assert!(at(first) < at(then), "{first} before {then}: {ops:?}");
}

#[tokio::test]
async fn apply_creates_in_dependency_order_with_the_right_shapes() {
    let aws_state = Nothing::new("blog", "blog");
    let aws = aws_state.aws(Vec::new());

    let out = service("blog", "blog").apply(&aws).await.expect("apply");

    let ops = aws_state.ops();
    let mut made = ops.clone();
    made.sort_unstable();
    assert_eq!(
        made,
        [
            "AuthorizeSecurityGroupIngress(alb)",
            "AuthorizeSecurityGroupIngress(task)",
            "CreateListener",
            "CreateLoadBalancer",
            "CreateSecurityGroup(alb)",
            "CreateSecurityGroup(task)",
            "CreateService",
            "CreateTargetGroup",
            "ModifyLoadBalancerAttributes",
            "RegisterTaskDefinition",
        ],
        "exactly one of each, in the order {ops:?}"
    );
    // The load balancer is created in its security group, then given its attributes.
    assert_before(&ops, "CreateSecurityGroup(alb)", "CreateLoadBalancer");
    assert_before(&ops, "CreateLoadBalancer", "ModifyLoadBalancerAttributes");
    // A listener forwards to a target group on a load balancer: both must exist.
    assert_before(&ops, "CreateTargetGroup", "CreateListener");
    assert_before(&ops, "CreateLoadBalancer", "CreateListener");
    // AWS rejects a service whose target group has no load balancer yet.
    assert_before(&ops, "CreateListener", "CreateService");
    assert_before(&ops, "RegisterTaskDefinition", "CreateService");

    // The SDK-level counter agrees with the mocks: nothing else mutated.
    assert_eq!(aws.calls().report().mutating, ops.len() as u64);

    assert_eq!(
        out.service_url.as_deref(),
        Some(&*format!("http://{LB_DNS}"))
    );
    assert_eq!(out.lb_arn.as_deref(), Some(LB_ARN));
    assert_eq!(out.lb_target_group_arn.as_deref(), Some(TG_ARN));
    assert_eq!(out.lb_listener_arn.as_deref(), Some(LISTENER_ARN));
    assert_eq!(out.lb_security_group_id.as_deref(), Some(ALB_SG));
    assert_eq!(out.task_security_group_id.as_deref(), Some(TASK_SG));
    assert_eq!(out.task_definition_arn, TASK_ARN);
    assert_eq!(out.service_arn, SERVICE_ARN);
}

#[tokio::test]
async fn an_unassumable_role_is_retried() {
    let aws_state = Nothing::new("blog", "blog");
    // IAM propagation: a just-made execution role is refused for a while, then accepted.
    let not_yet = mock!(Ecs::create_service)
        .match_requests(aws_state.create_service_shape())
        .sequence()
        .error(|| {
            let message = "Unable to assume role and validate the specified targetGroupArn. \
                           Please verify that the ECS service role being passed has the proper \
                           permissions.";
            CreateServiceError::InvalidParameterException(
                InvalidParameterException::builder()
                    .message(message)
                    .meta(
                        EcsErrorMetadata::builder()
                            .code("InvalidParameterException")
                            .message(message)
                            .build(),
                    )
                    .build(),
            )
        })
        .output(service_created)
        .build();
    let aws = aws_state.aws(vec![not_yet.clone()]);

    let out = service("blog", "blog").apply(&aws).await.expect("apply");

    assert_eq!(out.service_arn, SERVICE_ARN);
    assert_eq!(not_yet.num_calls(), 2, "refused once, then accepted");
    assert_eq!(aws.calls().report().by_operation["CreateService"], 2);
}

/// What AWS receives for a service on Fargate Spot, whatever an emulator makes of it: the
/// strategy, and no launch type (ECS refuses both).
#[tokio::test]
async fn a_spot_service_is_created_with_its_strategy_and_no_launch_type() {
    let aws_state = Nothing::new("blog", "blog");
    let spot = mock!(Ecs::create_service)
        .match_requests(|r| {
            let items: Vec<(&str, i32, i32)> = r
                .capacity_provider_strategy()
                .iter()
                .map(|i| (i.capacity_provider(), i.weight(), i.base()))
                .collect();
            r.launch_type().is_none()
                && items == [("FARGATE", 1, 1), ("FARGATE_SPOT", 3, 0)]
                && r.network_configuration().is_some()
        })
        .then_output(service_created);
    let aws = aws_state.aws(vec![spot.clone()]);

    service_builder("blog", "blog")
        .capacity_provider_strategy([
            ecs_service::StrategyItem::new("FARGATE", 1).base(1),
            ecs_service::StrategyItem::new("FARGATE_SPOT", 3),
        ])
        .build()
        .expect("valid inputs")
        .apply(&aws)
        .await
        .expect("apply");

    assert_eq!(spot.num_calls(), 1);
}

#[tokio::test]
async fn long_names_are_shortened_deterministically() {
    let aws_state = Nothing::new("production-environment", "frontend-service");
    let aws = aws_state.aws(Vec::new());

    service("production-environment", "frontend-service")
        .apply(&aws)
        .await
        .expect("apply");

    let expected = ecs_service::names::shorten("production-environment-frontend-service", 32);
    assert!(expected.len() <= 32, "{expected}");
    for operation in ["CreateLoadBalancer", "CreateTargetGroup"] {
        let name = aws_state.name_sent(operation);
        assert!(name.len() <= 32, "{operation} name {name:?} is too long");
        assert_eq!(name, expected, "{operation}");
    }
}

#[test]
fn bad_inputs_make_no_call() {
    // build() names each flawed field; it runs before any AWS call, so no client is needed.
    let fargate_bridge = || service_builder("blog", "blog").task_network_mode(NetworkMode::Bridge);
    let https_without_certificate = || {
        let mut lb = public_lb();
        lb.listener.protocol = ListenerProtocol::Https;
        lb.listener.port = 443;
        service_builder("blog", "blog").load_balancer(lb)
    };
    let missing_container = || {
        let mut lb = public_lb();
        lb.target_group.container_name = Some("web".into());
        service_builder("blog", "blog").load_balancer(lb)
    };
    let fields = |builder: ecs_service::ServiceBuilder| -> Vec<String> {
        let invalid = builder.build().expect_err("invalid inputs");
        invalid.problems.into_iter().map(|p| p.field).collect()
    };

    assert!(fields(fargate_bridge()).contains(&"task_network_mode".to_owned()));
    assert_eq!(
        fields(https_without_certificate()),
        ["load_balancer.listener.certificate_arn"]
    );
    assert_eq!(
        fields(missing_container()),
        ["load_balancer.target_group.container_name"]
    );

    // Together, all three are reported at once, each once.
    let mut https = public_lb();
    https.listener.protocol = ListenerProtocol::Https;
    https.target_group.container_name = Some("web".into());
    let found = fields(
        service_builder("blog", "blog")
            .task_network_mode(NetworkMode::Bridge)
            .load_balancer(https),
    );
    assert_eq!(
        found,
        [
            "task_network_mode",
            "load_balancer.listener.certificate_arn",
            "load_balancer.target_group.container_name",
        ]
    );
}

//! Unit tests of the module against aws-smithy-mocks: the launch template's contents, the
//! retry of a new instance profile not yet visible to Auto Scaling, and the update path.
//!
//! Every rule is `RuleMode::MatchAny`; the create rules match only well-formed requests, so a
//! request the code gets wrong matches no rule and the mock panics on the spot.

use aws_sdk_autoscaling::error::ErrorMetadata as AsgErrorMetadata;
use aws_sdk_autoscaling::operation::create_auto_scaling_group::{
    CreateAutoScalingGroupError, CreateAutoScalingGroupOutput,
};
use aws_sdk_autoscaling::operation::describe_auto_scaling_groups::DescribeAutoScalingGroupsOutput;
use aws_sdk_autoscaling::operation::start_instance_refresh::StartInstanceRefreshOutput;
use aws_sdk_autoscaling::operation::update_auto_scaling_group::UpdateAutoScalingGroupOutput;
use aws_sdk_autoscaling::types::{AutoScalingGroup, LaunchTemplateSpecification, TagDescription};
use aws_sdk_autoscaling::Client as Asg;
use aws_sdk_cloudwatchlogs::operation::create_log_group::CreateLogGroupOutput;
use aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput;
use aws_sdk_cloudwatchlogs::operation::put_retention_policy::PutRetentionPolicyOutput;
use aws_sdk_cloudwatchlogs::Client as Logs;
use aws_sdk_ec2::operation::authorize_security_group_ingress::AuthorizeSecurityGroupIngressOutput;
use aws_sdk_ec2::operation::create_launch_template::CreateLaunchTemplateOutput;
use aws_sdk_ec2::operation::create_launch_template_version::CreateLaunchTemplateVersionOutput;
use aws_sdk_ec2::operation::create_security_group::CreateSecurityGroupOutput;
use aws_sdk_ec2::operation::describe_launch_template_versions::DescribeLaunchTemplateVersionsOutput;
use aws_sdk_ec2::operation::describe_launch_templates::DescribeLaunchTemplatesOutput;
use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
use aws_sdk_ec2::types::{
    IpPermission, IpRange, LaunchTemplate, LaunchTemplateBlockDeviceMapping,
    LaunchTemplateEbsBlockDevice, LaunchTemplateHttpTokensState,
    LaunchTemplateIamInstanceProfileSpecification, LaunchTemplateInstanceMetadataOptions,
    LaunchTemplateInstanceNetworkInterfaceSpecification, LaunchTemplateVersion, ResourceType,
    ResponseLaunchTemplateData, SecurityGroup,
};
use aws_sdk_ec2::Client as Ec2;
use aws_sdk_ecs::operation::describe_capacity_providers::DescribeCapacityProvidersOutput;
use aws_sdk_ecs::Client as Ecs;
use aws_sdk_iam::error::ErrorMetadata as IamErrorMetadata;
use aws_sdk_iam::operation::add_role_to_instance_profile::AddRoleToInstanceProfileOutput;
use aws_sdk_iam::operation::attach_role_policy::AttachRolePolicyOutput;
use aws_sdk_iam::operation::create_instance_profile::CreateInstanceProfileOutput;
use aws_sdk_iam::operation::create_role::CreateRoleOutput;
use aws_sdk_iam::operation::get_instance_profile::{
    GetInstanceProfileError, GetInstanceProfileOutput,
};
use aws_sdk_iam::operation::get_role::{GetRoleError, GetRoleOutput};
use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
use aws_sdk_iam::types::{AttachedPolicy, InstanceProfile, Role};
use aws_sdk_iam::Client as Iam;
use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
use aws_sdk_ssm::types::Parameter;
use aws_sdk_ssm::Client as Ssm;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use converge::{Action, Aws, Retry};
use ecs_instances::{Instances, AMI_PARAMETER};

const AMI: &str = "ami-0123456789abcdef0";
const OWNER: &str = "ecs-modules:owner";
const PROFILE_ARN: &str = "arn:aws:iam::123456789012:instance-profile/blog-ecs-instance-profile";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/blog-ecs-instance-role";
const POLICY: &str = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role";
const ASG_ARN: &str = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1:autoScalingGroupName/blog-ecs-asg";

#[derive(Default)]
struct Rules {
    ec2: Vec<Rule>,
    asg: Vec<Rule>,
    iam: Vec<Rule>,
    logs: Vec<Rule>,
    ecs: Vec<Rule>,
}

const LOG_GROUP: &str = "/ecs/blog/ecs-agent";
const LOG_GROUP_ARN: &str = "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/blog/ecs-agent:*";

fn agent_log_group() -> DescribeLogGroupsOutput {
    DescribeLogGroupsOutput::builder()
        .log_groups(
            aws_sdk_cloudwatchlogs::types::LogGroup::builder()
                .log_group_name(LOG_GROUP)
                .arn(LOG_GROUP_ARN)
                .retention_in_days(30)
                .build(),
        )
        .build()
}

fn aws(r: &Rules) -> Aws {
    let ssm_rule = mock!(Ssm::get_parameter)
        .match_requests(|r| r.name() == Some(AMI_PARAMETER))
        .then_output(|| {
            GetParameterOutput::builder()
                .parameter(Parameter::builder().value(AMI).build())
                .build()
        });
    let ssm = mock_client!(aws_sdk_ssm, RuleMode::MatchAny, &[ssm_rule], |c| c
        .retry_config(aws_sdk_ssm::config::retry::RetryConfig::disabled()));
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, &r.ec2, |c| c
        .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()));
    let asg = mock_client!(aws_sdk_autoscaling, RuleMode::MatchAny, &r.asg, |c| c
        .retry_config(aws_sdk_autoscaling::config::retry::RetryConfig::disabled()));
    let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, &r.iam, |c| c
        .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled()));
    let logs = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, &r.logs, |c| c
        .retry_config(aws_sdk_cloudwatchlogs::config::retry::RetryConfig::disabled()));
    // No capacity provider, and a cluster without providers, unless a test says otherwise:
    // both kinds are read on every run (a provider turned off must still go).
    let no_provider = mock!(Ecs::describe_capacity_providers)
        .then_output(|| DescribeCapacityProvidersOutput::builder().build());
    let bare_cluster = mock!(Ecs::describe_clusters).then_output(|| cluster(&[]));
    let ecs_rules: Vec<Rule> = r
        .ecs
        .iter()
        .cloned()
        .chain([no_provider, bare_cluster])
        .collect();
    let ecs = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &ecs_rules, |c| c
        .retry_config(aws_sdk_ecs::config::retry::RetryConfig::disabled()));
    Aws::builder()
        .ecs(ecs)
        .ec2(ec2)
        .autoscaling(asg)
        .iam(iam)
        .ssm(ssm)
        .logs(logs)
        .retry(Retry::fast())
        .build()
}

fn blog() -> Instances {
    Instances::builder()
        .environment("blog")
        .cluster("blog-cluster")
        .network(vpc::Network::ids("vpc-1", "10.0.0.0/16"))
        .subnets(["subnet-a", "subnet-b"])
        .build()
        .unwrap()
}

fn decode(b64: &str) -> String {
    String::from_utf8(aws_smithy_types::base64::decode(b64).unwrap()).unwrap()
}

fn no_such_entity() -> IamErrorMetadata {
    IamErrorMetadata::builder()
        .code("NoSuchEntity")
        .message("not found")
        .build()
}

/// The IAM and Logs rules of a fresh apply.
fn fresh_iam_and_logs() -> (Vec<Rule>, Vec<Rule>) {
    let iam = vec![
        mock!(Iam::get_role).then_error(|| GetRoleError::generic(no_such_entity())),
        mock!(Iam::get_instance_profile)
            .then_error(|| GetInstanceProfileError::generic(no_such_entity())),
        mock!(Iam::create_role)
            .match_requests(|r| {
                r.role_name() == Some("blog-ecs-instance-role")
                    && r.assume_role_policy_document()
                        .is_some_and(|d| d.contains("ec2.amazonaws.com"))
                    && r.tags()
                        .iter()
                        .any(|t| t.key() == OWNER && t.value() == "ecs-instances/blog")
            })
            .then_output(|| {
                CreateRoleOutput::builder()
                    .role(
                        Role::builder()
                            .role_name("blog-ecs-instance-role")
                            .arn(ROLE_ARN)
                            .path("/")
                            .role_id("r1")
                            .create_date(aws_smithy_types::DateTime::from_secs(0))
                            .build()
                            .unwrap(),
                    )
                    .build()
            }),
        mock!(Iam::attach_role_policy)
            .match_requests(|r| r.policy_arn() == Some(POLICY))
            .then_output(|| AttachRolePolicyOutput::builder().build()),
        mock!(Iam::create_instance_profile)
            .match_requests(|r| {
                r.instance_profile_name() == Some("blog-ecs-instance-profile")
                    && r.tags().iter().any(|t| t.key() == OWNER)
            })
            .then_output(|| {
                CreateInstanceProfileOutput::builder()
                    .instance_profile(profile(false))
                    .build()
            }),
        mock!(Iam::add_role_to_instance_profile)
            .match_requests(|r| r.role_name() == Some("blog-ecs-instance-role"))
            .then_output(|| AddRoleToInstanceProfileOutput::builder().build()),
    ];
    let logs = vec![
        // Read for the plan, read again by the log group block, listed after the create.
        mock!(Logs::describe_log_groups)
            .sequence()
            .output(|| DescribeLogGroupsOutput::builder().build())
            .times(2)
            .output(agent_log_group)
            .repeatedly()
            .build(),
        mock!(Logs::create_log_group)
            .match_requests(|r| {
                r.log_group_name() == Some(LOG_GROUP)
                    && r.tags()
                        .is_some_and(|t| t.get(OWNER).map(String::as_str) == Some("log-group/blog"))
            })
            .then_output(|| CreateLogGroupOutput::builder().build()),
        mock!(Logs::put_retention_policy)
            .match_requests(|r| {
                r.log_group_name() == Some(LOG_GROUP) && r.retention_in_days() == Some(30)
            })
            .then_output(|| PutRetentionPolicyOutput::builder().build()),
    ];
    (iam, logs)
}

fn profile(with_role: bool) -> InstanceProfile {
    let mut b = InstanceProfile::builder()
        .instance_profile_name("blog-ecs-instance-profile")
        .arn(PROFILE_ARN)
        .path("/")
        .instance_profile_id("ip1")
        .create_date(aws_smithy_types::DateTime::from_secs(0))
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key(OWNER)
                .value("ecs-instances/blog")
                .build()
                .unwrap(),
        );
    if with_role {
        b = b.roles(
            Role::builder()
                .role_name("blog-ecs-instance-role")
                .arn(ROLE_ARN)
                .path("/")
                .role_id("r1")
                .create_date(aws_smithy_types::DateTime::from_secs(0))
                .build()
                .unwrap(),
        );
    } else {
        b = b.set_roles(Some(Vec::new()));
    }
    b.build().unwrap()
}

/// A launch template request as it must be: IMDSv2, no public IP on a device-0 interface with
/// the security group, an encrypted root volume, user data joining the cluster.
fn well_formed(data: Option<&aws_sdk_ec2::types::RequestLaunchTemplateData>) -> bool {
    let Some(data) = data else { return false };
    let nic = data.network_interfaces().first();
    let root = data.block_device_mappings().first();
    let user_data = data.user_data().map(decode).unwrap_or_default();
    data.image_id() == Some(AMI)
        && data.iam_instance_profile().and_then(|p| p.arn()) == Some(PROFILE_ARN)
        && data.metadata_options().and_then(|m| m.http_tokens())
            == Some(&LaunchTemplateHttpTokensState::Required)
        && nic.is_some_and(|n| {
            n.associate_public_ip_address() == Some(false)
                && n.device_index() == Some(0)
                && n.groups() == ["sg-1"]
        })
        && root.is_some_and(|b| {
            b.device_name() == Some("/dev/xvda")
                && b.ebs().and_then(|e| e.encrypted()) == Some(true)
        })
        && user_data.contains("ECS_CLUSTER=blog-cluster\n")
        && user_data.contains("ECS_AVAILABLE_LOGGING_DRIVERS=[\"json-file\",\"awslogs\"]")
        && user_data.contains("/etc/ecs/ecs.config")
        && data.key_name().is_none()
}

fn group(version: &str) -> AutoScalingGroup {
    AutoScalingGroup::builder()
        .auto_scaling_group_name("blog-ecs-asg")
        .auto_scaling_group_arn(ASG_ARN)
        .launch_template(
            LaunchTemplateSpecification::builder()
                .launch_template_id("lt-1")
                .version(version)
                .build(),
        )
        .min_size(1)
        .max_size(2)
        .desired_capacity(1)
        .vpc_zone_identifier("subnet-a,subnet-b")
        .tags(
            TagDescription::builder()
                .key(OWNER)
                .value("ecs-instances/blog")
                .build(),
        )
        .build()
}

#[tokio::test]
async fn fresh_apply_builds_a_hardened_launch_template_and_retries_the_profile() {
    let (iam, logs) = fresh_iam_and_logs();
    let create_template = mock!(Ec2::create_launch_template)
        .match_requests(|r| {
            r.launch_template_name() == Some("blog-ecs-instances")
                && well_formed(r.launch_template_data())
                && r.tag_specifications().iter().any(|s| {
                    s.resource_type() == Some(&ResourceType::LaunchTemplate)
                        && s.tags().iter().any(|t| t.key() == Some(OWNER))
                })
        })
        .then_output(|| {
            CreateLaunchTemplateOutput::builder()
                .launch_template(
                    LaunchTemplate::builder()
                        .launch_template_id("lt-1")
                        .latest_version_number(1)
                        .build(),
                )
                .build()
        });
    let ec2 = vec![
        mock!(Ec2::describe_security_groups)
            .then_output(|| DescribeSecurityGroupsOutput::builder().build()),
        mock!(Ec2::create_security_group)
            .match_requests(|r| r.vpc_id() == Some("vpc-1") && !r.tag_specifications().is_empty())
            .then_output(|| {
                CreateSecurityGroupOutput::builder()
                    .group_id("sg-1")
                    .build()
            }),
        mock!(Ec2::authorize_security_group_ingress)
            .match_requests(|r| {
                r.ip_permissions().iter().any(|p| {
                    p.ip_protocol() == Some("tcp")
                        && p.ip_ranges()
                            .iter()
                            .any(|i| i.cidr_ip() == Some("10.0.0.0/16"))
                })
            })
            .then_output(|| AuthorizeSecurityGroupIngressOutput::builder().build()),
        mock!(Ec2::describe_launch_templates)
            .then_output(|| DescribeLaunchTemplatesOutput::builder().build()),
        create_template.clone(),
    ];
    // The new profile is not yet visible to Auto Scaling twice, then it is.
    let not_ready = || {
        create_group_error("ValidationError", "Invalid IamInstanceProfile: arn:aws:iam::123456789012:instance-profile/blog-ecs-instance-profile")
    };
    let create_group = mock!(Asg::create_auto_scaling_group)
        .match_requests(|r| {
            r.vpc_zone_identifier() == Some("subnet-a,subnet-b")
                && r.launch_template().and_then(|l| l.version()) == Some("1")
                && (r.min_size(), r.max_size(), r.desired_capacity()) == (Some(1), Some(2), Some(1))
                && r.tags()
                    .iter()
                    .all(|t| t.propagate_at_launch() == Some(true))
                && r.tags().iter().any(|t| t.key() == Some(OWNER))
        })
        .sequence()
        .error(not_ready)
        .error(not_ready)
        .output(|| CreateAutoScalingGroupOutput::builder().build())
        .build();
    let describe_group = mock!(Asg::describe_auto_scaling_groups)
        .sequence()
        .output(|| DescribeAutoScalingGroupsOutput::builder().build())
        .output(|| {
            DescribeAutoScalingGroupsOutput::builder()
                .auto_scaling_groups(group("1"))
                .build()
        })
        .repeatedly()
        .build();
    let rules = Rules {
        ec2,
        asg: vec![create_group.clone(), describe_group],
        iam,
        logs,
        ecs: vec![],
    };
    let aws = aws(&rules);

    let out = blog().apply(&aws).await.unwrap();

    assert_eq!(create_template.num_calls(), 1);
    assert_eq!(create_group.num_calls(), 3);
    assert_eq!(out.asg_arn, ASG_ARN);
    assert_eq!(out.launch_template_id, "lt-1");
    assert_eq!(out.launch_template_version, "1");
    assert_eq!(out.instance_profile_arn, PROFILE_ARN);
    assert_eq!(out.instance_role_arn, ROLE_ARN);
    assert_eq!(out.security_group_id, "sg-1");
    assert_eq!(out.service_role_arn, None);
}

/// Auto Scaling's answer to CreateAutoScalingGroup with this error.
fn create_group_error(code: &str, message: &str) -> CreateAutoScalingGroupError {
    CreateAutoScalingGroupError::generic(
        AsgErrorMetadata::builder()
            .code(code)
            .message(message)
            .build(),
    )
}

/// EC2 with nothing of ours yet: the security group and the launch template are made.
fn fresh_ec2() -> Vec<Rule> {
    vec![
        mock!(Ec2::describe_security_groups)
            .then_output(|| DescribeSecurityGroupsOutput::builder().build()),
        mock!(Ec2::create_security_group).then_output(|| {
            CreateSecurityGroupOutput::builder()
                .group_id("sg-1")
                .build()
        }),
        mock!(Ec2::authorize_security_group_ingress)
            .then_output(|| AuthorizeSecurityGroupIngressOutput::builder().build()),
        mock!(Ec2::describe_launch_templates)
            .then_output(|| DescribeLaunchTemplatesOutput::builder().build()),
        mock!(Ec2::create_launch_template).then_output(|| {
            CreateLaunchTemplateOutput::builder()
                .launch_template(
                    LaunchTemplate::builder()
                        .launch_template_id("lt-1")
                        .latest_version_number(1)
                        .build(),
                )
                .build()
        }),
    ]
}

/// A run cut off right after CreateAutoScalingGroup left a group that the next run's read
/// missed (Auto Scaling's reads lag its creates): the create's `AlreadyExists` finds it by its
/// ownership tag and takes it, without a second group or an error.
#[tokio::test]
async fn a_group_made_by_a_cut_off_run_and_missed_by_the_read_is_taken_on_already_exists() {
    let (iam, logs) = fresh_iam_and_logs();
    let ec2 = fresh_ec2();
    let exists = mock!(Asg::create_auto_scaling_group).then_error(|| {
        create_group_error("AlreadyExists", "AutoScalingGroup by this name already exists - A group with the name blog-ecs-asg already exists")
    });
    let rules = Rules {
        ec2,
        asg: vec![
            exists.clone(),
            // The stack's read misses the group; the read after the create sees it.
            mock!(Asg::describe_auto_scaling_groups)
                .sequence()
                .output(|| DescribeAutoScalingGroupsOutput::builder().build())
                .output(|| {
                    DescribeAutoScalingGroupsOutput::builder()
                        .auto_scaling_groups(group("1"))
                        .build()
                })
                .repeatedly()
                .build(),
        ],
        iam,
        logs,
        ecs: vec![],
    };
    let aws = aws(&rules);

    let out = blog().apply(&aws).await.unwrap();
    assert_eq!(exists.num_calls(), 1);
    assert_eq!(out.asg_arn, ASG_ARN);
    // It was as wanted: nothing to update.
    assert_eq!(
        aws.calls()
            .report()
            .by_operation
            .get("UpdateAutoScalingGroup"),
        None
    );
}

#[tokio::test]
async fn profile_errors_are_retried_only_for_a_bounded_time() {
    let (iam, logs) = fresh_iam_and_logs();
    let ec2 = fresh_ec2();
    let never_ready = mock!(Asg::create_auto_scaling_group).then_error(|| {
        create_group_error(
            "ValidationError",
            "Invalid IamInstanceProfile: blog-ecs-instance-profile",
        )
    });
    let rules = Rules {
        ec2,
        asg: vec![
            never_ready.clone(),
            mock!(Asg::describe_auto_scaling_groups)
                .then_output(|| DescribeAutoScalingGroupsOutput::builder().build()),
        ],
        iam,
        logs,
        ecs: vec![],
    };
    let aws = aws(&rules);

    let err = blog().apply(&aws).await.unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));
    // The error says what failed and what was left behind.
    let converge::Error::Stopped {
        failed,
        done,
        remaining,
        ..
    } = &err
    else {
        panic!("{err}");
    };
    assert_eq!(failed.kind, "aws_autoscaling_group");
    let made: Vec<&str> = done.iter().map(|a| a.kind.as_str()).collect();
    assert!(made.contains(&"aws_launch_template"), "{made:?}");
    assert_eq!(remaining.len(), 1, "{remaining:?}");
    assert!(never_ready.num_calls() > 1);
}

/// Everything exists as a first apply left it, on template version 1 (`t3.small`); the
/// extra rules come first, so they can answer differently.
fn existing(extra: Rules) -> Aws {
    let sg = SecurityGroup::builder()
        .group_id("sg-1")
        .vpc_id("vpc-1")
        .description("ECS instances: all TCP from the VPC")
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("Name")
                .value("blog-ecs-instances-sg")
                .build(),
        )
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key(OWNER)
                .value("ecs-instances/blog")
                .build(),
        )
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(0)
                .to_port(65535)
                .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/16").build())
                .build(),
        )
        .build();
    let data = ResponseLaunchTemplateData::builder()
        .image_id(AMI)
        .instance_type("t3.small".into())
        .iam_instance_profile(
            LaunchTemplateIamInstanceProfileSpecification::builder()
                .arn(PROFILE_ARN)
                .build(),
        )
        .network_interfaces(
            LaunchTemplateInstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .associate_public_ip_address(false)
                .groups("sg-1")
                .build(),
        )
        .metadata_options(
            LaunchTemplateInstanceMetadataOptions::builder()
                .http_tokens(LaunchTemplateHttpTokensState::Required)
                .build(),
        )
        .block_device_mappings(
            LaunchTemplateBlockDeviceMapping::builder()
                .device_name("/dev/xvda")
                .ebs(
                    LaunchTemplateEbsBlockDevice::builder()
                        .encrypted(true)
                        .volume_size(30)
                        .build(),
                )
                .build(),
        )
        .user_data(aws_smithy_types::base64::encode(
            ecs_instances::default_user_data("blog-cluster"),
        ))
        .build();
    let ec2 = vec![
        mock!(Ec2::describe_security_groups).then_output(move || {
            DescribeSecurityGroupsOutput::builder()
                .security_groups(sg.clone())
                .build()
        }),
        mock!(Ec2::describe_launch_templates).then_output(|| {
            DescribeLaunchTemplatesOutput::builder()
                .launch_templates(
                    LaunchTemplate::builder()
                        .launch_template_id("lt-1")
                        .launch_template_name("blog-ecs-instances")
                        .tags(
                            aws_sdk_ec2::types::Tag::builder()
                                .key(OWNER)
                                .value("ecs-instances/blog")
                                .build(),
                        )
                        .build(),
                )
                .build()
        }),
        mock!(Ec2::describe_launch_template_versions).then_output(move || {
            DescribeLaunchTemplateVersionsOutput::builder()
                .launch_template_versions(
                    LaunchTemplateVersion::builder()
                        .version_number(1)
                        .launch_template_data(data.clone())
                        .build(),
                )
                .build()
        }),
    ];
    let ec2 = [extra.ec2, ec2].concat();
    let asg = [
        extra.asg,
        vec![mock!(Asg::describe_auto_scaling_groups).then_output(|| {
            DescribeAutoScalingGroupsOutput::builder()
                .auto_scaling_groups(group("1"))
                .build()
        })],
    ]
    .concat();
    let role = Role::builder()
        .role_name("blog-ecs-instance-role")
        .arn(ROLE_ARN)
        .path("/")
        .role_id("r1")
        .create_date(aws_smithy_types::DateTime::from_secs(0))
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key(OWNER)
                .value("ecs-instances/blog")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let iam = vec![
        mock!(Iam::get_role)
            .then_output(move || GetRoleOutput::builder().role(role.clone()).build()),
        mock!(Iam::list_attached_role_policies).then_output(|| {
            ListAttachedRolePoliciesOutput::builder()
                .attached_policies(AttachedPolicy::builder().policy_arn(POLICY).build())
                .build()
        }),
        mock!(Iam::get_instance_profile).then_output(|| {
            GetInstanceProfileOutput::builder()
                .instance_profile(profile(true))
                .build()
        }),
    ];
    let logs = vec![
        mock!(Logs::describe_log_groups).then_output(agent_log_group),
        mock!(Logs::list_tags_for_resource).then_output(|| {
            aws_sdk_cloudwatchlogs::operation::list_tags_for_resource::ListTagsForResourceOutput::builder()
                .tags(OWNER, "log-group/blog")
                .build()
        }),
    ];
    aws(&Rules {
        ec2,
        asg,
        iam: [extra.iam, iam].concat(),
        logs: [extra.logs, logs].concat(),
        ecs: extra.ecs,
    })
}

#[tokio::test]
async fn unchanged_inputs_make_no_mutating_call() {
    let aws = existing(Rules::default());
    let plan = blog().plan(&aws).await.unwrap();
    assert!(plan.is_empty(), "{plan}");
    let out = blog().apply(&aws).await.unwrap();
    assert_eq!(out.launch_template_version, "1");
    assert_eq!(aws.calls().report().mutating, 0);
}

#[tokio::test]
async fn a_new_instance_type_makes_a_template_version_and_moves_the_group() {
    let new_version = mock!(Ec2::create_launch_template_version)
        .match_requests(|r| {
            r.launch_template_id() == Some("lt-1")
                && r.source_version().is_none()
                && well_formed(r.launch_template_data())
                && r.launch_template_data()
                    .and_then(|d| d.instance_type())
                    .map(|t| t.as_str())
                    == Some("m7g.large")
        })
        .then_output(|| {
            CreateLaunchTemplateVersionOutput::builder()
                .launch_template_version(LaunchTemplateVersion::builder().version_number(2).build())
                .build()
        });
    let update = mock!(Asg::update_auto_scaling_group)
        .match_requests(|r| {
            r.launch_template().and_then(|l| l.version()) == Some("2") && r.max_size() == Some(4)
        })
        .then_output(|| UpdateAutoScalingGroupOutput::builder().build());
    let aws = existing(Rules {
        ec2: vec![new_version.clone()],
        asg: vec![update.clone()],
        ..Rules::default()
    });
    let bigger = Instances::builder()
        .environment("blog")
        .cluster("blog-cluster")
        .network(vpc::Network::ids("vpc-1", "10.0.0.0/16"))
        .subnets(["subnet-b", "subnet-a"])
        .instance_type("m7g.large")
        .asg_max(4)
        .build()
        .unwrap();

    let plan = bigger.plan(&aws).await.unwrap();
    let template = plan
        .find("aws_launch_template", "blog-ecs-instances")
        .unwrap();
    assert_eq!(template.action, Action::Update);
    let fields: Vec<&str> = template.diffs.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, ["latest_version", "instance_type"]);
    let group = plan.find("aws_autoscaling_group", "blog-ecs-asg").unwrap();
    let fields: Vec<&str> = group.diffs.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, ["launch_template.version", "max_size"], "{plan}");
    assert_eq!(aws.calls().report().mutating, 0);

    let out = bigger.apply(&aws).await.unwrap();
    assert_eq!(out.launch_template_version, "2");
    assert_eq!((new_version.num_calls(), update.num_calls()), (1, 1));
}

#[tokio::test]
async fn instance_refresh_starts_only_when_the_template_changes() {
    let new_version = mock!(Ec2::create_launch_template_version).then_output(|| {
        CreateLaunchTemplateVersionOutput::builder()
            .launch_template_version(LaunchTemplateVersion::builder().version_number(2).build())
            .build()
    });
    let update = mock!(Asg::update_auto_scaling_group)
        .match_requests(|r| r.launch_template().and_then(|l| l.version()) == Some("2"))
        .then_output(|| UpdateAutoScalingGroupOutput::builder().build());
    let refresh = mock!(Asg::start_instance_refresh)
        .match_requests(|r| r.auto_scaling_group_name() == Some("blog-ecs-asg"))
        .then_output(|| StartInstanceRefreshOutput::builder().build());
    let aws = existing(Rules {
        ec2: vec![new_version.clone()],
        asg: vec![update.clone(), refresh.clone()],
        ..Rules::default()
    });
    let with_refresh = |ami: &str| {
        Instances::builder()
            .environment("blog")
            .cluster("blog-cluster")
            .network(vpc::Network::ids("vpc-1", "10.0.0.0/16"))
            .subnets(["subnet-a", "subnet-b"])
            .ami_id(ami)
            .instance_refresh(true)
            .build()
            .unwrap()
    };

    with_refresh(AMI).apply(&aws).await.unwrap();
    assert_eq!(refresh.num_calls(), 0);
    assert_eq!(aws.calls().report().mutating, 0);

    let out = with_refresh("ami-0fedcba9876543210")
        .apply(&aws)
        .await
        .unwrap();
    assert_eq!(out.launch_template_version, "2");
    assert_eq!(
        (
            new_version.num_calls(),
            update.num_calls(),
            refresh.num_calls()
        ),
        (1, 1, 1)
    );
}

const PROVIDER_ARN: &str =
    "arn:aws:ecs:us-east-1:123456789012:capacity-provider/blog-ecs-instances";

fn provider(target_capacity: i32) -> aws_sdk_ecs::types::CapacityProvider {
    aws_sdk_ecs::types::CapacityProvider::builder()
        .name("blog-ecs-instances")
        .capacity_provider_arn(PROVIDER_ARN)
        .status(aws_sdk_ecs::types::CapacityProviderStatus::Active)
        .auto_scaling_group_provider(
            aws_sdk_ecs::types::AutoScalingGroupProvider::builder()
                .auto_scaling_group_arn(ASG_ARN)
                .managed_scaling(
                    aws_sdk_ecs::types::ManagedScaling::builder()
                        .status(aws_sdk_ecs::types::ManagedScalingStatus::Enabled)
                        .target_capacity(target_capacity)
                        .minimum_scaling_step_size(1)
                        .maximum_scaling_step_size(10_000)
                        .instance_warmup_period(300)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key(OWNER)
                .value("ecs-instances/blog")
                .build(),
        )
        .build()
}

/// The cluster with FARGATE as its default strategy, and `providers`.
fn cluster(
    providers: &[&str],
) -> aws_sdk_ecs::operation::describe_clusters::DescribeClustersOutput {
    aws_sdk_ecs::operation::describe_clusters::DescribeClustersOutput::builder()
        .clusters(
            aws_sdk_ecs::types::Cluster::builder()
                .cluster_name("blog-cluster")
                .status("ACTIVE")
                .set_capacity_providers(Some(providers.iter().map(|p| p.to_string()).collect()))
                .default_capacity_provider_strategy(
                    aws_sdk_ecs::types::CapacityProviderStrategyItem::builder()
                        .capacity_provider("FARGATE")
                        .weight(1)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .build()
}

fn keeps_fargate_strategy(
    r: &aws_sdk_ecs::operation::put_cluster_capacity_providers::PutClusterCapacityProvidersInput,
) -> bool {
    r.cluster() == Some("blog-cluster")
        && matches!(r.default_capacity_provider_strategy(), [only] if only.capacity_provider() == "FARGATE")
}

fn with_provider(scaling: ecs_instances::ManagedScaling) -> Instances {
    Instances::builder()
        .environment("blog")
        .cluster("blog-cluster")
        .network(vpc::Network::ids("vpc-1", "10.0.0.0/16"))
        .subnets(["subnet-a", "subnet-b"])
        .capacity_provider(scaling)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_capacity_provider_is_made_for_the_group_and_added_next_to_fargate() {
    let create = mock!(Ecs::create_capacity_provider)
        .match_requests(|r| {
            let asg = r.auto_scaling_group_provider();
            let scaling = asg.and_then(|a| a.managed_scaling());
            r.name() == Some("blog-ecs-instances")
                && asg.map(|a| a.auto_scaling_group_arn()) == Some(ASG_ARN)
                && scaling.and_then(|s| s.status())
                    == Some(&aws_sdk_ecs::types::ManagedScalingStatus::Enabled)
                && scaling.and_then(|s| s.target_capacity()) == Some(80)
                && r.tags()
                    .iter()
                    .any(|t| t.key() == Some(OWNER) && t.value() == Some("ecs-instances/blog"))
        })
        .then_output(|| {
            aws_sdk_ecs::operation::create_capacity_provider::CreateCapacityProviderOutput::builder(
            )
            .capacity_provider(provider(80))
            .build()
        });
    let attach = mock!(Ecs::put_cluster_capacity_providers)
        .match_requests(|r| {
            keeps_fargate_strategy(r)
                && r.capacity_providers()
                    == ["FARGATE", "blog-ecs-instances"]
        })
        .then_output(|| {
            aws_sdk_ecs::operation::put_cluster_capacity_providers::PutClusterCapacityProvidersOutput::builder().build()
        });
    let aws = existing(Rules {
        ecs: vec![
            mock!(Ecs::describe_clusters).then_output(|| cluster(&["FARGATE"])),
            create.clone(),
            attach.clone(),
        ],
        ..Rules::default()
    });
    let instances = with_provider(ecs_instances::ManagedScaling {
        target_capacity: 80,
        ..Default::default()
    });

    let plan = instances.plan(&aws).await.unwrap();
    assert_eq!(plan.summary(), (2, 0, 0), "{plan}");
    let provider = plan
        .find("aws_ecs_capacity_provider", "blog-ecs-instances")
        .unwrap();
    assert_eq!(provider.diffs[0].after.as_deref(), Some(ASG_ARN));
    let joined = plan
        .find("aws_ecs_cluster_capacity_providers", "blog-ecs-instances")
        .unwrap();
    let listed: Vec<_> = joined
        .diffs
        .iter()
        .map(|d| (d.field.as_str(), d.after.as_deref()))
        .collect();
    assert_eq!(
        listed,
        [
            ("cluster", Some("blog-cluster")),
            ("capacity_providers", Some("+ blog-ecs-instances"))
        ]
    );

    let out = instances.apply(&aws).await.unwrap();
    assert_eq!(
        out.capacity_provider_name.as_deref(),
        Some("blog-ecs-instances")
    );
    assert_eq!((create.num_calls(), attach.num_calls()), (1, 1));
    assert_eq!(
        aws.calls()
            .report()
            .mutations()
            .into_keys()
            .collect::<Vec<_>>(),
        ["CreateCapacityProvider", "PutClusterCapacityProviders"]
    );
}

#[tokio::test]
async fn destroy_detaches_and_deletes_the_provider_then_the_group_and_the_security_group_after_the_template(
) {
    let detach = mock!(Ecs::put_cluster_capacity_providers)
        .match_requests(|r| {
            keeps_fargate_strategy(r) && r.capacity_providers() == ["FARGATE"]
        })
        .then_output(|| {
            aws_sdk_ecs::operation::put_cluster_capacity_providers::PutClusterCapacityProvidersOutput::builder().build()
        });
    let aws = existing(Rules {
        ecs: vec![
            mock!(Ecs::describe_capacity_providers)
                .sequence()
                .output(|| {
                    DescribeCapacityProvidersOutput::builder()
                        .capacity_providers(provider(100))
                        .build()
                })
                .output(|| DescribeCapacityProvidersOutput::builder().build())
                .repeatedly()
                .build(),
            mock!(Ecs::describe_clusters)
                .then_output(|| cluster(&["FARGATE", "blog-ecs-instances"])),
            detach.clone(),
            mock!(Ecs::delete_capacity_provider)
                .match_requests(|r| r.capacity_provider() == Some("blog-ecs-instances"))
                .then_output(|| {
                    aws_sdk_ecs::operation::delete_capacity_provider::DeleteCapacityProviderOutput::builder().build()
                }),
        ],
        asg: vec![
            mock!(Asg::describe_auto_scaling_groups)
                .sequence()
                .output(|| {
                    DescribeAutoScalingGroupsOutput::builder()
                        .auto_scaling_groups(group("1"))
                        .build()
                })
                .output(|| DescribeAutoScalingGroupsOutput::builder().build())
                .repeatedly()
                .build(),
            mock!(Asg::delete_auto_scaling_group)
                .match_requests(|r| {
                    r.auto_scaling_group_name() == Some("blog-ecs-asg") && r.force_delete() == Some(true)
                })
                .then_output(|| {
                    aws_sdk_autoscaling::operation::delete_auto_scaling_group::DeleteAutoScalingGroupOutput::builder().build()
                }),
        ],
        ec2: vec![
            mock!(Ec2::delete_launch_template)
                .match_requests(|r| r.launch_template_id() == Some("lt-1"))
                .then_output(|| {
                    aws_sdk_ec2::operation::delete_launch_template::DeleteLaunchTemplateOutput::builder().build()
                }),
            mock!(Ec2::describe_network_interfaces).then_output(|| {
                aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput::builder().build()
            }),
            mock!(Ec2::delete_security_group)
                .match_requests(|r| r.group_id() == Some("sg-1"))
                .then_output(|| {
                    aws_sdk_ec2::operation::delete_security_group::DeleteSecurityGroupOutput::builder().build()
                }),
        ],
        iam: vec![
            mock!(Iam::get_role)
                .match_requests(|r| r.role_name() == Some("blog-ecs-service-role"))
                .then_error(|| GetRoleError::generic(no_such_entity())),
            mock!(Iam::remove_role_from_instance_profile).then_output(|| {
                aws_sdk_iam::operation::remove_role_from_instance_profile::RemoveRoleFromInstanceProfileOutput::builder().build()
            }),
            mock!(Iam::delete_instance_profile).then_output(|| {
                aws_sdk_iam::operation::delete_instance_profile::DeleteInstanceProfileOutput::builder().build()
            }),
            mock!(Iam::detach_role_policy)
                .match_requests(|r| r.policy_arn() == Some(POLICY))
                .then_output(|| {
                    aws_sdk_iam::operation::detach_role_policy::DetachRolePolicyOutput::builder().build()
                }),
            mock!(Iam::list_role_policies).then_output(|| {
                aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput::builder()
                    .set_policy_names(Some(vec![]))
                    .build()
                    .unwrap()
            }),
            mock!(Iam::delete_role)
                .match_requests(|r| r.role_name() == Some("blog-ecs-instance-role"))
                .then_output(|| {
                    aws_sdk_iam::operation::delete_role::DeleteRoleOutput::builder().build()
                }),
        ],
        logs: vec![mock!(Logs::delete_log_group)
            .match_requests(|r| r.log_group_name() == Some(LOG_GROUP))
            .then_output(|| {
                aws_sdk_cloudwatchlogs::operation::delete_log_group::DeleteLogGroupOutput::builder().build()
            })],
    });

    let deleted = with_provider(ecs_instances::ManagedScaling::default())
        .destroy(&aws)
        .await
        .unwrap();
    // The provider's place in the cluster is a resource of its own.
    assert_eq!(deleted.summary(), (0, 0, 8), "{deleted}");
    assert_eq!(detach.num_calls(), 1);

    let order: Vec<String> = aws
        .calls()
        .order()
        .into_iter()
        .filter(|op| converge::is_mutating(op))
        .collect();
    let at = |op: &str| {
        order
            .iter()
            .position(|o| o == op)
            .unwrap_or_else(|| panic!("{op} not called: {order:?}"))
    };
    assert_eq!(
        order[..3],
        [
            "PutClusterCapacityProviders",
            "DeleteCapacityProvider",
            "DeleteAutoScalingGroup"
        ]
    );
    // The security group goes once the template that names it (and so the group's
    // instances) is gone.
    assert!(
        at("DeleteSecurityGroup") > at("DeleteLaunchTemplate"),
        "{order:?}"
    );
    assert!(at("RemoveRoleFromInstanceProfile") < at("DeleteInstanceProfile"));
    assert!(at("DeleteInstanceProfile") < at("DeleteRole"));
    assert!(at("DetachRolePolicy") < at("DeleteRole"));
    for op in ["DeleteLaunchTemplate", "DeleteLogGroup"] {
        assert!(at(op) > at("DeleteAutoScalingGroup"), "{order:?}");
    }
    assert_eq!(order.len(), 10, "{order:?}");
}

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

struct Rules {
    ec2: Vec<Rule>,
    asg: Vec<Rule>,
    iam: Vec<Rule>,
    logs: Vec<Rule>,
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
    Aws::builder()
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
        .ecs_cluster_name("blog-cluster")
        .vpc_id("vpc-1")
        .vpc_cidr("10.0.0.0/16")
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
        mock!(Logs::describe_log_groups).then_output(|| DescribeLogGroupsOutput::builder().build()),
        mock!(Logs::create_log_group)
            .match_requests(|r| {
                r.log_group_name() == Some("/ecs/blog/ecs-agent")
                    && r.tags().is_some_and(|t| t.contains_key(OWNER))
            })
            .then_output(|| CreateLogGroupOutput::builder().build()),
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
        CreateAutoScalingGroupError::generic(
            AsgErrorMetadata::builder()
                .code("ValidationError")
                .message("Invalid IamInstanceProfile: arn:aws:iam::123456789012:instance-profile/blog-ecs-instance-profile")
                .build(),
        )
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

#[tokio::test]
async fn profile_errors_are_retried_only_for_a_bounded_time() {
    let (iam, logs) = fresh_iam_and_logs();
    let ec2 = vec![
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
    ];
    let never_ready = mock!(Asg::create_auto_scaling_group).then_error(|| {
        CreateAutoScalingGroupError::generic(
            AsgErrorMetadata::builder()
                .code("ValidationError")
                .message("Invalid IamInstanceProfile: blog-ecs-instance-profile")
                .build(),
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
    };
    let aws = aws(&rules);

    let err = blog().apply(&aws).await.unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));
    let text = err.to_string();
    assert!(text.contains("aws_launch_template"), "{text}");
    assert!(never_ready.num_calls() > 1);
}

/// Everything exists as a first apply left it, on template version 1 (`t3.small`).
fn existing(ec2_extra: Vec<Rule>, asg_extra: Vec<Rule>) -> Aws {
    let sg = SecurityGroup::builder()
        .group_id("sg-1")
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
    let mut ec2 = vec![
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
    ec2.extend(ec2_extra);
    let mut asg = vec![mock!(Asg::describe_auto_scaling_groups).then_output(|| {
        DescribeAutoScalingGroupsOutput::builder()
            .auto_scaling_groups(group("1"))
            .build()
    })];
    asg.extend(asg_extra);
    let role = Role::builder()
        .role_name("blog-ecs-instance-role")
        .arn(ROLE_ARN)
        .path("/")
        .role_id("r1")
        .create_date(aws_smithy_types::DateTime::from_secs(0))
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
        mock!(Logs::describe_log_groups).then_output(|| {
            DescribeLogGroupsOutput::builder()
                .log_groups(
                    aws_sdk_cloudwatchlogs::types::LogGroup::builder()
                        .log_group_name("/ecs/blog/ecs-agent")
                        .arn("arn:aws:logs:us-east-1:123456789012:log-group:/ecs/blog/ecs-agent:*")
                        .build(),
                )
                .build()
        }),
        mock!(Logs::list_tags_for_resource).then_output(|| {
            aws_sdk_cloudwatchlogs::operation::list_tags_for_resource::ListTagsForResourceOutput::builder()
                .tags(OWNER, "ecs-instances/blog")
                .build()
        }),
    ];
    aws(&Rules {
        ec2,
        asg,
        iam,
        logs,
    })
}

#[tokio::test]
async fn unchanged_inputs_make_no_mutating_call() {
    let aws = existing(vec![], vec![]);
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
    let aws = existing(vec![new_version.clone()], vec![update.clone()]);
    let bigger = Instances::builder()
        .environment("blog")
        .ecs_cluster_name("blog-cluster")
        .vpc_id("vpc-1")
        .vpc_cidr("10.0.0.0/16")
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
    let aws = existing(
        vec![new_version.clone()],
        vec![update.clone(), refresh.clone()],
    );
    let with_refresh = |ami: &str| {
        Instances::builder()
            .environment("blog")
            .ecs_cluster_name("blog-cluster")
            .vpc_id("vpc-1")
            .vpc_cidr("10.0.0.0/16")
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

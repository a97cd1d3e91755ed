//! The launch template: AMI, instance type, profile, security group on a network interface
//! without public IP, IMDSv2 required, encrypted root volume, user data.

use aws_sdk_ec2::types::{
    Filter, LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest,
    LaunchTemplateHttpTokensState, LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataEndpointState, LaunchTemplateInstanceMetadataOptionsRequest,
    LaunchTemplateInstanceNetworkInterfaceSpecificationRequest,
    LaunchTemplateTagSpecificationRequest, RequestLaunchTemplateData, ResourceType,
    ResponseLaunchTemplateData, VolumeType,
};
use converge::{Aws, AwsResultExt, Error, Tags, Transient};

/// The plan's name for it.
pub(crate) const KIND: &str = "aws_launch_template";
/// The ECS-optimized Amazon Linux 2023 AMI's root device.
pub(crate) const ROOT_DEVICE: &str = "/dev/xvda";

/// Errors while a new instance profile is not yet visible to EC2 or Auto Scaling.
pub(crate) const PROFILE_NOT_READY: Transient = Transient::new(
    &[],
    &["Invalid IamInstanceProfile", "Invalid IAM Instance Profile"],
);

/// What the template should hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Desired {
    pub name: String,
    pub instance_name: String,
    pub ami: String,
    pub instance_type: String,
    pub profile_arn: String,
    pub sg_id: String,
    /// Base64.
    pub user_data: String,
    pub key_name: Option<String>,
    pub volume_size: i32,
}

/// The compared attributes, as `(field, value)`.
pub(crate) type Fields = Vec<(&'static str, Option<String>)>;

impl Desired {
    pub(crate) fn fields(&self) -> Fields {
        vec![
            ("image_id", Some(self.ami.clone())),
            ("instance_type", Some(self.instance_type.clone())),
            ("iam_instance_profile", Some(self.profile_arn.clone())),
            ("security_groups", Some(self.sg_id.clone())),
            ("associate_public_ip_address", Some("false".into())),
            ("user_data", Some(self.user_data.clone())),
            ("key_name", self.key_name.clone()),
            ("metadata_http_tokens", Some("required".into())),
            ("root_volume_encrypted", Some("true".into())),
            ("root_volume_size", Some(self.volume_size.to_string())),
        ]
    }

    /// The template's data.
    pub(crate) fn data(&self, tags: &Tags) -> RequestLaunchTemplateData {
        let tag_spec = |kind: ResourceType| {
            let tags = tags
                .for_resource(&self.instance_name)
                .into_iter()
                .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build());
            LaunchTemplateTagSpecificationRequest::builder()
                .resource_type(kind)
                .set_tags(Some(tags.collect()))
                .build()
        };
        RequestLaunchTemplateData::builder()
            .image_id(&self.ami)
            .instance_type(self.instance_type.as_str().into())
            .iam_instance_profile(
                LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                    .arn(&self.profile_arn)
                    .build(),
            )
            .network_interfaces(
                LaunchTemplateInstanceNetworkInterfaceSpecificationRequest::builder()
                    .device_index(0)
                    .associate_public_ip_address(false)
                    .groups(&self.sg_id)
                    .delete_on_termination(true)
                    .build(),
            )
            .metadata_options(
                LaunchTemplateInstanceMetadataOptionsRequest::builder()
                    .http_tokens(LaunchTemplateHttpTokensState::Required)
                    .http_endpoint(LaunchTemplateInstanceMetadataEndpointState::Enabled)
                    .http_put_response_hop_limit(2)
                    .build(),
            )
            .block_device_mappings(
                LaunchTemplateBlockDeviceMappingRequest::builder()
                    .device_name(ROOT_DEVICE)
                    .ebs(
                        LaunchTemplateEbsBlockDeviceRequest::builder()
                            .encrypted(true)
                            .volume_size(self.volume_size)
                            .volume_type(VolumeType::Gp3)
                            .delete_on_termination(true)
                            .build(),
                    )
                    .build(),
            )
            .user_data(&self.user_data)
            .set_key_name(self.key_name.clone())
            .tag_specifications(tag_spec(ResourceType::Instance))
            .tag_specifications(tag_spec(ResourceType::Volume))
            .build()
    }
}

/// The compared attributes of a version as EC2 returns it.
pub(crate) fn fields_of(data: &ResponseLaunchTemplateData) -> Fields {
    let nic = data.network_interfaces().first();
    let root = data
        .block_device_mappings()
        .iter()
        .find(|b| b.device_name() == Some(ROOT_DEVICE))
        .and_then(|b| b.ebs());
    vec![
        ("image_id", data.image_id().map(str::to_owned)),
        (
            "instance_type",
            data.instance_type().map(|t| t.as_str().to_owned()),
        ),
        (
            "iam_instance_profile",
            data.iam_instance_profile()
                .and_then(|p| p.arn())
                .map(str::to_owned),
        ),
        (
            "security_groups",
            nic.map(|n| n.groups().join(",")).filter(|g| !g.is_empty()),
        ),
        (
            "associate_public_ip_address",
            nic.and_then(|n| n.associate_public_ip_address())
                .map(|b| b.to_string()),
        ),
        ("user_data", data.user_data().map(str::to_owned)),
        ("key_name", data.key_name().map(str::to_owned)),
        (
            "metadata_http_tokens",
            data.metadata_options()
                .and_then(|m| m.http_tokens())
                .map(|t| t.as_str().to_owned()),
        ),
        (
            "root_volume_encrypted",
            root.and_then(|e| e.encrypted()).map(|b| b.to_string()),
        ),
        (
            "root_volume_size",
            root.and_then(|e| e.volume_size()).map(|s| s.to_string()),
        ),
    ]
}

/// Our template and its latest version.
#[derive(Clone, Debug)]
pub(crate) struct Found {
    pub id: String,
    pub version: i64,
    pub fields: Fields,
}

/// Our template called `name`, found by ownership tag.
pub(crate) async fn find(aws: &Aws, tags: &Tags, name: &str) -> Result<Option<Found>, Error> {
    let resource = format!("{KIND} \"{name}\"");
    let out = aws
        .ec2()
        .describe_launch_templates()
        .filters(tags.ec2_filter())
        .filters(
            Filter::builder()
                .name("launch-template-name")
                .values(name)
                .build(),
        )
        .send()
        .await
        .context("DescribeLaunchTemplates", &resource)?;
    let Some(template) = out
        .launch_templates()
        .iter()
        .find(|t| t.launch_template_name() == Some(name) && tags.ec2_owned(t.tags()))
    else {
        return Ok(None);
    };
    let id = template.launch_template_id().unwrap_or_default().to_owned();
    let versions = aws
        .ec2()
        .describe_launch_template_versions()
        .launch_template_id(&id)
        .versions("$Latest")
        .send()
        .await
        .context("DescribeLaunchTemplateVersions", &resource)?;
    let Some(latest) = versions.launch_template_versions().first() else {
        return Ok(None);
    };
    Ok(Some(Found {
        id,
        version: latest.version_number().unwrap_or(1),
        fields: latest
            .launch_template_data()
            .map(fields_of)
            .unwrap_or_default(),
    }))
}

/// The attributes that differ, as `(field, before, after)`.
pub(crate) fn differences(
    found: &Fields,
    desired: &Fields,
) -> Vec<(&'static str, Option<String>, Option<String>)> {
    desired
        .iter()
        .filter_map(|(field, want)| {
            let have = found
                .iter()
                .find(|(f, _)| f == field)
                .and_then(|(_, v)| v.clone());
            (have != *want).then(|| (*field, have, want.clone()))
        })
        .collect()
}

/// Makes the template, tagged in the create call; returns its id and version 1.
pub(crate) async fn create(
    aws: &Aws,
    tags: &Tags,
    desired: &Desired,
) -> Result<(String, i64), Error> {
    let out = aws
        .retry()
        .run(&desired.name, PROFILE_NOT_READY, || {
            aws.ec2()
                .create_launch_template()
                .launch_template_name(&desired.name)
                .launch_template_data(desired.data(tags))
                .tag_specifications(tags.ec2_spec(ResourceType::LaunchTemplate, &desired.name))
                .send()
        })
        .await
        .context(
            "CreateLaunchTemplate",
            format_args!("{KIND} \"{}\"", desired.name),
        )?;
    let template = out.launch_template();
    Ok((
        template
            .and_then(|t| t.launch_template_id())
            .unwrap_or_default()
            .to_owned(),
        template
            .and_then(|t| t.latest_version_number())
            .unwrap_or(1),
    ))
}

/// Adds a version with the whole of the desired data (not a delta on a source version);
/// returns its number.
pub(crate) async fn new_version(
    aws: &Aws,
    tags: &Tags,
    id: &str,
    desired: &Desired,
) -> Result<i64, Error> {
    let out = aws
        .retry()
        .run(&desired.name, PROFILE_NOT_READY, || {
            aws.ec2()
                .create_launch_template_version()
                .launch_template_id(id)
                .launch_template_data(desired.data(tags))
                .send()
        })
        .await
        .context(
            "CreateLaunchTemplateVersion",
            format_args!("{KIND} \"{}\" ({id})", desired.name),
        )?;
    Ok(out
        .launch_template_version()
        .and_then(|v| v.version_number())
        .unwrap_or_default())
}

/// Deletes the template and every version.
pub(crate) async fn delete(aws: &Aws, id: &str) -> Result<(), Error> {
    let result = aws
        .ec2()
        .delete_launch_template()
        .launch_template_id(id)
        .send()
        .await
        .context("DeleteLaunchTemplate", format_args!("{KIND} {id}"));
    crate::ignore_gone(result)
}

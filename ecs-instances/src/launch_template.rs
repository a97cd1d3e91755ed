//! `aws_launch_template`: AMI, instance type, profile, security group on a network interface
//! without public IP, IMDSv2 required, encrypted root volume, user data. Found by name
//! (template names are unique per account and region), claimed by its ownership tag. A
//! changed attribute is a new version holding the whole of the desired data, as Terraform
//! does; the Auto Scaling group then moves to it.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, LaunchTemplateBlockDeviceMappingRequest, LaunchTemplateEbsBlockDeviceRequest,
    LaunchTemplateHttpTokensState, LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataEndpointState, LaunchTemplateInstanceMetadataOptionsRequest,
    LaunchTemplateInstanceNetworkInterfaceSpecificationRequest,
    LaunchTemplateTagSpecificationRequest, RequestLaunchTemplateData, ResourceType,
    ResponseLaunchTemplateData, VolumeType,
};
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{
    ignore_not_found, Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, FieldChange, Resource,
    Tags, Transient, Value, Wanted,
};

use crate::user_data::digest_base64;

/// The plan's name for it.
pub(crate) const KIND: &str = "aws_launch_template";
/// The ECS-optimized Amazon Linux 2023 AMI's root device.
pub(crate) const ROOT_DEVICE: &str = "/dev/xvda";

/// Errors while a new instance profile is not yet visible to EC2 or Auto Scaling.
/// Neither EC2 nor Auto Scaling has a code of its own for it: EC2 answers
/// `InvalidParameterValue`, Auto Scaling `ValidationError`, with "Value (<name>) for parameter
/// iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name" (Auto Scaling first
/// says "You must use a valid fully-formed launch template."), or "Invalid IamInstanceProfile:
/// <name>".
pub(crate) const PROFILE_NOT_READY: Transient = Transient::messages(&[
    converge::Said::new("InvalidParameterValue", "Invalid IAM Instance Profile"),
    converge::Said::new("InvalidParameterValue", "Invalid IamInstanceProfile"),
    converge::Said::new("ValidationError", "Invalid IAM Instance Profile"),
    converge::Said::new("ValidationError", "Invalid IamInstanceProfile"),
]);

/// The launch template kind.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LaunchTemplateKind;

/// What the template's latest version should hold. Values from other resources (the
/// profile, the security group, the cluster's name in the user data) are known after apply
/// when those are made by it.
/// Its `Debug` shows the user data's digest, never its text.
#[derive(Clone, PartialEq)]
pub(crate) struct LaunchTemplateSpec<P: Phase = AtPlan> {
    /// The `Name` tag of the instances and volumes it launches.
    pub instance_name: String,
    /// The AMI (unknown only in a declaration for destroy, which never reads it).
    pub ami: P::Value<String>,
    pub instance_type: String,
    pub profile_arn: P::Value<String>,
    pub sg_id: P::Value<String>,
    /// Base64.
    pub user_data: P::Value<String>,
    pub key_name: Option<String>,
    pub volume_size: i32,
}

impl Resolve for LaunchTemplateSpec {
    type Output = LaunchTemplateSpec<AtApply>;

    fn resolve(&self) -> Result<LaunchTemplateSpec<AtApply>, Unknown> {
        Ok(LaunchTemplateSpec {
            instance_name: self.instance_name.clone(),
            ami: self.ami.resolve("ami")?,
            instance_type: self.instance_type.clone(),
            profile_arn: self.profile_arn.resolve("profile_arn")?,
            sg_id: self.sg_id.resolve("sg_id")?,
            user_data: self.user_data.resolve("user_data")?,
            key_name: self.key_name.clone(),
            volume_size: self.volume_size,
        })
    }
}

impl<P: Phase> LaunchTemplateSpec<P> {
    /// `Debug` with the user data as given (its digest).
    fn debug(
        &self,
        f: &mut std::fmt::Formatter<'_>,
        user_data: &dyn std::fmt::Debug,
    ) -> std::fmt::Result {
        f.debug_struct("LaunchTemplateSpec")
            .field("instance_name", &self.instance_name)
            .field("ami", &self.ami)
            .field("instance_type", &self.instance_type)
            .field("profile_arn", &self.profile_arn)
            .field("sg_id", &self.sg_id)
            .field("user_data", user_data)
            .field("key_name", &self.key_name)
            .field("volume_size", &self.volume_size)
            .finish()
    }
}

impl std::fmt::Debug for LaunchTemplateSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.debug(f, &self.user_data.as_ref().map(|v| digest_base64(v)))
    }
}

impl std::fmt::Debug for LaunchTemplateSpec<AtApply> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.debug(f, &digest_base64(&self.user_data))
    }
}

/// The compared attributes, as `(field, value)`.
pub(crate) type Fields = Vec<(LaunchTemplateField, Option<String>)>;

impl LaunchTemplateSpec {
    /// The compared attributes; `None` is an absent one.
    fn fields(&self) -> Vec<(LaunchTemplateField, Value<Option<String>>)> {
        use LaunchTemplateField as F;
        let known = |v: &str| Value::Known(Some(v.to_owned()));
        let value = |v: &Value<String>| v.clone().map(Some);
        vec![
            (F::ImageId, value(&self.ami)),
            (F::InstanceType, known(&self.instance_type)),
            (F::IamInstanceProfile, value(&self.profile_arn)),
            (F::SecurityGroups, value(&self.sg_id)),
            (F::AssociatePublicIpAddress, known("false")),
            // Its digest: the text can carry secrets, and plans are printed and logged.
            (
                F::UserData,
                value(&self.user_data).map(|v| v.as_deref().map(digest_base64)),
            ),
            (F::KeyName, Value::Known(self.key_name.clone())),
            (F::MetadataHttpTokens, known("required")),
            (F::RootVolumeEncrypted, known("true")),
            (F::RootVolumeSize, known(&self.volume_size.to_string())),
        ]
    }
}

impl LaunchTemplateSpec<AtApply> {
    /// The template's data.
    fn data(&self, tags: &Tags) -> RequestLaunchTemplateData {
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
    use LaunchTemplateField as F;
    let nic = data.network_interfaces().first();
    let root = data
        .block_device_mappings()
        .iter()
        .find(|b| b.device_name() == Some(ROOT_DEVICE))
        .and_then(|b| b.ebs());
    vec![
        (F::ImageId, data.image_id().map(str::to_owned)),
        (
            F::InstanceType,
            data.instance_type().map(|t| t.as_str().to_owned()),
        ),
        (
            F::IamInstanceProfile,
            data.iam_instance_profile()
                .and_then(|p| p.arn())
                .map(str::to_owned),
        ),
        (
            F::SecurityGroups,
            nic.map(|n| n.groups().join(",")).filter(|g| !g.is_empty()),
        ),
        (
            F::AssociatePublicIpAddress,
            nic.and_then(|n| n.associate_public_ip_address())
                .map(|b| b.to_string()),
        ),
        (F::UserData, data.user_data().map(digest_base64)),
        (F::KeyName, data.key_name().map(str::to_owned)),
        (
            F::MetadataHttpTokens,
            data.metadata_options()
                .and_then(|m| m.http_tokens())
                .map(|t| t.as_str().to_owned()),
        ),
        (
            F::RootVolumeEncrypted,
            root.and_then(|e| e.encrypted()).map(|b| b.to_string()),
        ),
        (
            F::RootVolumeSize,
            root.and_then(|e| e.volume_size()).map(|s| s.to_string()),
        ),
    ]
}

/// A template as EC2 has it, with its latest version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FoundTemplate {
    pub id: String,
    pub name: String,
    pub owner: Option<String>,
    pub version: i64,
    pub fields: Fields,
}

/// What the Auto Scaling group and the module's outputs use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LaunchTemplateOut {
    pub id: String,
    /// The latest version, which the group launches.
    pub version: String,
}

/// The latest version of template `id`.
async fn latest(aws: &Aws, id: &str, name: &str) -> Result<Option<(i64, Fields)>, Error> {
    let out = aws
        .ec2()
        .describe_launch_template_versions()
        .launch_template_id(id)
        .versions("$Latest")
        .send()
        .await
        .context(
            "DescribeLaunchTemplateVersions",
            LaunchTemplateKind::label(name),
        )?;
    Ok(out.launch_template_versions().first().map(|v| {
        (
            v.version_number().unwrap_or(1),
            v.launch_template_data().map(fields_of).unwrap_or_default(),
        )
    }))
}

/// A launch template's fields that a plan can show changed; any change is a new version
/// of the same template, in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaunchTemplateField {
    /// The version the change makes (the latest plus one).
    LatestVersion,
    /// The AMI.
    ImageId,
    /// The instance type.
    InstanceType,
    /// The instance profile's ARN.
    IamInstanceProfile,
    /// The security group on the network interface.
    SecurityGroups,
    /// Whether the network interface gets a public IP (never).
    AssociatePublicIpAddress,
    /// The user data's digest.
    UserData,
    /// The EC2 key pair.
    KeyName,
    /// IMDSv2 (`required`).
    MetadataHttpTokens,
    /// Whether the root volume is encrypted (always).
    RootVolumeEncrypted,
    /// The root volume's size, in GiB.
    RootVolumeSize,
}

impl Field for LaunchTemplateField {
    fn name(&self) -> &str {
        match self {
            LaunchTemplateField::LatestVersion => "latest_version",
            LaunchTemplateField::ImageId => "image_id",
            LaunchTemplateField::InstanceType => "instance_type",
            LaunchTemplateField::IamInstanceProfile => "iam_instance_profile",
            LaunchTemplateField::SecurityGroups => "security_groups",
            LaunchTemplateField::AssociatePublicIpAddress => "associate_public_ip_address",
            LaunchTemplateField::UserData => "user_data",
            LaunchTemplateField::KeyName => "key_name",
            LaunchTemplateField::MetadataHttpTokens => "metadata_http_tokens",
            LaunchTemplateField::RootVolumeEncrypted => "root_volume_encrypted",
            LaunchTemplateField::RootVolumeSize => "root_volume_size",
        }
    }
}

#[async_trait]
impl Resource for LaunchTemplateKind {
    const KIND: &'static str = KIND;
    // The instance profile just made and not yet usable. Create and update are one call
    // each, with a token unspent until it made something.
    const TRANSIENT: Transient = PROFILE_NOT_READY;
    type Field = LaunchTemplateField;
    type Key = ();
    type Desired = LaunchTemplateSpec;
    type Observed = FoundTemplate;
    type Outputs = LaunchTemplateOut;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::{ec2_tags_on_create, Grant};
        vec![
            Grant::new([
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:CreateLaunchTemplate",
                "ec2:CreateLaunchTemplateVersion",
            ]),
            ec2_tags_on_create("CreateLaunchTemplate"),
            Grant::new(["ec2:DeleteLaunchTemplate"]).owned(),
        ]
    }

    /// One `DescribeLaunchTemplates` by name (so a same-named template without our tag is
    /// seen, and refused), then the latest version of each of ours.
    async fn read(
        &self,
        aws: &Aws,
        wanted: &[Wanted<'_, ()>],
    ) -> Result<Vec<FoundTemplate>, Error> {
        let names: Vec<String> = wanted.iter().map(|w| w.name.to_owned()).collect();
        let label = LaunchTemplateKind::label(&names.join(","));
        let named = Filter::builder()
            .name("launch-template-name")
            .set_values(Some(names))
            .build();
        let templates = converge::ec2::read_tagged(
            wanted,
            "DescribeLaunchTemplates",
            label,
            (aws.ec2().describe_launch_templates())
                .filters(named)
                .into_paginator()
                .send(),
            |page| page.launch_templates.unwrap_or_default(),
        )
        .await?;
        let found = templates.into_iter().map(|t| async move {
            let id = t.item.launch_template_id().unwrap_or_default().to_owned();
            let name = t.item.launch_template_name().unwrap_or_default().to_owned();
            // The versions of a template no declaration claims are none of our business.
            let (version, fields) = match t.claimed {
                true => latest(aws, &id, &name).await?.unwrap_or_default(),
                false => (0, Fields::new()),
            };
            Ok::<_, Error>(FoundTemplate {
                id,
                name,
                owner: t.owner,
                version,
                fields,
            })
        });
        futures::future::try_join_all(found).await
    }

    fn name<'o>(&self, o: &'o FoundTemplate) -> &'o str {
        &o.name
    }

    fn owner<'o>(&self, o: &'o FoundTemplate) -> Option<&'o str> {
        o.owner.as_deref()
    }

    fn id(&self, o: &FoundTemplate) -> String {
        o.id.clone()
    }

    fn describe(&self, d: &LaunchTemplateSpec) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        for (field, want) in d.fields() {
            match want {
                // Absent (no key pair): nothing to set.
                Value::Known(None) => {}
                Value::Known(Some(v)) => {
                    delta.update(field, None::<String>, Some(v));
                }
                Value::AfterApply => {
                    delta.update(field, None::<String>, Some(converge::AFTER_APPLY));
                }
            }
        }
        delta.diffs()
    }

    /// Any difference is a new version (in place: the template keeps its id), listed after
    /// `latest_version`.
    fn diff(&self, d: &LaunchTemplateSpec, o: &FoundTemplate) -> Delta<LaunchTemplateField> {
        let mut delta = Delta::new();
        for (field, want) in d.fields() {
            let have = o
                .fields
                .iter()
                .find(|(f, _)| *f == field)
                .and_then(|(_, v)| v.clone());
            if want.known() != Some(&have) {
                let want = want.map(Option::unwrap_or_default);
                delta.update(field, have, Some(want));
            }
        }
        if !delta.is_empty() {
            let latest = FieldChange {
                field: LaunchTemplateField::LatestVersion,
                at: None,
                before: Some(o.version.to_string()),
                after: Some((o.version + 1).to_string()),
                replaces: None,
            };
            delta.changes.insert(0, latest);
        }
        delta
    }

    fn outputs(&self, o: &FoundTemplate) -> LaunchTemplateOut {
        LaunchTemplateOut {
            id: o.id.clone(),
            version: o.version.to_string(),
        }
    }

    /// EC2 numbers a template's versions in sequence: the new one is the latest plus one.
    fn planned_outputs(
        &self,
        o: &FoundTemplate,
        delta: &Delta<LaunchTemplateField>,
    ) -> Value<LaunchTemplateOut> {
        let version = o.version + i64::from(!delta.is_empty());
        Value::Known(LaunchTemplateOut {
            id: o.id.clone(),
            version: version.to_string(),
        })
    }

    fn output_id(&self, out: &LaunchTemplateOut) -> Option<String> {
        Some(out.id.clone())
    }

    async fn create(
        &self,
        cx: Cx<'_>,
        d: &LaunchTemplateSpec<AtApply>,
    ) -> Result<LaunchTemplateOut, Error> {
        let data = d.data(cx.tags);
        // One token for every attempt (the engine's retries on the profile's propagation
        // included).
        let token = converge::client_token(&cx, KIND, "create", converge::token::EC2);
        let out = cx
            .aws
            .ec2()
            .create_launch_template()
            .client_token(token.as_str())
            .launch_template_name(cx.name)
            .launch_template_data(data)
            .tag_specifications(cx.tags.ec2_spec(ResourceType::LaunchTemplate, cx.name))
            .send()
            .await
            .context("CreateLaunchTemplate", LaunchTemplateKind::label(cx.name))?;
        token.made();
        let template = out.launch_template();
        Ok(LaunchTemplateOut {
            id: template
                .and_then(|t| t.launch_template_id())
                .unwrap_or_default()
                .to_owned(),
            version: template
                .and_then(|t| t.latest_version_number())
                .unwrap_or(1)
                .to_string(),
        })
    }

    /// A version with the whole of the desired data (not a delta on a source version).
    async fn update(
        &self,
        cx: Cx<'_>,
        d: &LaunchTemplateSpec<AtApply>,
        o: &FoundTemplate,
        delta: &Delta<LaunchTemplateField>,
    ) -> Result<LaunchTemplateOut, Error> {
        let mut version = false;
        for field in delta.fields() {
            match field {
                // Every attribute is in the one new version.
                LaunchTemplateField::LatestVersion
                | LaunchTemplateField::ImageId
                | LaunchTemplateField::InstanceType
                | LaunchTemplateField::IamInstanceProfile
                | LaunchTemplateField::SecurityGroups
                | LaunchTemplateField::AssociatePublicIpAddress
                | LaunchTemplateField::UserData
                | LaunchTemplateField::KeyName
                | LaunchTemplateField::MetadataHttpTokens
                | LaunchTemplateField::RootVolumeEncrypted
                | LaunchTemplateField::RootVolumeSize => version = true,
            }
        }
        if !version {
            return Ok(self.outputs(o));
        }
        let data = d.data(cx.tags);
        // Each update makes a version: a made one spends the token, so the next update in
        // this run is not answered with this version.
        let token = converge::client_token(&cx, KIND, "version", converge::token::EC2);
        let out = cx
            .aws
            .ec2()
            .create_launch_template_version()
            .client_token(token.as_str())
            .launch_template_id(&o.id)
            .launch_template_data(data)
            .send()
            .await
            .context(
                "CreateLaunchTemplateVersion",
                LaunchTemplateKind::label(cx.name),
            )?;
        token.made();
        let version = out
            .launch_template_version()
            .and_then(|v| v.version_number())
            .unwrap_or_default();
        tracing::info!(template = %o.id, version, "launch template version created");
        Ok(LaunchTemplateOut {
            id: o.id.clone(),
            version: version.to_string(),
        })
    }

    /// Deletes the template and every version.
    async fn delete(&self, cx: Cx<'_>, o: &FoundTemplate) -> Result<(), Error> {
        let result = cx
            .aws
            .ec2()
            .delete_launch_template()
            .launch_template_id(&o.id)
            .send()
            .await
            .context("DeleteLaunchTemplate", LaunchTemplateKind::label(&o.name));
        ignore_not_found(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> LaunchTemplateSpec {
        LaunchTemplateSpec {
            instance_name: "blog-ecs-instance".into(),
            ami: Value::Known("ami-12345678".into()),
            instance_type: "t3.small".into(),
            profile_arn: Value::Known("arn:profile".into()),
            sg_id: Value::Known("sg-1".into()),
            user_data: Value::Known("dXNlcg==".into()),
            key_name: None,
            volume_size: 30,
        }
    }

    /// Neither a plan's lines (describe, diff) nor `Debug` carry the user data's text.
    #[test]
    fn user_data_shows_as_a_digest() {
        let secret = "#!/bin/bash\necho DOCKER_AUTH=s3cr3t-token >> /etc/ecs/ecs.config\n";
        let mut d = spec();
        d.user_data = Value::Known(aws_smithy_types::base64::encode(secret));
        let encoded = aws_smithy_types::base64::encode(secret);
        let want = crate::user_data::digest(secret.as_bytes());
        let described = LaunchTemplateKind.describe(&d);
        let line = described.iter().find(|x| x.field == "user_data").unwrap();
        assert_eq!(line.after.as_deref(), Some(want.as_str()));
        let mut o = found(&spec());
        let delta = LaunchTemplateKind.diff(&d, &o);
        let diffs = delta.diffs();
        let changed = diffs.iter().find(|x| x.field == "user_data").unwrap();
        assert_eq!(changed.after.as_deref(), Some(want.as_str()));
        let text = format!(
            "{described:?} {:?} {d:?} {:?}",
            delta.diffs(),
            d.resolve().unwrap()
        );
        assert!(
            !text.contains("s3cr3t") && !text.contains(&encoded),
            "{text}"
        );
        // What EC2 returns is compared by digest too: the same script is no change.
        o.fields = fields_of(
            &aws_sdk_ec2::types::ResponseLaunchTemplateData::builder()
                .user_data(&encoded)
                .build(),
        );
        let have = o
            .fields
            .iter()
            .find(|(f, _)| *f == LaunchTemplateField::UserData)
            .unwrap();
        assert_eq!(have.1.as_deref(), Some(want.as_str()));
    }

    /// Every input from another resource is known at apply, or the one that is not is named.
    #[test]
    fn resolve_names_an_input_still_unknown() {
        let unknown = [
            (
                "ami",
                LaunchTemplateSpec {
                    ami: Value::AfterApply,
                    ..spec()
                },
            ),
            (
                "profile_arn",
                LaunchTemplateSpec {
                    profile_arn: Value::AfterApply,
                    ..spec()
                },
            ),
            (
                "sg_id",
                LaunchTemplateSpec {
                    sg_id: Value::AfterApply,
                    ..spec()
                },
            ),
            (
                "user_data",
                LaunchTemplateSpec {
                    user_data: Value::AfterApply,
                    ..spec()
                },
            ),
        ];
        for (input, d) in unknown {
            assert_eq!(d.resolve().unwrap_err().input, input);
        }
        let applied = spec().resolve().unwrap();
        assert_eq!(
            (applied.ami.as_str(), applied.profile_arn.as_str()),
            ("ami-12345678", "arn:profile")
        );
        assert_eq!(
            (applied.sg_id.as_str(), applied.user_data.as_str()),
            ("sg-1", "dXNlcg==")
        );
        assert_eq!(
            (applied.instance_type.as_str(), applied.volume_size),
            ("t3.small", 30)
        );
    }

    fn found(d: &LaunchTemplateSpec) -> FoundTemplate {
        FoundTemplate {
            id: "lt-1".into(),
            name: "blog-ecs-instances".into(),
            owner: Some("ecs-instances/blog".into()),
            version: 3,
            fields: d
                .fields()
                .into_iter()
                .map(|(f, v)| (f, v.into_known().flatten()))
                .collect(),
        }
    }

    /// Clients that make the template `lt-1` and its versions, logging the client token of
    /// each call in `sent` (`create` or `version`, then the token).
    fn ec2(sent: &std::sync::Arc<std::sync::Mutex<Vec<(&'static str, String)>>>) -> Aws {
        use aws_sdk_ec2::operation::create_launch_template::CreateLaunchTemplateOutput;
        use aws_sdk_ec2::operation::create_launch_template_version::CreateLaunchTemplateVersionOutput;
        use aws_sdk_ec2::types::{LaunchTemplate, LaunchTemplateVersion};
        use aws_smithy_mocks::{mock, mock_client, RuleMode};
        let (a, b) = (std::sync::Arc::clone(sent), std::sync::Arc::clone(sent));
        let create = mock!(aws_sdk_ec2::Client::create_launch_template)
            .match_requests(move |r| {
                let token = r.client_token().unwrap_or_default().to_owned();
                a.lock().unwrap().push(("create", token));
                true
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
        let version = mock!(aws_sdk_ec2::Client::create_launch_template_version)
            .match_requests(move |r| {
                let token = r.client_token().unwrap_or_default().to_owned();
                b.lock().unwrap().push(("version", token));
                true
            })
            .then_output(|| {
                CreateLaunchTemplateVersionOutput::builder()
                    .launch_template_version(
                        LaunchTemplateVersion::builder().version_number(4).build(),
                    )
                    .build()
            });
        let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, &[create, version], |c| c
            .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()));
        Aws::builder().ec2(client).build()
    }

    #[tokio::test]
    async fn the_template_and_each_version_are_created_with_their_own_token() {
        let sent = std::sync::Arc::default();
        let aws = ec2(&sent);
        let tags = converge::Tags::new("ecs-instances", "blog");
        let cx = Cx {
            aws: &aws,
            name: "blog-ecs-instances",
            tags: &tags,
            teardown: false,
        };
        let d = spec();
        let kind = LaunchTemplateKind;
        kind.create(cx, &d.resolve().unwrap()).await.unwrap();
        // Two updates in one run make two versions: the second is not the first's repeat.
        let have = found(&d);
        let bigger = LaunchTemplateSpec {
            instance_type: "t3.medium".into(),
            ..spec()
        };
        let delta = kind.diff(&bigger, &have);
        let applied = bigger.resolve().unwrap();
        kind.update(cx, &applied, &have, &delta).await.unwrap();
        kind.update(cx, &applied, &have, &delta).await.unwrap();
        let sent = sent.lock().unwrap().clone();
        let kinds: Vec<&str> = sent.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, ["create", "version", "version"]);
        assert!(sent.iter().all(|(_, t)| t.len() == 32), "{sent:?}");
        assert!(sent[0].1 != sent[1].1 && sent[1].1 != sent[2].1 && sent[0].1 != sent[2].1);
    }

    #[test]
    fn a_changed_attribute_is_a_new_version_in_place() {
        let kind = LaunchTemplateKind;
        let have = found(&spec());
        assert!(kind.diff(&spec(), &have).is_empty());
        let bigger = LaunchTemplateSpec {
            instance_type: "t3.medium".into(),
            ami: Value::Known("ami-87654321".into()),
            ..spec()
        };
        let delta = kind.diff(&bigger, &have);
        assert!(!delta.replaces());
        assert_eq!(
            delta.fields(),
            [
                LaunchTemplateField::LatestVersion,
                LaunchTemplateField::ImageId,
                LaunchTemplateField::InstanceType
            ]
        );
        let labels: Vec<String> = delta.diffs().into_iter().map(|d| d.field).collect();
        assert_eq!(labels, ["latest_version", "image_id", "instance_type"]);
        assert_eq!(delta.diffs()[0].after.as_deref(), Some("4"));
        assert_eq!(
            kind.planned_outputs(&have, &delta)
                .known()
                .map(|o| o.version.as_str()),
            Some("4")
        );
        assert_eq!(
            kind.planned_outputs(&have, &Delta::new())
                .known()
                .map(|o| o.version.as_str()),
            Some("3")
        );
        // A profile made anew is known only after apply: a difference, shown as such.
        let later = LaunchTemplateSpec {
            profile_arn: Value::AfterApply,
            ..spec()
        };
        let delta = kind.diff(&later, &have);
        assert_eq!(delta.diffs()[1].field, "iam_instance_profile");
        assert_eq!(
            delta.diffs()[1].after.as_deref(),
            Some(converge::AFTER_APPLY)
        );
        // A key pair added is a difference from none.
        let keyed = LaunchTemplateSpec {
            key_name: Some("ops".into()),
            ..spec()
        };
        assert_eq!(kind.diff(&keyed, &have).diffs()[1].field, "key_name");
    }

    #[test]
    fn a_create_lists_what_it_sets() {
        let d = LaunchTemplateSpec {
            sg_id: Value::AfterApply,
            ..spec()
        };
        let described = LaunchTemplateKind.describe(&d);
        let get = |f: &str| {
            described
                .iter()
                .find(|d| d.field == f)
                .and_then(|d| d.after.clone())
        };
        assert_eq!(get("instance_type").as_deref(), Some("t3.small"));
        assert_eq!(get("image_id").as_deref(), Some("ami-12345678"));
        assert_eq!(
            get("security_groups").as_deref(),
            Some(converge::AFTER_APPLY)
        );
        // No key pair: not listed.
        assert_eq!(get("key_name"), None);
    }
}

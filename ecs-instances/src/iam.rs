//! The instance role, its instance profile, and the optional legacy ECS service role.

use converge::{Aws, AwsResultExt, Error, Tags, Transient};

/// The plan's names, as Terraform's.
pub(crate) const ROLE_KIND: &str = "aws_iam_role";
pub(crate) const PROFILE_KIND: &str = "aws_iam_instance_profile";

/// Who may assume the instance role: EC2.
pub(crate) const EC2_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
/// Who may assume the legacy service role: ECS.
pub(crate) const ECS_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
/// The instances' managed policy: register with ECS, pull from ECR, write logs.
pub(crate) const INSTANCE_POLICY: &str = "service-role/AmazonEC2ContainerServiceforEC2Role";
/// The legacy service role's managed policy: register instances with load balancers.
pub(crate) const SERVICE_POLICY: &str = "service-role/AmazonEC2ContainerServiceRole";

/// The ARN of AWS's managed policy `path` in the region's partition.
pub(crate) fn policy_arn(region: &str, path: &str) -> String {
    let partition = if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    };
    format!("arn:{partition}:iam::aws:policy/{path}")
}

fn no_such_entity(err: &Error) -> bool {
    err.code() == Some("NoSuchEntity")
}

/// A role as IAM has it.
#[derive(Clone, Debug)]
pub(crate) struct FoundRole {
    pub arn: String,
    pub attached: Vec<String>,
}

/// The role `name`; one without our ownership tag is [`Error::NotOwned`] when `strict`, else
/// `None` (destroy leaves it alone).
pub(crate) async fn find_role(
    aws: &Aws,
    tags: &Tags,
    name: &str,
    strict: bool,
) -> Result<Option<FoundRole>, Error> {
    let resource = format!("{ROLE_KIND} \"{name}\"");
    let out = match aws
        .iam()
        .get_role()
        .role_name(name)
        .send()
        .await
        .context("GetRole", &resource)
    {
        Err(err) if no_such_entity(&err) => return Ok(None),
        other => other?,
    };
    let Some(role) = out.role() else {
        return Ok(None);
    };
    let mut pairs: Vec<(String, String)> = role
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    if pairs.is_empty() {
        let listed = aws
            .iam()
            .list_role_tags()
            .role_name(name)
            .send()
            .await
            .context("ListRoleTags", &resource)?;
        pairs = listed
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect();
    }
    let iter = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    if !tags.claim(ROLE_KIND, name, iter, strict)? {
        return Ok(None);
    }
    let attached = aws
        .iam()
        .list_attached_role_policies()
        .role_name(name)
        .send()
        .await
        .context("ListAttachedRolePolicies", &resource)?
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_owned))
        .collect();
    Ok(Some(FoundRole {
        arn: role.arn().to_owned(),
        attached,
    }))
}

/// Makes the role (tagged in the create call) or completes it; returns its ARN.
pub(crate) async fn ensure_role(
    aws: &Aws,
    tags: &Tags,
    name: &str,
    trust: &str,
    policy: &str,
    found: Option<FoundRole>,
) -> Result<String, Error> {
    let resource = format!("{ROLE_KIND} \"{name}\"");
    let (arn, attached) = match found {
        Some(found) => (found.arn, found.attached),
        None => {
            let out = aws
                .iam()
                .create_role()
                .role_name(name)
                .assume_role_policy_document(trust)
                .set_tags(Some(tags.iam(name)))
                .send()
                .await
                .context("CreateRole", &resource)?;
            let arn = out.role().map(|r| r.arn().to_owned()).unwrap_or_default();
            tracing::info!(role = %arn, "role created");
            (arn, Vec::new())
        }
    };
    if !attached.iter().any(|a| a == policy) {
        aws.retry()
            .run(name, Transient::codes(&["NoSuchEntity"]), || {
                aws.iam()
                    .attach_role_policy()
                    .role_name(name)
                    .policy_arn(policy)
                    .send()
            })
            .await
            .context("AttachRolePolicy", &resource)?;
    }
    Ok(arn)
}

/// Detaches every managed policy, deletes every inline one, then the role.
pub(crate) async fn delete_role(aws: &Aws, name: &str, attached: &[String]) -> Result<(), Error> {
    let resource = format!("{ROLE_KIND} \"{name}\"");
    for arn in attached {
        let result = aws
            .iam()
            .detach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
            .context("DetachRolePolicy", &resource);
        crate::ignore_gone(result)?;
    }
    let inline = aws
        .iam()
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .context("ListRolePolicies", &resource);
    let inline = match inline {
        Ok(out) => out.policy_names().to_vec(),
        Err(err) if err.is_not_found() => return Ok(()),
        Err(err) => return Err(err),
    };
    for policy in inline {
        let result = aws
            .iam()
            .delete_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await
            .context("DeleteRolePolicy", &resource);
        crate::ignore_gone(result)?;
    }
    let result = aws
        .retry()
        .run(name, Transient::codes(&["DeleteConflict"]), || {
            aws.iam().delete_role().role_name(name).send()
        })
        .await
        .context("DeleteRole", &resource);
    crate::ignore_gone(result)
}

/// An instance profile as IAM has it.
#[derive(Clone, Debug)]
pub(crate) struct FoundProfile {
    pub arn: String,
    pub roles: Vec<String>,
}

/// Our instance profile `name` (strict: one not ours is an error).
pub(crate) async fn find_profile(
    aws: &Aws,
    tags: &Tags,
    name: &str,
    strict: bool,
) -> Result<Option<FoundProfile>, Error> {
    let resource = format!("{PROFILE_KIND} \"{name}\"");
    let out = match aws
        .iam()
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .context("GetInstanceProfile", &resource)
    {
        Err(err) if no_such_entity(&err) => return Ok(None),
        other => other?,
    };
    let Some(profile) = out.instance_profile() else {
        return Ok(None);
    };
    let pairs = profile.tags().iter().map(|t| (t.key(), t.value()));
    if !tags.claim(PROFILE_KIND, name, pairs, strict)? {
        return Ok(None);
    }
    Ok(Some(FoundProfile {
        arn: profile.arn().to_owned(),
        roles: profile
            .roles()
            .iter()
            .map(|r| r.role_name().to_owned())
            .collect(),
    }))
}

/// Makes the profile (tagged in the create call) with `role` in it; returns its ARN.
pub(crate) async fn ensure_profile(
    aws: &Aws,
    tags: &Tags,
    name: &str,
    role: &str,
    found: Option<FoundProfile>,
) -> Result<String, Error> {
    let resource = format!("{PROFILE_KIND} \"{name}\"");
    let (arn, roles) = match found {
        Some(found) => (found.arn, found.roles),
        None => {
            let out = aws
                .iam()
                .create_instance_profile()
                .instance_profile_name(name)
                .set_tags(Some(tags.iam(name)))
                .send()
                .await
                .context("CreateInstanceProfile", &resource)?;
            let arn = out
                .instance_profile()
                .map(|p| p.arn().to_owned())
                .unwrap_or_default();
            (arn, Vec::new())
        }
    };
    if !roles.iter().any(|r| r == role) {
        aws.retry()
            .run(name, Transient::codes(&["NoSuchEntity"]), || {
                aws.iam()
                    .add_role_to_instance_profile()
                    .instance_profile_name(name)
                    .role_name(role)
                    .send()
            })
            .await
            .context("AddRoleToInstanceProfile", &resource)?;
    }
    Ok(arn)
}

/// Takes the roles out of the profile (IAM deletes no profile that has one), then deletes it.
pub(crate) async fn delete_profile(aws: &Aws, name: &str, roles: &[String]) -> Result<(), Error> {
    let resource = format!("{PROFILE_KIND} \"{name}\"");
    for role in roles {
        let result = aws
            .iam()
            .remove_role_from_instance_profile()
            .instance_profile_name(name)
            .role_name(role)
            .send()
            .await
            .context("RemoveRoleFromInstanceProfile", &resource);
        crate::ignore_gone(result)?;
    }
    let result = aws
        .iam()
        .delete_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .context("DeleteInstanceProfile", &resource);
    crate::ignore_gone(result)
}

//! `aws_iam_role`, with its managed policy attachments as an attribute (as Terraform's
//! `managed_policy_arns`, but never detaching what others attached): found by name (role
//! names are unique per account), claimed by its ownership tag.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::delta::{Delta, Field};
use crate::plan::Diff;
use crate::resource::{Cx, Resource, Wanted};
use crate::{Aws, AwsResultExt, Error, Transient};

/// The IAM role kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct RoleKind;

/// What a role should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleSpec {
    /// Who may assume it, as JSON.
    pub assume_role_policy: String,
    /// Managed policies it must have attached.
    pub managed_policy_arns: Vec<String>,
}

impl crate::phase::KnownAtPlan for RoleSpec {}

/// A role as IAM has it.
#[derive(Clone, Debug)]
pub struct FoundRole {
    name: String,
    arn: String,
    /// The trust policy as text, URL-decoded.
    trust: String,
    owner: Option<String>,
    attached: Vec<String>,
}

/// A role's outputs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoleOutputs {
    /// The role's ARN.
    pub role_arn: String,
    /// The role's name.
    pub role_name: String,
}

/// The partition of a region, for AWS's own ARNs.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The ARN of AWS's managed policy `name` (after `arn:<partition>:iam::aws:policy/`).
pub fn managed_policy_arn(region: &str, name: &str) -> String {
    format!("arn:{}:iam::aws:policy/{name}", partition(region))
}

/// A trust policy for `service` (e.g. `ecs-tasks.amazonaws.com`).
pub fn trust_policy(service: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

fn is_no_such_entity(err: &Error) -> bool {
    err.code() == Some("NoSuchEntity")
}

/// Whether two policies say the same, whatever the spelling.
pub(crate) fn same_policy(a: &str, b: &str) -> bool {
    let a = serde_json::from_str(a).map(normalize).ok();
    let b = serde_json::from_str(b).map(normalize).ok();
    a.is_some() && a == b
}

async fn find(aws: &Aws, name: &str, wanted: &crate::Tags) -> Result<Option<FoundRole>, Error> {
    let result = aws
        .iam()
        .get_role()
        .role_name(name)
        .send()
        .await
        .context("GetRole", RoleKind::label(name));
    let out = match result {
        Err(err) if is_no_such_entity(&err) => return Ok(None),
        other => other?,
    };
    let Some(role) = out.role() else {
        return Ok(None);
    };
    let mut tags: Vec<(String, String)> = role
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    // GetRole has returned tags since 2019, but not every IAM (nor emulator) does.
    if tags.is_empty() {
        tags = list_tags(aws, name).await?;
    }
    let owner = crate::owner_in(
        tags.iter()
            .map(|(k, v)| (Some(k.as_str()), Some(v.as_str()))),
    );
    // A role that is not ours is only reported, so its policies are none of our business.
    let attached = match wanted.claim(owner.as_deref()).is_ours() {
        true => attached(aws, name).await?,
        false => Vec::new(),
    };
    let raw = role.assume_role_policy_document().unwrap_or_default();
    Ok(Some(FoundRole {
        name: name.to_owned(),
        arn: role.arn().to_owned(),
        trust: decode_policy(raw),
        owner,
        attached,
    }))
}

async fn list_tags(aws: &Aws, name: &str) -> Result<Vec<(String, String)>, Error> {
    crate::paging::drain_by_marker(
        "ListRoleTags",
        RoleKind::label(name),
        |marker| {
            aws.iam()
                .list_role_tags()
                .role_name(name)
                .set_marker(marker)
                .send()
        },
        |page| {
            let tags = page.tags.into_iter().map(|t| (t.key, t.value));
            (tags, page.marker.filter(|_| page.is_truncated))
        },
    )
    .await
}

/// The ARNs of the managed policies attached to the role.
async fn attached(aws: &Aws, name: &str) -> Result<Vec<String>, Error> {
    crate::paging::drain_by_marker(
        "ListAttachedRolePolicies",
        RoleKind::label(name),
        |marker| {
            (aws.iam().list_attached_role_policies())
                .role_name(name)
                .set_marker(marker)
                .send()
        },
        |page| {
            let arns = page.attached_policies.unwrap_or_default();
            let arns = arns.into_iter().filter_map(|p| p.policy_arn);
            (arns, page.marker.filter(|_| page.is_truncated))
        },
    )
    .await
}

/// The names of the role's inline policies.
pub(crate) async fn inline(aws: &Aws, name: &str) -> Result<Vec<String>, Error> {
    crate::paging::drain_by_marker(
        "ListRolePolicies",
        RoleKind::label(name),
        |marker| {
            (aws.iam().list_role_policies())
                .role_name(name)
                .set_marker(marker)
                .send()
        },
        |page| (page.policy_names, page.marker.filter(|_| page.is_truncated)),
    )
    .await
}

async fn attach(aws: &Aws, name: &str, policy_arn: &str) -> Result<(), Error> {
    // IAM may not show a role just made to the next call yet. Its own retry, not the
    // engine's: in a create it follows CreateRole, which a repeat would refuse
    // (EntityAlreadyExists).
    aws.retry()
        .run(name, Transient::codes(&["NoSuchEntity"]), || {
            aws.iam()
                .attach_role_policy()
                .role_name(name)
                .policy_arn(policy_arn)
                .send()
        })
        .await
        .context("AttachRolePolicy", RoleKind::label(name))?;
    Ok(())
}

/// A role's fields that a plan can show changed; all change in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleField {
    /// Its trust policy: who may assume it.
    AssumeRolePolicy,
    /// One managed policy it lacks (others' attachments are never detached).
    ManagedPolicyArns,
}

impl Field for RoleField {
    fn name(&self) -> &str {
        match self {
            RoleField::AssumeRolePolicy => "assume_role_policy",
            RoleField::ManagedPolicyArns => "managed_policy_arns",
        }
    }
}

#[async_trait]
impl Resource for RoleKind {
    const KIND: &'static str = "aws_iam_role";
    // IAM can still count a policy just detached for a moment; the delete is repeated whole
    // (a detached policy detaches as done, the inline ones are listed again).
    const IN_USE: Transient = Transient::codes(&["DeleteConflict"]);
    // Read by the names declared or tracked: a tracked role of the stack's (a feature turned
    // off) goes; a declared one is always claimed.
    const PRUNE: bool = true;
    type Field = RoleField;
    type Key = ();
    type Desired = RoleSpec;
    type Observed = FoundRole;
    type Outputs = RoleOutputs;

    fn permissions(
        &self,
        _key: &Self::Key,
        desired: Option<&Self::Desired>,
    ) -> Vec<crate::permissions::Grant> {
        use crate::permissions::Grant;
        let mut grants = vec![Grant::new([
            "iam:GetRole",
            "iam:ListAttachedRolePolicies",
            "iam:ListRolePolicies",
            "iam:ListRoleTags",
            "iam:CreateRole",
            "iam:TagRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:DetachRolePolicy",
            "iam:DeleteRolePolicy",
            "iam:DeleteRole",
        ])
        .on(crate::permissions::ROLE)];
        if let Some(spec) = desired {
            // Only the managed policies the inputs name can be attached.
            if !spec.managed_policy_arns.is_empty() {
                grants.push(
                    Grant::new(["iam:AttachRolePolicy"])
                        .on(crate::permissions::ROLE)
                        .when(
                            "ArnEquals",
                            "iam:PolicyARN",
                            spec.managed_policy_arns.iter().map(String::as_str),
                        ),
                );
            }
            // Passed (by whoever uses it) only to the services its trust policy names.
            let services = crate::permissions::trusted_services(&spec.assume_role_policy);
            if !services.is_empty() {
                grants.push(
                    Grant::new(["iam:PassRole"])
                        .on(crate::permissions::ROLE)
                        .when(
                            "StringEquals",
                            "iam:PassedToService",
                            services.iter().map(String::as_str),
                        ),
                );
            }
            // A role EC2 assumes goes into an instance profile: AddRoleToInstanceProfile
            // checks iam:PassRole without a service to pass it to.
            if services.iter().any(|s| s == "ec2.amazonaws.com") {
                grants.push(Grant::new(["iam:PassRole"]).on(crate::permissions::ROLE));
            }
        }
        grants
    }

    async fn read(&self, aws: &Aws, wanted: &[Wanted<'_, ()>]) -> Result<Vec<FoundRole>, Error> {
        let found =
            futures::future::try_join_all(wanted.iter().map(|w| find(aws, w.name, w.tags))).await?;
        Ok(found.into_iter().flatten().collect())
    }

    fn name<'o>(&self, o: &'o FoundRole) -> &'o str {
        &o.name
    }

    fn owner<'o>(&self, o: &'o FoundRole) -> Option<&'o str> {
        o.owner.as_deref()
    }

    fn id(&self, o: &FoundRole) -> String {
        o.arn.clone()
    }

    fn tag_target(&self, o: &FoundRole) -> Option<crate::TagTarget> {
        Some(crate::TagTarget::IamRole(o.name.clone()))
    }

    fn describe(&self, d: &RoleSpec) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta.update(
            RoleField::AssumeRolePolicy,
            None::<&str>,
            Some(&d.assume_role_policy),
        );
        for arn in &d.managed_policy_arns {
            delta.update(RoleField::ManagedPolicyArns, None::<&str>, Some(arn));
        }
        delta.diffs()
    }

    fn diff(&self, d: &RoleSpec, o: &FoundRole) -> Delta<RoleField> {
        let mut delta = Delta::new();
        if !same_policy(&o.trust, &d.assume_role_policy) {
            delta.update(
                RoleField::AssumeRolePolicy,
                Some(compact(&o.trust)),
                Some(&d.assume_role_policy),
            );
        }
        for arn in d
            .managed_policy_arns
            .iter()
            .filter(|a| !o.attached.contains(a))
        {
            delta.update(RoleField::ManagedPolicyArns, None::<&str>, Some(arn));
        }
        delta
    }

    fn outputs(&self, o: &FoundRole) -> RoleOutputs {
        RoleOutputs {
            role_arn: o.arn.clone(),
            role_name: o.name.clone(),
        }
    }

    fn output_id(&self, out: &RoleOutputs) -> Option<String> {
        Some(out.role_arn.clone())
    }

    async fn create(&self, cx: Cx<'_>, d: &RoleSpec) -> Result<RoleOutputs, Error> {
        let out = cx
            .aws
            .iam()
            .create_role()
            .role_name(cx.name)
            .assume_role_policy_document(&d.assume_role_policy)
            .set_tags(Some(cx.tags.iam(cx.name)))
            .send()
            .await
            .context("CreateRole", RoleKind::label(cx.name))?;
        let arn = out.role().map(|r| r.arn()).unwrap_or_default().to_owned();
        for policy in &d.managed_policy_arns {
            attach(cx.aws, cx.name, policy).await?;
        }
        Ok(RoleOutputs {
            role_arn: arn,
            role_name: cx.name.to_owned(),
        })
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &RoleSpec,
        o: &FoundRole,
        delta: &Delta<RoleField>,
    ) -> Result<RoleOutputs, Error> {
        for field in delta.fields() {
            match field {
                RoleField::AssumeRolePolicy => {
                    cx.aws
                        .iam()
                        .update_assume_role_policy()
                        .role_name(cx.name)
                        .policy_document(&d.assume_role_policy)
                        .send()
                        .await
                        .context("UpdateAssumeRolePolicy", RoleKind::label(cx.name))?;
                }
                // One attachment for each policy the role lacks.
                RoleField::ManagedPolicyArns => {
                    for policy in d
                        .managed_policy_arns
                        .iter()
                        .filter(|a| !o.attached.contains(a))
                    {
                        attach(cx.aws, cx.name, policy).await?;
                    }
                }
            }
        }
        Ok(self.outputs(o))
    }

    /// IAM deletes no role that has policies: every managed policy is detached and every
    /// inline policy deleted first.
    async fn delete(&self, cx: Cx<'_>, o: &FoundRole) -> Result<(), Error> {
        let aws = cx.aws;
        let name = cx.name;
        futures::future::try_join_all(o.attached.iter().map(|arn| async move {
            let result = aws
                .iam()
                .detach_role_policy()
                .role_name(name)
                .policy_arn(arn)
                .send()
                .await
                .context("DetachRolePolicy", RoleKind::label(name));
            crate::ignore_not_found(result)
        }))
        .await?;
        let policies = inline(aws, name).await?;
        futures::future::try_join_all(policies.iter().map(|policy| async move {
            let result = aws
                .iam()
                .delete_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
                .context("DeleteRolePolicy", RoleKind::label(name));
            crate::ignore_not_found(result)
        }))
        .await?;
        aws.iam()
            .delete_role()
            .role_name(name)
            .send()
            .await
            .context("DeleteRole", RoleKind::label(name))?;
        Ok(())
    }
}

/// A policy document as IAM returns it: URL-encoded (RFC 3986) by the API, though some
/// tools hand it back decoded. Text that is JSON already is kept as it is.
pub fn decode_policy(raw: &str) -> String {
    if serde_json::from_str::<Json>(raw).is_ok() {
        return raw.to_owned();
    }
    percent_decode(raw).unwrap_or_else(|| raw.to_owned())
}

/// `%XX` escapes to bytes; `None` when the result is not UTF-8 or an escape is broken.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A policy's JSON on one line, for the plan; the text itself when it is not JSON.
pub(crate) fn compact(text: &str) -> String {
    serde_json::from_str::<Json>(text)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| text.to_owned())
}

/// A policy in one canonical spelling: IAM treats `"Action": "x"` as `["x"]`, a lone
/// statement as a list of one, and the order inside those lists as irrelevant.
fn normalize(value: Json) -> Json {
    const LISTS: [&str; 8] = [
        "Statement",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Service",
        "AWS",
        "Federated",
    ];
    match value {
        Json::Object(map) => Json::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let value = normalize(value);
                    if LISTS.contains(&key.as_str()) {
                        let mut items = match value {
                            Json::Array(items) => items,
                            one => vec![one],
                        };
                        items.sort_by_cached_key(Json::to_string);
                        (key, Json::Array(items))
                    } else {
                        (key, value)
                    }
                })
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.into_iter().map(normalize).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    fn matches(trust: &str) -> bool {
        same_policy(&decode_policy(trust), TRUST)
    }

    #[test]
    fn trust_policy_compares_by_meaning() {
        assert_eq!(trust_policy("ecs-tasks.amazonaws.com"), TRUST);
        assert!(matches(TRUST));
        // As IAM returns it: URL-encoded.
        let encoded = "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%7B%22Effect%22%3A%20%22Allow%22%2C%20%22Principal%22%3A%20%7B%22Service%22%3A%20%22ecs-tasks.amazonaws.com%22%7D%2C%20%22Action%22%3A%20%22sts%3AAssumeRole%22%7D%5D%7D";
        assert!(matches(encoded));
        // Other spellings of the same policy.
        assert!(matches(
            r#"{"Statement":{"Action":["sts:AssumeRole"],"Principal":{"Service":["ecs-tasks.amazonaws.com"]},"Effect":"Allow"},"Version":"2012-10-17"}"#
        ));
        // A different principal, or no JSON at all, differs.
        assert!(!matches(&TRUST.replace("ecs-tasks", "ec2")));
        assert!(!matches("%ZZ"));
        assert!(!matches(""));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2Fc").as_deref(), Some("a b/c"));
        assert_eq!(percent_decode("100%").as_deref(), None);
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(percent_decode("%FF").as_deref(), None);
    }

    #[test]
    fn managed_policy_arn_follows_the_partition() {
        let name = "service-role/AmazonECSTaskExecutionRolePolicy";
        assert_eq!(
            managed_policy_arn("us-east-1", name),
            "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
        );
        assert!(managed_policy_arn("cn-north-1", name).starts_with("arn:aws-cn:"));
        assert!(managed_policy_arn("us-gov-west-1", name).starts_with("arn:aws-us-gov:"));
    }

    #[test]
    fn a_missing_policy_is_an_update_and_others_policies_stay() {
        let found = FoundRole {
            name: "r".into(),
            arn: "arn:aws:iam::1:role/r".into(),
            trust: TRUST.into(),
            owner: None,
            attached: vec!["arn:other".into()],
        };
        let want = RoleSpec {
            assume_role_policy: TRUST.into(),
            managed_policy_arns: vec!["arn:mine".into()],
        };
        let delta = RoleKind.diff(&want, &found);
        assert_eq!(delta.diffs().len(), 1);
        assert_eq!(delta.changes[0].field, RoleField::ManagedPolicyArns);
        assert_eq!(delta.diffs()[0].field, "managed_policy_arns");
        assert_eq!(delta.diffs()[0].after.as_deref(), Some("arn:mine"));
        assert!(!delta.replaces());
        let none = RoleSpec {
            managed_policy_arns: vec![],
            ..want
        };
        assert!(RoleKind.diff(&none, &found).is_empty());
        let trusting_ec2 = RoleSpec {
            assume_role_policy: trust_policy("ec2.amazonaws.com"),
            ..none
        };
        let delta = RoleKind.diff(&trusting_ec2, &found);
        assert_eq!(delta.fields(), [RoleField::AssumeRolePolicy]);
        assert!(!delta.replaces());
    }
}

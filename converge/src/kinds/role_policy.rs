//! `aws_iam_role_policy`: an inline policy on a role, found by the role's name and its own.
//!
//! Inline policies carry no tags, so they are ours by place: on the role the declaration
//! names, under the exact names the declaration may use ([`PolicyNames::Exact`]: a
//! service's `<environment>-<service>-secrets` and `-exec`, tracked when turned off, so one
//! the inputs no longer name is deleted), or after a prefix that ends in a separator no other
//! declaration's names contain ([`PolicyNames::Prefix`]: a task role's own `<role>.`, where
//! services' names have no dot). Never by a prefix another instance's name can extend:
//! `blog-web-` is a prefix of `blog-web-admin-secrets`.

use async_trait::async_trait;

use crate::delta::{Delta, Field};
use crate::kinds::iam_role::{compact, decode_policy, inline, same_policy};
use crate::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use crate::plan::Diff;
use crate::resource::{Cx, Resource, Wanted};
use crate::{Aws, AwsResultExt, Error, Transient};

/// The inline policy kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct RolePolicyKind;

/// Where a declaration's inline policies are, and which of them are its.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolePolicyKey {
    /// The role's name.
    pub role: String,
    /// Which of the role's policies are the declaration's.
    pub names: PolicyNames,
}

/// Which inline policies of a role a declaration claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyNames {
    /// These names, exactly.
    Exact(Vec<String>),
    /// Every name that starts with this, which must end in a separator that no other
    /// declaration's policy names on the role contain.
    Prefix(String),
}

impl PolicyNames {
    /// Whether `name` is one of these; the length of what matched, to prefer exact names.
    fn claims(&self, name: &str) -> Option<usize> {
        match self {
            PolicyNames::Exact(names) => names.iter().any(|n| n == name).then_some(usize::MAX),
            PolicyNames::Prefix(prefix) => name.starts_with(prefix).then_some(prefix.len()),
        }
    }

    /// A name to track the claim by, when no policy is declared.
    pub fn label(&self) -> &str {
        match self {
            PolicyNames::Exact(names) => names.first().map(String::as_str).unwrap_or_default(),
            PolicyNames::Prefix(prefix) => prefix,
        }
    }
}

/// What an inline policy should say.
#[derive(Clone, Debug, PartialEq)]
pub struct RolePolicySpec<P: Phase = AtPlan> {
    /// The role's name (the key's).
    pub role: String,
    /// The policy document, as JSON (built from other resources' outputs, such as the
    /// account in the role's ARN).
    pub document: P::Value<String>,
}

impl Resolve for RolePolicySpec {
    type Output = RolePolicySpec<AtApply>;

    fn resolve(&self) -> Result<RolePolicySpec<AtApply>, Unknown> {
        Ok(RolePolicySpec {
            role: self.role.clone(),
            document: self.document.resolve("document")?,
        })
    }
}

/// An inline policy as IAM has it.
#[derive(Clone, Debug)]
pub struct FoundRolePolicy {
    role: String,
    name: String,
    /// The document, URL-decoded.
    document: String,
    owner: Option<String>,
}

/// An inline policy's outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RolePolicyOutputs {
    /// The role's name.
    pub role: String,
    /// The policy's name.
    pub name: String,
}

fn resource(role: &str, name: &str) -> String {
    format!("{} \"{role}:{name}\"", RolePolicyKind::KIND)
}

/// The declaration that owns `name` on `role`: the one that names it exactly, else the one
/// whose prefix it carries.
fn owner_of(wanted: &[Wanted<'_, RolePolicyKey>], role: &str, name: &str) -> Option<String> {
    wanted
        .iter()
        .filter(|w| w.key.role == role)
        .filter_map(|w| w.key.names.claims(name).map(|len| (len, w)))
        .max_by_key(|(len, _)| *len)
        .map(|(_, w)| w.tags.owner().to_owned())
}

/// The names of `role`'s inline policies; none when the role does not exist (yet).
async fn names(aws: &Aws, role: &str) -> Result<Vec<String>, Error> {
    match inline(aws, role).await {
        Err(err) if err.code() == Some("NoSuchEntity") => Ok(Vec::new()),
        other => other,
    }
}

async fn read_role(
    aws: &Aws,
    wanted: &[Wanted<'_, RolePolicyKey>],
    role: &str,
) -> Result<Vec<FoundRolePolicy>, Error> {
    let ours: Vec<(String, String)> = names(aws, role)
        .await?
        .into_iter()
        .filter_map(|name| owner_of(wanted, role, &name).map(|owner| (name, owner)))
        .collect();
    let found = futures::future::try_join_all(ours.into_iter().map(|(name, owner)| async move {
        let result = aws
            .iam()
            .get_role_policy()
            .role_name(role)
            .policy_name(&name)
            .send()
            .await
            .context("GetRolePolicy", resource(role, &name));
        let out = match result {
            // Deleted between the list and the get.
            Err(err) if err.is_not_found() => return Ok(None),
            other => other?,
        };
        Ok::<_, Error>(Some(FoundRolePolicy {
            role: role.to_owned(),
            document: decode_policy(out.policy_document()),
            name,
            owner: Some(owner),
        }))
    }))
    .await?;
    Ok(found.into_iter().flatten().collect())
}

async fn put(cx: Cx<'_>, role: &str, document: &str) -> Result<(), Error> {
    cx.aws
        .iam()
        .put_role_policy()
        .role_name(role)
        .policy_name(cx.name)
        .policy_document(document)
        .send()
        .await
        .context("PutRolePolicy", resource(role, cx.name))?;
    Ok(())
}

/// An inline policy's fields that a plan can show changed; it changes in place (a policy
/// on another role is another resource).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RolePolicyField {
    /// The policy document.
    Policy,
}

impl Field for RolePolicyField {
    fn name(&self) -> &str {
        match self {
            RolePolicyField::Policy => "policy",
        }
    }
}

#[async_trait]
impl Resource for RolePolicyKind {
    const KIND: &'static str = "aws_iam_role_policy";
    // Secrets or exec taken out of the inputs: their policy goes.
    const PRUNE: bool = true;
    // IAM may not show a role just made to the next call yet; a put is repeated whole.
    const TRANSIENT: Transient = Transient::codes(&["NoSuchEntity"]);
    type Field = RolePolicyField;
    type Key = RolePolicyKey;
    type Desired = RolePolicySpec;
    type Observed = FoundRolePolicy;
    type Outputs = RolePolicyOutputs;

    fn permissions(
        &self,
        key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<crate::permissions::Grant> {
        use crate::permissions::Grant;
        let role = format!("arn:aws:iam::*:role/{}", key.role);
        vec![Grant::new([
            "iam:ListRolePolicies",
            "iam:GetRolePolicy",
            "iam:PutRolePolicy",
            "iam:DeleteRolePolicy",
        ])
        .on(role)]
    }

    async fn read(
        &self,
        aws: &Aws,
        wanted: &[Wanted<'_, RolePolicyKey>],
    ) -> Result<Vec<FoundRolePolicy>, Error> {
        let mut roles: Vec<&str> = wanted.iter().map(|w| w.key.role.as_str()).collect();
        roles.sort_unstable();
        roles.dedup();
        let reads =
            futures::future::try_join_all(roles.into_iter().map(|r| read_role(aws, wanted, r)));
        Ok(reads.await?.into_iter().flatten().collect())
    }

    fn name<'o>(&self, o: &'o FoundRolePolicy) -> &'o str {
        &o.name
    }

    fn matches(&self, o: &FoundRolePolicy, name: &str, key: &RolePolicyKey) -> bool {
        o.name == name && o.role == key.role
    }

    fn owner<'o>(&self, o: &'o FoundRolePolicy) -> Option<&'o str> {
        o.owner.as_deref()
    }

    /// Terraform's id, `<role>:<policy>`.
    fn id(&self, o: &FoundRolePolicy) -> String {
        format!("{}:{}", o.role, o.name)
    }

    fn describe(&self, d: &RolePolicySpec) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta.update(
            RolePolicyField::Policy,
            None::<String>,
            Some(d.document.as_ref().map(|p| compact(p))),
        );
        delta.diffs()
    }

    fn diff(&self, d: &RolePolicySpec, o: &FoundRolePolicy) -> Delta<RolePolicyField> {
        let mut delta = Delta::new();
        let same = d
            .document
            .known()
            .is_some_and(|want| same_policy(&o.document, want));
        if !same {
            let want = d.document.as_ref().map(|p| compact(p));
            delta.update(
                RolePolicyField::Policy,
                Some(compact(&o.document)),
                Some(want),
            );
        }
        delta
    }

    fn outputs(&self, o: &FoundRolePolicy) -> RolePolicyOutputs {
        RolePolicyOutputs {
            role: o.role.clone(),
            name: o.name.clone(),
        }
    }

    fn output_id(&self, out: &RolePolicyOutputs) -> Option<String> {
        Some(format!("{}:{}", out.role, out.name))
    }

    async fn create(
        &self,
        cx: Cx<'_>,
        d: &RolePolicySpec<AtApply>,
    ) -> Result<RolePolicyOutputs, Error> {
        put(cx, &d.role, &d.document).await?;
        Ok(RolePolicyOutputs {
            role: d.role.clone(),
            name: cx.name.to_owned(),
        })
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &RolePolicySpec<AtApply>,
        o: &FoundRolePolicy,
        delta: &Delta<RolePolicyField>,
    ) -> Result<RolePolicyOutputs, Error> {
        for field in delta.fields() {
            match field {
                RolePolicyField::Policy => {
                    put(cx, &o.role, &d.document).await?;
                }
            }
        }
        Ok(self.outputs(o))
    }

    async fn delete(&self, cx: Cx<'_>, o: &FoundRolePolicy) -> Result<(), Error> {
        let result = cx
            .aws
            .iam()
            .delete_role_policy()
            .role_name(&o.role)
            .policy_name(&o.name)
            .send()
            .await
            .context("DeleteRolePolicy", resource(&o.role, &o.name));
        crate::ignore_not_found(result)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    fn found(document: &str) -> FoundRolePolicy {
        FoundRolePolicy {
            role: "blog-task".into(),
            name: "blog-task.s3".into(),
            document: document.into(),
            owner: None,
        }
    }

    fn spec(document: Value<String>) -> RolePolicySpec {
        RolePolicySpec {
            role: "blog-task".into(),
            document,
        }
    }

    #[test]
    fn a_changed_document_is_updated_in_place() {
        let old = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
        let new = old.replace("GetObject", "PutObject");
        assert!(RolePolicyKind
            .diff(&spec(Value::Known(old.into())), &found(old))
            .is_empty());
        let delta = RolePolicyKind.diff(&spec(Value::Known(new)), &found(old));
        assert_eq!(delta.fields(), [RolePolicyField::Policy]);
        assert_eq!(delta.diffs()[0].field, "policy");
        assert!(!delta.replaces());
        let unknown = RolePolicyKind.diff(&spec(Value::AfterApply), &found(old));
        assert_eq!(unknown.fields(), [RolePolicyField::Policy]);
        assert_eq!(
            RolePolicyKind.describe(&spec(Value::AfterApply))[0].field,
            "policy"
        );
    }
}

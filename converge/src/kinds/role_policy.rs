//! `aws_iam_role_policy`: an inline policy on a role, found by the role's name and its own.
//!
//! Inline policies carry no tags, so they are ours by place: on the role the declaration
//! names, with the declaration's name prefix (`<environment>-<service>-` for a service's
//! secrets and exec policies, `<role>-` for a task role's own). The read lists every inline
//! policy of each role and keeps those that carry a declared prefix; one of ours the inputs
//! no longer name (secrets taken out) is deleted.

use async_trait::async_trait;

use crate::kinds::iam_role::{compact, decode_policy, inline, same_policy};
use crate::plan::Diff;
use crate::resource::{Cx, Delta, Resource, Wanted};
use crate::{Aws, AwsResultExt, Error, Transient, Value};

/// The inline policy kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct RolePolicyKind;

/// Where a declaration's inline policies are, and which of them are its.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolePolicyKey {
    /// The role's name.
    pub role: String,
    /// What the declaration's policy names start with.
    pub prefix: String,
}

/// What an inline policy should say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolePolicySpec {
    /// The role's name (the key's).
    pub role: String,
    /// The policy document, as JSON (built from other resources' outputs, such as the
    /// account in the role's ARN).
    pub document: Value<String>,
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

/// The declaration that owns `name` on `role`: the longest declared prefix it carries (a
/// service's `blog-web-` against a task role's `blog-`, in one stack).
fn owner_of(wanted: &[Wanted<'_, RolePolicyKey>], role: &str, name: &str) -> Option<String> {
    wanted
        .iter()
        .filter(|w| w.key.role == role && name.starts_with(&w.key.prefix))
        .max_by_key(|w| w.key.prefix.len())
        .map(|w| w.tags.owner().to_owned())
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
    // IAM may not show a role just made to the next call yet.
    cx.aws
        .retry()
        .run(cx.name, Transient::codes(&["NoSuchEntity"]), || {
            cx.aws
                .iam()
                .put_role_policy()
                .role_name(role)
                .policy_name(cx.name)
                .policy_document(document)
                .send()
        })
        .await
        .context("PutRolePolicy", resource(role, cx.name))?;
    Ok(())
}

#[async_trait]
impl Resource for RolePolicyKind {
    const KIND: &'static str = "aws_iam_role_policy";
    // Secrets or exec taken out of the inputs: their policy goes.
    const PRUNE: bool = true;
    type Key = RolePolicyKey;
    type Desired = RolePolicySpec;
    type Observed = FoundRolePolicy;
    type Outputs = RolePolicyOutputs;

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
        vec![Diff {
            field: "policy".into(),
            before: None,
            after: Some(d.document.as_ref().map(|p| compact(p)).to_string()),
        }]
    }

    fn diff(&self, d: &RolePolicySpec, o: &FoundRolePolicy) -> Delta {
        let mut delta = Delta::new();
        let same = d
            .document
            .known()
            .is_some_and(|want| same_policy(&o.document, want));
        if !same {
            let want = d.document.as_ref().map(|p| compact(p));
            delta.update("policy", Some(compact(&o.document)), Some(want));
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

    async fn create(&self, cx: Cx<'_>, d: &RolePolicySpec) -> Result<RolePolicyOutputs, Error> {
        let document = d.document.clone().require("the policy's document")?;
        put(cx, &d.role, &document).await?;
        Ok(RolePolicyOutputs {
            role: d.role.clone(),
            name: cx.name.to_owned(),
        })
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &RolePolicySpec,
        o: &FoundRolePolicy,
        _delta: &Delta,
    ) -> Result<RolePolicyOutputs, Error> {
        let document = d.document.clone().require("the policy's document")?;
        put(cx, &o.role, &document).await?;
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

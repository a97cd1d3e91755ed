//! `aws_iam_instance_profile`, with its role as an attribute: found by name (profile names
//! are unique per account), claimed by its ownership tag.

use async_trait::async_trait;
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{
    ignore_not_found, Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Resource, Transient, Wanted,
};

pub(crate) const KIND: &str = "aws_iam_instance_profile";

/// IAM may not show a role or profile just made to the next call yet.
const JUST_MADE: Transient = Transient::codes(&["NoSuchEntity"]);

/// The instance profile kind.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct InstanceProfileKind;

/// The role the profile must hold (a profile holds at most one).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct InstanceProfileSpec<P: Phase = AtPlan> {
    /// The role's name (known after apply when the role is made by it).
    pub role: P::Value<String>,
}

impl Resolve for InstanceProfileSpec {
    type Output = InstanceProfileSpec<AtApply>;

    fn resolve(&self) -> Result<InstanceProfileSpec<AtApply>, Unknown> {
        Ok(InstanceProfileSpec {
            role: self.role.resolve("role")?,
        })
    }
}

/// A profile as IAM has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FoundProfile {
    pub name: String,
    pub arn: String,
    pub owner: Option<String>,
    pub roles: Vec<String>,
}

/// What the launch template and the module's outputs use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InstanceProfileOut {
    pub arn: String,
}

async fn find(aws: &Aws, name: &str) -> Result<Option<FoundProfile>, Error> {
    let result = aws
        .iam()
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .context("GetInstanceProfile", InstanceProfileKind::label(name));
    let out = match result {
        Err(err) if err.code() == Some("NoSuchEntity") => return Ok(None),
        other => other?,
    };
    Ok(out.instance_profile().map(|p| FoundProfile {
        name: p.instance_profile_name().to_owned(),
        arn: p.arn().to_owned(),
        owner: converge::owner_in(p.tags().iter().map(|t| (Some(t.key()), Some(t.value())))),
        roles: p.roles().iter().map(|r| r.role_name().to_owned()).collect(),
    }))
}

/// Puts the role in the profile. Its own retry, not the engine's: in a create it follows
/// CreateInstanceProfile, which a repeat would refuse (EntityAlreadyExists).
async fn add_role(aws: &Aws, name: &str, role: &str) -> Result<(), Error> {
    aws.retry()
        .run(name, JUST_MADE, || {
            aws.iam()
                .add_role_to_instance_profile()
                .instance_profile_name(name)
                .role_name(role)
                .send()
        })
        .await
        .context("AddRoleToInstanceProfile", InstanceProfileKind::label(name))?;
    Ok(())
}

async fn remove_role(aws: &Aws, name: &str, role: &str) -> Result<(), Error> {
    let result = aws
        .iam()
        .remove_role_from_instance_profile()
        .instance_profile_name(name)
        .role_name(role)
        .send()
        .await
        .context(
            "RemoveRoleFromInstanceProfile",
            InstanceProfileKind::label(name),
        );
    ignore_not_found(result)
}

/// An instance profile's fields that a plan can show changed; it changes in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceProfileField {
    /// The role it holds (at most one).
    Role,
}

impl Field for InstanceProfileField {
    fn name(&self) -> &str {
        match self {
            InstanceProfileField::Role => "role",
        }
    }
}

#[async_trait]
impl Resource for InstanceProfileKind {
    const KIND: &'static str = KIND;
    type Field = InstanceProfileField;
    type Key = ();
    type Desired = InstanceProfileSpec;
    type Observed = FoundProfile;
    type Outputs = InstanceProfileOut;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::Grant;
        vec![Grant::new([
            "iam:GetInstanceProfile",
            "iam:CreateInstanceProfile",
            "iam:TagInstanceProfile",
            "iam:AddRoleToInstanceProfile",
            "iam:RemoveRoleFromInstanceProfile",
            "iam:DeleteInstanceProfile",
        ])
        .on("arn:aws:iam::*:instance-profile/{name}")]
    }

    /// IAM has no batched read of instance profiles: one `GetInstanceProfile` each, at once.
    async fn read(&self, aws: &Aws, wanted: &[Wanted<'_, ()>]) -> Result<Vec<FoundProfile>, Error> {
        let found = futures::future::try_join_all(wanted.iter().map(|w| find(aws, w.name))).await?;
        Ok(found.into_iter().flatten().collect())
    }

    fn name<'o>(&self, o: &'o FoundProfile) -> &'o str {
        &o.name
    }

    fn owner<'o>(&self, o: &'o FoundProfile) -> Option<&'o str> {
        o.owner.as_deref()
    }

    fn id(&self, o: &FoundProfile) -> String {
        o.arn.clone()
    }

    fn describe(&self, d: &InstanceProfileSpec) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta.update(InstanceProfileField::Role, None::<String>, Some(&d.role));
        delta.diffs()
    }

    /// The role changes in place: the other one out, ours in.
    fn diff(&self, d: &InstanceProfileSpec, o: &FoundProfile) -> Delta<InstanceProfileField> {
        let mut delta = Delta::new();
        let have = o.roles.join(",");
        delta.compare(InstanceProfileField::Role, &have, &d.role);
        delta
    }

    fn outputs(&self, o: &FoundProfile) -> InstanceProfileOut {
        InstanceProfileOut { arn: o.arn.clone() }
    }

    fn output_id(&self, out: &InstanceProfileOut) -> Option<String> {
        Some(out.arn.clone())
    }

    async fn create(
        &self,
        cx: Cx<'_>,
        d: &InstanceProfileSpec<AtApply>,
    ) -> Result<InstanceProfileOut, Error> {
        let out = cx
            .aws
            .iam()
            .create_instance_profile()
            .instance_profile_name(cx.name)
            .set_tags(Some(cx.tags.iam(cx.name)))
            .send()
            .await
            .context("CreateInstanceProfile", InstanceProfileKind::label(cx.name))?;
        let arn = out
            .instance_profile()
            .map(|p| p.arn().to_owned())
            .unwrap_or_default();
        add_role(cx.aws, cx.name, &d.role).await?;
        Ok(InstanceProfileOut { arn })
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &InstanceProfileSpec<AtApply>,
        o: &FoundProfile,
        delta: &Delta<InstanceProfileField>,
    ) -> Result<InstanceProfileOut, Error> {
        for field in delta.fields() {
            match field {
                // The other one out, ours in.
                InstanceProfileField::Role => {
                    for other in o.roles.iter().filter(|r| **r != d.role) {
                        remove_role(cx.aws, cx.name, other).await?;
                    }
                    if !o.roles.contains(&d.role) {
                        add_role(cx.aws, cx.name, &d.role).await?;
                    }
                }
            }
        }
        Ok(self.outputs(o))
    }

    /// IAM deletes no profile that holds a role: the role comes out first.
    async fn delete(&self, cx: Cx<'_>, o: &FoundProfile) -> Result<(), Error> {
        for role in &o.roles {
            remove_role(cx.aws, &o.name, role).await?;
        }
        cx.aws
            .iam()
            .delete_instance_profile()
            .instance_profile_name(&o.name)
            .send()
            .await
            .context("DeleteInstanceProfile", InstanceProfileKind::label(&o.name))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use converge::Value;

    fn found(roles: &[&str]) -> FoundProfile {
        FoundProfile {
            name: "blog-ecs-instance-profile".into(),
            arn: "arn:aws:iam::1:instance-profile/blog-ecs-instance-profile".into(),
            owner: Some("ecs-instances/blog".into()),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn the_role_is_compared_in_place() {
        let want = InstanceProfileSpec {
            role: Value::Known("blog-ecs-instance-role".into()),
        };
        let kind = InstanceProfileKind;
        assert!(kind
            .diff(&want, &found(&["blog-ecs-instance-role"]))
            .is_empty());
        let empty = kind.diff(&want, &found(&[]));
        assert!(!empty.replaces());
        assert_eq!(empty.fields(), [InstanceProfileField::Role]);
        assert_eq!(empty.diffs()[0].field, "role");
        assert_eq!(
            (
                empty.diffs()[0].before.as_deref(),
                empty.diffs()[0].after.as_deref()
            ),
            (Some(""), Some("blog-ecs-instance-role"))
        );
        assert!(!kind.diff(&want, &found(&["other"])).is_empty());
        let later = InstanceProfileSpec {
            role: Value::AfterApply,
        };
        assert!(!kind
            .diff(&later, &found(&["blog-ecs-instance-role"]))
            .is_empty());
        assert_eq!(
            kind.describe(&later)[0].after.as_deref(),
            Some(converge::AFTER_APPLY)
        );
    }

    /// The role is known at apply, or named as the input still unknown.
    #[test]
    fn resolve_names_an_input_still_unknown() {
        let later = InstanceProfileSpec {
            role: Value::AfterApply,
        };
        assert_eq!(later.resolve().unwrap_err().input, "role");
        let applied = InstanceProfileSpec {
            role: Value::Known("blog-ecs-instance-role".into()),
        }
        .resolve()
        .unwrap();
        assert_eq!(applied.role, "blog-ecs-instance-role");
    }
}

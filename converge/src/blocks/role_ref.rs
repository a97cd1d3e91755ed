//! A reference to an IAM role that other resources attach policies to: its name, known when
//! the stack is declared (an inline policy is found by it), and its ARN, known once the role
//! exists.

use crate::Ref;

/// An IAM role as another block sees it: the name now, the ARN after apply.
///
/// From a role declared in the same stack ([`TaskExecutionRole::role_ref`],
/// [`TaskRole::role_ref`]) or from one that exists already ([`RoleRef::from_arn`]).
///
/// [`TaskExecutionRole::role_ref`]: crate::TaskExecutionRole::role_ref
/// [`TaskRole::role_ref`]: crate::TaskRole::role_ref
#[derive(Clone, Debug)]
pub struct RoleRef {
    name: String,
    arn: Ref<String>,
}

impl RoleRef {
    /// The role called `name`, whose ARN `arn` gives.
    pub fn new(name: impl Into<String>, arn: Ref<String>) -> Self {
        Self {
            name: name.into(),
            arn,
        }
    }

    /// A role that exists already, by its ARN (`arn:aws:iam::<account>:role/<path><name>`);
    /// `None` when `arn` is not a role's ARN.
    pub fn from_arn(arn: &str) -> Option<Self> {
        let name = role_name_of(arn)?;
        Some(Self::new(name, Ref::known(arn.to_owned())))
    }

    /// The role's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The role's ARN.
    pub fn arn(&self) -> &Ref<String> {
        &self.arn
    }
}

/// The name in a role's ARN: what follows the last `/` of its `role/<path>` part.
pub(crate) fn role_name_of(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (scheme, _partition, service) = (parts.next()?, parts.next()?, parts.next()?);
    let resource = parts.nth(2)?;
    if scheme != "arn" || service != "iam" || !resource.starts_with("role/") {
        return None;
    }
    resource.rsplit('/').next().filter(|n| !n.is_empty())
}

/// The account and partition in an ARN, for the ARNs of a policy's resources.
pub fn account_of(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.split(':');
    let partition = parts.nth(1)?;
    let account = parts.nth(2)?;
    Some((partition, account)).filter(|(p, a)| !p.is_empty() && !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_arn_gives_its_name_and_account() {
        let arn = "arn:aws:iam::123456789012:role/service/blog-web-task";
        assert_eq!(role_name_of(arn), Some("blog-web-task"));
        assert_eq!(role_name_of("arn:aws-cn:iam::1:role/plain"), Some("plain"));
        assert_eq!(account_of(arn), Some(("aws", "123456789012")));
        for bad in [
            "blog-web-task",
            "arn:aws:iam::1:user/bob",
            "arn:aws:s3:::bucket/role/x",
            "arn:aws:iam::1:role/",
        ] {
            assert_eq!(role_name_of(bad), None, "{bad}");
        }
        assert_eq!(account_of("arn:aws:iam:::role/x"), None);
    }
}

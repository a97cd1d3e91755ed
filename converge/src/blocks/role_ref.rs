//! A reference to an IAM role that other resources attach policies to: its name, known when
//! the stack is declared (an inline policy is found by it), and its ARN, known once the role
//! exists.

use crate::kinds::iam_role::RoleOutputs;
use crate::{Address, Applied, Ref, Refs};

/// An IAM role as another block sees it: the name now, the ARN after apply.
///
/// From a role declared in the same stack (the [`RoleRefs`] a
/// [`TaskExecutionRole`](crate::TaskExecutionRole) or [`TaskRole`](crate::TaskRole) declares),
/// from a role's outputs, or from one that exists already ([`RoleRef::from_arn`]).
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

impl From<&RoleRefs> for RoleRef {
    fn from(refs: &RoleRefs) -> Self {
        refs.role.clone()
    }
}

impl From<RoleRefs> for RoleRef {
    fn from(refs: RoleRefs) -> Self {
        refs.role
    }
}

impl From<&RoleOutputs> for RoleRef {
    fn from(outputs: &RoleOutputs) -> Self {
        Self::new(&outputs.role_name, Ref::known(outputs.role_arn.clone()))
    }
}

impl From<&Applied<RoleOutputs>> for RoleRef {
    fn from(applied: &Applied<RoleOutputs>) -> Self {
        Self::from(&applied.outputs)
    }
}

/// A role declared into a stack (a task execution role, a task role): the reference the
/// services take, its outputs, and the addresses of the role and its policies.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RoleRefs {
    /// The role as a service takes it.
    pub role: RoleRef,
    /// Its outputs, known once it exists.
    pub outputs: Ref<RoleOutputs>,
    /// The role's address, and its inline policies'.
    pub addresses: Vec<Address>,
}

impl RoleRefs {
    /// The refs of the role `name` whose outputs `outputs` gives, declared as `addresses`.
    pub(crate) fn new(name: &str, outputs: Ref<RoleOutputs>, addresses: Vec<Address>) -> Self {
        Self {
            role: RoleRef::new(name, outputs.clone().map(|o| o.role_arn)),
            outputs,
            addresses,
        }
    }
}

impl Refs for RoleRefs {
    type Outputs = RoleOutputs;

    fn outputs(&self) -> Ref<RoleOutputs> {
        self.outputs.clone()
    }

    fn addresses(&self) -> &[Address] {
        &self.addresses
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

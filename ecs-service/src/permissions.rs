//! The inline policies a service puts on its roles, so that what the task asks for works on
//! AWS: reading its secrets as the execution role (`<environment>-<service>-secrets`), and
//! ECS Exec's channels as the task role (`<environment>-<service>-exec`). Without them a task
//! with secrets never starts, and `aws ecs execute-command` is refused.

use converge::kinds::{PolicyNames, RolePolicyKey, RolePolicyKind, RolePolicySpec};
use converge::{Aws, Handle, RoleRef, Stack, Tags};
use serde_json::{json, Value as Json};

use crate::inputs::Service;

impl Service {
    /// The secrets policy on the execution role and the exec policy on the task role, when
    /// the inputs ask for them; otherwise each role is still read, so that one an earlier
    /// apply made goes. The service waits for the ones declared.
    pub(crate) fn declare_policies(
        &self,
        aws: &Aws,
        stack: &mut Stack,
        tags: &Tags,
    ) -> Vec<Handle<RolePolicyKind>> {
        // Each policy is claimed by its exact name: `blog-web-` is a prefix of
        // `blog-web-admin-secrets`, another service's.
        let prefix = format!("{}-", self.full_name());
        let secrets = (!self.secrets.is_empty()).then(|| {
            let (region, sources) = (aws.region().to_owned(), self.secrets.clone());
            let key = self.secrets_kms_key.clone();
            move |arn: &str| secrets_policy(arn, &region, &sources, key.as_deref())
        });
        let exec = self
            .enable_execute_command
            .then_some(|_: &str| exec_policy());
        let mut declared = Vec::new();
        if let Some(role) = &self.execution_role {
            let name = format!("{prefix}secrets");
            declared.extend(declare_one(stack, tags, role, name, secrets));
        }
        if let Some(role) = &self.task_role {
            let name = format!("{prefix}exec");
            declared.extend(declare_one(stack, tags, role, name, exec));
        }
        declared
    }
}

/// Declares the policy `name` on `role` with the document `document` builds from the role's
/// ARN, or, without one, tracks it.
fn declare_one(
    stack: &mut Stack,
    tags: &Tags,
    role: &RoleRef,
    name: String,
    document: Option<impl Fn(&str) -> String + Send + Sync + 'static>,
) -> Option<Handle<RolePolicyKind>> {
    let key = RolePolicyKey {
        role: role.name().to_owned(),
        names: PolicyNames::Exact(vec![name.clone()]),
    };
    let arn = role.arn().clone();
    match document {
        Some(document) => {
            let role = key.role.clone();
            Some(
                stack.add(RolePolicyKind, name, tags.clone(), key, move |r| {
                    RolePolicySpec {
                        role: role.clone(),
                        document: r.value(&arn).map(|arn| document(&arn)),
                    }
                }),
            )
        }
        None => {
            // After the role, so that destroy deletes it first.
            stack.track(RolePolicyKind, name, tags.clone(), key, move |r| {
                let _ = r.value(&arn);
            });
            None
        }
    }
}

/// Where a container's secret comes from, as its `valueFrom` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SecretSource {
    /// An SSM parameter: its ARN, or its name in the task's region and account.
    Parameter(String),
    /// A Secrets Manager secret's ARN, without the JSON key and version ECS accepts after it.
    Secret(String),
}

impl SecretSource {
    /// Reads a `valueFrom`: an SSM parameter's ARN or name, or a Secrets Manager secret's
    /// ARN (ECS's rule); anything else is the reason it is refused.
    pub(crate) fn parse(value_from: &str) -> Result<Self, String> {
        let Some(rest) = value_from.strip_prefix("arn:") else {
            let name_ok = !value_from.is_empty()
                && value_from.len() <= 2048
                && value_from
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c));
            return match name_ok {
                true => Ok(Self::Parameter(value_from.to_owned())),
                false => Err(format!(
                    "{value_from:?} is neither an ARN nor an SSM parameter name (letters, digits and _.-/)"
                )),
            };
        };
        let parts: Vec<&str> = rest.split(':').collect();
        match parts.as_slice() {
            [_, "ssm", region, account, resource]
                if !region.is_empty()
                    && !account.is_empty()
                    && resource.starts_with("parameter/") =>
            {
                Ok(Self::Parameter(value_from.to_owned()))
            }
            [_, "secretsmanager", region, account, "secret", name, ..]
                if !region.is_empty() && !account.is_empty() && !name.is_empty() =>
            {
                Ok(Self::Secret(format!("arn:{}", parts[..6].join(":"))))
            }
            _ => Err(format!(
                "{value_from:?} is not an SSM parameter's ARN (arn:<partition>:ssm:<region>:<account>:parameter/<name>) nor a Secrets Manager secret's (arn:<partition>:secretsmanager:<region>:<account>:secret:<name>)"
            )),
        }
    }
}

/// A KMS key's ARN (`arn:<partition>:kms:<region>:<account>:key/<id>`), which `kms:Decrypt`
/// takes; an alias is not one.
pub(crate) fn is_key_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    matches!(parts.as_slice(),
        ["arn", _, "kms", region, account, key]
            if !region.is_empty() && !account.is_empty() && key.len() > "key/".len() && key.starts_with("key/"))
}

/// The execution role's policy for `sources`: `ssm:GetParameters` on the parameters,
/// `secretsmanager:GetSecretValue` on the secrets, `kms:Decrypt` on `key`. A parameter given
/// by name is in `region` and in the account and partition of `role_arn`.
pub(crate) fn secrets_policy(
    role_arn: &str,
    region: &str,
    sources: &[SecretSource],
    key: Option<&str>,
) -> String {
    let (partition, account) = converge::account_of(role_arn).unwrap_or(("aws", "*"));
    let mut parameters = Vec::new();
    let mut secrets = Vec::new();
    for source in sources {
        match source {
            SecretSource::Parameter(arn) if arn.starts_with("arn:") => parameters.push(arn.clone()),
            SecretSource::Parameter(name) => parameters.push(format!(
                "arn:{partition}:ssm:{region}:{account}:parameter/{}",
                name.trim_start_matches('/')
            )),
            SecretSource::Secret(arn) => {
                secrets.push(arn.clone());
                // A partial ARN (the name without the six characters Secrets Manager adds)
                // only matches the secret with them.
                if !has_random_suffix(arn) {
                    secrets.push(format!("{arn}-??????"));
                }
            }
        }
    }
    let mut statements = Vec::new();
    for (sid, action, resources) in [
        ("Parameters", "ssm:GetParameters", parameters),
        ("Secrets", "secretsmanager:GetSecretValue", secrets),
        (
            "Key",
            "kms:Decrypt",
            key.map(str::to_owned).into_iter().collect(),
        ),
    ] {
        let mut resources = resources;
        resources.sort();
        resources.dedup();
        if !resources.is_empty() {
            statements.push(json!({
                "Sid": sid,
                "Effect": "Allow",
                "Action": action,
                "Resource": resources,
            }));
        }
    }
    document(statements)
}

/// The task role's policy for ECS Exec: the SSM agent in the task opens its channels.
pub(crate) fn exec_policy() -> String {
    document(vec![json!({
        "Sid": "ExecuteCommand",
        "Effect": "Allow",
        "Action": [
            "ssmmessages:CreateControlChannel",
            "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel",
            "ssmmessages:OpenDataChannel",
        ],
        "Resource": "*",
    })])
}

fn document(statements: Vec<Json>) -> String {
    json!({ "Version": "2012-10-17", "Statement": statements }).to_string()
}

/// Whether a secret's name ends with the `-` and six characters Secrets Manager appends.
fn has_random_suffix(arn: &str) -> bool {
    let name = arn.rsplit(':').next().unwrap_or_default();
    name.len() > 7
        && name.as_bytes()[name.len() - 7] == b'-'
        && name[name.len() - 6..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::123456789012:role/blog-ecs-task-execution";

    #[test]
    fn value_from_forms() {
        assert_eq!(
            SecretSource::parse("/blog/db_password"),
            Ok(SecretSource::Parameter("/blog/db_password".into()))
        );
        assert_eq!(
            SecretSource::parse(
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbC123:password::"
            ),
            Ok(SecretSource::Secret(
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbC123".into()
            ))
        );
        for bad in [
            "",
            "a b",
            "arn:aws:s3:::bucket/key",
            "arn:aws:ssm:eu-west-1:1:document/x",
            "arn:aws:secretsmanager:eu-west-1:1:secret:",
        ] {
            assert!(SecretSource::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_secrets_policy_names_exactly_the_sources() {
        let sources = [
            SecretSource::parse("/blog/db").unwrap(),
            SecretSource::parse("arn:aws:ssm:eu-west-1:999:parameter/other").unwrap(),
            SecretSource::parse("arn:aws:secretsmanager:eu-west-1:1:secret:api-AbC123").unwrap(),
            SecretSource::parse("arn:aws:secretsmanager:eu-west-1:1:secret:token").unwrap(),
        ];
        let key = "arn:aws:kms:eu-west-1:1:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let policy: Json =
            serde_json::from_str(&secrets_policy(ROLE, "eu-west-1", &sources, Some(key))).unwrap();
        let statements = policy["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 3);
        assert_eq!(
            statements[0]["Resource"],
            json!([
                "arn:aws:ssm:eu-west-1:123456789012:parameter/blog/db",
                "arn:aws:ssm:eu-west-1:999:parameter/other"
            ])
        );
        assert_eq!(
            statements[1]["Resource"],
            json!([
                "arn:aws:secretsmanager:eu-west-1:1:secret:api-AbC123",
                "arn:aws:secretsmanager:eu-west-1:1:secret:token",
                "arn:aws:secretsmanager:eu-west-1:1:secret:token-??????"
            ])
        );
        assert_eq!(statements[2]["Action"], "kms:Decrypt");
        // Parameters only: one statement.
        let only: Json =
            serde_json::from_str(&secrets_policy(ROLE, "eu-west-1", &sources[..1], None)).unwrap();
        assert_eq!(only["Statement"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn key_arns() {
        assert!(is_key_arn("arn:aws:kms:eu-west-1:1:key/abc"));
        assert!(!is_key_arn("arn:aws:kms:eu-west-1:1:alias/abc"));
        assert!(!is_key_arn("abc"));
    }
}

//! Input problems, collected and reported all at once before any AWS call.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::tags::{ENVIRONMENT_TAG, NAME_TAG, OWNER_TAG};

/// The longest environment name: every module builds names from it, and the shortest AWS
/// limit among them (load balancers, 32 characters) must still leave room.
pub const MAX_ENVIRONMENT_LEN: usize = 32;
/// ECS, IAM, EC2 and CloudWatch Logs take 50 tags a resource; three are ours.
pub const MAX_EXTRA_TAGS: usize = 47;

/// The characters every tagging service accepts in tag keys and values.
fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

/// One input that breaks one rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct Problem {
    /// The input, e.g. `cidr_block` or `availability_zones[2]`.
    pub field: String,
    /// The rule it breaks, e.g. `must be an IPv4 CIDR block`.
    pub rule: String,
}

/// Every problem found in a module's inputs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct Invalid {
    /// The problems, in the order the inputs were checked.
    pub problems: Vec<Problem>,
}

impl Invalid {
    /// No problems yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `field` breaks `rule`.
    pub fn push(&mut self, field: impl Into<String>, rule: impl fmt::Display) {
        self.problems.push(Problem {
            field: field.into(),
            rule: rule.to_string(),
        });
    }

    /// Records a problem when `ok` is false.
    pub fn check(&mut self, ok: bool, field: impl Into<String>, rule: impl fmt::Display) {
        if !ok {
            self.push(field, rule);
        }
    }

    /// Checks the `environment` every module takes: required, 1 to 32 lowercase letters,
    /// digits and hyphens, starting with a letter and not ending with a hyphen.
    ///
    /// Lowercase because IAM role and policy names, and load balancer and target group
    /// names, ignore case: `Blog` and `blog` would build the same names and clash.
    pub fn check_environment(&mut self, environment: &str) {
        const FIELD: &str = "environment";
        if environment.is_empty() {
            self.push(FIELD, "is required");
            return;
        }
        self.check(
            environment.len() <= MAX_ENVIRONMENT_LEN,
            FIELD,
            format_args!(
                "{environment:?} is {} characters; at most {MAX_ENVIRONMENT_LEN}, so the names built from it stay within AWS's limits",
                environment.len()
            ),
        );
        self.check(
            environment.starts_with(|c: char| c.is_ascii_alphabetic())
                && !environment.ends_with('-')
                && environment.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            FIELD,
            format_args!(
                "{environment:?} must be letters, digits and hyphens, start with a letter and not end with a hyphen (names and DNS names are built from it)"
            ),
        );
        self.check(
            !environment.chars().any(|c| c.is_ascii_uppercase()),
            FIELD,
            format_args!(
                "{environment:?} must be lowercase: IAM role names and load balancer names ignore case, so it would clash with {:?}",
                environment.to_ascii_lowercase()
            ),
        );
        self.check(
            !environment.to_ascii_lowercase().starts_with("sg-"),
            FIELD,
            format_args!(
                "{environment:?} must not start with \"sg-\": security group names are built from it and EC2 refuses those that start so"
            ),
        );
    }

    /// Checks a user's extra tags: keys 1 to 128 characters, not `aws:` (AWS's) nor `Name`,
    /// `Environment` or the ownership tag (the module's) in any case, no two that differ only
    /// in case (IAM's tag keys ignore case), values at most 256 characters, and no more than
    /// AWS takes.
    pub fn check_tags(&mut self, tags: &BTreeMap<String, String>) {
        self.check(
            tags.len() <= MAX_EXTRA_TAGS,
            "tags",
            format_args!(
                "{} tags; at most {MAX_EXTRA_TAGS} (AWS takes 50 and Name, Environment and {OWNER_TAG} are set already)",
                tags.len()
            ),
        );
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for (key, value) in tags {
            let field = format!("tags[{key:?}]");
            if let Some(other) = seen.insert(key.to_lowercase(), key) {
                self.push(
                    &field,
                    format_args!(
                        "differs from {other:?} only in case: IAM ignores the case of tag keys and refuses both"
                    ),
                );
            }
            self.check(
                (1..=128).contains(&key.chars().count()) && key.chars().all(is_tag_char),
                &field,
                "tag keys must be 1 to 128 letters, digits, spaces and _.:/=+-@",
            );
            self.check(
                !key.to_ascii_lowercase().starts_with("aws:"),
                &field,
                "tag keys starting with aws: are reserved by AWS",
            );
            let ours = [NAME_TAG, ENVIRONMENT_TAG, OWNER_TAG]
                .into_iter()
                .find(|t| t.to_lowercase() == key.to_lowercase());
            if let Some(ours) = ours {
                self.push(
                    &field,
                    format_args!("{ours} is set by the module (IAM ignores the case of tag keys)"),
                );
            }
            self.check(
                value.chars().count() <= 256 && value.chars().all(is_tag_char),
                &field,
                "tag values must be at most 256 letters, digits, spaces and _.:/=+-@",
            );
        }
    }

    /// Whether `field` has a problem (for tests and callers that react to one).
    pub fn has(&self, field: &str) -> bool {
        self.problems.iter().any(|p| p.field == field)
    }

    /// `Ok(value)` when there were no problems, else every problem.
    pub fn into_result<T>(self, value: T) -> Result<T, Invalid> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl From<Problem> for Invalid {
    fn from(problem: Problem) -> Self {
        Invalid {
            problems: vec![problem],
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "invalid input: {one}"),
            many => {
                write!(f, "{} invalid inputs:", many.len())?;
                for p in many {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_problem() {
        let mut invalid = Invalid::new();
        invalid.check(true, "environment", "unused");
        assert_eq!(invalid.clone().into_result(1), Ok(1));
        invalid.push("cidr_block", "must be an IPv4 CIDR block");
        assert_eq!(
            invalid.to_string(),
            "invalid input: cidr_block: must be an IPv4 CIDR block"
        );
        invalid.push("availability_zones[1]", "is listed twice");
        assert_eq!(
            invalid.to_string(),
            "2 invalid inputs:\n  - cidr_block: must be an IPv4 CIDR block\n  - availability_zones[1]: is listed twice"
        );
        assert!(invalid.has("cidr_block") && !invalid.has("environment"));
    }

    #[test]
    fn uppercase_environments_are_refused() {
        let mut invalid = Invalid::new();
        invalid.check_environment("blog-2");
        assert!(invalid.problems.is_empty(), "{invalid}");
        invalid.check_environment("Blog");
        assert_eq!(invalid.problems.len(), 1, "{invalid}");
        assert_eq!(invalid.problems[0].field, "environment");
        assert!(invalid.problems[0].rule.contains("lowercase"), "{invalid}");
    }

    #[test]
    fn tag_keys_that_differ_in_case_are_refused() {
        let tags: BTreeMap<String, String> = [("Team", "a"), ("team", "b"), ("environment", "x")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let mut invalid = Invalid::new();
        invalid.check_tags(&tags);
        let fields: Vec<&str> = invalid.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            ["tags[\"environment\"]", "tags[\"team\"]"],
            "{invalid}"
        );
        assert!(invalid.problems[0]
            .rule
            .contains("Environment is set by the module"));
        assert!(
            invalid.problems[1].rule.contains("only in case"),
            "{invalid}"
        );
    }
}

//! Input problems, collected and reported all at once before any AWS call.

use std::fmt;

use serde::Serialize;

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
}

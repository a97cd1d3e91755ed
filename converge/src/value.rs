//! A value that is either known now or only after apply, as `terraform plan` shows it.

use std::fmt;

/// What a plan shows for a value that exists only after apply.
pub const AFTER_APPLY: &str = "(known after apply)";

/// An input taken from another resource's outputs: known now (the resource exists and keeps
/// its outputs), or only once apply has made it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum Value<T> {
    /// Known now.
    Known(T),
    /// Made by this apply; its value is known only afterwards.
    #[default]
    AfterApply,
}

impl<T> Value<T> {
    /// The value, when known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Value::Known(v) => Some(v),
            Value::AfterApply => None,
        }
    }

    /// The value, when known.
    pub fn into_known(self) -> Option<T> {
        match self {
            Value::Known(v) => Some(v),
            Value::AfterApply => None,
        }
    }

    /// Whether the value is known.
    pub fn is_known(&self) -> bool {
        matches!(self, Value::Known(_))
    }

    /// A reference to the value.
    pub fn as_ref(&self) -> Value<&T> {
        match self {
            Value::Known(v) => Value::Known(v),
            Value::AfterApply => Value::AfterApply,
        }
    }

    /// The value changed by `f`, still unknown when unknown.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Value<U> {
        match self {
            Value::Known(v) => Value::Known(f(v)),
            Value::AfterApply => Value::AfterApply,
        }
    }

    /// Both values, known when both are.
    pub fn zip<U>(self, other: Value<U>) -> Value<(T, U)> {
        match (self, other) {
            (Value::Known(a), Value::Known(b)) => Value::Known((a, b)),
            _ => Value::AfterApply,
        }
    }

    /// The value that apply must have by now: every input of a resource is known once the
    /// resources it depends on are applied, so an unknown one here is a bug in a declaration
    /// (an input read conditionally), reported as an error rather than a panic.
    pub fn require(self, what: &str) -> Result<T, crate::Error> {
        self.into_known().ok_or_else(|| crate::Error::Failed {
            resource: what.to_owned(),
            reason: "an input was still unknown at apply (read every input unconditionally in a declaration)".to_owned(),
        })
    }
}

impl<T> From<T> for Value<T> {
    fn from(value: T) -> Self {
        Value::Known(value)
    }
}

impl<T> FromIterator<Value<T>> for Value<Vec<T>> {
    /// Known when every item is.
    fn from_iter<I: IntoIterator<Item = Value<T>>>(iter: I) -> Self {
        let mut out = Vec::new();
        let mut known = true;
        for v in iter {
            match v {
                Value::Known(v) => out.push(v),
                Value::AfterApply => known = false,
            }
        }
        if known {
            Value::Known(out)
        } else {
            Value::AfterApply
        }
    }
}

impl<T: fmt::Display> fmt::Display for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Known(v) => v.fmt(f),
            Value::AfterApply => f.write_str(AFTER_APPLY),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_known_when_every_item_is() {
        let all: Value<Vec<u8>> = [Value::Known(1), Value::Known(2)].into_iter().collect();
        assert_eq!(all, Value::Known(vec![1, 2]));
        let some: Value<Vec<u8>> = [Value::Known(1), Value::AfterApply].into_iter().collect();
        assert_eq!(some, Value::AfterApply);
        assert_eq!(Value::<u8>::AfterApply.to_string(), AFTER_APPLY);
        assert_eq!(Value::Known("vpc-1").to_string(), "vpc-1");
    }
}

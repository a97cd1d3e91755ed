//! How one existing resource differs from its inputs, field by typed field: a kind's
//! [`diff`](crate::Resource::diff) yields a [`Delta`] of its own [`Field`]s, the plan shows
//! it, and the kind's [`update`](crate::Resource::update) dispatches on the same fields.

use std::fmt;

use crate::plan::Diff;
use crate::value::Value;

/// One attribute of a kind that a diff can report: an enum per kind, so an update that
/// `match`es on it exhaustively cannot forget a field the plan shows.
pub trait Field: Clone + fmt::Debug + PartialEq + Send + Sync + 'static {
    /// Its name in the plan, Terraform's where it has one (`cidr_block`).
    fn name(&self) -> &str;

    /// Why a change of it cannot be made in place (`AWS cannot change a subnet's CIDR
    /// block`), `None` when an update can make it.
    fn replaces(&self) -> Option<&'static str> {
        None
    }
}

/// One field that differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldChange<F> {
    /// Which field.
    pub field: F,
    /// Where in the field, for one that holds many (` 0.0.0.0/0` of `route`,
    /// `["blog"].image` of `container_definitions`): appended to its name in the plan.
    pub at: Option<String>,
    /// What AWS has (`None`: absent).
    pub before: Option<String>,
    /// What the inputs ask for (`None`: to be removed).
    pub after: Option<String>,
    /// Why this change forces a replacement, `None` when it is made in place.
    pub replaces: Option<&'static str>,
}

impl<F: Field> FieldChange<F> {
    /// The field's label in the plan: its name and where in it.
    pub fn label(&self) -> String {
        match &self.at {
            Some(at) => format!("{}{at}", self.field.name()),
            None => self.field.name().to_owned(),
        }
    }

    /// As the plan shows it.
    pub fn diff(&self) -> Diff {
        Diff {
            field: self.label(),
            before: self.before.clone(),
            after: self.after.clone(),
            replaces: self.replaces.map(str::to_owned),
        }
    }
}

/// Why a field named by string forces a replacement ([`Delta::replace`]).
const FIXED: &str = "AWS cannot change it in place";

/// How one existing resource differs from what the inputs ask for: the fields, each marked
/// when it forces a replacement and why, and what is kept on purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delta<F> {
    /// The fields that differ, in the order the diff found them.
    pub changes: Vec<FieldChange<F>>,
    /// What differs from the inputs but is kept as AWS has it, on purpose (an image a deploy
    /// pipeline rolled out): said in the plan, never changed.
    pub kept: Vec<String>,
}

impl<F> Default for Delta<F> {
    fn default() -> Self {
        Self {
            changes: Vec::new(),
            kept: Vec::new(),
        }
    }
}

impl<F: Field> Delta<F> {
    /// No difference.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether a change forces a replacement.
    pub fn replaces(&self) -> bool {
        self.changes.iter().any(|c| c.replaces.is_some())
    }

    /// The fields that differ, each once, in the order found: what an update dispatches on.
    pub fn fields(&self) -> Vec<F> {
        let mut fields: Vec<F> = Vec::new();
        for c in &self.changes {
            if !fields.contains(&c.field) {
                fields.push(c.field.clone());
            }
        }
        fields
    }

    /// Whether `field` differs.
    pub fn has(&self, field: &F) -> bool {
        self.changes.iter().any(|c| &c.field == field)
    }

    /// The changes as the plan shows them.
    pub fn diffs(&self) -> Vec<Diff> {
        self.changes.iter().map(FieldChange::diff).collect()
    }

    /// The fields as a create's plan shows them: a new resource replaces nothing, whatever
    /// a change of its fixed fields would force later.
    pub fn described(&self) -> Vec<Diff> {
        let mut diffs = self.diffs();
        for d in &mut diffs {
            d.replaces = None;
        }
        diffs
    }

    /// Drops the changes of `fields` (a declaration's `ignore_changes`).
    pub fn ignore(&mut self, fields: &[F]) {
        self.changes.retain(|c| !fields.contains(&c.field));
    }

    fn push(
        &mut self,
        field: F,
        at: Option<String>,
        before: Option<String>,
        after: Option<String>,
        replaces: Option<&'static str>,
    ) -> &mut Self {
        self.changes.push(FieldChange {
            field,
            at,
            before,
            after,
            replaces,
        });
        self
    }

    /// Records a field that differs; it forces a replacement when the field says so
    /// ([`Field::replaces`]).
    pub fn update(
        &mut self,
        field: impl Into<F>,
        before: Option<impl fmt::Display>,
        after: Option<impl fmt::Display>,
    ) -> &mut Self {
        let field = field.into();
        let replaces = field.replaces();
        self.push(
            field,
            None,
            before.map(|v| v.to_string()),
            after.map(|v| v.to_string()),
            replaces,
        )
    }

    /// Records a change at one place of a field that holds many (a route, a rule, a
    /// container's attribute): `at` is appended to the field's name in the plan.
    pub fn update_at(
        &mut self,
        field: impl Into<F>,
        at: impl Into<String>,
        before: Option<impl fmt::Display>,
        after: Option<impl fmt::Display>,
    ) -> &mut Self {
        let field = field.into();
        let replaces = field.replaces();
        self.push(
            field,
            Some(at.into()),
            before.map(|v| v.to_string()),
            after.map(|v| v.to_string()),
            replaces,
        )
    }

    /// Records a change that forces a replacement although the field can otherwise change
    /// in place, because of its values (an endpoint's type): `why` says so.
    pub fn replace_because(
        &mut self,
        field: impl Into<F>,
        why: &'static str,
        before: Option<impl fmt::Display>,
        after: Option<impl fmt::Display>,
    ) -> &mut Self {
        self.push(
            field.into(),
            None,
            before.map(|v| v.to_string()),
            after.map(|v| v.to_string()),
            Some(why),
        )
    }

    /// Records a field whose change forces a replacement, for the reason the field gives
    /// (or that AWS cannot change it in place).
    pub fn replace(
        &mut self,
        field: impl Into<F>,
        before: Option<impl fmt::Display>,
        after: Option<impl fmt::Display>,
    ) -> &mut Self {
        let field = field.into();
        let why = field.replaces().unwrap_or(FIXED);
        self.replace_because(field, why, before, after)
    }

    /// Records something the inputs would change that is kept as it is, for the plan.
    pub fn keep(&mut self, note: impl Into<String>) -> &mut Self {
        self.kept.push(note.into());
        self
    }

    /// Compares a field: AWS has `have`, the inputs ask for `want` (unknown until apply
    /// counts as different).
    pub fn compare<T: PartialEq + fmt::Display>(
        &mut self,
        field: impl Into<F>,
        have: &T,
        want: &Value<T>,
    ) -> &mut Self {
        if want.known() != Some(have) {
            self.update(field, Some(have), Some(want));
        }
        self
    }

    /// Compares a field that cannot change in place, whatever the field says.
    pub fn compare_fixed<T: PartialEq + fmt::Display>(
        &mut self,
        field: impl Into<F>,
        have: &T,
        want: &Value<T>,
    ) -> &mut Self {
        if want.known() != Some(have) {
            self.replace(field, Some(have), Some(want));
        }
        self
    }

    /// Compares two lists as sets (subnets, security groups).
    pub fn compare_set(
        &mut self,
        field: impl Into<F>,
        have: &[String],
        want: &Value<Vec<String>>,
    ) -> &mut Self {
        let same = want.known().is_some_and(|w| same_set(have, w));
        if !same {
            let want = want.as_ref().map(|w| w.join(","));
            self.update(field, Some(have.join(",")), Some(want));
        }
        self
    }
}

/// Whether two lists hold the same items, in any order.
pub fn same_set(a: &[String], b: &[String]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Sample {
        Cidr,
        Route,
        Kind,
    }

    impl Field for Sample {
        fn name(&self) -> &str {
            match self {
                Sample::Cidr => "cidr_block",
                Sample::Route => "route",
                Sample::Kind => "type",
            }
        }
        fn replaces(&self) -> Option<&'static str> {
            match self {
                Sample::Cidr => Some("AWS cannot change a subnet's CIDR block"),
                Sample::Route | Sample::Kind => None,
            }
        }
    }

    #[test]
    fn a_field_says_whether_and_why_it_forces_a_replacement() {
        let mut delta: Delta<Sample> = Delta::new();
        delta.update_at(Sample::Route, " 0.0.0.0/0", None::<&str>, Some("nat-1"));
        assert!(!delta.replaces());
        delta.compare(Sample::Cidr, &"10.0.0.0/24", &Value::Known("10.0.1.0/24"));
        delta.compare(Sample::Route, &1, &Value::Known(1));
        assert!(delta.replaces());
        assert_eq!(delta.fields(), [Sample::Route, Sample::Cidr]);
        let diffs = delta.diffs();
        assert_eq!(diffs[0].field, "route 0.0.0.0/0");
        assert_eq!(diffs[0].replaces, None);
        assert_eq!(
            diffs[1].replaces.as_deref(),
            Some("AWS cannot change a subnet's CIDR block")
        );
    }

    #[test]
    fn a_change_can_force_a_replacement_by_its_values() {
        let mut delta: Delta<Sample> = Delta::new();
        delta.replace_because(
            Sample::Kind,
            "an endpoint cannot change its type",
            Some("Interface"),
            Some("Gateway"),
        );
        assert!(delta.replaces());
        assert!(delta.has(&Sample::Kind));
        delta.ignore(&[Sample::Kind]);
        assert!(delta.is_empty());
    }

    #[test]
    fn unknown_counts_as_different() {
        let mut delta: Delta<Sample> = Delta::new();
        delta.compare(Sample::Route, &1, &Value::AfterApply);
        assert_eq!(delta.changes.len(), 1);
    }
}

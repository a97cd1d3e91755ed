//! What an apply would do: a [`Plan`] of [`Change`]s, printed like `terraform plan`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What happens to one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// It does not exist and will be made.
    Create,
    /// It exists and will be changed in place.
    Update,
    /// It exists but cannot be changed in place: it will be deleted and made anew.
    Replace,
    /// It exists and will be deleted.
    Delete,
    /// It exists as desired.
    NoOp,
}

impl Action {
    /// The action in a word, as `plan --json` spells it.
    pub fn word(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::NoOp => "no_op",
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::NoOp => " ",
        }
    }
}

/// One attribute that differs: `before` is what AWS has (`None`: absent), `after` what the
/// inputs ask for (`None`: to be removed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    /// The attribute, e.g. `cidr_block` or `route 0.0.0.0/0`.
    pub field: String,
    /// The value AWS has.
    pub before: Option<String>,
    /// The value the inputs ask for.
    pub after: Option<String>,
    /// Why this change forces the resource's replacement; `None` when it is made in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

/// What happens to one resource, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Create, update, replace, delete or no-op.
    pub action: Action,
    /// The kind of resource, in Terraform's words where one exists (`aws_vpc`, `aws_subnet`).
    pub kind: String,
    /// The resource's `Name`.
    pub name: String,
    /// Its AWS id, when it exists.
    pub id: Option<String>,
    /// The attributes that differ.
    pub diffs: Vec<Diff>,
    /// What differs from the inputs but is kept as AWS has it, on purpose.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept: Vec<String>,
}

impl Change {
    /// A change with no attribute differences yet.
    pub fn new(action: Action, kind: &str, name: impl Into<String>) -> Self {
        Self {
            action,
            kind: kind.to_owned(),
            name: name.into(),
            id: None,
            diffs: Vec::new(),
            kept: Vec::new(),
        }
    }

    /// Sets the AWS id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Adds an attribute difference.
    pub fn diff(
        mut self,
        field: impl Into<String>,
        before: Option<impl Into<String>>,
        after: Option<impl Into<String>>,
    ) -> Self {
        self.diffs.push(Diff {
            field: field.into(),
            before: before.map(Into::into),
            after: after.map(Into::into),
            replaces: None,
        });
        self
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:>3} {} \"{}\"",
            self.action.symbol(),
            self.kind,
            self.name
        )?;
        if let Some(id) = &self.id {
            write!(f, " ({id})")?;
        }
        for d in &self.diffs {
            let show = |v: &Option<String>| match v {
                Some(v) => format!("{v:?}"),
                None => "(none)".to_owned(),
            };
            write!(
                f,
                "\n      {}: {} -> {}",
                d.field,
                show(&d.before),
                show(&d.after)
            )?;
            if let Some(why) = &d.replaces {
                write!(f, " # forces replacement: {why}")?;
            }
        }
        for note in &self.kept {
            write!(f, "\n      # keeps {note}")?;
        }
        Ok(())
    }
}

/// Every change an apply would make, in the order it would make them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The changes, no-ops included (they are not printed).
    pub changes: Vec<Change>,
}

impl Plan {
    /// An empty plan.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a change.
    pub fn push(&mut self, change: Change) {
        self.changes.push(change);
    }

    /// Adds every change of another plan (a module composing others).
    pub fn extend(&mut self, other: Plan) {
        self.changes.extend(other.changes);
    }

    /// The changes that do something.
    pub fn actions(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.action != Action::NoOp)
    }

    /// Whether apply would change nothing.
    pub fn is_empty(&self) -> bool {
        self.actions().next().is_none()
    }

    /// How many resources would be added, changed and destroyed, as Terraform counts them:
    /// a replacement is one to add and one to destroy.
    pub fn summary(&self) -> (usize, usize, usize) {
        self.actions()
            .fold((0, 0, 0), |(add, change, destroy), c| match c.action {
                Action::Create => (add + 1, change, destroy),
                Action::Update => (add, change + 1, destroy),
                Action::Replace => (add + 1, change, destroy + 1),
                Action::Delete => (add, change, destroy + 1),
                Action::NoOp => (add, change, destroy),
            })
    }

    /// How `now` differs from this plan, one line per resource whose change is not the
    /// same (action, id, attributes or what is kept), empty when they agree: what makes a
    /// saved plan stale.
    pub fn differences(&self, now: &Plan) -> Vec<String> {
        // The same resource: by id where both have one, else by kind and name (a create
        // has no id yet).
        fn find<'p>(plan: &'p Plan, c: &Change) -> Option<&'p Change> {
            let same = |o: &&Change| o.kind == c.kind && o.name == c.name;
            plan.changes
                .iter()
                .filter(same)
                .find(|o| o.id == c.id)
                .or_else(|| {
                    plan.changes
                        .iter()
                        .filter(same)
                        .find(|o| o.id.is_none() || c.id.is_none())
                })
        }
        let then = self;
        let brief = |c: &Change| match c.action {
            Action::NoOp => "no change".to_owned(),
            a => format!("{} {} attribute(s)", a.symbol().trim(), c.diffs.len()),
        };
        let mut lines = Vec::new();
        for c in &then.changes {
            match find(now, c) {
                None => lines.push(format!(
                    "{} \"{}\": planned {}, now not there to plan",
                    c.kind,
                    c.name,
                    brief(c)
                )),
                Some(n) if n != c => lines.push(format!(
                    "{} \"{}\": planned {}, now {}",
                    c.kind,
                    c.name,
                    brief(c),
                    brief(n)
                )),
                Some(_) => {}
            }
        }
        for n in &now.changes {
            if find(then, n).is_none() {
                lines.push(format!(
                    "{} \"{}\": not in the plan, now {}",
                    n.kind,
                    n.name,
                    brief(n)
                ));
            }
        }
        lines
    }

    /// The first change to a resource of `kind`, for tests and callers that look for one.
    pub fn find(&self, kind: &str, name: &str) -> Option<&Change> {
        self.changes
            .iter()
            .find(|c| c.kind == kind && c.name == name)
    }

    /// The change to the resource at `address` (a module's [`Refs::addresses`]), by kind and
    /// name.
    ///
    /// [`Refs::addresses`]: crate::Refs::addresses
    pub fn at(&self, address: &crate::Address) -> Option<&Change> {
        self.find(&address.kind, &address.name)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // What is kept on purpose is said even when nothing changes.
        let kept = self
            .changes
            .iter()
            .filter(|c| c.action == Action::NoOp && !c.kept.is_empty());
        if self.is_empty() {
            f.write_str("No changes. Your infrastructure matches the configuration.")?;
            for change in kept {
                write!(f, "\n{change}")?;
            }
            return Ok(());
        }
        for change in self.actions().chain(kept) {
            writeln!(f, "{change}")?;
        }
        let (add, change, destroy) = self.summary();
        write!(
            f,
            "\nPlan: {add} to add, {change} to change, {destroy} to destroy."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Plan {
        let mut plan = Plan::new();
        plan.push(Change::new(Action::Create, "aws_vpc", "blog-vpc").diff(
            "cidr_block",
            None::<String>,
            Some("10.0.0.0/16"),
        ));
        plan.push(
            Change::new(Action::Update, "aws_route_table", "blog-private")
                .id("rtb-1")
                .diff("route 0.0.0.0/0", None::<String>, Some("nat-1")),
        );
        plan.push(Change::new(Action::NoOp, "aws_subnet", "blog-a-public").id("subnet-1"));
        plan.push(Change::new(Action::Replace, "aws_subnet", "blog-a-private").id("subnet-2"));
        plan.push(Change::new(Action::Delete, "aws_eip", "blog-nat").id("eipalloc-1"));
        plan
    }

    #[test]
    fn display_reads_like_terraform_plan() {
        let text = sample().to_string();
        assert_eq!(
            text,
            "  + aws_vpc \"blog-vpc\"\n      cidr_block: (none) -> \"10.0.0.0/16\"\n  \
             ~ aws_route_table \"blog-private\" (rtb-1)\n      route 0.0.0.0/0: (none) -> \"nat-1\"\n\
             -/+ aws_subnet \"blog-a-private\" (subnet-2)\n  - aws_eip \"blog-nat\" (eipalloc-1)\n\n\
             Plan: 2 to add, 1 to change, 2 to destroy."
        );
    }

    #[test]
    fn what_is_kept_is_said_even_without_changes() {
        let mut plan = Plan::new();
        let mut change = Change::new(Action::NoOp, "aws_ecs_task_definition", "blog-blog");
        change
            .kept
            .push("container \"blog\" image \"blog:ci-7\"".into());
        plan.push(change);
        assert!(plan.is_empty());
        assert_eq!(
            plan.to_string(),
            "No changes. Your infrastructure matches the configuration.\n    \
             aws_ecs_task_definition \"blog-blog\"\n      # keeps container \"blog\" image \"blog:ci-7\""
        );
    }

    #[test]
    fn empty_plan_says_no_changes() {
        let mut plan = Plan::new();
        plan.push(Change::new(Action::NoOp, "aws_vpc", "blog-vpc"));
        assert!(plan.is_empty());
        assert_eq!(plan.summary(), (0, 0, 0));
        assert!(plan.to_string().starts_with("No changes."));
    }

    #[test]
    fn differences_name_each_resource_whose_change_moved() {
        let then = sample();
        assert!(then.differences(&then).is_empty());
        let mut now = sample();
        now.changes[2].action = Action::Update;
        now.changes[2].diffs.push(Diff {
            field: "map_public_ip_on_launch".into(),
            before: Some("true".into()),
            after: Some("false".into()),
            replaces: None,
        });
        now.changes.remove(4);
        now.push(Change::new(Action::Create, "aws_eip", "blog-nat-2"));
        assert_eq!(
            then.differences(&now),
            [
                "aws_subnet \"blog-a-public\": planned no change, now ~ 1 attribute(s)",
                "aws_eip \"blog-nat\": planned - 0 attribute(s), now not there to plan",
                "aws_eip \"blog-nat-2\": not in the plan, now + 0 attribute(s)",
            ]
        );
    }

    #[test]
    fn json_round_trip() {
        let plan = sample();
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["changes"][0]["action"], "create");
        assert_eq!(json["changes"][1]["diffs"][0]["after"], "nat-1");
        let back: Plan = serde_json::from_value(json).unwrap();
        assert_eq!(back, plan);
    }
}

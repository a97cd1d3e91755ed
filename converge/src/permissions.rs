//! The IAM permissions a stack needs, declared by the code that makes the calls: each
//! resource kind says what its read, create, update and delete call
//! ([`Resource::permissions`](crate::Resource::permissions)), modules add what they call
//! outside a kind ([`Stack::require`](crate::Stack::require): the availability zones, the
//! AMI's parameter), and [`Stack::policy`](crate::Stack::policy) merges them into one IAM
//! policy document.
//!
//! A [`Grant`]'s resource and condition values may hold placeholders the stack fills in per
//! declared resource: `{name}` (the resource's `Name`), `{owner}` (each ownership tag value
//! the resource may carry) and `{environment}`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value as Json};

use crate::tags::OWNER_TAG;

/// Some IAM actions on one resource pattern, under some conditions.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    /// `service:Action`.
    pub actions: BTreeSet<String>,
    /// The resource ARN pattern (`*` for any).
    pub resource: String,
    /// Conditions: (operator, key) to the values allowed.
    pub conditions: BTreeMap<(String, String), BTreeSet<String>>,
}

impl Grant {
    /// `actions` on any resource, unconditioned.
    pub fn new<'a>(actions: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            actions: actions.into_iter().map(str::to_owned).collect(),
            resource: "*".to_owned(),
            conditions: BTreeMap::new(),
        }
    }

    /// Only on resources matching `resource` (may hold `{name}`, `{environment}`).
    pub fn on(mut self, resource: impl Into<String>) -> Self {
        self.resource = resource.into();
        self
    }

    /// Only when condition key `key` matches one of `values` under `operator`
    /// (`StringEquals`, `ArnEquals`, ...).
    pub fn when<'a>(
        mut self,
        operator: &str,
        key: &str,
        values: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        self.conditions
            .entry((operator.to_owned(), key.to_owned()))
            .or_default()
            .extend(values.into_iter().map(str::to_owned));
        self
    }

    /// Only on resources that carry the stack's ownership tag (`aws:ResourceTag`), for
    /// deletes on services that support the key.
    pub fn owned(self) -> Self {
        let key = format!("aws:ResourceTag/{OWNER_TAG}");
        self.when("StringEquals", &key, ["{owner}"])
    }

    /// Only on resources that already carry an ownership tag, of any value: re-tagging in
    /// place a resource an earlier release tagged.
    pub fn tagged(self) -> Self {
        let key = format!("aws:ResourceTag/{OWNER_TAG}");
        self.when("Null", &key, ["false"])
    }

    /// The grant with its placeholders filled in.
    pub fn fill(&self, name: &str, environment: &str, owners: &[&str]) -> Grant {
        let one = |s: &str| {
            s.replace("{name}", name)
                .replace("{environment}", environment)
        };
        let conditions = self
            .conditions
            .iter()
            .map(|(k, values)| {
                let filled = values
                    .iter()
                    .flat_map(|v| {
                        if v.contains("{owner}") {
                            owners
                                .iter()
                                .map(|o| one(&v.replace("{owner}", o)))
                                .collect()
                        } else {
                            vec![one(v)]
                        }
                    })
                    .collect();
                (k.clone(), filled)
            })
            .collect();
        Grant {
            actions: self.actions.clone(),
            resource: one(&self.resource),
            conditions,
        }
    }
}

/// The AWS IAM policy a stack (or several) needs: grants, merged into statements.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    grants: Vec<Grant>,
}

impl Policy {
    /// No permission.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds grants (filled in already).
    pub fn extend(&mut self, grants: impl IntoIterator<Item = Grant>) -> &mut Self {
        self.grants.extend(grants);
        self
    }

    /// Another policy's grants too.
    pub fn merge(&mut self, other: &Policy) -> &mut Self {
        self.extend(other.grants.iter().cloned())
    }

    /// The grants.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// Every action granted, on any resource and under any condition.
    pub fn actions(&self) -> BTreeSet<&str> {
        self.grants
            .iter()
            .flat_map(|g| g.actions.iter().map(String::as_str))
            .collect()
    }

    /// The policy document: one statement per resource set and condition, each with the
    /// actions granted exactly there. Deterministic, so it can be checked in.
    pub fn document(&self) -> Json {
        // Condition values of one (action, resource, operator, key) are merged: each is
        // one of the stack's own (owners, policies, services).
        type Cond = BTreeMap<(String, String), BTreeSet<String>>;
        // (action, resource, the condition's (operator, key)s)
        type Place = (String, String, Vec<(String, String)>);
        let mut by_action: BTreeMap<(String, Cond), BTreeSet<String>> = BTreeMap::new();
        let mut merged: BTreeMap<Place, Cond> = BTreeMap::new();
        for g in &self.grants {
            for action in &g.actions {
                let keys: Vec<(String, String)> = g.conditions.keys().cloned().collect();
                let entry = merged
                    .entry((action.clone(), g.resource.clone(), keys))
                    .or_default();
                for (k, v) in &g.conditions {
                    entry
                        .entry(k.clone())
                        .or_default()
                        .extend(v.iter().cloned());
                }
            }
        }
        // An unconditioned grant of an action on a resource covers its conditioned ones.
        let free: BTreeSet<(String, String)> = merged
            .keys()
            .filter(|(_, _, keys)| keys.is_empty())
            .map(|(a, r, _)| (a.clone(), r.clone()))
            .collect();
        let mut resources_of: BTreeMap<(String, Cond), BTreeSet<String>> = BTreeMap::new();
        for ((action, resource, keys), cond) in merged {
            let everywhere = free.contains(&(action.clone(), "*".to_owned()));
            let here = free.contains(&(action.clone(), resource.clone()));
            let unconditioned = keys.is_empty();
            let covered =
                (everywhere && !(unconditioned && resource == "*")) || (here && !unconditioned);
            if covered {
                continue;
            }
            resources_of
                .entry((action, cond))
                .or_default()
                .insert(resource);
        }
        for ((action, cond), resources) in resources_of {
            let resources = if resources.contains("*") {
                BTreeSet::from(["*".to_owned()])
            } else {
                resources
            };
            let key = (resources.into_iter().collect::<Vec<_>>().join("\n"), cond);
            by_action.entry(key).or_default().insert(action);
        }
        let mut statements: Vec<(String, Json)> = by_action
            .into_iter()
            .map(|((resources, cond), actions)| {
                let resources: Vec<&str> = resources.split('\n').collect();
                let services: BTreeSet<&str> =
                    actions.iter().filter_map(|a| a.split(':').next()).collect();
                let mut statement = json!({
                    "Effect": "Allow",
                    "Action": one_or_list(actions.iter().map(String::as_str).collect()),
                    "Resource": one_or_list(resources.clone()),
                });
                if !cond.is_empty() {
                    let mut c = serde_json::Map::new();
                    for ((op, key), values) in &cond {
                        let entry = c
                            .entry(op.clone())
                            .or_insert_with(|| Json::Object(Default::default()));
                        entry[key.as_str()] =
                            one_or_list(values.iter().map(String::as_str).collect());
                    }
                    statement["Condition"] = Json::Object(c);
                }
                let stem: String = services.iter().map(|s| sid_part(s)).collect();
                (stem, statement)
            })
            .collect();
        statements.sort_by(|a, b| a.0.cmp(&b.0));
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let statements: Vec<Json> = statements
            .into_iter()
            .map(|(stem, mut s)| {
                let n = seen.entry(stem.clone()).or_default();
                *n += 1;
                let sid = format!("{stem}{n}");
                let mut ordered = serde_json::Map::new();
                ordered.insert("Sid".into(), Json::String(sid));
                if let Json::Object(fields) = &mut s {
                    for k in ["Effect", "Action", "Resource", "Condition"] {
                        if let Some(v) = fields.remove(k) {
                            ordered.insert(k.into(), v);
                        }
                    }
                }
                Json::Object(ordered)
            })
            .collect();
        json!({ "Version": "2012-10-17", "Statement": statements })
    }

    /// [`document`](Policy::document), pretty-printed, with a final newline.
    pub fn to_json_pretty(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.document()).expect("a policy serializes");
        text.push('\n');
        text
    }
}

fn one_or_list(items: Vec<&str>) -> Json {
    match items.as_slice() {
        [one] => Json::String((*one).to_owned()),
        _ => Json::Array(
            items
                .into_iter()
                .map(|s| Json::String(s.to_owned()))
                .collect(),
        ),
    }
}

/// `elasticloadbalancing` -> `Elasticloadbalancing`, for statement ids (letters and digits).
fn sid_part(service: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in service.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

/// The services an IAM trust policy lets assume the role (`Principal.Service`), for
/// `iam:PassedToService`.
pub fn trusted_services(trust_policy: &str) -> Vec<String> {
    let Ok(doc) = serde_json::from_str::<Json>(trust_policy) else {
        return Vec::new();
    };
    let statements = match &doc["Statement"] {
        Json::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let mut out = BTreeSet::new();
    for s in statements {
        match &s["Principal"]["Service"] {
            Json::String(one) => {
                out.insert(one.clone());
            }
            Json::Array(items) => {
                out.extend(items.iter().filter_map(|i| i.as_str().map(str::to_owned)));
            }
            _ => {}
        }
    }
    out.into_iter().collect()
}

/// An IAM role of the stack by name: `arn:aws:iam::*:role/{name}`.
pub const ROLE: &str = "arn:aws:iam::*:role/{name}";

/// Service-linked roles AWS makes on a service's first use in an account.
pub fn service_linked_role(service: &str) -> Grant {
    Grant::new(["iam:CreateServiceLinkedRole"])
        .on("arn:aws:iam::*:role/aws-service-role/*")
        .when("StringEquals", "iam:AWSServiceName", [service])
}

/// `ec2:CreateTags`, only inside the create call `create_action` (tags in the create call
/// itself need it).
pub fn ec2_tags_on_create(create_action: &str) -> Grant {
    Grant::new(["ec2:CreateTags"]).when("StringEquals", "ec2:CreateAction", [create_action])
}

/// `ec2:CreateTags` on a resource already tagged by an earlier release (re-tagged in place).
pub fn ec2_retag() -> Grant {
    Grant::new(["ec2:CreateTags"]).tagged()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_conditions_and_actions_into_statements() {
        let mut p = Policy::new();
        p.extend([
            Grant::new(["ec2:DescribeVpcs"]),
            Grant::new(["ec2:DeleteVpc"])
                .owned()
                .fill("a", "blog", &["vpc/blog"]),
            Grant::new(["ec2:DeleteSubnet"])
                .owned()
                .fill("a", "blog", &["vpc/blog", "x/blog"]),
            Grant::new(["ec2:DeleteVpc"])
                .owned()
                .fill("b", "blog", &["x/blog"]),
            Grant::new(["iam:GetRole"])
                .on(ROLE)
                .fill("blog-r", "blog", &[]),
            Grant::new(["iam:GetRole"])
                .on(ROLE)
                .fill("blog-s", "blog", &[]),
            Grant::new(["ec2:DescribeVpcs"]).on("arn:x"),
        ]);
        let doc = p.document();
        let text = serde_json::to_string(&doc).unwrap();
        assert!(
            text.contains(r#""Action":["ec2:DeleteSubnet","ec2:DeleteVpc"]"#),
            "{text}"
        );
        assert!(text.contains(r#"["vpc/blog","x/blog"]"#), "{text}");
        assert!(
            text.contains(r#"["arn:aws:iam::*:role/blog-r","arn:aws:iam::*:role/blog-s"]"#),
            "{text}"
        );
        // The narrower grant of an action granted everywhere goes.
        assert!(!text.contains("arn:x"), "{text}");
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 3, "{text}");
    }

    #[test]
    fn trusted_services_of_a_trust_policy() {
        let t = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(trusted_services(t), ["ecs-tasks.amazonaws.com"]);
    }
}

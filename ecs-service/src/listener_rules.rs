//! `aws_lb_listener_rule`: a service's rule on a shared listener, forwarding the requests
//! whose host or path match to the service's target group. Found through the listener (the
//! load balancer by name, the listener by port) and ours by its ownership tag; a rule of
//! another owner at the priority a service asks for is refused at plan, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ForwardActionConfig, HostHeaderConditionConfig,
    PathPatternConditionConfig, RuleCondition, RulePriorityPair, TargetGroupTuple,
};
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{
    Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Holder, Replacement, Resource, Value, Wanted,
    NAME_TAG,
};

use crate::listeners::{listener_name, listeners_of};
use crate::load_balancers::{elb_tags, named};

/// The listener rule kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListenerRuleKind;

/// Where a rule is looked for: the shared load balancer's name and the listener's port, and
/// the priority it asks for (checked against the listener's other rules at read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleAt {
    /// The load balancer's name.
    pub load_balancer: String,
    /// The listener's port.
    pub port: i32,
    /// The priority the rule asks for.
    pub priority: i32,
}

/// What a rule should be.
#[derive(Clone, Debug, PartialEq)]
pub struct ListenerRuleSpec<P: Phase = AtPlan> {
    /// Its listener.
    pub listener_arn: P::Value<String>,
    /// 1 to 50,000; lower is evaluated first.
    pub priority: i32,
    /// `host-header` values (any matches).
    pub host_headers: Vec<String>,
    /// `path-pattern` values (any matches).
    pub path_patterns: Vec<String>,
    /// Where matching requests go.
    pub target_group_arn: P::Value<String>,
    /// Under a deployment strategy that shifts traffic, the alternate target group: the rule
    /// forwards to both, weighted 100 and 0 at first, and ECS moves the weights (which are
    /// therefore never compared).
    pub alternate_target_group_arn: Option<P::Value<String>>,
}

impl Resolve for ListenerRuleSpec {
    type Output = ListenerRuleSpec<AtApply>;

    fn resolve(&self) -> Result<ListenerRuleSpec<AtApply>, Unknown> {
        Ok(ListenerRuleSpec {
            listener_arn: self.listener_arn.resolve("listener_arn")?,
            priority: self.priority,
            host_headers: self.host_headers.clone(),
            path_patterns: self.path_patterns.clone(),
            target_group_arn: self.target_group_arn.resolve("target_group_arn")?,
            alternate_target_group_arn: match &self.alternate_target_group_arn {
                Some(alt) => Some(alt.resolve("alternate_target_group_arn")?),
                None => None,
            },
        })
    }
}

/// A rule as ELB has it.
#[derive(Clone, Debug)]
pub struct FoundRule {
    /// Its `Name` tag, or its ARN when it has none.
    pub(crate) name: String,
    pub(crate) arn: String,
    listener_arn: String,
    /// `None` for the listener's default rule.
    pub(crate) priority: Option<i32>,
    host_headers: BTreeSet<String>,
    path_patterns: BTreeSet<String>,
    /// The groups it forwards to, whatever their weights.
    target_groups: BTreeSet<String>,
    pub(crate) owner: Option<String>,
}

impl FoundRule {
    /// How a refusal names it.
    pub(crate) fn label(&self) -> String {
        let priority = self.priority.map_or("default".into(), |p| p.to_string());
        let owner = self
            .owner
            .as_deref()
            .map_or("no stack's (untagged)".to_owned(), |o| format!("owner {o}"));
        format!(
            "{} \"{}\" (priority {priority}, {owner})",
            ListenerRuleKind::KIND,
            self.name
        )
    }

    /// What it keeps on its listener, for the listener's deletion.
    pub(crate) fn holder(&self) -> Holder {
        Holder {
            owner: self.owner.clone(),
            what: self.label(),
        }
    }
}

/// A rule's outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListenerRuleOutputs {
    /// Its ARN.
    pub arn: String,
}

/// How long a listing is tried again while a rule it listed goes.
const RELIST_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// The rules of one listener, with their tags: read once per stack read, by whichever of the
/// listener kind and the rule kind asks first.
pub(crate) async fn rules_of(aws: &Aws, listener_arn: &str) -> Result<Arc<Vec<FoundRule>>, Error> {
    let key = format!("elbv2/rules/{listener_arn}");
    aws.shared(&key, || async {
        // ELB refuses the tags of all when one rule has gone since the listing (another
        // stack's destroy): list again, a few times, with jittered pauses.
        let retry = converge::Retry {
            max_elapsed: aws.retry().max_elapsed.min(RELIST_FOR),
            ..*aws.retry()
        };
        retry
            .run_while(
                listener_arn,
                |err: &Error| err.code() == Some("RuleNotFound"),
                || async {
                    let mut rules = list_rules(aws, listener_arn).await?;
                    tag_rules(aws, &mut rules).await?;
                    Ok(rules)
                },
            )
            .await
    })
    .await
}

/// A listener's rules but its default, every page.
pub(crate) async fn list_rules(aws: &Aws, listener_arn: &str) -> Result<Vec<FoundRule>, Error> {
    let rules = converge::paging::drain(
        "DescribeRules",
        listener_arn,
        (aws.elbv2().describe_rules())
            .listener_arn(listener_arn)
            .into_paginator()
            .send(),
        |page| page.rules.unwrap_or_default(),
    )
    .await?;
    Ok(rules
        .iter()
        .filter(|r| r.is_default() != Some(true))
        .map(|r| found(r, listener_arn))
        .collect())
}

/// Each rule's name and owner, from its tags.
async fn tag_rules(aws: &Aws, rules: &mut [FoundRule]) -> Result<(), Error> {
    if rules.is_empty() {
        return Ok(());
    }
    let arns: Vec<String> = rules.iter().map(|r| r.arn.clone()).collect();
    let tags = elb_tags(aws, &arns).await?;
    for rule in rules {
        let Some(tags) = tags.get(&rule.arn) else {
            continue;
        };
        if let Some(name) = tags.get(NAME_TAG) {
            rule.name = name.clone();
        }
        let pairs = tags
            .iter()
            .map(|(k, v)| (Some(k.as_str()), Some(v.as_str())));
        rule.owner = converge::owner_in(pairs);
    }
    Ok(())
}

fn found(r: &aws_sdk_elasticloadbalancingv2::types::Rule, listener_arn: &str) -> FoundRule {
    let mut host_headers = BTreeSet::new();
    let mut path_patterns = BTreeSet::new();
    for c in r.conditions() {
        // ELB answers a condition in its config, its legacy `Values`, or both.
        let legacy = c.values().iter().cloned();
        match c.field() {
            Some("host-header") => host_headers.extend(
                c.host_header_config()
                    .map(|h| h.values().to_vec())
                    .unwrap_or_default()
                    .into_iter()
                    .chain(legacy),
            ),
            Some("path-pattern") => path_patterns.extend(
                c.path_pattern_config()
                    .map(|p| p.values().to_vec())
                    .unwrap_or_default()
                    .into_iter()
                    .chain(legacy),
            ),
            _ => {}
        }
    }
    let arn = r.rule_arn().unwrap_or_default().to_owned();
    FoundRule {
        name: arn.clone(),
        arn,
        listener_arn: listener_arn.to_owned(),
        priority: r.priority().and_then(|p| p.parse().ok()),
        host_headers,
        path_patterns,
        // ELB answers a forward with its group, its weighted groups, or both.
        target_groups: r
            .actions()
            .iter()
            .flat_map(|a| {
                let weighted = a
                    .forward_config()
                    .map(|f| f.target_groups())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|t| t.target_group_arn());
                a.target_group_arn().into_iter().chain(weighted)
            })
            .map(str::to_owned)
            .collect(),
        owner: None,
    }
}

fn conditions(d: &ListenerRuleSpec<AtApply>) -> Vec<RuleCondition> {
    let mut out = Vec::new();
    if !d.host_headers.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("host-header")
                .host_header_config(
                    HostHeaderConditionConfig::builder()
                        .set_values(Some(d.host_headers.clone()))
                        .build(),
                )
                .build(),
        );
    }
    if !d.path_patterns.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .set_values(Some(d.path_patterns.clone()))
                        .build(),
                )
                .build(),
        );
    }
    out
}

fn forward(d: &ListenerRuleSpec<AtApply>) -> Action {
    let action = Action::builder().r#type(ActionTypeEnum::Forward);
    match &d.alternate_target_group_arn {
        None => action.target_group_arn(&d.target_group_arn).build(),
        Some(alt) => {
            let group = |arn: &str, weight| {
                TargetGroupTuple::builder()
                    .target_group_arn(arn)
                    .weight(weight)
                    .build()
            };
            action
                .forward_config(
                    ForwardActionConfig::builder()
                        .target_groups(group(&d.target_group_arn, 100))
                        .target_groups(group(alt, 0))
                        .build(),
                )
                .build()
        }
    }
}

/// The groups a rule forwards to, as a plan shows them.
fn forwards_to(d: &ListenerRuleSpec) -> Value<String> {
    let alt = d.alternate_target_group_arn.clone();
    d.target_group_arn
        .clone()
        .zip(alt.into_iter().collect::<Value<Vec<_>>>())
        .map(|(primary, alt)| joined(&std::iter::once(primary).chain(alt).collect()))
}

fn joined(values: &BTreeSet<String>) -> String {
    values.iter().cloned().collect::<Vec<_>>().join(",")
}

/// A move cut off between its create and its delete leaves two of ours: the one on the
/// listener the inputs name comes first, so the stack keeps it and the other goes.
fn wanted_places_first(wanted: &[Wanted<'_, RuleAt>], rules: &mut [(RuleAt, FoundRule)]) {
    rules.sort_by_key(|(at, r)| {
        !wanted.iter().any(|w| {
            w.name == r.name && w.key.load_balancer == at.load_balancer && w.key.port == at.port
        })
    });
}

/// A rule the stack declares twice at one priority, or that another owner's rule holds.
fn collisions(wanted: &[Wanted<'_, RuleAt>], rules: &[(RuleAt, FoundRule)]) -> Result<(), Error> {
    let mut seen: BTreeMap<(&str, i32, i32), &str> = BTreeMap::new();
    for w in wanted {
        let at = (w.key.load_balancer.as_str(), w.key.port, w.key.priority);
        let here = format!(
            "{} (priority {} on {})",
            ListenerRuleKind::label(w.name),
            w.key.priority,
            listener_name(&w.key.load_balancer, w.key.port)
        );
        if let Some(other) = seen.insert(at, w.name) {
            return Err(Error::Conflict {
                resource: here,
                with: format!(
                    "{} declared at the same priority: give one another",
                    ListenerRuleKind::label(other)
                ),
            });
        }
        let taken = rules.iter().find(|(place, r)| {
            place.load_balancer == w.key.load_balancer
                && place.port == w.key.port
                && r.priority == Some(w.key.priority)
                && !(w.tags.claim(r.owner.as_deref()).is_ours() && r.name == w.name)
        });
        if let Some((_, r)) = taken {
            return Err(Error::Conflict {
                resource: here,
                with: format!(
                    "{} ({}), which has that priority: give another",
                    r.label(),
                    r.arn
                ),
            });
        }
    }
    Ok(())
}

/// A listener rule's fields that a plan can show changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenerRuleField {
    /// Its listener (fixed).
    ListenerArn,
    /// Its priority on the listener.
    Priority,
    /// The `host-header` values it matches.
    HostHeader,
    /// The `path-pattern` values it matches.
    PathPattern,
    /// The target group matching requests go to.
    Forward,
}

impl Field for ListenerRuleField {
    fn name(&self) -> &str {
        match self {
            ListenerRuleField::ListenerArn => "listener_arn",
            ListenerRuleField::Priority => "priority",
            ListenerRuleField::HostHeader => "host_header",
            ListenerRuleField::PathPattern => "path_pattern",
            ListenerRuleField::Forward => "forward",
        }
    }

    fn replaces(&self) -> Option<&'static str> {
        match self {
            ListenerRuleField::ListenerArn => Some("a rule cannot move to another listener"),
            ListenerRuleField::Priority
            | ListenerRuleField::HostHeader
            | ListenerRuleField::PathPattern
            | ListenerRuleField::Forward => None,
        }
    }
}

#[async_trait]
impl Resource for ListenerRuleKind {
    const KIND: &'static str = "aws_lb_listener_rule";
    /// A rule of ours that the inputs no longer name goes (only its owner's rules are ours).
    const PRUNE: bool = true;
    /// A rule moved to another listener is made there first, so its path is never unserved.
    const REPLACEMENT: Replacement = Replacement::CreateFirst;
    type Field = ListenerRuleField;
    type Key = RuleAt;
    type Desired = ListenerRuleSpec;
    type Observed = FoundRule;
    type Outputs = ListenerRuleOutputs;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::Grant;
        vec![
            Grant::new([
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:CreateRule",
                "elasticloadbalancing:ModifyRule",
                "elasticloadbalancing:SetRulePriorities",
            ]),
            Grant::new(["elasticloadbalancing:AddTags"]).when(
                "StringEquals",
                "elasticloadbalancing:CreateAction",
                ["CreateRule"],
            ),
            Grant::new(["elasticloadbalancing:AddTags"]).tagged(),
            Grant::new(["elasticloadbalancing:DeleteRule"]).owned(),
        ]
    }

    /// The load balancers from the shared listing, all their listeners (a rule of ours on
    /// another than the one the inputs name is found, and moved), and the rules with their
    /// tags. A collision of priorities is an error here, so plan reports it before anything
    /// changes; a destroy's read does not look for one.
    async fn read(
        &self,
        aws: &Aws,
        wanted: &[Wanted<'_, RuleAt>],
    ) -> Result<Vec<FoundRule>, Error> {
        let mut lbs: Vec<&str> = wanted
            .iter()
            .map(|w| w.key.load_balancer.as_str())
            .collect();
        lbs.sort();
        lbs.dedup();
        let found_lbs = named(aws, &lbs).await?;
        let listeners =
            futures::future::try_join_all(found_lbs.iter().map(|lb| listeners_of(aws, lb))).await?;
        let listeners: Vec<_> = listeners.iter().flat_map(|l| l.iter()).collect();
        let of_each =
            futures::future::try_join_all(listeners.iter().map(|l| rules_of(aws, &l.arn))).await?;
        let mut rules: Vec<(RuleAt, FoundRule)> = Vec::new();
        for (listener, found) in listeners.iter().zip(&of_each) {
            for r in found.iter() {
                let at = RuleAt {
                    load_balancer: listener.load_balancer.clone(),
                    port: listener.port,
                    priority: r.priority.unwrap_or_default(),
                };
                rules.push((at, r.clone()));
            }
        }
        if !wanted.iter().any(|w| w.teardown) {
            collisions(wanted, &rules)?;
        }
        wanted_places_first(wanted, &mut rules);
        Ok(rules.into_iter().map(|(_, r)| r).collect())
    }

    fn name<'o>(&self, o: &'o FoundRule) -> &'o str {
        &o.name
    }

    fn owner<'o>(&self, o: &'o FoundRule) -> Option<&'o str> {
        o.owner.as_deref()
    }

    fn id(&self, o: &FoundRule) -> String {
        o.arn.clone()
    }

    fn tag_target(&self, o: &FoundRule) -> Option<converge::TagTarget> {
        Some(converge::TagTarget::Elbv2(o.arn.clone()))
    }

    fn describe(&self, d: &ListenerRuleSpec) -> Vec<Diff> {
        // What a create sets: nothing is replaced, whatever the field.
        let set = |field: ListenerRuleField, after: String| Diff {
            field: field.name().into(),
            before: None,
            after: Some(after),
            replaces: None,
        };
        let mut out = vec![
            set(ListenerRuleField::ListenerArn, d.listener_arn.to_string()),
            set(ListenerRuleField::Priority, d.priority.to_string()),
        ];
        if !d.host_headers.is_empty() {
            out.push(set(ListenerRuleField::HostHeader, d.host_headers.join(",")));
        }
        if !d.path_patterns.is_empty() {
            out.push(set(
                ListenerRuleField::PathPattern,
                d.path_patterns.join(","),
            ));
        }
        out.push(set(ListenerRuleField::Forward, forwards_to(d).to_string()));
        out
    }

    fn diff(&self, d: &ListenerRuleSpec, o: &FoundRule) -> Delta<ListenerRuleField> {
        let mut delta = Delta::new();
        delta.compare(
            ListenerRuleField::ListenerArn,
            &o.listener_arn,
            &d.listener_arn,
        );
        delta.compare(
            ListenerRuleField::Priority,
            &o.priority.unwrap_or_default(),
            &Value::Known(d.priority),
        );
        let hosts: BTreeSet<String> = d.host_headers.iter().cloned().collect();
        let paths: BTreeSet<String> = d.path_patterns.iter().cloned().collect();
        delta.compare(
            ListenerRuleField::HostHeader,
            &joined(&o.host_headers),
            &Value::Known(joined(&hosts)),
        );
        delta.compare(
            ListenerRuleField::PathPattern,
            &joined(&o.path_patterns),
            &Value::Known(joined(&paths)),
        );
        delta.compare(
            ListenerRuleField::Forward,
            &joined(&o.target_groups),
            &forwards_to(d),
        );
        delta
    }

    fn outputs(&self, o: &FoundRule) -> ListenerRuleOutputs {
        ListenerRuleOutputs { arn: o.arn.clone() }
    }

    fn output_id(&self, out: &ListenerRuleOutputs) -> Option<String> {
        Some(out.arn.clone())
    }

    async fn create(
        &self,
        cx: Cx<'_>,
        d: &ListenerRuleSpec<AtApply>,
    ) -> Result<ListenerRuleOutputs, Error> {
        let out = cx
            .aws
            .elbv2()
            .create_rule()
            .listener_arn(&d.listener_arn)
            .priority(d.priority)
            .set_conditions(Some(conditions(d)))
            .actions(forward(d))
            .set_tags(Some(cx.tags.elbv2(cx.name)))
            .send()
            .await
            .context("CreateRule", ListenerRuleKind::label(cx.name))?;
        Ok(ListenerRuleOutputs {
            arn: out
                .rules()
                .first()
                .and_then(|r| r.rule_arn())
                .unwrap_or_default()
                .to_owned(),
        })
    }

    /// The priority by `SetRulePriorities`, the conditions and the target by `ModifyRule`.
    async fn update(
        &self,
        cx: Cx<'_>,
        d: &ListenerRuleSpec<AtApply>,
        o: &FoundRule,
        delta: &Delta<ListenerRuleField>,
    ) -> Result<ListenerRuleOutputs, Error> {
        let (mut priority, mut modify) = (false, false);
        for field in delta.fields() {
            match field {
                // Fixed: the engine makes the rule on the new listener instead.
                ListenerRuleField::ListenerArn => {}
                ListenerRuleField::Priority => priority = true,
                ListenerRuleField::HostHeader
                | ListenerRuleField::PathPattern
                | ListenerRuleField::Forward => modify = true,
            }
        }
        if priority {
            cx.aws
                .elbv2()
                .set_rule_priorities()
                .rule_priorities(
                    RulePriorityPair::builder()
                        .rule_arn(&o.arn)
                        .priority(d.priority)
                        .build(),
                )
                .send()
                .await
                .context("SetRulePriorities", ListenerRuleKind::label(cx.name))?;
        }
        if modify {
            cx.aws
                .elbv2()
                .modify_rule()
                .rule_arn(&o.arn)
                .set_conditions(Some(conditions(d)))
                .actions(forward(d))
                .send()
                .await
                .context("ModifyRule", ListenerRuleKind::label(cx.name))?;
        }
        Ok(self.outputs(o))
    }

    async fn delete(&self, cx: Cx<'_>, o: &FoundRule) -> Result<(), Error> {
        let result = cx
            .aws
            .elbv2()
            .delete_rule()
            .rule_arn(&o.arn)
            .send()
            .await
            .context("DeleteRule", ListenerRuleKind::label(&o.name));
        match result {
            Err(err) if !err.is_not_found() => Err(err),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use converge::Tags;

    fn spec() -> ListenerRuleSpec {
        ListenerRuleSpec {
            listener_arn: Value::Known("arn:listener".into()),
            priority: 20,
            host_headers: Vec::new(),
            path_patterns: vec!["/api/*".into(), "/api".into()],
            target_group_arn: Value::Known("arn:tg".into()),
            alternate_target_group_arn: None,
        }
    }

    #[test]
    fn resolve_names_the_input_still_unknown() {
        let cases = [
            (
                ListenerRuleSpec {
                    listener_arn: Value::AfterApply,
                    ..spec()
                },
                "listener_arn",
            ),
            (
                ListenerRuleSpec {
                    target_group_arn: Value::AfterApply,
                    ..spec()
                },
                "target_group_arn",
            ),
        ];
        for (planned, input) in cases {
            assert_eq!(planned.resolve().unwrap_err().input, input);
        }
        let applied = spec().resolve().unwrap();
        assert_eq!(applied.listener_arn, "arn:listener");
        assert_eq!(applied.target_group_arn, "arn:tg");
    }

    fn rule(name: &str, owner: Option<&str>, priority: i32) -> FoundRule {
        FoundRule {
            name: name.into(),
            arn: format!("arn:rule/{name}"),
            listener_arn: "arn:listener".into(),
            priority: Some(priority),
            host_headers: BTreeSet::new(),
            path_patterns: ["/api".to_owned(), "/api/*".to_owned()].into(),
            target_groups: ["arn:tg".to_owned()].into(),
            owner: owner.map(str::to_owned),
        }
    }

    #[test]
    fn conditions_compare_as_sets_and_the_listener_is_fixed() {
        let ours = rule("blog-api", Some("o"), 20);
        assert!(ListenerRuleKind.diff(&spec(), &ours).is_empty());
        let moved = ListenerRuleSpec {
            priority: 30,
            host_headers: vec!["api.example.com".into()],
            ..spec()
        };
        let delta = ListenerRuleKind.diff(&moved, &ours);
        assert!(!delta.replaces());
        assert_eq!(
            delta.fields(),
            [ListenerRuleField::Priority, ListenerRuleField::HostHeader]
        );
        let labels: Vec<String> = delta.diffs().into_iter().map(|d| d.field).collect();
        assert_eq!(labels, ["priority", "host_header"]);
        let elsewhere = ListenerRuleSpec {
            listener_arn: Value::Known("arn:other".into()),
            ..spec()
        };
        let delta = ListenerRuleKind.diff(&elsewhere, &ours);
        assert!(delta.replaces());
        assert_eq!(
            delta.changes[0].replaces,
            Some("a rule cannot move to another listener")
        );
    }

    #[test]
    fn of_two_of_ours_the_one_on_the_wanted_listener_comes_first() {
        let tags = Tags::for_instance("ecs-service", "blog", "blog-api");
        let on = |port| RuleAt {
            load_balancer: "blog-shared".into(),
            port,
            priority: 20,
        };
        let key = on(443);
        let wanted = [Wanted {
            name: "blog-api",
            tags: &tags,
            key: &key,
            teardown: false,
        }];
        let old = rule("blog-api", Some(tags.owner()), 20);
        let new = FoundRule {
            arn: "arn:rule/new".into(),
            ..old.clone()
        };
        let mut rules = vec![(on(80), old), (on(443), new)];
        wanted_places_first(&wanted, &mut rules);
        assert_eq!(rules[0].1.arn, "arn:rule/new");
    }

    #[test]
    fn a_priority_held_by_another_owner_or_declared_twice_is_a_conflict() {
        let tags = Tags::for_instance("ecs-service", "blog", "blog-api");
        let at = |priority| RuleAt {
            load_balancer: "blog-shared".into(),
            port: 80,
            priority,
        };
        let key = at(20);
        let wanted = [Wanted {
            name: "blog-api",
            tags: &tags,
            key: &key,
            teardown: false,
        }];
        // Our own rule at its priority is no collision.
        let ours = (at(20), rule("blog-api", Some(tags.owner()), 20));
        assert!(collisions(&wanted, std::slice::from_ref(&ours)).is_ok());
        // Another service's, or an untagged one, is; the error names it.
        let theirs = (
            at(20),
            rule("blog-web", Some("ecs-service/blog/blog-web"), 20),
        );
        let err = collisions(&wanted, &[theirs]).unwrap_err().to_string();
        assert!(
            err.contains("\"blog-web\"") && err.contains("priority 20"),
            "{err}"
        );
        let untagged = (at(20), rule("arn:rule/x", None, 20));
        let err = collisions(&wanted, &[untagged]).unwrap_err().to_string();
        assert!(err.contains("untagged"), "{err}");
        // Another priority on the same listener, or the same one elsewhere, is free.
        let other_port = (
            RuleAt {
                port: 443,
                ..at(20)
            },
            rule("blog-web", Some("x"), 20),
        );
        assert!(collisions(
            &wanted,
            &[(at(10), rule("blog-web", Some("x"), 10)), other_port]
        )
        .is_ok());
        let twice = [
            Wanted {
                name: "blog-api",
                tags: &tags,
                key: &key,
                teardown: false,
            },
            Wanted {
                name: "blog-admin",
                tags: &tags,
                key: &key,
                teardown: false,
            },
        ];
        let err = collisions(&twice, &[]).unwrap_err().to_string();
        assert!(
            err.contains("blog-api") && err.contains("blog-admin"),
            "{err}"
        );
    }
}

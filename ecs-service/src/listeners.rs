//! `aws_lb_listener`: a port of our load balancer forwarding to a target group. Found through
//! its load balancer (by the load balancer's name, from the load balancer kind's shared read)
//! and owned with it: a listener on a load balancer of ours is ours. A shared load balancer's
//! listener answers 404 itself and carries the services' rules; it is not deleted while
//! another stack's rule is on it.

use async_trait::async_trait;
use std::sync::Arc;

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, FixedResponseActionConfig, ProtocolEnum,
    RedirectActionConfig, RedirectActionStatusCodeEnum,
};
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Holder, Resource, Value, Wanted};

use crate::listener_rules::{list_rules, rules_of};
use crate::load_balancers::{named, FoundLoadBalancer};

/// The listener kind.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListenerKind;

/// Where a listener is: its load balancer, and whether that is a shared one, whose
/// listeners carry other stacks' rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenerOf {
    /// The load balancer's name.
    pub load_balancer: String,
    /// A [`SharedLoadBalancer`](crate::SharedLoadBalancer)'s: its listeners' rules are read,
    /// and a listener is not deleted while another stack's rule is on it.
    pub shared: bool,
}

/// What a listener does with a request.
#[derive(Clone, Debug, PartialEq)]
pub enum ListenerAction<P: Phase = AtPlan> {
    /// Forwards it to this target group.
    Forward(P::Value<String>),
    /// Answers `301 Moved Permanently` to the same host and path over HTTPS on this port.
    RedirectToHttps(i32),
    /// Answers `404 Not Found` itself: a shared listener, whose rules forward.
    NotFound,
}

/// What a listener should be.
#[derive(Clone, Debug, PartialEq)]
pub struct ListenerSpec<P: Phase = AtPlan> {
    /// Its load balancer.
    pub load_balancer_arn: P::Value<String>,
    /// The port.
    pub port: i32,
    /// `HTTP` or `HTTPS`.
    pub protocol: String,
    /// The certificate, for HTTPS.
    pub certificate_arn: Option<String>,
    /// The TLS policy, for HTTPS.
    pub ssl_policy: Option<String>,
    /// Where requests go.
    pub action: ListenerAction<P>,
}

impl Resolve for ListenerSpec {
    type Output = ListenerSpec<AtApply>;

    fn resolve(&self) -> Result<ListenerSpec<AtApply>, Unknown> {
        Ok(ListenerSpec {
            load_balancer_arn: self.load_balancer_arn.resolve("load_balancer_arn")?,
            port: self.port,
            protocol: self.protocol.clone(),
            certificate_arn: self.certificate_arn.clone(),
            ssl_policy: self.ssl_policy.clone(),
            action: match &self.action {
                ListenerAction::Forward(tg) => {
                    ListenerAction::Forward(tg.resolve("action.forward")?)
                }
                ListenerAction::RedirectToHttps(port) => ListenerAction::RedirectToHttps(*port),
                ListenerAction::NotFound => ListenerAction::NotFound,
            },
        })
    }
}

/// A listener as ELB has it.
#[derive(Clone, Debug)]
pub struct FoundListener {
    /// `<load balancer>:<port>`.
    name: String,
    pub(crate) load_balancer: String,
    pub(crate) arn: String,
    pub(crate) port: i32,
    load_balancer_arn: String,
    protocol: String,
    certificate_arn: Option<String>,
    ssl_policy: Option<String>,
    target_group_arn: Option<String>,
    /// `HTTPS:<port>:HTTP_301` when it redirects.
    redirect: Option<String>,
    /// The status code when it answers itself.
    fixed: Option<String>,
    /// The load balancer's owner.
    owner: Option<String>,
    /// Whether it is a shared load balancer's.
    shared: bool,
    /// The rules on it, when it is a shared load balancer's.
    rules: Vec<Holder>,
}

/// A listener's outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListenerOutputs {
    /// Its ARN.
    pub arn: String,
}

/// The name a listener answers to: its load balancer's and its port.
pub fn listener_name(load_balancer: &str, port: i32) -> String {
    format!("{load_balancer}:{port}")
}

fn redirect_text(port: i32) -> String {
    format!("HTTPS:{port}:HTTP_301")
}

const NOT_FOUND: &str = "404";

/// The default action ELB takes for `action`.
fn default_action(action: &ListenerAction<AtApply>) -> Action {
    match action {
        ListenerAction::Forward(tg) => Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .target_group_arn(tg)
            .build(),
        ListenerAction::RedirectToHttps(port) => Action::builder()
            .r#type(ActionTypeEnum::Redirect)
            .redirect_config(
                RedirectActionConfig::builder()
                    .protocol("HTTPS")
                    .port(port.to_string())
                    .status_code(RedirectActionStatusCodeEnum::Http301)
                    .build(),
            )
            .build(),
        ListenerAction::NotFound => Action::builder()
            .r#type(ActionTypeEnum::FixedResponse)
            .fixed_response_config(
                FixedResponseActionConfig::builder()
                    .status_code(NOT_FOUND)
                    .content_type("text/plain")
                    .message_body("Not Found")
                    .build(),
            )
            .build(),
    }
}

fn certificates(d: &ListenerSpec<AtApply>) -> Option<Vec<Certificate>> {
    d.certificate_arn
        .as_ref()
        .map(|c| vec![Certificate::builder().certificate_arn(c).build()])
}

/// The listeners of one load balancer of ours: read once per stack read, by whichever of
/// the listener kind and the rule kind asks first.
pub(crate) async fn listeners_of(
    aws: &Aws,
    lb: &FoundLoadBalancer,
) -> Result<Arc<Vec<FoundListener>>, Error> {
    let key = format!("elbv2/listeners/{}", lb.arn);
    aws.shared(&key, || describe_listeners(aws, lb)).await
}

async fn describe_listeners(
    aws: &Aws,
    lb: &FoundLoadBalancer,
) -> Result<Vec<FoundListener>, Error> {
    let listeners = converge::paging::drain(
        "DescribeListeners",
        &lb.arn,
        (aws.elbv2().describe_listeners())
            .load_balancer_arn(&lb.arn)
            .into_paginator()
            .send(),
        |page| page.listeners.unwrap_or_default(),
    )
    .await?;
    Ok(listeners
        .iter()
        .map(|l| FoundListener {
            name: listener_name(&lb.name, l.port().unwrap_or_default()),
            load_balancer: lb.name.clone(),
            arn: l.listener_arn().unwrap_or_default().to_owned(),
            port: l.port().unwrap_or_default(),
            load_balancer_arn: lb.arn.clone(),
            protocol: l
                .protocol()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            certificate_arn: l
                .certificates()
                .first()
                .and_then(|c| c.certificate_arn())
                .map(str::to_owned),
            ssl_policy: l.ssl_policy().map(str::to_owned),
            target_group_arn: l
                .default_actions()
                .iter()
                .find_map(|a| a.target_group_arn().map(str::to_owned)),
            redirect: l
                .default_actions()
                .iter()
                .find_map(|a| a.redirect_config())
                .map(|r| {
                    format!(
                        "{}:{}:{}",
                        r.protocol().unwrap_or_default(),
                        r.port().unwrap_or_default(),
                        r.status_code().map(|c| c.as_str()).unwrap_or_default()
                    )
                }),
            fixed: l
                .default_actions()
                .iter()
                .find_map(|a| a.fixed_response_config())
                .and_then(|f| f.status_code().map(str::to_owned)),
            owner: lb.owner.clone(),
            shared: false,
            rules: Vec::new(),
        })
        .collect())
}

/// A listener's fields that a plan can show changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenerField {
    /// Its port, which names it: shown at create, never compared.
    Port,
    /// Its load balancer (fixed).
    LoadBalancerArn,
    /// `HTTP` or `HTTPS`.
    Protocol,
    /// The HTTPS listener's certificate.
    CertificateArn,
    /// The HTTPS listener's security policy.
    SslPolicy,
    /// The target group its default action forwards to.
    Forward,
    /// Its default action's redirect, `HTTPS:<port>:HTTP_301`.
    Redirect,
    /// Its default action's fixed response (a shared listener's 404).
    FixedResponse,
}

impl Field for ListenerField {
    fn name(&self) -> &str {
        match self {
            ListenerField::Port => "port",
            ListenerField::LoadBalancerArn => "load_balancer_arn",
            ListenerField::Protocol => "protocol",
            ListenerField::CertificateArn => "certificate_arn",
            ListenerField::SslPolicy => "ssl_policy",
            ListenerField::Forward => "forward",
            ListenerField::Redirect => "redirect",
            ListenerField::FixedResponse => "fixed_response",
        }
    }

    fn replaces(&self) -> Option<&'static str> {
        match self {
            ListenerField::Port => Some("a listener is found by its port: another is a new one"),
            ListenerField::LoadBalancerArn => {
                Some("a listener cannot move to another load balancer")
            }
            ListenerField::Protocol
            | ListenerField::CertificateArn
            | ListenerField::SslPolicy
            | ListenerField::Forward
            | ListenerField::Redirect
            | ListenerField::FixedResponse => None,
        }
    }
}

#[async_trait]
impl Resource for ListenerKind {
    const KIND: &'static str = "aws_lb_listener";
    const PRUNE: bool = true;
    type Field = ListenerField;
    type Key = ListenerOf;
    type Desired = ListenerSpec;
    type Observed = FoundListener;
    type Outputs = ListenerOutputs;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::Grant;
        vec![
            Grant::new([
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:ModifyListener",
            ]),
            Grant::new(["elasticloadbalancing:AddTags"]).when(
                "StringEquals",
                "elasticloadbalancing:CreateAction",
                ["CreateListener"],
            ),
            Grant::new(["elasticloadbalancing:AddTags"]).tagged(),
            Grant::new(["elasticloadbalancing:DeleteListener"]).owned(),
        ]
    }

    async fn read(
        &self,
        aws: &Aws,
        wanted: &[Wanted<'_, ListenerOf>],
    ) -> Result<Vec<FoundListener>, Error> {
        // The load balancers come from the read the load balancer kind makes (shared).
        let lbs: Vec<&str> = wanted
            .iter()
            .map(|w| w.key.load_balancer.as_str())
            .collect();
        let found = named(aws, &lbs).await?;
        let listeners =
            futures::future::try_join_all(found.iter().map(|lb| listeners_of(aws, lb))).await?;
        let mut listeners: Vec<FoundListener> =
            listeners.iter().flat_map(|l| l.iter().cloned()).collect();
        // Only a shared load balancer's listeners carry rules, whatever they answer.
        let shared = |lb: &str| {
            wanted
                .iter()
                .any(|w| w.key.shared && w.key.load_balancer == lb)
        };
        let rules = futures::future::try_join_all(
            (listeners.iter())
                .filter(|l| shared(&l.load_balancer))
                .map(|l| rules_of(aws, &l.arn)),
        )
        .await?;
        let held = listeners.iter_mut().filter(|l| shared(&l.load_balancer));
        for (l, rules) in held.zip(rules) {
            l.shared = true;
            l.rules = rules.iter().map(|r| r.holder()).collect();
        }
        Ok(listeners)
    }

    fn name<'o>(&self, o: &'o FoundListener) -> &'o str {
        &o.name
    }

    fn owner<'o>(&self, o: &'o FoundListener) -> Option<&'o str> {
        o.owner.as_deref()
    }

    fn id(&self, o: &FoundListener) -> String {
        o.arn.clone()
    }

    fn tag_target(&self, o: &FoundListener) -> Option<converge::TagTarget> {
        Some(converge::TagTarget::Elbv2(o.arn.clone()))
    }

    fn describe(&self, d: &ListenerSpec) -> Vec<Diff> {
        // What a create sets: nothing is replaced, whatever the field.
        let set = |field: ListenerField, after: String| Diff {
            field: field.name().into(),
            before: None,
            after: Some(after),
            replaces: None,
        };
        let mut out = vec![
            set(ListenerField::Port, d.port.to_string()),
            set(ListenerField::Protocol, d.protocol.clone()),
            match &d.action {
                ListenerAction::Forward(tg) => set(ListenerField::Forward, tg.to_string()),
                ListenerAction::RedirectToHttps(port) => {
                    set(ListenerField::Redirect, redirect_text(*port))
                }
                ListenerAction::NotFound => set(ListenerField::FixedResponse, NOT_FOUND.into()),
            },
        ];
        if let Some(c) = &d.certificate_arn {
            out.push(set(ListenerField::CertificateArn, c.clone()));
        }
        out
    }

    fn diff(&self, d: &ListenerSpec, o: &FoundListener) -> Delta<ListenerField> {
        let mut delta = Delta::new();
        // A new load balancer has none of the old one's listeners.
        delta.compare(
            ListenerField::LoadBalancerArn,
            &o.load_balancer_arn,
            &d.load_balancer_arn,
        );
        delta.compare(
            ListenerField::Protocol,
            &o.protocol,
            &Value::Known(d.protocol.clone()),
        );
        if o.certificate_arn != d.certificate_arn {
            delta.update(
                ListenerField::CertificateArn,
                o.certificate_arn.as_ref(),
                d.certificate_arn.as_ref(),
            );
        }
        if d.ssl_policy.is_some() && o.ssl_policy != d.ssl_policy {
            delta.update(
                ListenerField::SslPolicy,
                o.ssl_policy.as_ref(),
                d.ssl_policy.as_ref(),
            );
        }
        match &d.action {
            ListenerAction::Forward(tg) => {
                let forward = o.target_group_arn.clone().unwrap_or_default();
                delta.compare(ListenerField::Forward, &forward, tg);
            }
            ListenerAction::RedirectToHttps(port) => {
                let have = o.redirect.clone().unwrap_or_default();
                delta.compare(
                    ListenerField::Redirect,
                    &have,
                    &Value::Known(redirect_text(*port)),
                );
            }
            ListenerAction::NotFound => {
                let have = o.fixed.clone().unwrap_or_default();
                delta.compare(
                    ListenerField::FixedResponse,
                    &have,
                    &Value::Known(NOT_FOUND.to_owned()),
                );
            }
        }
        delta
    }

    /// The rules on a shared listener would go with it.
    fn holders(&self, o: &FoundListener) -> Vec<Holder> {
        o.rules.clone()
    }

    fn outputs(&self, o: &FoundListener) -> ListenerOutputs {
        ListenerOutputs { arn: o.arn.clone() }
    }

    fn output_id(&self, out: &ListenerOutputs) -> Option<String> {
        Some(out.arn.clone())
    }

    async fn create(
        &self,
        cx: Cx<'_>,
        d: &ListenerSpec<AtApply>,
    ) -> Result<ListenerOutputs, Error> {
        let action = default_action(&d.action);
        let out = cx
            .aws
            .elbv2()
            .create_listener()
            .load_balancer_arn(&d.load_balancer_arn)
            .port(d.port)
            .protocol(ProtocolEnum::from(d.protocol.as_str()))
            .set_certificates(certificates(d))
            .set_ssl_policy(d.ssl_policy.clone())
            .default_actions(action)
            .set_tags(Some(cx.tags.elbv2(cx.name)))
            .send()
            .await
            .context("CreateListener", ListenerKind::label(cx.name))?;
        Ok(ListenerOutputs {
            arn: out
                .listeners()
                .first()
                .and_then(|l| l.listener_arn())
                .unwrap_or_default()
                .to_owned(),
        })
    }

    async fn update(
        &self,
        cx: Cx<'_>,
        d: &ListenerSpec<AtApply>,
        o: &FoundListener,
        delta: &Delta<ListenerField>,
    ) -> Result<ListenerOutputs, Error> {
        for field in delta.fields() {
            match field {
                // Fixed: the engine replaces the listener instead.
                ListenerField::Port | ListenerField::LoadBalancerArn => {}
                // The one `ModifyListener` below sets them all.
                ListenerField::Protocol
                | ListenerField::CertificateArn
                | ListenerField::SslPolicy
                | ListenerField::Forward
                | ListenerField::Redirect
                | ListenerField::FixedResponse => {}
            }
        }
        let action = default_action(&d.action);
        cx.aws
            .elbv2()
            .modify_listener()
            .listener_arn(&o.arn)
            .protocol(ProtocolEnum::from(d.protocol.as_str()))
            .set_certificates(certificates(d))
            .set_ssl_policy(d.ssl_policy.clone())
            .default_actions(action)
            .send()
            .await
            .context("ModifyListener", ListenerKind::label(cx.name))?;
        Ok(self.outputs(o))
    }

    /// A shared listener is looked at again first: a rule another stack added since the read
    /// would go with it.
    async fn delete(&self, cx: Cx<'_>, o: &FoundListener) -> Result<(), Error> {
        if o.shared {
            let added = rules_still_on(cx.aws, &o.arn).await?;
            if !added.is_empty() {
                return Err(Error::Protected {
                    resource: ListenerKind::label(&o.name),
                    how: format!(
                        "rules were added to it since it was read: {}; destroy or move them first",
                        added.join(", ")
                    ),
                });
            }
        }
        let result = cx
            .aws
            .elbv2()
            .delete_listener()
            .listener_arn(&o.arn)
            .send()
            .await
            .context("DeleteListener", ListenerKind::label(&o.name));
        match result {
            Err(err) if !err.is_not_found() => Err(err),
            _ => Ok(()),
        }
    }
}

/// The rules on a shared listener now (listed again, not the stack read's answer). The
/// stack's own rules were deleted just before, and a listing may show them a moment longer:
/// only rules still there after a few looks count.
async fn rules_still_on(aws: &Aws, listener_arn: &str) -> Result<Vec<String>, Error> {
    // About as long as a deleted rule lingers in listings; jittered pauses (the shared
    // backoff), as another stack may be looking at the same listener.
    let wait = converge::Wait {
        timeout: std::time::Duration::from_secs(8),
        initial_delay: std::time::Duration::from_secs(1),
        max_delay: std::time::Duration::from_secs(4),
    };
    let last = std::sync::Mutex::new(Vec::new());
    let looked = wait
        .until(
            &format!("the deleted rules to leave listener {listener_arn}"),
            || async {
                let arns: Vec<String> = match list_rules(aws, listener_arn).await {
                    Err(err) if err.code() == Some("ListenerNotFound") => Vec::new(),
                    other => other?.into_iter().map(|r| r.arn).collect(),
                };
                let gone = arns.is_empty();
                *last.lock().unwrap_or_else(|p| p.into_inner()) = arns;
                Ok(gone.then_some(()))
            },
        )
        .await;
    match looked {
        Ok(()) => Ok(Vec::new()),
        // Still there after the looks: they are someone else's.
        Err(Error::WaitTimedOut { .. }) => Ok(last.into_inner().unwrap_or_else(|p| p.into_inner())),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ListenerSpec {
        ListenerSpec {
            load_balancer_arn: Value::Known("arn:lb".into()),
            port: 80,
            protocol: "HTTP".into(),
            certificate_arn: None,
            ssl_policy: None,
            action: ListenerAction::Forward(Value::Known("arn:tg".into())),
        }
    }

    #[test]
    fn resolve_names_the_input_still_unknown() {
        let cases = [
            (
                ListenerSpec {
                    load_balancer_arn: Value::AfterApply,
                    ..spec()
                },
                "load_balancer_arn",
            ),
            (
                ListenerSpec {
                    action: ListenerAction::Forward(Value::AfterApply),
                    ..spec()
                },
                "action.forward",
            ),
        ];
        for (planned, input) in cases {
            assert_eq!(planned.resolve().unwrap_err().input, input);
        }
        let applied = spec().resolve().unwrap();
        assert_eq!(applied.load_balancer_arn, "arn:lb");
        assert_eq!(applied.action, ListenerAction::Forward("arn:tg".into()));
        let redirect = ListenerSpec {
            action: ListenerAction::RedirectToHttps(443),
            ..spec()
        };
        assert_eq!(
            redirect.resolve().unwrap().action,
            ListenerAction::RedirectToHttps(443)
        );
    }

    fn found() -> FoundListener {
        FoundListener {
            name: listener_name("blog-blog", 80),
            load_balancer: "blog-blog".into(),
            arn: "arn:listener".into(),
            port: 80,
            load_balancer_arn: "arn:lb".into(),
            protocol: "HTTP".into(),
            certificate_arn: None,
            ssl_policy: None,
            target_group_arn: Some("arn:tg".into()),
            redirect: None,
            fixed: None,
            owner: None,
            shared: false,
            rules: Vec::new(),
        }
    }

    #[test]
    fn a_listener_moved_out_of_band_is_a_difference() {
        assert!(ListenerKind.diff(&spec(), &found()).is_empty());
        let moved = FoundListener {
            target_group_arn: Some("arn:other".into()),
            ..found()
        };
        let delta = ListenerKind.diff(&spec(), &moved);
        assert_eq!(delta.fields(), [ListenerField::Forward]);
        assert_eq!(delta.diffs()[0].field, "forward");
        assert!(!delta.replaces());
        let new_lb = ListenerSpec {
            load_balancer_arn: Value::AfterApply,
            ..spec()
        };
        let delta = ListenerKind.diff(&new_lb, &found());
        assert!(delta.replaces());
        assert_eq!(delta.changes[0].field, ListenerField::LoadBalancerArn);
        assert_eq!(
            delta.changes[0].replaces,
            Some("a listener cannot move to another load balancer")
        );
        // A create shows the port that names it, with nothing replaced.
        let made = ListenerKind.describe(&spec());
        assert_eq!(made[0].field, "port");
        assert!(made.iter().all(|d| d.replaces.is_none()));
        // Forwarding where a redirect is wanted, and the redirect in place.
        let redirect = ListenerSpec {
            action: ListenerAction::RedirectToHttps(443),
            ..spec()
        };
        let delta = ListenerKind.diff(&redirect, &found());
        assert_eq!(
            delta.diffs()[0].after.as_deref(),
            Some("HTTPS:443:HTTP_301")
        );
        let redirecting = FoundListener {
            target_group_arn: None,
            redirect: Some("HTTPS:443:HTTP_301".into()),
            ..found()
        };
        assert!(ListenerKind.diff(&redirect, &redirecting).is_empty());
    }
}

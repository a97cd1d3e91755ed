//! `aws_nat_gateway`: a NAT gateway in a public subnet, behind its Elastic IP.
//!
//! The engine waits after a create until it is `available` (the private route tables that
//! point at it are what lets tasks pull their images; a failed one is reported with AWS's
//! `FailureCode`/`FailureMessage`), and after a delete until it is `deleted`, since only then
//! can its Elastic IP be released and its subnet deleted.

use async_trait::async_trait;
use aws_sdk_ec2::types::{NatGateway, NatGatewayState, ResourceType};
use converge::phase::{AtApply, AtPlan, Phase, Resolve, Unknown};
use converge::{
    ignore_not_found, Action, Aws, AwsResultExt, Cx, Delta, Diff, Error, Field, Progress, Resource,
    Transient, Wait, Wanted,
};

/// The NAT gateway kind, with how long its waits may take.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NatKind {
    pub wait: Wait,
}

/// What the inputs ask for.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NatDesired<P: Phase = AtPlan> {
    pub subnet_id: P::Value<String>,
    pub allocation_id: P::Value<String>,
}

impl Resolve for NatDesired {
    type Output = NatDesired<AtApply>;

    fn resolve(&self) -> Result<NatDesired<AtApply>, Unknown> {
        Ok(NatDesired {
            subnet_id: self.subnet_id.resolve("subnet_id")?,
            allocation_id: self.allocation_id.resolve("allocation_id")?,
        })
    }
}

/// A NAT gateway we own that is not yet deleted.
#[derive(Clone, Debug)]
pub(crate) struct FoundNat {
    pub id: String,
    pub name: String,
    pub owner: Option<String>,
    pub subnet_id: String,
    /// Absent when AWS does not say (the emulator lists no addresses).
    pub allocation_id: Option<String>,
    pub state: NatGatewayState,
    /// When it was made: of two copies, the older is kept.
    pub created: Option<std::time::SystemTime>,
}

/// What the private route tables use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NatOut {
    pub id: String,
}

pub(crate) const KIND: &str = "aws_nat_gateway";

/// A NAT gateway's fields that a plan can show changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatField {
    /// The public subnet it is in; fixed.
    SubnetId,
    /// Its Elastic IP's allocation; fixed.
    AllocationId,
    /// Its state: a pending one is waited for, a failed or going one made anew.
    State,
}

/// Why a NAT gateway that failed or is going is made anew.
const DEAD: &str = "a failed or deleted NAT gateway cannot carry traffic again";

impl Field for NatField {
    fn name(&self) -> &str {
        match self {
            NatField::SubnetId => "subnet_id",
            NatField::AllocationId => "allocation_id",
            NatField::State => "state",
        }
    }

    fn replaces(&self) -> Option<&'static str> {
        match self {
            NatField::SubnetId => Some("a NAT gateway cannot move to another subnet"),
            NatField::AllocationId => Some("a NAT gateway cannot change its primary Elastic IP"),
            NatField::State => None,
        }
    }
}

#[async_trait]
impl Resource for NatKind {
    const KIND: &'static str = KIND;
    // A NAT gateway no longer wanted (fewer zones, one instead of one per zone) goes.
    const PRUNE: bool = true;
    // The subnet or the address just made and not yet visible to CreateNatGateway.
    const TRANSIENT: Transient = Transient::EC2_JUST_CREATED;
    type Field = NatField;
    type Key = ();
    type Desired = NatDesired;
    type Observed = FoundNat;
    type Outputs = NatOut;

    fn permissions(
        &self,
        _key: &Self::Key,
        _desired: Option<&Self::Desired>,
    ) -> Vec<converge::permissions::Grant> {
        use converge::permissions::{ec2_tags_on_create, Grant};
        vec![
            Grant::new(["ec2:DescribeNatGateways", "ec2:CreateNatGateway"]),
            ec2_tags_on_create("CreateNatGateway"),
            Grant::new(["ec2:DeleteNatGateway"]).owned(),
        ]
    }

    async fn read(&self, aws: &Aws, wanted: &[Wanted<'_, ()>]) -> Result<Vec<FoundNat>, Error> {
        let found = converge::ec2::read_owned(
            wanted,
            "DescribeNatGateways",
            KIND,
            // Its field is `filter`, unlike the other kinds'.
            |owned| {
                aws.ec2()
                    .describe_nat_gateways()
                    .filter(owned)
                    .into_paginator()
                    .send()
            },
            |page| page.nat_gateways.unwrap_or_default(),
        )
        .await?;
        Ok(found
            .into_iter()
            // AWS lists deleted ones for an hour. (The emulator ignores the tag filter: the
            // stack's claim leaves the others' aside, their names carrying their environment.)
            .filter(|f| f.item.state() != Some(&NatGatewayState::Deleted))
            .map(|f| {
                let n = f.item;
                FoundNat {
                    id: n.nat_gateway_id().unwrap_or_default().to_owned(),
                    name: f.name,
                    owner: f.owner,
                    subnet_id: n.subnet_id().unwrap_or_default().to_owned(),
                    allocation_id: n
                        .nat_gateway_addresses()
                        .iter()
                        .find_map(|a| a.allocation_id())
                        .map(str::to_owned),
                    state: n.state().cloned().unwrap_or(NatGatewayState::Pending),
                    created: n
                        .create_time()
                        .and_then(|t| std::time::SystemTime::try_from(*t).ok()),
                }
            })
            .collect())
    }

    fn name<'o>(&self, o: &'o FoundNat) -> &'o str {
        &o.name
    }
    fn owner<'o>(&self, o: &'o FoundNat) -> Option<&'o str> {
        o.owner.as_deref()
    }
    fn id(&self, o: &FoundNat) -> String {
        o.id.clone()
    }

    fn created(&self, o: &FoundNat) -> Option<std::time::SystemTime> {
        o.created
    }

    fn describe(&self, d: &NatDesired) -> Vec<Diff> {
        let mut delta = Delta::<Self::Field>::new();
        delta
            .update(NatField::SubnetId, None::<String>, Some(&d.subnet_id))
            .update(
                NatField::AllocationId,
                None::<String>,
                Some(&d.allocation_id),
            );
        delta.described()
    }

    fn diff(&self, d: &NatDesired, o: &FoundNat) -> Delta<NatField> {
        let mut delta = Delta::new();
        delta.compare(NatField::SubnetId, &o.subnet_id, &d.subnet_id);
        if let Some(have) = &o.allocation_id {
            delta.compare(NatField::AllocationId, have, &d.allocation_id);
        }
        match &o.state {
            NatGatewayState::Available => {}
            // An apply cut off during the wait: the next one waits again.
            NatGatewayState::Pending => {
                delta.update(NatField::State, Some("pending"), Some("available"));
            }
            // Failed or going: it cannot carry traffic again, so a new one is made.
            other => {
                delta.replace_because(
                    NatField::State,
                    DEAD,
                    Some(other.as_str()),
                    Some("available"),
                );
            }
        }
        delta
    }

    /// The module's `wait` input.
    fn wait(&self, _: Option<&NatDesired>) -> Wait {
        self.wait
    }

    fn outputs(&self, o: &FoundNat) -> NatOut {
        NatOut { id: o.id.clone() }
    }
    fn output_id(&self, out: &NatOut) -> Option<String> {
        Some(out.id.clone())
    }

    async fn create(&self, cx: Cx<'_>, d: &NatDesired<AtApply>) -> Result<NatOut, Error> {
        // One token for every attempt: the engine's retry of a call whose first answer was
        // lost (or that met a subnet not yet visible) gets the gateway that call made, not a
        // second one.
        let token = converge::client_token(&cx, KIND, "create", converge::token::EC2);
        let out = cx
            .aws
            .ec2()
            .create_nat_gateway()
            .client_token(token.as_str())
            .subnet_id(&d.subnet_id)
            .allocation_id(&d.allocation_id)
            .tag_specifications(cx.tags.ec2_spec(ResourceType::Natgateway, cx.name))
            .send()
            .await
            .context("CreateNatGateway", cx.address(KIND, None))?;
        token.made();
        let id = out
            .nat_gateway()
            .and_then(|n| n.nat_gateway_id())
            .unwrap_or_default()
            .to_owned();
        Ok(NatOut { id })
    }

    async fn update(
        &self,
        _cx: Cx<'_>,
        _: &NatDesired<AtApply>,
        o: &FoundNat,
        delta: &Delta<NatField>,
    ) -> Result<NatOut, Error> {
        for field in delta.fields() {
            match field {
                // Replaced, never updated.
                NatField::SubnetId | NatField::AllocationId => {}
                // Only a pending one is updated: the engine waits for it (`ready`).
                NatField::State => {}
            }
        }
        Ok(self.outputs(o))
    }

    async fn delete(&self, cx: Cx<'_>, o: &FoundNat) -> Result<(), Error> {
        if o.state == NatGatewayState::Deleting {
            return Ok(());
        }
        let result = cx
            .aws
            .ec2()
            .delete_nat_gateway()
            .nat_gateway_id(&o.id)
            .send()
            .await
            .context("DeleteNatGateway", cx.address(KIND, Some(o.id.clone())));
        ignore_not_found(result)
    }

    /// Available; a failed one is an error with AWS's reason.
    async fn ready(
        &self,
        cx: Cx<'_>,
        _: &NatDesired<AtApply>,
        out: &NatOut,
        _: Action,
    ) -> Result<Progress<NatOut>, Error> {
        let pending = || {
            Ok(Progress::pending(format!(
                "NAT gateway {} to be available",
                out.id
            )))
        };
        let Some(nat) = Self::describe_one(cx.aws, &out.id).await? else {
            return pending();
        };
        match nat.state() {
            Some(NatGatewayState::Available) => Ok(Progress::Done(out.clone())),
            Some(
                NatGatewayState::Failed | NatGatewayState::Deleting | NatGatewayState::Deleted,
            ) => Err(Error::Failed {
                resource: cx.address(KIND, Some(out.id.clone())).to_string(),
                reason: format!(
                    "{}: {}",
                    nat.failure_code().unwrap_or("state is no longer pending"),
                    nat.failure_message().unwrap_or_default()
                ),
            }),
            _ => pending(),
        }
    }

    /// Deleted (or failed, which AWS deletes itself).
    async fn gone(&self, cx: Cx<'_>, o: &FoundNat) -> Result<Progress<()>, Error> {
        let gone = match Self::describe_one(cx.aws, &o.id).await? {
            None => true,
            Some(nat) => matches!(
                nat.state(),
                Some(NatGatewayState::Deleted | NatGatewayState::Failed)
            ),
        };
        Ok(if gone {
            Progress::Done(())
        } else {
            Progress::pending(format!("NAT gateway {} to be deleted", o.id))
        })
    }
}

impl NatKind {
    async fn describe_one(aws: &Aws, id: &str) -> Result<Option<NatGateway>, Error> {
        let out = aws
            .ec2()
            .describe_nat_gateways()
            .nat_gateway_ids(id)
            .send()
            .await
            .context("DescribeNatGateways", id);
        match out {
            // Just made and not yet visible, or long gone.
            Err(err) if err.is_not_found() => Ok(None),
            Err(err) => Err(err),
            Ok(out) => Ok(out.nat_gateways().first().cloned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use converge::Value;

    use super::*;

    fn found(state: NatGatewayState) -> FoundNat {
        FoundNat {
            id: "nat-1".into(),
            name: "blog-nat-gateway".into(),
            owner: Some("vpc/blog".into()),
            subnet_id: "subnet-1".into(),
            allocation_id: Some("eipalloc-1".into()),
            state,
            created: None,
        }
    }

    fn wants(subnet: Value<String>) -> NatDesired {
        NatDesired {
            subnet_id: subnet,
            allocation_id: Value::Known("eipalloc-1".into()),
        }
    }

    fn kind() -> NatKind {
        NatKind {
            wait: Wait::default(),
        }
    }

    #[test]
    fn an_available_one_in_its_subnet_is_no_change() {
        let d = wants(Value::Known("subnet-1".into()));
        assert!(kind()
            .diff(&d, &found(NatGatewayState::Available))
            .is_empty());
    }

    #[test]
    fn a_pending_one_is_waited_for_and_a_failed_one_made_anew() {
        let d = wants(Value::Known("subnet-1".into()));
        let pending = kind().diff(&d, &found(NatGatewayState::Pending));
        assert!(!pending.is_empty() && !pending.replaces());
        assert_eq!(pending.fields(), [NatField::State]);
        let failed = kind().diff(&d, &found(NatGatewayState::Failed));
        assert!(failed.replaces());
        assert_eq!(failed.changes[0].replaces, Some(DEAD));
    }

    /// Clients whose `CreateNatGateway` first answers `first` (if any) then makes `nat-1`,
    /// which is available at once; every client token sent is logged in `sent`.
    fn ec2(
        first: Option<&'static str>,
        sent: &std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    ) -> Aws {
        use aws_sdk_ec2::operation::create_nat_gateway::{
            CreateNatGatewayError, CreateNatGatewayOutput,
        };
        use aws_sdk_ec2::operation::describe_nat_gateways::DescribeNatGatewaysOutput;
        use aws_smithy_mocks::{mock, mock_client, RuleMode};
        let sent = std::sync::Arc::clone(sent);
        let made = || {
            CreateNatGatewayOutput::builder()
                .nat_gateway(NatGateway::builder().nat_gateway_id("nat-1").build())
                .build()
        };
        let create = mock!(aws_sdk_ec2::Client::create_nat_gateway).match_requests(move |r| {
            sent.lock()
                .unwrap()
                .push(r.client_token().unwrap_or_default().to_owned());
            true
        });
        let create = match first {
            Some(code) => create
                .sequence()
                .error(move || {
                    CreateNatGatewayError::generic(
                        aws_sdk_ec2::error::ErrorMetadata::builder()
                            .code(code)
                            .build(),
                    )
                })
                .output(made)
                .repeatedly()
                .build(),
            None => create.then_output(made),
        };
        let available = mock!(aws_sdk_ec2::Client::describe_nat_gateways).then_output(|| {
            DescribeNatGatewaysOutput::builder()
                .nat_gateways(
                    NatGateway::builder()
                        .nat_gateway_id("nat-1")
                        .state(NatGatewayState::Available)
                        .build(),
                )
                .build()
        });
        let client = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, &[create, available], |c| c
            .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()));
        Aws::builder()
            .ec2(client)
            .retry(converge::Retry {
                max_elapsed: std::time::Duration::from_secs(2),
                initial_delay: std::time::Duration::from_millis(1),
                max_delay: std::time::Duration::from_millis(5),
            })
            .build()
    }

    /// An apply of a stack that declares only the gateway (the mocked read finds none of
    /// ours): the engine retries the create and waits for it.
    async fn create(aws: &Aws) -> Result<(), Error> {
        let mut stack = converge::Stack::new();
        let tags = converge::Tags::new("vpc", "blog");
        stack.add(kind(), "blog-nat-gateway", tags, (), |_| {
            wants(Value::Known("subnet-1".into()))
        });
        stack.apply(aws).await.map(drop)
    }

    #[tokio::test]
    async fn a_create_sends_one_token_for_all_its_attempts_and_a_new_one_after_it_made_one() {
        let sent = std::sync::Arc::default();
        // The subnet just made is not yet visible: the engine's retry resends the token.
        let aws = ec2(Some("InvalidSubnetID.NotFound"), &sent);
        create(&aws).await.unwrap();
        // A later create of the same gateway in this run (it was deleted, or replaced).
        create(&aws).await.unwrap();
        // Another run.
        create(&ec2(None, &sent)).await.unwrap();
        let sent = sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 4, "{sent:?}");
        assert!(sent.iter().all(|t| t.len() == 32), "{sent:?}");
        assert_eq!(sent[0], sent[1]);
        assert_ne!(sent[2], sent[1]);
        assert!(sent[3] != sent[1] && sent[3] != sent[2], "{sent:?}");
    }

    #[test]
    fn another_or_unknown_subnet_is_a_replacement() {
        let moved = wants(Value::Known("subnet-2".into()));
        let delta = kind().diff(&moved, &found(NatGatewayState::Available));
        assert!(delta.replaces());
        assert_eq!(delta.changes[0].field, NatField::SubnetId);
        assert_eq!(
            delta.changes[0].replaces,
            Some("a NAT gateway cannot move to another subnet")
        );
        let unknown = wants(Value::AfterApply);
        assert!(kind()
            .diff(&unknown, &found(NatGatewayState::Available))
            .replaces());
    }
}

//! AWS's provisioning times, which the emulator skips: a NAT gateway is `pending` and a load
//! balancer `provisioning` for a while after its create call.

use std::time::Instant;

use aws_smithy_runtime_api::client::orchestrator::HttpRequest;

use super::wire::between;
use super::World;

/// A call whose answer the harness changes to model AWS's provisioning times.
#[derive(Clone, Copy, Debug)]
pub(super) enum Provisioning {
    /// CreateNatGateway: its id starts pending.
    CreateNat,
    /// CreateLoadBalancer: its ARN starts provisioning.
    CreateLb,
    /// DescribeNatGateways: pending ones say so.
    DescribeNat,
    /// DescribeLoadBalancers: provisioning ones say so.
    DescribeLb,
}

impl Provisioning {
    /// What the request is, when the harness models its resource at all.
    pub(super) fn of(request: &HttpRequest, world: &World) -> Option<Self> {
        let body = request.body().bytes()?;
        let has = |action: &[u8]| body.windows(action.len()).any(|w| w == action);
        let nat = !world.nat_pending.is_zero();
        let lb = !world.lb_provisioning.is_zero();
        [
            (nat, b"Action=CreateNatGateway&".as_slice(), Self::CreateNat),
            (nat, b"Action=DescribeNatGateways&", Self::DescribeNat),
            (lb, b"Action=CreateLoadBalancer&", Self::CreateLb),
            (lb, b"Action=DescribeLoadBalancers&", Self::DescribeLb),
        ]
        .into_iter()
        .find(|(on, action, _)| *on && has(action))
        .map(|(_, _, p)| p)
    }

    /// Records a creation, or rewrites a description (`text`, a successful answer) of what is
    /// not ready yet.
    pub(super) fn model(self, text: &mut String, world: &World) {
        let (id_tag, ready, not_ready, wait) = match self {
            Self::CreateNat | Self::DescribeNat => (
                "natGatewayId",
                "<state>available</state>",
                "<state>pending</state>",
                world.nat_pending,
            ),
            Self::CreateLb | Self::DescribeLb => (
                "LoadBalancerArn",
                "<Code>active</Code>",
                "<Code>provisioning</Code>",
                world.lb_provisioning,
            ),
        };
        let open = format!("<{id_tag}>");
        let close = format!("</{id_tag}>");
        let mut made = world.made.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        made.retain(|(_, at)| *at > now);
        if matches!(self, Self::CreateNat | Self::CreateLb) {
            if let Some(id) = between(text, &open, &close) {
                made.push((id.to_owned(), now + wait));
            }
        }
        // Each resource's state follows its id in its description (the shapes' member order).
        for (id, _) in made.iter() {
            let marker = format!("{open}{id}{close}");
            let Some(at) = text.find(&marker) else {
                continue;
            };
            let after = at + marker.len();
            let next_item = text[after..].find(&open).map_or(text.len(), |i| after + i);
            if let Some(i) = text[after..next_item].find(ready) {
                text.replace_range(after + i..after + i + ready.len(), not_ready);
            }
        }
    }
}

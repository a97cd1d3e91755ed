//! EC2's eventual consistency, which the emulator skips: an id an EC2 create call just
//! returned may be unknown to the next call that uses it (AWS documents `Invalid...NotFound`
//! for a while after the create). The harness refuses the first use of each fresh id once.

use std::time::Instant;

use aws_smithy_runtime_api::client::orchestrator::HttpRequest;

use super::wire::between;
use super::{Refusal, World};

/// The create calls whose new id is modelled, the tag that carries it in the answer, and the
/// error a too-early use of it gets.
const CREATES: [(&str, &str, &str); 7] = [
    ("CreateVpc", "vpcId", "InvalidVpcID.NotFound"),
    ("CreateSubnet", "subnetId", "InvalidSubnetID.NotFound"),
    ("CreateSecurityGroup", "groupId", "InvalidGroup.NotFound"),
    (
        "CreateRouteTable",
        "routeTableId",
        "InvalidRouteTableID.NotFound",
    ),
    (
        "CreateInternetGateway",
        "internetGatewayId",
        "InvalidInternetGatewayID.NotFound",
    ),
    (
        "CreateNatGateway",
        "natGatewayId",
        "InvalidNatGatewayID.NotFound",
    ),
    (
        "AllocateAddress",
        "allocationId",
        "InvalidAllocationID.NotFound",
    ),
];

/// Calls that take ids without checking them at once (a launch template's data is checked
/// when instances launch), and reads, which the model leaves alone.
const UNCHECKED: [&str; 3] = [
    "Action=CreateLaunchTemplate&",
    "Action=CreateLaunchTemplateVersion&",
    "Action=Describe",
];

fn ec2_action(request: &HttpRequest) -> Option<&str> {
    let body = std::str::from_utf8(request.body().bytes()?).ok()?;
    if !body.contains("Version=2016-11-15") {
        return None;
    }
    let start = body.find("Action=")? + "Action=".len();
    let end = body[start..].find('&').map_or(body.len(), |e| start + e);
    Some(&body[start..end])
}

/// The error for a call that uses an id created too recently, once per id.
pub(super) fn refusal(request: &HttpRequest, world: &World) -> Option<Refusal> {
    if world.fresh_window.is_zero() {
        return None;
    }
    ec2_action(request)?;
    let body = std::str::from_utf8(request.body().bytes()?).ok()?;
    if UNCHECKED.iter().any(|u| body.contains(u)) {
        return None;
    }
    let now = Instant::now();
    let mut fresh = world.fresh.lock().unwrap_or_else(|p| p.into_inner());
    let entry = fresh
        .iter_mut()
        .find(|f| !f.refused && f.until > now && body.contains(f.id.as_str()))?;
    entry.refused = true;
    let message = format!(
        "The ID '{}' does not exist (modelled: not yet visible)",
        entry.id
    );
    Some(("fresh id", super::wire::ec2_error(entry.code, &message)))
}

/// An id a create call just returned.
#[derive(Debug)]
pub(super) struct Fresh {
    id: String,
    code: &'static str,
    until: Instant,
    refused: bool,
}

/// The tag and error code of the id a request creates, when the model follows it.
pub(super) fn creates(
    request: &HttpRequest,
    world: &World,
) -> Option<(&'static str, &'static str)> {
    if world.fresh_window.is_zero() {
        return None;
    }
    let action = ec2_action(request)?;
    CREATES
        .iter()
        .find(|(a, _, _)| *a == action)
        .map(|(_, tag, code)| (*tag, *code))
}

/// Records the id a create call returned in `answer`.
pub(super) fn record(created: (&'static str, &'static str), answer: &str, world: &World) {
    let (tag, code) = created;
    if let Some(id) = between(answer, &format!("<{tag}>"), &format!("</{tag}>")) {
        world
            .fresh
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Fresh {
                id: id.to_owned(),
                code,
                until: Instant::now() + world.fresh_window,
                refused: false,
            });
    }
}

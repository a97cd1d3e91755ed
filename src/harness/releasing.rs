//! What AWS's network interfaces do after a destroy's first steps, which the emulator skips:
//! a load balancer's nodes, a service's tasks and a NAT gateway release their interfaces and
//! public addresses a while after their delete call, and until then EC2 refuses to delete the
//! security groups and subnets they sat in, or to detach the internet gateway, with
//! `DependencyViolation`.

use std::time::Instant;

use aws_smithy_runtime_api::client::orchestrator::HttpRequest;

use super::{Refusal, World};

/// Delete calls after which interfaces are still being released.
const RELEASERS: [&str; 2] = ["Action=DeleteLoadBalancer&", "Action=DeleteNatGateway&"];
/// ECS's JSON operation that stops a service's tasks.
const DELETE_SERVICE: &str = "AmazonEC2ContainerServiceV20141113.DeleteService";
/// EC2 calls refused while interfaces are released.
const BLOCKED: [&str; 3] = [
    "Action=DeleteSecurityGroup&",
    "Action=DeleteSubnet&",
    "Action=DetachInternetGateway&",
];

fn body(request: &HttpRequest) -> &str {
    request
        .body()
        .bytes()
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or_default()
}

/// Records a delete call that starts releasing interfaces.
pub(super) fn record(request: &HttpRequest, world: &World) {
    if world.release_window.is_zero() {
        return;
    }
    let ecs = request
        .headers()
        .get("x-amz-target")
        .is_some_and(|t| t == DELETE_SERVICE);
    if ecs || RELEASERS.iter().any(|r| body(request).contains(r)) {
        *world.released_at.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Instant::now() + world.release_window);
    }
}

/// The refusal of a call that needs interfaces still being released.
pub(super) fn refusal(request: &HttpRequest, world: &World) -> Option<Refusal> {
    let until = (*world.released_at.lock().unwrap_or_else(|p| p.into_inner()))?;
    if Instant::now() >= until || !BLOCKED.iter().any(|b| body(request).contains(b)) {
        return None;
    }
    Some((
        "interfaces releasing",
        super::wire::ec2_error(
            "DependencyViolation",
            "resource has a dependent object (modelled: network interfaces still being released)",
        ),
    ))
}

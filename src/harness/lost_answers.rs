//! A network fault: the answer to a call AWS carried out never arrives (the connection drops
//! after the request went out). The SDK takes it for a transient error and sends the call
//! again; whether that makes a second resource is up to the call's client token (see
//! [`idempotency`](super::idempotency)).

use std::collections::HashMap;
use std::sync::Mutex;

use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;

use super::wire::operation;

/// Which forwarded calls lose their answer: the k-th of an operation.
#[derive(Debug, Default)]
pub(super) struct LostAnswers {
    wanted: Vec<(String, usize)>,
    forwarded: Mutex<HashMap<String, usize>>,
}

impl LostAnswers {
    pub(super) fn new(wanted: Vec<(String, usize)>) -> Self {
        Self {
            wanted,
            forwarded: Mutex::default(),
        }
    }

    /// What a restarted process loses: the same calls, counted afresh.
    pub(super) fn wanted(&self) -> Vec<(String, usize)> {
        self.wanted.clone()
    }

    /// Whether the answer to `request`, about to be forwarded, is lost.
    pub(super) fn loses(&self, request: &HttpRequest) -> bool {
        if self.wanted.is_empty() {
            return false;
        }
        let Some(op) = operation(request) else {
            return false;
        };
        if !self.wanted.iter().any(|(o, _)| *o == op) {
            return false;
        }
        let mut forwarded = self.forwarded.lock().unwrap_or_else(|p| p.into_inner());
        let n = forwarded.entry(op.clone()).or_default();
        *n += 1;
        self.wanted.iter().any(|(o, k)| *o == op && k == n)
    }
}

/// What the SDK meets instead of the answer.
pub(super) fn lost() -> ConnectorError {
    ConnectorError::timeout("the answer was lost after the call was carried out (injected)".into())
}

#[cfg(test)]
mod tests {
    use super::super::wire::tests::{ecs, form};
    use super::*;

    #[test]
    fn only_the_kth_call_of_each_named_operation_is_lost() {
        let lost = LostAnswers::new(vec![
            ("CreateRouteTable".into(), 2),
            ("CreateService".into(), 1),
        ]);
        let table = || form("Action=CreateRouteTable&Version=2016-11-15&VpcId=vpc-1");
        assert!(!lost.loses(&table()));
        assert!(lost.loses(&table()));
        assert!(!lost.loses(&table()));
        assert!(!lost.loses(&form("Action=CreateVpc&Version=2016-11-15")));
        assert!(lost.loses(&ecs("CreateService", "{}")));
        assert!(!lost.loses(&ecs("CreateService", "{}")));
        assert!(!LostAnswers::default().loses(&table()));
    }
}

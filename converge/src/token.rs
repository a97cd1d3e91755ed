//! Client tokens for AWS's idempotent creates.
//!
//! Where a create call takes a client token (EC2's `ClientToken`, ECS's `clientToken`,
//! Route 53's `CallerReference`), AWS answers a repeat of a call it already carried out with
//! the first answer (Route 53: with `HostedZoneAlreadyExists`) instead of making a second
//! resource. A kind sends one from [`client_token`], derived from the run (the [`Aws`](crate::Aws)
//! bundle), the resource's identity (owner, kind, name) and what the call is for, so that:
//!
//! - the SDK's retry after a lost answer, and a kind's own retry loop around the create,
//!   resend the same token and cannot make a second resource;
//! - a create of the same resource after one that succeeded (after a delete, a replacement,
//!   a new launch template version) gets a new token, once the kind says so with
//!   [`ClientToken::made`]: AWS keeps a token's first answer long after its resource went;
//! - another run (another process, or another bundle) never reuses one.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::resource::Cx;

/// EC2's limit on `ClientToken`: 64 ASCII characters (launch templates take 128).
pub const EC2: usize = 64;
/// ECS's limit on `CreateService`'s `clientToken`: 36 ASCII characters, 33 to 126.
pub const ECS: usize = 36;
/// Route 53's limit on `CallerReference`: 128 bytes.
pub const ROUTE53: usize = 128;

/// The longest token made: 128 bits in hex. Every limit above allows it.
const HEX_LEN: usize = 32;

/// One run's tokens: its id, and how many creates of each resource it made.
#[derive(Debug)]
pub(crate) struct Run {
    id: String,
    made: Mutex<HashMap<String, u32>>,
}

impl Run {
    /// A run id no other run gets: the time, the process and a counter of the bundles this
    /// process made, hashed.
    pub(crate) fn new() -> Arc<Self> {
        static BUNDLES: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let n = BUNDLES.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let [a, _] = digest(&[&nanos.to_string(), &pid.to_string(), &n.to_string()]);
        Arc::new(Self {
            id: format!("{a:016x}"),
            made: Mutex::default(),
        })
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    fn generation(&self, key: &str) -> u32 {
        let made = self.made.lock().unwrap_or_else(|p| p.into_inner());
        made.get(key).copied().unwrap_or_default()
    }
}

/// 128 bits of `parts`, each part delimited (so `("ab", "c")` and `("a", "bc")` differ).
/// SipHash is no cryptographic digest, but tokens need only be distinct, not secret.
fn digest(parts: &[&str]) -> [u64; 2] {
    [0u8, 1].map(|seed| {
        let mut h = DefaultHasher::new();
        seed.hash(&mut h);
        parts.hash(&mut h);
        h.finish()
    })
}

/// The client token of one create of a resource, within one run.
#[derive(Clone, Debug)]
pub struct ClientToken {
    value: String,
    key: String,
    generation: u32,
    run: Arc<Run>,
}

impl ClientToken {
    /// The token, for the create call.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Says the create this token was sent with made its resource: a later create of the
    /// same resource in this run is a new one and gets a new token (AWS would otherwise
    /// answer it with this one's resource, even deleted).
    pub fn made(&self) {
        let mut made = self.run.made.lock().unwrap_or_else(|p| p.into_inner());
        let generation = made.entry(self.key.clone()).or_default();
        // Once per token, whoever calls it.
        if *generation == self.generation {
            *generation += 1;
        }
    }
}

impl std::fmt::Display for ClientToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.value)
    }
}

/// The client token for a create of `cx`'s resource of `kind`: lowercase hex, at most
/// `max_len` characters (and at most 32), derived from the run, the resource's owner, kind
/// and name, `purpose` (which of the kind's creates: `"create"`, `"version"`), and how many
/// creates of it this run has [made](ClientToken::made). The same until one is made; never
/// the same in another run.
pub fn client_token(cx: &Cx<'_>, kind: &str, purpose: &str, max_len: usize) -> ClientToken {
    let run = Arc::clone(cx.aws.run());
    let key = [cx.tags.owner(), kind, cx.name, purpose].join("\u{1f}");
    let generation = run.generation(&key);
    let [a, b] = digest(&[run.id(), &key, &generation.to_string()]);
    let mut value = format!("{a:016x}{b:016x}");
    value.truncate(max_len.min(HEX_LEN));
    ClientToken {
        value,
        key,
        generation,
        run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Aws, Tags};

    fn token(aws: &Aws, tags: &Tags, kind: &str, name: &str, purpose: &str) -> ClientToken {
        let cx = Cx {
            aws,
            name,
            tags,
            teardown: false,
        };
        client_token(&cx, kind, purpose, EC2)
    }

    #[test]
    fn a_resource_keeps_its_token_until_one_is_made() {
        let aws = Aws::builder().build();
        let tags = Tags::new("vpc", "blog");
        let first = token(&aws, &tags, "aws_nat_gateway", "blog-nat", "create");
        // A retry of a create that failed resends it: that create made nothing, or made
        // exactly what the token names.
        let again = token(&aws, &tags, "aws_nat_gateway", "blog-nat", "create");
        assert_eq!(first.as_str(), again.as_str());
        first.made();
        // Both handles of the made one count once.
        again.made();
        let next = token(&aws, &tags, "aws_nat_gateway", "blog-nat", "create");
        assert_ne!(next.as_str(), first.as_str());
        next.made();
        let third = token(&aws, &tags, "aws_nat_gateway", "blog-nat", "create");
        assert_ne!(third.as_str(), next.as_str());
        assert_ne!(third.as_str(), first.as_str());
    }

    #[test]
    fn runs_owners_kinds_names_and_purposes_get_their_own() {
        let tags = Tags::new("vpc", "blog");
        let aws = Aws::builder().build();
        let other_run = Aws::builder().build();
        assert_ne!(aws.run_id(), other_run.run_id());
        // A clone is the same run.
        assert_eq!(aws.clone().run_id(), aws.run_id());
        let base = token(&aws, &tags, "aws_route_table", "blog-public", "create");
        let others = [
            token(
                &other_run,
                &tags,
                "aws_route_table",
                "blog-public",
                "create",
            ),
            token(
                &aws,
                &Tags::new("vpc", "blog2"),
                "aws_route_table",
                "blog-public",
                "create",
            ),
            token(&aws, &tags, "aws_nat_gateway", "blog-public", "create"),
            token(&aws, &tags, "aws_route_table", "blog-private", "create"),
            token(&aws, &tags, "aws_route_table", "blog-public", "version"),
        ];
        for other in &others {
            assert_ne!(other.as_str(), base.as_str());
        }
    }

    #[test]
    fn tokens_fit_each_service_limit_in_hex() {
        let aws = Aws::builder().build();
        let tags = Tags::new("ecs-service", "blog");
        let cx = Cx {
            aws: &aws,
            name: "blog",
            tags: &tags,
            teardown: false,
        };
        for (limit, len) in [(EC2, 32), (ECS, 32), (ROUTE53, 32), (20, 20)] {
            let t = client_token(&cx, "aws_ecs_service", "create", limit);
            assert_eq!(t.as_str().len(), len);
            assert!(t.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }
}

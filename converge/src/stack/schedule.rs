//! The order deletes must follow: an item goes only once everything that uses it is gone.

use std::any::TypeId;

/// Something to delete: a declared resource, or a leftover of a kind (`of_kind`) whose
/// declared resources depend on `deps`.
#[derive(Clone)]
pub(crate) struct Item {
    pub kind: TypeId,
    /// The declared resources this one uses (node indices).
    pub deps: Vec<usize>,
    /// The node index, when it is a declared resource.
    pub node: Option<usize>,
}

/// For each item, the items that must be deleted before it (those that use it, directly or
/// through others). `nodes_deps` are the declared resources' dependencies and kinds.
pub(crate) fn blockers(items: &[Item], nodes: &[(TypeId, Vec<usize>)]) -> Vec<Vec<usize>> {
    let n = nodes.len();
    // uses[a][b]: declared resource a uses b, directly or not.
    let mut uses = vec![vec![false; n]; n];
    for (a, (_, deps)) in nodes.iter().enumerate() {
        for &d in deps {
            uses[a][d] = true;
        }
    }
    for k in 0..n {
        let through = uses[k].clone();
        for row in uses.iter_mut() {
            if row[k] {
                for (cell, &via) in row.iter_mut().zip(&through) {
                    *cell |= via;
                }
            }
        }
    }
    // A kind uses a declared resource when one of its resources does.
    let kind_uses = |kind: TypeId, b: usize| {
        nodes
            .iter()
            .enumerate()
            .any(|(a, (k, _))| *k == kind && uses[a][b])
    };
    let item_uses = |x: &Item, y: &Item| -> bool {
        match (x.node, y.node) {
            (Some(a), Some(b)) => uses[a][b],
            // A leftover uses what its kind's declared resources use.
            (None, Some(b)) => x.deps.iter().any(|&d| d == b || uses[d][b]) || kind_uses(x.kind, b),
            // Whatever uses a declared resource of a leftover's kind uses the leftover too.
            (_, None) => {
                x.kind != y.kind
                    && nodes.iter().enumerate().any(|(b, (k, _))| {
                        *k == y.kind
                            && match x.node {
                                Some(a) => uses[a][b],
                                None => kind_uses(x.kind, b),
                            }
                    })
            }
        }
    };
    items
        .iter()
        .map(|y| {
            items
                .iter()
                .enumerate()
                .filter(|(_, x)| !std::ptr::eq(*x, y) && item_uses(x, y))
                .map(|(i, _)| i)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct A;
    struct B;

    #[test]
    fn a_resource_waits_for_what_uses_it_even_through_an_absent_one() {
        // 0 <- 1 <- 2: deleting 0 waits for 2 even if 1 is not among the items.
        let a = TypeId::of::<A>();
        let nodes = vec![(a, vec![]), (a, vec![0]), (a, vec![1])];
        let items = vec![
            Item {
                kind: a,
                deps: vec![],
                node: Some(0),
            },
            Item {
                kind: a,
                deps: vec![1],
                node: Some(2),
            },
        ];
        let b = blockers(&items, &nodes);
        assert_eq!(b, vec![vec![1], vec![]]);
    }

    #[test]
    fn a_leftover_goes_before_what_its_kind_uses_and_after_what_uses_its_kind() {
        let (a, bk) = (TypeId::of::<A>(), TypeId::of::<B>());
        // node 0 (kind A, a VPC), node 1 (kind B, a subnet, uses 0), node 2 (kind A... an
        // NAT-like user of the subnet kind).
        let nodes = vec![(a, vec![]), (bk, vec![0])];
        let items = vec![
            Item {
                kind: a,
                deps: vec![],
                node: Some(0),
            },
            // a leftover subnet
            Item {
                kind: bk,
                deps: vec![0],
                node: None,
            },
        ];
        let b = blockers(&items, &nodes);
        assert_eq!(b[0], vec![1], "the VPC waits for the leftover subnet");
        assert!(b[1].is_empty());
    }
}

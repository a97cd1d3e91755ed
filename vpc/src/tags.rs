//! What every EC2 kind of the module shares: the ownership filter of a batched read and the
//! ownership tag of what it found.

use aws_sdk_ec2::types::{Filter, Tag};
use converge::{ec2_pairs, Wanted, OWNER_TAG};

/// The owners of the declared resources, each once (one in a stack of one VPC, more when a
/// composition declares several).
pub(crate) fn owners<K>(wanted: &[Wanted<'_, K>]) -> Vec<String> {
    let mut owners: Vec<String> = wanted.iter().map(|w| w.tags.owner().to_owned()).collect();
    owners.sort();
    owners.dedup();
    owners
}

/// The filter that finds what the declared resources' owners own.
pub(crate) fn owner_filter<K>(wanted: &[Wanted<'_, K>]) -> Filter {
    Filter::builder()
        .name(format!("tag:{OWNER_TAG}"))
        .set_values(Some(owners(wanted)))
        .build()
}

/// The ownership tag's value among EC2 tags.
pub(crate) fn owner(tags: &[Tag]) -> Option<String> {
    ec2_pairs(tags)
        .find(|(k, _)| *k == OWNER_TAG)
        .map(|(_, v)| v.to_owned())
}

/// Whether EC2 tags name one of `owners` (the emulator ignores some tag filters).
pub(crate) fn owned_by(tags: &[Tag], owners: &[String]) -> bool {
    owner(tags).is_some_and(|o| owners.contains(&o))
}

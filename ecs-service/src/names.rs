//! Names AWS limits: load balancers and target groups take at most 32 characters.

/// AWS's limit for load balancer and target group names.
pub const MAX_LB_NAME: usize = 32;

/// `name` when it fits in `max` characters; otherwise its first characters, a hyphen and eight
/// hex digits of a hash of the whole name, so that shortened names stay distinct and the same
/// input always gives the same name.
///
/// Counts characters, not bytes, and cuts on a character boundary: a name with non-ASCII
/// letters (which `build` refuses) never panics here.
pub fn shorten(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_owned();
    }
    let hash = format!("{:08x}", fnv1a(name));
    let keep = max.saturating_sub(hash.len() + 1);
    let end = name
        .char_indices()
        .nth(keep)
        .map_or(name.len(), |(at, _)| at);
    let prefix = name[..end].trim_end_matches('-');
    format!("{prefix}-{hash}")
}

/// FNV-1a, 32 bits: stable across Rust versions and platforms, unlike `DefaultHasher`.
pub(crate) fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Whether `name` is a valid load balancer or target group name: letters, digits and hyphens,
/// not starting or ending with a hyphen, not starting with `internal-`.
pub fn valid_lb_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_LB_NAME
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.starts_with("internal-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept() {
        assert_eq!(shorten("blog-blog", 32), "blog-blog");
        assert_eq!(shorten(&"a".repeat(32), 32), "a".repeat(32));
    }

    #[test]
    fn long_names_get_a_stable_hash() {
        let long = "production-environment-frontend-service";
        let short = shorten(long, 32);
        assert!(short.len() <= 32, "{short}");
        assert!(short.starts_with("production-environment-"), "{short}");
        assert_eq!(short, shorten(long, 32), "deterministic");
        assert_ne!(short, shorten("production-environment-frontend-api", 32));
        assert!(valid_lb_name(&short));
        // A cut that ends in a hyphen does not leave two in a row.
        let cut = shorten("abcdefghijklmnopqrstuv-xyz-0123456789", 32);
        assert!(!cut.contains("--"), "{cut}");
    }

    #[test]
    fn non_ascii_names_are_cut_on_character_boundaries() {
        let name = "blog-ééééééééééééééééééééééééééééééé";
        let short = shorten(name, 32);
        assert!(short.chars().count() <= 32, "{short}");
        assert!(short.starts_with("blog-éé"), "{short}");
        assert_eq!(shorten("ü".repeat(40).as_str(), 32).chars().count(), 32);
        // Shorter than the hash: the hash alone.
        assert_eq!(shorten("abcdefghijkl", 5).len(), 9);
    }

    #[test]
    fn lb_name_rules() {
        assert!(valid_lb_name("blog-blog"));
        assert!(!valid_lb_name("-blog"));
        assert!(!valid_lb_name("blog_"));
        assert!(!valid_lb_name("internal-blog"));
        assert!(!valid_lb_name(&"a".repeat(33)));
    }
}

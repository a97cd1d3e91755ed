//! Property tests: arbitrary Unicode strings, lengths and numbers at every input of the
//! instances' builder. `build()` returns a value or an error, never panics.

use ecs_instances::Instances;
use proptest::prelude::*;

/// Any Unicode, long runs (past AWS's limits, and of multi-byte characters), and near-valid
/// ids and names that only a length or a character breaks.
fn text() -> impl Strategy<Value = String> {
    let near = prop_oneof![
        proptest::char::range('a', 'f'),
        proptest::char::range('0', '9'),
        Just('-'),
        Just('.'),
        Just('/'),
        Just('é'),
    ];
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(near, 0..300).prop_map(|c| c.into_iter().collect()),
        (any::<char>(), 0usize..20_000).prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
        Just(String::new()),
        Just("ami-0123456789abcdef0".to_owned()),
        Just("subnet-1".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn instances_never_panic(
        s in proptest::collection::vec(text(), 10),
        n in proptest::collection::vec(any::<u32>(), 5),
        small in proptest::collection::vec(0u32..40_000, 5),
        subnets in proptest::collection::vec(text(), 0..6),
        flags in any::<[bool; 3]>(),
    ) {
        let pick = |i: usize| if flags[i % 3] { n[i] } else { small[i] };
        let b = Instances::builder()
            .environment(&s[0])
            .cluster(&s[1])
            .network(vpc::Network::ids(&s[2], &s[3]))
            .subnets(subnets)
            .key_name(&s[4])
            .instance_type(&s[5])
            .ami_id(&s[6])
            .user_data(format!("#!SECRET-{}", s[7]))
            .asg_min(pick(0))
            .asg_max(pick(1))
            .asg_desired(pick(2))
            .root_volume_size(pick(3))
            .log_retention_in_days(pick(4))
            .create_ecs_service_role(flags[0])
            .instance_refresh(flags[1])
            .tag(&s[8], &s[9]);
        if let Ok(instances) = b.build() {
            // A fleet that builds never shows its user data in Debug.
            let debug = format!("{instances:?}");
            prop_assert!(!debug.contains("#!SECRET-"), "{}", debug);
        }
    }
}

/// A fleet's `Debug` shows its user data's digest, never its text.
#[test]
fn debug_hides_user_data() {
    let secret = "#!/bin/bash\necho REGISTRY_TOKEN=hunter2-token >> /etc/ecs/ecs.config\n";
    let instances = Instances::builder()
        .environment("blog")
        .cluster("blog")
        .network(vpc::Network::ids("vpc-1", "10.0.0.0/16"))
        .subnets(["subnet-1"])
        .user_data(secret)
        .build()
        .unwrap();
    let debug = format!("{instances:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(
        debug.contains(&ecs_instances::user_data::digest(secret.as_bytes())),
        "{debug}"
    );
}

//! The task-level CPU and memory pairs Fargate accepts.

/// The memory sizes (MiB) Fargate accepts with `cpu` units, as (first, last, step); `None`
/// when Fargate has no such CPU size. 256 units is the odd one out (512, 1024 or 2048, not a
/// uniform step) and is checked apart.
fn memory_range(cpu: u32) -> Option<(u32, u32, u32)> {
    Some(match cpu {
        512 => (1024, 4096, 1024),
        1024 => (2048, 8192, 1024),
        2048 => (4096, 16384, 1024),
        4096 => (8192, 30720, 1024),
        8192 => (16384, 61440, 4096),
        16384 => (32768, 122880, 8192),
        _ => return None,
    })
}

/// The CPU sizes Fargate accepts.
pub const FARGATE_CPU: [u32; 7] = [256, 512, 1024, 2048, 4096, 8192, 16384];

/// Whether Fargate runs a task of `cpu` units and `memory` MiB.
pub fn fargate_accepts(cpu: u32, memory: u32) -> bool {
    if cpu == 256 {
        return [512, 1024, 2048].contains(&memory);
    }
    memory_range(cpu).is_some_and(|(first, last, step)| {
        (first..=last).contains(&memory) && (memory - first) % step == 0
    })
}

/// Why a pair is refused, in words that say what would be accepted.
pub(crate) fn fargate_rule(cpu: u32) -> String {
    match cpu {
        256 => "with 256 CPU units Fargate takes 512, 1024 or 2048 MiB".to_owned(),
        _ => {
            match memory_range(cpu) {
                Some((first, last, step)) => {
                    format!("with {cpu} CPU units Fargate takes {first} to {last} MiB in steps of {step}")
                }
                None => format!(
                    "Fargate takes task CPU of {} units",
                    FARGATE_CPU.map(|c| c.to_string()).join(", ")
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's table, written out.
    fn table() -> Vec<(u32, Vec<u32>)> {
        let steps = |first: u32, last: u32, step: u32| {
            (first..=last).step_by(step as usize).collect::<Vec<_>>()
        };
        vec![
            (256, vec![512, 1024, 2048]),
            (512, steps(1024, 4096, 1024)),
            (1024, steps(2048, 8192, 1024)),
            (2048, steps(4096, 16384, 1024)),
            (4096, steps(8192, 30720, 1024)),
            (8192, steps(16384, 61440, 4096)),
            (16384, steps(32768, 122880, 8192)),
        ]
    }

    #[test]
    fn every_valid_pair_passes() {
        let mut count = 0;
        for (cpu, memories) in table() {
            for memory in memories {
                assert!(fargate_accepts(cpu, memory), "{cpu}/{memory} should pass");
                count += 1;
            }
        }
        assert_eq!(count, 3 + 4 + 7 + 13 + 23 + 12 + 12);
    }

    #[test]
    fn neighbours_fail() {
        for (cpu, memories) in table() {
            let first = memories[0];
            let last = *memories.last().unwrap();
            for memory in [first - 1, first - 512, last + 1, last + 1024, last + 8192] {
                assert!(!fargate_accepts(cpu, memory), "{cpu}/{memory} should fail");
            }
            for pair in memories.windows(2) {
                let between = pair[0] + 1;
                assert!(
                    !fargate_accepts(cpu, between),
                    "{cpu}/{between} should fail"
                );
            }
            // Neighbouring CPU sizes that Fargate does not have.
            assert!(!fargate_accepts(cpu - 1, first));
            assert!(!fargate_accepts(cpu + 1, first));
        }
        assert!(!fargate_accepts(256, 1536), "256 CPU takes no 1536 MiB");
        assert!(!fargate_accepts(128, 512));
    }

    #[test]
    fn rules_say_what_is_accepted() {
        assert_eq!(
            fargate_rule(512),
            "with 512 CPU units Fargate takes 1024 to 4096 MiB in steps of 1024"
        );
        assert!(fargate_rule(300).starts_with("Fargate takes task CPU of 256, 512"));
    }
}

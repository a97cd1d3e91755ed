//! Capacity provider strategies: where a service's tasks (or a cluster's by default) run,
//! spread over capacity providers by `base` and `weight` (Terraform's
//! `capacity_provider_strategy` blocks).

use serde::{Deserialize, Serialize};

use crate::Invalid;

/// AWS Fargate's capacity provider.
pub const FARGATE: &str = "FARGATE";
/// Fargate Spot's: spare capacity, up to 70% cheaper, interrupted with two minutes' notice.
pub const FARGATE_SPOT: &str = "FARGATE_SPOT";
/// The most providers one strategy may name (ECS's limit).
pub const MAX_STRATEGY_ITEMS: usize = 20;

/// One provider of a strategy: `base` tasks run on it first, the rest are spread over the
/// providers in proportion to their `weight`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StrategyItem {
    /// `FARGATE`, `FARGATE_SPOT`, or an Auto Scaling group provider's name.
    pub capacity_provider: String,
    /// Its share of the tasks beyond the bases, 0 to 1000.
    pub weight: i32,
    /// Tasks that run on it before any weight counts, 0 to 100000; only one provider of a
    /// strategy may have one.
    pub base: i32,
}

impl StrategyItem {
    /// `capacity_provider` with `weight` and no base.
    pub fn new(capacity_provider: impl Into<String>, weight: i32) -> Self {
        Self {
            capacity_provider: capacity_provider.into(),
            weight,
            base: 0,
        }
    }

    /// The same, with `base` tasks on it first.
    pub fn base(mut self, base: i32) -> Self {
        self.base = base;
        self
    }

    /// Whether it is one of Fargate's providers.
    pub fn is_fargate(&self) -> bool {
        is_fargate(&self.capacity_provider)
    }

    /// The ECS type.
    pub fn sdk(&self) -> aws_sdk_ecs::types::CapacityProviderStrategyItem {
        aws_sdk_ecs::types::CapacityProviderStrategyItem::builder()
            .capacity_provider(&self.capacity_provider)
            .weight(self.weight)
            .base(self.base)
            .build()
            .expect("capacity provider set")
    }

    /// From the ECS type.
    pub fn from_sdk(item: &aws_sdk_ecs::types::CapacityProviderStrategyItem) -> Self {
        Self {
            capacity_provider: item.capacity_provider().to_owned(),
            weight: item.weight(),
            base: item.base(),
        }
    }
}

impl std::fmt::Display for StrategyItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.capacity_provider, self.weight)?;
        if self.base > 0 {
            write!(f, " (base {})", self.base)?;
        }
        Ok(())
    }
}

/// Whether `provider` is one of Fargate's.
pub fn is_fargate(provider: &str) -> bool {
    provider == FARGATE || provider == FARGATE_SPOT
}

/// A strategy as the plan shows it, in a stable order.
pub fn strategy_text(items: &[StrategyItem]) -> String {
    let mut items = items.to_vec();
    items.sort();
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// ECS's rules for a strategy, reported on `field` and `field[i].<attribute>`.
pub fn check_strategy(invalid: &mut Invalid, field: &str, items: &[StrategyItem]) {
    invalid.check(
        items.len() <= MAX_STRATEGY_ITEMS,
        field,
        format_args!(
            "names {} providers; at most {MAX_STRATEGY_ITEMS}",
            items.len()
        ),
    );
    for (i, item) in items.iter().enumerate() {
        let at = |f: &str| format!("{field}[{i}].{f}");
        invalid.check(
            !item.capacity_provider.is_empty(),
            at("capacity_provider"),
            "is required",
        );
        invalid.check(
            !items[..i]
                .iter()
                .any(|p| p.capacity_provider == item.capacity_provider),
            at("capacity_provider"),
            format_args!("{:?} is named twice", item.capacity_provider),
        );
        invalid.check(
            (0..=1000).contains(&item.weight),
            at("weight"),
            format_args!("{} must be 0 to 1000", item.weight),
        );
        invalid.check(
            (0..=100_000).contains(&item.base),
            at("base"),
            format_args!("{} must be 0 to 100000", item.base),
        );
    }
    invalid.check(
        items.iter().filter(|p| p.base > 0).count() <= 1,
        field,
        "only one provider may have a base",
    );
    invalid.check(
        items.is_empty() || items.iter().any(|p| p.weight > 0),
        field,
        "at least one provider needs a weight above 0",
    );
    invalid.check(
        items.iter().all(StrategyItem::is_fargate) || !items.iter().any(StrategyItem::is_fargate),
        field,
        "mixes Fargate's providers with Auto Scaling group providers, which ECS refuses",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_name_the_item() {
        let mut invalid = Invalid::new();
        check_strategy(
            &mut invalid,
            "capacity_provider_strategy",
            &[
                StrategyItem::new(FARGATE, 0).base(1),
                StrategyItem::new(FARGATE_SPOT, 1001).base(2),
                StrategyItem::new(FARGATE, 1),
                StrategyItem::new("blog-ecs-instances", 1),
            ],
        );
        let fields: Vec<&str> = invalid.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "capacity_provider_strategy[1].weight",
                "capacity_provider_strategy[2].capacity_provider",
                "capacity_provider_strategy",
                "capacity_provider_strategy",
            ]
        );
        let mut fine = Invalid::new();
        check_strategy(
            &mut fine,
            "s",
            &[
                StrategyItem::new(FARGATE, 1).base(1),
                StrategyItem::new(FARGATE_SPOT, 3),
            ],
        );
        assert!(fine.problems.is_empty());
        assert_eq!(
            strategy_text(&[
                StrategyItem::new(FARGATE_SPOT, 3),
                StrategyItem::new(FARGATE, 1).base(1)
            ]),
            "FARGATE:1 (base 1), FARGATE_SPOT:3"
        );
    }
}

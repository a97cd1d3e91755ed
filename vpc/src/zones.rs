//! Availability zones: the region's, checked against the inputs, by name or by zone id.

use converge::{Aws, AwsResultExt, Error, Invalid};

use crate::inputs::Vpc;

/// How many zones the module uses when none are given.
const DEFAULT_ZONE_COUNT: usize = 3;

/// The regions where Fargate (Linux) runs in some zones only: each region's zone-id prefix,
/// its name, and the zones where Fargate runs, from the Amazon ECS Developer Guide's
/// "Supported Regions for Amazon ECS on AWS Fargate". Zone ids, not names: names are
/// shuffled per account.
const FARGATE_ZONES: [(&str, &str, &[&str]); 3] = [
    ("usw1", "us-west-1", &["usw1-az1", "usw1-az3"]),
    (
        "apne1",
        "ap-northeast-1",
        &["apne1-az1", "apne1-az2", "apne1-az4"],
    ),
    ("cnn1", "cn-north-1", &["cnn1-az1", "cnn1-az2"]),
];

/// Why Fargate cannot run tasks in the zone of this id, if it cannot.
///
/// ```
/// assert!(vpc::fargate_refuses("usw1-az1").is_none());
/// assert!(vpc::fargate_refuses("usw1-az2").is_some());
/// assert!(vpc::fargate_refuses("use1-az3").is_none());
/// ```
pub fn fargate_refuses(zone_id: &str) -> Option<String> {
    let (prefix, _) = zone_id.split_once("-az")?;
    let (_, region, zones) = FARGATE_ZONES.iter().find(|(p, _, _)| *p == prefix)?;
    (!zones.contains(&zone_id)).then(|| {
        format!(
            "Fargate does not run in zone {zone_id} (in {region} only in {})",
            zones.join(", ")
        )
    })
}

/// `use1-az1`, `apne1-az4`: a zone id, the same zone in every account.
pub(crate) fn is_zone_id(zone: &str) -> bool {
    let Some((prefix, number)) = zone.split_once("-az") else {
        return false;
    };
    !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
        && prefix.starts_with(|c: char| c.is_ascii_lowercase())
        && prefix.ends_with(|c: char| c.is_ascii_digit())
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// The zones to use, by name and by id, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Zones {
    pub names: Vec<String>,
    pub ids: Vec<String>,
}

/// The zones to use: the inputs' (names or ids) after checking the region has each of them
/// available, or the region's first three available zones (where Fargate runs, for a VPC
/// meant for it).
pub(crate) async fn resolve(aws: &Aws, vpc: &Vpc) -> Result<Zones, Error> {
    let out = aws
        .ec2()
        .describe_availability_zones()
        .send()
        .await
        .context("DescribeAvailabilityZones", aws.region())?;
    let available: Vec<(String, String)> = out
        .availability_zones()
        .iter()
        // Local and Wavelength zones cannot hold the module's subnets.
        .filter(|z| z.zone_type().is_none_or(|t| t == "availability-zone"))
        .filter(|z| z.state().is_none_or(|s| s.as_str() == "available"))
        .filter_map(|z| {
            let name = z.zone_name()?.to_owned();
            Some((name, z.zone_id().unwrap_or_default().to_owned()))
        })
        .collect();

    let Some(wanted) = &vpc.availability_zones else {
        let usable: Vec<&(String, String)> = available
            .iter()
            .filter(|(_, id)| !vpc.fargate || fargate_refuses(id).is_none())
            .take(DEFAULT_ZONE_COUNT)
            .collect();
        if usable.is_empty() {
            let mut invalid = Invalid::new();
            invalid.push(
                "availability_zones",
                format_args!(
                    "region {} has no available zone{}",
                    aws.region(),
                    if vpc.fargate {
                        " where Fargate runs"
                    } else {
                        ""
                    }
                ),
            );
            return Err(invalid.into());
        }
        return Ok(Zones {
            names: usable.iter().map(|(n, _)| n.clone()).collect(),
            ids: usable.iter().map(|(_, i)| i.clone()).collect(),
        });
    };
    let mut invalid = Invalid::new();
    let mut zones = Zones::default();
    for (i, zone) in wanted.iter().enumerate() {
        let field = format!("availability_zones[{i}]");
        let Some((name, id)) = available.iter().find(|(n, id)| n == zone || id == zone) else {
            let names: Vec<String> = available
                .iter()
                .map(|(n, i)| match i.as_str() {
                    "" => n.clone(),
                    id => format!("{n} ({id})"),
                })
                .collect();
            invalid.push(
                &field,
                format_args!(
                    "{zone} is not an available zone of region {} (available: {})",
                    aws.region(),
                    names.join(", ")
                ),
            );
            continue;
        };
        if vpc.fargate {
            if let Some(why) = fargate_refuses(id) {
                invalid.push(&field, format_args!("{zone}: {why}"));
            }
        }
        zones.names.push(name.clone());
        zones.ids.push(id.clone());
    }
    invalid.into_result(zones).map_err(Error::from)
}

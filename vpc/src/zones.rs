//! Availability zones: the region's, checked against the inputs.

use converge::{Aws, AwsResultExt, Error, Invalid};

use crate::inputs::Vpc;

/// How many zones the module uses when none are given.
const DEFAULT_ZONE_COUNT: usize = 3;

/// The zones to use: the inputs' after checking the region has each of them available, or
/// the region's first three available zones.
pub(crate) async fn resolve(aws: &Aws, vpc: &Vpc) -> Result<Vec<String>, Error> {
    let out = aws
        .ec2()
        .describe_availability_zones()
        .send()
        .await
        .context("DescribeAvailabilityZones", aws.region())?;
    let available: Vec<String> = out
        .availability_zones()
        .iter()
        // Local and Wavelength zones cannot hold the module's subnets.
        .filter(|z| z.zone_type().is_none_or(|t| t == "availability-zone"))
        .filter(|z| z.state().is_none_or(|s| s.as_str() == "available"))
        .filter_map(|z| z.zone_name().map(str::to_owned))
        .collect();

    let Some(wanted) = &vpc.availability_zones else {
        if available.is_empty() {
            let mut invalid = Invalid::new();
            invalid.push(
                "availability_zones",
                format_args!("region {} has no available zone", aws.region()),
            );
            return Err(invalid.into());
        }
        return Ok(available.into_iter().take(DEFAULT_ZONE_COUNT).collect());
    };
    let mut invalid = Invalid::new();
    for (i, zone) in wanted.iter().enumerate() {
        invalid.check(
            available.contains(zone),
            format!("availability_zones[{i}]"),
            format_args!(
                "{zone} is not an available zone of region {} (available: {})",
                aws.region(),
                available.join(", ")
            ),
        );
    }
    invalid.into_result(wanted.clone()).map_err(Error::from)
}

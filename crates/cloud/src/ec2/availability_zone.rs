//! Availability Zones: DescribeAvailabilityZones, and the zone lookups CreateSubnet uses.
//!
//! Zones are fixed per region, not stored. us-east-1 has its six zones (a–f) with the zone ids
//! AWS documents for them; a few other regions have their usual sets; any other region gets
//! `<region>a`, `b` and `c`. Zone ids (`use1-az6`) are account-specific on AWS; berth uses one
//! fixed mapping.

use serde::{Deserialize, Serialize};

use super::error::Ec2Error;
use super::filter::{self, Filter, Filterable, one};
use super::tags::Tag;
use crate::Ctx;
use crate::api::ApiError;

/// One Availability Zone of a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    pub zone_name: String,
    pub zone_id: String,
    pub region_name: String,
}

/// The short code AWS zone ids start with: `us-east-1` → `use1`, `ap-southeast-2` → `apse2`.
pub fn region_code(region: &str) -> String {
    let parts: Vec<&str> = region.split('-').collect();
    let [geo, direction, number] = parts.as_slice() else {
        return region.replace('-', "");
    };
    let dir = match *direction {
        "east" => "e",
        "west" => "w",
        "north" => "n",
        "south" => "s",
        "central" => "c",
        "northeast" => "ne",
        "northwest" => "nw",
        "southeast" => "se",
        "southwest" => "sw",
        other => other,
    };
    format!("{geo}{dir}{number}")
}

/// The zones of `region` as `(letter, zone id number)`.
fn letters(region: &str) -> &'static [(char, u8)] {
    match region {
        // The mapping moto and many accounts show.
        "us-east-1" => &[('a', 6), ('b', 1), ('c', 2), ('d', 4), ('e', 3), ('f', 5)],
        "us-west-1" => &[('a', 3), ('b', 1)],
        "us-west-2" => &[('a', 2), ('b', 1), ('c', 3), ('d', 4)],
        // us-east-2, eu-west-1, eu-central-1, ap-southeast-2 and most others: three zones.
        _ => &[('a', 1), ('b', 2), ('c', 3)],
    }
}

/// Every zone of `region`, in name order.
pub fn zones(region: &str) -> Vec<Zone> {
    let code = region_code(region);
    letters(region)
        .iter()
        .map(|(letter, n)| Zone {
            zone_name: format!("{region}{letter}"),
            zone_id: format!("{code}-az{n}"),
            region_name: region.to_string(),
        })
        .collect()
}

/// The zone a create call names by `AvailabilityZone` or `AvailabilityZoneId` (the first zone
/// when it names neither).
pub fn resolve(region: &str, name: Option<&str>, id: Option<&str>) -> Result<Zone, Ec2Error> {
    let all = zones(region);
    let names = || all.iter().map(|z| z.zone_name.as_str()).collect::<Vec<_>>().join(", ");
    match (name, id) {
        (Some(_), Some(_)) => Err(Ec2Error::InvalidParameterCombination(
            "Only one of availabilityZone or availabilityZoneId may be specified".into(),
        )),
        (Some(name), None) => all.iter().find(|z| z.zone_name == name).cloned().ok_or_else(|| {
            Ec2Error::InvalidParameterValue(format!(
                "Value ({name}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: {}.",
                names()
            ))
        }),
        (None, Some(id)) => all.iter().find(|z| z.zone_id == id).cloned().ok_or_else(|| {
            Ec2Error::InvalidParameterValue(format!(
                "Value ({id}) for parameter availabilityZoneId is invalid. Subnets can currently only be created in the following availability zones: {}.",
                names()
            ))
        }),
        (None, None) => all.into_iter().next().ok_or_else(|| {
            Ec2Error::InvalidParameterValue(format!("The region {region} has no availability zones"))
        }),
    }
}

// === DescribeAvailabilityZones ===

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ZoneOut {
    zone_name: String,
    zone_id: String,
    zone_state: &'static str,
    region_name: String,
    group_name: String,
    network_border_group: String,
    opt_in_status: &'static str,
    zone_type: &'static str,
    message_set: Vec<()>,
}

impl Filterable for Zone {
    const FILTERS: &'static [&'static str] = &[
        "zone-name",
        "zone-id",
        "state",
        "region-name",
        "group-name",
        "network-border-group",
        "opt-in-status",
        "zone-type",
    ];

    fn tags(&self) -> &[Tag] {
        &[]
    }

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "zone-name" => one(&self.zone_name),
            "zone-id" => one(&self.zone_id),
            "state" => one("available"),
            "region-name" | "group-name" | "network-border-group" => one(&self.region_name),
            "opt-in-status" => one("opt-in-not-required"),
            "zone-type" => one("availability-zone"),
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct DescribeAvailabilityZonesInput {
    #[serde(rename = "ZoneName", default)]
    zone_names: Vec<String>,
    #[serde(rename = "ZoneId", default)]
    zone_ids: Vec<String>,
    #[serde(rename = "Filter", default)]
    filters: Vec<Filter>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeAvailabilityZonesOutput {
    availability_zone_info: Vec<ZoneOut>,
}

pub fn describe_availability_zones(
    cx: &Ctx<'_>,
    input: DescribeAvailabilityZonesInput,
) -> Result<DescribeAvailabilityZonesOutput, ApiError> {
    let all = zones(cx.region);
    for name in &input.zone_names {
        if !all.iter().any(|z| &z.zone_name == name) {
            return Err(Ec2Error::InvalidParameterValue(format!("The zone '{name}' does not exist.")).into());
        }
    }
    for id in &input.zone_ids {
        if !all.iter().any(|z| &z.zone_id == id) {
            return Err(Ec2Error::InvalidParameterValue(format!("The zone ID '{id}' does not exist.")).into());
        }
    }
    let wanted = |z: &Zone| {
        (input.zone_names.is_empty() && input.zone_ids.is_empty())
            || input.zone_names.contains(&z.zone_name)
            || input.zone_ids.contains(&z.zone_id)
    };
    let chosen: Vec<Zone> = all.into_iter().filter(wanted).collect();
    let chosen = filter::select(chosen, &input.filters)?;
    Ok(DescribeAvailabilityZonesOutput {
        availability_zone_info: chosen
            .into_iter()
            .map(|z| ZoneOut {
                group_name: z.region_name.clone(),
                network_border_group: z.region_name.clone(),
                zone_name: z.zone_name,
                zone_id: z.zone_id,
                zone_state: "available",
                region_name: z.region_name,
                opt_in_status: "opt-in-not-required",
                zone_type: "availability-zone",
                message_set: Vec::new(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_east_1_has_six_zones_with_their_ids() {
        let z = zones("us-east-1");
        assert_eq!(z.len(), 6);
        assert_eq!(z[0].zone_name, "us-east-1a");
        assert_eq!(z[0].zone_id, "use1-az6");
        assert_eq!(z[5].zone_name, "us-east-1f");
        assert_eq!(zones("eu-west-1")[2].zone_id, "euw1-az3");
        assert_eq!(zones("ap-southeast-2")[0].zone_id, "apse2-az1");
        assert_eq!(zones("ca-central-1")[0].zone_id, "cac1-az1");
    }

    #[test]
    fn resolve_by_name_id_or_default() {
        assert_eq!(resolve("us-east-1", Some("us-east-1b"), None).unwrap().zone_id, "use1-az1");
        assert_eq!(resolve("us-east-1", None, Some("use1-az6")).unwrap().zone_name, "us-east-1a");
        assert_eq!(resolve("us-east-1", None, None).unwrap().zone_name, "us-east-1a");
        let e = resolve("us-east-1", Some("us-east-1z"), None).unwrap_err();
        assert_eq!(e.code(), "InvalidParameterValue");
        assert!(e.to_string().contains("us-east-1a, us-east-1b"), "{e}");
    }
}

//! NAT gateways: CreateNatGateway, DescribeNatGateways, DeleteNatGateway.
//!
//! A NAT gateway gets a requester-managed network interface (`nat_gateway`) in its subnet, with
//! the subnet's first free address, and its Elastic IP is associated with that interface. Its
//! state follows the wall clock from its create and delete times (no background task): `pending`
//! for [`TRANSITION`] after CreateNatGateway, then `available`; `deleting` for [`TRANSITION`]
//! after DeleteNatGateway, then `deleted`. The interface and the address are let go at
//! DeleteNatGateway. Deleted gateways stay describable for [`DELETED_RETENTION`], as on AWS
//! (terraform polls for `deleted`).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::address::{self, Address};
use super::error::Ec2Error;
use super::filter::{self, Filter, Filterable, one};
use super::network_interface::{self, ManagedInterface};
use super::tags::{self, Tag, TagSpecification};
use super::{by_ids, internet_gateway, page, subnet};
use crate::api::ApiError;
use crate::store::Resource;
use crate::{Ctx, ids, iso8601};

/// How long `pending` and `deleting` last.
pub const TRANSITION: Duration = Duration::seconds(1);
/// How long a deleted gateway stays visible.
pub const DELETED_RETENTION: Duration = Duration::hours(1);

/// A stored NAT gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NatGateway {
    pub nat_gateway_id: String,
    pub vpc_id: String,
    pub subnet_id: String,
    /// `public` or `private`.
    pub connectivity_type: String,
    pub allocation_id: Option<String>,
    pub public_ip: Option<String>,
    pub association_id: Option<String>,
    pub network_interface_id: String,
    pub private_ip: String,
    /// Unix milliseconds.
    pub created_at: i64,
    pub deleted_at: Option<i64>,
    pub tags: Vec<Tag>,
    pub client_token: Option<String>,
}

impl Resource for NatGateway {
    const KIND: &'static str = "ec2:nat-gateway";

    fn id(&self) -> &str {
        &self.nat_gateway_id
    }

    fn parent(&self) -> Option<&str> {
        Some(&self.vpc_id)
    }
}

fn millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The gateway's state at `now`.
pub fn state(n: &NatGateway, now: OffsetDateTime) -> &'static str {
    let elapsed = |since: i64| Duration::milliseconds(millis(now) - since);
    match n.deleted_at {
        Some(d) if elapsed(d) >= TRANSITION => "deleted",
        Some(_) => "deleting",
        None if elapsed(n.created_at) >= TRANSITION => "available",
        None => "pending",
    }
}

/// The gateway with this id, or `NatGatewayNotFound`.
pub fn load(cx: &Ctx<'_>, id: &str) -> Result<NatGateway, ApiError> {
    cx.get::<NatGateway>(id)?.ok_or_else(|| Ec2Error::NatGatewayNotFound(id.to_string()).into())
}

/// Whether `vpc_id` has a public NAT gateway that is not yet deleted.
pub(super) fn has_live_public(cx: &Ctx<'_>, vpc_id: &str) -> Result<bool, ApiError> {
    Ok(cx
        .children::<NatGateway>(vpc_id)?
        .iter()
        .any(|n| n.connectivity_type == "public" && state(n, cx.now) != "deleted"))
}

/// Forgets gateways deleted longer ago than [`DELETED_RETENTION`].
fn purge_expired(cx: &Ctx<'_>) -> Result<(), ApiError> {
    for n in cx.list::<NatGateway>()? {
        if let Some(d) = n.deleted_at
            && Duration::milliseconds(millis(cx.now) - d) > DELETED_RETENTION
        {
            cx.delete::<NatGateway>(&n.nat_gateway_id)?;
        }
    }
    Ok(())
}

// === output shapes ===

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NatGatewayOut {
    create_time: String,
    delete_time: Option<String>,
    nat_gateway_address_set: Vec<AddressOut>,
    nat_gateway_id: String,
    state: &'static str,
    subnet_id: String,
    vpc_id: String,
    #[serde(rename = "tagSet")]
    tags: Vec<Tag>,
    connectivity_type: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AddressOut {
    allocation_id: Option<String>,
    network_interface_id: String,
    private_ip: String,
    public_ip: Option<String>,
    association_id: Option<String>,
    is_primary: bool,
    status: &'static str,
}

fn gateway_out(n: &NatGateway, now: OffsetDateTime) -> NatGatewayOut {
    let state = state(n, now);
    NatGatewayOut {
        create_time: iso8601(from_millis(n.created_at)),
        delete_time: n.deleted_at.map(|d| iso8601(from_millis(d))),
        nat_gateway_address_set: vec![AddressOut {
            allocation_id: n.allocation_id.clone(),
            network_interface_id: n.network_interface_id.clone(),
            private_ip: n.private_ip.clone(),
            public_ip: n.public_ip.clone(),
            association_id: n.association_id.clone(),
            is_primary: true,
            status: match state {
                "pending" => "associating",
                "deleting" => "disassociating",
                "deleted" => "disassociated",
                _ => "succeeded",
            },
        }],
        nat_gateway_id: n.nat_gateway_id.clone(),
        state,
        subnet_id: n.subnet_id.clone(),
        vpc_id: n.vpc_id.clone(),
        tags: n.tags.clone(),
        connectivity_type: n.connectivity_type.clone(),
    }
}

/// A gateway with its state at the time of the call, as Describe filters it.
struct NatView {
    gateway: NatGateway,
    state: &'static str,
}

impl Filterable for NatView {
    const FILTERS: &'static [&'static str] = &["nat-gateway-id", "state", "subnet-id", "vpc-id"];

    fn tags(&self) -> &[Tag] {
        &self.gateway.tags
    }

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "nat-gateway-id" => one(&self.gateway.nat_gateway_id),
            "state" => one(self.state),
            "subnet-id" => one(&self.gateway.subnet_id),
            "vpc-id" => one(&self.gateway.vpc_id),
            _ => Vec::new(),
        }
    }
}

// === operations ===

#[derive(Debug, Deserialize)]
pub struct CreateNatGatewayInput {
    #[serde(rename = "SubnetId")]
    subnet_id: Option<String>,
    #[serde(rename = "AllocationId")]
    allocation_id: Option<String>,
    #[serde(rename = "ConnectivityType")]
    connectivity_type: Option<String>,
    #[serde(rename = "PrivateIpAddress")]
    private_ip_address: Option<String>,
    #[serde(rename = "ClientToken")]
    client_token: Option<String>,
    #[serde(rename = "SecondaryAllocationId", default)]
    secondary_allocation_ids: Vec<String>,
    #[serde(rename = "TagSpecification", default)]
    tag_specifications: Vec<TagSpecification>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateNatGatewayOutput {
    client_token: Option<String>,
    nat_gateway: NatGatewayOut,
}

pub fn create_nat_gateway(
    cx: &Ctx<'_>,
    input: CreateNatGatewayInput,
) -> Result<CreateNatGatewayOutput, ApiError> {
    if let Some(token) = &input.client_token
        && let Some(existing) =
            cx.list::<NatGateway>()?.into_iter().find(|n| n.client_token.as_ref() == Some(token))
    {
        return Ok(CreateNatGatewayOutput {
            client_token: input.client_token,
            nat_gateway: gateway_out(&existing, cx.now),
        });
    }
    let subnet_id = input.subnet_id.ok_or_else(|| Ec2Error::MissingParameter("SubnetId".into()))?;
    let subnet = subnet::load(cx, &subnet_id)?;
    let connectivity = input.connectivity_type.unwrap_or_else(|| "public".into());
    if !input.secondary_allocation_ids.is_empty() || input.private_ip_address.is_some() {
        return Err(Ec2Error::InvalidParameterValue(
            "berth does not implement secondary or chosen NAT gateway addresses".into(),
        )
        .into());
    }
    let mut addr: Option<Address> = match connectivity.as_str() {
        "public" => {
            let id = input.allocation_id.ok_or_else(|| Ec2Error::MissingParameter("AllocationId".into()))?;
            let addr = address::load(cx, &id)?;
            if addr.association_id.is_some() {
                return Err(Ec2Error::AlreadyAssociated(format!(
                    "Elastic IP address [{id}] is already associated"
                ))
                .into());
            }
            if internet_gateway::attached(cx, &subnet.vpc_id)?.is_none() {
                return Err(Ec2Error::GatewayNotAttached(format!(
                    "Network {} has no Internet gateway attached",
                    subnet.vpc_id
                ))
                .into());
            }
            Some(addr)
        }
        "private" => {
            if input.allocation_id.is_some() {
                return Err(Ec2Error::InvalidParameterCombination(
                    "AllocationId is not supported for private NAT gateways".into(),
                )
                .into());
            }
            None
        }
        other => {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Value ({other}) for parameter connectivityType is invalid. Valid values: public, private"
            ))
            .into());
        }
    };
    let tags = tags::from_specs(&input.tag_specifications, "natgateway")?;
    let nat_gateway_id = ids::ec2("nat");
    let mut eni = network_interface::create_managed(
        cx,
        ManagedInterface {
            subnet_id: subnet.subnet_id.clone(),
            group_ids: Vec::new(),
            description: format!("Interface for NAT Gateway {nat_gateway_id}"),
            owner: "amazon-aws".into(),
            interface_type: "nat_gateway".into(),
        },
    )?;
    let association_id = match addr.as_mut() {
        Some(a) => Some(address::associate(cx, a, &mut eni)?),
        None => None,
    };
    let nat = NatGateway {
        nat_gateway_id,
        vpc_id: subnet.vpc_id.clone(),
        subnet_id: subnet.subnet_id.clone(),
        connectivity_type: connectivity,
        allocation_id: addr.as_ref().map(|a| a.allocation_id.clone()),
        public_ip: addr.as_ref().map(|a| a.public_ip.clone()),
        association_id,
        network_interface_id: eni.network_interface_id.clone(),
        private_ip: eni.private_ip_address.clone(),
        created_at: millis(cx.now),
        deleted_at: None,
        tags,
        client_token: input.client_token.clone(),
    };
    cx.put(&nat)?;
    Ok(CreateNatGatewayOutput { client_token: input.client_token, nat_gateway: gateway_out(&nat, cx.now) })
}

#[derive(Debug, Deserialize)]
pub struct DescribeNatGatewaysInput {
    #[serde(rename = "NatGatewayId", default)]
    nat_gateway_ids: Vec<String>,
    #[serde(rename = "Filter", default)]
    filters: Vec<Filter>,
    #[serde(rename = "MaxResults")]
    max_results: Option<i64>,
    #[serde(rename = "NextToken")]
    next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeNatGatewaysOutput {
    nat_gateway_set: Vec<NatGatewayOut>,
    next_token: Option<String>,
}

pub fn describe_nat_gateways(
    cx: &Ctx<'_>,
    input: DescribeNatGatewaysInput,
) -> Result<DescribeNatGatewaysOutput, ApiError> {
    purge_expired(cx)?;
    let gateways: Vec<NatGateway> = by_ids(cx, &input.nat_gateway_ids, Ec2Error::NatGatewayNotFound)?;
    let views: Vec<NatView> =
        gateways.into_iter().map(|g| NatView { state: state(&g, cx.now), gateway: g }).collect();
    let views = filter::select(views, &input.filters)?;
    let (views, next_token) = page(views, input.max_results, input.next_token.as_deref())?;
    Ok(DescribeNatGatewaysOutput {
        nat_gateway_set: views.iter().map(|v| gateway_out(&v.gateway, cx.now)).collect(),
        next_token,
    })
}

#[derive(Debug, Deserialize)]
pub struct DeleteNatGatewayInput {
    #[serde(rename = "NatGatewayId")]
    nat_gateway_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteNatGatewayOutput {
    nat_gateway_id: String,
}

/// Starts deleting a gateway: its interface and Elastic IP association go now, the gateway shows
/// `deleting` and then `deleted`.
pub fn delete_nat_gateway(
    cx: &Ctx<'_>,
    input: DeleteNatGatewayInput,
) -> Result<DeleteNatGatewayOutput, ApiError> {
    let mut nat = load(cx, &input.nat_gateway_id)?;
    if nat.deleted_at.is_none() {
        nat.deleted_at = Some(millis(cx.now));
        network_interface::delete_managed(cx, &nat.network_interface_id)?;
        cx.put(&nat)?;
    }
    Ok(DeleteNatGatewayOutput { nat_gateway_id: nat.nat_gateway_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nat(created_at: i64, deleted_at: Option<i64>) -> NatGateway {
        NatGateway {
            nat_gateway_id: "nat-1".into(),
            vpc_id: "vpc-1".into(),
            subnet_id: "subnet-1".into(),
            connectivity_type: "public".into(),
            allocation_id: None,
            public_ip: None,
            association_id: None,
            network_interface_id: "eni-1".into(),
            private_ip: "10.0.0.4".into(),
            created_at,
            deleted_at,
            tags: vec![],
            client_token: None,
        }
    }

    #[test]
    fn states_follow_the_clock() {
        let t0 = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let ms = millis(t0);
        assert_eq!(state(&nat(ms, None), t0), "pending");
        assert_eq!(state(&nat(ms, None), t0 + Duration::milliseconds(999)), "pending");
        assert_eq!(state(&nat(ms, None), t0 + Duration::seconds(1)), "available");
        let del = ms + 60_000;
        assert_eq!(state(&nat(ms, Some(del)), t0 + Duration::seconds(60)), "deleting");
        assert_eq!(state(&nat(ms, Some(del)), t0 + Duration::seconds(62)), "deleted");
        assert_eq!(iso8601(from_millis(ms)), iso8601(t0));
    }
}

//! Internet gateways: CreateInternetGateway, DescribeInternetGateways, AttachInternetGateway,
//! DetachInternetGateway, DeleteInternetGateway.

use serde::{Deserialize, Serialize};

use super::error::{Ec2Error, has_dependencies};
use super::filter::{self, Filter, Filterable, one};
use super::tags::{self, Tag, TagSpecification};
use super::{ReturnTrue, address, by_ids, nat_gateway, page, vpc};
use crate::api::ApiError;
use crate::store::Resource;
use crate::{Ctx, ids};

/// A stored internet gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InternetGateway {
    pub internet_gateway_id: String,
    /// The VPC it is attached to (at most one).
    pub vpc_id: Option<String>,
    pub owner_id: String,
    pub tags: Vec<Tag>,
}

impl Resource for InternetGateway {
    const KIND: &'static str = "ec2:internet-gateway";

    fn id(&self) -> &str {
        &self.internet_gateway_id
    }
}

impl InternetGateway {
    pub fn attached_to(&self, vpc_id: &str) -> bool {
        self.vpc_id.as_deref() == Some(vpc_id)
    }
}

/// The gateway with this id, or `InvalidInternetGatewayID.NotFound`.
pub fn load(cx: &Ctx<'_>, id: &str) -> Result<InternetGateway, ApiError> {
    cx.get::<InternetGateway>(id)?.ok_or_else(|| Ec2Error::InternetGatewayNotFound(id.to_string()).into())
}

/// The gateway attached to `vpc_id`, if any.
pub fn attached(cx: &Ctx<'_>, vpc_id: &str) -> Result<Option<InternetGateway>, ApiError> {
    Ok(cx.list::<InternetGateway>()?.into_iter().find(|g| g.attached_to(vpc_id)))
}

// === output shapes ===

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InternetGatewayOut {
    attachment_set: Vec<AttachmentOut>,
    internet_gateway_id: String,
    owner_id: String,
    #[serde(rename = "tagSet")]
    tags: Vec<Tag>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AttachmentOut {
    /// AWS reports an attached internet gateway as `available`.
    state: &'static str,
    vpc_id: String,
}

pub fn gateway_out(g: &InternetGateway) -> InternetGatewayOut {
    InternetGatewayOut {
        attachment_set: g
            .vpc_id
            .iter()
            .map(|v| AttachmentOut { state: "available", vpc_id: v.clone() })
            .collect(),
        internet_gateway_id: g.internet_gateway_id.clone(),
        owner_id: g.owner_id.clone(),
        tags: g.tags.clone(),
    }
}

impl Filterable for InternetGateway {
    const FILTERS: &'static [&'static str] =
        &["internet-gateway-id", "attachment.vpc-id", "attachment.state", "owner-id"];

    fn tags(&self) -> &[Tag] {
        &self.tags
    }

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "internet-gateway-id" => one(&self.internet_gateway_id),
            "attachment.vpc-id" => self.vpc_id.iter().cloned().collect(),
            "attachment.state" => self.vpc_id.iter().map(|_| "available".to_string()).collect(),
            "owner-id" => one(&self.owner_id),
            _ => Vec::new(),
        }
    }
}

// === operations ===

#[derive(Debug, Deserialize)]
pub struct CreateInternetGatewayInput {
    #[serde(rename = "TagSpecification", default)]
    tag_specifications: Vec<TagSpecification>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateInternetGatewayOutput {
    internet_gateway: InternetGatewayOut,
}

pub fn create_internet_gateway(
    cx: &Ctx<'_>,
    input: CreateInternetGatewayInput,
) -> Result<CreateInternetGatewayOutput, ApiError> {
    let gateway = InternetGateway {
        internet_gateway_id: ids::ec2("igw"),
        vpc_id: None,
        owner_id: cx.account.to_string(),
        tags: tags::from_specs(&input.tag_specifications, "internet-gateway")?,
    };
    cx.put(&gateway)?;
    Ok(CreateInternetGatewayOutput { internet_gateway: gateway_out(&gateway) })
}

#[derive(Debug, Deserialize)]
pub struct DescribeInternetGatewaysInput {
    #[serde(rename = "InternetGatewayId", default)]
    internet_gateway_ids: Vec<String>,
    #[serde(rename = "Filter", default)]
    filters: Vec<Filter>,
    #[serde(rename = "MaxResults")]
    max_results: Option<i64>,
    #[serde(rename = "NextToken")]
    next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeInternetGatewaysOutput {
    internet_gateway_set: Vec<InternetGatewayOut>,
    next_token: Option<String>,
}

pub fn describe_internet_gateways(
    cx: &Ctx<'_>,
    input: DescribeInternetGatewaysInput,
) -> Result<DescribeInternetGatewaysOutput, ApiError> {
    let gateways: Vec<InternetGateway> =
        by_ids(cx, &input.internet_gateway_ids, Ec2Error::InternetGatewayNotFound)?;
    let gateways = filter::select(gateways, &input.filters)?;
    let (gateways, next_token) = page(gateways, input.max_results, input.next_token.as_deref())?;
    Ok(DescribeInternetGatewaysOutput {
        internet_gateway_set: gateways.iter().map(gateway_out).collect(),
        next_token,
    })
}

#[derive(Debug, Deserialize)]
pub struct AttachmentInput {
    #[serde(rename = "InternetGatewayId")]
    internet_gateway_id: String,
    #[serde(rename = "VpcId")]
    vpc_id: String,
}

pub fn attach_internet_gateway(cx: &Ctx<'_>, input: AttachmentInput) -> Result<ReturnTrue, ApiError> {
    let mut gateway = load(cx, &input.internet_gateway_id)?;
    let vpc = vpc::load(cx, &input.vpc_id)?;
    if let Some(attached_vpc) = &gateway.vpc_id {
        return Err(Ec2Error::AlreadyAssociated(format!(
            "resource {} is already attached to network {attached_vpc}",
            gateway.internet_gateway_id
        ))
        .into());
    }
    if let Some(other) = attached(cx, &vpc.vpc_id)? {
        return Err(Ec2Error::AlreadyAssociated(format!(
            "Network {} already has an internet gateway attached ({})",
            vpc.vpc_id, other.internet_gateway_id
        ))
        .into());
    }
    gateway.vpc_id = Some(vpc.vpc_id);
    cx.put(&gateway)?;
    Ok(ReturnTrue::new())
}

/// Detaches a gateway, refused while the VPC still maps public addresses (an Elastic IP on an
/// interface, a public NAT gateway), as AWS does.
pub fn detach_internet_gateway(cx: &Ctx<'_>, input: AttachmentInput) -> Result<ReturnTrue, ApiError> {
    let mut gateway = load(cx, &input.internet_gateway_id)?;
    let vpc = vpc::load(cx, &input.vpc_id)?;
    if !gateway.attached_to(&vpc.vpc_id) {
        return Err(Ec2Error::GatewayNotAttached(format!(
            "resource {} is not attached to network {}",
            gateway.internet_gateway_id, vpc.vpc_id
        ))
        .into());
    }
    if address::maps_public_addresses(cx, &vpc.vpc_id)? || nat_gateway::has_live_public(cx, &vpc.vpc_id)? {
        return Err(Ec2Error::DependencyViolation(format!(
            "Network {} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.",
            vpc.vpc_id
        ))
        .into());
    }
    gateway.vpc_id = None;
    cx.put(&gateway)?;
    Ok(ReturnTrue::new())
}

#[derive(Debug, Deserialize)]
pub struct InternetGatewayIdInput {
    #[serde(rename = "InternetGatewayId")]
    internet_gateway_id: String,
}

pub fn delete_internet_gateway(cx: &Ctx<'_>, input: InternetGatewayIdInput) -> Result<ReturnTrue, ApiError> {
    let gateway = load(cx, &input.internet_gateway_id)?;
    if gateway.vpc_id.is_some() {
        return Err(has_dependencies("internetGateway", &gateway.internet_gateway_id).into());
    }
    cx.delete::<InternetGateway>(&gateway.internet_gateway_id)?;
    Ok(ReturnTrue::new())
}

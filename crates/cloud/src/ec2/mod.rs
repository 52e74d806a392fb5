//! EC2: the VPC networking an ECS Fargate stack needs.
//!
//! # Layout
//! - [`vpc`]: VPCs, created with their default security group, network ACL and main route table.
//! - [`subnet`], [`internet_gateway`], [`route_table`], [`nat_gateway`], [`address`] (Elastic
//!   IPs), [`network_acl`], [`security_group`], [`network_interface`]: one file per resource,
//!   holding its stored type and its operations.
//! - [`availability_zone`]: the fixed zones of each region.
//! - [`network_interface`] also owns the private address allocator and
//!   [`network_interface::create_managed`], which ELBv2, ECS and NAT gateways use for the
//!   interfaces AWS creates on their behalf.
//! - [`tags`]: the `Tag` type, `TagSpecification`, and CreateTags/DeleteTags/DescribeTags across
//!   every resource.
//! - [`filter`]: generic `Filter.N` matching with wildcards and tag filters.
//! - [`error`]: EC2's error codes and messages.
//!
//! # Conventions
//! - Describe calls given unknown ids fail with the resource's `…NotFound` error; Describe calls
//!   whose filters match nothing return empty lists.
//! - Calls AWS answers with `<return>true</return>` return [`ReturnTrue`].
//! - berth models no default VPC: a region starts empty, like an account whose default VPCs were
//!   deleted. Calls that would fall back to the default VPC fail as AWS does without one.
//!
//! # Lookups from other services
//! ECS and ELBv2 read EC2 resources through `vpc::find`, `subnet::find`, `security_group::find`
//! and `network_interface::{find, create_managed, delete_managed}`, never through operations.

pub mod address;
pub mod availability_zone;
pub mod error;
pub mod filter;
pub mod internet_gateway;
pub mod nat_gateway;
pub mod network_acl;
pub mod network_interface;
pub mod route_table;
pub mod security_group;
pub mod subnet;
pub mod tags;
pub mod vpc;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use self::error::Ec2Error;
use crate::api::{ApiError, reply};
use crate::edge::Call;
use crate::store::Resource;
use crate::{Cloud, Ctx};

crate::operations! {
    /// The EC2 operations berth implements.
    pub enum Operation {
        // VPCs and zones
        CreateVpc,
        DescribeVpcs,
        DeleteVpc,
        DescribeVpcAttribute,
        ModifyVpcAttribute,
        DescribeAvailabilityZones,
        // subnets
        CreateSubnet,
        DescribeSubnets,
        DeleteSubnet,
        ModifySubnetAttribute,
        // internet gateways
        CreateInternetGateway,
        DescribeInternetGateways,
        AttachInternetGateway,
        DetachInternetGateway,
        DeleteInternetGateway,
        // route tables
        CreateRouteTable,
        DescribeRouteTables,
        DeleteRouteTable,
        CreateRoute,
        ReplaceRoute,
        DeleteRoute,
        AssociateRouteTable,
        DisassociateRouteTable,
        ReplaceRouteTableAssociation,
        // Elastic IPs
        AllocateAddress,
        DescribeAddresses,
        DescribeAddressesAttribute,
        AssociateAddress,
        DisassociateAddress,
        ReleaseAddress,
        // NAT gateways
        CreateNatGateway,
        DescribeNatGateways,
        DeleteNatGateway,
        // network ACLs
        CreateNetworkAcl,
        DescribeNetworkAcls,
        DeleteNetworkAcl,
        CreateNetworkAclEntry,
        ReplaceNetworkAclEntry,
        DeleteNetworkAclEntry,
        ReplaceNetworkAclAssociation,
        // security groups
        CreateSecurityGroup,
        DescribeSecurityGroups,
        DeleteSecurityGroup,
        AuthorizeSecurityGroupIngress,
        AuthorizeSecurityGroupEgress,
        RevokeSecurityGroupIngress,
        RevokeSecurityGroupEgress,
        DescribeSecurityGroupRules,
        // network interfaces
        CreateNetworkInterface,
        DescribeNetworkInterfaces,
        DeleteNetworkInterface,
        // tags
        CreateTags,
        DeleteTags,
        DescribeTags,
    }
}

pub fn handle(cloud: &Cloud, call: &Call) -> Result<Value, ApiError> {
    let op = Operation::from_name(&call.operation)
        .ok_or_else(|| ApiError::not_implemented("ec2", &call.operation))?;
    let input = &call.input;
    cloud.transact(&call.region, |cx| match op {
        Operation::CreateVpc => reply(vpc::create_vpc(cx, input.parse()?)?),
        Operation::DescribeVpcs => reply(vpc::describe_vpcs(cx, input.parse()?)?),
        Operation::DeleteVpc => reply(vpc::delete_vpc(cx, input.parse()?)?),
        Operation::DescribeVpcAttribute => reply(vpc::describe_vpc_attribute(cx, input.parse()?)?),
        Operation::ModifyVpcAttribute => reply(vpc::modify_vpc_attribute(cx, input.parse()?)?),
        Operation::DescribeAvailabilityZones => {
            reply(availability_zone::describe_availability_zones(cx, input.parse()?)?)
        }
        Operation::CreateSubnet => reply(subnet::create_subnet(cx, input.parse()?)?),
        Operation::DescribeSubnets => reply(subnet::describe_subnets(cx, input.parse()?)?),
        Operation::DeleteSubnet => reply(subnet::delete_subnet(cx, input.parse()?)?),
        Operation::ModifySubnetAttribute => reply(subnet::modify_subnet_attribute(cx, input.parse()?)?),
        Operation::CreateInternetGateway => {
            reply(internet_gateway::create_internet_gateway(cx, input.parse()?)?)
        }
        Operation::DescribeInternetGateways => {
            reply(internet_gateway::describe_internet_gateways(cx, input.parse()?)?)
        }
        Operation::AttachInternetGateway => {
            reply(internet_gateway::attach_internet_gateway(cx, input.parse()?)?)
        }
        Operation::DetachInternetGateway => {
            reply(internet_gateway::detach_internet_gateway(cx, input.parse()?)?)
        }
        Operation::DeleteInternetGateway => {
            reply(internet_gateway::delete_internet_gateway(cx, input.parse()?)?)
        }
        Operation::CreateRouteTable => reply(route_table::create_route_table(cx, input.parse()?)?),
        Operation::DescribeRouteTables => reply(route_table::describe_route_tables(cx, input.parse()?)?),
        Operation::DeleteRouteTable => reply(route_table::delete_route_table(cx, input.parse()?)?),
        Operation::CreateRoute => reply(route_table::create_route(cx, input.parse()?)?),
        Operation::ReplaceRoute => reply(route_table::replace_route(cx, input.parse()?)?),
        Operation::DeleteRoute => reply(route_table::delete_route(cx, input.parse()?)?),
        Operation::AssociateRouteTable => reply(route_table::associate_route_table(cx, input.parse()?)?),
        Operation::DisassociateRouteTable => {
            reply(route_table::disassociate_route_table(cx, input.parse()?)?)
        }
        Operation::ReplaceRouteTableAssociation => {
            reply(route_table::replace_route_table_association(cx, input.parse()?)?)
        }
        Operation::AllocateAddress => reply(address::allocate_address(cx, input.parse()?)?),
        Operation::DescribeAddresses => reply(address::describe_addresses(cx, input.parse()?)?),
        Operation::DescribeAddressesAttribute => {
            reply(address::describe_addresses_attribute(cx, input.parse()?)?)
        }
        Operation::AssociateAddress => reply(address::associate_address(cx, input.parse()?)?),
        Operation::DisassociateAddress => reply(address::disassociate_address(cx, input.parse()?)?),
        Operation::ReleaseAddress => reply(address::release_address(cx, input.parse()?)?),
        Operation::CreateNatGateway => reply(nat_gateway::create_nat_gateway(cx, input.parse()?)?),
        Operation::DescribeNatGateways => reply(nat_gateway::describe_nat_gateways(cx, input.parse()?)?),
        Operation::DeleteNatGateway => reply(nat_gateway::delete_nat_gateway(cx, input.parse()?)?),
        Operation::CreateNetworkAcl => reply(network_acl::create_network_acl(cx, input.parse()?)?),
        Operation::DescribeNetworkAcls => reply(network_acl::describe_network_acls(cx, input.parse()?)?),
        Operation::DeleteNetworkAcl => reply(network_acl::delete_network_acl(cx, input.parse()?)?),
        Operation::CreateNetworkAclEntry => reply(network_acl::create_network_acl_entry(cx, input.parse()?)?),
        Operation::ReplaceNetworkAclEntry => {
            reply(network_acl::replace_network_acl_entry(cx, input.parse()?)?)
        }
        Operation::DeleteNetworkAclEntry => reply(network_acl::delete_network_acl_entry(cx, input.parse()?)?),
        Operation::ReplaceNetworkAclAssociation => {
            reply(network_acl::replace_network_acl_association(cx, input.parse()?)?)
        }
        Operation::CreateSecurityGroup => reply(security_group::create_security_group(cx, input.parse()?)?),
        Operation::DescribeSecurityGroups => {
            reply(security_group::describe_security_groups(cx, input.parse()?)?)
        }
        Operation::DeleteSecurityGroup => reply(security_group::delete_security_group(cx, input.parse()?)?),
        Operation::AuthorizeSecurityGroupIngress => {
            reply(security_group::authorize_ingress(cx, input.parse()?)?)
        }
        Operation::AuthorizeSecurityGroupEgress => {
            reply(security_group::authorize_egress(cx, input.parse()?)?)
        }
        Operation::RevokeSecurityGroupIngress => reply(security_group::revoke_ingress(cx, input.parse()?)?),
        Operation::RevokeSecurityGroupEgress => reply(security_group::revoke_egress(cx, input.parse()?)?),
        Operation::DescribeSecurityGroupRules => {
            reply(security_group::describe_security_group_rules(cx, input.parse()?)?)
        }
        Operation::CreateNetworkInterface => {
            reply(network_interface::create_network_interface(cx, input.parse()?)?)
        }
        Operation::DescribeNetworkInterfaces => {
            reply(network_interface::describe_network_interfaces(cx, input.parse()?)?)
        }
        Operation::DeleteNetworkInterface => {
            reply(network_interface::delete_network_interface(cx, input.parse()?)?)
        }
        Operation::CreateTags => reply(tags::create_tags(cx, input.parse()?)?),
        Operation::DeleteTags => reply(tags::delete_tags(cx, input.parse()?)?),
        Operation::DescribeTags => reply(tags::describe_tags(cx, input.parse()?)?),
    })
}

/// `<return>true</return>`: the answer of the EC2 calls that have nothing else to say.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ReturnTrue {
    #[serde(rename = "return")]
    ret: bool,
}

impl ReturnTrue {
    pub fn new() -> Self {
        Self { ret: true }
    }
}

impl Default for ReturnTrue {
    fn default() -> Self {
        Self::new()
    }
}

/// `{"Value": true}` in requests, `<value>true</value>` in responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeBooleanValue {
    #[serde(rename(serialize = "value", deserialize = "Value"))]
    pub value: Option<bool>,
}

/// The resources a Describe call names by id (in the order named, each once), or every resource
/// of the kind in the region when it names none. An unknown id fails with `not_found`.
pub(crate) fn by_ids<T: Resource>(
    cx: &Ctx<'_>,
    ids: &[String],
    not_found: fn(String) -> Ec2Error,
) -> Result<Vec<T>, ApiError> {
    if ids.is_empty() {
        return Ok(cx.list::<T>()?);
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for id in ids {
        if !seen.insert(id.as_str()) {
            continue;
        }
        match cx.get::<T>(id)? {
            Some(r) => out.push(r),
            None => return Err(not_found(id.clone()).into()),
        }
    }
    Ok(out)
}

/// One page of `items`: `NextToken` is the index of the first item of the next page.
pub(crate) fn page<T>(
    items: Vec<T>,
    max_results: Option<i64>,
    next_token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), Ec2Error> {
    let start = match next_token.filter(|t| !t.is_empty()) {
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| Ec2Error::InvalidParameterValue(format!("Invalid value '{t}' for nextToken")))?,
        None => 0,
    };
    let max = match max_results {
        None => usize::MAX,
        Some(n) if n >= 1 => n as usize,
        Some(n) => {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Value ( {n} ) for parameter maxResults is invalid. Parameter must be greater than or equal to 1."
            )));
        }
    };
    let total = items.len();
    let end = start.saturating_add(max).min(total);
    let next = (end < total).then(|| end.to_string());
    Ok((items.into_iter().skip(start).take(end.saturating_sub(start)).collect(), next))
}

/// `docs/ec2-operations.md`: the operations berth implements, generated from [`Operation::ALL`].
pub fn operations_doc() -> String {
    let mut doc = String::from(
        "# EC2 operations berth implements\n\n\
         Generated from `cloud::ec2::Operation::ALL` by the test `ec2::tests::operations_doc_is_current`\n\
         (`cargo test -p cloud operations_doc_is_current` rewrites this file when it is stale). Do not edit.\n\n",
    );
    doc.push_str(&format!("{} operations:\n\n", Operation::ALL.len()));
    for op in Operation::ALL {
        doc.push_str(&format!(
            "- [{op}](https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_{op}.html)\n"
        ));
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tidy test, as rust-analyzer has: the committed list must match the code.
    #[test]
    fn operations_doc_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ec2-operations.md");
        let want = operations_doc();
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            std::fs::write(&path, &want).unwrap();
            panic!(
                "docs/ec2-operations.md was out of date with ec2::Operation::ALL; it has been regenerated. \
                 Review and commit it, then run the tests again."
            );
        }
    }

    #[test]
    fn paging_walks_every_item_once() {
        let items: Vec<u32> = (0..7).collect();
        let (first, token) = page(items.clone(), Some(3), None).unwrap();
        assert_eq!((first, token.as_deref()), (vec![0, 1, 2], Some("3")));
        let (second, token) = page(items.clone(), Some(3), Some("3")).unwrap();
        assert_eq!((second, token.as_deref()), (vec![3, 4, 5], Some("6")));
        let (last, token) = page(items.clone(), Some(3), Some("6")).unwrap();
        assert_eq!((last, token), (vec![6], None));
        assert_eq!(page(items.clone(), None, None).unwrap().0.len(), 7);
        assert!(page(items.clone(), Some(0), None).is_err());
        assert!(page(items, None, Some("x")).is_err());
    }

    #[test]
    fn return_true_and_attribute_values_have_ec2_spellings() {
        assert_eq!(serde_json::to_value(ReturnTrue::new()).unwrap(), serde_json::json!({"return": true}));
        let v = AttributeBooleanValue { value: Some(false) };
        assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!({"value": false}));
    }
}

//! Route tables, their routes and associations: CreateRouteTable, DescribeRouteTables,
//! DeleteRouteTable, CreateRoute, ReplaceRoute, DeleteRoute, AssociateRouteTable,
//! DisassociateRouteTable, ReplaceRouteTableAssociation.
//!
//! Every VPC has a main route table (created with it, holding the `local` route and the main
//! association). A route's state is computed when it is described: `blackhole` once its
//! internet gateway is detached or its NAT gateway is deleted.

use ipnet::{Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use super::error::{Ec2Error, has_dependencies};
use super::filter::{self, Filter, Filterable, one};
use super::internet_gateway::{self, InternetGateway};
use super::nat_gateway::{self, NatGateway};
use super::network_interface::NetworkInterface;
use super::subnet::{self, Subnet};
use super::tags::{self, Tag, TagSpecification};
use super::vpc::{self, Vpc};
use super::{ReturnTrue, by_ids, page};
use crate::api::ApiError;
use crate::store::Resource;
use crate::{Ctx, ids};

/// A stored route table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteTable {
    pub route_table_id: String,
    pub vpc_id: String,
    pub owner_id: String,
    pub routes: Vec<Route>,
    pub associations: Vec<Association>,
    pub tags: Vec<Tag>,
    /// The `ClientToken` of the CreateRouteTable call, for idempotent retries.
    pub client_token: Option<String>,
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub destination_cidr_block: Option<String>,
    pub destination_ipv6_cidr_block: Option<String>,
    pub target: Target,
    /// `CreateRouteTable` for the local routes, `CreateRoute` for the others.
    pub origin: String,
}

/// Where a route sends traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    Local,
    Gateway(String),
    NatGateway(String),
    NetworkInterface(String),
}

/// A subnet (or the VPC, for the main association) using the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Association {
    pub association_id: String,
    pub subnet_id: Option<String>,
    pub gateway_id: Option<String>,
    pub main: bool,
}

impl Resource for RouteTable {
    const KIND: &'static str = "ec2:route-table";

    fn id(&self) -> &str {
        &self.route_table_id
    }

    fn parent(&self) -> Option<&str> {
        Some(&self.vpc_id)
    }
}

impl Route {
    fn destination(&self) -> &str {
        self.destination_cidr_block.as_deref().or(self.destination_ipv6_cidr_block.as_deref()).unwrap_or("")
    }
}

/// The route table with this id, or `InvalidRouteTableID.NotFound`.
pub fn load(cx: &Ctx<'_>, id: &str) -> Result<RouteTable, ApiError> {
    cx.get::<RouteTable>(id)?.ok_or_else(|| Ec2Error::RouteTableNotFound(id.to_string()).into())
}

fn local_routes(vpc: &Vpc) -> Vec<Route> {
    let mut routes = vec![Route {
        destination_cidr_block: Some(vpc.cidr_block.clone()),
        destination_ipv6_cidr_block: None,
        target: Target::Local,
        origin: "CreateRouteTable".into(),
    }];
    if let Some(v6) = &vpc.ipv6 {
        routes.push(Route {
            destination_cidr_block: None,
            destination_ipv6_cidr_block: Some(v6.cidr_block.clone()),
            target: Target::Local,
            origin: "CreateRouteTable".into(),
        });
    }
    routes
}

/// Creates the main route table of a new VPC; returns its id.
pub(super) fn create_main(cx: &Ctx<'_>, vpc: &Vpc) -> Result<String, ApiError> {
    let table = RouteTable {
        route_table_id: ids::ec2("rtb"),
        vpc_id: vpc.vpc_id.clone(),
        owner_id: cx.account.to_string(),
        routes: local_routes(vpc),
        associations: vec![Association {
            association_id: ids::ec2("rtbassoc"),
            subnet_id: None,
            gateway_id: None,
            main: true,
        }],
        tags: Vec::new(),
        client_token: None,
    };
    cx.put(&table)?;
    Ok(table.route_table_id)
}

/// Drops the associations of a subnet being deleted.
pub(super) fn forget_subnet(cx: &Ctx<'_>, subnet: &Subnet) -> Result<(), ApiError> {
    for mut table in cx.children::<RouteTable>(&subnet.vpc_id)? {
        let before = table.associations.len();
        table.associations.retain(|a| a.subnet_id.as_deref() != Some(subnet.subnet_id.as_str()));
        if table.associations.len() != before {
            cx.put(&table)?;
        }
    }
    Ok(())
}

/// The table holding association `id`, if any.
fn table_of_association(cx: &Ctx<'_>, id: &str) -> Result<Option<RouteTable>, ApiError> {
    Ok(cx.list::<RouteTable>()?.into_iter().find(|t| t.associations.iter().any(|a| a.association_id == id)))
}

// === output shapes ===

/// A route table with its routes' computed states, as Describe shows and filters it.
pub struct RouteTableView {
    pub table: RouteTable,
    pub states: Vec<&'static str>,
}

fn route_state(cx: &Ctx<'_>, table: &RouteTable, route: &Route) -> Result<&'static str, ApiError> {
    let live = match &route.target {
        Target::Local => true,
        Target::Gateway(id) => {
            cx.get::<InternetGateway>(id)?.map(|g| g.attached_to(&table.vpc_id)).unwrap_or(false)
        }
        Target::NatGateway(id) => cx
            .get::<NatGateway>(id)?
            .map(|n| !matches!(nat_gateway::state(&n, cx.now), "deleting" | "deleted" | "failed"))
            .unwrap_or(false),
        Target::NetworkInterface(id) => cx.get::<NetworkInterface>(id)?.is_some(),
    };
    Ok(if live { "active" } else { "blackhole" })
}

pub fn view(cx: &Ctx<'_>, table: RouteTable) -> Result<RouteTableView, ApiError> {
    let states = table.routes.iter().map(|r| route_state(cx, &table, r)).collect::<Result<Vec<_>, _>>()?;
    Ok(RouteTableView { table, states })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteTableOut {
    association_set: Vec<AssociationOut>,
    propagating_vgw_set: Vec<()>,
    route_table_id: String,
    route_set: Vec<RouteOut>,
    #[serde(rename = "tagSet")]
    tags: Vec<Tag>,
    vpc_id: String,
    owner_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AssociationOut {
    main: bool,
    route_table_association_id: String,
    route_table_id: String,
    subnet_id: Option<String>,
    gateway_id: Option<String>,
    association_state: AssociationState,
}

#[derive(Debug, Serialize)]
pub struct AssociationState {
    state: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RouteOut {
    destination_cidr_block: Option<String>,
    destination_ipv6_cidr_block: Option<String>,
    gateway_id: Option<String>,
    nat_gateway_id: Option<String>,
    network_interface_id: Option<String>,
    origin: String,
    state: &'static str,
}

pub fn table_out(v: &RouteTableView) -> RouteTableOut {
    let t = &v.table;
    RouteTableOut {
        association_set: t
            .associations
            .iter()
            .map(|a| AssociationOut {
                main: a.main,
                route_table_association_id: a.association_id.clone(),
                route_table_id: t.route_table_id.clone(),
                subnet_id: a.subnet_id.clone(),
                gateway_id: a.gateway_id.clone(),
                association_state: AssociationState { state: "associated" },
            })
            .collect(),
        propagating_vgw_set: Vec::new(),
        route_table_id: t.route_table_id.clone(),
        route_set: t
            .routes
            .iter()
            .zip(&v.states)
            .map(|(r, state)| {
                let (gateway_id, nat_gateway_id, network_interface_id) = match &r.target {
                    Target::Local => (Some("local".to_string()), None, None),
                    Target::Gateway(id) => (Some(id.clone()), None, None),
                    Target::NatGateway(id) => (None, Some(id.clone()), None),
                    Target::NetworkInterface(id) => (None, None, Some(id.clone())),
                };
                RouteOut {
                    destination_cidr_block: r.destination_cidr_block.clone(),
                    destination_ipv6_cidr_block: r.destination_ipv6_cidr_block.clone(),
                    gateway_id,
                    nat_gateway_id,
                    network_interface_id,
                    origin: r.origin.clone(),
                    state,
                }
            })
            .collect(),
        tags: t.tags.clone(),
        vpc_id: t.vpc_id.clone(),
        owner_id: t.owner_id.clone(),
    }
}

impl Filterable for RouteTableView {
    const FILTERS: &'static [&'static str] = &[
        "route-table-id",
        "vpc-id",
        "owner-id",
        "association.route-table-association-id",
        "association.route-table-id",
        "association.subnet-id",
        "association.gateway-id",
        "association.main",
        "route.destination-cidr-block",
        "route.destination-ipv6-cidr-block",
        "route.gateway-id",
        "route.nat-gateway-id",
        "route.network-interface-id",
        "route.origin",
        "route.state",
    ];

    fn tags(&self) -> &[Tag] {
        &self.table.tags
    }

    fn filter_values(&self, name: &str) -> Vec<String> {
        let t = &self.table;
        let assoc =
            |f: &dyn Fn(&Association) -> Option<String>| t.associations.iter().filter_map(f).collect();
        let route = |f: &dyn Fn(&Route) -> Option<String>| t.routes.iter().filter_map(f).collect();
        match name {
            "route-table-id" => one(&t.route_table_id),
            "vpc-id" => one(&t.vpc_id),
            "owner-id" => one(&t.owner_id),
            "association.route-table-association-id" => assoc(&|a| Some(a.association_id.clone())),
            "association.route-table-id" => assoc(&|_| Some(t.route_table_id.clone())),
            "association.subnet-id" => assoc(&|a| a.subnet_id.clone()),
            "association.gateway-id" => assoc(&|a| a.gateway_id.clone()),
            "association.main" => assoc(&|a| Some(a.main.to_string())),
            "route.destination-cidr-block" => route(&|r| r.destination_cidr_block.clone()),
            "route.destination-ipv6-cidr-block" => route(&|r| r.destination_ipv6_cidr_block.clone()),
            "route.gateway-id" => route(&|r| match &r.target {
                Target::Local => Some("local".into()),
                Target::Gateway(id) => Some(id.clone()),
                _ => None,
            }),
            "route.nat-gateway-id" => route(&|r| match &r.target {
                Target::NatGateway(id) => Some(id.clone()),
                _ => None,
            }),
            "route.network-interface-id" => route(&|r| match &r.target {
                Target::NetworkInterface(id) => Some(id.clone()),
                _ => None,
            }),
            "route.origin" => route(&|r| Some(r.origin.clone())),
            "route.state" => self.states.iter().map(|s| s.to_string()).collect(),
            _ => Vec::new(),
        }
    }
}

// === route tables ===

#[derive(Debug, Deserialize)]
pub struct CreateRouteTableInput {
    #[serde(rename = "VpcId")]
    vpc_id: String,
    #[serde(rename = "ClientToken")]
    client_token: Option<String>,
    #[serde(rename = "TagSpecification", default)]
    tag_specifications: Vec<TagSpecification>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRouteTableOutput {
    route_table: RouteTableOut,
    client_token: Option<String>,
}

pub fn create_route_table(
    cx: &Ctx<'_>,
    input: CreateRouteTableInput,
) -> Result<CreateRouteTableOutput, ApiError> {
    let vpc = vpc::load(cx, &input.vpc_id)?;
    if let Some(token) = &input.client_token
        && let Some(existing) = cx
            .children::<RouteTable>(&vpc.vpc_id)?
            .into_iter()
            .find(|t| t.client_token.as_ref() == Some(token))
    {
        return Ok(CreateRouteTableOutput {
            route_table: table_out(&view(cx, existing)?),
            client_token: input.client_token,
        });
    }
    let table = RouteTable {
        route_table_id: ids::ec2("rtb"),
        vpc_id: vpc.vpc_id.clone(),
        owner_id: cx.account.to_string(),
        routes: local_routes(&vpc),
        associations: Vec::new(),
        tags: tags::from_specs(&input.tag_specifications, "route-table")?,
        client_token: input.client_token.clone(),
    };
    cx.put(&table)?;
    Ok(CreateRouteTableOutput { route_table: table_out(&view(cx, table)?), client_token: input.client_token })
}

#[derive(Debug, Deserialize)]
pub struct DescribeRouteTablesInput {
    #[serde(rename = "RouteTableId", default)]
    route_table_ids: Vec<String>,
    #[serde(rename = "Filter", default)]
    filters: Vec<Filter>,
    #[serde(rename = "MaxResults")]
    max_results: Option<i64>,
    #[serde(rename = "NextToken")]
    next_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeRouteTablesOutput {
    route_table_set: Vec<RouteTableOut>,
    next_token: Option<String>,
}

pub fn describe_route_tables(
    cx: &Ctx<'_>,
    input: DescribeRouteTablesInput,
) -> Result<DescribeRouteTablesOutput, ApiError> {
    let tables: Vec<RouteTable> = by_ids(cx, &input.route_table_ids, Ec2Error::RouteTableNotFound)?;
    let views = tables.into_iter().map(|t| view(cx, t)).collect::<Result<Vec<_>, _>>()?;
    let views = filter::select(views, &input.filters)?;
    let (views, next_token) = page(views, input.max_results, input.next_token.as_deref())?;
    Ok(DescribeRouteTablesOutput { route_table_set: views.iter().map(table_out).collect(), next_token })
}

#[derive(Debug, Deserialize)]
pub struct RouteTableIdInput {
    #[serde(rename = "RouteTableId")]
    route_table_id: String,
}

/// Deletes a route table that is neither main nor associated with a subnet.
pub fn delete_route_table(cx: &Ctx<'_>, input: RouteTableIdInput) -> Result<ReturnTrue, ApiError> {
    let table = load(cx, &input.route_table_id)?;
    if !table.associations.is_empty() {
        return Err(has_dependencies("routeTable", &table.route_table_id).into());
    }
    cx.delete::<RouteTable>(&table.route_table_id)?;
    Ok(ReturnTrue::new())
}

// === routes ===

#[derive(Debug, Deserialize)]
pub struct RouteInput {
    #[serde(rename = "RouteTableId")]
    route_table_id: String,
    #[serde(rename = "DestinationCidrBlock")]
    destination_cidr_block: Option<String>,
    #[serde(rename = "DestinationIpv6CidrBlock")]
    destination_ipv6_cidr_block: Option<String>,
    #[serde(rename = "DestinationPrefixListId")]
    destination_prefix_list_id: Option<String>,
    #[serde(rename = "GatewayId")]
    gateway_id: Option<String>,
    #[serde(rename = "NatGatewayId")]
    nat_gateway_id: Option<String>,
    #[serde(rename = "NetworkInterfaceId")]
    network_interface_id: Option<String>,
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "VpcPeeringConnectionId")]
    vpc_peering_connection_id: Option<String>,
    #[serde(rename = "TransitGatewayId")]
    transit_gateway_id: Option<String>,
    #[serde(rename = "EgressOnlyInternetGatewayId")]
    egress_only_internet_gateway_id: Option<String>,
    #[serde(rename = "VpcEndpointId")]
    vpc_endpoint_id: Option<String>,
}

/// The destination of a route call, normalised: `(ipv4, ipv6)`, exactly one set.
fn destination(input: &RouteInput) -> Result<(Option<String>, Option<String>), Ec2Error> {
    if input.destination_prefix_list_id.is_some() {
        return Err(Ec2Error::InvalidParameterValue("berth does not implement prefix-list routes".into()));
    }
    match (&input.destination_cidr_block, &input.destination_ipv6_cidr_block) {
        (Some(v4), None) => {
            let net: Ipv4Net = v4.parse().map_err(|_| {
                Ec2Error::InvalidParameterValue(format!(
                    "Value ({v4}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block."
                ))
            })?;
            Ok((Some(net.trunc().to_string()), None))
        }
        (None, Some(v6)) => {
            let net: Ipv6Net = v6.parse().map_err(|_| {
                Ec2Error::InvalidParameterValue(format!(
                    "Value ({v6}) for parameter destinationIpv6CidrBlock is invalid. This is not a valid IPv6 CIDR block."
                ))
            })?;
            Ok((None, Some(net.trunc().to_string())))
        }
        (None, None) => Err(Ec2Error::MissingParameter(
            "destinationCidrBlock or destinationIpv6CidrBlock or destinationPrefixListId".into(),
        )),
        (Some(_), Some(_)) => Err(Ec2Error::InvalidParameterCombination(
            "Only one of destinationCidrBlock, destinationIpv6CidrBlock or destinationPrefixListId may be specified"
                .into(),
        )),
    }
}

fn different_networks(table: &RouteTable, target: &str) -> Ec2Error {
    Ec2Error::InvalidParameterValue(format!(
        "route table {} and network gateway {target} belong to different networks",
        table.route_table_id
    ))
}

/// The target of a route call, checked against the table's VPC.
fn target(cx: &Ctx<'_>, table: &RouteTable, input: &RouteInput) -> Result<Target, ApiError> {
    let unsupported = [
        ("instanceId", &input.instance_id),
        ("vpcPeeringConnectionId", &input.vpc_peering_connection_id),
        ("transitGatewayId", &input.transit_gateway_id),
        ("egressOnlyInternetGatewayId", &input.egress_only_internet_gateway_id),
        ("vpcEndpointId", &input.vpc_endpoint_id),
    ];
    if let Some((name, _)) = unsupported.iter().find(|(_, v)| v.is_some()) {
        return Err(
            Ec2Error::InvalidParameterValue(format!("berth does not implement routes with {name}")).into()
        );
    }
    let given = [&input.gateway_id, &input.nat_gateway_id, &input.network_interface_id];
    if given.iter().filter(|t| t.is_some()).count() != 1 {
        // Wording guessed.
        return Err(Ec2Error::InvalidParameterCombination(
            "The request must contain exactly one of gatewayId, natGatewayId or networkInterfaceId".into(),
        )
        .into());
    }
    if let Some(id) = &input.gateway_id {
        let gateway = if id.starts_with("igw-") { cx.get::<InternetGateway>(id)? } else { None };
        let gateway = gateway.ok_or_else(|| Ec2Error::GatewayNotFound(id.clone()))?;
        if !gateway.attached_to(&table.vpc_id) {
            return Err(different_networks(table, id).into());
        }
        return Ok(Target::Gateway(gateway.internet_gateway_id));
    }
    if let Some(id) = &input.nat_gateway_id {
        let nat = nat_gateway::load(cx, id)?;
        if nat.vpc_id != table.vpc_id {
            return Err(different_networks(table, id).into());
        }
        return Ok(Target::NatGateway(nat.nat_gateway_id));
    }
    if let Some(id) = &input.network_interface_id {
        let eni = super::network_interface::load(cx, id)?;
        if eni.vpc_id != table.vpc_id {
            return Err(different_networks(table, id).into());
        }
        return Ok(Target::NetworkInterface(eni.network_interface_id));
    }
    Err(ApiError::internal("no route target"))
}

/// A gateway route may not be as or more specific than the VPC's own CIDR.
fn check_not_local(vpc: &Vpc, v4: Option<&str>, target: &Target) -> Result<(), ApiError> {
    if matches!(target, Target::NetworkInterface(_)) {
        return Ok(());
    }
    if let (Some(dest), Ok(net)) = (v4.and_then(|d| d.parse::<Ipv4Net>().ok()), vpc.net())
        && net.contains(&dest)
    {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "The destination CIDR block {dest} is equal to or more specific than one of this VPC's CIDR blocks. This route can target only an interface or an instance."
        ))
        .into());
    }
    Ok(())
}

pub fn create_route(cx: &Ctx<'_>, input: RouteInput) -> Result<ReturnTrue, ApiError> {
    let mut table = load(cx, &input.route_table_id)?;
    let (v4, v6) = destination(&input)?;
    let target = target(cx, &table, &input)?;
    let vpc = vpc::load(cx, &table.vpc_id)?;
    check_not_local(&vpc, v4.as_deref(), &target)?;
    let route = Route {
        destination_cidr_block: v4,
        destination_ipv6_cidr_block: v6,
        target,
        origin: "CreateRoute".into(),
    };
    if table.routes.iter().any(|r| r.destination() == route.destination()) {
        return Err(Ec2Error::RouteAlreadyExists(route.destination().to_string()).into());
    }
    table.routes.push(route);
    cx.put(&table)?;
    Ok(ReturnTrue::new())
}

pub fn replace_route(cx: &Ctx<'_>, input: RouteInput) -> Result<ReturnTrue, ApiError> {
    let mut table = load(cx, &input.route_table_id)?;
    let (v4, v6) = destination(&input)?;
    let dest = v4.clone().or(v6).unwrap_or_default();
    let target = target(cx, &table, &input)?;
    let vpc = vpc::load(cx, &table.vpc_id)?;
    let Some(route) = table.routes.iter_mut().find(|r| r.destination() == dest) else {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "There is no route defined for '{dest}' in the route table. Use CreateRoute instead."
        ))
        .into());
    };
    if route.target == Target::Local {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "cannot replace local route {dest} in route table {}",
            input.route_table_id
        ))
        .into());
    }
    check_not_local(&vpc, v4.as_deref(), &target)?;
    route.target = target;
    route.origin = "CreateRoute".into();
    cx.put(&table)?;
    Ok(ReturnTrue::new())
}

pub fn delete_route(cx: &Ctx<'_>, input: RouteInput) -> Result<ReturnTrue, ApiError> {
    let mut table = load(cx, &input.route_table_id)?;
    let (v4, v6) = destination(&input)?;
    let (kind, dest) = match (v4, v6) {
        (Some(d), _) => ("destination-cidr-block", d),
        (None, d) => ("destination-ipv6-cidr-block", d.unwrap_or_default()),
    };
    let Some(pos) = table.routes.iter().position(|r| r.destination() == dest) else {
        return Err(
            Ec2Error::RouteNotFound { kind, destination: dest, route_table: table.route_table_id }.into()
        );
    };
    if table.routes[pos].target == Target::Local {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "cannot remove local route {dest} in route table {}",
            table.route_table_id
        ))
        .into());
    }
    table.routes.remove(pos);
    cx.put(&table)?;
    Ok(ReturnTrue::new())
}

// === associations ===

#[derive(Debug, Deserialize)]
pub struct AssociateRouteTableInput {
    #[serde(rename = "RouteTableId")]
    route_table_id: String,
    #[serde(rename = "SubnetId")]
    subnet_id: Option<String>,
    #[serde(rename = "GatewayId")]
    gateway_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociateRouteTableOutput {
    association_id: String,
    association_state: AssociationState,
}

pub fn associate_route_table(
    cx: &Ctx<'_>,
    input: AssociateRouteTableInput,
) -> Result<AssociateRouteTableOutput, ApiError> {
    let mut table = load(cx, &input.route_table_id)?;
    let association = match (&input.subnet_id, &input.gateway_id) {
        (Some(subnet_id), None) => {
            let subnet = subnet::load(cx, subnet_id)?;
            if subnet.vpc_id != table.vpc_id {
                return Err(Ec2Error::InvalidParameterValue(format!(
                    "Route table {} and subnet {} belong to different networks",
                    table.route_table_id, subnet.subnet_id
                ))
                .into());
            }
            let taken = cx.children::<RouteTable>(&table.vpc_id)?.iter().any(|t| {
                t.associations.iter().any(|a| a.subnet_id.as_deref() == Some(subnet.subnet_id.as_str()))
            });
            if taken {
                return Err(Ec2Error::AlreadyAssociated(format!(
                    "the specified association for route table {} conflicts with an existing association",
                    table.route_table_id
                ))
                .into());
            }
            Association {
                association_id: ids::ec2("rtbassoc"),
                subnet_id: Some(subnet.subnet_id),
                gateway_id: None,
                main: false,
            }
        }
        (None, Some(gateway_id)) => {
            let gateway = internet_gateway::load(cx, gateway_id)?;
            if !gateway.attached_to(&table.vpc_id) {
                return Err(different_networks(&table, gateway_id).into());
            }
            Association {
                association_id: ids::ec2("rtbassoc"),
                subnet_id: None,
                gateway_id: Some(gateway.internet_gateway_id),
                main: false,
            }
        }
        _ => {
            return Err(Ec2Error::InvalidParameterCombination(
                "The request must contain exactly one of subnetId or gatewayId".into(),
            )
            .into());
        }
    };
    let association_id = association.association_id.clone();
    table.associations.push(association);
    cx.put(&table)?;
    Ok(AssociateRouteTableOutput {
        association_id,
        association_state: AssociationState { state: "associated" },
    })
}

#[derive(Debug, Deserialize)]
pub struct AssociationIdInput {
    #[serde(rename = "AssociationId")]
    association_id: String,
}

pub fn disassociate_route_table(cx: &Ctx<'_>, input: AssociationIdInput) -> Result<ReturnTrue, ApiError> {
    let Some(mut table) = table_of_association(cx, &input.association_id)? else {
        return Err(Ec2Error::AssociationNotFound(input.association_id).into());
    };
    if table.associations.iter().any(|a| a.association_id == input.association_id && a.main) {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "cannot disassociate the main route table association {}",
            input.association_id
        ))
        .into());
    }
    table.associations.retain(|a| a.association_id != input.association_id);
    cx.put(&table)?;
    Ok(ReturnTrue::new())
}

#[derive(Debug, Deserialize)]
pub struct ReplaceRouteTableAssociationInput {
    #[serde(rename = "AssociationId")]
    association_id: String,
    #[serde(rename = "RouteTableId")]
    route_table_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplaceRouteTableAssociationOutput {
    new_association_id: String,
    association_state: AssociationState,
}

/// Moves an association (a subnet's, or the VPC's main one) to another table of the VPC.
pub fn replace_route_table_association(
    cx: &Ctx<'_>,
    input: ReplaceRouteTableAssociationInput,
) -> Result<ReplaceRouteTableAssociationOutput, ApiError> {
    let Some(mut old) = table_of_association(cx, &input.association_id)? else {
        return Err(Ec2Error::AssociationNotFound(input.association_id).into());
    };
    let new = load(cx, &input.route_table_id)?;
    if new.vpc_id != old.vpc_id {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Route table {} and association {} belong to different networks",
            new.route_table_id, input.association_id
        ))
        .into());
    }
    let Some(pos) = old.associations.iter().position(|a| a.association_id == input.association_id) else {
        return Err(Ec2Error::AssociationNotFound(input.association_id).into());
    };
    let mut association = old.associations.remove(pos);
    association.association_id = ids::ec2("rtbassoc");
    let new_id = association.association_id.clone();
    let main = association.main;
    if old.route_table_id != new.route_table_id {
        cx.put(&old)?;
    }
    // Reload: `old` and `new` may be the same table.
    let mut new = load(cx, &new.route_table_id)?;
    if old.route_table_id == new.route_table_id {
        new = old;
    }
    new.associations.push(association);
    cx.put(&new)?;
    if main {
        let mut vpc = vpc::load(cx, &new.vpc_id)?;
        vpc.main_route_table_id = new.route_table_id.clone();
        cx.put(&vpc)?;
    }
    Ok(ReplaceRouteTableAssociationOutput {
        new_association_id: new_id,
        association_state: AssociationState { state: "associated" },
    })
}

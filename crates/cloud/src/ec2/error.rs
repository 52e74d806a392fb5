//! EC2's errors, with AWS's codes and messages.
//!
//! Every EC2 client error is HTTP 400 in the ec2Query error document
//! (`<Response><Errors><Error><Code>…`). Messages are AWS's own where we could see them (AWS docs,
//! the EC2 error-code reference, terraform-provider-aws's error matching); the few we could not
//! observe are marked "wording guessed" beside the variant.

use crate::api::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ec2Error {
    // === not found ===
    #[error("The vpc ID '{0}' does not exist")]
    VpcNotFound(String),
    #[error("The subnet ID '{0}' does not exist")]
    SubnetNotFound(String),
    #[error("The security group '{0}' does not exist")]
    GroupNotFound(String),
    #[error("The security group '{name}' does not exist in VPC '{vpc}'")]
    GroupNameNotFound { name: String, vpc: String },
    /// A group named without a VPC: only the default VPC is searched, and berth has none.
    #[error("The security group '{0}' does not exist in default VPC 'none'")]
    GroupNotInDefaultVpc(String),
    #[error("The security group rule ID '{0}' does not exist")]
    SecurityGroupRuleNotFound(String),
    #[error("The routeTable ID '{0}' does not exist")]
    RouteTableNotFound(String),
    #[error("The internetGateway ID '{0}' does not exist")]
    InternetGatewayNotFound(String),
    /// CreateRoute/ReplaceRoute name an unknown gateway with this code.
    #[error("The gateway ID '{0}' does not exist")]
    GatewayNotFound(String),
    #[error("NAT gateway {0} was not found")]
    NatGatewayNotFound(String),
    #[error("The allocation ID '{0}' does not exist")]
    AllocationNotFound(String),
    #[error("The association ID '{0}' does not exist")]
    AssociationNotFound(String),
    #[error("The networkAcl ID '{0}' does not exist")]
    NetworkAclNotFound(String),
    /// Wording guessed (the twin of `NetworkAclEntryAlreadyExists`).
    #[error("The network acl entry identified by {0} does not exist.")]
    NetworkAclEntryNotFound(i64),
    #[error("The networkInterface ID '{0}' does not exist")]
    NetworkInterfaceNotFound(String),
    /// `kind` is `destination-cidr-block` or `destination-ipv6-cidr-block`.
    #[error("no route with {kind} {destination} in route table {route_table}")]
    RouteNotFound { kind: &'static str, destination: String, route_table: String },
    /// RevokeSecurityGroupIngress/Egress by permission when no rule matches.
    #[error("The specified rule does not exist in this security group.")]
    PermissionNotFound,
    #[error("The address '{0}' does not exist")]
    AddressNotFound(String),

    // === conflicts ===
    #[error("The security group '{name}' already exists for VPC '{vpc}'")]
    GroupDuplicate { name: String, vpc: String },
    #[error("the specified rule \"{0}\" already exists")]
    PermissionDuplicate(String),
    #[error("The CIDR '{0}' conflicts with another subnet")]
    SubnetConflict(String),
    #[error("The CIDR '{0}' is invalid.")]
    SubnetRange(String),
    #[error("The CIDR '{0}' is invalid.")]
    VpcRange(String),
    #[error("The route identified by {0} already exists.")]
    RouteAlreadyExists(String),
    #[error("The network acl entry identified by {0} already exists.")]
    NetworkAclEntryAlreadyExists(i64),
    /// `DependencyViolation`: the message names what is blocking ("The vpc 'vpc-1' has
    /// dependencies and cannot be deleted.", "resource sg-1 has a dependent object").
    #[error("{0}")]
    DependencyViolation(String),
    #[error("{0}")]
    AlreadyAssociated(String),
    #[error("{0}")]
    GatewayNotAttached(String),
    /// Wording guessed (RunInstances says "There are not enough free addresses in subnet …").
    #[error(
        "There are not enough free addresses in subnet '{0}' to satisfy the requested number of addresses."
    )]
    InsufficientFreeAddresses(String),
    /// berth hands out public addresses from the documentation ranges; wording from AWS.
    #[error("The maximum number of addresses has been reached.")]
    AddressLimitExceeded,
    #[error("{0}")]
    IpAddressInUse(String),
    #[error("Network interface '{0}' is currently in use.")]
    NetworkInterfaceInUse(String),
    #[error("{0}")]
    CannotDelete(String),
    #[error("{0}")]
    OperationNotPermitted(String),
    #[error("The instance ID '{0}' does not exist")]
    InstanceNotFound(String),
    #[error("No default VPC for this user")]
    NoDefaultVpc,

    // === malformed input ===
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    InvalidParameterCombination(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("The request must contain the parameter {0}")]
    MissingParameter(String),
    #[error("The filter '{0}' is invalid")]
    InvalidFilter(String),
    #[error("The ID '{0}' is not valid")]
    InvalidId(String),
    #[error("Invalid id: \"{id}\"")]
    MalformedId { code: &'static str, id: String },
    #[error("{0}")]
    TagLimitExceeded(String),
}

impl Ec2Error {
    /// AWS's error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::VpcNotFound(_) => "InvalidVpcID.NotFound",
            Self::SubnetNotFound(_) => "InvalidSubnetID.NotFound",
            Self::GroupNotFound(_) | Self::GroupNameNotFound { .. } | Self::GroupNotInDefaultVpc(_) => {
                "InvalidGroup.NotFound"
            }
            Self::SecurityGroupRuleNotFound(_) => "InvalidSecurityGroupRuleId.NotFound",
            Self::RouteTableNotFound(_) => "InvalidRouteTableID.NotFound",
            Self::InternetGatewayNotFound(_) => "InvalidInternetGatewayID.NotFound",
            Self::GatewayNotFound(_) => "InvalidGatewayID.NotFound",
            Self::NatGatewayNotFound(_) => "NatGatewayNotFound",
            Self::AllocationNotFound(_) => "InvalidAllocationID.NotFound",
            Self::AssociationNotFound(_) => "InvalidAssociationID.NotFound",
            Self::NetworkAclNotFound(_) => "InvalidNetworkAclID.NotFound",
            Self::NetworkAclEntryNotFound(_) => "InvalidNetworkAclEntry.NotFound",
            Self::NetworkInterfaceNotFound(_) => "InvalidNetworkInterfaceID.NotFound",
            Self::RouteNotFound { .. } => "InvalidRoute.NotFound",
            Self::PermissionNotFound => "InvalidPermission.NotFound",
            Self::AddressNotFound(_) => "InvalidAddress.NotFound",
            Self::GroupDuplicate { .. } => "InvalidGroup.Duplicate",
            Self::PermissionDuplicate(_) => "InvalidPermission.Duplicate",
            Self::SubnetConflict(_) => "InvalidSubnet.Conflict",
            Self::SubnetRange(_) => "InvalidSubnet.Range",
            Self::VpcRange(_) => "InvalidVpc.Range",
            Self::RouteAlreadyExists(_) => "RouteAlreadyExists",
            Self::NetworkAclEntryAlreadyExists(_) => "NetworkAclEntryAlreadyExists",
            Self::DependencyViolation(_) => "DependencyViolation",
            Self::AlreadyAssociated(_) => "Resource.AlreadyAssociated",
            Self::GatewayNotAttached(_) => "Gateway.NotAttached",
            Self::InsufficientFreeAddresses(_) => "InsufficientFreeAddressesInSubnet",
            Self::AddressLimitExceeded => "AddressLimitExceeded",
            Self::IpAddressInUse(_) => "InvalidIPAddress.InUse",
            Self::NetworkInterfaceInUse(_) => "InvalidNetworkInterface.InUse",
            Self::CannotDelete(_) => "CannotDelete",
            Self::OperationNotPermitted(_) => "OperationNotPermitted",
            Self::InstanceNotFound(_) => "InvalidInstanceID.NotFound",
            Self::NoDefaultVpc => "VPCIdNotSpecified",
            Self::InvalidParameterValue(_) | Self::InvalidFilter(_) => "InvalidParameterValue",
            Self::InvalidParameterCombination(_) => "InvalidParameterCombination",
            Self::InvalidParameter(_) => "InvalidParameter",
            Self::MissingParameter(_) => "MissingParameter",
            Self::InvalidId(_) => "InvalidID",
            Self::MalformedId { code, .. } => code,
            Self::TagLimitExceeded(_) => "TagLimitExceeded",
        }
    }

    /// HTTP status: every EC2 error berth returns is the caller's fault (400).
    pub fn status(&self) -> u16 {
        400
    }
}

impl From<Ec2Error> for ApiError {
    fn from(e: Ec2Error) -> Self {
        ApiError::new(e.code(), e.status(), e.to_string())
    }
}

/// `DependencyViolation` for deleting `kind` `id` ("The vpc 'vpc-1' has dependencies and cannot
/// be deleted.").
pub fn has_dependencies(kind: &str, id: &str) -> Ec2Error {
    Ec2Error::DependencyViolation(format!("The {kind} '{id}' has dependencies and cannot be deleted."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages_are_aws_s() {
        let e: ApiError = Ec2Error::VpcNotFound("vpc-1234".into()).into();
        assert_eq!((e.code.as_ref(), e.status), ("InvalidVpcID.NotFound", 400));
        assert_eq!(e.message, "The vpc ID 'vpc-1234' does not exist");
        assert_eq!(
            has_dependencies("vpc", "vpc-1").to_string(),
            "The vpc 'vpc-1' has dependencies and cannot be deleted."
        );
        assert_eq!(
            Ec2Error::PermissionDuplicate("peer: 0.0.0.0/0, TCP, from port: 80, to port: 80, ALLOW".into())
                .to_string(),
            "the specified rule \"peer: 0.0.0.0/0, TCP, from port: 80, to port: 80, ALLOW\" already exists"
        );
        assert_eq!(
            Ec2Error::SubnetRange("10.1.0.0/24".into()).to_string(),
            "The CIDR '10.1.0.0/24' is invalid."
        );
    }
}

//! EC2: the VPC networking an ECS stack needs. (Filled in by the EC2 work.)

use serde_json::Value;

use crate::Cloud;
use crate::api::ApiError;
use crate::edge::Call;

crate::operations! {
    /// The EC2 operations berth implements.
    pub enum Operation {}
}

pub fn handle(_cloud: &Cloud, call: &Call) -> Result<Value, ApiError> {
    match Operation::from_name(&call.operation) {
        None => Err(ApiError::not_implemented("ec2", &call.operation)),
    }
}

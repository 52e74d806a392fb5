//! Elastic Load Balancing v2: application load balancers, listeners, rules, target groups. (Filled in by the ELBv2 work.)

use serde_json::Value;

use crate::Cloud;
use crate::api::ApiError;
use crate::edge::Call;

crate::operations! {
    /// The ELBv2 operations berth implements.
    pub enum Operation {}
}

pub fn handle(_cloud: &Cloud, call: &Call) -> Result<Value, ApiError> {
    match Operation::from_name(&call.operation) {
        None => Err(ApiError::not_implemented("elasticloadbalancing", &call.operation)),
    }
}

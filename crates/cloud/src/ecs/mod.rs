//! ECS: clusters, task definitions, services and tasks. (Filled in by the ECS work.)

use serde_json::Value;

use crate::Cloud;
use crate::api::ApiError;
use crate::edge::Call;

crate::operations! {
    /// The ECS operations berth implements.
    pub enum Operation {}
}

pub fn handle(_cloud: &Cloud, call: &Call) -> Result<Value, ApiError> {
    match Operation::from_name(&call.operation) {
        None => Err(ApiError::not_implemented("ecs", &call.operation)),
    }
}

//! STS: `GetCallerIdentity`, which the AWS provider calls whenever it configures itself.
//!
//! berth accepts any credentials and answers as the account root (LocalStack does the same).

use serde::Serialize;
use serde_json::Value;

use crate::api::{ApiError, reply};
use crate::edge::Call;
use crate::{ACCOUNT_ID, Cloud};

crate::operations! {
    /// The STS operations berth implements.
    pub enum Operation { GetCallerIdentity }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetCallerIdentityOutput {
    user_id: String,
    account: String,
    arn: String,
}

pub fn handle(_cloud: &Cloud, call: &Call) -> Result<Value, ApiError> {
    let op = Operation::from_name(&call.operation)
        .ok_or_else(|| ApiError::not_implemented("sts", &call.operation))?;
    match op {
        Operation::GetCallerIdentity => reply(GetCallerIdentityOutput {
            user_id: "AKIAIOSFODNN7EXAMPLE".into(),
            account: ACCOUNT_ID.into(),
            arn: format!("arn:aws:iam::{ACCOUNT_ID}:root"),
        }),
    }
}

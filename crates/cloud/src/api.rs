//! What a service module sees of a call: an [`Input`] to parse into its typed input, and an
//! [`ApiError`] to return. The wire details stay in [`crate::protocol`].

use std::borrow::Cow;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::protocol::Protocol;
use crate::protocol::form::{DecodeError, Node};

/// An AWS error: its code (the error shape's name), HTTP status and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub code: Cow<'static, str>,
    pub status: u16,
    pub message: String,
    /// `Sender` (the caller's fault) or `Receiver` in query error documents.
    pub sender_fault: bool,
}

impl ApiError {
    pub fn new(code: impl Into<Cow<'static, str>>, status: u16, message: impl Into<String>) -> Self {
        Self { code: code.into(), status, message: message.into(), sender_fault: status < 500 }
    }

    /// A 400 error with the given code.
    pub fn bad_request(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(code, 400, message)
    }

    /// An unexpected failure inside berth (store errors, bugs): `InternalFailure`, HTTP 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalFailure", 500, message)
    }

    /// An operation berth does not implement (yet).
    pub fn not_implemented(signing_name: &str, operation: &str) -> Self {
        Self::new("NotImplemented", 501, format!("berth does not implement {signing_name}:{operation}"))
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        ApiError::internal(format!("berth's state store failed: {e}"))
    }
}

/// The decoded body of a call, in whichever protocol it arrived.
#[derive(Debug, Clone)]
pub struct Input {
    body: InputBody,
}

#[derive(Debug, Clone)]
enum InputBody {
    Form { protocol: Protocol, tree: Node },
    Json(Value),
}

impl Input {
    pub(crate) fn form(protocol: Protocol, tree: Node) -> Self {
        Self { body: InputBody::Form { protocol, tree } }
    }

    pub(crate) fn json(value: Value) -> Self {
        Self { body: InputBody::Json(value) }
    }

    /// Deserializes the typed input of an operation. Field names are the wire names
    /// (`RoleName`, `Filter`, `clusterName`); a missing or malformed field becomes the
    /// protocol's validation error.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        match &self.body {
            InputBody::Form { protocol, tree } => tree.decode::<T>().map_err(|e| decode_error(*protocol, e)),
            InputBody::Json(value) => T::deserialize(value).map_err(|e| {
                let msg = e.to_string();
                match msg.strip_prefix("missing field `") {
                    Some(rest) => ApiError::bad_request(
                        "InvalidParameterException",
                        format!("{} can not be null.", rest.split('`').next().unwrap_or(rest)),
                    ),
                    None => ApiError::bad_request("SerializationException", msg),
                }
            }),
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn decode_error(protocol: Protocol, err: DecodeError) -> ApiError {
    match (protocol, err) {
        (Protocol::Ec2Query, DecodeError::Missing(field)) => ApiError::bad_request(
            "MissingParameter",
            format!("The request must contain the parameter {field}"),
        ),
        (Protocol::Ec2Query, DecodeError::Invalid { field, message }) => ApiError::bad_request(
            "InvalidParameterValue",
            format!("Value for parameter {field} is invalid: {message}"),
        ),
        (_, DecodeError::Missing(field)) => ApiError::bad_request(
            "ValidationError",
            format!(
                "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                lower_first(&field)
            ),
        ),
        (_, DecodeError::Invalid { field, message }) => ApiError::bad_request(
            "ValidationError",
            format!(
                "1 validation error detected: Value at '{}' failed to satisfy constraint: {message}",
                lower_first(&field)
            ),
        ),
        (Protocol::Ec2Query, e @ DecodeError::Conflict(_)) => {
            ApiError::bad_request("InvalidParameterCombination", e.to_string())
        }
        (_, e @ DecodeError::Conflict(_)) => ApiError::bad_request("MalformedQueryString", e.to_string()),
    }
}

/// Serializes an operation's output for the protocol layer.
pub fn reply<T: Serialize>(output: T) -> Result<Value, ApiError> {
    serde_json::to_value(output)
        .map_err(|e| ApiError::internal(format!("could not encode the response: {e}")))
}

/// Declares a service's closed set of operations: an enum with `from_name`, `name` and `ALL`.
#[macro_export]
macro_rules! operations {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($op:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name { $($op),* }

        impl $name {
            /// Every operation berth implements for this service, in declaration order.
            pub const ALL: &'static [&'static str] = &[$(stringify!($op)),*];

            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($op) => Some(Self::$op),)*
                    _ => None,
                }
            }

            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$op => stringify!($op),)*
                }
            }
        }
    };
}

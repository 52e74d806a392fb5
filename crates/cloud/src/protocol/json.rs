//! The awsJson1.1 protocol (ECS, CloudWatch Logs): `POST /` with
//! `X-Amz-Target: <Prefix>.<Operation>` and a JSON body; responses are JSON objects.

use serde_json::Value;

/// Parses a request body; an empty body is an empty object.
pub fn parse_body(body: &[u8]) -> Result<Value, serde_json::Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(body)
}

/// Serializes an output; an operation without output answers `{}`.
pub fn encode(result: &Value) -> String {
    if result.is_null() { "{}".to_string() } else { result.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_bodies_are_empty_objects_and_garbage_is_an_error() {
        assert_eq!(parse_body(b"").unwrap(), serde_json::json!({}));
        assert_eq!(parse_body(b"  \n").unwrap(), serde_json::json!({}));
        assert!(parse_body(b"{\"clusterName\":").is_err());
        assert_eq!(encode(&Value::Null), "{}");
    }
}

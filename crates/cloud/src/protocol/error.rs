//! Each protocol's error document.
//!
//! - awsQuery: `<ErrorResponse xmlns=..><Error><Type>Sender</Type><Code>..</Code><Message>..</Message></Error><RequestId>..</RequestId></ErrorResponse>`
//! - ec2Query: `<Response><Errors><Error><Code>..</Code><Message>..</Message></Error></Errors><RequestID>..</RequestID></Response>`
//! - awsJson1.1: `{"__type": "..", "message": ".."}`

use quick_xml::escape::partial_escape as escape;

use super::Protocol;
use crate::api::ApiError;

/// The body and content type of an error response.
pub fn encode(
    protocol: Protocol,
    namespace: &str,
    err: &ApiError,
    request_id: &str,
) -> (&'static str, String) {
    match protocol {
        Protocol::Query => (
            "text/xml",
            format!(
                "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
                if err.sender_fault { "Sender" } else { "Receiver" },
                escape(err.code.as_ref()),
                escape(err.message.as_str()),
                escape(request_id),
            ),
        ),
        Protocol::Ec2Query => (
            "text/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{}</RequestID></Response>",
                escape(err.code.as_ref()),
                escape(err.message.as_str()),
                escape(request_id),
            ),
        ),
        Protocol::Json11 => (
            "application/x-amz-json-1.1",
            serde_json::json!({"__type": err.code, "message": err.message}).to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_error_matches_the_iam_no_such_entity_sample() {
        // tftrace-samples/33_iam_AttachRolePolicy_404_moto_default.txt, without moto's extra <message>.
        let err = ApiError::new(
            "NoSuchEntity",
            404,
            "Policy arn:aws:iam::aws:policy/x does not exist or is not attachable.",
        );
        let (ct, body) = encode(Protocol::Query, "https://iam.amazonaws.com/doc/2010-05-08/", &err, "rid");
        assert_eq!(ct, "text/xml");
        assert_eq!(
            body,
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>\
             <Code>NoSuchEntity</Code><Message>Policy arn:aws:iam::aws:policy/x does not exist or is not attachable.</Message>\
             </Error><RequestId>rid</RequestId></ErrorResponse>"
        );
    }

    #[test]
    fn ec2_and_json_error_shapes() {
        let err = ApiError::new("InvalidVpcID.NotFound", 400, "The vpc ID 'vpc-1' does not exist");
        let (_, body) = encode(Protocol::Ec2Query, "", &err, "r");
        assert!(body.contains("<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code><Message>The vpc ID 'vpc-1' does not exist</Message></Error></Errors><RequestID>r</RequestID></Response>"), "{body}");
        let err = ApiError::new("ClusterNotFoundException", 400, "Cluster not found.");
        let (ct, body) = encode(Protocol::Json11, "", &err, "r");
        assert_eq!(ct, "application/x-amz-json-1.1");
        assert_eq!(body, r#"{"__type":"ClusterNotFoundException","message":"Cluster not found."}"#);
    }
}

//! XML response documents of the query protocols.
//!
//! A service's output is a `serde_json::Value` whose object keys are already the XML element names
//! (`RoleName`, `vpcSet`). This module adds the envelope and spells lists: every array element is
//! wrapped in `<member>` (awsQuery) or `<item>` (ec2Query). `null` fields are left out.

use std::fmt::Write as _;

use quick_xml::escape::partial_escape as escape;
use serde_json::Value;

use super::Protocol;

/// `<{op}Response xmlns=..><{op}Result>..</{op}Result><ResponseMetadata>..</ResponseMetadata></{op}Response>`.
///
/// A `null` result (an operation without output) has no `Result` element, like IAM's
/// `AttachRolePolicyResponse`.
pub fn query_response(op: &str, namespace: &str, request_id: &str, result: &Value) -> String {
    let mut out = String::with_capacity(512);
    let _ = write!(out, "<{op}Response xmlns=\"{namespace}\">");
    if !result.is_null() {
        element(&mut out, &format!("{op}Result"), result, Protocol::Query);
    }
    let _ = write!(
        out,
        "<ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{op}Response>",
        escape(request_id)
    );
    out
}

/// `<{op}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>..</requestId>..</{op}Response>`.
pub fn ec2_response(op: &str, namespace: &str, request_id: &str, result: &Value) -> String {
    let mut out = String::with_capacity(512);
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{op}Response xmlns=\"{namespace}\"><requestId>{}</requestId>",
        escape(request_id)
    );
    if let Value::Object(fields) = result {
        for (name, value) in fields {
            element(&mut out, name, value, Protocol::Ec2Query);
        }
    }
    let _ = write!(out, "</{op}Response>");
    out
}

/// Writes `<name>value</name>`; `null` writes nothing.
pub fn element(out: &mut String, name: &str, value: &Value, protocol: Protocol) {
    match value {
        Value::Null => {}
        Value::Bool(b) => {
            let _ = write!(out, "<{name}>{b}</{name}>");
        }
        Value::Number(n) => {
            let _ = write!(out, "<{name}>{n}</{name}>");
        }
        Value::String(s) => {
            let _ = write!(out, "<{name}>{}</{name}>", escape(s.as_str()));
        }
        Value::Array(items) => {
            if items.is_empty() {
                let _ = write!(out, "<{name}/>");
                return;
            }
            let _ = write!(out, "<{name}>");
            let tag = protocol.list_item_tag();
            for item in items {
                element(out, tag, item, protocol);
            }
            let _ = write!(out, "</{name}>");
        }
        Value::Object(fields) => {
            if fields.values().all(Value::is_null) {
                let _ = write!(out, "<{name}/>");
                return;
            }
            let _ = write!(out, "<{name}>");
            for (child, v) in fields {
                element(out, child, v, protocol);
            }
            let _ = write!(out, "</{name}>");
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const IAM: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

    #[test]
    fn query_lists_use_member_and_empty_lists_self_close() {
        // Shape of tftrace-samples/32_iam_AttachRolePolicy_ok.txt (ListAttachedRolePolicies).
        let result = json!({
            "AttachedPolicies": [{
                "PolicyName": "AmazonECSTaskExecutionRolePolicy",
                "PolicyArn": "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
            }],
            "IsTruncated": false
        });
        let xml = query_response("ListAttachedRolePolicies", IAM, "rid", &result);
        assert_eq!(
            xml,
            "<ListAttachedRolePoliciesResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <ListAttachedRolePoliciesResult><AttachedPolicies><member>\
             <PolicyName>AmazonECSTaskExecutionRolePolicy</PolicyName>\
             <PolicyArn>arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy</PolicyArn>\
             </member></AttachedPolicies><IsTruncated>false</IsTruncated></ListAttachedRolePoliciesResult>\
             <ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></ListAttachedRolePoliciesResponse>"
        );
        let empty =
            query_response("ListRolePolicies", IAM, "r", &json!({"PolicyNames": [], "IsTruncated": false}));
        assert!(empty.contains("<PolicyNames/><IsTruncated>false</IsTruncated>"), "{empty}");
    }

    #[test]
    fn operations_without_output_have_no_result_element() {
        let xml = query_response("AttachRolePolicy", IAM, "r", &Value::Null);
        assert_eq!(
            xml,
            "<AttachRolePolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AttachRolePolicyResponse>"
        );
    }

    #[test]
    fn ec2_lists_use_item_and_text_is_escaped() {
        let result = json!({"vpcSet": [{"vpcId": "vpc-1", "tagSet": [{"key": "Name", "value": "a<b&c"}]}]});
        let xml = ec2_response("DescribeVpcs", "http://ec2.amazonaws.com/doc/2016-11-15/", "r", &result);
        assert!(
            xml.ends_with(
                "<requestId>r</requestId><vpcSet><item><vpcId>vpc-1</vpcId><tagSet><item><key>Name</key>\
             <value>a&lt;b&amp;c</value></item></tagSet></item></vpcSet></DescribeVpcsResponse>"
            ),
            "{xml}"
        );
    }
}

//! The HTTP entry point of the AWS APIs: which service, which operation, which region.
//!
//! The service comes, in order, from the `X-Amz-Target` prefix (JSON protocols), the SigV4
//! credential scope (`Credential=AKID/20261126/us-east-1/iam/aws4_request`), or the query
//! protocol's `Version` parameter. The region comes from the credential scope, else berth's
//! default. Signatures are not verified: any credentials are accepted, as on LocalStack.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::Value;

use crate::api::{ApiError, Input};
use crate::protocol::{self, Protocol, form};
use crate::{Cloud, ec2, ecs, elbv2, iam, ids, sts};

/// Largest request body berth accepts (AWS's own limits are lower for every API berth serves).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The AWS services berth recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceId {
    Sts,
    Iam,
    Ec2,
    Ecs,
    Elbv2,
}

impl ServiceId {
    pub const ALL: [ServiceId; 5] = [Self::Sts, Self::Iam, Self::Ec2, Self::Ecs, Self::Elbv2];

    /// The SigV4 signing name (also used in `berth does not implement <name>:<op>`).
    pub fn signing_name(self) -> &'static str {
        match self {
            Self::Sts => "sts",
            Self::Iam => "iam",
            Self::Ec2 => "ec2",
            Self::Ecs => "ecs",
            Self::Elbv2 => "elasticloadbalancing",
        }
    }

    pub fn protocol(self) -> Protocol {
        match self {
            Self::Sts | Self::Iam | Self::Elbv2 => Protocol::Query,
            Self::Ec2 => Protocol::Ec2Query,
            Self::Ecs => Protocol::Json11,
        }
    }

    /// The XML namespace of responses (query protocols).
    pub fn namespace(self) -> &'static str {
        match self {
            Self::Sts => "https://sts.amazonaws.com/doc/2011-06-15/",
            Self::Iam => "https://iam.amazonaws.com/doc/2010-05-08/",
            Self::Ec2 => "http://ec2.amazonaws.com/doc/2016-11-15/",
            Self::Elbv2 => "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
            Self::Ecs => "",
        }
    }

    /// The operations berth implements for this service.
    pub fn operations(self) -> &'static [&'static str] {
        match self {
            Self::Sts => sts::Operation::ALL,
            Self::Iam => iam::Operation::ALL,
            Self::Ec2 => ec2::Operation::ALL,
            Self::Ecs => ecs::Operation::ALL,
            Self::Elbv2 => elbv2::Operation::ALL,
        }
    }

    fn from_signing_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.signing_name() == name)
    }

    fn from_query_version(version: &str) -> Option<Self> {
        match version {
            "2011-06-15" => Some(Self::Sts),
            "2010-05-08" => Some(Self::Iam),
            "2016-11-15" => Some(Self::Ec2),
            "2015-12-01" => Some(Self::Elbv2),
            _ => None,
        }
    }

    fn from_target_prefix(prefix: &str) -> Option<Self> {
        match prefix {
            "AmazonEC2ContainerServiceV20141113" => Some(Self::Ecs),
            _ => None,
        }
    }
}

/// One identified API call.
#[derive(Debug, Clone)]
pub struct Call {
    pub service: ServiceId,
    pub operation: String,
    pub region: String,
    pub input: Input,
}

/// A request berth could not turn into a call, with the protocol to answer in.
#[derive(Debug)]
pub struct Rejected {
    pub protocol: Protocol,
    pub namespace: &'static str,
    pub error: ApiError,
}

fn reject(protocol: Protocol, namespace: &'static str, error: ApiError) -> Rejected {
    Rejected { protocol, namespace, error }
}

/// The credential scope of a SigV4 `Authorization` header or presigned query: `(region, service)`.
pub fn credential_scope(headers: &HeaderMap, query: Option<&str>) -> Option<(String, String)> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .map(|rest| rest.split([',', ' ']).next().unwrap_or(rest).to_string());
    let credential = from_header.or_else(|| {
        form_urlencoded::parse(query?.as_bytes())
            .find(|(k, _)| k == "X-Amz-Credential")
            .map(|(_, v)| v.into_owned())
    })?;
    // AKID/DATE/REGION/SERVICE/aws4_request
    let parts: Vec<&str> = credential.split('/').collect();
    if parts.len() == 5 && parts[4] == "aws4_request" {
        Some((parts[2].to_string(), parts[3].to_string()))
    } else {
        None
    }
}

/// Identifies the service, operation and region of a request and decodes its body.
pub fn identify(
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
    default_region: &str,
) -> Result<Call, Rejected> {
    let scope = credential_scope(headers, query);
    let region = scope.as_ref().map(|(r, _)| r.clone()).unwrap_or_else(|| default_region.to_string());

    // JSON protocols name the operation in X-Amz-Target.
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let (prefix, operation) = target.split_once('.').unwrap_or((target, ""));
        let service = ServiceId::from_target_prefix(prefix)
            .or_else(|| scope.as_ref().and_then(|(_, s)| ServiceId::from_signing_name(s)));
        let Some(service) = service else {
            let name = scope.map(|(_, s)| s).unwrap_or_else(|| prefix.to_string());
            return Err(reject(Protocol::Json11, "", ApiError::not_implemented(&name, operation)));
        };
        let value = protocol::json::parse_body(body).map_err(|e| {
            reject(
                service.protocol(),
                service.namespace(),
                ApiError::bad_request(
                    "SerializationException",
                    format!("the request body is not valid JSON: {e}"),
                ),
            )
        })?;
        if !value.is_object() {
            return Err(reject(
                service.protocol(),
                service.namespace(),
                ApiError::bad_request("SerializationException", "the request body must be a JSON object"),
            ));
        }
        return Ok(Call { service, operation: operation.to_string(), region, input: Input::json(value) });
    }

    // Query protocols: parameters in the form body (POST) or the URL (GET).
    let mut params: Vec<u8> = Vec::new();
    if let Some(q) = query {
        params.extend_from_slice(q.as_bytes());
    }
    if *method == Method::POST && !body.is_empty() {
        if !params.is_empty() {
            params.push(b'&');
        }
        params.extend_from_slice(body);
    }
    let scoped = scope.as_ref().map(|(_, s)| s.as_str());
    let tree = form::parse(&params);
    let version = tree.as_ref().ok().and_then(|t| t.get_str("Version").map(str::to_string));
    let service = scoped
        .and_then(ServiceId::from_signing_name)
        .or_else(|| version.as_deref().and_then(ServiceId::from_query_version));
    let Some(service) = service else {
        let error = match scoped {
            Some(name) => {
                ApiError::new("NotImplemented", 501, format!("berth does not implement the {name} service"))
            }
            None => ApiError::bad_request(
                "MissingAuthenticationToken",
                "berth could not tell which AWS service this request is for: it has no SigV4 credential scope, X-Amz-Target header or known Version parameter",
            ),
        };
        return Err(reject(Protocol::Query, "", error));
    };
    let protocol = service.protocol();
    let namespace = service.namespace();
    if protocol == Protocol::Json11 {
        return Err(reject(
            protocol,
            namespace,
            ApiError::bad_request("UnknownOperationException", "missing X-Amz-Target header"),
        ));
    }
    let tree = tree.map_err(|e| {
        reject(protocol, namespace, ApiError::bad_request("MalformedQueryString", e.to_string()))
    })?;
    let Some(operation) = tree.get_str("Action").map(str::to_string) else {
        return Err(reject(
            protocol,
            namespace,
            ApiError::bad_request("MissingAction", "The request must contain the parameter Action"),
        ));
    };
    Ok(Call { service, operation, region, input: Input::form(protocol, tree) })
}

/// Runs an identified call against the control plane. Blocking (store transactions).
pub fn dispatch(cloud: &Cloud, call: &Call) -> Result<Value, ApiError> {
    match call.service {
        ServiceId::Sts => sts::handle(cloud, call),
        ServiceId::Iam => iam::handle(cloud, call),
        ServiceId::Ec2 => ec2::handle(cloud, call),
        ServiceId::Ecs => ecs::handle(cloud, call),
        ServiceId::Elbv2 => elbv2::handle(cloud, call),
    }
}

/// Encodes a reply in the call's protocol.
pub fn encode_reply(
    service: ServiceId,
    operation: &str,
    request_id: &str,
    result: &Value,
) -> (&'static str, String) {
    match service.protocol() {
        Protocol::Query => {
            ("text/xml", protocol::xml::query_response(operation, service.namespace(), request_id, result))
        }
        Protocol::Ec2Query => {
            ("text/xml", protocol::xml::ec2_response(operation, service.namespace(), request_id, result))
        }
        Protocol::Json11 => ("application/x-amz-json-1.1", protocol::json::encode(result)),
    }
}

fn respond(status: u16, content_type: &'static str, request_id: &str, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-RequestId", v);
    }
    resp
}

fn error_response(protocol: Protocol, namespace: &str, error: &ApiError, request_id: &str) -> Response {
    let (ct, body) = protocol::error::encode(protocol, namespace, error, request_id);
    respond(error.status, ct, request_id, body)
}

/// The axum handler for every AWS API request.
pub async fn handle(State(cloud): State<Arc<Cloud>>, req: http::Request<Body>) -> Response {
    let started = Instant::now();
    let request_id = ids::uuid();
    let (parts, body) = req.into_parts();
    let body: Bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            let err = ApiError::bad_request(
                "RequestEntityTooLarge",
                format!("could not read the request body: {e}"),
            );
            return error_response(Protocol::Query, "", &err, &request_id);
        }
    };
    let call = match identify(
        &parts.method,
        &parts.headers,
        parts.uri.query(),
        &body,
        &cloud.config.default_region,
    ) {
        Ok(call) => call,
        Err(rejected) => {
            tracing::info!(code = %rejected.error.code, message = %rejected.error.message, "rejected request");
            return error_response(rejected.protocol, rejected.namespace, &rejected.error, &request_id);
        }
    };
    let service = call.service;
    let operation = call.operation.clone();
    let worker_cloud = Arc::clone(&cloud);
    // Store transactions block; keep them off the async workers.
    let result = match tokio::task::spawn_blocking(move || dispatch(&worker_cloud, &call)).await {
        Ok(r) => r,
        Err(join) => {
            tracing::error!(error = %join, service = service.signing_name(), operation, "operation panicked");
            Err(ApiError::internal("berth failed while handling this request"))
        }
    };
    let elapsed = started.elapsed();
    match result {
        Ok(value) => {
            tracing::debug!(service = service.signing_name(), operation, ?elapsed, "ok");
            let (ct, body) = encode_reply(service, &operation, &request_id, &value);
            respond(200, ct, &request_id, body)
        }
        Err(error) => {
            if error.status == 501 {
                tracing::warn!(service = service.signing_name(), operation, "{}", error.message);
            } else if error.status >= 500 {
                tracing::error!(service = service.signing_name(), operation, code = %error.code, "{}", error.message);
            } else {
                tracing::info!(service = service.signing_name(), operation, code = %error.code, "{}", error.message);
            }
            error_response(service.protocol(), service.namespace(), &error, &request_id)
        }
    }
}

/// A router that answers every request with [`handle`]; berth adds its own routes in front.
pub fn router(cloud: Arc<Cloud>) -> Router {
    Router::new().fallback(handle).with_state(cloud)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const STS_AUTH: &str = "AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/sts/aws4_request, SignedHeaders=amz-sdk-invocation-id;host, Signature=x";

    #[test]
    fn identifies_sts_from_the_credential_scope() {
        // tftrace-samples/01_sts_GetCallerIdentity.txt
        let call = identify(
            &Method::POST,
            &headers(&[("authorization", STS_AUTH)]),
            None,
            b"Action=GetCallerIdentity&Version=2011-06-15",
            "eu-west-1",
        )
        .unwrap();
        assert_eq!(call.service, ServiceId::Sts);
        assert_eq!(call.operation, "GetCallerIdentity");
        assert_eq!(call.region, "us-east-1");
    }

    #[test]
    fn identifies_ecs_from_x_amz_target() {
        let call = identify(
            &Method::POST,
            &headers(&[("x-amz-target", "AmazonEC2ContainerServiceV20141113.CreateCluster")]),
            None,
            br#"{"clusterName":"ecs-cluster"}"#,
            "us-east-1",
        )
        .unwrap();
        assert_eq!(call.service, ServiceId::Ecs);
        assert_eq!(call.operation, "CreateCluster");
    }

    #[test]
    fn identifies_query_services_by_version_without_auth() {
        for (version, service) in
            [("2010-05-08", ServiceId::Iam), ("2016-11-15", ServiceId::Ec2), ("2015-12-01", ServiceId::Elbv2)]
        {
            let body = format!("Action=X&Version={version}");
            let call =
                identify(&Method::POST, &HeaderMap::new(), None, body.as_bytes(), "us-west-2").unwrap();
            assert_eq!(call.service, service);
            assert_eq!(call.region, "us-west-2");
        }
    }

    #[test]
    fn malformed_requests_are_rejected_in_their_protocol() {
        let err = identify(&Method::POST, &HeaderMap::new(), None, b"hello", "r").unwrap_err();
        assert_eq!(err.error.status, 400);
        let err = identify(
            &Method::POST,
            &headers(&[("x-amz-target", "AmazonEC2ContainerServiceV20141113.CreateCluster")]),
            None,
            b"{not json",
            "r",
        )
        .unwrap_err();
        assert_eq!((err.protocol, err.error.code.as_ref()), (Protocol::Json11, "SerializationException"));
        let err = identify(
            &Method::POST,
            &headers(&[("authorization", STS_AUTH)]),
            None,
            b"Version=2011-06-15",
            "r",
        )
        .unwrap_err();
        assert_eq!(err.error.code, "MissingAction");
        let s3 = "AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x";
        let err = identify(&Method::POST, &headers(&[("authorization", s3)]), None, b"", "r").unwrap_err();
        assert_eq!(err.error.status, 501);
    }
}

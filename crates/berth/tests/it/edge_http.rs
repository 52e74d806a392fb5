//! The endpoint over raw HTTP: health documents and malformed input. Nothing here needs a tool.

use std::io::{Read, Write};
use std::net::TcpStream;

use testkit::Berth;

fn berth() -> Berth {
    Berth::start(env!("CARGO_BIN_EXE_berth"))
}

/// Sends raw bytes and returns the whole response text.
fn raw(berth: &Berth, request: &[u8]) -> String {
    let addr = berth.endpoint.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn post(berth: &Berth, headers: &str, body: &[u8]) -> String {
    let mut req = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n{headers}\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    raw(berth, &req)
}

const IAM_AUTH: &str = "Authorization: AWS4-HMAC-SHA256 Credential=k/20261126/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Type: application/x-www-form-urlencoded\r\n";
const EC2_AUTH: &str = "Authorization: AWS4-HMAC-SHA256 Credential=k/20261126/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0\r\n";
const ECS_TARGET: &str = "X-Amz-Target: AmazonEC2ContainerServiceV20141113.CreateCluster\r\nContent-Type: application/x-amz-json-1.1\r\n";

#[test]
fn health_documents() {
    let berth = berth();
    let (status, body) = berth.get("/_berth/health");
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["status"], "ok");
    assert!(doc["uptime_seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(doc["services"]["iam"]["status"], "running");
    let (status, body) = berth.get("/_localstack/health");
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["services"]["sts"], "running");
}

#[test]
fn malformed_input_gets_a_400_in_the_protocols_error_shape() {
    let berth = berth();
    // A missing required parameter (awsQuery).
    let r = post(&berth, IAM_AUTH, b"Action=GetRole&Version=2010-05-08");
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    assert!(r.contains("<ErrorResponse") && r.contains("<Code>ValidationError</Code>"), "{r}");
    assert!(r.contains("Value null at 'roleName'"), "{r}");
    assert!(r.to_ascii_lowercase().contains("x-amzn-requestid:"), "{r}");
    // A wrongly typed parameter.
    let r = post(
        &berth,
        IAM_AUTH,
        b"Action=CreateRole&RoleName=x&AssumeRolePolicyDocument=%7B%7D&MaxSessionDuration=lots",
    );
    assert!(r.starts_with("HTTP/1.1 400") && r.contains("ValidationError"), "{r}");
    // Conflicting keys.
    let r = post(&berth, IAM_AUTH, b"Action=GetRole&RoleName=a&RoleName.1=b");
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    // No way to tell the service.
    let r = post(&berth, "", b"hello");
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    // Broken JSON for a JSON service.
    let r = post(&berth, ECS_TARGET, b"{\"clusterName\":");
    assert!(r.starts_with("HTTP/1.1 400") && r.contains("\"__type\":\"SerializationException\""), "{r}");
    let r = post(&berth, ECS_TARGET, b"[1,2,3]");
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    // EC2 errors use the EC2 document.
    let r = post(&berth, EC2_AUTH, b"Action=NoSuchThing&Version=2016-11-15");
    assert!(r.contains("<Response><Errors><Error><Code>"), "{r}");
    // Not HTTP at all: hyper answers 400 and berth keeps serving.
    let r = raw(&berth, b"\x00\x01\x02 garbage\r\n\r\n");
    assert!(r.is_empty() || r.starts_with("HTTP/1.1 400"), "{r}");
    let (status, _) = berth.get("/_berth/health");
    assert_eq!(status, 200, "berth survived all of the above");
}

#[test]
fn random_bodies_never_crash_the_server() {
    let berth = berth();
    // A fixed-seed xorshift so failures reproduce.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let alphabet = b"Action=GetRoleCreateVersion2010-05-08.&member1%=ZZ{}[]\":,";
    for i in 0..200 {
        let len = (next() % 120) as usize;
        let body: Vec<u8> = (0..len).map(|_| alphabet[(next() as usize) % alphabet.len()]).collect();
        let headers = if i % 2 == 0 { IAM_AUTH } else { ECS_TARGET };
        let r = post(&berth, headers, &body);
        let status: u16 = r.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        assert!(
            (200..500).contains(&status) || status == 501,
            "body {:?} gave {r}",
            String::from_utf8_lossy(&body)
        );
    }
    assert_eq!(berth.get("/_berth/health").0, 200);
}

//! ARN formats, in one place.

/// `arn:aws:<service>:<region>:<account>:<resource>`.
pub fn arn(service: &str, region: &str, account: &str, resource: &str) -> String {
    format!("arn:aws:{service}:{region}:{account}:{resource}")
}

/// `arn:aws:iam::<account>:role<path><name>` (the path starts and ends with `/`).
pub fn iam_role(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role{path}{name}")
}

/// `arn:aws:iam::aws:policy<path><name>` for AWS-managed policies, or the account's own.
pub fn iam_policy(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:policy{path}{name}")
}

/// The last `/`-separated segment of an ARN's resource part (`.../service/cluster/name` → `name`).
pub fn last_segment(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The region of an ARN, if it has one.
pub fn region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parts() {
        assert_eq!(
            iam_role("000000000000", "/", "ecs-task-execution-role"),
            "arn:aws:iam::000000000000:role/ecs-task-execution-role"
        );
        let svc = arn("ecs", "us-east-1", "000000000000", "service/ecs-cluster/product-svc");
        assert_eq!(svc, "arn:aws:ecs:us-east-1:000000000000:service/ecs-cluster/product-svc");
        assert_eq!(last_segment(&svc), "product-svc");
        assert_eq!(region(&svc), Some("us-east-1"));
        assert_eq!(region("arn:aws:iam::000000000000:role/x"), None);
    }
}

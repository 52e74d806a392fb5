//! How an address inside a VPC is reached from the host.
//!
//! On AWS a Fargate task owns a private IP such as `10.0.2.17`. On one machine the runtime decides
//! where that task really listens (for the loopback network, `127.0.2.17`). The control plane keeps
//! speaking VPC addresses (that is what DescribeTasks and DescribeTargetHealth show); anything that
//! must open a socket to a task asks an [`AddressMap`].

use std::net::{IpAddr, Ipv4Addr};

/// Maps a VPC-private address to the host address where the same endpoint is reachable.
pub trait AddressMap: Send + Sync + std::fmt::Debug {
    /// The host address serving `vpc_ip`. Must be a pure function of its input.
    fn host_ip(&self, vpc_ip: IpAddr) -> IpAddr;
}

/// The loopback task network: `A.B.C.D` inside a VPC is served on `127.B.C.D`.
///
/// Linux routes all of `127.0.0.0/8` to `lo`, so binding `127.B.C.D` needs no privileges and
/// touches no host route. The mapping drops the first octet, so two VPC addresses that differ only
/// in their first octet share a host address; the control plane's address allocator must never hand
/// out two live task addresses with the same [`loopback_alias`].
#[derive(Debug, Clone, Copy, Default)]
pub struct LoopbackMap;

/// `A.B.C.D` → `127.B.C.D`. IPv6 addresses map to `::1`.
pub fn loopback_alias(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [_, b, c, d] = v4.octets();
            IpAddr::V4(Ipv4Addr::new(127, b, c, d))
        }
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
    }
}

impl AddressMap for LoopbackMap {
    fn host_ip(&self, vpc_ip: IpAddr) -> IpAddr {
        loopback_alias(vpc_ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_alias_keeps_the_last_three_octets() {
        let ip: IpAddr = "10.0.2.17".parse().unwrap();
        assert_eq!(loopback_alias(ip), "127.0.2.17".parse::<IpAddr>().unwrap());
        let ip: IpAddr = "172.31.5.6".parse().unwrap();
        assert_eq!(LoopbackMap.host_ip(ip), "127.31.5.6".parse::<IpAddr>().unwrap());
    }
}

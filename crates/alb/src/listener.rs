//! Listening sockets: one per distinct listener port of the current table, opened and closed as
//! snapshots add and remove ports, and the published [`ListenerBinding`]s saying where each one
//! really listens.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

use crate::compiled::Table;
use crate::error::AlbError;
use crate::proxy::{Shared, serve_connection};
use crate::{AlbConfig, PortMapping};

/// Where one listener port is really served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListenerBinding {
    /// The listener port as the API shows it (80 in the seed).
    pub port: u16,
    /// The address berth actually listens on for it.
    pub addr: SocketAddr,
    /// The load balancers served there; with several, the Host header picks one.
    pub load_balancers: Vec<BoundLoadBalancer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoundLoadBalancer {
    pub arn: String,
    pub dns_name: String,
}

/// An open listening socket; dropping it stops accepting on every worker (open connections
/// finish).
struct Open {
    addr: SocketAddr,
    _stops: Vec<oneshot::Sender<()>>,
}

/// The set of open listening sockets.
pub(crate) struct Listeners {
    config: AlbConfig,
    shared: Arc<Shared>,
    conn_shutdown: watch::Receiver<bool>,
    /// The worker runtimes accepting on every socket; empty: the caller's runtime does.
    workers: Vec<tokio::runtime::Handle>,
    open: BTreeMap<u16, Open>,
}

impl Listeners {
    pub fn new(
        config: AlbConfig,
        shared: Arc<Shared>,
        conn_shutdown: watch::Receiver<bool>,
        workers: Vec<tokio::runtime::Handle>,
    ) -> Self {
        Self { config, shared, conn_shutdown, workers, open: BTreeMap::new() }
    }

    /// Opens the ports `table` has and this set does not, closes the others. With `strict`, the
    /// first port that cannot be bound is returned as an error; otherwise it is logged and skipped
    /// (a later snapshot retries it).
    pub fn apply(&mut self, table: &Table, strict: bool) -> Result<(), AlbError> {
        self.open.retain(|port, open| {
            let keep = table.port(*port).is_some();
            if !keep {
                tracing::info!(port, addr = %open.addr, "listener closed");
            }
            keep
        });
        for routes in &table.ports {
            if self.open.contains_key(&routes.port) {
                continue;
            }
            match self.bind(routes.port) {
                Ok(listener) => {
                    let addr =
                        listener.local_addr().unwrap_or_else(|_| SocketAddr::new(self.config.bind_ip, 0));
                    tracing::info!(port = routes.port, %addr, workers = self.workers.len(), "listener open");
                    let mut stops = Vec::new();
                    let mut spawn =
                        |listener: std::net::TcpListener, runtime: Option<&tokio::runtime::Handle>| {
                            let (stop_tx, stop_rx) = oneshot::channel();
                            let task = accept_loop(
                                listener,
                                routes.port,
                                self.shared.clone(),
                                stop_rx,
                                self.conn_shutdown.clone(),
                            );
                            match runtime {
                                Some(runtime) => drop(runtime.spawn(task)),
                                None => drop(tokio::spawn(task)),
                            }
                            stops.push(stop_tx);
                        };
                    if self.workers.is_empty() {
                        spawn(listener, None);
                    } else {
                        // Every worker accepts on its own copy of the socket (one file description:
                        // the kernel hands each connection to one of them).
                        for runtime in &self.workers {
                            match listener.try_clone() {
                                Ok(copy) => spawn(copy, Some(runtime)),
                                Err(e) => {
                                    tracing::error!(port = routes.port, error = %e, "socket not shared")
                                }
                            }
                        }
                    }
                    self.open.insert(routes.port, Open { addr, _stops: stops });
                }
                Err(e) if strict => return Err(e),
                Err(e) => tracing::error!(error = %e, "listener not opened"),
            }
        }
        Ok(())
    }

    fn bind(&self, port: u16) -> Result<std::net::TcpListener, AlbError> {
        let ip = self.config.bind_ip;
        let exact = |port: u16| {
            let addr = SocketAddr::new(ip, port);
            bind_now(addr).map_err(|source| AlbError::Bind { port, addr, source })
        };
        match self.config.ports {
            PortMapping::Exact => exact(port),
            PortMapping::Ephemeral => exact(0).map_err(|e| with_port(e, port)),
            PortMapping::Offset(offset) => match port.checked_add(offset) {
                Some(mapped) => exact(mapped).map_err(|e| with_port(e, port)),
                None => Err(AlbError::PortOverflow { port, offset }),
            },
            PortMapping::PreferExact => exact(port).or_else(|e| {
                tracing::warn!(error = %e, "listener port taken or privileged; using an ephemeral port");
                exact(0).map_err(|e| with_port(e, port))
            }),
        }
    }

    pub fn bindings(&self, table: &Table) -> Vec<ListenerBinding> {
        self.open
            .iter()
            .map(|(&port, open)| ListenerBinding {
                port,
                addr: open.addr,
                load_balancers: table
                    .port(port)
                    .map(|routes| {
                        routes
                            .lbs
                            .iter()
                            .map(|lb| BoundLoadBalancer {
                                arn: lb.arn.clone(),
                                dns_name: lb.dns_name.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// Stops accepting on every port.
    pub fn close_all(&mut self) {
        self.open.clear();
    }
}

fn with_port(e: AlbError, listener_port: u16) -> AlbError {
    match e {
        AlbError::Bind { addr, source, .. } => AlbError::Bind { port: listener_port, addr, source },
        other => other,
    }
}

/// Binds synchronously (so a snapshot's ports are open, or have failed, before `apply` returns).
fn bind_now(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let std_listener = std::net::TcpListener::bind(addr)?;
    std_listener.set_nonblocking(true)?;
    Ok(std_listener)
}

/// Accepts on `listener` (registered with the runtime this runs on) until stopped.
async fn accept_loop(
    listener: std::net::TcpListener,
    port: u16,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
    conn_shutdown: watch::Receiver<bool>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(port, error = %e, "listener not registered");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tokio::spawn(serve_connection(stream, peer, port, shared.clone(), conn_shutdown.clone()));
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(port, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
        }
    }
}

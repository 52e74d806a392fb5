//! State the control plane holds in memory rather than in the store: what the data plane and the
//! runtime observe right now. It is rebuilt after a restart (targets start `initial` again, tasks
//! are reconciled), which is why it is not persisted.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use model::health::{TargetHealth, TargetKey};
use model::routing::RoutingSnapshot;
use tokio::sync::watch;

/// The live, non-persistent half of the control plane.
#[derive(Debug)]
pub struct Live {
    /// Target health as the data plane last reported it (`DescribeTargetHealth` reads it).
    ///
    /// A `std::sync::RwLock`: it is only held for a map lookup or insert, never across `.await`.
    pub target_health: RwLock<HashMap<TargetKey, TargetHealth>>,
    /// The routing snapshot published to the data plane.
    pub routing: watch::Sender<Arc<RoutingSnapshot>>,
}

impl Default for Live {
    fn default() -> Self {
        let (routing, _) = watch::channel(Arc::new(RoutingSnapshot::default()));
        Self { target_health: RwLock::new(HashMap::new()), routing }
    }
}

impl Live {
    /// The last reported health of a registration, if the data plane has reported one.
    pub fn health_of(&self, key: &TargetKey) -> Option<TargetHealth> {
        self.target_health.read().ok().and_then(|m| m.get(key).cloned())
    }

    /// Records a report from the data plane.
    pub fn record_health(&self, key: TargetKey, health: TargetHealth) {
        if let Ok(mut m) = self.target_health.write() {
            m.insert(key, health);
        }
    }

    /// A receiver of routing snapshots for the data plane.
    pub fn subscribe_routing(&self) -> watch::Receiver<Arc<RoutingSnapshot>> {
        self.routing.subscribe()
    }
}

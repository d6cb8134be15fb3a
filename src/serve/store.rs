//! What the watches hold: each watched object's facts, under its name, one
//! shard per (resource, scope). A change replaces one entry; an evaluation
//! assembles from the shards the same [`Inventory`] a `check` would have
//! listed, so both are judged by one path.
//!
//! Objects are kept as facts, not as JSON: a pod is its `PodFact`, an event
//! the sieve drops is not kept at all, so memory follows `check`'s.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;

use crate::facts::shared::name::Name;
use crate::facts::{CollectionGap, EventFact, Inventory, PodFact};

/// A (resource, scope) pair: "pods.", Some("ml-team").
pub type ShardKey = (String, Option<String>);

/// One object's facts.
enum Fragment {
    Pod(Box<PodFact>),
    Event(Box<EventFact>),
    /// Any other kind: its facts as decoded (few objects: nodes, claims,
    /// RBAC, Polyaxon's own resources).
    Other(Box<Inventory>),
    /// An object that did not decode: a collection gap in its place, so a
    /// run whose pod cannot be read is not silently gone. The next change
    /// to the object, or its deletion, replaces it.
    Undecodable(Box<CollectionGap>),
}

impl Fragment {
    /// The facts one decoded object gave; None when there is nothing to
    /// keep (an event the sieve let go, a pod that is not one).
    fn of(kind: &str, mut decoded: Inventory) -> Option<Fragment> {
        match kind {
            "Pod" => decoded.pods.pop().map(|pod| Fragment::Pod(Box::new(pod))),
            "Event" => decoded
                .events
                .pop()
                .map(|event| Fragment::Event(Box::new(event))),
            _ => Some(Fragment::Other(Box::new(decoded))),
        }
    }

    fn add_to(&self, inventory: &mut Inventory) {
        match self {
            Fragment::Pod(pod) => inventory.pods.push((**pod).clone()),
            Fragment::Event(event) => inventory.events.push((**event).clone()),
            Fragment::Other(decoded) => {
                let mut decoded = (**decoded).clone();
                // Each shard says whether its kind was seen.
                decoded.kinds_seen.clear();
                inventory.merge(decoded);
            }
            Fragment::Undecodable(gap) => inventory.gaps.push((**gap).clone()),
        }
    }
}

/// An object's "namespace/name" as 128 bits: at 100k pods the names as
/// strings were some 10 MiB of the stores (bench/serve.sh, large); two
/// names share a key with a chance of about 1 in 10^28.
type ObjectKey = u128;

#[derive(Default)]
struct Shard {
    kind: &'static str,
    objects: HashMap<ObjectKey, Fragment>,
    /// While a (re)list runs: what it delivered so far. The objects above
    /// stay current until it is done, so a relist leaves no gap.
    relisting: Option<HashMap<ObjectKey, Fragment>>,
    synced: bool,
    /// Namespaces of every event seen, kept or not (as `check` counts them).
    event_namespaces: BTreeSet<Name>,
    /// Why the shard could not be read, while it cannot.
    gap: Option<CollectionGap>,
}

/// What `serve` reads besides the watches, once per probe interval.
#[derive(Default, Clone)]
pub struct Probed {
    /// The store's Secret, the failing containers' logs, and the gaps in
    /// reading them.
    pub extras: Inventory,
    pub probes: Option<Vec<crate::facts::artifacts::probe::ProbeStep>>,
    pub polyaxon_api: Option<crate::facts::artifacts::polyaxon_api::ApiProbe>,
    pub done: bool,
}

/// Every shard, and what the probes found.
#[derive(Default)]
pub struct Stores {
    shards: BTreeMap<ShardKey, Shard>,
    /// Two independent hashes make an [`ObjectKey`].
    keys: (RandomState, RandomState),
    pub crds: Option<BTreeSet<String>>,
    /// The namespaces watched; None with -A.
    pub scope: Option<BTreeSet<String>>,
    pub probed: Probed,
}

impl Stores {
    /// Declares a shard before its watch starts: an evaluation waits for it
    /// (see [`Stores::settled`]).
    pub fn expect(&mut self, key: ShardKey, kind: &'static str) {
        self.shards.entry(key).or_default().kind = kind;
    }

    /// A shard that will never be read (the caller may not list it).
    pub fn refuse(&mut self, key: ShardKey, kind: &'static str, gap: CollectionGap) {
        let shard = self.shards.entry(key).or_default();
        shard.kind = kind;
        shard.gap = Some(gap);
    }

    /// A (re)list starts: what follows replaces the shard when it is done.
    pub fn begin_list(&mut self, key: &ShardKey) {
        if let Some(shard) = self.shards.get_mut(key) {
            shard.relisting = Some(HashMap::new());
        }
    }

    fn object_key(&self, name: &str) -> ObjectKey {
        (u128::from(self.keys.0.hash_one(name)) << 64) | u128::from(self.keys.1.hash_one(name))
    }

    /// An object, listed or changed, by its "namespace/name": its facts,
    /// or why it did not decode.
    pub fn apply(&mut self, key: &ShardKey, name: &str, decoded: Result<Inventory, CollectionGap>) {
        let name = self.object_key(name);
        let Some(shard) = self.shards.get_mut(key) else {
            return;
        };
        let fragment = match decoded {
            Ok(decoded) => {
                for namespace in &decoded.event_namespaces {
                    if !shard.event_namespaces.contains(&**namespace) {
                        shard.event_namespaces.insert(namespace.clone());
                    }
                }
                Fragment::of(shard.kind, decoded)
            }
            Err(gap) => Some(Fragment::Undecodable(Box::new(gap))),
        };
        let target = shard.relisting.as_mut().unwrap_or(&mut shard.objects);
        match fragment {
            Some(fragment) => {
                target.insert(name, fragment);
            }
            None => {
                target.remove(&name);
            }
        }
    }

    pub fn delete(&mut self, key: &ShardKey, name: &str) {
        let name = self.object_key(name);
        if let Some(shard) = self.shards.get_mut(key) {
            shard.objects.remove(&name);
            if let Some(relisting) = &mut shard.relisting {
                relisting.remove(&name);
            }
        }
    }

    /// A (re)list is complete: its objects are the shard's.
    pub fn end_list(&mut self, key: &ShardKey) {
        if let Some(shard) = self.shards.get_mut(key) {
            if let Some(listed) = shard.relisting.take() {
                shard.objects = listed;
            }
            shard.synced = true;
            shard.gap = None;
        }
    }

    /// The shard could not be read: a gap while it has never been read or
    /// the caller may not read it any more; a passing failure of a shard
    /// already read keeps what it holds.
    pub fn failed(&mut self, key: &ShardKey, gap: CollectionGap) {
        if let Some(shard) = self.shards.get_mut(key)
            && (!shard.synced || gap.reason == "forbidden")
        {
            shard.gap = Some(gap);
        }
    }

    /// Whether every shard was read once or failed: the first evaluation
    /// waits for this, so it does not report a half-read cluster.
    pub fn settled(&self) -> bool {
        self.shards
            .values()
            .all(|shard| shard.synced || shard.gap.is_some())
    }

    /// The shards still waited for, as "pods in ml-team" (for /readyz).
    pub fn waiting(&self) -> Vec<String> {
        self.shards
            .iter()
            .filter(|(_, shard)| !shard.synced && shard.gap.is_none())
            .map(|((resource, scope), _)| match scope {
                Some(namespace) => format!("{resource} in {namespace}"),
                None => resource.clone(),
            })
            .collect()
    }

    /// What `check` would have collected, from what the watches hold now.
    pub fn inventory(&self) -> Inventory {
        let mut inventory = Inventory {
            polyaxon_crds: self.crds.clone(),
            ..Inventory::default()
        };
        let pods: usize = self
            .shards
            .values()
            .filter(|shard| shard.kind == "Pod")
            .map(|shard| shard.objects.len())
            .sum();
        inventory.pods.reserve_exact(pods);
        for shard in self.shards.values() {
            if shard.synced {
                inventory.kinds_seen.insert(shard.kind.to_string());
            }
            if let Some(gap) = &shard.gap {
                inventory.gaps.push(gap.clone());
            }
            inventory
                .event_namespaces
                .extend(shard.event_namespaces.iter().cloned());
            for fragment in shard.objects.values() {
                fragment.add_to(&mut inventory);
            }
        }
        inventory.merge(self.probed.extras.clone());
        inventory.probes = self.probed.probes.clone().unwrap_or_default();
        inventory.polyaxon_api = self.probed.polyaxon_api.clone();
        // Set after the merges, which would widen it.
        inventory.scope = self.scope.clone();
        inventory
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::objects::read_object;

    fn pod(name: &str, phase: &str) -> Inventory {
        let mut decoded = Inventory::default();
        let json = format!(
            r#"{{"metadata":{{"name":"{name}","namespace":"ml"}},"spec":{{"containers":[{{"name":"main"}}]}},"status":{{"phase":"{phase}"}}}}"#
        );
        read_object("Pod", "v1", &json, &mut decoded).unwrap();
        decoded
    }

    fn phases(stores: &Stores) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = stores
            .inventory()
            .pods
            .iter()
            .map(|p| (p.name.clone(), p.phase.clone()))
            .collect();
        found.sort();
        found
    }

    #[test]
    fn objects_are_replaced_and_deleted_by_name_and_a_relist_leaves_no_gap() {
        let key: ShardKey = ("pods.".into(), None);
        let mut stores = Stores::default();
        stores.expect(key.clone(), "Pod");
        assert!(!stores.settled());
        stores.begin_list(&key);
        stores.apply(&key, "ml/a", Ok(pod("a", "Pending")));
        stores.apply(&key, "ml/b", Ok(pod("b", "Running")));
        // Not yet listed whole: nothing is judged from a half list.
        assert!(phases(&stores).is_empty());
        stores.end_list(&key);
        assert!(stores.settled());
        assert_eq!(phases(&stores).len(), 2);

        stores.apply(&key, "ml/a", Ok(pod("a", "Running")));
        stores.delete(&key, "ml/b");
        let now = phases(&stores);
        assert_eq!(now.len(), 1);
        assert_eq!(now[0].0, "a");
        assert_eq!(now[0].1, "Running");

        // A relist: the old objects stay until it is done, then only what
        // it listed is left.
        stores.begin_list(&key);
        stores.apply(&key, "ml/c", Ok(pod("c", "Pending")));
        assert_eq!(phases(&stores)[0].0, "a");
        stores.end_list(&key);
        let relisted = phases(&stores);
        assert_eq!(relisted.len(), 1);
        assert_eq!(relisted[0].0, "c");
    }
}

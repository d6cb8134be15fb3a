//! One watch per (resource, scope), with kube-runtime's watcher: it lists
//! page by page, watches from the list's resourceVersion, lists again on
//! 410 Gone and backs off on errors. Each object is decoded by the same code
//! as a `check`'s list pages, sieved the same way, and kept in the stores.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use kube::api::Api;
use kube::core::ApiResource;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::sync::Notify;

use super::metrics::Metrics;
use super::raw::RawObject;
use super::store::{ShardKey, Stores};
use crate::facts::inventory::sieve::Sieve;
use crate::facts::{CollectionGap, Inventory};
use crate::source::objects;
use crate::source::resources::Resource;

/// What every watch shares.
#[derive(Clone)]
pub struct Shared {
    pub client: kube::Client,
    pub stores: Arc<Mutex<Stores>>,
    pub changed: Arc<Notify>,
    pub metrics: Arc<Metrics>,
    pub sieve: Sieve,
    pub page_size: u32,
    pub verbose: bool,
}

/// The key a resource's shard has in the stores.
pub fn shard_key(resource: &Resource, scope: &Option<String>) -> ShardKey {
    (resource.full_name(), scope.clone())
}

/// Watches `resource` in `scope` until the process ends.
pub async fn watch(shared: Shared, resource: &'static Resource, scope: Option<String>) {
    let api_version = if resource.group.is_empty() {
        resource.version.to_string()
    } else {
        format!("{}/{}", resource.group, resource.version)
    };
    let described = ApiResource {
        group: resource.group.to_string(),
        version: resource.version.to_string(),
        api_version: api_version.clone(),
        kind: resource.kind.to_string(),
        plural: resource.plural.to_string(),
    };
    let api: Api<RawObject> = match &scope {
        Some(namespace) => Api::namespaced_with(shared.client.clone(), namespace, &described),
        None => Api::all_with(shared.client.clone(), &described),
    };
    let config = watcher::Config::default().page_size(shared.page_size);
    let key = shard_key(resource, &scope);
    shared.metrics.watching(&resource.full_name());
    let mut stream = watcher::watcher(api, config).default_backoff().boxed();
    while let Some(item) = stream.next().await {
        match item {
            Ok(Event::Init) => lock(&shared.stores).begin_list(&key),
            Ok(Event::InitApply(object)) | Ok(Event::Apply(object)) => {
                let (name, decoded) =
                    decode(resource, &scope, &api_version, &object, &shared.sieve);
                lock(&shared.stores).apply(&key, &name, decoded);
                shared.changed.notify_one();
            }
            Ok(Event::Delete(object)) => {
                lock(&shared.stores).delete(&key, &object_name(&object));
                shared.changed.notify_one();
            }
            Ok(Event::InitDone) => {
                lock(&shared.stores).end_list(&key);
                if shared.verbose {
                    crate::sink::err(&format!(
                        "pxdoctor: watching {} {}",
                        resource.plural,
                        scope_words(&scope)
                    ));
                }
                shared.changed.notify_one();
            }
            Err(error) => {
                shared.metrics.watch_error(&resource.full_name());
                let gap = gap(resource, &scope, &error);
                if shared.verbose {
                    crate::sink::err(&format!("pxdoctor: watch: {}", gap.message));
                }
                lock(&shared.stores).failed(&key, gap);
                shared.changed.notify_one();
            }
        }
    }
}

/// The stores' lock; a panic elsewhere does not make the data unusable.
pub fn lock(stores: &Mutex<Stores>) -> std::sync::MutexGuard<'_, Stores> {
    stores
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn object_name(object: &RawObject) -> String {
    format!(
        "{}/{}",
        object.metadata.namespace.as_deref().unwrap_or(""),
        object.metadata.name.as_deref().unwrap_or("")
    )
}

/// One object's facts, decoded as a list item is. One that does not decode
/// is a collection gap naming it and the field (check stops at such an
/// object, exit 2; serve goes on, and says it on stderr too).
fn decode(
    resource: &Resource,
    scope: &Option<String>,
    api_version: &str,
    object: &RawObject,
    sieve: &Sieve,
) -> (String, Result<Inventory, CollectionGap>) {
    let name = object_name(object);
    let mut decoded = Inventory::sieved(sieve.clone());
    let outcome = objects::read_object(resource.kind, api_version, &object.json, &mut decoded)
        .map(|()| decoded)
        .map_err(|problem| {
            let message = crate::redact::redact_line(&format!(
                "{} {} does not decode: {problem}",
                resource.kind,
                name.trim_start_matches('/')
            ));
            crate::sink::err(&format!("pxdoctor: watch: {message}"));
            CollectionGap {
                verb: "decode".into(),
                resource: resource.plural.into(),
                group: resource.group.into(),
                namespace: scope.clone().filter(|_| resource.namespaced),
                reason: "undecodable".into(),
                message,
                skipped_checks: resource.needed_for.into(),
            }
        });
    (name, outcome)
}

fn scope_words(scope: &Option<String>) -> String {
    match scope {
        Some(namespace) => format!("in {namespace}"),
        None => "in all namespaces".into(),
    }
}

/// A watch's failure, as the collection gap `check` would have recorded.
fn gap(resource: &Resource, scope: &Option<String>, error: &watcher::Error) -> CollectionGap {
    let status = match error {
        watcher::Error::InitialListFailed(kube::Error::Api(status))
        | watcher::Error::WatchStartFailed(kube::Error::Api(status))
        | watcher::Error::WatchFailed(kube::Error::Api(status)) => Some(status.as_ref()),
        watcher::Error::WatchError(status) => Some(status.as_ref()),
        _ => None,
    };
    let code = status.map(|status| status.code);
    let reason = match code {
        Some(401 | 403) => "forbidden",
        _ => "error",
    };
    let message = match status {
        Some(status) if !status.message.is_empty() => {
            format!("{} ({})", status.message, status.code)
        }
        _ => error.to_string(),
    };
    let verb = match error {
        watcher::Error::InitialListFailed(_) => "list",
        _ => "watch",
    };
    CollectionGap {
        verb: verb.into(),
        resource: resource.plural.into(),
        group: resource.group.into(),
        namespace: scope.clone().filter(|_| resource.namespaced),
        reason: reason.into(),
        message: crate::redact::redact_line(&message),
        skipped_checks: resource.needed_for.into(),
    }
}

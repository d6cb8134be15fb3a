//! A watched object as the API server sent it: its JSON text, copied as it
//! is read, and the few metadata fields the watcher itself reads. Facts are
//! decoded from that text, as `check` decodes a list page. Through
//! `DynamicObject` every object was first a tree of values, then text
//! again, then facts: the tree's many small allocations, freed at once
//! between the facts kept, left the heap fragmented (bench/serve.sh: 58 MiB
//! free but held after the first list of 20k pods).
//!
//! The text is transcoded, not borrowed as a `RawValue`: a watch event whose
//! `object` comes before its `type` is buffered by serde before the object
//! is read, and a `RawValue` cannot be read from that buffer.

use std::borrow::Cow;

use kube::core::{ApiResource, DynamicResourceScope, ObjectMeta, Resource};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

#[derive(Clone, Debug)]
pub struct RawObject {
    /// Name, namespace, uid and resourceVersion only.
    pub metadata: ObjectMeta,
    pub json: String,
}

/// The metadata fields kept, read without building the rest.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Meta {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
}

#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    metadata: Meta,
}

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut text = Vec::with_capacity(4096);
        serde_transcode::transcode(deserializer, &mut serde_json::Serializer::new(&mut text))
            .map_err(D::Error::custom)?;
        let json = String::from_utf8(text).map_err(D::Error::custom)?;
        let Head { metadata } = serde_json::from_str(&json).map_err(D::Error::custom)?;
        Ok(RawObject {
            metadata: ObjectMeta {
                name: metadata.name,
                namespace: metadata.namespace,
                uid: metadata.uid,
                resource_version: metadata.resource_version,
                ..ObjectMeta::default()
            },
            json,
        })
    }
}

impl Resource for RawObject {
    type DynamicType = ApiResource;
    type Scope = DynamicResourceScope;

    fn group(described: &ApiResource) -> Cow<'_, str> {
        described.group.as_str().into()
    }

    fn version(described: &ApiResource) -> Cow<'_, str> {
        described.version.as_str().into()
    }

    fn kind(described: &ApiResource) -> Cow<'_, str> {
        described.kind.as_str().into()
    }

    fn api_version(described: &ApiResource) -> Cow<'_, str> {
        described.api_version.as_str().into()
    }

    fn plural(described: &ApiResource) -> Cow<'_, str> {
        described.plural.as_str().into()
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_text_and_reads_only_the_identity() {
        let text = r#"{"kind":"Pod","metadata":{"name":"p","namespace":"ml","uid":"u1","resourceVersion":"42","labels":{"a":"b"}},"status":{"phase":"Pending"}}"#;
        let object: RawObject = serde_json::from_str(text).unwrap();
        assert_eq!(object.json, text);
        assert_eq!(object.metadata.name.as_deref(), Some("p"));
        assert_eq!(object.metadata.namespace.as_deref(), Some("ml"));
        assert_eq!(object.metadata.resource_version.as_deref(), Some("42"));
        assert!(object.metadata.labels.is_none());
    }

    #[test]
    fn an_item_of_a_list_and_of_a_watch_event_decodes() {
        let list: kube::core::ObjectList<RawObject> = serde_json::from_str(
            r#"{"apiVersion":"v1","kind":"PodList","metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]}"#,
        )
        .unwrap();
        assert_eq!(list.items.len(), 2);
        assert_eq!(list.items[1].json, r#"{"metadata":{"name":"b"}}"#);
        // kube-apiserver writes `type` first; serde buffers an `object`
        // that comes first.
        for line in [
            r#"{"type":"MODIFIED","object":{"metadata":{"name":"c","resourceVersion":"9"}}}"#,
            r#"{"object":{"metadata":{"name":"c","resourceVersion":"9"}},"type":"MODIFIED"}"#,
        ] {
            let event: kube::core::WatchEvent<RawObject> = serde_json::from_str(line).unwrap();
            match event {
                kube::core::WatchEvent::Modified(object) => {
                    assert_eq!(object.metadata.resource_version.as_deref(), Some("9"));
                    assert_eq!(
                        object.json,
                        r#"{"metadata":{"name":"c","resourceVersion":"9"}}"#
                    );
                }
                other => panic!("{other:?}"),
            }
        }
    }
}

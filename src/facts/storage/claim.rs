//! A pod's PersistentVolumeClaim, joined with the claim itself, its
//! StorageClass (or the default one), the provisioner's complaints and the
//! nodes the claim's users run on: everything needed to say why a volume
//! does not bind or mount, in the run's terms. One fact per (pod, claim).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use crate::facts::Fact;
use crate::facts::shared::subject::{Evidence, Subject};
use crate::facts::shared::value::{FieldSource, FieldSpec, FieldType::*, Value, field, num, text};

/// The subject kind of a claim judged for the agent's connections catalog,
/// before any run mounts it.
pub const CATALOG_KIND: &str = "PersistentVolumeClaim";

/// A PersistentVolumeClaim as collected.
#[derive(Debug, Clone, Default)]
pub struct Claim {
    pub namespace: String,
    pub name: String,
    pub phase: String,
    pub class: Option<String>,
    pub access_modes: Vec<String>,
    pub size: String,
}

impl Claim {
    pub fn from_json(object: &Json) -> Option<Claim> {
        let string = |pointer: &str| {
            object
                .pointer(pointer)
                .and_then(Json::as_str)
                .map(str::to_string)
        };
        Some(Claim {
            namespace: string("/metadata/namespace").unwrap_or_else(|| "default".into()),
            name: string("/metadata/name")?,
            phase: string("/status/phase").unwrap_or_else(|| "Pending".into()),
            class: string("/spec/storageClassName"),
            access_modes: object
                .pointer("/spec/accessModes")
                .and_then(Json::as_array)
                .map(|modes| {
                    modes
                        .iter()
                        .filter_map(Json::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            size: string("/spec/resources/requests/storage").unwrap_or_default(),
        })
    }
}

/// A StorageClass as collected.
#[derive(Debug, Clone, Default)]
pub struct StorageClass {
    pub name: String,
    pub provisioner: String,
    pub binding_mode: String,
    pub default: bool,
}

impl StorageClass {
    pub fn from_json(object: &Json) -> Option<StorageClass> {
        let annotations = object.pointer("/metadata/annotations");
        let default = [
            "storageclass.kubernetes.io/is-default-class",
            "storageclass.beta.kubernetes.io/is-default-class",
        ]
        .iter()
        .any(|key| annotations.and_then(|a| a.get(*key)).and_then(Json::as_str) == Some("true"));
        Some(StorageClass {
            name: object
                .pointer("/metadata/name")
                .and_then(Json::as_str)?
                .to_string(),
            provisioner: object
                .get("provisioner")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string(),
            binding_mode: object
                .get("volumeBindingMode")
                .and_then(Json::as_str)
                .unwrap_or("Immediate")
                .to_string(),
            default,
        })
    }
}

/// One claim as one pod uses it.
#[derive(Debug, Clone)]
pub struct ClaimFact {
    pub subject: Subject,
    pub pending_seconds: Option<i64>,
    pub claim: String,
    /// None when the claim does not exist in the pod's namespace.
    pub found: Option<Claim>,
    /// The class asked for, or the default class when none is named.
    pub class: Option<String>,
    pub class_exists: bool,
    pub classes: BTreeSet<String>,
    pub default_class: Option<String>,
    pub provisioner: Option<String>,
    pub binding_mode: Option<String>,
    /// The newest complaint on the claim: ProvisioningFailed (the
    /// provisioner) or FailedBinding (the PV controller), reason and message.
    pub complaint: Option<(String, String)>,
    /// Nodes that run pods using the claim.
    pub nodes: BTreeSet<String>,
    /// StorageClasses were collected (so absence means absent); set by the
    /// join.
    pub classes_collected: bool,
}

pub const FIELDS: &[FieldSpec] = &[
    field("subject", Text, "the run (or pod) as people name it"),
    field("pending_for", Text, "how long the pod has been Pending"),
    field("claim", Text, "the claim's name"),
    field("namespace", Text, "the claim's (and pod's) namespace"),
    field("exists", Bool, "the claim exists in the pod's namespace"),
    field("phase", Text, "Pending, Bound or Lost"),
    field(
        "class",
        Text,
        "the StorageClass asked for (or the default one)",
    ),
    field("class_named", Bool, "the claim names a class itself"),
    field("class_exists", Bool, "that class exists"),
    field("classes", Text, "the StorageClasses that exist"),
    field(
        "classes_known",
        Text,
        "the same, absent when StorageClasses were not collected",
    ),
    field("default_class", Text, "the default StorageClass, if any"),
    field("provisioner", Text, "the class's provisioner"),
    field("binding_mode", Text, "Immediate or WaitForFirstConsumer"),
    field("access_modes", Text, "ReadWriteOnce, ReadWriteMany, ..."),
    field("size", Text, "the storage asked for"),
    field(
        "provisioning_error",
        Text,
        "the last ProvisioningFailed or FailedBinding message on the claim",
    ),
    field(
        "complaint_reason",
        Text,
        "that event's reason: ProvisioningFailed or FailedBinding",
    ),
    field(
        "class_missing",
        Bool,
        "the class does not exist: absent from the StorageClasses collected, or the provisioner says it is not found",
    ),
    field(
        "class_evidence",
        Text,
        "how absence is known: the classes that exist, or the provisioner's words",
    ),
    field(
        "user_nodes",
        Number,
        "how many nodes run pods that use the claim",
    ),
    field("user_node_names", Text, "those nodes"),
    field(
        "storage_objects_seen",
        Bool,
        "the source delivered StorageClasses (so absence means absent)",
    ),
];

impl ClaimFact {
    pub fn join(
        subject: Subject,
        pending_seconds: Option<i64>,
        claim: &str,
        found: Option<&Claim>,
        classes: &BTreeMap<String, StorageClass>,
        complaint: Option<(String, String)>,
        nodes: BTreeSet<String>,
    ) -> ClaimFact {
        let default_class = classes.values().find(|c| c.default).map(|c| c.name.clone());
        let class = found
            .and_then(|c| c.class.clone())
            .or_else(|| default_class.clone());
        let known = class.as_ref().and_then(|name| classes.get(name));
        ClaimFact {
            subject,
            pending_seconds,
            claim: claim.to_string(),
            found: found.cloned(),
            class_exists: known.is_some(),
            provisioner: known.map(|c| c.provisioner.clone()),
            binding_mode: known.map(|c| c.binding_mode.clone()),
            class,
            classes: classes.keys().cloned().collect(),
            default_class,
            classes_collected: !classes.is_empty(),
            complaint,
            nodes,
        }
    }

    /// The class the provisioner says is not found: the PV controller's
    /// 'storageclass.storage.k8s.io "nfs-fast" not found'
    /// (pkg/controller/volume/persistentvolume), older 'StorageClass
    /// "nfs-fast" not found'.
    fn class_not_found_said(&self) -> Option<&str> {
        let (_, message) = self.complaint.as_ref()?;
        let class = self.class.as_deref()?;
        let quoted = format!("\"{class}\" not found");
        let lower = message.to_ascii_lowercase();
        (lower.contains("storageclass") && message.contains(&quoted)).then_some(class)
    }

    fn class_missing(&self) -> bool {
        let seen = self.classes_collected;
        (seen && self.class.is_some() && !self.class_exists)
            || self.class_not_found_said().is_some()
    }
}

impl FieldSource for ClaimFact {
    fn field(&self, name: &str) -> Option<Value<'_>> {
        let found = self.found.as_ref();
        match name {
            // A claim of the agent's connections no run mounts yet: said
            // as such, since no run waits on it.
            "subject" if self.subject.kind == CATALOG_KIND => Some(text(format!(
                "Claim {}/{} (runs mount it through the agent's connections)",
                self.subject.namespace.as_deref().unwrap_or_default(),
                self.claim
            ))),
            "subject" => Some(text(self.subject.label())),
            "pending_for" if self.subject.kind == CATALOG_KIND => {
                Some(text("before any run mounts it".to_string()))
            }
            "pending_for" => Some(text(crate::facts::shared::duration::pending_for(
                self.pending_seconds,
            ))),
            "claim" => Some(text(&self.claim)),
            "namespace" => self.subject.namespace.as_deref().map(text),
            "exists" => Some(Value::Bool(found.is_some())),
            "phase" => found.map(|c| text(&c.phase)),
            "class" => self.class.as_deref().map(text),
            "class_named" => Some(Value::Bool(found.is_some_and(|c| c.class.is_some()))),
            "class_exists" => Some(Value::Bool(self.class_exists)),
            "classes" => Some(text(if self.classes.is_empty() {
                "none".to_string()
            } else {
                self.classes.iter().cloned().collect::<Vec<_>>().join(", ")
            })),
            "classes_known" => (self.classes_collected && !self.classes.is_empty())
                .then(|| text(self.classes.iter().cloned().collect::<Vec<_>>().join(", "))),
            "default_class" => self.default_class.as_deref().map(text),
            "provisioner" => self.provisioner.as_deref().map(text),
            "binding_mode" => self.binding_mode.as_deref().map(text),
            "access_modes" => found.map(|c| text(c.access_modes.join(", "))),
            "size" => found.map(|c| text(&c.size)),
            "provisioning_error" => self.complaint.as_ref().map(|(_, m)| text(m)),
            "complaint_reason" => self.complaint.as_ref().map(|(r, _)| text(r)),
            "class_missing" => Some(Value::Bool(self.class_missing())),
            "class_evidence" => Some(text(if self.classes_collected {
                format!(
                    "classes here: {}",
                    self.classes.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            } else {
                "the provisioner says it is not found; StorageClasses were not collected"
                    .to_string()
            })),
            "user_nodes" => Some(num(self.nodes.len() as f64)),
            "user_node_names" => Some(text(
                self.nodes.iter().cloned().collect::<Vec<_>>().join(", "),
            )),
            "storage_objects_seen" => Some(Value::Bool(self.classes_collected)),
            _ => None,
        }
    }
}

impl Fact for ClaimFact {
    fn subject(&self) -> Subject {
        self.subject.clone()
    }

    fn evidence(&self) -> Vec<Evidence> {
        let mut claim = Evidence::new("PersistentVolumeClaim").name(self.claim.clone());
        claim = match &self.found {
            Some(found) => claim.reason(found.phase.clone()).message(format!(
                "storageClassName: {}; accessModes: {}; size: {}",
                found.class.as_deref().unwrap_or("(none)"),
                found.access_modes.join(", "),
                found.size
            )),
            None => claim
                .reason("NotFound")
                .message("no such claim in the pod's namespace"),
        };
        let mut evidence = vec![claim];
        if let Some((reason, message)) = &self.complaint {
            evidence.push(
                Evidence::new("Event")
                    .reason(reason.clone())
                    .message(message.clone()),
            );
        }
        evidence
    }
}

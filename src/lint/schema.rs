//! The field names Polyaxon's polyaxonfile schema accepts, per section, and
//! the "did you mean" for the ones it does not.
//!
//! Taken from polyaxon/cli `polyaxon/_flow` (V1Component, V1Operation, V1IO,
//! V1Param, V1Termination, V1Environment, V1Job, V1Service, V1Dag, V1Init,
//! V1EventTrigger) and Kubernetes' V1Container. Polyaxon's models forbid
//! extra fields (`extra = "forbid"`) and accept both the camelCase alias and
//! the snake_case name (`populate_by_name`), so both spellings pass here.

/// A section of the polyaxonfile and the fields it takes.
pub struct Section {
    pub name: &'static str,
    pub fields: &'static [&'static str],
    /// Polyaxon's own model (rejects unknown fields) or a Kubernetes one.
    pub polyaxon: bool,
}

const BASE: [&str; 17] = [
    "version",
    "kind",
    "name",
    "description",
    "tags",
    "presets",
    "strictParams",
    "queue",
    "namespace",
    "cache",
    "termination",
    "plugins",
    "build",
    "hooks",
    "isApproved",
    "cost",
    "mount",
];

pub const COMPONENT: Section = Section {
    name: "component",
    fields: &concat::<17, 4, 21>(&BASE, &["inputs", "outputs", "run", "template"]),
    polyaxon: true,
};

pub const OPERATION: Section = Section {
    name: "operation",
    fields: &concat::<17, 18, 35>(
        &BASE,
        &[
            "schedule",
            "events",
            "matrix",
            "joins",
            "dependencies",
            "trigger",
            "conditions",
            "skipOnUpstreamSkip",
            "params",
            "hubRef",
            "dagRef",
            "urlRef",
            "pathRef",
            "component",
            "patchStrategy",
            "isPreset",
            "runPatch",
            "template",
        ],
    ),
    polyaxon: true,
};

pub const IO: Section = Section {
    name: "input/output",
    fields: &[
        "name",
        "description",
        "type",
        "isOptional",
        "isList",
        "isFlag",
        "argFormat",
        "connection",
        "toInit",
        "toEnv",
        "value",
        "validation",
        "delayValidation",
        "options",
    ],
    polyaxon: true,
};

/// A param written in full form (a mapping with any of these keys).
pub const PARAM: Section = Section {
    name: "param",
    fields: &[
        "value",
        "ref",
        "contextOnly",
        "connection",
        "toInit",
        "toEnv",
    ],
    polyaxon: true,
};

pub const TERMINATION: Section = Section {
    name: "termination",
    fields: &[
        "maxRetries",
        "ttl",
        "timeout",
        "culling",
        "probe",
        "podFailurePolicy",
    ],
    polyaxon: true,
};

pub const ENVIRONMENT: Section = Section {
    name: "environment",
    fields: &[
        "labels",
        "annotations",
        "nodeSelector",
        "affinity",
        "tolerations",
        "nodeName",
        "serviceAccountName",
        "hostAliases",
        "securityContext",
        "imagePullSecrets",
        "hostNetwork",
        "hostPID",
        "dnsPolicy",
        "dnsConfig",
        "schedulerName",
        "priorityClassName",
        "priority",
        "restartPolicy",
    ],
    polyaxon: true,
};

const JOB_FIELDS: [&str; 7] = [
    "kind",
    "environment",
    "connections",
    "volumes",
    "init",
    "sidecars",
    "container",
];

pub const JOB: Section = Section {
    name: "run (kind: job)",
    fields: &JOB_FIELDS,
    polyaxon: true,
};

pub const SERVICE: Section = Section {
    name: "run (kind: service)",
    fields: &concat::<7, 4, 11>(
        &JOB_FIELDS,
        &["ports", "rewritePath", "isExternal", "replicas"],
    ),
    polyaxon: true,
};

pub const DAG: Section = Section {
    name: "run (kind: dag)",
    fields: &[
        "kind",
        "operations",
        "components",
        "environment",
        "connections",
        "volumes",
        "concurrency",
        "earlyStopping",
    ],
    polyaxon: true,
};

pub const INIT: Section = Section {
    name: "init",
    fields: &[
        "artifacts",
        "paths",
        "git",
        "dockerfile",
        "file",
        "tensorboard",
        "lineageRef",
        "modelRef",
        "artifactRef",
        "connection",
        "path",
        "container",
    ],
    polyaxon: true,
};

pub const EVENT: Section = Section {
    name: "event",
    fields: &["kinds", "ref"],
    polyaxon: true,
};

pub const CONTAINER: Section = Section {
    name: "container",
    fields: &[
        "name",
        "image",
        "command",
        "args",
        "workingDir",
        "ports",
        "envFrom",
        "env",
        "resources",
        "resizePolicy",
        "restartPolicy",
        "volumeMounts",
        "volumeDevices",
        "livenessProbe",
        "readinessProbe",
        "startupProbe",
        "lifecycle",
        "terminationMessagePath",
        "terminationMessagePolicy",
        "imagePullPolicy",
        "securityContext",
        "stdin",
        "stdinOnce",
        "tty",
    ],
    polyaxon: false,
};

pub const RESOURCES: Section = Section {
    name: "container.resources",
    fields: &["limits", "requests", "claims"],
    polyaxon: false,
};

/// Run kinds Polyaxon knows (V1RunKind); the distributed and cluster kinds
/// are recognised, their replica specs are read for resources only.
pub const RUN_KINDS: &[&str] = &[
    "job",
    "service",
    "dag",
    "daskjob",
    "rayjob",
    "mpijob",
    "tfjob",
    "pytorchjob",
    "paddlejob",
    "mxjob",
    "xgbjob",
    "matrix",
    "schedule",
    "tuner",
    "watchdog",
    "notifier",
    "cleaner",
    "builder",
];

/// V1TriggerPolicy.
pub const TRIGGERS: &[&str] = &[
    "all_succeeded",
    "all_failed",
    "all_done",
    "one_succeeded",
    "one_failed",
    "one_done",
];

/// The section for a run of `kind`, when its fields are checked.
pub fn run_section(kind: &str) -> Option<&'static Section> {
    match kind {
        "job" => Some(&JOB),
        "service" => Some(&SERVICE),
        "dag" => Some(&DAG),
        _ => None,
    }
}

impl Section {
    /// Whether `field` is one of this section's names, in either spelling.
    pub fn knows(&self, field: &str) -> bool {
        self.fields
            .iter()
            .any(|known| *known == field || snake_case(known) == field)
    }

    /// The known field `field` was most likely meant to be.
    pub fn suggest(&self, field: &str) -> Option<&'static str> {
        suggest(field, self.fields)
    }
}

/// The closest of `candidates` to `word`, when it is close enough to be a
/// typo: same letters ignoring case and separators, or at most two edits
/// (one for short words).
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let folded = fold(word);
    if let Some(same) = candidates.iter().find(|c| fold(c) == folded) {
        return Some(same);
    }
    let limit = if word.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), *c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

fn fold(word: &str) -> String {
    word.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// `nodeSelector` → `node_selector`.
fn snake_case(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Levenshtein distance, with adjacent swaps counting as one edit.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

/// Two field lists as one, at compile time.
const fn concat<const A: usize, const B: usize, const N: usize>(
    a: &[&'static str; A],
    b: &[&'static str; B],
) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    while i < N {
        out[i] = b[i - A];
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_are_known_and_typos_get_a_suggestion() {
        assert!(ENVIRONMENT.knows("nodeSelector"));
        assert!(ENVIRONMENT.knows("node_selector"));
        assert!(!ENVIRONMENT.knows("nodeSelecter"));
        assert_eq!(ENVIRONMENT.suggest("nodeSelecter"), Some("nodeSelector"));
        assert_eq!(ENVIRONMENT.suggest("NodeSelector"), Some("nodeSelector"));
        assert_eq!(OPERATION.suggest("dependecies"), Some("dependencies"));
        assert_eq!(CONTAINER.suggest("resource"), Some("resources"));
        assert_eq!(TERMINATION.suggest("banana"), None);
        assert!(COMPONENT.knows("inputs") && OPERATION.knows("params"));
        assert!(SERVICE.knows("ports") && SERVICE.knows("container"));
    }
}

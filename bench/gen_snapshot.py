#!/usr/bin/env python3
"""Generate a synthetic Kubernetes snapshot for benchmarking pxdoctor.

The snapshot is a directory of objects as `kubectl get -o json` prints them:

    DIR/nodes.json              kubectl get nodes -o json
    DIR/<namespace>/pods.json   kubectl get pods -n <namespace> -o json
    DIR/<namespace>/events.json kubectl get events -n <namespace> -o json
    DIR/<namespace>/pvcs.json   kubectl get pvc -n <namespace> -o json
    DIR/<namespace>/rbac.json   kubectl get serviceaccounts,roles,rolebindings -n <namespace> -o json
    DIR/cluster.json            kubectl get storageclasses,clusterroles,clusterrolebindings -o json

About 90% of the pods are Polyaxon run pods (a Job's pod: init container
polyaxon-init-auth, then polyaxon-main and polyaxon-sidecar), the rest are
Deployment pods (the Polyaxon platform, tools). About 3% of the runs are
Pending and unscheduled, each with a PodScheduled=False condition and a
FailedScheduling event whose text is what kube-scheduler 1.33 would write for
this very node set: the filters (NodeUnschedulable, TaintToleration,
NodeAffinity, NodeResourcesFit) are evaluated against every node's taints,
labels and what the pods placed on it already request. Causes, in turn: GPUs
all taken, CPU/memory all taken, a node selector for a cordoned pool, an
unbound PersistentVolumeClaim, a node affinity that matches no node.

The rest of the event budget goes to the scheduler's Scheduled and the
kubelet's Pulling/Pulled/Created/Started events of the newest pods (as in a
cluster whose events expire after an hour).

Standard library only; the output depends only on the arguments (--seed).
Objects are written one at a time, so memory stays small at any size.
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta, timezone

SIZES = {
    # name: (nodes, pods, events)
    "small": (50, 1_000, 5_000),
    "medium": (500, 20_000, 100_000),
    "large": (5_000, 100_000, 500_000),
    "xl": (10_000, 250_000, 1_000_000),
    # Few nodes, many pods: a long-lived cluster where finished runs pile up.
    "spine": (500, 100_000, 300_000),
}

NAMESPACES = ["polyaxon", "ml-team-a", "ml-team-b", "ml-team-c", "default"]
RUN_NAMESPACE_WEIGHTS = [0.15, 0.30, 0.25, 0.22, 0.08]
APP_NAMESPACE_WEIGHTS = [0.30, 0.20, 0.20, 0.20, 0.10]

PROJECTS = {
    "polyaxon": ["quick-start", "platform-smoke"],
    "ml-team-a": ["resnet", "mnist", "llm-finetune"],
    "ml-team-b": ["bert-squad", "recsys", "speech-asr"],
    "ml-team-c": ["diffusion", "detr", "tabular-gbm"],
    "default": ["sandbox"],
}
OWNER = "acme"
PLX_VERSION = "2.4.0"
KUBELET_VERSION = "v1.33.5"

MAIN_IMAGES = [
    "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime",
    "nvcr.io/nvidia/pytorch:24.10-py3",
    "tensorflow/tensorflow:2.18.0-gpu",
    "acme/trainer:1.8.2",
    "acme/llm-train:0.14.0",
    "python:3.12-slim",
]

NOW = datetime(2026, 11, 28, 10, 0, 0, tzinfo=timezone.utc)
NODES_CREATED = datetime(2026, 9, 1, 8, 0, 0, tzinfo=timezone.utc)

SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s utilrand alphabet

# nodegroup: (instance type, cpus, memory capacity in Ki, gpus, gpu product)
POOLS = {
    "cpu-general": ("m6i.4xlarge", 16, 65_039_984, 0, None),
    "gpu-a100": ("p4d.24xlarge", 96, 1_176_954_820, 8, "NVIDIA-A100-SXM4-40GB"),
    "gpu-infer": ("g5.12xlarge", 48, 195_971_196, 4, "NVIDIA-A10G"),
    "gpu-h100": ("p5.48xlarge", 192, 2_097_152_000, 8, "NVIDIA-H100-80GB-HBM3"),
}
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]

PENDING_CAUSES = ["gpu", "cpu-memory", "cordoned", "unbound-claim", "node-selector"]
# What each kind of pending run asks for: (gpus, cpu, memory) of polyaxon-main.
PENDING_REQUESTS = {
    "gpu": (4, "24", "160Gi"),
    "cpu-memory": (0, "6", "24Gi"),
    "cordoned": (8, "48", "320Gi"),
    "unbound-claim": (0, "1", "4Gi"),
    "node-selector": (0, "2", "8Gi"),
}
CPU_RUN_REQUESTS = [("500m", "2Gi"), ("1", "4Gi"), ("2", "8Gi"), ("4", "16Gi")]
GPU_CPU_PER_GPU, GPU_MEM_PER_GPU = 6, 40  # cores, GiB
SIDECAR_REQUESTS = ("100m", "128Mi")
INIT_REQUESTS = ("100m", "64Mi")

DEFAULT_TOLERATIONS = [
    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists",
     "tolerationSeconds": 300},
    {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists",
     "tolerationSeconds": 300},
]
GPU_TOLERATION = {"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"}
INFER_TOLERATION = {"effect": "NoSchedule", "key": "dedicated", "operator": "Equal", "value": "infer"}


def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def milli(cpu):
    return int(cpu[:-1]) if cpu.endswith("m") else int(float(cpu) * 1000)


def mem_bytes(mem):
    for unit, factor in (("Ki", 2**10), ("Mi", 2**20), ("Gi", 2**30), ("Ti", 2**40)):
        if mem.endswith(unit):
            return int(mem[:-2]) * factor
    return int(mem)


class Gen:
    """Random helpers on one seeded generator, plus a resourceVersion counter."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.rv = 4_000_000

    def hex(self, n):
        return "%0*x" % (n, self.rng.getrandbits(4 * n))

    def uid(self):
        h = self.hex(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def suffix(self, n=5):
        choice = self.rng.choice
        return "".join(choice(SUFFIX_ALPHABET) for _ in range(n))

    def resource_version(self):
        self.rv += self.rng.randint(1, 40)
        return str(self.rv)


# --------------------------------------------------------------------------
# Output: a `List` written item by item, formatted as kubectl formats it.


class ListWriter:
    """Writes {"apiVersion": "v1", "items": [...], "kind": "List", ...}.

    kubectl prints objects with sorted keys and 4-space indents; with indent 0
    the same document is written on one line.
    """

    def __init__(self, path, indent):
        self.f = open(path, "w", encoding="utf-8", buffering=1 << 20)
        self.indent = indent
        self.count = 0
        if indent:
            pad = " " * indent
            self.item_pad = pad * 2
            self.f.write('{\n%s"apiVersion": "v1",\n%s"items": [' % (pad, pad))
        else:
            self.f.write('{"apiVersion":"v1","items":[')

    def write(self, obj):
        if self.indent:
            text = json.dumps(obj, indent=self.indent, sort_keys=True, ensure_ascii=False)
            text = text.replace("\n", "\n" + self.item_pad)
            self.f.write(("\n" if self.count == 0 else ",\n") + self.item_pad + text)
        else:
            text = json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
            self.f.write(("" if self.count == 0 else ",") + text)
        self.count += 1

    def close(self):
        if self.indent:
            pad = " " * self.indent
            if self.count:
                self.f.write("\n" + pad)
            self.f.write('],\n%s"kind": "List",\n%s"metadata": {\n%s%s"resourceVersion": ""\n%s}\n}\n'
                         % (pad, pad, pad, pad, pad))
        else:
            self.f.write('],"kind":"List","metadata":{"resourceVersion":""}}\n')
        self.f.close()


# --------------------------------------------------------------------------
# Nodes


class NodeInfo:
    __slots__ = ("name", "pool", "ip", "index", "zone", "labels", "taints", "cordoned", "unreachable",
                 "disk_pressure", "cpu", "mem", "gpu", "pods", "free_cpu", "free_mem", "free_gpu",
                 "free_pods")

    def healthy(self):
        return not (self.cordoned or self.unreachable or self.disk_pressure)

    def fits(self, cpu_m, mem_b, gpu):
        return (self.free_cpu >= cpu_m and self.free_mem >= mem_b and self.free_gpu >= gpu
                and self.free_pods >= 1)

    def reserve(self, cpu_m, mem_b, gpu):
        self.free_cpu -= cpu_m
        self.free_mem -= mem_b
        self.free_gpu -= gpu
        self.free_pods -= 1


def plan_nodes(g, n):
    """Decides each node's pool, health, labels and taints."""
    h100 = max(1, round(n * 0.015))
    infer = max(1, round(n * 0.10))
    a100 = max(1, round(n * 0.28))
    cpu = max(1, n - h100 - infer - a100)
    pools = (["cpu-general"] * cpu + ["gpu-a100"] * a100 + ["gpu-infer"] * infer + ["gpu-h100"] * h100)[:n]
    g.rng.shuffle(pools)
    nodes = []
    for i, pool in enumerate(pools):
        k = i + 4096 + 17
        x = NodeInfo()
        x.index = i
        x.ip = f"10.{16 + (k >> 16)}.{(k >> 8) & 255}.{k & 255}"
        x.name = f"ip-{x.ip.replace('.', '-')}.ec2.internal"
        x.pool = pool
        x.zone = ZONES[i % len(ZONES)]
        _, cpus, mem_ki, gpus, _ = POOLS[pool]
        x.cpu = cpus * 1000 - 100 - cpus * 10  # allocatable millicores (kube-reserved)
        x.mem = (mem_ki - 1_016_832) * 1024  # allocatable bytes
        x.gpu = gpus
        x.pods = 110
        x.cordoned = pool == "gpu-h100"  # the whole H100 pool is drained for maintenance
        x.unreachable = False
        x.disk_pressure = False
        x.free_cpu, x.free_mem, x.free_gpu, x.free_pods = x.cpu, x.mem, x.gpu, x.pods
        nodes.append(x)
    # A few more problems, on CPU and A100 nodes.
    others = [x for x in nodes if x.pool in ("cpu-general", "gpu-a100")]
    g.rng.shuffle(others)
    k_cordon, k_unreach, k_disk = (max(1, round(n * f)) for f in (0.005, 0.01, 0.01))
    for x in others[:k_cordon]:
        x.cordoned = True
    for x in others[k_cordon:k_cordon + k_unreach]:
        x.unreachable = True
    for x in others[k_cordon + k_unreach:k_cordon + k_unreach + k_disk]:
        x.disk_pressure = True
    for x in nodes:
        x.labels = node_labels(x)
        x.taints = node_taints(x)
    return nodes


def node_labels(x):
    instance_type, _, _, gpus, product = POOLS[x.pool]
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": instance_type,
        "beta.kubernetes.io/os": "linux",
        "eks.amazonaws.com/capacityType": "ON_DEMAND",
        "eks.amazonaws.com/nodegroup": x.pool,
        "eks.amazonaws.com/nodegroup-image": "ami-0c2d3e4f5a6b7c8d9",
        "failure-domain.beta.kubernetes.io/region": "us-east-1",
        "failure-domain.beta.kubernetes.io/zone": x.zone,
        "k8s.io/cloud-provider-aws": "9f1c2e3d4b5a69788a7b6c5d4e3f2a1b",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": x.name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": instance_type,
        "topology.k8s.aws/zone-id": "use1-az%d" % (x.index % 3 + 1),
        "topology.kubernetes.io/region": "us-east-1",
        "topology.kubernetes.io/zone": x.zone,
    }
    if gpus:
        labels.update({"nvidia.com/gpu.count": str(gpus), "nvidia.com/gpu.present": "true",
                       "nvidia.com/gpu.product": product, "pool": "gpu"})
    else:
        labels["pool"] = "cpu"
    if x.pool == "gpu-infer":
        labels["dedicated"] = "infer"
    return labels


def node_taints(x):
    taints = []
    if x.pool in ("gpu-a100", "gpu-h100"):
        taints.append({"effect": "NoSchedule", "key": "nvidia.com/gpu", "value": "true"})
    if x.pool == "gpu-infer":
        taints.append({"effect": "NoSchedule", "key": "dedicated", "value": "infer"})
    if x.cordoned:
        taints.append({"effect": "NoSchedule", "key": "node.kubernetes.io/unschedulable",
                       "timeAdded": ts(NOW - timedelta(days=2, hours=3))})
    if x.unreachable:
        lost = NOW - timedelta(minutes=47)
        taints.append({"effect": "NoSchedule", "key": "node.kubernetes.io/unreachable", "timeAdded": ts(lost)})
        taints.append({"effect": "NoExecute", "key": "node.kubernetes.io/unreachable",
                       "timeAdded": ts(lost + timedelta(seconds=5))})
    if x.disk_pressure:
        taints.append({"effect": "NoSchedule", "key": "node.kubernetes.io/disk-pressure",
                       "timeAdded": ts(NOW - timedelta(minutes=23))})
    return taints


def node_object(g, x):
    _, cpus, mem_ki, gpus, _ = POOLS[x.pool]
    i = x.index
    cidr = f"10.{100 + (i >> 8) % 100}.{i & 255}.0/24"
    spec = {"podCIDR": cidr, "podCIDRs": [cidr], "providerID": f"aws:///{x.zone}/i-0{g.hex(16)}"}
    if x.taints:
        spec["taints"] = x.taints
    if x.cordoned:
        spec["unschedulable"] = True

    capacity = {"cpu": str(cpus), "ephemeral-storage": "104845292Ki", "hugepages-1Gi": "0",
                "hugepages-2Mi": "0", "memory": f"{mem_ki}Ki", "pods": str(x.pods)}
    allocatable = dict(capacity, cpu=f"{x.cpu}m", memory=f"{x.mem // 1024}Ki")
    allocatable["ephemeral-storage"] = "95551679124"
    if gpus:
        capacity["nvidia.com/gpu"] = str(gpus)
        allocatable["nvidia.com/gpu"] = str(gpus)

    r = g.rng
    heartbeat = ts(NOW - timedelta(seconds=r.randint(1, 50)))
    up_since = ts(NOW - timedelta(days=r.randint(3, 60), minutes=r.randint(0, 1440)))

    def condition(type_, status, reason, message, since=up_since, beat=heartbeat):
        return {"lastHeartbeatTime": beat, "lastTransitionTime": since, "message": message,
                "reason": reason, "status": status, "type": type_}

    if x.unreachable:
        beat, since = ts(NOW - timedelta(minutes=48)), ts(NOW - timedelta(minutes=47))
        gone = "Kubelet stopped posting node status."
        conditions = [condition(t, "Unknown", "NodeStatusUnknown", gone, since, beat)
                      for t in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")]
    else:
        if x.disk_pressure:
            disk = condition("DiskPressure", "True", "KubeletHasDiskPressure", "kubelet has disk pressure",
                             ts(NOW - timedelta(minutes=23)))
        else:
            disk = condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure")
        conditions = [
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                      "kubelet has sufficient memory available"),
            disk,
            condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]

    ecr = "602401143452.dkr.ecr.us-east-1.amazonaws.com"
    images = [
        {"names": [f"docker.io/polyaxon/polyaxon-sidecar@sha256:{'5e8f' * 16}",
                   f"docker.io/polyaxon/polyaxon-sidecar:{PLX_VERSION}"], "sizeBytes": 187_654_321},
        {"names": [f"docker.io/polyaxon/polyaxon-init@sha256:{'a1c3' * 16}",
                   f"docker.io/polyaxon/polyaxon-init:{PLX_VERSION}"], "sizeBytes": 201_234_567},
        {"names": [f"{ecr}/amazon-k8s-cni@sha256:{'0b7d' * 16}", f"{ecr}/amazon-k8s-cni:v1.19.2-eksbuild.1"],
         "sizeBytes": 48_918_234},
        {"names": [f"{ecr}/eks/kube-proxy@sha256:{'9e2a' * 16}", f"{ecr}/eks/kube-proxy:v1.33.5-minimal-eksbuild.2"],
         "sizeBytes": 37_284_101},
        {"names": [f"registry.k8s.io/pause@sha256:{'7031' * 16}", "registry.k8s.io/pause:3.10"],
         "sizeBytes": 320_368},
    ]
    if gpus:
        images.insert(0, {"names": [f"nvcr.io/nvidia/pytorch@sha256:{'c0de' * 16}",
                                    "nvcr.io/nvidia/pytorch:24.10-py3"], "sizeBytes": 10_624_418_302})

    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "annotations": {
                "alpha.kubernetes.io/provided-node-ip": x.ip,
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
            "creationTimestamp": ts(NODES_CREATED + timedelta(minutes=i)),
            "labels": x.labels,
            "name": x.name,
            "resourceVersion": g.resource_version(),
            "uid": g.uid(),
        },
        "spec": spec,
        "status": {
            "addresses": [
                {"address": x.ip, "type": "InternalIP"},
                {"address": x.name, "type": "InternalDNS"},
                {"address": x.name, "type": "Hostname"},
            ],
            "allocatable": allocatable,
            "capacity": capacity,
            "conditions": conditions,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "features": {"supplementalGroupsPolicy": True},
            "images": images,
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": g.uid(),
                "containerRuntimeVersion": "containerd://1.7.27",
                "kernelVersion": "6.1.141-155.222.amzn2023.x86_64",
                "kubeProxyVersion": KUBELET_VERSION,
                "kubeletVersion": KUBELET_VERSION + "-eks-3abbec1",
                "machineID": g.hex(32),
                "operatingSystem": "linux",
                "osImage": "Amazon Linux 2023.8.20250715",
                "systemUUID": f"ec2{g.hex(5)}-{g.hex(4)}-{g.hex(4)}-{g.hex(4)}-{g.hex(12)}",
            },
            "runtimeHandlers": [
                {"features": {"recursiveReadOnlyMounts": True, "userNamespaces": True}, "name": "runc"},
                {"features": {"recursiveReadOnlyMounts": True, "userNamespaces": True}, "name": ""},
            ],
        },
    }


# --------------------------------------------------------------------------
# The scheduler's view: kube-scheduler 1.33 filters and FitError wording.


def tolerates(tolerations, taint):
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint["effect"]:
            continue
        if t.get("operator") == "Exists":
            if not t.get("key") or t["key"] == taint["key"]:
                return True
        elif t.get("key") == taint["key"] and t.get("value", "") == taint.get("value", ""):
            return True
    return False


def matches_selector(spec, labels):
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required:
        def term_ok(term):
            return all(labels.get(e["key"]) in e["values"] for e in term.get("matchExpressions", [])
                       if e["operator"] == "In")
        if not any(term_ok(term) for term in required["nodeSelectorTerms"]):
            return False
    return True


def filter_node(spec, request, x):
    """The reasons one node rejects the pod, and whether preemption could help."""
    tolerations = spec.get("tolerations", [])
    if x.cordoned and not tolerates(tolerations, {"key": "node.kubernetes.io/unschedulable",
                                                  "effect": "NoSchedule"}):
        return ["node(s) were unschedulable"], False
    for taint in x.taints:
        if taint["effect"] in ("NoSchedule", "NoExecute") and not tolerates(tolerations, taint):
            return ["node(s) had untolerated taint {%s: %s}" % (taint["key"], taint.get("value", ""))], False
    if not matches_selector(spec, x.labels):
        return ["node(s) didn't match Pod's node affinity/selector"], False
    cpu_m, mem_b, gpu = request
    reasons = []
    if x.free_pods < 1:
        reasons.append("Too many pods")
    if x.free_cpu < cpu_m:
        reasons.append("Insufficient cpu")
    if x.free_mem < mem_b:
        reasons.append("Insufficient memory")
    if gpu and x.free_gpu < gpu:
        reasons.append("Insufficient nvidia.com/gpu")
    return reasons, True


def histogram(counts):
    """"<count> <reason>" strings, sort.Strings-sorted and joined, as FitError.Error() does."""
    return ", ".join(sorted(f"{count} {reason}" for reason, count in counts.items() if count))


def failed_scheduling_message(spec, request, unbound_claim, nodes):
    """FitError.Error() for this pod and node set, or None when some node fits."""
    n = len(nodes)
    if unbound_claim:
        return (f"0/{n} nodes are available: pod has unbound immediate PersistentVolumeClaims. "
                f"preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling.")
    counts, tail = {}, {}
    for x in nodes:
        reasons, resolvable = filter_node(spec, request, x)
        if not reasons:
            return None
        for reason in reasons:
            counts[reason] = counts.get(reason, 0) + 1
        # All pods have priority 0, so preemption never finds a victim.
        key = "No preemption victims found for incoming pod" if resolvable else \
            "Preemption is not helpful for scheduling"
        tail[key] = tail.get(key, 0) + 1
    return f"0/{n} nodes are available: {histogram(counts)}. preemption: 0/{n} nodes are available: {histogram(tail)}."


# --------------------------------------------------------------------------
# Pod plans: who runs where, decided before anything is written.


class Plan:
    __slots__ = ("what", "ns", "phase", "cause", "node", "created", "gpu", "cpu", "mem", "pool", "app",
                 "name", "uuid", "rs_hash")


def run_request(plan):
    """(millicores, bytes, gpus) the scheduler reserves: main + sidecar (> init)."""
    return (milli(plan.cpu) + milli(SIDECAR_REQUESTS[0]),
            mem_bytes(plan.mem) + mem_bytes(SIDECAR_REQUESTS[1]), plan.gpu)


def pick_run_size(r, plan, gpu_run):
    if gpu_run:
        plan.gpu = r.choice([1, 1, 2, 4])
        plan.cpu, plan.mem = str(plan.gpu * GPU_CPU_PER_GPU), f"{plan.gpu * GPU_MEM_PER_GPU}Gi"
    else:
        plan.gpu = 0
        plan.cpu, plan.mem = r.choice(CPU_RUN_REQUESTS)


def place(r, candidates, request, tries=8):
    """A random node of `candidates` with room for `request`, reserved; or None."""
    if not candidates:
        return None
    for _ in range(tries):
        x = candidates[r.randrange(len(candidates))]
        if x.fits(*request):
            x.reserve(*request)
            return x
    return None


def split(total, weights):
    counts = [int(total * w) for w in weights]
    counts[0] += total - sum(counts)
    return counts


def plan_pods(g, nodes, pods_n):
    r = g.rng
    healthy = {pool: [x for x in nodes if x.pool == pool and x.healthy()] for pool in POOLS}
    any_node = {pool: [x for x in nodes if x.pool == pool] for pool in POOLS}
    fallback = [x for x in nodes if not x.unreachable] or nodes

    app_n = pods_n // 10
    run_n = pods_n - app_n
    pending_n = min(run_n, max(len(PENDING_CAUSES), round(run_n * 0.03))) if run_n else 0
    rest = run_n - pending_n
    creating_n = min(rest, round(run_n * 0.005))
    failed_n = min(rest - creating_n, round(run_n * 0.01))
    running_n = min(rest - creating_n - failed_n, round(run_n * 0.25))
    kinds = ["pending"] * pending_n + ["creating"] * creating_n + ["failed"] * failed_n + ["running"] * running_n
    kinds += ["succeeded"] * (run_n - len(kinds))
    r.shuffle(kinds)
    run_ns = [NAMESPACES[i] for i, c in enumerate(split(run_n, RUN_NAMESPACE_WEIGHTS)) for _ in range(c)]
    app_ns = [NAMESPACES[i] for i, c in enumerate(split(app_n, APP_NAMESPACE_WEIGHTS)) for _ in range(c)]

    plans = []
    pending_seen = 0
    for ns, kind in zip(run_ns, kinds):
        p = Plan()
        p.what, p.ns, p.cause, p.node, p.app = "run", ns, None, None, None
        p.uuid = g.hex(32)
        p.name = f"plx-operation-{p.uuid}-{g.suffix()}"
        gpu_run = r.random() < 0.35
        p.pool = "gpu-a100" if gpu_run else "cpu-general"
        if gpu_run and r.random() < 0.15:
            p.pool = "gpu-infer"
        pick_run_size(r, p, gpu_run)
        if p.pool == "gpu-infer":
            p.gpu = min(p.gpu, 4)
            p.cpu, p.mem = str(p.gpu * GPU_CPU_PER_GPU), f"{p.gpu * GPU_MEM_PER_GPU}Gi"
        if kind == "pending":
            p.cause = PENDING_CAUSES[pending_seen % len(PENDING_CAUSES)]
            pending_seen += 1
            p.gpu, p.cpu, p.mem = PENDING_REQUESTS[p.cause]
            p.phase = "Pending"
            p.created = NOW - timedelta(seconds=r.randint(60, 3 * 3600))
        elif kind in ("running", "creating"):
            p.node = place(r, healthy[p.pool], run_request(p))
            if p.node is not None:
                p.phase = "Running" if kind == "running" else "Pending"
                p.created = NOW - timedelta(seconds=r.randint(300, 86400) if kind == "running"
                                            else r.randint(20, 280))
            else:
                kind = "succeeded"
        if kind in ("succeeded", "failed"):
            p.phase = "Succeeded" if kind == "succeeded" else "Failed"
            p.node = r.choice(any_node[p.pool] or fallback)
            p.created = NOW - timedelta(seconds=r.randint(3600, 72 * 3600))
        plans.append(p)
    for ns in app_ns:
        p = Plan()
        p.what, p.ns, p.cause, p.pool, p.gpu = "app", ns, None, "cpu-general", 0
        apps = PLATFORM_APPS if ns == "polyaxon" else OTHER_APPS
        p.app = apps[r.randrange(len(apps))]
        p.rs_hash = g.suffix(10)
        p.name = f"{p.app[0]}-{p.rs_hash}-{g.suffix()}"
        p.cpu, p.mem = p.app[2], p.app[3]
        p.created = NOW - timedelta(seconds=r.randint(600, 30 * 86400))
        p.node = None
        if r.random() < 0.6:
            p.node = place(r, healthy["cpu-general"], (milli(p.cpu), mem_bytes(p.mem), 0))
        p.phase = "Running" if p.node is not None else "Succeeded"
        if p.node is None:
            p.node = r.choice(any_node["cpu-general"] or fallback)
        plans.append(p)

    top_up(g, plans, healthy)
    by_ns = {ns: [] for ns in NAMESPACES}
    for p in plans:
        by_ns[p.ns].append(p)
    for ns in NAMESPACES:
        by_ns[ns].sort(key=lambda p: p.name)  # kubectl lists objects by name
    return by_ns


def top_up(g, plans, healthy):
    """Fills the nodes the GPU and CPU pending runs could use, so that their
    FailedScheduling messages hold: turns finished runs into running ones there."""
    r = g.rng
    spare = {"gpu": [p for p in plans if p.what == "run" and p.phase == "Succeeded" and p.gpu],
             "cpu": [p for p in plans if p.what == "run" and p.phase == "Succeeded" and not p.gpu]}
    gpu_req = PENDING_REQUESTS["gpu"]
    cpu_req = PENDING_REQUESTS["cpu-memory"]
    sidecar = (milli(SIDECAR_REQUESTS[0]), mem_bytes(SIDECAR_REQUESTS[1]))
    targets = [
        ("gpu", healthy["gpu-a100"],
         lambda x: x.fits(milli(gpu_req[1]) + sidecar[0], mem_bytes(gpu_req[2]) + sidecar[1], gpu_req[0])),
        ("cpu", healthy["cpu-general"],
         lambda x: x.fits(milli(cpu_req[1]) + sidecar[0], mem_bytes(cpu_req[2]) + sidecar[1], 0)),
    ]
    for kind, nodes, could_fit in targets:
        for x in nodes:
            while could_fit(x) and spare[kind]:
                p = spare[kind].pop()
                if kind == "gpu":
                    p.gpu = min(x.free_gpu, r.choice([1, 2, 4]))
                    p.cpu, p.mem = str(p.gpu * GPU_CPU_PER_GPU), f"{p.gpu * GPU_MEM_PER_GPU}Gi"
                else:
                    sizes = [s for s in CPU_RUN_REQUESTS
                             if x.fits(milli(s[0]) + sidecar[0], mem_bytes(s[1]) + sidecar[1], 0)]
                    if not sizes:
                        spare[kind].append(p)
                        break
                    p.cpu, p.mem = sizes[-1]
                request = run_request(p)
                if not x.fits(*request):
                    spare[kind].append(p)
                    break
                x.reserve(*request)
                p.node, p.pool, p.phase = x, x.pool, "Running"
                p.created = NOW - timedelta(seconds=r.randint(300, 86400))


# --------------------------------------------------------------------------
# Pod objects


class PodRecord:
    """What the event writer needs to know about a pod."""

    __slots__ = ("namespace", "name", "uid", "rv", "node", "phase", "created", "started",
                 "containers", "message", "pulled")


def kube_api_access(g):
    return {
        "name": "kube-api-access-" + g.suffix(5),
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                            "path": "namespace"}]}},
            ],
        },
    }


def full_image(image):
    """The image reference as the container runtime reports it."""
    first = image.split("/")[0]
    if "/" in image and ("." in first or ":" in first):
        return image
    return "docker.io/" + (image if "/" in image else "library/" + image)


def image_id(image):
    h = 0xcbf29ce484222325  # FNV-1a: stable across runs, unlike hash()
    for c in image.encode():
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return full_image(image).rsplit(":", 1)[0] + "@sha256:" + ("%016x" % h) * 4


def container_status(name, image, state, ready, started, cid=None, pulled=True):
    status = {"image": full_image(image), "imageID": image_id(image) if pulled else "", "lastState": {},
              "name": name, "ready": ready, "restartCount": 0, "started": started, "state": state}
    if cid:
        status["containerID"] = "containerd://" + cid
    return status


def cond(type_, status, when, reason=None, message=None):
    c = {"lastProbeTime": None, "lastTransitionTime": ts(when), "status": status, "type": type_}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


MESSAGES = {}  # (cause, cpu, memory, gpus) -> FailedScheduling message


def run_pod(g, p, run_index, nodes):
    """A Polyaxon job pod from its plan."""
    r = g.rng
    ns, node = p.ns, p.node
    uuid, name = p.uuid, p.name
    job = f"plx-operation-{uuid}"
    job_uid = g.uid()
    project = r.choice(PROJECTS[ns])
    run_name = r.choice(["train", "sweep", "eval", "finetune", "preprocess", "export"]) + f"-{run_index % 997}"
    main_image = r.choice(MAIN_IMAGES)
    requests = {"cpu": p.cpu, "memory": p.mem}
    limits = {"memory": p.mem}
    if p.gpu:
        requests["nvidia.com/gpu"] = limits["nvidia.com/gpu"] = str(p.gpu)
    env = [
        {"name": "POLYAXON_KEYS_RUN_INSTANCE", "value": f"{OWNER}.{project}.runs.{uuid}"},
        {"name": "POLYAXON_KEYS_K8S_NAMESPACE",
         "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
        {"name": "POLYAXON_KEYS_K8S_POD_ID",
         "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
        {"name": "POLYAXON_KEYS_ARTIFACTS_STORE_NAME", "value": "artifacts-store"},
        {"name": "POLYAXON_KEYS_LOG_LEVEL", "value": "INFO"},
    ]
    api_volume = kube_api_access(g)
    mounts = [
        {"mountPath": "/plx-context/artifacts", "name": "artifacts-context"},
        {"mountPath": "/plx-context/.auth", "name": "auth-context"},
        {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": api_volume["name"], "readOnly": True},
    ]
    common = {"imagePullPolicy": "IfNotPresent", "terminationMessagePath": "/dev/termination-log",
              "terminationMessagePolicy": "File"}
    lr = r.choice(["0.1", "0.01", "0.001", "3e-4"])
    main = dict(common, name="polyaxon-main", image=main_image, command=["/bin/bash", "-c"],
                args=[f"python train.py --project {project} --lr {lr} --epochs {r.randint(5, 100)}"],
                env=env, resources={"limits": limits, "requests": requests}, volumeMounts=mounts)
    sidecar_image = f"polyaxon/polyaxon-sidecar:{PLX_VERSION}"
    init_image = f"polyaxon/polyaxon-init:{PLX_VERSION}"
    sidecar = dict(common, name="polyaxon-sidecar", image=sidecar_image, command=["polyaxon", "sidecar"],
                   args=["--container-id=polyaxon-main", "--sync-interval=10", "--monitor-logs"], env=env[:3],
                   resources={"limits": {"cpu": "1", "memory": "1Gi"},
                              "requests": {"cpu": SIDECAR_REQUESTS[0], "memory": SIDECAR_REQUESTS[1]}},
                   volumeMounts=mounts)
    init = dict(common, name="polyaxon-init-auth", image=init_image, command=["polyaxon", "initializer", "auth"],
                env=env[:3], resources={"limits": {"cpu": "1", "memory": "200Mi"},
                                        "requests": {"cpu": INIT_REQUESTS[0], "memory": INIT_REQUESTS[1]}},
                volumeMounts=mounts[1:])
    volumes = [{"emptyDir": {}, "name": "artifacts-context"}, {"emptyDir": {}, "name": "auth-context"}, api_volume]
    tolerations = list(DEFAULT_TOLERATIONS)
    if p.gpu:
        tolerations.insert(0, GPU_TOLERATION)
    if p.pool == "gpu-infer" and p.cause is None:
        tolerations.insert(0, INFER_TOLERATION)
    spec = {
        "containers": [main, sidecar],
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "initContainers": [init],
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "restartPolicy": "Never",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "serviceAccount": "polyaxon-polyaxon-runs-sa",
        "serviceAccountName": "polyaxon-polyaxon-runs-sa",
        "terminationGracePeriodSeconds": 30,
        "tolerations": tolerations,
        "volumes": volumes,
    }
    if p.cause == "cordoned":
        spec["nodeSelector"] = {"eks.amazonaws.com/nodegroup": "gpu-h100"}
    elif p.cause == "node-selector":
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [
                {"key": "node.kubernetes.io/instance-type", "operator": "In",
                 "values": ["p4de.24xlarge", "p5e.48xlarge"]}]}]}}}
    elif p.cause == "unbound-claim":
        volumes.insert(1, {"name": "datasets", "persistentVolumeClaim": {"claimName": f"{project}-datasets"}})
        main["volumeMounts"] = mounts + [{"mountPath": "/data", "name": "datasets", "readOnly": True}]
    if node is not None:
        spec["nodeName"] = node.name

    pod_uid, rv = g.uid(), g.resource_version()
    metadata = {
        "annotations": {
            "operation.polyaxon.com/kind": "job",
            "operation.polyaxon.com/name": run_name,
            "operation.polyaxon.com/owner": OWNER,
            "operation.polyaxon.com/project": project,
        },
        "creationTimestamp": ts(p.created),
        "generateName": job + "-",
        "labels": {
            "app.kubernetes.io/component": "polyaxon-jobs",
            "app.kubernetes.io/instance": uuid,
            "app.kubernetes.io/managed-by": "polyaxon",
            "app.kubernetes.io/name": run_name,
            "app.kubernetes.io/part-of": "polyaxon-runs",
            "app.kubernetes.io/version": PLX_VERSION,
            "batch.kubernetes.io/controller-uid": job_uid,
            "batch.kubernetes.io/job-name": job,
            "controller-uid": job_uid,
            "job-name": job,
            "operation.polyaxon.com/uuid": uuid,
        },
        "name": name,
        "namespace": ns,
        "ownerReferences": [{"apiVersion": "batch/v1", "blockOwnerDeletion": True, "controller": True,
                             "kind": "Job", "name": job, "uid": job_uid}],
        "resourceVersion": rv,
        "uid": pod_uid,
    }

    rec = PodRecord()
    rec.namespace, rec.name, rec.uid, rec.rv = ns, name, pod_uid, rv
    rec.node = node.name if node is not None else None
    rec.phase, rec.created, rec.message = p.phase, p.created, None
    rec.containers = [("spec.initContainers{polyaxon-init-auth}", "polyaxon-init-auth", init_image),
                      ("spec.containers{polyaxon-main}", "polyaxon-main", main_image),
                      ("spec.containers{polyaxon-sidecar}", "polyaxon-sidecar", sidecar_image)]
    # The main image had to be pulled (not cached on the node); always so while creating.
    rec.pulled = p.phase == "Pending" or r.random() < 0.3
    if node is None:
        # Node usage is final once planned, so pods alike get the same message.
        key = (p.cause, p.cpu, p.mem, p.gpu)
        if key not in MESSAGES:
            MESSAGES[key] = failed_scheduling_message(spec, run_request(p), p.cause == "unbound-claim", nodes)
        rec.message = MESSAGES[key]
        rec.started = p.created + timedelta(seconds=1)
        status = {"conditions": [cond("PodScheduled", "False", p.created + timedelta(seconds=1),
                                      "Unschedulable", rec.message or "")],
                  "phase": "Pending", "qosClass": "Burstable"}
    else:
        status = scheduled_status(g, rec, node, p.phase)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}, rec


def scheduled_status(g, rec, node, phase):
    r = g.rng
    (_, init_name, init_image), (_, main_name, main_image), (_, side_name, side_image) = rec.containers
    created = rec.created
    sched = created + timedelta(seconds=1)
    start = sched + timedelta(seconds=r.randint(1, 4))
    init_done = start + timedelta(seconds=r.randint(2, 6))
    running_since = init_done + timedelta(seconds=r.randint(1, 3) + (r.randint(20, 240) if rec.pulled else 0))
    rec.started = start
    pod_ip = f"10.{100 + r.randint(0, 99)}.{r.randint(0, 255)}.{r.randint(2, 254)}"
    status = {"hostIP": node.ip, "hostIPs": [{"ip": node.ip}], "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
              "qosClass": "Burstable", "startTime": ts(start)}
    init_cid = g.hex(64)
    init_state = {"terminated": {"containerID": "containerd://" + init_cid, "exitCode": 0,
                                 "finishedAt": ts(init_done), "reason": "Completed",
                                 "startedAt": ts(start + timedelta(seconds=1))}}
    init_statuses = [container_status(init_name, init_image, init_state, True, False, cid=init_cid)]
    if phase == "Pending":  # scheduled, still pulling the main image
        unready = f"containers with unready status: [{main_name} {side_name}]"
        status.update({
            "conditions": [
                cond("PodReadyToStartContainers", "True", start),
                cond("Initialized", "True", init_done),
                cond("Ready", "False", created, "ContainersNotReady", unready),
                cond("ContainersReady", "False", created, "ContainersNotReady", unready),
                cond("PodScheduled", "True", sched),
            ],
            "containerStatuses": [
                container_status(main_name, main_image, {"waiting": {"reason": "PodInitializing"}}, False, False,
                                 pulled=False),
                container_status(side_name, side_image, {"waiting": {"reason": "PodInitializing"}}, False, False,
                                 pulled=False),
            ],
            "initContainerStatuses": init_statuses,
            "phase": "Pending",
        })
        return status
    main_cid, side_cid = g.hex(64), g.hex(64)
    if phase == "Running":
        main_state = side_state = {"running": {"startedAt": ts(running_since)}}
        ready, ready_reason, ready_since, started = "True", None, running_since, True
    else:
        finished = min(running_since + timedelta(minutes=r.randint(3, 600)), NOW - timedelta(seconds=30))
        finished = max(finished, running_since + timedelta(seconds=5))
        code, reason = (0, "Completed") if phase == "Succeeded" else (1, "Error")
        main_state = {"terminated": {"containerID": "containerd://" + main_cid, "exitCode": code,
                                     "finishedAt": ts(finished), "reason": reason, "startedAt": ts(running_since)}}
        side_state = {"terminated": {"containerID": "containerd://" + side_cid, "exitCode": 0,
                                     "finishedAt": ts(finished + timedelta(seconds=r.randint(1, 10))),
                                     "reason": "Completed", "startedAt": ts(running_since)}}
        ready, ready_reason, ready_since, started = "False", "PodCompleted" if phase == "Succeeded" else "PodFailed", finished, False
    status.update({
        "conditions": [
            cond("PodReadyToStartContainers", "True" if phase == "Running" else "False", start),
            cond("Initialized", "True", init_done, None if phase == "Running" else "PodCompleted"),
            cond("Ready", ready, ready_since, ready_reason),
            cond("ContainersReady", ready, ready_since, ready_reason),
            cond("PodScheduled", "True", sched),
        ],
        "containerStatuses": [
            container_status(main_name, main_image, main_state, phase == "Running", started, cid=main_cid),
            container_status(side_name, side_image, side_state, phase == "Running", started, cid=side_cid),
        ],
        "initContainerStatuses": init_statuses,
        "phase": phase,
    })
    return status


PLATFORM_APPS = [
    # (name, image, cpu, memory)
    ("polyaxon-polyaxon-api", f"polyaxon/polyaxon-api:{PLX_VERSION}", "500m", "1Gi"),
    ("polyaxon-polyaxon-gateway", f"polyaxon/polyaxon-gateway:{PLX_VERSION}", "250m", "512Mi"),
    ("polyaxon-polyaxon-streams", f"polyaxon/polyaxon-api:{PLX_VERSION}", "250m", "512Mi"),
    ("polyaxon-polyaxon-operator", f"polyaxon/polyaxon-operator:{PLX_VERSION}", "100m", "256Mi"),
    ("polyaxon-polyaxon-worker", f"polyaxon/polyaxon-api:{PLX_VERSION}", "500m", "1Gi"),
]
OTHER_APPS = [
    ("tensorboard-viewer", "tensorflow/tensorflow:2.18.0", "250m", "1Gi"),
    ("feature-store-sync", "acme/feature-sync:3.2.1", "500m", "2Gi"),
    ("label-studio", "heartexlabs/label-studio:1.14.0", "500m", "2Gi"),
    ("dataset-cache", "redis:7.4-alpine", "100m", "512Mi"),
]


def app_pod(g, p):
    """A Deployment's pod that is not a Polyaxon run (platform, tools)."""
    r = g.rng
    ns, node = p.ns, p.node
    app, image, cpu, mem = p.app
    rs_hash, name = p.rs_hash, p.name
    api_volume = kube_api_access(g)
    pod_uid, rv = g.uid(), g.resource_version()
    labels = {"app.kubernetes.io/name": app, "pod-template-hash": rs_hash}
    if ns == "polyaxon":
        labels.update({"app.kubernetes.io/instance": "polyaxon", "app.kubernetes.io/managed-by": "Helm",
                       "app.kubernetes.io/part-of": "polyaxon-core", "helm.sh/chart": f"polyaxon-{PLX_VERSION}"})
    cname = app.split("-")[-1]
    container = {
        "image": image, "imagePullPolicy": "IfNotPresent", "name": cname,
        "ports": [{"containerPort": 8000, "name": "http", "protocol": "TCP"}],
        "resources": {"limits": {"memory": mem}, "requests": {"cpu": cpu, "memory": mem}},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                          "name": api_volume["name"], "readOnly": True}],
    }
    spec = {
        "containers": [container], "dnsPolicy": "ClusterFirst", "enableServiceLinks": True,
        "nodeName": node.name, "preemptionPolicy": "PreemptLowerPriority", "priority": 0,
        "restartPolicy": "Always", "schedulerName": "default-scheduler", "securityContext": {},
        "serviceAccount": "default", "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30, "tolerations": list(DEFAULT_TOLERATIONS),
        "volumes": [api_volume],
    }
    created = p.created
    start = created + timedelta(seconds=2)
    pod_ip = f"10.{100 + r.randint(0, 99)}.{r.randint(0, 255)}.{r.randint(2, 254)}"
    cid = g.hex(64)
    running = p.phase == "Running"
    if running:
        state = {"running": {"startedAt": ts(start + timedelta(seconds=3))}}
    else:  # its ReplicaSet was scaled down by a rollout; kept until garbage collected
        state = {"terminated": {"containerID": "containerd://" + cid, "exitCode": 0,
                                "finishedAt": ts(min(start + timedelta(hours=r.randint(1, 40)), NOW)),
                                "reason": "Completed", "startedAt": ts(start + timedelta(seconds=3))}}
    ready = "True" if running else "False"
    status = {
        "conditions": [
            cond("PodReadyToStartContainers", ready, start),
            cond("Initialized", "True", start),
            cond("Ready", ready, start + timedelta(seconds=9)),
            cond("ContainersReady", ready, start + timedelta(seconds=9)),
            cond("PodScheduled", "True", created + timedelta(seconds=1)),
        ],
        "containerStatuses": [container_status(cname, image, state, running, running, cid=cid)],
        "hostIP": node.ip, "hostIPs": [{"ip": node.ip}], "phase": p.phase, "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}], "qosClass": "Burstable", "startTime": ts(start),
    }
    metadata = {
        "creationTimestamp": ts(created), "generateName": f"{app}-{rs_hash}-", "labels": labels,
        "name": name, "namespace": ns,
        "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True,
                             "kind": "ReplicaSet", "name": f"{app}-{rs_hash}", "uid": g.uid()}],
        "resourceVersion": rv, "uid": pod_uid,
    }
    rec = PodRecord()
    rec.namespace, rec.name, rec.uid, rec.rv = ns, name, pod_uid, rv
    rec.node, rec.phase, rec.created, rec.message = node.name, p.phase, created, None
    rec.started = start
    rec.containers = [(f"spec.containers{{{cname}}}", cname, image)]
    rec.pulled = False
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}, rec


# --------------------------------------------------------------------------
# Events


def event_name(g, pod_name, when):
    return "%s.%x" % (pod_name, int(when.timestamp()) * 1_000_000_000 + g.rng.randint(0, 999_999_999))


def involved(rec, field_path=None):
    obj = {"apiVersion": "v1", "kind": "Pod", "name": rec.name, "namespace": rec.namespace,
           "resourceVersion": rec.rv, "uid": rec.uid}
    if field_path:
        obj["fieldPath"] = field_path
    return obj


def kubelet_event(g, rec, when, reason, message, field_path, type_="Normal"):
    return {
        "apiVersion": "v1",
        "count": 1,
        "eventTime": None,
        "firstTimestamp": ts(when),
        "involvedObject": involved(rec, field_path),
        "kind": "Event",
        "lastTimestamp": ts(when),
        "message": message,
        "metadata": {"creationTimestamp": ts(when), "name": event_name(g, rec.name, when),
                     "namespace": rec.namespace, "resourceVersion": g.resource_version(), "uid": g.uid()},
        "reason": reason,
        "reportingComponent": "kubelet",
        "reportingInstance": rec.node,
        "source": {"component": "kubelet", "host": rec.node},
        "type": type_,
    }


SCHEDULER_INSTANCE = "default-scheduler-ip-10-0-0-11.ec2.internal"


def scheduler_event(g, rec, first, last, count, reason, message, type_, style):
    """kube-scheduler records events.k8s.io/v1 events; kubectl shows them as
    core/v1 with eventTime (and series when repeated) and null
    first/lastTimestamp. With style "legacy" they look like the old core/v1
    recorder's: count, firstTimestamp, lastTimestamp, source.component."""
    meta = {"creationTimestamp": ts(first), "name": event_name(g, rec.name, first),
            "namespace": rec.namespace, "resourceVersion": g.resource_version(), "uid": g.uid()}
    if style == "legacy":
        return {
            "apiVersion": "v1", "count": count, "eventTime": None, "firstTimestamp": ts(first),
            "involvedObject": involved(rec), "kind": "Event", "lastTimestamp": ts(last),
            "message": message, "metadata": meta, "reason": reason,
            "reportingComponent": "default-scheduler", "reportingInstance": "",
            "source": {"component": "default-scheduler"}, "type": type_,
        }
    event = {
        "action": "Scheduling" if reason == "FailedScheduling" else "Binding",
        "apiVersion": "v1", "eventTime": micro_ts(first), "firstTimestamp": None,
        "involvedObject": involved(rec), "kind": "Event", "lastTimestamp": None,
        "message": message, "metadata": meta, "reason": reason,
        "reportingComponent": "default-scheduler", "reportingInstance": SCHEDULER_INSTANCE,
        "source": {}, "type": type_,
    }
    if count > 1:
        event["series"] = {"count": count, "lastObservedTime": micro_ts(last)}
    return event


def events_wanted(rec):
    if rec.node is None:
        return 1
    n = 1 + 3 * len(rec.containers) + (1 if rec.pulled else 0)
    if rec.phase == "Pending":  # stops at pulling the main image
        n = 1 + 3 + 1
    return n


def pod_events(g, rec, budget, style):
    """Up to `budget` events for one pod, in the order they happened."""
    r = g.rng
    if rec.node is None:  # unscheduled: one FailedScheduling, repeated
        first = rec.created + timedelta(seconds=1, microseconds=r.randint(0, 999_999))
        age = (NOW - first).total_seconds()
        count = max(1, min(int(age // 300) + r.randint(0, 6), 1000))
        last = max(first, NOW - timedelta(seconds=r.randint(5, 290))) if count > 1 else first
        return [scheduler_event(g, rec, first, last, count, "FailedScheduling", rec.message, "Warning", style)][:budget]
    when = rec.created + timedelta(seconds=1, microseconds=r.randint(0, 999_999))
    out = [scheduler_event(g, rec, when, when, 1, "Scheduled",
                           f"Successfully assigned {rec.namespace}/{rec.name} to {rec.node}", "Normal", style)]
    t = rec.started
    for field_path, cname, image in rec.containers:
        if len(out) >= budget:
            break
        if rec.pulled and cname == "polyaxon-main":
            out.append(kubelet_event(g, rec, t, "Pulling", f'Pulling image "{image}"', field_path))
            if rec.phase == "Pending":
                break
            secs = r.uniform(20, 240)
            t = t + timedelta(seconds=int(secs))
            size = r.randint(2_000_000_000, 12_000_000_000)
            out.append(kubelet_event(
                g, rec, t, "Pulled",
                f'Successfully pulled image "{image}" in {secs:.3f}s ({secs + r.uniform(0, 2):.3f}s including '
                f'waiting). Image size: {size} bytes.', field_path))
        else:
            out.append(kubelet_event(g, rec, t, "Pulled",
                                     f'Container image "{image}" already present on machine', field_path))
        out.append(kubelet_event(g, rec, t, "Created", f"Created container: {cname}", field_path))
        t = t + timedelta(seconds=1)
        out.append(kubelet_event(g, rec, t, "Started", f"Started container {cname}", field_path))
        t = t + timedelta(seconds=r.randint(2, 6))
    return out[:budget]


# --------------------------------------------------------------------------
# Claims and RBAC: what `kubectl get pvc`, `serviceaccounts,roles,rolebindings`
# and the cluster-scoped storage classes and cluster roles add to a snapshot.

RBAC_API = "rbac.authorization.k8s.io/v1"
HELM_LABELS = {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/part-of": "polyaxon-core",
               "app.kubernetes.io/version": PLX_VERSION, "heritage": "Helm", "release": "polyaxon"}
RUNS_SA = "polyaxon-polyaxon-runs-sa"
AGENT_SA = "polyaxon-polyaxon-agent-sa"
READ_RUNS = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["events", "pods/status", "pods/log"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["core.polyaxon.com"], "resources": ["operations"], "verbs": ["get", "list", "watch"]},
]
AGENT_RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete", "get", "list", "patch", "watch"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "delete", "get", "list", "patch", "watch"]},
    {"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["create", "delete", "get", "patch", "update"]},
    {"apiGroups": [""], "resources": ["events", "pods/status", "pods/log"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["core.polyaxon.com"], "resources": ["operations"],
     "verbs": ["create", "delete", "get", "list", "patch", "watch"]},
]
CREATED = NODES_CREATED + timedelta(days=2)


def meta(g, name, namespace=None, labels=None, when=CREATED):
    m = {"creationTimestamp": ts(when), "name": name, "resourceVersion": g.resource_version(), "uid": g.uid()}
    if namespace is not None:
        m["namespace"] = namespace
    if labels:
        m["labels"] = dict(labels)
    return m


def claim_objects(g, ns, pods_n):
    """Per project, a Bound outputs claim and the datasets claim the
    unbound-claim runs mount: Pending on a StorageClass nobody created. Plus
    one Bound scratch claim per ~100 pods, spread over the namespaces."""
    out = []
    for project in PROJECTS[ns]:
        out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "metadata": meta(g, f"{project}-datasets", ns),
                    "spec": {"accessModes": ["ReadOnlyMany"], "resources": {"requests": {"storage": "500Gi"}},
                             "storageClassName": "efs-datasets", "volumeMode": "Filesystem"},
                    "status": {"phase": "Pending"}})
    scratch = max(1, pods_n // 100 // len(NAMESPACES))
    names = [f"{project}-outputs" for project in PROJECTS[ns]] + [f"scratch-{i:05d}" for i in range(scratch)]
    for name in names:
        volume = "pvc-" + g.uid()
        m = meta(g, name, ns)
        m["annotations"] = {"pv.kubernetes.io/bind-completed": "yes",
                            "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com"}
        m["finalizers"] = ["kubernetes.io/pvc-protection"]
        out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": m,
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "100Gi"}},
                             "storageClassName": "gp3", "volumeMode": "Filesystem", "volumeName": volume},
                    "status": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "100Gi"},
                               "phase": "Bound"}})
    return sorted(out, key=lambda o: o["metadata"]["name"])


def rbac_objects(g, ns, people):
    """The chart's service accounts, Roles and RoleBindings for the agent and
    the runs in every namespace, and one RoleBinding per person of the team
    to the aggregated edit or view ClusterRole."""
    out = []
    accounts = ["default", RUNS_SA] + ([AGENT_SA] if ns == "polyaxon" else [])
    for name in accounts:
        out.append({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": meta(g, name, ns, None if name == "default" else HELM_LABELS)})
    for role, rules in (("polyaxon-polyaxon-agent-role", AGENT_RULES), ("polyaxon-polyaxon-runs-role", READ_RUNS)):
        out.append({"apiVersion": RBAC_API, "kind": "Role", "metadata": meta(g, role, ns, HELM_LABELS),
                    "rules": rules})
    for binding, role, sa_ns, sa in (
            ("polyaxon-polyaxon-agent-role-binding", "polyaxon-polyaxon-agent-role", "polyaxon", AGENT_SA),
            ("polyaxon-polyaxon-runs-role-binding", "polyaxon-polyaxon-runs-role", ns, RUNS_SA)):
        out.append({"apiVersion": RBAC_API, "kind": "RoleBinding", "metadata": meta(g, binding, ns, HELM_LABELS),
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
                    "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": sa_ns}]})
    for person in people:
        role = "edit" if g.rng.random() < 0.6 else "view"
        out.append({"apiVersion": RBAC_API, "kind": "RoleBinding",
                    "metadata": meta(g, f"{person}-{role}", ns),
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                                  "name": f"{person}@acme.example"}]})
    return out


def cluster_objects(g):
    """Storage classes (gp3 only: the datasets claims ask for one that is
    missing) and the default cluster roles and bindings the team uses."""
    out = [{"allowVolumeExpansion": True, "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": meta(g, "gp3", None, None, NODES_CREATED), "parameters": {"type": "gp3"},
            "provisioner": "ebs.csi.aws.com", "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer"}]
    everything = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}]
    write = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    read = ["get", "list", "watch"]
    work = [{"apiGroups": [""], "resources": ["pods", "pods/log", "configmaps", "services", "persistentvolumeclaims"]},
            {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"]},
            {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"]}]
    for name, rules in (("cluster-admin", everything),
                        ("edit", [dict(r, verbs=write) for r in work]),
                        ("view", [dict(r, verbs=read) for r in work])):
        out.append({"apiVersion": RBAC_API, "kind": "ClusterRole",
                    "metadata": meta(g, name, None, {"kubernetes.io/bootstrapping": "rbac-defaults"}, NODES_CREATED),
                    "rules": rules})
    out.append({"apiVersion": RBAC_API, "kind": "ClusterRoleBinding",
                "metadata": meta(g, "cluster-admin", None, {"kubernetes.io/bootstrapping": "rbac-defaults"},
                                 NODES_CREATED),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]})
    return out


# --------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description="Generate a synthetic Kubernetes snapshot "
                                            "(kubectl get -o json output) for benchmarking pxdoctor.")
    p.add_argument("--out", required=True, help="snapshot directory to write (created if missing)")
    p.add_argument("--size", choices=list(SIZES),
                   help="preset node/pod/event counts (default small); --nodes/--pods/--events override it: "
                        + ", ".join(f"{k}={v[0]}/{v[1]}/{v[2]}" for k, v in SIZES.items()))
    p.add_argument("--nodes", type=int)
    p.add_argument("--pods", type=int)
    p.add_argument("--events", type=int)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--indent", default="4",
                   help="JSON indent, 4 as kubectl prints it (default), or 0/none: one line per file, "
                        "much faster to write; run.sh uses none above small")
    p.add_argument("--scheduler-events", choices=["modern", "legacy"], default="modern",
                   help="modern (default): scheduler events as kubectl shows them on a 1.33 cluster "
                        "(eventTime, series, null first/lastTimestamp, empty source); legacy: count, "
                        "firstTimestamp, lastTimestamp and source.component like the kubelet's")
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)

    nodes_n, pods_n, events_n = SIZES[args.size or "small"]
    nodes_n = args.nodes if args.nodes is not None else nodes_n
    pods_n = args.pods if args.pods is not None else pods_n
    events_n = args.events if args.events is not None else events_n
    if nodes_n < 1 or pods_n < 0 or events_n < 0:
        p.error("--nodes must be >= 1, --pods and --events >= 0")
    indent = 0 if args.indent.lower() in ("0", "none", "null") else int(args.indent)

    clock = time.monotonic()
    g = Gen(args.seed)
    os.makedirs(args.out, exist_ok=True)

    def say(msg):
        if not args.quiet:
            print(f"[{time.monotonic() - clock:6.1f}s] {msg}", file=sys.stderr)

    nodes = plan_nodes(g, nodes_n)
    by_ns = plan_pods(g, nodes, pods_n)

    w = ListWriter(os.path.join(args.out, "nodes.json"), indent)
    for x in nodes:
        w.write(node_object(g, x))
    w.close()
    say(f"nodes.json: {len(nodes)} nodes ({sum(x.cordoned for x in nodes)} cordoned, "
        f"{sum(x.unreachable for x in nodes)} unreachable, {sum(x.disk_pressure for x in nodes)} disk pressure)")

    records = []
    phases = {}
    causes = {}
    fits = 0
    run_index = 0
    for ns in NAMESPACES:
        os.makedirs(os.path.join(args.out, ns), exist_ok=True)
        w = ListWriter(os.path.join(args.out, ns, "pods.json"), indent)
        for plan in by_ns[ns]:
            if plan.what == "app":
                obj, rec = app_pod(g, plan)
            else:
                run_index += 1
                obj, rec = run_pod(g, plan, run_index, nodes)
                if plan.cause:
                    causes[plan.cause] = causes.get(plan.cause, 0) + 1
                    if rec.message is None:
                        fits += 1
            w.write(obj)
            records.append(rec)
            phases[rec.phase] = phases.get(rec.phase, 0) + 1
        w.close()
    say(f"pods.json: {len(records)} pods in {len(NAMESPACES)} namespaces, {dict(sorted(phases.items()))}; "
        f"unscheduled runs by cause: {causes}")
    if fits:
        say(f"warning: {fits} unscheduled pods would fit a node (not enough pods to fill the nodes)")

    # Events: FailedScheduling for every unscheduled pod first, then the newest
    # scheduled pods' events until the budget is spent.
    budgets = {}
    left = events_n
    for rec in records:
        if rec.node is None and left > 0:
            budgets[id(rec)] = 1
            left -= 1
    for rec in sorted((x for x in records if x.node is not None), key=lambda x: x.created, reverse=True):
        if left <= 0:
            break
        n = min(left, events_wanted(rec))
        budgets[id(rec)] = n
        left -= n
    if left > 0:
        say(f"note: {events_n - left} events, not {events_n}: every pod already has all of its events")
    written = 0
    for ns in NAMESPACES:
        w = ListWriter(os.path.join(args.out, ns, "events.json"), indent)
        for rec in records:
            if rec.namespace == ns and id(rec) in budgets:
                events = pod_events(g, rec, budgets[id(rec)], args.scheduler_events)
                for event in sorted(events, key=lambda e: e["metadata"]["name"]):  # as kubectl lists them
                    w.write(event)
                    written += 1
        w.close()
    say(f"events.json: {written} events")

    # After pods and events, so that adding these left the other files as they were.
    w = ListWriter(os.path.join(args.out, "cluster.json"), indent)
    for obj in cluster_objects(g):
        w.write(obj)
    w.close()
    people = [f"user-{i:04d}" for i in range(max(5, pods_n // 200))]
    claims = rbac = 0
    for k, ns in enumerate(NAMESPACES):
        w = ListWriter(os.path.join(args.out, ns, "pvcs.json"), indent)
        for obj in claim_objects(g, ns, pods_n):
            w.write(obj)
            claims += 1
        w.close()
        w = ListWriter(os.path.join(args.out, ns, "rbac.json"), indent)
        for obj in rbac_objects(g, ns, people[k::len(NAMESPACES)]):
            w.write(obj)
            rbac += 1
        w.close()
    say(f"pvcs.json: {claims} claims; rbac.json: {rbac} service accounts, roles and bindings; "
        f"cluster.json: storage class, cluster roles")

    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.out) for f in fs
                if f.endswith(".json"))
    say(f"done: {args.out}, {total / 2**20:.1f} MiB of JSON")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Generate a synthetic Kubernetes snapshot for benchmarking pxdoctor.

The snapshot is a directory of objects as `kubectl get -o json` prints them:

    DIR/nodes.json              kubectl get nodes -o json
    DIR/<namespace>/pods.json   kubectl get pods -n <namespace> -o json
    DIR/<namespace>/events.json kubectl get events -n <namespace> -o json

Most pods are Polyaxon run pods (a Job's pod: polyaxon-init-auth, then
polyaxon-main and polyaxon-sidecar); a few percent are Pending and
unscheduled, each with a PodScheduled=False condition and a FailedScheduling
event whose wording matches what kube-scheduler 1.33 writes for the nodes of
the snapshot (taints, cordoned nodes, full GPU nodes, unbound claims, node
selectors that match nothing). The rest of the event budget goes to the
kubelet's Pulled/Created/Started and the scheduler's Scheduled events of the
newest pods, as in a cluster whose events expire after an hour.

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
# Share of the run pods per namespace (same order as NAMESPACES).
NAMESPACE_WEIGHTS = [0.15, 0.30, 0.25, 0.22, 0.08]

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

# Node pools: (nodegroup, instance type, cpu, memory capacity Ki, gpus, gpu product)
POOLS = {
    "cpu-general": ("m6i.4xlarge", 16, 65_039_984, 0, None),
    "gpu-a100": ("p4d.24xlarge", 96, 1_176_954_820, 8, "NVIDIA-A100-SXM4-40GB"),
    "gpu-infer": ("g5.12xlarge", 48, 195_971_196, 4, "NVIDIA-A10G"),
    "gpu-h100": ("p5.48xlarge", 192, 2_097_152_000, 8, "NVIDIA-H100-80GB-HBM3"),
}
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]

PENDING_CAUSES = ["gpu", "cpu-memory", "cordoned", "unbound-claim", "node-selector"]


def ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_ts(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Gen:
    """Random helpers on one seeded generator, plus cluster-wide counters."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.rv = 4_000_000

    def hex(self, n):
        return "%0*x" % (n, self.rng.getrandbits(4 * n))

    def uid(self):
        h = self.hex(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"

    def suffix(self, n=5):
        r = self.rng
        return "".join(r.choice(SUFFIX_ALPHABET) for _ in range(n))

    def resource_version(self):
        self.rv += self.rng.randint(1, 40)
        return str(self.rv)


# --------------------------------------------------------------------------
# Output: a `List` written item by item, formatted as kubectl formats it.


class ListWriter:
    """Writes {"apiVersion": "v1", "items": [...], "kind": "List", ...}.

    kubectl prints unstructured objects with sorted keys and 4-space indents;
    with indent=None the same document is written on one line.
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
            self.f.write(
                '],\n%s"kind": "List",\n%s"metadata": {\n%s%s"resourceVersion": ""\n%s}\n}\n'
                % (pad, pad, pad, pad, pad)
            )
        else:
            self.f.write('],"kind":"List","metadata":{"resourceVersion":""}}\n')
        self.f.close()


# --------------------------------------------------------------------------
# Nodes


class NodeInfo:
    __slots__ = (
        "name", "pool", "ip", "cordoned", "unreachable", "disk_pressure", "tainted_infer",
        "cpu", "mem", "gpu", "pods", "free_cpu", "free_mem", "free_gpu", "free_pods",
    )


def plan_nodes(g, n):
    """Decides each node's pool and health; returns NodeInfo records."""
    h100 = max(1, round(n * 0.015))
    infer = max(1, round(n * 0.10))
    a100 = max(1, round(n * 0.28))
    cpu = max(1, n - h100 - infer - a100)
    pools = ["cpu-general"] * cpu + ["gpu-a100"] * a100 + ["gpu-infer"] * infer + ["gpu-h100"] * h100
    pools = pools[:n]
    g.rng.shuffle(pools)
    nodes = []
    for i, pool in enumerate(pools):
        k = i + 4096 + 17
        ip = f"10.{16 + (k >> 16)}.{(k >> 8) & 255}.{k & 255}"
        info = NodeInfo()
        info.name = f"ip-{ip.replace('.', '-')}.ec2.internal"
        info.pool = pool
        info.ip = ip
        _, cpus, mem_ki, gpus, _ = POOLS[pool]
        info.cpu = cpus * 1000 - 110 - cpus * 2  # allocatable millicores
        info.mem = (mem_ki - 1_016_832) * 1024  # allocatable bytes
        info.gpu = gpus
        info.pods = 110
        info.cordoned = pool == "gpu-h100"  # the H100 pool is drained for maintenance
        info.unreachable = False
        info.disk_pressure = False
        info.tainted_infer = pool == "gpu-infer"
        info.free_cpu, info.free_mem, info.free_gpu, info.free_pods = (
            info.cpu, info.mem, info.gpu, info.pods)
        nodes.append(info)
    # A few more problems, on CPU and A100 nodes only.
    others = [x for x in nodes if x.pool in ("cpu-general", "gpu-a100")]
    g.rng.shuffle(others)
    k_cordon = max(1, round(n * 0.005))
    k_unreach = max(1, round(n * 0.01))
    k_disk = max(1, round(n * 0.01))
    for x in others[:k_cordon]:
        x.cordoned = True
    for x in others[k_cordon:k_cordon + k_unreach]:
        x.unreachable = True
    for x in others[k_cordon + k_unreach:k_cordon + k_unreach + k_disk]:
        x.disk_pressure = True
    return nodes


def node_object(g, info, index):
    _, cpus, mem_ki, gpus, product = POOLS[info.pool]
    instance_type = POOLS[info.pool][0]
    zone = ZONES[index % len(ZONES)]
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": instance_type,
        "beta.kubernetes.io/os": "linux",
        "eks.amazonaws.com/capacityType": "ON_DEMAND",
        "eks.amazonaws.com/nodegroup": info.pool,
        "eks.amazonaws.com/nodegroup-image": "ami-0c2d3e4f5a6b7c8d9",
        "failure-domain.beta.kubernetes.io/region": "us-east-1",
        "failure-domain.beta.kubernetes.io/zone": zone,
        "k8s.io/cloud-provider-aws": "9f1c2e3d4b5a69788a7b6c5d4e3f2a1b",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": info.name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": instance_type,
        "topology.k8s.aws/zone-id": "use1-az%d" % (index % 3 + 1),
        "topology.kubernetes.io/region": "us-east-1",
        "topology.kubernetes.io/zone": zone,
    }
    if gpus:
        labels.update({
            "nvidia.com/gpu.count": str(gpus),
            "nvidia.com/gpu.present": "true",
            "nvidia.com/gpu.product": product,
            "pool": "gpu",
        })
    else:
        labels["pool"] = "cpu"
    if info.tainted_infer:
        labels["dedicated"] = "infer"

    taints = []
    if info.tainted_infer:
        taints.append({"effect": "NoSchedule", "key": "dedicated", "value": "infer"})
    if info.cordoned:
        taints.append({"effect": "NoSchedule", "key": "node.kubernetes.io/unschedulable",
                       "timeAdded": ts(NOW - timedelta(days=2, hours=3))})
    if info.unreachable:
        lost = NOW - timedelta(minutes=47)
        taints.append({"effect": "NoSchedule", "key": "node.kubernetes.io/unreachable",
                       "timeAdded": ts(lost)})
        taints.append({"effect": "NoExecute", "key": "node.kubernetes.io/unreachable",
                       "timeAdded": ts(lost + timedelta(seconds=5))})
    if info.disk_pressure:
        taints.append({"effect": "NoSchedule", "key": "node.kubernetes.io/disk-pressure",
                       "timeAdded": ts(NOW - timedelta(minutes=23))})

    cidr = f"10.{100 + (index >> 8) % 100}.{index & 255}.0/24"
    spec = {
        "podCIDR": cidr,
        "podCIDRs": [cidr],
        "providerID": f"aws:///{zone}/i-0{g.hex(16)}",
    }
    if taints:
        spec["taints"] = taints
    if info.cordoned:
        spec["unschedulable"] = True

    capacity = {
        "cpu": str(cpus),
        "ephemeral-storage": "104845292Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": f"{mem_ki}Ki",
        "pods": str(info.pods),
    }
    allocatable = dict(capacity)
    allocatable.update({
        "cpu": f"{info.cpu}m",
        "ephemeral-storage": "95551679124",
        "memory": f"{info.mem // 1024}Ki",
    })
    if gpus:
        capacity["nvidia.com/gpu"] = str(gpus)
        allocatable["nvidia.com/gpu"] = str(gpus)

    heartbeat = ts(NOW - timedelta(seconds=g.rng.randint(1, 50)))
    up_since = ts(NOW - timedelta(days=g.rng.randint(3, 60), minutes=g.rng.randint(0, 1440)))

    def condition(type_, status, reason, message, since=up_since, beat=heartbeat):
        return {"lastHeartbeatTime": beat, "lastTransitionTime": since, "message": message,
                "reason": reason, "status": status, "type": type_}

    if info.unreachable:
        beat = ts(NOW - timedelta(minutes=48))
        since = ts(NOW - timedelta(minutes=47))
        gone = "Kubelet stopped posting node status."
        conditions = [
            condition("MemoryPressure", "Unknown", "NodeStatusUnknown", gone, since, beat),
            condition("DiskPressure", "Unknown", "NodeStatusUnknown", gone, since, beat),
            condition("PIDPressure", "Unknown", "NodeStatusUnknown", gone, since, beat),
            condition("Ready", "Unknown", "NodeStatusUnknown", gone, since, beat),
        ]
    else:
        disk = (
            condition("DiskPressure", "True", "KubeletHasDiskPressure", "kubelet has disk pressure",
                      ts(NOW - timedelta(minutes=23)))
            if info.disk_pressure
            else condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                           "kubelet has no disk pressure")
        )
        conditions = [
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                      "kubelet has sufficient memory available"),
            disk,
            condition("PIDPressure", "False", "KubeletHasSufficientPID",
                      "kubelet has sufficient PID available"),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]

    images = [
        {"names": ["docker.io/polyaxon/polyaxon-sidecar@sha256:" + "5e8f" * 16,
                   f"docker.io/polyaxon/polyaxon-sidecar:{PLX_VERSION}"], "sizeBytes": 187_654_321},
        {"names": ["docker.io/polyaxon/polyaxon-init@sha256:" + "a1c3" * 16,
                   f"docker.io/polyaxon/polyaxon-init:{PLX_VERSION}"], "sizeBytes": 201_234_567},
        {"names": ["602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni@sha256:" + "0b7d" * 16,
                   "602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1"],
         "sizeBytes": 48_918_234},
        {"names": ["602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/kube-proxy@sha256:" + "9e2a" * 16,
                   "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/kube-proxy:v1.33.5-minimal-eksbuild.2"],
         "sizeBytes": 37_284_101},
        {"names": ["registry.k8s.io/pause@sha256:" + "7031" * 16, "registry.k8s.io/pause:3.10"],
         "sizeBytes": 320_368},
    ]
    if gpus:
        images.insert(0, {"names": ["nvcr.io/nvidia/pytorch@sha256:" + "c0de" * 16,
                                    "nvcr.io/nvidia/pytorch:24.10-py3"], "sizeBytes": 10_624_418_302})

    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "annotations": {
                "alpha.kubernetes.io/provided-node-ip": info.ip,
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
            "creationTimestamp": ts(NODES_CREATED + timedelta(minutes=index)),
            "labels": labels,
            "name": info.name,
            "resourceVersion": g.resource_version(),
            "uid": g.uid(),
        },
        "spec": spec,
        "status": {
            "addresses": [
                {"address": info.ip, "type": "InternalIP"},
                {"address": info.name, "type": "InternalDNS"},
                {"address": info.name, "type": "Hostname"},
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
                "systemUUID": "ec2" + g.hex(5) + "-" + g.hex(4) + "-" + g.hex(4) + "-" + g.hex(4) + "-" + g.hex(12),
            },
            "runtimeHandlers": [
                {"features": {"recursiveReadOnlyMounts": True, "userNamespaces": True}, "name": "runc"},
                {"features": {"recursiveReadOnlyMounts": True, "userNamespaces": True}, "name": ""},
            ],
        },
    }


# --------------------------------------------------------------------------
# Scheduler wording (kube-scheduler 1.33), computed from the node set.


def histogram(reasons):
    """FitError.Error(): "<count> <reason>" strings, sort.Strings-sorted."""
    return ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items() if count))


def failed_scheduling_message(cause, nodes, request_gpu):
    n = len(nodes)
    reasons = {}
    victims = 0  # nodes where preemption was tried and found nothing
    hopeless = 0  # UnschedulableAndUnresolvable nodes
    if cause == "unbound-claim":
        return (f"0/{n} nodes are available: pod has unbound immediate PersistentVolumeClaims. "
                f"preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling.")

    def add(reason, unresolvable=True):
        nonlocal victims, hopeless
        reasons[reason] = reasons.get(reason, 0) + 1
        if unresolvable:
            hopeless += 1

    for x in nodes:
        # Filter order: NodeUnschedulable, TaintToleration, NodeAffinity, NodeResourcesFit;
        # the first failing plugin is the node's reason.
        if x.cordoned:
            add("node(s) were unschedulable")
        elif x.unreachable:
            add("node(s) had untolerated taint {node.kubernetes.io/unreachable: }")
        elif x.disk_pressure:
            add("node(s) had untolerated taint {node.kubernetes.io/disk-pressure: }")
        elif x.tainted_infer:
            add("node(s) had untolerated taint {dedicated: infer}")
        elif cause in ("node-selector", "cordoned"):
            add("node(s) didn't match Pod's node affinity/selector")
        elif cause == "gpu":
            if x.free_gpu < request_gpu:
                add("Insufficient nvidia.com/gpu", unresolvable=False)
                victims += 1
                hopeless -= 0
            else:  # fits on GPU, but not on the rest of what it asks for
                add("Insufficient cpu", unresolvable=False)
                victims += 1
        elif cause == "cpu-memory":
            add("Insufficient cpu", unresolvable=False)
            if x.pool == "cpu-general" or x.free_mem < 480 * 2**30:
                reasons["Insufficient memory"] = reasons.get("Insufficient memory", 0) + 1
            victims += 1
    message = f"0/{n} nodes are available: {histogram(reasons)}."
    tail = {}
    if victims:
        tail["No preemption victims found for incoming pod"] = victims
    if hopeless:
        tail["Preemption is not helpful for scheduling"] = hopeless
    return message + f" preemption: 0/{n} nodes are available: {histogram(tail)}."


# --------------------------------------------------------------------------
# Pods


class PodRecord:
    """What the event writer needs to know about a pod."""

    __slots__ = ("namespace", "name", "uid", "rv", "node", "phase", "created", "started",
                 "containers", "cause", "message", "main_image", "pulled")


KUBE_API_VOLUME_SOURCES = None


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


DEFAULT_TOLERATIONS = [
    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists",
     "tolerationSeconds": 300},
    {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists",
     "tolerationSeconds": 300},
]


def container_status(name, image, image_id, state, ready, started, restarts=0, cid=None):
    status = {
        "image": image,
        "imageID": image_id,
        "lastState": {},
        "name": name,
        "ready": ready,
        "restartCount": restarts,
        "started": started,
        "state": state,
    }
    if cid:
        status["containerID"] = "containerd://" + cid
    return status


def image_id(image):
    repo = image.split(":")[0]
    if "/" not in repo.split("/")[0] or "." not in repo.split("/")[0]:
        repo = "docker.io/" + (repo if "/" in repo else "library/" + repo)
    return repo + "@sha256:" + format(abs(hash_str(image)), "064x")[:64]


def hash_str(s):
    # Stable across runs (unlike hash()): FNV-1a, stretched to 256 bits.
    h = 0xcbf29ce484222325
    for c in s.encode():
        h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return (h << 192) | (h << 128) | (h << 64) | h


def run_pod(g, ns, phase, cause, node, created, run_index, nodes_total):
    """A Polyaxon job pod. `node` is a NodeInfo or None."""
    r = g.rng
    uuid = g.hex(32)
    job = f"plx-operation-{uuid}"
    name = f"{job}-{g.suffix()}"
    job_uid = g.uid()
    project = r.choice(PROJECTS[ns])
    run_name = r.choice(["train", "sweep", "eval", "finetune", "preprocess", "export"]) + f"-{run_index % 997}"
    gpu = 0
    cpu_req, mem_req = r.choice([("500m", "2Gi"), ("1", "4Gi"), ("2", "8Gi"), ("4", "16Gi")])
    cpu_lim, mem_lim = None, mem_req
    if node is not None and node.gpu or cause in ("gpu", "cordoned"):
        gpu = {"gpu": 4, "cordoned": 8}.get(cause) or r.choice([1, 1, 2, 4])
        cpu_req, mem_req = str(gpu * 8), f"{gpu * 48}Gi"
        mem_lim = mem_req
    if cause == "cpu-memory":
        cpu_req, mem_req, mem_lim = "15", "500Gi", "500Gi"
    main_image = r.choice(MAIN_IMAGES)
    requests = {"cpu": cpu_req, "memory": mem_req}
    limits = {"memory": mem_lim}
    if cpu_lim:
        limits["cpu"] = cpu_lim
    if gpu:
        requests["nvidia.com/gpu"] = str(gpu)
        limits["nvidia.com/gpu"] = str(gpu)
    instance = f"{OWNER}.{project}.runs.{uuid}"
    env = [
        {"name": "POLYAXON_KEYS_RUN_INSTANCE", "value": instance},
        {"name": "POLYAXON_KEYS_K8S_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
        {"name": "POLYAXON_KEYS_K8S_POD_ID", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
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
    main = dict(common, name="polyaxon-main", image=main_image, command=["/bin/bash", "-c"],
                args=[f"python train.py --project {project} --lr {r.choice(['0.1', '0.01', '0.001', '3e-4'])} --epochs {r.randint(5, 100)}"],
                env=env, resources={"limits": limits, "requests": requests}, volumeMounts=mounts)
    sidecar_image = f"polyaxon/polyaxon-sidecar:{PLX_VERSION}"
    init_image = f"polyaxon/polyaxon-init:{PLX_VERSION}"
    sidecar = dict(common, name="polyaxon-sidecar", image=sidecar_image,
                   command=["polyaxon", "sidecar"],
                   args=["--container-id=polyaxon-main", "--sync-interval=10", "--monitor-logs"],
                   env=env[:3], resources={"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
                   volumeMounts=mounts)
    init = dict(common, name="polyaxon-init-auth", image=init_image, command=["polyaxon", "initializer", "auth"],
                env=env[:3], resources={"limits": {"cpu": "1", "memory": "200Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}},
                volumeMounts=mounts[1:])
    volumes = [
        {"emptyDir": {}, "name": "artifacts-context"},
        {"emptyDir": {}, "name": "auth-context"},
        api_volume,
    ]
    tolerations = list(DEFAULT_TOLERATIONS)
    if gpu:
        tolerations.insert(0, {"effect": "NoSchedule", "key": "nvidia.com/gpu", "operator": "Exists"})
    if node is not None and node.tainted_infer:
        tolerations.insert(0, {"effect": "NoSchedule", "key": "dedicated", "operator": "Equal", "value": "infer"})
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
    if cause == "cordoned":
        spec["nodeSelector"] = {"eks.amazonaws.com/nodegroup": "gpu-h100"}
    elif cause == "node-selector":
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [
                {"key": "node.kubernetes.io/instance-type", "operator": "In",
                 "values": ["p4de.24xlarge", "p5e.48xlarge"]}]}]}}}
    elif cause == "unbound-claim":
        claim = f"{project}-datasets"
        volumes.insert(1, {"name": "datasets", "persistentVolumeClaim": {"claimName": claim}})
        main["volumeMounts"] = mounts + [{"mountPath": "/data", "name": "datasets", "readOnly": True}]
    if node is not None:
        spec["nodeName"] = node.name

    pod_uid = g.uid()
    rv = g.resource_version()
    metadata = {
        "annotations": {
            "operation.polyaxon.com/kind": "job",
            "operation.polyaxon.com/name": run_name,
            "operation.polyaxon.com/owner": OWNER,
            "operation.polyaxon.com/project": project,
        },
        "creationTimestamp": ts(created),
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
    rec.phase, rec.created, rec.cause, rec.message = phase, created, cause, None
    rec.containers = [("spec.initContainers{polyaxon-init-auth}", "polyaxon-init-auth", init_image),
                      ("spec.containers{polyaxon-main}", "polyaxon-main", main_image),
                      ("spec.containers{polyaxon-sidecar}", "polyaxon-sidecar", sidecar_image)]
    rec.main_image = main_image
    rec.pulled = r.random() < 0.3  # the main image had to be pulled (not cached on the node)
    status = pod_status(g, rec, node, created, phase, cause, gpu, nodes_total)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}, rec


NODES_FOR_MESSAGES = None  # set in main(): the NodeInfo list


def pod_status(g, rec, node, created, phase, cause, gpu, nodes_total):
    r = g.rng

    def cond(type_, status, when, reason=None, message=None):
        c = {"lastProbeTime": None, "lastTransitionTime": ts(when), "status": status, "type": type_}
        if reason:
            c["reason"] = reason
        if message:
            c["message"] = message
        return c

    init_name, main_name, side_name = (c[1] for c in rec.containers)
    init_image, main_image, side_image = (c[2] for c in rec.containers)
    if node is None:
        rec.message = failed_scheduling_message(cause, NODES_FOR_MESSAGES, gpu)
        rec.started = created + timedelta(seconds=1)
        return {
            "conditions": [cond("PodScheduled", "False", created + timedelta(seconds=1),
                                "Unschedulable", rec.message)],
            "phase": "Pending",
            "qosClass": "Burstable",
        }
    sched = created + timedelta(seconds=1)
    start = sched + timedelta(seconds=r.randint(1, 4))
    init_done = start + timedelta(seconds=r.randint(2, 6) + (r.randint(20, 240) if rec.pulled else 0))
    running_since = init_done + timedelta(seconds=r.randint(1, 3))
    rec.started = start
    pod_ip = f"10.{100 + r.randint(0, 99)}.{r.randint(0, 255)}.{r.randint(2, 254)}"
    base = {
        "hostIP": node.ip,
        "hostIPs": [{"ip": node.ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "qosClass": "Burstable",
        "startTime": ts(start),
    }
    init_done_state = {"terminated": {"containerID": "containerd://" + g.hex(64), "exitCode": 0,
                                      "finishedAt": ts(init_done), "reason": "Completed",
                                      "startedAt": ts(start + timedelta(seconds=1))}}
    if phase == "Pending":  # scheduled, still pulling the main image
        base.update({
            "conditions": [
                cond("PodReadyToStartContainers", "True", start),
                cond("Initialized", "True", init_done),
                cond("Ready", "False", created, "ContainersNotReady",
                     f"containers with unready status: [{main_name} {side_name}]"),
                cond("ContainersReady", "False", created, "ContainersNotReady",
                     f"containers with unready status: [{main_name} {side_name}]"),
                cond("PodScheduled", "True", sched),
            ],
            "containerStatuses": [
                container_status(main_name, main_image, "", {"waiting": {"reason": "ContainerCreating"}}, False, False),
                container_status(side_name, side_image, "", {"waiting": {"reason": "PodInitializing"}}, False, False),
            ],
            "initContainerStatuses": [
                container_status(init_name, "docker.io/" + init_image, image_id(init_image), init_done_state,
                                 True, False, cid=init_done_state["terminated"]["containerID"][13:]),
            ],
            "phase": "Pending",
        })
        return base
    main_cid, side_cid = g.hex(64), g.hex(64)
    if phase == "Running":
        main_state = {"running": {"startedAt": ts(running_since)}}
        side_state = {"running": {"startedAt": ts(running_since)}}
        ready, ready_reason, ready_since = "True", None, running_since
        started = True
    else:
        finished = min(running_since + timedelta(minutes=r.randint(3, 600)), NOW - timedelta(seconds=30))
        finished = max(finished, running_since + timedelta(seconds=5))
        code, reason = (0, "Completed") if phase == "Succeeded" else (1, "Error")
        main_state = {"terminated": {"containerID": "containerd://" + main_cid, "exitCode": code,
                                     "finishedAt": ts(finished), "reason": reason,
                                     "startedAt": ts(running_since)}}
        side_state = {"terminated": {"containerID": "containerd://" + side_cid, "exitCode": 0,
                                     "finishedAt": ts(finished + timedelta(seconds=r.randint(1, 10))),
                                     "reason": "Completed", "startedAt": ts(running_since)}}
        ready, ready_reason, ready_since = "False", "PodCompleted" if phase == "Succeeded" else "PodFailed", finished
        started = False
    base.update({
        "conditions": [
            cond("PodReadyToStartContainers", "True" if phase == "Running" else "False", start),
            cond("Initialized", "True", init_done, "PodCompleted" if phase != "Running" else None),
            cond("Ready", ready, ready_since, ready_reason),
            cond("ContainersReady", ready, ready_since, ready_reason),
            cond("PodScheduled", "True", sched),
        ],
        "containerStatuses": [
            container_status(main_name, main_image if "/" in main_image.split(":")[0] and "." in main_image.split("/")[0] else "docker.io/" + (main_image if "/" in main_image else "library/" + main_image),
                             image_id(main_image), main_state, phase == "Running", started, cid=main_cid),
            container_status(side_name, "docker.io/" + side_image, image_id(side_image), side_state,
                             phase == "Running", started, cid=side_cid),
        ],
        "initContainerStatuses": [
            container_status(init_name, "docker.io/" + init_image, image_id(init_image), init_done_state,
                             True, False, cid=init_done_state["terminated"]["containerID"][13:]),
        ],
        "phase": phase,
    })
    if phase == "Failed":
        base["message"] = None
        del base["message"]
    return base


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


def app_pod(g, ns, phase, node, created):
    """A Deployment's pod that is not a Polyaxon run (platform, tools)."""
    r = g.rng
    apps = PLATFORM_APPS if ns == "polyaxon" else OTHER_APPS
    app, image, cpu, mem = apps[r.randrange(len(apps))]
    rs_hash = "".join(r.choice(SUFFIX_ALPHABET) for _ in range(10))
    name = f"{app}-{rs_hash}-{g.suffix()}"
    api_volume = kube_api_access(g)
    pod_uid, rv = g.uid(), g.resource_version()
    labels = {"app.kubernetes.io/name": app, "pod-template-hash": rs_hash}
    if ns == "polyaxon":
        labels.update({"app.kubernetes.io/instance": "polyaxon", "app.kubernetes.io/managed-by": "Helm",
                       "app.kubernetes.io/part-of": "polyaxon-core", "helm.sh/chart": "polyaxon-2.4.0"})
    container = {
        "image": image, "imagePullPolicy": "IfNotPresent", "name": app.split("-")[-1],
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
    start = created + timedelta(seconds=2)
    pod_ip = f"10.{100 + r.randint(0, 99)}.{r.randint(0, 255)}.{r.randint(2, 254)}"
    cid = g.hex(64)
    running = phase == "Running"
    if running:
        state = {"running": {"startedAt": ts(start + timedelta(seconds=3))}}
    else:  # replaced by a rollout
        state = {"terminated": {"containerID": "containerd://" + cid, "exitCode": 0,
                                "finishedAt": ts(min(start + timedelta(hours=r.randint(1, 40)), NOW)),
                                "reason": "Completed", "startedAt": ts(start + timedelta(seconds=3))}}
        phase = "Succeeded"
    ready = "True" if running else "False"
    status = {
        "conditions": [
            {"lastProbeTime": None, "lastTransitionTime": ts(start), "status": ready, "type": "PodReadyToStartContainers"},
            {"lastProbeTime": None, "lastTransitionTime": ts(start), "status": "True", "type": "Initialized"},
            {"lastProbeTime": None, "lastTransitionTime": ts(start + timedelta(seconds=9)), "status": ready, "type": "Ready"},
            {"lastProbeTime": None, "lastTransitionTime": ts(start + timedelta(seconds=9)), "status": ready, "type": "ContainersReady"},
            {"lastProbeTime": None, "lastTransitionTime": ts(created + timedelta(seconds=1)), "status": "True", "type": "PodScheduled"},
        ],
        "containerStatuses": [container_status(container["name"], "docker.io/" + (image if "/" in image else "library/" + image),
                                               image_id(image), state, running, running, cid=cid)],
        "hostIP": node.ip, "hostIPs": [{"ip": node.ip}], "phase": phase, "podIP": pod_ip,
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
    rec.node, rec.phase, rec.created, rec.cause, rec.message = node.name, phase, created, None, None
    rec.started = start
    rec.containers = [(f"spec.containers{{{container['name']}}}", container["name"], image)]
    rec.main_image, rec.pulled = image, False
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}, rec


def place(g, nodes_by_pool, pool, cpu_m, mem_b, gpu, tries=8):
    """Finds a healthy node with room in `pool` and reserves it; None when full."""
    candidates = nodes_by_pool[pool]
    if not candidates:
        return None
    r = g.rng
    for _ in range(tries):
        x = candidates[r.randrange(len(candidates))]
        if x.free_cpu >= cpu_m and x.free_mem >= mem_b and x.free_gpu >= gpu and x.free_pods >= 1:
            x.free_cpu -= cpu_m
            x.free_mem -= mem_b
            x.free_gpu -= gpu
            x.free_pods -= 1
            return x
    return None


# --------------------------------------------------------------------------
# Events


def event_name(g, pod_name, when):
    return "%s.%x" % (pod_name, int(when.timestamp() * 1e9) + g.rng.randint(0, 999_999))


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
    """kube-scheduler writes events.k8s.io/v1 events; kubectl shows them as core/v1
    with eventTime (and series when repeated) and null first/lastTimestamp.
    With style "legacy" they look like the old core/v1 recorder's."""
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


def pod_events(g, rec, budget, style):
    """Up to `budget` events for one pod, in the order they happen."""
    r = g.rng
    out = []
    if rec.node is None:  # unscheduled
        first = rec.created + timedelta(seconds=1)
        age = (NOW - first).total_seconds()
        # Retries back off up to 5 minutes, plus one per cluster change.
        count = max(1, min(int(age // 300) + r.randint(0, 6), 1000))
        last = first if count == 1 else NOW - timedelta(seconds=r.randint(5, 290))
        last = max(first, last)
        out.append(scheduler_event(g, rec, first, last, count, "FailedScheduling", rec.message, "Warning", style))
        return out
    when = rec.created + timedelta(seconds=1)
    out.append(scheduler_event(g, rec, when + timedelta(microseconds=r.randint(0, 999_999)), when, 1, "Scheduled",
                               f"Successfully assigned {rec.namespace}/{rec.name} to {rec.node}", "Normal", style))
    t = rec.started
    for i, (field_path, cname, image) in enumerate(rec.containers):
        if len(out) >= budget:
            break
        if rec.pulled and cname == "polyaxon-main":
            out.append(kubelet_event(g, rec, t, "Pulling", f'Pulling image "{image}"', field_path))
            secs = r.uniform(20, 240)
            t = t + timedelta(seconds=int(secs))
            if rec.phase == "Pending":
                break
            size = r.randint(2_000_000_000, 12_000_000_000)
            out.append(kubelet_event(g, rec, t, "Pulled",
                                     f'Successfully pulled image "{image}" in {secs:.3f}s ({secs + r.uniform(0, 2):.3f}s including waiting). Image size: {size} bytes.',
                                     field_path))
        else:
            out.append(kubelet_event(g, rec, t, "Pulled",
                                     f'Container image "{image}" already present on machine', field_path))
        out.append(kubelet_event(g, rec, t, "Created", f"Created container: {cname}", field_path))
        t = t + timedelta(seconds=1)
        out.append(kubelet_event(g, rec, t, "Started", f"Started container {cname}", field_path))
        if i == 0 and len(rec.containers) > 1:
            t = t + timedelta(seconds=r.randint(2, 6))
    return out[:budget]


# --------------------------------------------------------------------------


def split(total, weights):
    counts = [int(total * w) for w in weights]
    counts[0] += total - sum(counts)
    return counts


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="snapshot directory to write (created if missing)")
    p.add_argument("--size", choices=sorted(SIZES), help="preset node/pod/event counts; --nodes/--pods/--events override")
    p.add_argument("--nodes", type=int)
    p.add_argument("--pods", type=int)
    p.add_argument("--events", type=int)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--indent", default=None,
                   help="JSON indent as kubectl uses (4), or 0/none for one line per file; "
                        "default 4 for small snapshots (<= 5,000 pods), none above")
    p.add_argument("--scheduler-events", choices=["modern", "legacy"], default="modern",
                   help="modern (default): scheduler events as a 1.33 cluster shows them "
                        "(eventTime, series, null first/lastTimestamp); legacy: count, "
                        "firstTimestamp, lastTimestamp and source.component like kubelet events")
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)

    nodes_n, pods_n, events_n = SIZES.get(args.size or "small")
    if args.size is None and not all(v is not None for v in (args.nodes, args.pods, args.events)):
        if not any(v is not None for v in (args.nodes, args.pods, args.events)):
            p.error("give --size or --nodes/--pods/--events")
    nodes_n = args.nodes if args.nodes is not None else nodes_n
    pods_n = args.pods if args.pods is not None else pods_n
    events_n = args.events if args.events is not None else events_n
    if nodes_n < 1 or pods_n < 0 or events_n < 0:
        p.error("--nodes must be >= 1, --pods and --events >= 0")
    if args.indent is None:
        indent = 4 if pods_n <= 5_000 else 0
    elif args.indent.lower() in ("0", "none", "null"):
        indent = 0
    else:
        indent = int(args.indent)

    started = time.monotonic()
    g = Gen(args.seed)
    os.makedirs(args.out, exist_ok=True)

    def say(msg):
        if not args.quiet:
            print(f"[{time.monotonic() - started:6.1f}s] {msg}", file=sys.stderr)

    # Nodes.
    global NODES_FOR_MESSAGES
    nodes = plan_nodes(g, nodes_n)
    NODES_FOR_MESSAGES = nodes
    w = ListWriter(os.path.join(args.out, "nodes.json"), indent)
    for i, info in enumerate(nodes):
        w.write(node_object(g, info, i))
    w.close()
    say(f"nodes.json: {len(nodes)} nodes")
    healthy = {pool: [x for x in nodes if x.pool == pool and not (x.cordoned or x.unreachable or x.disk_pressure)]
               for pool in POOLS}
    any_node = {pool: [x for x in nodes if x.pool == pool] for pool in POOLS}
    fallback = [x for x in nodes if not (x.cordoned or x.unreachable)] or nodes

    # Pods: ~90% Polyaxon runs; ~3% of runs Pending and unscheduled (every cause at
    # least once), ~0.5% Pending on a node, ~1% Failed, then Running while the
    # nodes have room, Succeeded for the rest.
    app_n = pods_n // 10
    run_n = pods_n - app_n
    pending_n = min(run_n, max(len(PENDING_CAUSES), round(run_n * 0.03))) if run_n else 0
    r = g.rng
    kinds = ["pending"] * pending_n
    rest = run_n - pending_n
    creating_n = min(rest, round(run_n * 0.005))
    failed_n = min(rest - creating_n, round(run_n * 0.01))
    running_n = min(rest - creating_n - failed_n, round(run_n * 0.25))
    kinds += ["creating"] * creating_n + ["failed"] * failed_n + ["running"] * running_n
    kinds += ["succeeded"] * (run_n - len(kinds))
    r.shuffle(kinds)
    run_ns = [NAMESPACES[i] for i, c in enumerate(split(run_n, NAMESPACE_WEIGHTS)) for _ in range(c)]
    app_ns = [NAMESPACES[i] for i, c in enumerate(split(app_n, [0.3, 0.2, 0.2, 0.2, 0.1])) for _ in range(c)]
    # Assign (namespace, kind) pairs, then write namespace by namespace.
    per_ns = {ns: [] for ns in NAMESPACES}
    pending_seen = 0
    for ns, kind in zip(run_ns, kinds):
        cause = None
        if kind == "pending":
            cause = PENDING_CAUSES[pending_seen % len(PENDING_CAUSES)]
            pending_seen += 1
        per_ns[ns].append(("run", kind, cause))
    for ns in app_ns:
        per_ns[ns].append(("app", "running" if r.random() < 0.6 else "succeeded", None))
    for ns in NAMESPACES:
        r.shuffle(per_ns[ns])

    records = []
    phase_counts = {}
    run_index = 0
    for ns in NAMESPACES:
        os.makedirs(os.path.join(args.out, ns), exist_ok=True)
        w = ListWriter(os.path.join(args.out, ns, "pods.json"), indent)
        for what, kind, cause in per_ns[ns]:
            if what == "app":
                created = NOW - timedelta(seconds=r.randint(600, 30 * 86400))
                node = place(g, healthy, "cpu-general", 500, 2 << 30, 0) if kind == "running" else None
                if node is None:
                    kind = "succeeded"
                    node = r.choice(any_node["cpu-general"] or fallback)
                obj, rec = app_pod(g, ns, "Running" if kind == "running" else "Succeeded", node, created)
            else:
                run_index += 1
                gpu_run = r.random() < 0.35
                pool = "gpu-a100" if gpu_run else "cpu-general"
                if gpu_run and r.random() < 0.15 and healthy["gpu-infer"]:
                    pool = "gpu-infer"
                node = None
                if kind == "pending":
                    created = NOW - timedelta(seconds=r.randint(60, 3 * 3600))
                    phase = "Pending"
                else:
                    if kind in ("running", "creating"):
                        created = NOW - timedelta(seconds=r.randint(300 if kind == "running" else 20,
                                                                    86400 if kind == "running" else 280))
                        # Reserve what the scheduler would (sizes as run_pod picks them, upper bound).
                        gpus = 1 if gpu_run else 0
                        node = place(g, healthy, pool, 8000 if gpu_run else 4000,
                                     (48 << 30) if gpu_run else (16 << 30), gpus)
                        if node is None:
                            kind = "succeeded"
                    if node is None:
                        created = NOW - timedelta(seconds=r.randint(3600, 72 * 3600))
                        node = r.choice(any_node[pool] or any_node["cpu-general"] or fallback)
                    phase = {"running": "Running", "creating": "Pending", "failed": "Failed"}.get(kind, "Succeeded")
                obj, rec = run_pod(g, ns, phase, cause, node, created, run_index, nodes_n)
                if node is not None and node.gpu and phase in ("Running", "Pending"):
                    # run_pod may ask for more than the 1 GPU reserved above
                    want = int(obj["spec"]["containers"][0]["resources"]["requests"].get("nvidia.com/gpu", "0"))
                    node.free_gpu -= max(0, want - 1)
            w.write(obj)
            records.append(rec)
            phase_counts[rec.phase] = phase_counts.get(rec.phase, 0) + 1
        w.close()
    say(f"pods.json: {len(records)} pods in {len(NAMESPACES)} namespaces {dict(sorted(phase_counts.items()))}, "
        f"{pending_n} unscheduled")

    # Events: FailedScheduling for every unscheduled pod first, then the newest
    # pods' scheduler and kubelet events until the budget is spent.
    budgets = {}
    left = events_n
    for rec in records:
        if rec.node is None and left > 0:
            budgets[id(rec)] = 1
            left -= 1
    scheduled = sorted((rec for rec in records if rec.node is not None), key=lambda x: x.created, reverse=True)
    per_pod = 1 + 3 * 3  # Scheduled + Pulled/Created/Started per container (Pulling adds one)
    for rec in scheduled:
        if left <= 0:
            break
        n = min(left, per_pod + (1 if rec.pulled else 0))
        budgets[id(rec)] = n
        left -= n
    if left > 0:
        say(f"note: {left} of {events_n} events not written: every pod already has all its events")
    by_ns = {ns: [] for ns in NAMESPACES}
    for rec in records:
        if id(rec) in budgets:
            by_ns[rec.namespace].append(rec)
    written = 0
    for ns in NAMESPACES:
        w = ListWriter(os.path.join(args.out, ns, "events.json"), indent)
        for rec in by_ns[ns]:
            for event in pod_events(g, rec, budgets[id(rec)], args.scheduler_events):
                w.write(event)
                written += 1
        w.close()
    say(f"events.json: {written} events")

    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.out) for f in fs
                if f.endswith(".json"))
    say(f"done: {args.out}, {total / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

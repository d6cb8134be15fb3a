"""Seeds a haupt sandbox with RUNS runs over PROJECTS projects, as the agent
leaves them: a fifth failed (OOMKilled, image pull, quota, plain exit), a
tenth stopped while unschedulable, a twentieth queued for hours, the rest
succeeded; every run with its whole status history, finished runs with one
archived log file. For bench/records.sh.

Usage: python3 seed_records.py URL STORE RUNS PROJECTS
"""
import json
import os
import sys
import urllib.request
from datetime import datetime, timedelta, timezone

url, store, runs, projects = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
now = datetime.now(timezone.utc)


def at(minutes):
    return (now - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def post(path, body):
    request = urllib.request.Request(
        url + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


def cond(kind, minutes, reason, message=""):
    t = at(minutes)
    return {"type": kind, "status": "True", "reason": reason, "message": message,
            "last_update_time": t, "last_transition_time": t}


content = {"version": 1.1, "kind": "compiled_operation", "run": {"kind": "job", "container": {
    "name": "polyaxon-main", "image": "registry.acme.io/train:4",
    "resources": {"limits": {"nvidia.com/gpu": 4, "memory": "16Gi"}}}}}
raw = {"version": 1.1, "kind": "operation", "component": {"version": 1.1, "kind": "component", "run": content["run"]}}
verdict = ("0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: infer}, "
           "3 Insufficient nvidia.com/gpu. preemption: 0/4 nodes are available: 1 Preemption "
           "is not helpful for scheduling, 3 No preemption victims found for incoming pod.")
for p in range(projects):
    post("/api/v1/acme/projects/create", {"name": f"bench-{p}"})
for i in range(runs):
    uuid = f"{i:08x}be0c4a11ba5eba11c0ffee00"
    start = 60 + (i * 7) % 1200
    lead = [cond("created", start + 10, "OperationServiceInit", "Run is created"),
            cond("compiled", start + 9, "SchedulerPrepare", "Run is compiled"),
            cond("queued", start + 9, "SchedulerStart", "Run is queued")]
    sched = [cond("scheduled", start + 8, "AgentController", "Operation is scheduled")]
    running = [cond("running", start + 6, "OperatorRunning", "Operation is running")]
    kind = i % 20
    if kind in (0, 4, 8, 12):
        reason = ["OOMKilledExitCode 137", "ErrorExitCode 1", "OOMKilledExitCode 137", "ErrorExitCode 2"][kind // 4]
        status, conditions = "failed", lead + sched + running + [cond("failed", start, reason)]
    elif kind == 16:
        status, conditions = "failed", lead + sched + [
            cond("warning", start + 5, "ImagePullBackOff", 'Back-off pulling image "registry.acme.io/train:nope"'),
            cond("failed", start, "DeadlineExceeded", "Job was active longer than specified deadline")]
    elif kind in (2, 6):
        status, conditions = "stopped", lead + sched + [
            cond("warning", start + 5, "ContainersNotReady", verdict),
            cond("stopped", start, "EventHandler", "User requested to stop the run.")]
    elif kind == 10:
        status, conditions = "queued", lead
    else:
        status, conditions = "succeeded", lead + sched + running + [
            cond("succeeded", start, "OperatorSucceeded", "Operation has succeeded")]
    body = {"uuid": uuid, "name": f"run-{i}", "kind": "job", "status": status,
            "created_at": conditions[0]["last_transition_time"],
            "is_managed": True, "managed_by": "agent",
            "content": json.dumps(content), "raw_content": json.dumps(raw),
            "status_conditions": conditions}
    if status in ("failed", "stopped", "succeeded"):
        body["finished_at"] = conditions[-1]["last_transition_time"]
    post(f"/api/v1/acme/bench-{i % projects}/runs/sync", body)
    if status in ("failed", "succeeded") and i % 40 != 0:
        logs = os.path.join(store, uuid, "plxlogs")
        os.makedirs(logs, exist_ok=True)
        pod = f"plx-operation-{uuid}-abcde"
        with open(os.path.join(logs, pod + ".jsonl"), "w") as out:
            for n in range(20):
                out.write("\n" + json.dumps({"timestamp": at(start + 5), "node": "gpu-1", "pod": pod,
                                             "container": "polyaxon-main", "value": f"step {n}"}))
print(f"seeded {runs} runs in {projects} projects")

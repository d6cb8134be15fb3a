"""Runs Polyaxon's CE API server (haupt sandbox) on loopback for as long as
its stdin is open.

The records tests start one server per test binary and keep it in a static,
which Rust never drops: a plain child would outlive every test run. The test
holds this script's stdin instead; when the test process ends, for any
reason, the pipe closes and the server's process group is stopped with it.

Usage: python3 haupt_run.py HAUPT PORT ROOT
  HAUPT: the `haupt` executable (a venv's bin/haupt, haupt[sandbox]==2.18.0)
  ROOT:  a fresh directory: HOME and every POLYAXON_*_ROOT go under it; the
         sandbox's artifacts store (where `{uuid}/plxlogs/` is read) is
         ROOT/sandbox. The server's output goes to ROOT/haupt.log.
"""
import os
import signal
import subprocess
import sys

haupt, port, root = sys.argv[1], sys.argv[2], sys.argv[3]
env = dict(os.environ)
for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
    env.pop(name, None)
env["HOME"] = os.path.join(root, "home")
for var, sub in (
    ("POLYAXON_LOG_ROOT", "logs"),
    ("POLYAXON_ARCHIVES_ROOT", "archives"),
    ("POLYAXON_ARTIFACTS_ROOT", "artifacts"),
    ("POLYAXON_OFFLINE_ROOT", "offline"),
    ("POLYAXON_CONTEXT_ROOT", "context"),
):
    env[var] = os.path.join(root, sub)
for sub in ("home", "logs", "archives", "artifacts", "offline", "context", "sandbox"):
    os.makedirs(os.path.join(root, sub), exist_ok=True)
log = open(os.path.join(root, "haupt.log"), "wb")
server = subprocess.Popen(
    [haupt, "sandbox", "start", "--host", "127.0.0.1", "--port", port,
     "--workers", "1", "--path", os.path.join(root, "sandbox")],
    env=env,
    stdin=subprocess.DEVNULL,
    stdout=log,
    stderr=subprocess.STDOUT,
    start_new_session=True,
)
try:
    # Blocks until the test process closes the pipe (or exits).
    sys.stdin.read()
finally:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    except Exception:
        try:
            os.killpg(server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

"""Runs moto's S3/IAM server on loopback for as long as its stdin is open.

The S3 tests start one server per test binary and keep it in a static,
which Rust never drops: a plain `moto_server` child outlived every test
run. The test holds this script's stdin instead; when the test process
ends, for any reason, the pipe closes and the server stops with it.

Usage: python3 moto_run.py PORT   (INITIAL_NO_AUTH_ACTION_COUNT from the
environment, as moto_server reads it)
"""
import sys

from moto.server import ThreadedMotoServer

port = int(sys.argv[1])
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
try:
    # Blocks until the test process closes the pipe (or exits).
    sys.stdin.read()
finally:
    server.stop()

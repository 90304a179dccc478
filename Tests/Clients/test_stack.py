"""The one-machine stack, checked from outside: every process healthy and observable, the REST
edge answering real Binance clients, and a clean stop on Ctrl-C."""
import json
import os
import socket
import time
import urllib.request

import pytest
from binance.spot import Spot

from conftest import http_status


def test_every_service_is_ready_and_reports_checks(stack):
    for name, url in stack.admin.items():
        with urllib.request.urlopen(url + "/health", timeout=2) as response:
            body = json.load(response)
        assert body["service"] == name
        assert body["ready"] is True
        assert body["checks"]["eventlog"]["ready"] is True
        assert http_status(url + "/health/live") == 200


def test_every_service_exposes_prometheus_metrics(stack):
    for name, url in stack.admin.items():
        with urllib.request.urlopen(url + "/metrics", timeout=2) as response:
            assert response.headers["Content-Type"].startswith("text/plain")
            response.read()


def test_binance_connector_ping_and_time(stack):
    client = Spot(base_url=stack.rest)
    assert client.ping() == {}
    server_time = client.time()["serverTime"]
    assert isinstance(server_time, int)
    assert abs(server_time - int(time.time() * 1000)) < 5_000


def test_rest_wire_format_is_binance_bytes(stack):
    with urllib.request.urlopen(stack.rest + "/api/v3/ping", timeout=2) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
        assert response.read() == b"{}"


def test_websocket_port_listens(stack):
    with socket.create_connection(("127.0.0.1", stack.ws_port), timeout=2):
        pass


def test_topics_exist_on_the_event_log(stack):
    import subprocess
    out = subprocess.run(
        [os.path.join(stack.bin_dir, "exchange"), "topics", "--create", "--event-log",
         f"redis://127.0.0.1:{stack.redis_port}"],
        capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "orders.requests partitions=8" in out.stdout
    assert "dead.letters partitions=1" in out.stdout


def test_garbage_on_a_topic_is_dead_lettered_and_the_consumer_goes_on(stack):
    import subprocess
    # A record no service can decode, appended to orders.requests (partition 0) behind the
    # services' back, the way a buggy producer would.
    added = subprocess.run(
        ["redis-cli", "-p", str(stack.redis_port), "XADD", "orders.requests:0", "0-*",
         "k", "42", "v", "not an envelope", "t", str(int(time.time() * 1000))],
        capture_output=True, text=True, timeout=10)
    assert added.returncode == 0 and added.stdout.startswith("0-"), added
    letter = None
    deadline = time.time() + 20
    while letter is None and time.time() < deadline:
        tail = subprocess.run(
            [os.path.join(stack.bin_dir, "exchange"), "tail", "dead.letters",
             "--event-log", f"redis://127.0.0.1:{stack.redis_port}"],
            capture_output=True, text=True, timeout=30)
        assert tail.returncode == 0, tail.stderr
        for line in tail.stdout.splitlines():
            record = json.loads(line)
            dead = record["envelope"]["deadLetter"]
            if dead["consumerGroup"] == "ledger":
                letter = (record, dead)
        time.sleep(0.2)
    assert letter is not None, "the ledger did not dead-letter the record"
    record, dead = letter
    assert record["topic"] == "dead.letters" and record["key"] == "orders.requests"
    assert dead["sourceTopic"] == "orders.requests"
    assert "not an exchange.v1 envelope" in dead["reason"]
    import base64
    assert base64.b64decode(dead["value"]) == b"not an envelope"
    with urllib.request.urlopen(stack.admin["ledger"] + "/metrics", timeout=2) as response:
        metrics = response.read().decode()
    assert 'exchange_deadletter_records{group="ledger"} 1' in metrics
    assert http_status(stack.admin["ledger"] + "/health/ready") == 200


def test_a_crashed_child_is_restarted(stack):
    import signal
    import subprocess
    matching = os.path.realpath(os.path.join(stack.bin_dir, "matching"))
    found = subprocess.run(["pgrep", "-P", str(stack.process.pid), "-f", matching], capture_output=True, text=True)
    pids = found.stdout.split()
    assert len(pids) == 1, found
    os.kill(int(pids[0]), signal.SIGKILL)
    deadline = time.time() + 30
    restarted = None
    while time.time() < deadline:
        again = subprocess.run(["pgrep", "-P", str(stack.process.pid), "-f", matching], capture_output=True, text=True)
        new = [pid for pid in again.stdout.split() if pid != pids[0]]
        if new and http_status(stack.admin["matching"] + "/health/ready") == 200:
            restarted = new[0]
            break
        time.sleep(0.2)
    assert restarted is not None, stack.log()
    assert "child exited; restarting" in stack.log()


def test_zz_ctrl_c_stops_everything_cleanly(stack):
    code = stack.stop()
    assert code == 0, stack.log()
    for url in stack.admin.values():
        assert http_status(url + "/health/live", timeout=0.5) is None
    assert http_status(stack.rest + "/api/v3/ping", timeout=0.5) is None

"""Starts the whole stack with `exchange up` (on shifted ports, in a temporary data dir) for the
client conformance checks, and stops it at the end, checking that it stops cleanly."""
import os
import signal
import subprocess
import tempfile
import time
import urllib.request

import pytest

PORTS_OFFSET = int(os.environ.get("EXCHANGE_TEST_PORTS_OFFSET", "1000"))
SERVICES = {
    "market-data": 9101,
    "matching": 9102,
    "ledger": 9103,
    "order-router": 9104,
    "notifier": 9105,
}


def http_status(url, timeout=1.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


class Stack:
    def __init__(self, bin_dir, ports_offset=PORTS_OFFSET, event_log=None):
        self.bin_dir = os.path.abspath(bin_dir)
        self.ports_offset = ports_offset
        self.event_log = event_log
        self.data_dir = tempfile.mkdtemp(prefix="exchange-stack-")
        self.output = open(os.path.join(self.data_dir, "up.out"), "w+")
        self.process = None
        self.rest = f"http://127.0.0.1:{8080 + ports_offset}"
        self.ws_port = 8090 + ports_offset
        self.redis_port = 6379 + ports_offset  # the event log
        self.projections_port = 6389 + ports_offset  # projections, Pub/Sub, rate limits
        self.admin = {name: f"http://127.0.0.1:{port + ports_offset}" for name, port in SERVICES.items()}

    def start(self):
        symbols = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "symbols.json")
        command = [os.path.join(self.bin_dir, "exchange"), "up", "--data-dir", self.data_dir,
                   "--ports-offset", str(self.ports_offset), "--symbols", os.path.normpath(symbols)]
        if self.event_log:
            command += ["--event-log", self.event_log]
        self.process = subprocess.Popen(
            command,
            stdout=self.output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"exchange up exited with {self.process.returncode}: {self.log()}")
            if all(http_status(url + "/health/ready") == 200 for url in self.admin.values()):
                return
            time.sleep(0.5)
        raise RuntimeError(f"stack not ready within 90 s: {self.log()}")

    def stop(self, timeout=30):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=timeout)

    def log(self):
        self.output.flush()
        self.output.seek(0)
        return self.output.read()[-4000:]


def bin_dir():
    return os.environ.get("EXCHANGE_BIN_DIR", ".build/debug")


@pytest.fixture(scope="session")
def stack():
    s = Stack(bin_dir())
    s.start()
    yield s
    if s.process.poll() is None:
        s.process.kill()


@pytest.fixture(scope="module")
def kafka_mock():
    """`exchange kafka-mock --brokers 3 --create-topics`: librdkafka's mock cluster, since no Kafka
    broker can be installed on these machines. Yields its bootstrap address."""
    process = subprocess.Popen(
        [os.path.join(bin_dir(), "exchange"), "kafka-mock", "--brokers", "3", "--create-topics"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    bootstrap = process.stdout.readline().strip()
    assert bootstrap, "kafka-mock printed no bootstrap address"
    yield bootstrap
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=15) == 0


@pytest.fixture(scope="module")
def kafka_stack(kafka_mock):
    s = Stack(bin_dir(), ports_offset=PORTS_OFFSET + 100, event_log=f"kafka://{kafka_mock}")
    s.start()
    yield s
    if s.process.poll() is None:
        s.process.kill()

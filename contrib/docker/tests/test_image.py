"""Tests of Sluice's container image with real clients (kcat, confluent-kafka).

Run by contrib/docker/ci.sh after build-image.sh, with a Docker daemon up:
    SLUICE_TEST_IMAGE=sluice:latest python -m pytest contrib/docker/tests
Every container runs with --network host and port 0 (the ready line gives the
port), so nothing collides with other brokers on the machine.
"""
import json
import os
import re
import subprocess
import time
import urllib.request
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

IMAGE = os.environ.get("SLUICE_TEST_IMAGE", "sluice:latest")
READY = re.compile(r"^listening on (\S+)$", re.MULTILINE)
HTTP = re.compile(r"^http listening on (\S+)$", re.MULTILINE)
PORT0 = {"SLUICE_LISTEN": "127.0.0.1:0", "SLUICE_HTTP_LISTEN": "127.0.0.1:0"}


def docker(*args, check=True):
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, check=check)


class Running:
    """A container of the image, started with `docker run -d --network host`."""

    def __init__(self, env, volume=None):
        args = ["run", "-d", "--network", "host"]
        for k, v in env.items():
            args += ["-e", f"{k}={v}"]
        if volume:
            args += ["-v", f"{volume}:/var/lib/sluice"]
        self.id = docker(*args, IMAGE).stdout.strip()
        self.bootstrap, self.http = None, None

    def logs(self):
        out = docker("logs", self.id, check=False)
        return out.stdout, out.stderr

    def wait_ready(self, timeout=30):
        """Waits for the ready line; returns the bootstrap address it names."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            stdout, stderr = self.logs()
            m = READY.search(stdout)
            if m:
                self.bootstrap = m.group(1)
                h = HTTP.search(stdout)
                self.http = h.group(1) if h else None
                return self.bootstrap
            if self.state() == "exited":
                raise AssertionError(f"container exited before ready:\n{stdout}\n{stderr}")
            time.sleep(0.1)
        raise AssertionError(f"no ready line in {timeout}s:\n{self.logs()}")

    def wait_exit(self, timeout=30):
        out = docker("wait", self.id)
        return int(out.stdout.strip())

    def state(self):
        return docker("inspect", "-f", "{{.State.Status}}", self.id).stdout.strip()

    def stop(self):
        docker("stop", "-t", "10", self.id, check=False)

    def remove(self):
        docker("rm", "-f", "-v", self.id, check=False)


@pytest.fixture
def start():
    started = []

    def _start(env, volume=None, ready=True):
        c = Running(env, volume)
        started.append(c)
        if ready:
            c.wait_ready()
        return c

    yield _start
    for c in started:
        c.remove()


def kcat(*args, stdin=None):
    return subprocess.run(["kcat", *args], input=stdin, capture_output=True, text=True, timeout=60, check=True)


def consume_all(bootstrap, topic, n, timeout=30):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "g-" + uuid.uuid4().hex,
                  "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        m = c.poll(1.0)
        if m is not None and m.error() is None:
            got.append(m.value().decode())
    c.close()
    return got


def produce(bootstrap, topic, values):
    p = Producer({"bootstrap.servers": bootstrap})
    for v in values:
        p.produce(topic, v.encode())
    assert p.flush(30) == 0


def test_kcat_produces_and_consumes(start):
    c = start({**PORT0, "SLUICE_EPHEMERAL": "1"})
    kcat("-b", c.bootstrap, "-P", "-t", "kcat-topic", stdin="one\ntwo\nthree\n")
    out = kcat("-b", c.bootstrap, "-C", "-t", "kcat-topic", "-o", "beginning", "-c", "3", "-e")
    assert out.stdout.split() == ["one", "two", "three"]


def test_confluent_kafka_produces_and_consumes(start):
    c = start({**PORT0, "SLUICE_EPHEMERAL": "1"})
    values = [f"m{i}" for i in range(100)]
    produce(c.bootstrap, "py-topic", values)
    assert consume_all(c.bootstrap, "py-topic", 100) == values


def test_readyz_over_http(start):
    c = start({**PORT0, "SLUICE_EPHEMERAL": "1"})
    assert c.http, "the image serves HTTP"
    with urllib.request.urlopen(f"http://{c.http}/readyz", timeout=10) as r:
        assert r.status == 200
        json.loads(r.read() or b"{}")


def test_sluice_and_kafka_variables_are_honoured(start):
    c = start({
        # Kafka's names, as a compose file for apache/kafka gives them.
        "KAFKA_LISTENERS": "PLAINTEXT://127.0.0.1:0",
        "KAFKA_NUM_PARTITIONS": "3",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "SLUICE_HTTP_LISTEN": "none",
        "SLUICE_EPHEMERAL": "1",
    })
    assert c.http is None, "SLUICE_HTTP_LISTEN=none"
    kcat("-b", c.bootstrap, "-P", "-t", "auto-created", stdin="x\n")
    md = AdminClient({"bootstrap.servers": c.bootstrap}).list_topics("auto-created", timeout=10)
    assert len(md.topics["auto-created"].partitions) == 3
    _, stderr = c.logs()
    assert "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR" in stderr and "ignored" in stderr


def test_a_bad_kafka_value_is_a_start_error_naming_the_variable(start):
    c = start({**PORT0, "KAFKA_NUM_PARTITIONS": "many"}, ready=False)
    assert c.wait_exit() != 0
    _, stderr = c.logs()
    assert "KAFKA_NUM_PARTITIONS" in stderr, stderr


def test_data_survives_a_restart_in_a_volume(start):
    volume = "sluice-test-" + uuid.uuid4().hex[:12]
    docker("volume", "create", volume)
    try:
        first = start(PORT0, volume=volume)
        produce(first.bootstrap, "kept", ["a", "b", "c"])
        first.stop()
        assert first.wait_exit() == 0, first.logs()
        first.remove()
        second = start(PORT0, volume=volume)
        assert consume_all(second.bootstrap, "kept", 3) == ["a", "b", "c"]
        second.remove()
    finally:
        docker("volume", "rm", "-f", volume, check=False)


def test_ephemeral_keeps_nothing(start):
    volume = "sluice-test-" + uuid.uuid4().hex[:12]
    docker("volume", "create", volume)
    try:
        env = {**PORT0, "SLUICE_EPHEMERAL": "1"}
        first = start(env, volume=volume)
        produce(first.bootstrap, "gone", ["a"])
        first.stop()
        first.remove()
        second = start(env, volume=volume)
        md = AdminClient({"bootstrap.servers": second.bootstrap}).list_topics(timeout=10)
        assert "gone" not in md.topics
    finally:
        docker("volume", "rm", "-f", volume, check=False)


def test_localhost_resolves_in_the_image(start):
    # glibc static: no NSS modules in the image; `localhost` must still work.
    c = start({"SLUICE_LISTEN": "localhost:0", "SLUICE_HTTP_LISTEN": "none", "SLUICE_EPHEMERAL": "1"})
    kcat("-b", c.bootstrap, "-L")

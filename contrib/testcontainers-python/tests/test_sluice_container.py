"""SluiceContainer against the image (SLUICE_TEST_IMAGE, else sluice:latest), with
confluent-kafka. Ryuk (testcontainers' reaper image) cannot be pulled here, so
it is off: each container is removed when its `with` block ends."""
import os
import urllib.request
import uuid

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from confluent_kafka import Consumer, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402

from testcontainers_sluice import SluiceContainer  # noqa: E402

IMAGE = os.environ.get("SLUICE_TEST_IMAGE", "sluice:latest")


def test_produce_and_consume():
    with SluiceContainer(IMAGE) as sluice:
        bootstrap = sluice.get_bootstrap_server()
        assert bootstrap.startswith("127.0.0.1:") and not bootstrap.endswith(":0")
        p = Producer({"bootstrap.servers": bootstrap})
        for i in range(10):
            p.produce("orders", f"m{i}".encode())
        assert p.flush(30) == 0
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "g-" + uuid.uuid4().hex,
                      "auto.offset.reset": "earliest"})
        c.subscribe(["orders"])
        got = []
        for _ in range(60):
            if len(got) == 10:
                break
            m = c.poll(1.0)
            if m is not None and m.error() is None:
                got.append(m.value().decode())
        c.close()
        assert got == [f"m{i}" for i in range(10)]


def test_options_and_http():
    with SluiceContainer(IMAGE).with_option("default-partitions", "2") as a, SluiceContainer(IMAGE) as b:
        assert a.get_bootstrap_server() != b.get_bootstrap_server()
        p = Producer({"bootstrap.servers": a.get_bootstrap_server()})
        p.produce("auto", b"x")
        assert p.flush(30) == 0
        md = AdminClient({"bootstrap.servers": a.get_bootstrap_server()}).list_topics("auto", timeout=10)
        assert len(md.topics["auto"].partitions) == 2
        with urllib.request.urlopen(f"http://{a.get_http_address()}/readyz", timeout=10) as r:
            assert r.status == 200

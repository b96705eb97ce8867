from confluent_kafka import Producer
from testcontainers_sluice import SluiceContainer

with SluiceContainer("sluice:latest") as sluice:
    producer = Producer({"bootstrap.servers": sluice.get_bootstrap_server()})
    producer.produce("orders", b"hello")
    assert producer.flush(30) == 0

"""confluent-kafka (librdkafka bundled in the wheel) against a running Sluice broker.
Usage: scenarios_confluent.py HOST:PORT [scenario ...]"""
import functools
import time

import confluent_kafka
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicCollection, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

import compat_common as cc

CLIENT = "confluent-kafka"
VERSION = "%s (librdkafka %s)" % (confluent_kafka.__version__, confluent_kafka.libversion()[0])


def conf(ctx, **extra):
    c = {"bootstrap.servers": ctx.bootstrap}
    if ctx.debug:
        c["debug"] = "broker,feature,protocol,topic,msg,admin,consumer,cgrp,fetch"
    c.update(extra)
    return c


def admin(ctx):
    return AdminClient(conf(ctx))


def create_topic(ctx, a, name, partitions, config=None):
    ctx.step("creating topic %s with %d partitions" % (name, partitions))
    fs = a.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})],
                         request_timeout=15)
    fs[name].result(timeout=20)


def partitions_of(a, name):
    md = a.list_topics(topic=name, timeout=10)
    t = md.topics.get(name)
    if t is None or t.error is not None:
        return None
    return t.partitions


def expect_error(fut, code, what):
    try:
        fut.result(timeout=20)
    except KafkaException as e:
        err = e.args[0]
        cc.check(err.code() == code, "%s: got %s, want %s" % (what, err.name(), KafkaError(code).name()))
        return
    raise cc.ScenarioError("%s: succeeded, want %s" % (what, KafkaError(code).name()))


def s_metadata(ctx):
    ctx.step("list_topics")
    md = admin(ctx).list_topics(timeout=10)
    brokers = {b.id: "%s:%d" % (b.host, b.port) for b in md.brokers.values()}
    cc.check(brokers == {0: ctx.bootstrap}, "brokers %r, want {0: %s}" % (brokers, ctx.bootstrap))
    cc.check(md.controller_id == 0, "controller %r, want 0" % md.controller_id)
    cc.check(md.cluster_id, "no cluster id")
    return "1 broker (node 0 at %s), controller 0, cluster %s, %d topics" % (ctx.bootstrap, md.cluster_id, len(md.topics))


def s_create_topic(ctx):
    a = admin(ctx)
    name = ctx.name()
    create_topic(ctx, a, name, 3, {"retention.ms": "3600000", "cleanup.policy": "delete"})
    parts = cc.wait_until(lambda: partitions_of(a, name), 10)
    cc.check(parts and sorted(parts) == [0, 1, 2], "metadata shows partitions %r, want 0,1,2" % (parts and sorted(parts)))
    cc.check(all(p.leader == 0 and list(p.replicas) == [0] for p in parts.values()), "leader/replicas not node 0")
    ctx.step("creating it again")
    fs = a.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)], request_timeout=15)
    expect_error(fs[name], KafkaError.TOPIC_ALREADY_EXISTS, "second create")
    ctx.step("creating with replication factor 3")
    other = ctx.name("rf3")
    fs = a.create_topics([NewTopic(other, num_partitions=1, replication_factor=3)], request_timeout=15)
    expect_error(fs[other], KafkaError.INVALID_REPLICATION_FACTOR, "replication factor 3")
    return "created 3 partitions with configs, TOPIC_ALREADY_EXISTS and INVALID_REPLICATION_FACTOR as expected"


def s_delete_topic(ctx):
    a = admin(ctx)
    name = ctx.name()
    create_topic(ctx, a, name, 2)
    cc.check(cc.wait_until(lambda: partitions_of(a, name), 10), "created topic not in metadata")
    ctx.step("delete_topics")
    a.delete_topics([name], request_timeout=15)[name].result(timeout=20)
    gone = cc.wait_until(lambda: name not in a.list_topics(timeout=10).topics, 10)
    cc.check(gone, "deleted topic still listed in metadata")
    ctx.step("deleting it again")
    expect_error(a.delete_topics([name], request_timeout=15)[name], KafkaError.UNKNOWN_TOPIC_OR_PART, "second delete")
    return "deleted, gone from metadata, second delete UNKNOWN_TOPIC_OR_PART"


def s_describe_topic(ctx):
    a = admin(ctx)
    name = ctx.name()
    create_topic(ctx, a, name, 2)
    ctx.step("describe_topics (librdkafka: DescribeTopicPartitions if advertised, else Metadata)")
    d = a.describe_topics(TopicCollection([name]), request_timeout=15)[name].result(timeout=20)
    parts = sorted((p.id, p.leader.id if p.leader else None, [r.id for r in p.replicas]) for p in d.partitions)
    cc.check(parts == [(0, 0, [0]), (1, 0, [0])], "partitions %r, want 2 led by node 0" % parts)
    cc.check(d.name == name and not d.is_internal, "name/is_internal wrong: %r %r" % (d.name, d.is_internal))
    ctx.step("describing a missing topic")
    missing = ctx.name("missing")
    expect_error(a.describe_topics(TopicCollection([missing]), request_timeout=15)[missing],
                 KafkaError.UNKNOWN_TOPIC_OR_PART, "describe missing topic")
    return "2 partitions led by node 0 (topic id %s); missing topic UNKNOWN_TOPIC_OR_PART" % d.topic_id


def s_authorized_operations(ctx):
    """describe_topics asking for authorized operations (Metadata include_topic_authorized_operations).
    Without an authorizer Kafka answers every operation a topic supports."""
    a = admin(ctx)
    name = ctx.name()
    create_topic(ctx, a, name, 1)
    ctx.step("describe_topics with include_authorized_operations")
    d = a.describe_topics(TopicCollection([name]), include_authorized_operations=True,
                          request_timeout=15)[name].result(timeout=20)
    got = sorted(op.name for op in d.authorized_operations or [])
    want = sorted(["READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE", "DESCRIBE_CONFIGS", "ALTER_CONFIGS"])
    cc.check(got == want, "topic authorized operations %r, want %s (Kafka without an authorizer)" % (
        d.authorized_operations, ",".join(want)))
    return "topic authorized operations: " + ",".join(got)


def s_describe_configs(ctx):
    a = admin(ctx)
    name = ctx.name()
    create_topic(ctx, a, name, 1, {"retention.ms": "3600000"})
    ctx.step("describe_configs (DescribeConfigs, key 32)")
    res = ConfigResource(ResourceType.TOPIC, name)
    configs = a.describe_configs([res], request_timeout=15)[res].result(timeout=20)
    got = configs.get("retention.ms")
    cc.check(got is not None and got.value == "3600000", "retention.ms = %r, want 3600000" % (got and got.value))
    return "%d configs, retention.ms=3600000" % len(configs)


def produce_keyed(ctx, topic, n, **extra):
    p = Producer(conf(ctx, **{"linger.ms": 5, "acks": "all", **extra}))
    sent, errors = {}, []

    def on_delivery(i, err, msg):
        # Delivery reports carry no headers, so the record index is bound here.
        if err is not None:
            errors.append(str(err))
        else:
            sent[i] = (msg.partition(), msg.offset())

    ctx.step("producing %d keyed records" % n)
    for i in range(n):
        key, value, headers = cc.keyed_record(i, CLIENT)
        p.produce(topic, value=value, key=key, headers=headers, on_delivery=functools.partial(on_delivery, i))
        p.poll(0)
    left = p.flush(30)
    cc.check(not errors, "delivery failed: %s (%d errors)" % (errors[0] if errors else "", len(errors)))
    cc.check(left == 0, "%d records not delivered after 30 s" % left)
    return sent


def consume_assigned(ctx, topic, partitions, n, timeout=30, start=confluent_kafka.OFFSET_BEGINNING):
    """Reads n records from the given partitions with assign() (no group; librdkafka insists on a
    group.id, but assign() without commits never needs the group coordinator)."""
    c = Consumer(conf(ctx, **{"group.id": ctx.name("unused-group"), "enable.auto.commit": False,
                              "enable.auto.offset.store": False}))
    c.assign([TopicPartition(topic, p, start) for p in partitions])
    got = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < n and time.monotonic() < deadline:
            ctx.step("consuming (%d of %d so far)" % (len(got), n))
            for m in c.consume(num_messages=500, timeout=1.0):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise cc.ScenarioError("consume error: %s" % m.error())
                got.append(m)
    finally:
        c.close()
    return got


def s_produce_consume(ctx):
    a = admin(ctx)
    topic = ctx.name()
    create_topic(ctx, a, topic, 3)
    cc.wait_until(lambda: partitions_of(a, topic), 10)
    sent = produce_keyed(ctx, topic, cc.N_KEYED)
    got = consume_assigned(ctx, topic, [0, 1, 2], cc.N_KEYED)
    rows = [(m.partition(), m.offset(), m.key(), m.value(), m.headers()) for m in got]
    return cc.verify_keyed(sent, rows, cc.N_KEYED, CLIENT)


def compression(codec):
    def scenario(ctx):
        a = admin(ctx)
        topic = ctx.name()
        create_topic(ctx, a, topic, 1)
        cc.wait_until(lambda: partitions_of(a, topic), 10)
        p = Producer(conf(ctx, **{"compression.type": codec, "linger.ms": 20, "batch.num.messages": 100}))
        sent, errors = {}, []

        def on_delivery(err, msg):
            if err is not None:
                errors.append(str(err))
            else:
                sent[int(msg.key()[1:])] = msg.offset()

        ctx.step("producing %d %s records" % (cc.N_CODEC, codec))
        for i in range(cc.N_CODEC):
            key, value = cc.codec_record(i, codec)
            p.produce(topic, value=value, key=key, on_delivery=on_delivery)
        left = p.flush(30)
        cc.check(not errors, "delivery failed: %s" % (errors[0] if errors else ""))
        cc.check(left == 0, "%d records not delivered" % left)
        got = consume_assigned(ctx, topic, [0], cc.N_CODEC)
        note = cc.verify_codec(sent, [(m.offset(), m.key(), m.value()) for m in got], cc.N_CODEC, codec)
        ctx.step("consuming from offset %d" % cc.MID_BATCH)
        got = consume_assigned(ctx, topic, [0], cc.N_CODEC - cc.MID_BATCH, start=cc.MID_BATCH)
        cc.verify_codec(sent, [(m.offset(), m.key(), m.value()) for m in got], cc.N_CODEC, codec, cc.MID_BATCH)
        ctx.step("reading the stored batches with a raw Fetch")
        wire = cc.check_codec_on_wire(ctx.bootstrap, topic, codec, CLIENT)
        return "%s, and from offset %d, %s" % (note, cc.MID_BATCH, wire)
    return scenario


def last_log_line(ctx, tags):
    """The message of librdkafka's last log line (in this scenario's log file) with one of tags."""
    try:
        with open(ctx.log_path, errors="replace") as f:
            lines = [line for line in f if any("|%s|" % t in line for t in tags)]
    except OSError:
        return ""
    return lines[-1].split("]: ", 1)[-1].strip() if lines else ""


def s_consumer_group(ctx):
    a = admin(ctx)
    topic = ctx.name()
    group = ctx.name("group")
    create_topic(ctx, a, topic, 1)
    cc.wait_until(lambda: partitions_of(a, topic), 10)
    p = Producer(conf(ctx))
    for i in range(10):
        p.produce(topic, value=b"group record %d" % i, key=b"k%d" % i)
    cc.check(p.flush(20) == 0, "produce did not complete")
    extra = {} if ctx.debug else {"debug": "cgrp"}  # so that a failure can say what the group did
    c = Consumer(conf(ctx, **{"group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False,
                              "session.timeout.ms": 10000, **extra}))
    errors = []
    c.subscribe([topic], on_assign=lambda c_, parts: ctx.step("assigned %s" % parts))
    got = []
    deadline = time.monotonic() + 20
    try:
        while len(got) < 10 and time.monotonic() < deadline:
            ctx.step("subscribed as group %s, consumed %d of 10" % (group, len(got)))
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error():
                errors.append(str(m.error()))
                continue
            got.append(m)
        if len(got) < 10:
            state = last_log_line(ctx, ("CGRPQUERY", "CGRPSTATE"))
            raise cc.ScenarioError("consumed %d of 10 with subscribe() in 20s%s%s" % (
                len(got), "; errors: " + "; ".join(sorted(set(errors))[:3]) if errors else "",
                "; last group log: " + state if state else ""))
        ctx.step("committing")
        c.commit(asynchronous=False)
        committed = c.committed([TopicPartition(topic, 0)], timeout=10)
        cc.check(committed[0].offset == 10, "committed offset %r, want 10" % committed[0].offset)
    finally:
        c.close()
    return "consumed 10 as a group member, committed offset 10"


def main():
    r = cc.Runner(CLIENT, VERSION)
    r.run("metadata", s_metadata, 30)
    r.run("admin-create-topic", s_create_topic, 45)
    r.run("admin-delete-topic", s_delete_topic, 45)
    r.run("admin-describe-topic", s_describe_topic, 45)
    r.run("admin-describe-configs", s_describe_configs, 30)
    r.run("admin-authorized-operations", s_authorized_operations, 30)
    r.run("produce-consume-keyed-headers", s_produce_consume, 90)
    for codec in cc.CODECS:
        r.run("compression-" + codec, compression(codec), 60)
    r.run("consumer-group", s_consumer_group, 45)
    r.finish()


if __name__ == "__main__":
    main()

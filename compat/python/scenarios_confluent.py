"""confluent-kafka (librdkafka bundled in the wheel) against a running Sluice broker.
Usage: scenarios_confluent.py HOST:PORT [scenario ...]"""
import functools
import time

import confluent_kafka
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicCollection, TopicPartition
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource, NewTopic,
                                  ResourceType)

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


def s_idempotent(ctx):
    a = admin(ctx)
    topic = ctx.name()
    create_topic(ctx, a, topic, 3)
    cc.wait_until(lambda: partitions_of(a, topic), 10)
    # InitProducerId without a transactional id, then Produce with producer id and sequences.
    sent = produce_keyed(ctx, topic, cc.N_IDEMPOTENT, **{"enable.idempotence": True})
    got = consume_assigned(ctx, topic, [0, 1, 2], cc.N_IDEMPOTENT)
    rows = [(m.partition(), m.offset(), m.key(), m.value(), m.headers()) for m in got]
    note = cc.verify_keyed(sent, rows, cc.N_IDEMPOTENT, CLIENT)
    ctx.step("reading the stored batches with a raw Fetch")
    return "%s; %s" % (note, cc.check_idempotent_on_wire(ctx.bootstrap, topic, [0, 1, 2], CLIENT))


def txn_consumer(ctx, topic, partitions, isolation, **extra):
    c = Consumer(conf(ctx, **{"group.id": ctx.name("unused-group"), "enable.auto.commit": False,
                              "enable.auto.offset.store": False, "isolation.level": isolation, **extra}))
    c.assign([TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING) for p in partitions])
    return c


def drain(ctx, c, want, settle, timeout, what):
    """Polls c until it has delivered want records, then settle seconds more (to catch records it
    must not deliver); returns [(partition, offset, value)]."""
    got = []
    deadline = time.monotonic() + timeout
    settle_until = None
    while time.monotonic() < deadline:
        if settle_until is None and len(got) >= want:
            settle_until = time.monotonic() + settle
        if settle_until is not None and time.monotonic() >= settle_until:
            break
        ctx.step("%s: consumed %d of %d" % (what, len(got), want))
        for m in c.consume(num_messages=500, timeout=0.5):
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise cc.ScenarioError("%s: consume error: %s" % (what, m.error()))
            got.append((m.partition(), m.offset(), m.value()))
    return got


def s_txn_commit_abort(ctx):
    a = admin(ctx)
    topic = ctx.name()
    create_topic(ctx, a, topic, 2)
    cc.wait_until(lambda: partitions_of(a, topic), 10)
    p = Producer(conf(ctx, **{"transactional.id": ctx.name("txn"), "linger.ms": 5}))
    ctx.step("init_transactions (FindCoordinator type 1, InitProducerId with a transactional id)")
    p.init_transactions(20)
    for tag, end in cc.TXN_PLAN:
        ctx.step("transaction %s" % tag)
        p.begin_transaction()
        for partition, value in cc.txn_records(tag):
            p.produce(topic, value=value, partition=partition)
        cc.check(p.flush(20) == 0, "transaction %s: records not delivered in 20 s" % tag)
        if tag == "D":
            break  # left open for now
        p.commit_transaction(20) if end == "COMMIT" else p.abort_transaction(20)
    committed = txn_consumer(ctx, topic, [0, 1], "read_committed")
    uncommitted = txn_consumer(ctx, topic, [0, 1], "read_uncommitted")
    try:
        got = drain(ctx, committed, 2 * cc.N_TXN, 3, 20, "read_committed, D open")
        cc.verify_txn_view("read_committed while D is open", got, "AC")
        got_all = drain(ctx, uncommitted, 4 * cc.N_TXN, 1, 20, "read_uncommitted")
        cc.verify_txn_view("read_uncommitted", got_all, "ABCD")
        ctx.step("committing D")
        p.commit_transaction(20)
        got += drain(ctx, committed, cc.N_TXN, 2, 20, "read_committed after D committed")
        cc.verify_txn_view("read_committed after D committed", got, "ACD")
    finally:
        committed.close()
        uncommitted.close()
    ctx.step("reading the stored batches with a raw Fetch")
    markers = cc.check_txn_markers(ctx.bootstrap, topic, CLIENT)
    return "read_committed: A+C while D open, then A+C+D; read_uncommitted: A+B+C+D; %s" % markers


def s_txn_fencing(ctx):
    """A second producer with the same transactional.id fences the first: its init_transactions
    aborts the first one's open transaction and bumps the epoch, and the first one's commit then
    fails fatally (PRODUCER_FENCED or INVALID_PRODUCER_EPOCH), as in Kafka."""
    a = admin(ctx)
    topic = ctx.name()
    create_topic(ctx, a, topic, 2)
    cc.wait_until(lambda: partitions_of(a, topic), 10)
    tid = ctx.name("txn")
    old = Producer(conf(ctx, **{"transactional.id": tid, "linger.ms": 5}))
    ctx.step("first producer: init_transactions, open transaction B")
    old.init_transactions(20)
    old.begin_transaction()
    for partition, value in cc.txn_records("B"):
        old.produce(topic, value=value, partition=partition)
    cc.check(old.flush(20) == 0, "transaction B: records not delivered in 20 s")
    ctx.step("second producer with the same transactional.id: init_transactions")
    new = Producer(conf(ctx, **{"transactional.id": tid, "linger.ms": 5}))
    new.init_transactions(30)
    ctx.step("first producer: commit_transaction (must be fenced)")
    try:
        old.commit_transaction(20)
        raise cc.ScenarioError("the fenced producer's commit_transaction succeeded")
    except KafkaException as e:
        err = e.args[0]
        cc.check(err.fatal() or err.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED,
                                               KafkaError.INVALID_PRODUCER_EPOCH),
                 "the fenced producer's commit failed with %s (fatal %s), want a fatal fencing error" % (
                     err.name(), err.fatal()))
        fenced = err.name()
    ctx.step("second producer: transaction A")
    new.begin_transaction()
    for partition, value in cc.txn_records("A"):
        new.produce(topic, value=value, partition=partition)
    new.commit_transaction(20)
    c = txn_consumer(ctx, topic, [0, 1], "read_committed")
    try:
        cc.verify_txn_view("read_committed", drain(ctx, c, cc.N_TXN, 2, 20, "read_committed"), "A")
    finally:
        c.close()
    notes = []
    for partition in (0, 1):
        batches = cc.stored_batches(ctx.bootstrap, topic, partition)
        got = [("marker " + b["marker"]) if b["control"] else "data" for b in batches]
        cc.check(got == ["data", "marker ABORT", "data", "marker COMMIT"],
                 "p%d stored %s, want data, ABORT marker, data, COMMIT marker" % (partition, got))
        pids = {b["producer_id"] for b in batches}
        epochs = [b["producer_epoch"] for b in batches]
        cc.check(len(pids) == 1 and epochs[0] < epochs[2] and epochs[2] == epochs[3],
                 "p%d producer ids %r epochs %r: want one id, the new producer's epoch above the old one's" % (
                     partition, pids, epochs))
        notes.append("p%d epochs %d->%d" % (partition, epochs[0], epochs[2]))
    return "old producer's commit failed with %s; its open transaction was aborted by the new producer's " \
        "init_transactions; read_committed sees only the new one's; %s" % (fenced, ", ".join(notes))


def s_txn_timeout(ctx):
    """An open transaction past its transaction.timeout.ms is aborted by the coordinator, so the
    last stable offset moves on: records committed by another producer after it become visible
    to read_committed consumers, its own never do, and its late commit fails."""
    a = admin(ctx)
    topic = ctx.name()
    create_topic(ctx, a, topic, 2)
    cc.wait_until(lambda: partitions_of(a, topic), 10)
    stale = Producer(conf(ctx, **{"transactional.id": ctx.name("stale"), "linger.ms": 5,
                                  "transaction.timeout.ms": 5000}))
    ctx.step("stale producer: init_transactions, open transaction B (timeout 5 s)")
    stale.init_transactions(20)
    stale.begin_transaction()
    for partition, value in cc.txn_records("B"):
        stale.produce(topic, value=value, partition=partition)
    cc.check(stale.flush(20) == 0, "transaction B: records not delivered in 20 s")
    opened = time.monotonic()
    other = Producer(conf(ctx, **{"transactional.id": ctx.name("other"), "linger.ms": 5}))
    ctx.step("second producer: transaction A, committed behind the open B")
    other.init_transactions(20)
    other.begin_transaction()
    for partition, value in cc.txn_records("A"):
        other.produce(topic, value=value, partition=partition)
    other.commit_transaction(20)
    c = txn_consumer(ctx, topic, [0, 1], "read_committed")
    try:
        early = drain(ctx, c, 1, 0, max(0.5, 3 - (time.monotonic() - opened)), "read_committed, B open")
        cc.check(not early or time.monotonic() - opened > 4.5, "read_committed got %d records while B was open "
                 "(before its 5 s timeout): %r" % (len(early), early[:3]))
        got = early + drain(ctx, c, cc.N_TXN - len(early), 0, 25, "read_committed, after B's timeout")
        waited = time.monotonic() - opened
        got += drain(ctx, c, 0, 2, 3, "read_committed, nothing more")
        cc.verify_txn_view("read_committed", got, "A")
    finally:
        c.close()
    ctx.step("stale producer: commit_transaction after the timeout")
    try:
        stale.commit_transaction(20)
        raise cc.ScenarioError("commit_transaction of the timed-out transaction succeeded")
    except KafkaException as e:
        late = "%s%s" % (e.args[0].name(), " (fatal)" if e.args[0].fatal() else "")
    notes = []
    for partition in (0, 1):
        batches = cc.stored_batches(ctx.bootstrap, topic, partition)
        markers = [(b["marker"], b["producer_id"]) for b in batches if b["control"]]
        data = [b["producer_id"] for b in batches if not b["control"]]
        cc.check(len(data) == 2 and data[0] != data[1], "p%d data batches of producers %r, want B's then A's" % (
            partition, data))
        cc.check(sorted(markers) == sorted([("COMMIT", data[1]), ("ABORT", data[0])]),
                 "p%d markers %r, want COMMIT for A's producer %d and ABORT for B's producer %d" % (
                     partition, markers, data[1], data[0]))
        notes.append("p%d %s" % (partition, ",".join(m for m, _ in markers)))
    return "read_committed saw nothing while B was open, then A only (B aborted by its 5 s timeout; all of A " \
        "read %.1f s after B opened); late commit failed with %s; markers %s" % (waited, late, "; ".join(notes))


def consume_to_end(ctx, topic, partitions, isolation, timeout=30):
    """Every record of the partitions up to their end (the last stable offset for
    read_committed) as [(partition, offset, value)], reading until each partition reports EOF."""
    c = txn_consumer(ctx, topic, partitions, isolation, **{"enable.partition.eof": True})
    got, at_end = [], set()
    deadline = time.monotonic() + timeout
    try:
        while len(at_end) < len(partitions):
            cc.check(time.monotonic() < deadline, "%s %s: %d records, partitions %s not at the end after %d s" % (
                isolation, topic, len(got), sorted(set(partitions) - at_end), timeout))
            ctx.step("reading %s %s to the end (%d records)" % (topic, isolation, len(got)))
            for m in c.consume(num_messages=500, timeout=0.5):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        at_end.add(m.partition())
                        continue
                    raise cc.ScenarioError("%s consume error: %s" % (isolation, m.error()))
                at_end.discard(m.partition())
                got.append((m.partition(), m.offset(), m.value()))
    finally:
        c.close()
    return got


def s_eos_pipeline(ctx):
    a = admin(ctx)
    src, dst, group = ctx.name("in"), ctx.name("out"), ctx.name("group")
    for t in (src, dst):
        create_topic(ctx, a, t, 3)
        cc.wait_until(lambda: partitions_of(a, t), 10)
    ctx.step("producing %d input records" % cc.N_EOS)
    p = Producer(conf(ctx, **{"linger.ms": 5}))
    for i in range(cc.N_EOS):
        key, value = cc.eos_input(i)
        p.produce(src, key=key, value=value)
    cc.check(p.flush(30) == 0, "input records not delivered in 30 s")
    c = Consumer(conf(ctx, **{"group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False,
                              "isolation.level": "read_committed", "session.timeout.ms": 10000}))
    c.subscribe([src])
    tp = Producer(conf(ctx, **{"transactional.id": ctx.name("txn"), "linger.ms": 5}))
    ctx.step("init_transactions")
    tp.init_transactions(20)
    done = n_txn = aborted = 0
    deadline = time.monotonic() + 60
    try:
        while done < cc.N_EOS:
            cc.check(time.monotonic() < deadline, "pipeline: %d of %d inputs committed in 60 s, %d transactions" % (
                done, cc.N_EOS, n_txn))
            ctx.step("pipeline: %d of %d inputs committed in %d transactions" % (done, cc.N_EOS, n_txn))
            batch = []
            for m in c.consume(num_messages=cc.EOS_BATCH, timeout=1.0):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise cc.ScenarioError("pipeline consume error: %s" % m.error())
                batch.append(m)
            if not batch:
                continue
            tp.begin_transaction()
            nxt = {}
            for m in batch:
                tp.produce(dst, key=m.key(), value=cc.eos_transform(m.value()))
                nxt[m.partition()] = m.offset() + 1
            # AddOffsetsToTxn + TxnOffsetCommit (with the group's generation and member id).
            tp.send_offsets_to_transaction([TopicPartition(src, q, o) for q, o in sorted(nxt.items())],
                                           c.consumer_group_metadata(), 20)
            n_txn += 1
            if n_txn == cc.EOS_ABORT_AT:
                ctx.step("aborting transaction %d and rewinding to the committed offsets" % n_txn)
                # Delivered first, so that the aborted records are in the log (abort_transaction
                # would purge records still queued in the client).
                cc.check(tp.flush(20) == 0, "transaction %d: records not delivered in 20 s" % n_txn)
                tp.abort_transaction(20)
                aborted = len(batch)
                for tpo in c.committed([TopicPartition(src, q) for q in nxt], timeout=10):
                    c.seek(TopicPartition(src, tpo.partition,
                                          tpo.offset if tpo.offset >= 0 else confluent_kafka.OFFSET_BEGINNING))
            else:
                tp.commit_transaction(20)
                done += len(batch)
        ctx.step("reading the group's committed offsets")
        committed = {tpo.partition: tpo.offset for tpo in
                     c.committed([TopicPartition(src, q) for q in range(3)], timeout=10)}
    finally:
        c.close()
    values = [v for _, _, v in consume_to_end(ctx, dst, [0, 1, 2], "read_committed")]
    n_uncommitted = len(consume_to_end(ctx, dst, [0, 1, 2], "read_uncommitted"))
    note = cc.verify_eos(values, n_uncommitted, committed, aborted)
    return "%d transactions (one aborted, %d inputs redone); %s" % (n_txn, aborted, note)


# --- configs: IncrementalAlterConfigs, AlterConfigs, DescribeConfigs, DescribeCluster -----
# Kafka's answers these scenarios expect are those of ConfigHelper / ConfigAdminManager in
# Kafka 4.1: a value set on the topic has source DYNAMIC_TOPIC_CONFIG and is its own first
# synonym; a dynamic broker value (node, then cluster default "") is inherited by every topic
# that has no value of its own; unknown topic config names and bad values are INVALID_CONFIG,
# reported per resource.

def src(e):
    """The name of an entry's (or synonym's) ConfigSource; confluent-kafka gives an int."""
    try:
        return ConfigSource(e.source).name
    except ValueError:
        return "source %r" % e.source


def describe(a, restype, name):
    """{name: ConfigEntry} of one resource (DescribeConfigs v1 with synonyms, as librdkafka sends)."""
    res = ConfigResource(restype, name)
    return a.describe_configs([res], request_timeout=15)[res].result(timeout=20)


def incremental(a, restype, name, ops, validate_only=False):
    """Runs one IncrementalAlterConfigs on one resource; ops are (name, value, op) triples."""
    entries = [ConfigEntry(k, v, incremental_operation=op) for k, v, op in ops]
    res = ConfigResource(restype, name, incremental_configs=entries)
    a.incremental_alter_configs([res], request_timeout=15, validate_only=validate_only)[res].result(timeout=20)


def entry(configs, key):
    e = configs.get(key)
    cc.check(e is not None, "DescribeConfigs has no %s (Kafka lists every config of the resource, one nobody "
             "set with its default or a null value, e.g. log.retention.ms)" % key)
    return e


def synonyms_of(e):
    """[(name, value, source name)] of an entry's synonyms, in the broker's order."""
    return [(s.name, s.value, src(s)) for s in (e.synonyms or {}).values()]


def check_entry(configs, key, value, source, first_synonym=True):
    """The entry has this value and source; when the source is not DEFAULT_CONFIG its first
    synonym is (key or the broker synonym, value, source), as Kafka lists them."""
    e = entry(configs, key)
    cc.check(e.value == value, "%s = %r, want %r" % (key, e.value, value))
    cc.check(src(e) == source, "%s source %s, want %s" % (key, src(e), source))
    cc.check(not e.is_read_only and not e.is_sensitive, "%s read_only=%s sensitive=%s, want both false" % (
        key, e.is_read_only, e.is_sensitive))
    syn = synonyms_of(e)
    if first_synonym and source != "DEFAULT_CONFIG":
        cc.check(syn and syn[0][1:] == (value, source),
                 "%s synonyms %r, want the first to carry %r from %s" % (key, syn, value, source))
    return e


def config_error(fut, code, what):
    expect_error(fut, code, what)


def s_incremental_alter_configs(ctx):
    """SET, APPEND, DELETE, SUBTRACT on a topic; DescribeConfigs shows each value with its source
    and synonyms; validate_only changes nothing; max.message.bytes applies at once."""
    SET, DELETE, APPEND, SUBTRACT = (AlterConfigOpType.SET, AlterConfigOpType.DELETE,
                                     AlterConfigOpType.APPEND, AlterConfigOpType.SUBTRACT)
    a = admin(ctx)
    name = ctx.name()
    create_topic(ctx, a, name, 1)
    before = describe(a, ResourceType.TOPIC, name)
    default_retention = entry(before, "retention.ms").value
    for key in ("retention.ms", "cleanup.policy", "max.message.bytes"):
        e = entry(before, key)
        cc.check(src(e) == "DEFAULT_CONFIG" and e.is_default,
                 "new topic: %s source %s, want DEFAULT_CONFIG" % (key, src(e)))
    cc.check(entry(before, "cleanup.policy").value == "delete", "default cleanup.policy %r, want delete" %
             entry(before, "cleanup.policy").value)
    ctx.step("incremental_alter_configs SET retention.ms, APPEND cleanup.policy, SET max.message.bytes")
    incremental(a, ResourceType.TOPIC, name, [("retention.ms", "3600000", SET),
                                              ("cleanup.policy", "compact", APPEND),
                                              ("max.message.bytes", "200000", SET)])
    after = describe(a, ResourceType.TOPIC, name)
    check_entry(after, "retention.ms", "3600000", "DYNAMIC_TOPIC_CONFIG")
    check_entry(after, "cleanup.policy", "delete,compact", "DYNAMIC_TOPIC_CONFIG")
    mmb = check_entry(after, "max.message.bytes", "200000", "DYNAMIC_TOPIC_CONFIG")
    syn = synonyms_of(mmb)
    cc.check(len(syn) >= 2 and syn[1][0] == "message.max.bytes" and syn[1][2] != "DYNAMIC_TOPIC_CONFIG",
             "max.message.bytes synonyms %r, want the topic value then the broker's message.max.bytes" % syn)
    ctx.step("producing a 300 kB record (above the new max.message.bytes)")
    p = Producer(conf(ctx, **{"linger.ms": 0, "acks": "all", "retries": 0}))
    errs = []
    p.produce(name, key=b"k", value=b"x" * 300000, on_delivery=lambda err, msg: errs.append(err))
    p.flush(20)
    cc.check(errs and errs[0] is not None and errs[0].code() == KafkaError.MSG_SIZE_TOO_LARGE,
             "300 kB record with max.message.bytes=200000: %r, want MSG_SIZE_TOO_LARGE" % errs)
    ctx.step("validate_only SET retention.ms")
    incremental(a, ResourceType.TOPIC, name, [("retention.ms", "1000", SET)], validate_only=True)
    check_entry(describe(a, ResourceType.TOPIC, name), "retention.ms", "3600000", "DYNAMIC_TOPIC_CONFIG")
    ctx.step("incremental_alter_configs DELETE retention.ms, SUBTRACT cleanup.policy")
    incremental(a, ResourceType.TOPIC, name, [("retention.ms", None, DELETE), ("cleanup.policy", "delete", SUBTRACT)])
    last = describe(a, ResourceType.TOPIC, name)
    r = entry(last, "retention.ms")
    cc.check(r.value == default_retention and src(r) == "DEFAULT_CONFIG",
             "after DELETE retention.ms = %r from %s, want %s from DEFAULT_CONFIG" % (r.value, src(r),
                                                                                    default_retention))
    cc.check(all(s[2] != "DYNAMIC_TOPIC_CONFIG" for s in synonyms_of(r)), "deleted retention.ms still has a topic "
             "synonym: %r" % synonyms_of(r))
    check_entry(last, "cleanup.policy", "compact", "DYNAMIC_TOPIC_CONFIG")
    check_entry(last, "max.message.bytes", "200000", "DYNAMIC_TOPIC_CONFIG")
    return ("SET/APPEND/DELETE/SUBTRACT shown with DYNAMIC_TOPIC_CONFIG and synonyms; validate_only kept the value; "
            "300 kB record refused with MSG_SIZE_TOO_LARGE at once")


def s_alter_configs(ctx):
    """Legacy AlterConfigs replaces the topic's whole set of configs."""
    a = admin(ctx)
    name = ctx.name()
    create_topic(ctx, a, name, 1, {"retention.ms": "3600000", "segment.bytes": "1048576"})
    first = describe(a, ResourceType.TOPIC, name)
    check_entry(first, "retention.ms", "3600000", "DYNAMIC_TOPIC_CONFIG")
    check_entry(first, "segment.bytes", "1048576", "DYNAMIC_TOPIC_CONFIG")
    ctx.step("alter_configs cleanup.policy=compact, max.message.bytes=300000")
    res = ConfigResource(ResourceType.TOPIC, name, set_config={"cleanup.policy": "compact",
                                                              "max.message.bytes": "300000"})
    a.alter_configs([res], request_timeout=15)[res].result(timeout=20)
    after = describe(a, ResourceType.TOPIC, name)
    check_entry(after, "cleanup.policy", "compact", "DYNAMIC_TOPIC_CONFIG")
    check_entry(after, "max.message.bytes", "300000", "DYNAMIC_TOPIC_CONFIG")
    for key in ("retention.ms", "segment.bytes"):
        e = entry(after, key)
        cc.check(src(e) == "DEFAULT_CONFIG", "%s not in the new set: source %s (value %r), want DEFAULT_CONFIG"
                 % (key, src(e), e.value))
    ctx.step("alter_configs validate_only")
    res = ConfigResource(ResourceType.TOPIC, name, set_config={"retention.ms": "1000"})
    a.alter_configs([res], request_timeout=15, validate_only=True)[res].result(timeout=20)
    cc.check(src(entry(describe(a, ResourceType.TOPIC, name), "retention.ms")) == "DEFAULT_CONFIG",
             "validate_only alter_configs changed retention.ms")
    ctx.step("alter_configs with an unknown config")
    res = ConfigResource(ResourceType.TOPIC, name, set_config={"no.such.config": "1"})
    config_error(a.alter_configs([res], request_timeout=15)[res], KafkaError.INVALID_CONFIG, "unknown config")
    return "whole config set replaced (dropped keys back to DEFAULT_CONFIG); validate_only; unknown key INVALID_CONFIG"


def s_config_errors(ctx):
    """One IncrementalAlterConfigs with four topic resources: each gets its own answer."""
    SET = AlterConfigOpType.SET
    a = admin(ctx)
    unknown_key, bad_value, good = ctx.name("a"), ctx.name("b"), ctx.name("c")
    missing = ctx.name("missing")
    for t in (unknown_key, bad_value, good):
        create_topic(ctx, a, t, 1)
    resources = [
        ConfigResource(ResourceType.TOPIC, unknown_key,
                       incremental_configs=[ConfigEntry("no.such.config", "1", incremental_operation=SET)]),
        ConfigResource(ResourceType.TOPIC, bad_value,
                       incremental_configs=[ConfigEntry("retention.ms", "not-a-number", incremental_operation=SET)]),
        ConfigResource(ResourceType.TOPIC, good,
                       incremental_configs=[ConfigEntry("retention.ms", "7200000", incremental_operation=SET)]),
        ConfigResource(ResourceType.TOPIC, missing,
                       incremental_configs=[ConfigEntry("retention.ms", "7200000", incremental_operation=SET)]),
    ]
    ctx.step("incremental_alter_configs of 4 resources")
    fs = a.incremental_alter_configs(resources, request_timeout=15)
    by_name = {r.name: f for r, f in fs.items()}
    config_error(by_name[unknown_key], KafkaError.INVALID_CONFIG, "unknown config name")
    config_error(by_name[bad_value], KafkaError.INVALID_CONFIG, "retention.ms=not-a-number")
    config_error(by_name[missing], KafkaError.UNKNOWN_TOPIC_OR_PART, "missing topic")
    by_name[good].result(timeout=20)
    check_entry(describe(a, ResourceType.TOPIC, good), "retention.ms", "7200000", "DYNAMIC_TOPIC_CONFIG")
    r = entry(describe(a, ResourceType.TOPIC, bad_value), "retention.ms")
    cc.check(src(r) == "DEFAULT_CONFIG", "refused retention.ms was applied: %r from %s" % (r.value, src(r)))
    ctx.step("describe_configs of a missing topic")
    res = ConfigResource(ResourceType.TOPIC, missing)
    config_error(a.describe_configs([res], request_timeout=15)[res], KafkaError.UNKNOWN_TOPIC_OR_PART,
                 "describe missing topic")
    return "per resource: unknown key and bad value INVALID_CONFIG, missing topic UNKNOWN_TOPIC_OR_PART, valid one applied"


TOPIC_CONFIGS_41 = ("cleanup.policy", "compression.type", "delete.retention.ms", "file.delete.delay.ms",
                    "flush.messages", "flush.ms", "index.interval.bytes", "max.compaction.lag.ms",
                    "max.message.bytes", "message.timestamp.after.max.ms", "message.timestamp.before.max.ms",
                    "message.timestamp.type", "min.cleanable.dirty.ratio", "min.compaction.lag.ms",
                    "min.insync.replicas", "preallocate", "retention.bytes", "retention.ms", "segment.bytes",
                    "segment.index.bytes", "segment.jitter.ms", "segment.ms", "unclean.leader.election.enable")


def s_describe_configs_sources(ctx):
    """DescribeConfigs of a topic and of the broker, with sources, synonyms and read-only flags."""
    a = admin(ctx)
    name = ctx.name()
    create_topic(ctx, a, name, 1, {"retention.ms": "3600000"})
    topic = describe(a, ResourceType.TOPIC, name)
    missing = [k for k in TOPIC_CONFIGS_41 if k not in topic]
    cc.check(not missing, "topic configs missing from DescribeConfigs: %s" % ",".join(missing))
    check_entry(topic, "retention.ms", "3600000", "DYNAMIC_TOPIC_CONFIG")
    broker = describe(a, ResourceType.BROKER, "0")
    for key in ("log.retention.ms", "log.segment.bytes", "message.max.bytes", "node.id"):
        entry(broker, key)
    node = entry(broker, "node.id")
    cc.check(node.value == "0" and node.is_read_only, "node.id = %r read_only=%s, want 0 and read-only" % (
        node.value, node.is_read_only))
    # A topic config nobody set inherits the broker's value, with the broker's name as synonym.
    seg_topic, seg_broker = entry(topic, "segment.bytes"), entry(broker, "log.segment.bytes")
    cc.check(seg_topic.value == seg_broker.value, "segment.bytes %r differs from the broker's log.segment.bytes %r" % (
        seg_topic.value, seg_broker.value))
    cc.check(src(seg_topic) == src(seg_broker), "segment.bytes source %s, broker's log.segment.bytes %s" % (
        src(seg_topic), src(seg_broker)))
    syn = synonyms_of(seg_topic)
    cc.check(syn and syn[0][0] == "log.segment.bytes", "segment.bytes synonyms %r, want log.segment.bytes first" % syn)
    mmb = entry(broker, "message.max.bytes")
    cc.check(not mmb.is_read_only, "message.max.bytes is read-only; Kafka alters it per broker and cluster-wide")
    sources = sorted({src(e) for e in broker.values()})
    return "topic: %d configs (all %d of Kafka 4.1's core list), retention.ms DYNAMIC_TOPIC_CONFIG; broker 0: %d " \
        "configs, sources %s" % (len(topic), len(TOPIC_CONFIGS_41), len(broker), ",".join(sources))


def s_broker_configs(ctx):
    """log.retention.ms altered on node 0 (IncrementalAlterConfigs SET, then DELETE): the broker
    shows DYNAMIC_BROKER_CONFIG and a topic without its own retention.ms inherits it at once.
    librdkafka cannot address the cluster default (an empty BROKER name): it refuses it locally."""
    SET, DELETE = AlterConfigOpType.SET, AlterConfigOpType.DELETE
    a = admin(ctx)
    name = ctx.name()
    create_topic(ctx, a, name, 1)
    value = "777600000"  # 9 days: harmless for the other suites' topics on a shared broker
    ctx.step("incremental_alter_configs BROKER 0 SET log.retention.ms")
    incremental(a, ResourceType.BROKER, "0", [("log.retention.ms", value, SET)])
    try:
        broker = describe(a, ResourceType.BROKER, "0")
        e = entry(broker, "log.retention.ms")
        cc.check(e.value == value and src(e) == "DYNAMIC_BROKER_CONFIG",
                 "broker log.retention.ms = %r from %s, want %s from DYNAMIC_BROKER_CONFIG" % (e.value, src(e),
                                                                                            value))
        syn = synonyms_of(e)
        cc.check(syn and syn[0] == ("log.retention.ms", value, "DYNAMIC_BROKER_CONFIG"),
                 "broker log.retention.ms synonyms %r" % syn)
        cc.check(not e.is_read_only, "log.retention.ms read-only; Kafka alters it dynamically")
        t = entry(describe(a, ResourceType.TOPIC, name), "retention.ms")
        cc.check(t.value == value and src(t) == "DYNAMIC_BROKER_CONFIG",
                 "topic retention.ms = %r from %s, want the broker's %s from DYNAMIC_BROKER_CONFIG" % (
                     t.value, src(t), value))
        cc.check(synonyms_of(t)[:1] == [("log.retention.ms", value, "DYNAMIC_BROKER_CONFIG")],
                 "topic retention.ms synonyms %r" % synonyms_of(t))
    finally:
        ctx.step("incremental_alter_configs BROKER 0 DELETE log.retention.ms")
        incremental(a, ResourceType.BROKER, "0", [("log.retention.ms", None, DELETE)])
    # (Whether an unset log.retention.ms is listed at all is admin-describe-configs-sources' check.)
    e = describe(a, ResourceType.BROKER, "0").get("log.retention.ms")
    cc.check(e is None or src(e) != "DYNAMIC_BROKER_CONFIG", "after DELETE log.retention.ms still DYNAMIC_BROKER_CONFIG")
    t = entry(describe(a, ResourceType.TOPIC, name), "retention.ms")
    cc.check(t.value != value, "topic retention.ms still %s after the broker value was deleted" % value)
    ctx.step("a BROKER resource with an empty name (cluster default)")
    res = ConfigResource(ResourceType.BROKER, "",
                         incremental_configs=[ConfigEntry("log.retention.ms", value, incremental_operation=SET)])
    try:
        a.incremental_alter_configs([res], request_timeout=15)[res].result(timeout=20)
        local = "accepted"
    except (KafkaException, ValueError) as ex:
        local = "refused by the client (%s)" % (ex.args[0].name() if isinstance(ex, KafkaException) else ex)
    else:
        incremental(a, ResourceType.BROKER, "", [("log.retention.ms", None, DELETE)])
    return "node 0: SET shows DYNAMIC_BROKER_CONFIG on the broker and the topic, DELETE restores; cluster default %s" \
        % local


def s_group_configs(ctx):
    """DescribeConfigs of a GROUP (KIP-848 group configs) that does not exist: Kafka 4 answers its
    defaults; IncrementalAlterConfigs SET within the broker's bounds shows GROUP_CONFIG, outside
    them INVALID_CONFIG."""
    SET, DELETE = AlterConfigOpType.SET, AlterConfigOpType.DELETE
    a = admin(ctx)
    group = ctx.name("group")
    configs = describe(a, ResourceType.GROUP, group)
    for key, want in (("consumer.session.timeout.ms", "45000"), ("consumer.heartbeat.interval.ms", "5000")):
        e = entry(configs, key)
        cc.check(e.value == want and src(e) == "DEFAULT_CONFIG",
                 "group %s = %r from %s, want %s from DEFAULT_CONFIG" % (key, e.value, src(e), want))
    ctx.step("incremental_alter_configs GROUP SET consumer.session.timeout.ms=50000")
    incremental(a, ResourceType.GROUP, group, [("consumer.session.timeout.ms", "50000", SET)])
    e = entry(describe(a, ResourceType.GROUP, group), "consumer.session.timeout.ms")
    cc.check(e.value == "50000" and src(e) == "GROUP_CONFIG",
             "after SET consumer.session.timeout.ms = %r from %s, want 50000 from GROUP_CONFIG" % (e.value, src(e)))
    ctx.step("SET consumer.session.timeout.ms=1000 (below group.consumer.min.session.timeout.ms)")
    res = ConfigResource(ResourceType.GROUP, group, incremental_configs=[
        ConfigEntry("consumer.session.timeout.ms", "1000", incremental_operation=SET)])
    config_error(a.incremental_alter_configs([res], request_timeout=15)[res], KafkaError.INVALID_CONFIG,
                 "session timeout below the broker minimum")
    incremental(a, ResourceType.GROUP, group, [("consumer.session.timeout.ms", None, DELETE)])
    e = entry(describe(a, ResourceType.GROUP, group), "consumer.session.timeout.ms")
    cc.check(e.value == "45000" and src(e) == "DEFAULT_CONFIG", "after DELETE: %r from %s" % (
        e.value, src(e)))
    return "missing group described with defaults; SET 50000 GROUP_CONFIG; 1000 INVALID_CONFIG; DELETE restores 45000"


def s_describe_cluster(ctx):
    """DescribeCluster (key 60): cluster id, controller and the one node, and the cluster
    operations Kafka grants without an authorizer when asked."""
    a = admin(ctx)
    ctx.step("describe_cluster (DescribeCluster, key 60)")
    d = a.describe_cluster(request_timeout=15).result(timeout=20)
    nodes = {n.id: "%s:%d" % (n.host, n.port) for n in d.nodes}
    cc.check(nodes == {0: ctx.bootstrap}, "nodes %r, want {0: %s}" % (nodes, ctx.bootstrap))
    cc.check(d.controller is not None and d.controller.id == 0, "controller %r, want node 0" % d.controller)
    md = a.list_topics(timeout=10)
    cc.check(d.cluster_id and d.cluster_id == md.cluster_id, "cluster id %r, Metadata says %r" % (
        d.cluster_id, md.cluster_id))
    cc.check(not d.authorized_operations, "authorized operations %r without asking" % d.authorized_operations)
    ctx.step("describe_cluster with include_authorized_operations")
    d = a.describe_cluster(include_authorized_operations=True, request_timeout=15).result(timeout=20)
    got = sorted(op.name for op in d.authorized_operations or [])
    want = sorted(["CREATE", "ALTER", "DESCRIBE", "CLUSTER_ACTION", "DESCRIBE_CONFIGS", "ALTER_CONFIGS",
                   "IDEMPOTENT_WRITE"])
    cc.check(got == want, "cluster authorized operations %r, want %s" % (got, ",".join(want)))
    return "cluster %s, controller 0, node 0 at %s; operations %s" % (d.cluster_id, ctx.bootstrap, ",".join(got))


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
    r.run("idempotent-producer", s_idempotent, 60)
    r.run("transactions-commit-abort", s_txn_commit_abort, 90)
    r.run("transactions-eos-pipeline", s_eos_pipeline, 120)
    r.run("transactions-fencing", s_txn_fencing, 90)
    r.run("transactions-timeout", s_txn_timeout, 90)
    r.run("admin-incremental-alter-configs", s_incremental_alter_configs, 45)
    r.run("admin-alter-configs", s_alter_configs, 30)
    r.run("admin-config-errors", s_config_errors, 30)
    r.run("admin-describe-configs-sources", s_describe_configs_sources, 30)
    r.run("admin-broker-configs", s_broker_configs, 30)
    r.run("admin-group-configs", s_group_configs, 30)
    r.run("admin-describe-cluster", s_describe_cluster, 30)
    r.finish()


if __name__ == "__main__":
    main()

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
    r.finish()


if __name__ == "__main__":
    main()

"""kafka-python against a running Sluice broker.
Usage: scenarios_kafka_python.py HOST:PORT [scenario ...]"""
import time

import kafka
from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafka.errors import (IncompatibleBrokerVersion, InvalidReplicationFactorError, TopicAlreadyExistsError,
                          UnknownTopicOrPartitionError)
from kafka.protocol.admin import DescribeLogDirsRequest_v0, DescribeLogDirsResponse_v0

import compat_common as cc

CLIENT = "kafka-python"
VERSION = kafka.__version__


def admin(ctx):
    return KafkaAdminClient(bootstrap_servers=ctx.bootstrap, client_id="compat-" + ctx.scenario,
                            request_timeout_ms=15000)


def create_topic(ctx, a, name, partitions, configs=None):
    ctx.step("creating topic %s with %d partitions" % (name, partitions))
    a.create_topics([NewTopic(name, partitions, 1, topic_configs=configs or {})], timeout_ms=15000)


def describe(a, name):
    """(error_code, sorted [(partition, leader, replicas)]) of one topic, from Metadata."""
    topics = admin_metadata("describe_topics", lambda: a.describe_topics([name]))
    cc.check(len(topics) == 1, "describe_topics returned %d topics for one name" % len(topics))
    t = topics[0]
    parts = sorted((p["partition"], p["leader"], list(p["replicas"])) for p in t["partitions"])
    return t["error_code"], parts


def client_view(ctx, name):
    """(all topic names, sorted [(partition, leader)] of name) from a plain client's Metadata
    (no authorized operations asked for), to check admin calls independently of the admin's
    own describe/list calls."""
    c = KafkaConsumer(bootstrap_servers=ctx.bootstrap, group_id=None)
    try:
        topics = c.topics()
        cluster = c._client.cluster  # noqa: SLF001 - the client's metadata cache, refreshed by topics()
        parts = sorted((p, cluster.leader_for_partition(TopicPartition(name, p)))
                       for p in (cluster.partitions_for_topic(name) or ()))
    finally:
        c.close()
    return topics, parts


def admin_metadata(what, fn):
    """Calls a KafkaAdminClient Metadata call (v8, asks for authorized operations), naming the
    broker's answer if kafka-python cannot decode the authorized operations it got."""
    try:
        return fn()
    except ValueError as e:
        if "ACLOperation" not in str(e):
            raise
        raise cc.ScenarioError(
            "%s: Metadata v8 asked for authorized operations and got a bit field kafka-python cannot decode "
            "(ValueError: %s; bit 31 = -2147483648 = 'not computed')" % (what, e)) from e


def expect_raise(fn, exc, what):
    try:
        fn()
    except exc:
        return
    except Exception as e:  # noqa: BLE001
        raise cc.ScenarioError("%s: got %s: %s, want %s" % (what, type(e).__name__, e, exc.__name__))
    raise cc.ScenarioError("%s: succeeded, want %s" % (what, exc.__name__))


def s_metadata(ctx):
    ctx.step("client metadata")
    c = KafkaConsumer(bootstrap_servers=ctx.bootstrap, group_id=None)
    c.topics()
    brokers = {b.nodeId: "%s:%d" % (b.host, b.port) for b in c._client.cluster.brokers()}  # noqa: SLF001
    c.close()
    cc.check(brokers == {0: ctx.bootstrap}, "client metadata brokers %r, want {0: %s}" % (brokers, ctx.bootstrap))
    ctx.step("admin describe_cluster (Metadata v8 with authorized operations)")
    a = admin(ctx)
    md = admin_metadata("describe_cluster", a.describe_cluster)
    brokers = {b["node_id"]: "%s:%d" % (b["host"], b["port"]) for b in md["brokers"]}
    cc.check(brokers == {0: ctx.bootstrap}, "brokers %r, want {0: %s}" % (brokers, ctx.bootstrap))
    cc.check(md.get("controller_id") == 0, "controller %r, want 0" % md.get("controller_id"))
    topics = admin_metadata("list_topics", a.list_topics)
    a.close()
    return "1 broker (node 0), controller 0, cluster %s, %d topics, broker version guessed %s" % (
        md.get("cluster_id"), len(topics), ".".join(map(str, a.config["api_version"])))


def s_create_topic(ctx):
    a = admin(ctx)
    name = ctx.name()
    create_topic(ctx, a, name, 3, {"retention.ms": "3600000", "cleanup.policy": "delete"})
    _, parts = client_view(ctx, name)
    cc.check(parts == [(0, 0), (1, 0), (2, 0)], "metadata after create: partitions/leaders %r" % parts)
    ctx.step("creating it again")
    expect_raise(lambda: create_topic(ctx, a, name, 3), TopicAlreadyExistsError, "second create")
    ctx.step("creating with replication factor 3")
    expect_raise(lambda: a.create_topics([NewTopic(ctx.name("rf3"), 1, 3)]), InvalidReplicationFactorError,
                 "replication factor 3")
    a.close()
    return "created 3 partitions with configs, TOPIC_ALREADY_EXISTS and INVALID_REPLICATION_FACTOR as expected"


def s_delete_topic(ctx):
    a = admin(ctx)
    name = ctx.name()
    create_topic(ctx, a, name, 2)
    cc.check(name in client_view(ctx, name)[0], "created topic not listed")
    ctx.step("delete_topics")
    a.delete_topics([name], timeout_ms=15000)
    cc.check(cc.wait_until(lambda: name not in client_view(ctx, name)[0], 10), "deleted topic still listed")
    ctx.step("deleting it again")
    expect_raise(lambda: a.delete_topics([name], timeout_ms=15000), UnknownTopicOrPartitionError, "second delete")
    a.close()
    return "deleted, gone from metadata, second delete UNKNOWN_TOPIC_OR_PARTITION"


def s_describe_topic(ctx):
    a = admin(ctx)
    name = ctx.name()
    create_topic(ctx, a, name, 2)
    ctx.step("describe_topics (Metadata)")
    err, parts = describe(a, name)
    cc.check(err == 0 and parts == [(0, 0, [0]), (1, 0, [0])], "error %d, partitions %r" % (err, parts))
    err, parts = describe(a, ctx.name("missing"))
    cc.check(err == 3 and parts == [], "missing topic: error %d partitions %r, want 3 (UNKNOWN_TOPIC_OR_PARTITION)"
             % (err, parts))
    a.close()
    return "2 partitions led by node 0; missing topic error 3"


def s_describe_configs(ctx):
    a = admin(ctx)
    name = ctx.name()
    create_topic(ctx, a, name, 1, {"retention.ms": "3600000"})
    ctx.step("describe_configs (DescribeConfigs, key 32)")
    responses = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    configs = {}
    for r in responses:
        for res in r.resources:
            cc.check(res[0] == 0, "resource error %r" % (res[:2],))
            configs.update({c[0]: c[1] for c in res[4]})
    cc.check(configs.get("retention.ms") == "3600000", "retention.ms = %r" % configs.get("retention.ms"))
    a.close()
    return "%d configs, retention.ms=3600000" % len(configs)


def consume_assigned(ctx, topic, partitions, n, timeout=30, start=None):
    """Reads n records from the given partitions with assign() (no group), from the beginning
    or from offset start."""
    c = KafkaConsumer(bootstrap_servers=ctx.bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset="earliest")
    tps = [TopicPartition(topic, p) for p in partitions]
    c.assign(tps)
    if start is None:
        c.seek_to_beginning(*tps)
    else:
        for tp in tps:
            c.seek(tp, start)
    got = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < n and time.monotonic() < deadline:
            ctx.step("consuming (%d of %d so far)" % (len(got), n))
            batches = c.poll(timeout_ms=1000, max_records=500)
            # poll() groups by partition; order within a partition is what matters.
            for tp in sorted(batches, key=lambda t: t.partition):
                got.extend(batches[tp])
    finally:
        c.close()
    return got


def produce(ctx, topic, records, **cfg):
    """records: list of (key, value, headers); returns the list of RecordMetadata."""
    p = KafkaProducer(bootstrap_servers=ctx.bootstrap, acks="all", linger_ms=5, **cfg)
    ctx.step("producing %d records %r" % (len(records), cfg))
    futures = [p.send(topic, key=k, value=v, headers=h) for k, v, h in records]
    p.flush(timeout=30)
    metas = [f.get(timeout=10) for f in futures]
    p.close(timeout=10)
    return metas


def s_produce_consume(ctx):
    a = admin(ctx)
    topic = ctx.name()
    create_topic(ctx, a, topic, 3)
    a.close()
    records = [cc.keyed_record(i, CLIENT) for i in range(cc.N_KEYED)]
    metas = produce(ctx, topic, records)
    sent = {i: (m.partition, m.offset) for i, m in enumerate(metas)}
    got = consume_assigned(ctx, topic, [0, 1, 2], cc.N_KEYED)
    rows = [(r.partition, r.offset, r.key, r.value, r.headers) for r in got]
    return cc.verify_keyed(sent, rows, cc.N_KEYED, CLIENT)


def compression(codec):
    def scenario(ctx):
        a = admin(ctx)
        topic = ctx.name()
        create_topic(ctx, a, topic, 1)
        a.close()
        records = [cc.codec_record(i, codec) + ([],) for i in range(cc.N_CODEC)]
        metas = produce(ctx, topic, records, compression_type=codec, batch_size=16384)
        sent = {i: m.offset for i, m in enumerate(metas)}
        got = consume_assigned(ctx, topic, [0], cc.N_CODEC)
        note = cc.verify_codec(sent, [(r.offset, r.key, r.value) for r in got], cc.N_CODEC, codec)
        ctx.step("consuming from offset %d" % cc.MID_BATCH)
        got = consume_assigned(ctx, topic, [0], cc.N_CODEC - cc.MID_BATCH, start=cc.MID_BATCH)
        cc.verify_codec(sent, [(r.offset, r.key, r.value) for r in got], cc.N_CODEC, codec, cc.MID_BATCH)
        ctx.step("reading the stored batches with a raw Fetch")
        wire = cc.check_codec_on_wire(ctx.bootstrap, topic, codec, CLIENT)
        return "%s, and from offset %d, %s" % (note, cc.MID_BATCH, wire)
    return scenario


def s_consumer_group(ctx):
    a = admin(ctx)
    topic = ctx.name()
    group = ctx.name("group")
    create_topic(ctx, a, topic, 1)
    a.close()
    produce(ctx, topic, [(b"k%d" % i, b"group record %d" % i, []) for i in range(10)])
    ctx.step("subscribing as group %s" % group)
    c = KafkaConsumer(topic, bootstrap_servers=ctx.bootstrap, group_id=group, enable_auto_commit=False,
                      auto_offset_reset="earliest", session_timeout_ms=10000, heartbeat_interval_ms=3000)
    got = []
    deadline = time.monotonic() + 20
    try:
        while len(got) < 10 and time.monotonic() < deadline:
            ctx.step("subscribed as group %s, consumed %d of 10" % (group, len(got)))
            for recs in c.poll(timeout_ms=1000).values():
                got.extend(recs)
        cc.check(len(got) == 10, "consumed %d of 10 with subscribe() in 20s" % len(got))
        ctx.step("committing")
        c.commit()
        tp = TopicPartition(topic, 0)
        cc.check(c.committed(tp) == 10, "committed offset %r, want 10" % c.committed(tp))
    finally:
        c.close(autocommit=False)
    return "consumed 10 as a group member, committed offset 10"


def s_idempotent(ctx):
    a = admin(ctx)
    topic = ctx.name()
    create_topic(ctx, a, topic, 3)
    a.close()
    records = [cc.keyed_record(i, CLIENT) for i in range(cc.N_IDEMPOTENT)]
    # InitProducerId without a transactional id, then Produce with producer id and sequences.
    metas = produce(ctx, topic, records, enable_idempotence=True)
    sent = {i: (m.partition, m.offset) for i, m in enumerate(metas)}
    got = consume_assigned(ctx, topic, [0, 1, 2], cc.N_IDEMPOTENT)
    rows = [(r.partition, r.offset, r.key, r.value, r.headers) for r in got]
    note = cc.verify_keyed(sent, rows, cc.N_IDEMPOTENT, CLIENT)
    ctx.step("reading the stored batches with a raw Fetch")
    return "%s; %s" % (note, cc.check_idempotent_on_wire(ctx.bootstrap, topic, [0, 1, 2], CLIENT))


def txn_consumer(ctx, topic, partitions, isolation):
    c = KafkaConsumer(bootstrap_servers=ctx.bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset="earliest", isolation_level=isolation)
    tps = [TopicPartition(topic, p) for p in partitions]
    c.assign(tps)
    c.seek_to_beginning(*tps)
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
        batches = c.poll(timeout_ms=500, max_records=500)
        for tp in sorted(batches, key=lambda t: t.partition):
            got.extend((r.partition, r.offset, r.value) for r in batches[tp])
    return got


def transactional_producer(ctx, **cfg):
    p = KafkaProducer(bootstrap_servers=ctx.bootstrap, transactional_id=ctx.name("txn"), linger_ms=5, **cfg)
    ctx.step("init_transactions (FindCoordinator type 1, InitProducerId with a transactional id)")
    p.init_transactions()
    return p


def s_txn_commit_abort(ctx):
    a = admin(ctx)
    topic = ctx.name()
    create_topic(ctx, a, topic, 2)
    a.close()
    p = transactional_producer(ctx)
    for tag, end in cc.TXN_PLAN:
        ctx.step("transaction %s" % tag)
        p.begin_transaction()
        futures = [p.send(topic, value=value, partition=partition) for partition, value in cc.txn_records(tag)]
        p.flush(timeout=20)
        for f in futures:
            f.get(timeout=10)
        if tag == "D":
            break  # left open for now
        p.commit_transaction() if end == "COMMIT" else p.abort_transaction()
    committed = txn_consumer(ctx, topic, [0, 1], "read_committed")
    uncommitted = txn_consumer(ctx, topic, [0, 1], "read_uncommitted")
    try:
        got = drain(ctx, committed, 2 * cc.N_TXN, 3, 20, "read_committed, D open")
        cc.verify_txn_view("read_committed while D is open", got, "AC")
        got_all = drain(ctx, uncommitted, 4 * cc.N_TXN, 1, 20, "read_uncommitted")
        cc.verify_txn_view("read_uncommitted", got_all, "ABCD")
        ctx.step("committing D")
        p.commit_transaction()
        got += drain(ctx, committed, cc.N_TXN, 2, 20, "read_committed after D committed")
        cc.verify_txn_view("read_committed after D committed", got, "ACD")
    finally:
        committed.close()
        uncommitted.close()
        p.close(timeout=10)
    ctx.step("reading the stored batches with a raw Fetch")
    markers = cc.check_txn_markers(ctx.bootstrap, topic, CLIENT)
    return "read_committed: A+C while D open, then A+C+D; read_uncommitted: A+B+C+D; %s" % markers


def s_eos_pipeline(ctx):
    a = admin(ctx)
    src, dst, group = ctx.name("in"), ctx.name("out"), ctx.name("group")
    create_topic(ctx, a, src, 3)
    create_topic(ctx, a, dst, 3)
    a.close()
    produce(ctx, src, [cc.eos_input(i) + ([],) for i in range(cc.N_EOS)])
    c = KafkaConsumer(src, bootstrap_servers=ctx.bootstrap, group_id=group, enable_auto_commit=False,
                      auto_offset_reset="earliest", isolation_level="read_committed",
                      session_timeout_ms=10000, heartbeat_interval_ms=3000)
    tp = transactional_producer(ctx)
    done = n_txn = aborted = 0
    deadline = time.monotonic() + 60
    try:
        while done < cc.N_EOS:
            cc.check(time.monotonic() < deadline, "pipeline: %d of %d inputs committed in 60 s, %d transactions" % (
                done, cc.N_EOS, n_txn))
            ctx.step("pipeline: %d of %d inputs committed in %d transactions" % (done, cc.N_EOS, n_txn))
            polled = c.poll(timeout_ms=1000, max_records=cc.EOS_BATCH)
            batch = [r for t in sorted(polled, key=lambda t: t.partition) for r in polled[t]]
            if not batch:
                continue
            tp.begin_transaction()
            nxt = {}
            for r in batch:
                tp.send(dst, key=r.key, value=cc.eos_transform(r.value))
                nxt[r.partition] = r.offset + 1
            # AddOffsetsToTxn + TxnOffsetCommit.
            tp.send_offsets_to_transaction(
                {TopicPartition(src, q): OffsetAndMetadata(o, "", -1) for q, o in nxt.items()}, group)
            n_txn += 1
            if n_txn == cc.EOS_ABORT_AT:
                ctx.step("aborting transaction %d and rewinding to the committed offsets" % n_txn)
                # Delivered first, so that the aborted records are in the log.
                tp.flush(timeout=20)
                tp.abort_transaction()
                aborted = len(batch)
                for q in nxt:
                    c.seek(TopicPartition(src, q), c.committed(TopicPartition(src, q)) or 0)
            else:
                tp.commit_transaction()
                done += len(batch)
        ctx.step("reading the group's committed offsets")
        committed = {q: c.committed(TopicPartition(src, q)) for q in range(3)}
    finally:
        c.close(autocommit=False)
        tp.close(timeout=10)
    rc = txn_consumer(ctx, dst, [0, 1, 2], "read_committed")
    ru = txn_consumer(ctx, dst, [0, 1, 2], "read_uncommitted")
    try:
        values = [v for _, _, v in drain(ctx, rc, cc.N_EOS, 1, 30, "output read_committed")]
        n_uncommitted = len(drain(ctx, ru, cc.N_EOS + aborted, 1, 30, "output read_uncommitted"))
    finally:
        rc.close()
        ru.close()
    note = cc.verify_eos(values, n_uncommitted, committed, aborted)
    return "%d transactions (one aborted, %d inputs redone); %s" % (n_txn, aborted, note)


# --- configs and log dirs: AlterConfigs, DescribeConfigs with sources, DescribeLogDirs ----
# kafka-python returns the raw responses. DescribeConfigs v1+ sources are Kafka's ids.
SOURCES = {0: "UNKNOWN", 1: "DYNAMIC_TOPIC_CONFIG", 2: "DYNAMIC_BROKER_CONFIG", 3: "DYNAMIC_DEFAULT_BROKER_CONFIG",
           4: "STATIC_BROKER_CONFIG", 5: "DEFAULT_CONFIG", 6: "DYNAMIC_BROKER_LOGGER_CONFIG", 7: "CLIENT_METRICS_CONFIG",
           8: "GROUP_CONFIG"}


def describe_with_sources(a, resource_type, name, keys=None):
    """{config name: (value, read_only, source name, [(synonym, value, source name)])} of one
    resource, from DescribeConfigs v1+ with include_synonyms."""
    res = ConfigResource(resource_type, name, configs={k: None for k in keys} if keys else None)
    out = {}
    for r in a.describe_configs([res], include_synonyms=True):
        for err, msg, _rtype, rname, entries in r.resources:
            cc.check(err == 0, "DescribeConfigs %s: error %d %s" % (rname, err, msg))
            for name_, value, read_only, source, _sensitive, synonyms in entries:
                out[name_] = (value, read_only, SOURCES.get(source, source),
                              [(sn, sv, SOURCES.get(ss, ss)) for sn, sv, ss in synonyms])
    return out


def alter(a, resources):
    """[(resource name, error code, message)] of one AlterConfigs request."""
    r = a.alter_configs(resources)
    return [(name, err, msg) for err, msg, _rtype, name in r.resources]


def check_source(configs, key, value, source):
    cc.check(key in configs, "DescribeConfigs has no %s (Kafka lists every config of the resource)" % key)
    got_value, _ro, got_source, synonyms = configs[key]
    cc.check((got_value, got_source) == (value, source), "%s = %r from %s, want %r from %s" % (
        key, got_value, got_source, value, source))
    if source != "DEFAULT_CONFIG":
        cc.check(synonyms and synonyms[0][1:] == (value, source), "%s synonyms %r, want the first to carry %r from %s"
                 % (key, synonyms, value, source))
    return configs[key]


def s_alter_configs(ctx):
    """AlterConfigs (v0/v1) replaces a topic's configs; per-resource errors for an unknown config
    and a missing topic in the same request."""
    a = admin(ctx)
    name, other = ctx.name(), ctx.name("other")
    create_topic(ctx, a, name, 1, {"retention.ms": "3600000"})
    create_topic(ctx, a, other, 1)
    check_source(describe_with_sources(a, ConfigResourceType.TOPIC, name), "retention.ms", "3600000",
                 "DYNAMIC_TOPIC_CONFIG")
    ctx.step("alter_configs: 3 resources (valid, unknown config, missing topic)")
    missing = ctx.name("missing")
    got = dict((n, (e, m)) for n, e, m in alter(a, [
        ConfigResource(ConfigResourceType.TOPIC, name, {"cleanup.policy": "compact", "max.message.bytes": "300000"}),
        ConfigResource(ConfigResourceType.TOPIC, other, {"no.such.config": "1"}),
        ConfigResource(ConfigResourceType.TOPIC, missing, {"retention.ms": "1000"}),
    ]))
    cc.check(got.get(name, (None,))[0] == 0, "valid resource: %r, want error 0" % (got.get(name),))
    cc.check(got.get(other, (None,))[0] == 40, "unknown config: %r, want 40 (INVALID_CONFIG)" % (got.get(other),))
    cc.check(got.get(missing, (None,))[0] == 3, "missing topic: %r, want 3 (UNKNOWN_TOPIC_OR_PARTITION)" % (
        got.get(missing),))
    configs = describe_with_sources(a, ConfigResourceType.TOPIC, name)
    check_source(configs, "cleanup.policy", "compact", "DYNAMIC_TOPIC_CONFIG")
    check_source(configs, "max.message.bytes", "300000", "DYNAMIC_TOPIC_CONFIG")
    cc.check(configs["retention.ms"][2] == "DEFAULT_CONFIG", "retention.ms not in the new set but still from %s (%r)"
             % (configs["retention.ms"][2], configs["retention.ms"][0]))
    return "replaced the set (retention.ms back to DEFAULT_CONFIG); INVALID_CONFIG and UNKNOWN_TOPIC_OR_PARTITION " \
        "per resource"


def s_describe_configs_sources(ctx):
    """DescribeConfigs v2 with synonyms: a topic's own value, an inherited one, a key filter, and
    the broker's entries."""
    a = admin(ctx)
    name = ctx.name()
    create_topic(ctx, a, name, 1, {"retention.ms": "3600000"})
    topic = describe_with_sources(a, ConfigResourceType.TOPIC, name)
    check_source(topic, "retention.ms", "3600000", "DYNAMIC_TOPIC_CONFIG")
    cc.check(not any(ro for _, ro, _, _ in topic.values()), "a topic config is read-only (Kafka: none is)")
    broker = describe_with_sources(a, ConfigResourceType.BROKER, "0")
    seg, bseg = topic.get("segment.bytes"), broker.get("log.segment.bytes")
    cc.check(seg and bseg and seg[0] == bseg[0] and seg[2] == bseg[2],
             "segment.bytes %r vs the broker's log.segment.bytes %r: want the same value and source" % (seg, bseg))
    cc.check(seg[3][:1] and seg[3][0][0] == "log.segment.bytes", "segment.bytes synonyms %r, want log.segment.bytes"
             % (seg[3],))
    cc.check(broker.get("node.id", (None, False))[:2] == ("0", True), "broker node.id %r, want '0' read-only" % (
        broker.get("node.id"),))
    lrm = broker.get("log.retention.ms")
    cc.check(lrm is not None and lrm[2] == "DEFAULT_CONFIG", "broker log.retention.ms %r: Kafka lists it, null and "
             "DEFAULT_CONFIG (log.retention.hours=168 holds the default), while nothing sets it" % (lrm,))
    ctx.step("describe_configs with a key filter")
    only = describe_with_sources(a, ConfigResourceType.TOPIC, name, keys=["retention.ms", "cleanup.policy"])
    cc.check(sorted(only) == ["cleanup.policy", "retention.ms"], "filtered describe returned %r" % sorted(only))
    return "topic: %d configs, retention.ms DYNAMIC_TOPIC_CONFIG, segment.bytes as the broker's log.segment.bytes; " \
        "broker: %d configs; key filter honoured" % (len(topic), len(broker))


def s_broker_default_configs(ctx):
    """AlterConfigs on the cluster-wide default (BROKER with an empty name): broker 0 and a topic
    without its own value show it as DYNAMIC_DEFAULT_BROKER_CONFIG; an empty set removes it."""
    a = admin(ctx)
    name = ctx.name()
    create_topic(ctx, a, name, 1)
    value = "691200000"  # 8 days: harmless for other topics on a shared broker
    ctx.step("alter_configs BROKER '' log.retention.ms")
    got = alter(a, [ConfigResource(ConfigResourceType.BROKER, "", {"log.retention.ms": value})])
    cc.check([e for _, e, _ in got] == [0], "AlterConfigs BROKER '': %r" % got)
    try:
        broker = describe_with_sources(a, ConfigResourceType.BROKER, "0")
        check_source(broker, "log.retention.ms", value, "DYNAMIC_DEFAULT_BROKER_CONFIG")
        t = describe_with_sources(a, ConfigResourceType.TOPIC, name)
        cc.check(t["retention.ms"][:3:2] == (value, "DYNAMIC_DEFAULT_BROKER_CONFIG"),
                 "topic retention.ms %r, want %s from DYNAMIC_DEFAULT_BROKER_CONFIG" % (t["retention.ms"], value))
        cc.check(t["retention.ms"][3][:1] == [("log.retention.ms", value, "DYNAMIC_DEFAULT_BROKER_CONFIG")],
                 "topic retention.ms synonyms %r" % (t["retention.ms"][3],))
    finally:
        ctx.step("alter_configs BROKER '' with no configs")
        cleared = alter(a, [ConfigResource(ConfigResourceType.BROKER, "", {})])
    cc.check([e for _, e, _ in cleared] == [0], "clearing the cluster default: %r" % cleared)
    after = describe_with_sources(a, ConfigResourceType.BROKER, "0")
    # (An unset log.retention.ms should still be listed, null and DEFAULT_CONFIG, as Kafka does;
    # admin-describe-configs-sources checks that.)
    cc.check(after.get("log.retention.ms", (None, False, "absent"))[2] != "DYNAMIC_DEFAULT_BROKER_CONFIG",
             "cluster default still there: %r" % (after.get("log.retention.ms"),))
    return "cluster default log.retention.ms shown as DYNAMIC_DEFAULT_BROKER_CONFIG on broker 0 and the topic; removed"


class DescribeLogDirsResponse_v1(DescribeLogDirsResponse_v0):
    API_VERSION = 1


class DescribeLogDirsRequest_v1(DescribeLogDirsRequest_v0):
    """v1 has v0's schema (only throttling changed); kafka-python 2.3.3 knows v0 only."""
    API_VERSION = 1
    RESPONSE_TYPE = DescribeLogDirsResponse_v1


def log_dirs(ctx, a):
    """(how it was asked, response) of the client's describe_log_dirs(); DescribeLogDirs v0 is gone
    from Kafka 4 (KIP-896), so if the broker refuses it the same request goes as v1."""
    try:
        return "describe_log_dirs() v0", a.describe_log_dirs()
    except IncompatibleBrokerVersion:
        ctx.step("describe_log_dirs v0 not served; sending v1 through the admin client")
        return "DescribeLogDirs v1 (v0 not served)", a.send_request(DescribeLogDirsRequest_v1(topics=None))


def partition_sizes(resp, topic):
    cc.check(len(resp.log_dirs) == 1, "%d log dirs, want 1" % len(resp.log_dirs))
    err, path, topics = resp.log_dirs[0]
    cc.check(err == 0 and path, "log dir %r error %d" % (path, err))
    sizes = {}
    for name, parts in topics:
        if name == topic:
            for index, size, lag, future in parts:
                cc.check(lag == 0 and not future, "partition %d: offset_lag %d is_future %s, want 0/false" % (
                    index, lag, future))
                sizes[index] = size
    return path, sizes


def s_describe_log_dirs(ctx):
    """DescribeLogDirs: the one log dir with every partition's size on disk, growing as records
    are written."""
    a = admin(ctx)
    topic = ctx.name()
    create_topic(ctx, a, topic, 2)
    p = KafkaProducer(bootstrap_servers=ctx.bootstrap, acks="all", linger_ms=5)
    how, resp = log_dirs(ctx, a)
    path, before = partition_sizes(resp, topic)
    cc.check(before == {0: 0, 1: 0}, "empty topic: sizes %r, want 0 and 0" % before)
    ctx.step("producing 100 records of 1000 bytes to partition 0")
    for i in range(100):
        p.send(topic, value=b"v" * 1000, key=b"k%d" % i, partition=0)
    p.flush(20)
    _, after = partition_sizes(log_dirs(ctx, a)[1], topic)
    cc.check(after.get(0, 0) >= 100 * 1000 and after.get(1) == 0,
             "after 100 kB to partition 0: sizes %r, want >= 100000 and 0" % after)
    for i in range(100):
        p.send(topic, value=b"w" * 1000, key=b"k%d" % i, partition=0)
    p.flush(20)
    p.close()
    _, more = partition_sizes(log_dirs(ctx, a)[1], topic)
    cc.check(more.get(0, 0) >= after[0] + 100 * 1000, "after 100 kB more: size %r, was %r" % (more.get(0), after[0]))
    a.close()
    return "%s: log dir %s, partition sizes 0 -> %d -> %d bytes, other partition 0" % (how, path, after[0], more[0])


def main():
    r = cc.Runner(CLIENT, VERSION)
    r.run("metadata", s_metadata, 30)
    r.run("admin-create-topic", s_create_topic, 45)
    r.run("admin-delete-topic", s_delete_topic, 45)
    r.run("admin-describe-topic", s_describe_topic, 45)
    r.run("admin-describe-configs", s_describe_configs, 30)
    r.run("produce-consume-keyed-headers", s_produce_consume, 90)
    for codec in cc.CODECS:
        r.run("compression-" + codec, compression(codec), 60)
    r.run("consumer-group", s_consumer_group, 45)
    r.run("idempotent-producer", s_idempotent, 60)
    r.run("transactions-commit-abort", s_txn_commit_abort, 90)
    r.run("transactions-eos-pipeline", s_eos_pipeline, 120)
    r.run("admin-alter-configs", s_alter_configs, 30)
    r.run("admin-describe-configs-sources", s_describe_configs_sources, 30)
    r.run("admin-broker-default-configs", s_broker_default_configs, 30)
    r.run("admin-describe-log-dirs", s_describe_log_dirs, 45)
    r.finish()


if __name__ == "__main__":
    main()

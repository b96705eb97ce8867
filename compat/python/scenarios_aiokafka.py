"""aiokafka against a running Sluice broker.
Usage: scenarios_aiokafka.py HOST:PORT [scenario ...]"""
import asyncio
import time

import aiokafka
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

import compat_common as cc

CLIENT = "aiokafka"
VERSION = aiokafka.__version__
TOPIC_ALREADY_EXISTS, INVALID_REPLICATION_FACTOR, UNKNOWN_TOPIC_OR_PARTITION = 36, 38, 3


def sync(coro_fn):
    """Runs an async scenario in its own event loop (the harness calls scenarios synchronously)."""
    def scenario(ctx):
        return asyncio.run(coro_fn(ctx))
    return scenario


class Admin:
    def __init__(self, ctx):
        self.ctx = ctx
        self.a = AIOKafkaAdminClient(bootstrap_servers=ctx.bootstrap, client_id="compat-" + ctx.scenario,
                                     request_timeout_ms=15000)

    async def __aenter__(self):
        await self.a.start()
        return self.a

    async def __aexit__(self, *exc):
        await self.a.close()


def topic_errors(resp):
    """{topic: error code} of a CreateTopics or DeleteTopics response."""
    rows = getattr(resp, "topic_errors", None)
    if rows is None:
        rows = getattr(resp, "topic_error_codes")
    return {row[0]: row[1] for row in rows}


async def create_topic(ctx, a, name, partitions, configs=None, replication=1):
    ctx.step("creating topic %s with %d partitions" % (name, partitions))
    resp = await a.create_topics([NewTopic(name, partitions, replication, topic_configs=configs or {})],
                                 timeout_ms=15000)
    return topic_errors(resp).get(name)


async def create_ok(ctx, a, name, partitions, configs=None):
    code = await create_topic(ctx, a, name, partitions, configs)
    cc.check(code == 0, "CreateTopics error %r for %s" % (code, name))


async def describe(a, name):
    topics = await a.describe_topics([name])
    cc.check(len(topics) == 1, "describe_topics returned %d topics for one name" % len(topics))
    t = topics[0]
    parts = sorted((p["partition"], p["leader"], list(p["replicas"])) for p in t["partitions"])
    return t["error_code"], parts


@sync
async def s_metadata(ctx):
    async with Admin(ctx) as a:
        ctx.step("describe_cluster (Metadata)")
        md = await a.describe_cluster()
        brokers = {b["node_id"]: "%s:%d" % (b["host"], b["port"]) for b in md["brokers"]}
        cc.check(brokers == {0: ctx.bootstrap}, "brokers %r, want {0: %s}" % (brokers, ctx.bootstrap))
        cc.check(md.get("controller_id") == 0, "controller %r, want 0" % md.get("controller_id"))
        topics = await a.list_topics()
    return "1 broker (node 0), controller 0, cluster %s, %d topics" % (md.get("cluster_id"), len(topics))


@sync
async def s_create_topic(ctx):
    async with Admin(ctx) as a:
        name = ctx.name()
        await create_ok(ctx, a, name, 3, {"retention.ms": "3600000", "cleanup.policy": "delete"})
        err, parts = await describe(a, name)
        cc.check(err == 0 and parts == [(0, 0, [0]), (1, 0, [0]), (2, 0, [0])],
                 "metadata after create: error %d, partitions %r" % (err, parts))
        ctx.step("creating it again")
        code = await create_topic(ctx, a, name, 3)
        cc.check(code == TOPIC_ALREADY_EXISTS, "second create: error %r, want 36 TOPIC_ALREADY_EXISTS" % code)
        code = await create_topic(ctx, a, ctx.name("rf3"), 1, replication=3)
        cc.check(code == INVALID_REPLICATION_FACTOR, "replication factor 3: error %r, want 38" % code)
    return "created 3 partitions with configs, TOPIC_ALREADY_EXISTS and INVALID_REPLICATION_FACTOR as expected"


@sync
async def s_delete_topic(ctx):
    async with Admin(ctx) as a:
        name = ctx.name()
        await create_ok(ctx, a, name, 2)
        cc.check(name in await a.list_topics(), "created topic not listed")
        ctx.step("delete_topics")
        resp = await a.delete_topics([name], timeout_ms=15000)
        cc.check(topic_errors(resp).get(name) == 0, "DeleteTopics error %r" % topic_errors(resp))
        deadline = time.monotonic() + 10
        while name in await a.list_topics():
            cc.check(time.monotonic() < deadline, "deleted topic still listed")
            await asyncio.sleep(0.2)
        ctx.step("deleting it again")
        resp = await a.delete_topics([name], timeout_ms=15000)
        code = topic_errors(resp).get(name)
        cc.check(code == UNKNOWN_TOPIC_OR_PARTITION, "second delete: error %r, want 3" % code)
    return "deleted, gone from metadata, second delete UNKNOWN_TOPIC_OR_PARTITION"


@sync
async def s_describe_topic(ctx):
    async with Admin(ctx) as a:
        name = ctx.name()
        await create_ok(ctx, a, name, 2)
        ctx.step("describe_topics (Metadata)")
        err, parts = await describe(a, name)
        cc.check(err == 0 and parts == [(0, 0, [0]), (1, 0, [0])], "error %d, partitions %r" % (err, parts))
        # No missing-topic check here: aiokafka's describe_topics sends Metadata v5 with
        # allow_auto_topic_creation=true, so a broker with auto-create on (Kafka's default too)
        # creates the topic it is asked about.
    return "2 partitions led by node 0"


@sync
async def s_describe_configs(ctx):
    async with Admin(ctx) as a:
        name = ctx.name()
        await create_ok(ctx, a, name, 1, {"retention.ms": "3600000"})
        ctx.step("describe_configs (DescribeConfigs, key 32)")
        responses = await a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        configs = {}
        for r in responses:
            for res in r.resources:
                cc.check(res[0] == 0, "resource error %r" % (res[:2],))
                configs.update({c[0]: c[1] for c in res[4]})
        cc.check(configs.get("retention.ms") == "3600000", "retention.ms = %r" % configs.get("retention.ms"))
    return "%d configs, retention.ms=3600000" % len(configs)


async def consume_assigned(ctx, topic, partitions, n, timeout=30, start=None):
    """Reads n records from the given partitions with assign() (no group), from the beginning
    or from offset start."""
    c = AIOKafkaConsumer(bootstrap_servers=ctx.bootstrap, group_id=None, enable_auto_commit=False,
                         auto_offset_reset="earliest")
    await c.start()
    got = []
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        c.assign(tps)
        if start is None:
            await c.seek_to_beginning(*tps)
        else:
            for tp in tps:
                c.seek(tp, start)
        deadline = time.monotonic() + timeout
        while len(got) < n and time.monotonic() < deadline:
            ctx.step("consuming (%d of %d so far)" % (len(got), n))
            batches = await c.getmany(timeout_ms=1000, max_records=500)
            for tp in sorted(batches, key=lambda t: t.partition):
                got.extend(batches[tp])
    finally:
        await c.stop()
    return got


async def produce(ctx, topic, records, **cfg):
    """records: list of (key, value, headers); returns the list of RecordMetadata."""
    p = AIOKafkaProducer(bootstrap_servers=ctx.bootstrap, acks="all", linger_ms=5, **cfg)
    await p.start()
    try:
        ctx.step("producing %d records %r" % (len(records), cfg))
        futures = [await p.send(topic, key=k, value=v, headers=h) for k, v, h in records]
        await p.flush()
        metas = [await asyncio.wait_for(f, 10) for f in futures]
    finally:
        await p.stop()
    return metas


@sync
async def s_produce_consume(ctx):
    topic = ctx.name()
    async with Admin(ctx) as a:
        await create_ok(ctx, a, topic, 3)
    records = [cc.keyed_record(i, CLIENT) for i in range(cc.N_KEYED)]
    metas = await produce(ctx, topic, records)
    sent = {i: (m.partition, m.offset) for i, m in enumerate(metas)}
    got = await consume_assigned(ctx, topic, [0, 1, 2], cc.N_KEYED)
    rows = [(r.partition, r.offset, r.key, r.value, list(r.headers)) for r in got]
    return cc.verify_keyed(sent, rows, cc.N_KEYED, CLIENT)


def compression(codec):
    @sync
    async def scenario(ctx):
        topic = ctx.name()
        async with Admin(ctx) as a:
            await create_ok(ctx, a, topic, 1)
        records = [cc.codec_record(i, codec) + (None,) for i in range(cc.N_CODEC)]
        metas = await produce(ctx, topic, records, compression_type=codec, max_batch_size=16384)
        sent = {i: m.offset for i, m in enumerate(metas)}
        got = await consume_assigned(ctx, topic, [0], cc.N_CODEC)
        note = cc.verify_codec(sent, [(r.offset, r.key, r.value) for r in got], cc.N_CODEC, codec)
        ctx.step("consuming from offset %d" % cc.MID_BATCH)
        got = await consume_assigned(ctx, topic, [0], cc.N_CODEC - cc.MID_BATCH, start=cc.MID_BATCH)
        cc.verify_codec(sent, [(r.offset, r.key, r.value) for r in got], cc.N_CODEC, codec, cc.MID_BATCH)
        ctx.step("reading the stored batches with a raw Fetch")
        wire = cc.check_codec_on_wire(ctx.bootstrap, topic, codec, CLIENT)
        return "%s, and from offset %d, %s" % (note, cc.MID_BATCH, wire)
    return scenario


@sync
async def s_consumer_group(ctx):
    topic = ctx.name()
    group = ctx.name("group")
    async with Admin(ctx) as a:
        await create_ok(ctx, a, topic, 1)
    await produce(ctx, topic, [(b"k%d" % i, b"group record %d" % i, None) for i in range(10)])
    ctx.step("subscribing as group %s" % group)
    c = AIOKafkaConsumer(topic, bootstrap_servers=ctx.bootstrap, group_id=group, enable_auto_commit=False,
                         auto_offset_reset="earliest", session_timeout_ms=10000, heartbeat_interval_ms=3000)
    await c.start()
    got = []
    try:
        deadline = time.monotonic() + 20
        while len(got) < 10 and time.monotonic() < deadline:
            ctx.step("subscribed as group %s, consumed %d of 10" % (group, len(got)))
            for recs in (await c.getmany(timeout_ms=1000)).values():
                got.extend(recs)
        cc.check(len(got) == 10, "consumed %d of 10 with subscribe() in 20s" % len(got))
        ctx.step("committing")
        await c.commit()
        committed = await c.committed(TopicPartition(topic, 0))
        cc.check(committed == 10, "committed offset %r, want 10" % committed)
    finally:
        await c.stop()
    return "consumed 10 as a group member, committed offset 10"


@sync
async def s_idempotent(ctx):
    topic = ctx.name()
    async with Admin(ctx) as a:
        await create_ok(ctx, a, topic, 3)
    records = [cc.keyed_record(i, CLIENT) for i in range(cc.N_IDEMPOTENT)]
    # InitProducerId without a transactional id, then Produce with producer id and sequences.
    metas = await produce(ctx, topic, records, enable_idempotence=True)
    sent = {i: (m.partition, m.offset) for i, m in enumerate(metas)}
    got = await consume_assigned(ctx, topic, [0, 1, 2], cc.N_IDEMPOTENT)
    rows = [(r.partition, r.offset, r.key, r.value, list(r.headers)) for r in got]
    note = cc.verify_keyed(sent, rows, cc.N_IDEMPOTENT, CLIENT)
    ctx.step("reading the stored batches with a raw Fetch")
    return "%s; %s" % (note, cc.check_idempotent_on_wire(ctx.bootstrap, topic, [0, 1, 2], CLIENT))


async def txn_consumer(ctx, topic, partitions, isolation):
    c = AIOKafkaConsumer(bootstrap_servers=ctx.bootstrap, group_id=None, enable_auto_commit=False,
                         auto_offset_reset="earliest", isolation_level=isolation)
    await c.start()
    tps = [TopicPartition(topic, p) for p in partitions]
    c.assign(tps)
    await c.seek_to_beginning(*tps)
    return c


async def drain(ctx, c, want, settle, timeout, what):
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
        batches = await c.getmany(timeout_ms=500, max_records=500)
        for tp in sorted(batches, key=lambda t: t.partition):
            got.extend((r.partition, r.offset, r.value) for r in batches[tp])
    return got


async def transactional_producer(ctx):
    p = AIOKafkaProducer(bootstrap_servers=ctx.bootstrap, transactional_id=ctx.name("txn"), linger_ms=5)
    ctx.step("start (FindCoordinator type 1, InitProducerId with a transactional id)")
    await p.start()
    return p


@sync
async def s_txn_commit_abort(ctx):
    topic = ctx.name()
    async with Admin(ctx) as a:
        await create_ok(ctx, a, topic, 2)
    p = await transactional_producer(ctx)
    committed = uncommitted = None
    try:
        for tag, end in cc.TXN_PLAN:
            ctx.step("transaction %s" % tag)
            await p.begin_transaction()
            futures = [await p.send(topic, value=value, partition=partition) for partition, value in cc.txn_records(tag)]
            await p.flush()
            for f in futures:
                await asyncio.wait_for(f, 10)
            if tag == "D":
                break  # left open for now
            await (p.commit_transaction() if end == "COMMIT" else p.abort_transaction())
        committed = await txn_consumer(ctx, topic, [0, 1], "read_committed")
        uncommitted = await txn_consumer(ctx, topic, [0, 1], "read_uncommitted")
        got = await drain(ctx, committed, 2 * cc.N_TXN, 3, 20, "read_committed, D open")
        cc.verify_txn_view("read_committed while D is open", got, "AC")
        got_all = await drain(ctx, uncommitted, 4 * cc.N_TXN, 1, 20, "read_uncommitted")
        cc.verify_txn_view("read_uncommitted", got_all, "ABCD")
        ctx.step("committing D")
        await p.commit_transaction()
        got += await drain(ctx, committed, cc.N_TXN, 2, 20, "read_committed after D committed")
        cc.verify_txn_view("read_committed after D committed", got, "ACD")
    finally:
        for c in (committed, uncommitted):
            if c is not None:
                await c.stop()
        await p.stop()
    ctx.step("reading the stored batches with a raw Fetch")
    markers = cc.check_txn_markers(ctx.bootstrap, topic, CLIENT)
    return "read_committed: A+C while D open, then A+C+D; read_uncommitted: A+B+C+D; %s" % markers


@sync
async def s_eos_pipeline(ctx):
    src, dst, group = ctx.name("in"), ctx.name("out"), ctx.name("group")
    async with Admin(ctx) as a:
        await create_ok(ctx, a, src, 3)
        await create_ok(ctx, a, dst, 3)
    await produce(ctx, src, [cc.eos_input(i) + (None,) for i in range(cc.N_EOS)])
    c = AIOKafkaConsumer(src, bootstrap_servers=ctx.bootstrap, group_id=group, enable_auto_commit=False,
                         auto_offset_reset="earliest", isolation_level="read_committed",
                         session_timeout_ms=10000, heartbeat_interval_ms=3000)
    await c.start()
    tp = await transactional_producer(ctx)
    done = n_txn = aborted = 0
    deadline = time.monotonic() + 60
    try:
        while done < cc.N_EOS:
            cc.check(time.monotonic() < deadline, "pipeline: %d of %d inputs committed in 60 s, %d transactions" % (
                done, cc.N_EOS, n_txn))
            ctx.step("pipeline: %d of %d inputs committed in %d transactions" % (done, cc.N_EOS, n_txn))
            polled = await c.getmany(timeout_ms=1000, max_records=cc.EOS_BATCH)
            batch = [r for t in sorted(polled, key=lambda t: t.partition) for r in polled[t]]
            if not batch:
                continue
            await tp.begin_transaction()
            nxt = {}
            for r in batch:
                await tp.send(dst, key=r.key, value=cc.eos_transform(r.value))
                nxt[r.partition] = r.offset + 1
            # AddOffsetsToTxn + TxnOffsetCommit.
            await tp.send_offsets_to_transaction({TopicPartition(src, q): o for q, o in nxt.items()}, group)
            n_txn += 1
            if n_txn == cc.EOS_ABORT_AT:
                ctx.step("aborting transaction %d and rewinding to the committed offsets" % n_txn)
                # Delivered first, so that the aborted records are in the log.
                await tp.flush()
                await tp.abort_transaction()
                aborted = len(batch)
                for q in nxt:
                    c.seek(TopicPartition(src, q), (await c.committed(TopicPartition(src, q))) or 0)
            else:
                await tp.commit_transaction()
                done += len(batch)
        ctx.step("reading the group's committed offsets")
        committed = {q: await c.committed(TopicPartition(src, q)) for q in range(3)}
    finally:
        await c.stop()
        await tp.stop()
    rc = await txn_consumer(ctx, dst, [0, 1, 2], "read_committed")
    ru = await txn_consumer(ctx, dst, [0, 1, 2], "read_uncommitted")
    try:
        values = [v for _, _, v in await drain(ctx, rc, cc.N_EOS, 1, 30, "output read_committed")]
        n_uncommitted = len(await drain(ctx, ru, cc.N_EOS + aborted, 1, 30, "output read_uncommitted"))
    finally:
        await rc.stop()
        await ru.stop()
    note = cc.verify_eos(values, n_uncommitted, committed, aborted)
    return "%d transactions (one aborted, %d inputs redone); %s" % (n_txn, aborted, note)


# Kafka's DescribeConfigs v1+ source ids.
SOURCES = {1: "DYNAMIC_TOPIC_CONFIG", 2: "DYNAMIC_BROKER_CONFIG", 3: "DYNAMIC_DEFAULT_BROKER_CONFIG",
           4: "STATIC_BROKER_CONFIG", 5: "DEFAULT_CONFIG"}


async def configs_with_sources(a, name):
    """{config name: (value, source name, [(synonym, value, source name)])} of one topic."""
    out = {}
    for r in await a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)], include_synonyms=True):
        for err, msg, _rtype, _rname, entries in r.resources:
            cc.check(err == 0, "DescribeConfigs %s: error %d %s" % (name, err, msg))
            for key, value, _ro, source, _sens, synonyms in entries:
                out[key] = (value, SOURCES.get(source, source), [(n, v, SOURCES.get(x, x)) for n, v, x in synonyms])
    return out


@sync
async def s_alter_configs(ctx):
    """AlterConfigs replaces a topic's configs; an unknown key in another resource of the same
    request gets INVALID_CONFIG on its own."""
    async with Admin(ctx) as a:
        name, other = ctx.name(), ctx.name("other")
        await create_ok(ctx, a, name, 1, {"retention.ms": "3600000"})
        await create_ok(ctx, a, other, 1)
        ctx.step("alter_configs (AlterConfigs, key 33) of two topics")
        responses = await a.alter_configs([
            ConfigResource(ConfigResourceType.TOPIC, name, {"cleanup.policy": "compact"}),
            ConfigResource(ConfigResourceType.TOPIC, other, {"no.such.config": "1"}),
        ])
        got = {res[3]: res[0] for r in responses for res in r.resources}
        cc.check(got == {name: 0, other: 40}, "per-resource errors %r, want %s: 0 and %s: 40 (INVALID_CONFIG)" % (
            got, name, other))
        configs = await configs_with_sources(a, name)
    policy, retention = configs.get("cleanup.policy"), configs.get("retention.ms")
    cc.check(policy and policy[:2] == ("compact", "DYNAMIC_TOPIC_CONFIG") and policy[2][:1] == [
        ("cleanup.policy", "compact", "DYNAMIC_TOPIC_CONFIG")], "cleanup.policy %r, want compact from the topic" % (policy,))
    cc.check(retention and retention[1] == "DEFAULT_CONFIG", "retention.ms not in the new set but %r" % (retention,))
    return "set replaced (cleanup.policy=compact DYNAMIC_TOPIC_CONFIG, retention.ms back to DEFAULT_CONFIG); " \
        "unknown key INVALID_CONFIG for its resource only"


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
    r.finish()


if __name__ == "__main__":
    main()

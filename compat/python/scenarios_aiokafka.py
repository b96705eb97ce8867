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
    r.finish()


if __name__ == "__main__":
    main()

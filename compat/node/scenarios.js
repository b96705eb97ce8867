// kafkajs scenarios against a running Sluice broker.
//
//   node scenarios.js HOST:PORT SCENARIO
//
// Runs one scenario. On success prints a one-line note on stdout and exits 0; on failure
// prints the reason on stdout and exits 1. kafkajs' own log goes to stderr as JSON lines
// (level WARN; KAFKAJS_LOG=debug for every request and response).
'use strict'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const { Kafka, logLevel, CompressionTypes, ConfigResourceTypes, ConfigSource } = require('kafkajs')
const { registerCodecs } = require('./codecs')

const [bootstrap, scenario] = process.argv.slice(2)
if (!bootstrap || !scenario) {
  console.error('usage: node scenarios.js HOST:PORT SCENARIO')
  process.exit(2)
}
const [bootstrapHost, bootstrapPort] = bootstrap.split(':')

const LEVEL = process.env.KAFKAJS_LOG === 'debug' ? logLevel.DEBUG : logLevel.WARN
const stderrLogger = () => ({ namespace, label, log }) => {
  process.stderr.write(`${JSON.stringify({ level: label, namespace, ...log })}\n`)
}
const kafkaConfig = {
  clientId: 'sluice-compat-node',
  brokers: [bootstrap],
  logLevel: LEVEL,
  logCreator: stderrLogger,
  connectionTimeout: 3000,
  requestTimeout: 10000,
  // Few, short retries: a broker bug should fail the scenario quickly, not after minutes.
  retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
}
const kafka = new Kafka(kafkaConfig)

const unique = name => `node-${name}-${process.pid}-${Date.now()}`
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

class Failure extends Error {}
function check(condition, message) {
  if (!condition) throw new Failure(message)
}

// Closes every client a scenario opened, whatever happened.
const openClients = []
async function open(client) {
  openClients.push(client)
  await client.connect()
  return client
}

async function createTopic(admin, topic, numPartitions) {
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions, replicationFactor: 1 }],
    waitForLeaders: true,
  })
  check(created === true, `createTopics(${topic}) returned ${created}, want true`)
}

// Reads every record of the given partitions from offset 0 up to the high watermark with
// plain Fetch requests through kafkajs' own Cluster and Broker (the code its consumer uses
// under a group), so that reading works without consumer groups. Bounded in requests and time.
function internalCluster() {
  const Cluster = require('kafkajs/src/cluster')
  const { createLogger } = require('kafkajs/src/loggers')
  const socketFactory = require('kafkajs/src/network/socketFactory')()
  return new Cluster({
    logger: createLogger({ level: LEVEL, logCreator: stderrLogger }),
    socketFactory,
    brokers: [bootstrap],
    clientId: 'sluice-compat-node-fetch',
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: kafkaConfig.retry,
    allowAutoTopicCreation: false,
  })
}

// The API keys the broker advertises in ApiVersions, as kafkajs read them.
async function advertisedApiKeys() {
  const cluster = internalCluster()
  await cluster.connect()
  try {
    return Object.keys(cluster.brokerPool.versions).map(Number)
  } finally {
    await cluster.disconnect()
  }
}

async function fetchAll(topic, partitions, { isolationLevel = 1 } = {}) {
  const cluster = internalCluster()
  await cluster.connect()
  try {
    await cluster.addTargetTopic(topic)
    const leaders = cluster.findLeaderForPartitions(topic, partitions)
    const out = new Map(partitions.map(p => [p, []]))
    const next = new Map(partitions.map(p => [p, 0]))
    const high = new Map()
    const deadline = Date.now() + 20000
    for (let round = 0; round < 200 && Date.now() < deadline; round++) {
      const pending = partitions.filter(p => !high.has(p) || next.get(p) < high.get(p))
      if (pending.length === 0) break
      for (const [leaderId, leaderPartitions] of Object.entries(leaders)) {
        const wanted = leaderPartitions.filter(p => pending.includes(p))
        if (wanted.length === 0) continue
        const broker = await cluster.findBroker({ nodeId: leaderId })
        const response = await broker.fetch({
          replicaId: -1,
          isolationLevel,
          maxWaitTime: 200,
          minBytes: 1,
          maxBytes: 1 << 20,
          topics: [
            {
              topic,
              partitions: wanted.map(p => ({ partition: p, fetchOffset: String(next.get(p)), maxBytes: 1 << 20 })),
            },
          ],
        })
        for (const t of response.responses) {
          for (const pr of t.partitions) {
            check(pr.errorCode === 0, `Fetch ${topic}/${pr.partition} at ${next.get(pr.partition)}: error code ${pr.errorCode}`)
            high.set(pr.partition, Number(pr.highWatermark))
            for (const m of pr.messages) {
              const offset = Number(m.offset)
              // A fetch from inside a batch returns the whole batch; skip what we already have.
              if (offset < next.get(pr.partition)) continue
              check(offset === next.get(pr.partition), `Fetch ${topic}/${pr.partition}: offset ${offset} follows ${next.get(pr.partition) - 1}`)
              out.get(pr.partition).push(m)
              next.set(pr.partition, offset + 1)
            }
          }
        }
      }
    }
    for (const p of partitions) {
      check(high.has(p) && next.get(p) >= high.get(p), `Fetch ${topic}/${p}: read up to ${next.get(p)}, high watermark ${high.get(p)}`)
    }
    return out
  } finally {
    await cluster.disconnect()
  }
}

// DescribeConfigs of one resource (v2, with synonyms) as a Map of config name -> entry.
async function describeEntries(admin, type, name, configNames) {
  const { resources } = await admin.describeConfigs({ resources: [{ type, name, configNames }], includeSynonyms: true })
  check(resources.length === 1 && resources[0].errorCode === 0, `describeConfigs ${name}: ${JSON.stringify(resources.map(r => [r.errorCode, r.errorMessage]))}`)
  return new Map(resources[0].configEntries.map(e => [e.configName, e]))
}

// The entry has this value and source; unless it is a default, its first synonym carries it.
function checkEntry(entries, key, value, source) {
  const e = entries.get(key)
  check(e, `DescribeConfigs has no ${key}`)
  check(e.configValue === value && e.configSource === source, `${key} = ${e.configValue} (source ${e.configSource}), want ${value} (source ${source})`)
  if (source !== ConfigSource.DEFAULT_CONFIG) {
    const first = e.configSynonyms[0]
    check(first && first.configValue === value && first.configSource === source, `${key} synonyms ${JSON.stringify(e.configSynonyms)}, want the first to carry ${value} from source ${source}`)
  }
  return e
}

const headerString = (headers, name) => (headers && headers[name] != null ? headers[name].toString() : undefined)

// Produces `count` keyed messages with headers in batches of `batchSize` to `topic`, then
// reads them back with Fetch and compares keys, values, headers, partitions and per-key order.
async function produceAndReadBack({ topic, partitions, count, batchSize, compression, origin, producerConfig = {} }) {
  const admin = await open(kafka.admin())
  await createTopic(admin, topic, partitions)
  const producer = await open(kafka.producer({ allowAutoTopicCreation: false, ...producerConfig }))
  const sent = []
  const expectedPerPartition = new Map()
  const partitionOfKey = new Map()
  for (let start = 0; start < count; start += batchSize) {
    const messages = []
    for (let i = start; i < Math.min(count, start + batchSize); i++) {
      const m = {
        key: `key-${i % 17}`,
        value: `value ${i} ${'x'.repeat(i % 50)}`,
        headers: { origin, seq: String(i), empty: '' },
      }
      messages.push(m)
      sent.push(m)
    }
    const metadata = await producer.send({ topic, messages, acks: -1, compression })
    for (const rm of metadata) {
      check(rm.errorCode === 0, `produce to ${rm.topicName}/${rm.partition}: error code ${rm.errorCode}`)
    }
  }
  // The same key always goes to the same partition (kafkajs' murmur2 partitioner).
  const offsets = await admin.fetchTopicOffsets(topic)
  check(offsets.length === partitions, `fetchTopicOffsets: ${offsets.length} partitions, want ${partitions}`)
  const total = offsets.reduce((n, o) => n + Number(o.high), 0)
  check(total === count, `fetchTopicOffsets: high watermarks sum to ${total}, want ${count}`)
  for (const o of offsets) {
    check(o.low === '0', `fetchTopicOffsets: partition ${o.partition} low ${o.low}, want 0`)
    expectedPerPartition.set(o.partition, Number(o.high))
  }

  const byPartition = await fetchAll(topic, offsets.map(o => o.partition))
  const got = []
  for (const [partition, messages] of byPartition) {
    check(messages.length === expectedPerPartition.get(partition),
      `partition ${partition}: read ${messages.length} records, high watermark ${expectedPerPartition.get(partition)}`)
    for (const m of messages) {
      const key = m.key.toString()
      if (partitionOfKey.has(key)) {
        check(partitionOfKey.get(key) === partition, `key ${key} found in partitions ${partitionOfKey.get(key)} and ${partition}`)
      }
      partitionOfKey.set(key, partition)
      got.push(m)
    }
  }
  check(got.length === count, `read ${got.length} records, produced ${count}`)
  // Per key, records come back in the order produced, with their values and headers.
  const sentByKey = new Map()
  for (const m of sent) sentByKey.set(m.key, [...(sentByKey.get(m.key) || []), m])
  const gotByKey = new Map()
  for (const m of got) gotByKey.set(m.key.toString(), [...(gotByKey.get(m.key.toString()) || []), m])
  for (const [key, list] of sentByKey) {
    const back = gotByKey.get(key) || []
    check(back.length === list.length, `key ${key}: read ${back.length} records, sent ${list.length}`)
    list.forEach((m, i) => {
      const b = back[i]
      check(b.value.toString() === m.value, `key ${key} #${i}: value '${b.value}' , want '${m.value}'`)
      check(headerString(b.headers, 'origin') === origin, `key ${key} #${i}: header origin '${headerString(b.headers, 'origin')}'`)
      check(headerString(b.headers, 'seq') === m.headers.seq, `key ${key} #${i}: header seq '${headerString(b.headers, 'seq')}', want ${m.headers.seq}`)
      check(headerString(b.headers, 'empty') === '', `key ${key} #${i}: empty header lost`)
    })
  }
  return { partitionsUsed: [...byPartition.values()].filter(l => l.length > 0).length, byPartition }
}

// --- idempotent and transactional producers ---------------------------------------------

// Records of transaction `tag` in production order: N_TXN records, record i to partition i % 2.
// transactions-commit-abort runs A committed, B aborted, C committed, D left open (a
// read_committed consumer must stop at the last stable offset before it), then D committed.
const N_TXN = 10
const TXN_PLAN = [['A', 'COMMIT'], ['B', 'ABORT'], ['C', 'COMMIT'], ['D', 'COMMIT']]
const txnRecords = tag => Array.from({ length: N_TXN }, (_, i) => [i % 2, `${tag}-${i}`])

// A consumer in a new group reading `topic` from the beginning, collecting
// [partition, offset, value] of every record it is handed.
async function collectingConsumer(topic, { readUncommitted }) {
  const consumer = kafka.consumer({
    groupId: unique(readUncommitted ? 'read-uncommitted' : 'read-committed'),
    readUncommitted,
    sessionTimeout: 10000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 500,
    retry: { retries: 1 },
  })
  openClients.push(consumer)
  const reader = { seen: [], crashed: null }
  consumer.on(consumer.events.CRASH, e => { reader.crashed = e.payload.error })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      reader.seen.push([partition, Number(message.offset), message.value.toString()])
    },
  })
  return reader
}

// Waits until the reader holds `want` records, then `settleMs` more (to catch records it must
// not be handed); returns what it holds then.
async function settle(reader, want, settleMs, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && reader.seen.length < want && !reader.crashed) await sleep(100)
  if (reader.crashed) throw new Failure(`${what}: consumer crashed: ${reader.crashed.type || reader.crashed.name}: ${reader.crashed.message}`)
  check(reader.seen.length >= want, `${what}: consumed ${reader.seen.length} of ${want} records in ${timeoutMs / 1000} s`)
  await sleep(settleMs)
  return reader.seen.slice()
}

// Exactly the records of transactions `tags`, each once, in production order per partition.
function verifyTxnView(what, got, tags) {
  const want = tags.split('').flatMap(txnRecords)
  const values = got.map(([, , v]) => v)
  const dups = [...new Set(values.filter((v, i) => values.indexOf(v) !== i))]
  check(dups.length === 0, `${what}: consumed ${dups.slice(0, 5).join(' ')} more than once`)
  const wantSet = new Set(want.map(([, v]) => v))
  const extra = values.filter(v => !wantSet.has(v))
  const missing = [...wantSet].filter(v => !values.includes(v))
  check(extra.length === 0 && missing.length === 0,
    `${what}: ${values.length} records; unexpected ${extra.slice(0, 6).join(' ') || 'none'}; missing ${missing.slice(0, 6).join(' ') || 'none'}`)
  for (const p of [0, 1]) {
    const mine = got.filter(([q]) => q === p)
    const order = mine.map(([, , v]) => v).join(' ')
    check(order === want.filter(([q]) => q === p).map(([, v]) => v).join(' '), `${what}: partition ${p} out of production order: ${order}`)
    const offsets = mine.map(([, o]) => o)
    check(offsets.every((o, i) => i === 0 || o > offsets[i - 1]), `${what}: partition ${p} offsets go back: ${offsets}`)
  }
}

// The stored batches of each partition as a read_uncommitted raw Fetch serves them: data batches
// are transactional, and the control records (markers) follow TXN_PLAN, all of one producer id.
async function checkTxnMarkers(topic) {
  const byPartition = await fetchAll(topic, [0, 1], { isolationLevel: 0 })
  const notes = []
  for (const [p, messages] of byPartition) {
    const markers = messages.filter(m => m.isControlRecord).map(m => (m.key.readInt16BE(2) === 1 ? 'COMMIT' : m.key.readInt16BE(2) === 0 ? 'ABORT' : `type${m.key.readInt16BE(2)}`))
    check(markers.join(',') === TXN_PLAN.map(([, m]) => m).join(','), `p${p} stored markers ${markers.join(',')}, want ${TXN_PLAN.map(([, m]) => m).join(',')}`)
    const data = messages.filter(m => !m.isControlRecord)
    check(data.every(m => m.batchContext.inTransaction), `p${p}: kafkajs sent non-transactional batches`)
    const ids = new Set(messages.map(m => `${m.batchContext.producerId}/${m.batchContext.producerEpoch}`))
    check(ids.size === 1, `p${p}: batches and markers carry producer ids/epochs ${[...ids]}, want one`)
    notes.push(`p${p} ${data.length} records + markers ${markers.join(',')}`)
  }
  return notes.join('; ')
}

// Every stored batch carries one producer id (>= 0) and epoch, is not transactional, and per
// partition the base sequences run on from 0 without a gap or a repeat.
function checkIdempotentBatches(byPartition) {
  const ids = new Set()
  let batches = 0
  for (const [p, messages] of byPartition) {
    const seenBatches = new Map()
    for (const m of messages) seenBatches.set(m.batchContext.firstOffset, m.batchContext)
    let seq = 0
    for (const b of [...seenBatches.values()].sort((x, y) => Number(x.firstOffset) - Number(y.firstOffset))) {
      const where = `p${p} batch at offset ${b.firstOffset}`
      check(!b.inTransaction && !b.isControlBatch, `${where} is transactional or a control batch`)
      check(Number(b.producerId) >= 0 && b.producerEpoch >= 0, `${where} has producer id ${b.producerId} epoch ${b.producerEpoch}: not idempotent`)
      check(b.firstSequence === seq, `${where} has base sequence ${b.firstSequence}, want ${seq} (the records before it)`)
      seq += b.lastOffsetDelta + 1
      ids.add(`${b.producerId}/${b.producerEpoch}`)
      batches++
    }
  }
  check(ids.size === 1, `batches carry producer ids/epochs ${[...ids]}, want one`)
  return `${batches} batches of producer id/epoch ${[...ids][0]}, sequences contiguous from 0`
}

const N_EOS = 600
const EOS_ABORT_AT = 3

const scenarios = {
  async metadata() {
    const admin = await open(kafka.admin())
    const cluster = await admin.describeCluster()
    check(cluster.brokers.length === 1, `describeCluster: ${cluster.brokers.length} brokers, want 1`)
    const [b] = cluster.brokers
    check(b.nodeId === 0 && b.host === bootstrapHost && String(b.port) === bootstrapPort,
      `describeCluster: broker ${b.nodeId} at ${b.host}:${b.port}, want 0 at ${bootstrap}`)
    check(cluster.controller === 0, `describeCluster: controller ${cluster.controller}, want 0`)
    check(typeof cluster.clusterId === 'string' && cluster.clusterId.length > 0, 'describeCluster: no cluster id')
    const topic = unique('metadata')
    await createTopic(admin, topic, 2)
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
    check(topics.length === 1 && topics[0].name === topic, `fetchTopicMetadata: got ${JSON.stringify(topics.map(t => t.name))}`)
    const parts = topics[0].partitions.sort((x, y) => x.partitionId - y.partitionId)
    check(parts.length === 2, `fetchTopicMetadata: ${parts.length} partitions, want 2`)
    for (const p of parts) {
      check(p.partitionErrorCode === 0 && p.leader === 0 && JSON.stringify(p.replicas) === '[0]' && JSON.stringify(p.isr) === '[0]',
        `fetchTopicMetadata: partition ${JSON.stringify(p)}`)
    }
    // Unknown topics: the admin client does not auto-create, and reports the topic unknown.
    const missing = unique('missing')
    try {
      await admin.fetchTopicMetadata({ topics: [missing] })
      throw new Failure(`fetchTopicMetadata(${missing}) succeeded for a topic that does not exist`)
    } catch (e) {
      if (e instanceof Failure) throw e
      check(e.type === 'UNKNOWN_TOPIC_OR_PARTITION', `fetchTopicMetadata(missing topic): ${e.type || e.message}, want UNKNOWN_TOPIC_OR_PARTITION`)
    }
    return `1 broker (node 0 at ${bootstrap}), cluster ${cluster.clusterId}, topic metadata with leader/replicas/isr`
  },

  async 'admin-create-topic'() {
    const admin = await open(kafka.admin())
    const topic = unique('create')
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
    })
    check(created === true, `createTopics returned ${created}, want true`)
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
    check(topics[0].partitions.length === 3, `new topic has ${topics[0].partitions.length} partitions, want 3`)
    // Creating it again: kafkajs turns TOPIC_ALREADY_EXISTS into `false`.
    const again = await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })
    check(again === false, `createTopics of an existing topic returned ${again}, want false`)
    // validateOnly creates nothing.
    const dry = unique('dry')
    await admin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic: dry, numPartitions: 1 }] })
    const list = await admin.listTopics()
    check(!list.includes(dry), 'validateOnly created the topic')
    // Defaults: numPartitions/replicationFactor -1 take the broker's defaults.
    const dflt = unique('default')
    check(await admin.createTopics({ topics: [{ topic: dflt }] }) === true, 'createTopics with broker defaults failed')
    // Errors come back per topic.
    const expectError = async (topicSpec, want) => {
      try {
        await admin.createTopics({ topics: [topicSpec] })
      } catch (e) {
        const types = (e.errors || [e]).map(x => x.type)
        check(types.includes(want), `createTopics(${JSON.stringify(topicSpec)}): ${types.join(',') || e.message}, want ${want}`)
        return
      }
      throw new Failure(`createTopics(${JSON.stringify(topicSpec)}) succeeded, want ${want}`)
    }
    await expectError({ topic: unique('rf3'), numPartitions: 1, replicationFactor: 3 }, 'INVALID_REPLICATION_FACTOR')
    await expectError({ topic: unique('badcfg'), numPartitions: 1, configEntries: [{ name: 'no.such.config', value: '1' }] }, 'INVALID_CONFIG')
    await expectError({ topic: 'bad/name', numPartitions: 1 }, 'INVALID_TOPIC_EXCEPTION')
    return 'created 3 partitions with a config; exists -> false; validateOnly; broker defaults; RF 3, bad config, bad name refused'
  },

  async 'admin-delete-topic'() {
    const admin = await open(kafka.admin())
    const topic = unique('delete')
    await createTopic(admin, topic, 2)
    const producer = await open(kafka.producer({ allowAutoTopicCreation: false }))
    await producer.send({ topic, messages: [{ value: 'before delete' }, { value: 'before delete 2' }] })
    await admin.deleteTopics({ topics: [topic] })
    check(!(await admin.listTopics()).includes(topic), 'listTopics still lists the deleted topic')
    try {
      await admin.deleteTopics({ topics: [unique('never-created')] })
      throw new Failure('deleteTopics of an unknown topic succeeded')
    } catch (e) {
      if (e instanceof Failure) throw e
      const types = [e, e.cause, ...(e.errors || [])].filter(Boolean).map(x => x.type).filter(Boolean)
      check(types.includes('UNKNOWN_TOPIC_OR_PARTITION'), `deleteTopics(unknown): ${types.join(',') || e.message}, want UNKNOWN_TOPIC_OR_PARTITION`)
    }
    // Recreated under the same name, the topic starts empty.
    await createTopic(admin, topic, 1)
    const offsets = await admin.fetchTopicOffsets(topic)
    check(offsets.length === 1 && offsets[0].high === '0', `recreated topic offsets ${JSON.stringify(offsets)}, want one empty partition`)
    return 'deleted; gone from listTopics; unknown topic refused; recreated empty'
  },

  async 'admin-list-topics'() {
    const admin = await open(kafka.admin())
    const a = unique('list-a')
    const b = unique('list-b')
    await createTopic(admin, a, 1)
    await createTopic(admin, b, 2)
    const list = await admin.listTopics()
    check(list.includes(a) && list.includes(b), `listTopics lacks ${[a, b].filter(t => !list.includes(t)).join(' ')}`)
    return `listTopics shows both new topics (${list.length} topics)`
  },

  async 'produce-consume-keyed-headers'() {
    const topic = unique('keyed')
    const { partitionsUsed } = await produceAndReadBack({ topic, partitions: 3, count: 300, batchSize: 50, origin: 'kafkajs' })
    check(partitionsUsed === 3, `17 keys landed in only ${partitionsUsed} of 3 partitions`)
    return '300 keyed records with headers over 3 partitions; offsets via fetchTopicOffsets; read back with raw Fetch (no group)'
  },

  async 'admin-fetch-offsets-by-timestamp'() {
    const admin = await open(kafka.admin())
    const topic = unique('bytime')
    await createTopic(admin, topic, 1)
    const producer = await open(kafka.producer({ allowAutoTopicCreation: false }))
    const batch = (from, n) => Array.from({ length: n }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}` }))
    await producer.send({ topic, messages: batch(0, 20), acks: -1 })
    await producer.send({ topic, messages: batch(20, 20), acks: -1 })
    await sleep(300)
    const mid = Date.now()
    await sleep(300)
    await producer.send({ topic, messages: batch(40, 10), acks: -1 })
    const at = async ts => {
      const r = await admin.fetchTopicOffsetsByTimestamp(topic, ts)
      check(r.length === 1 && r[0].partition === 0, `fetchTopicOffsetsByTimestamp: ${JSON.stringify(r)}`)
      return r[0].offset
    }
    let got = await at(mid)
    check(got === '40', `offset at a time between the sends: ${got}, want 40`)
    got = await at(0)
    check(got === '0', `offset at time 0: ${got}, want 0`)
    // After the last record the broker answers -1 and kafkajs substitutes the high watermark.
    got = await at(Date.now() + 3600000)
    check(got === '50', `offset at a future time: ${got}, want 50 (the high watermark)`)
    return 'offset at a mid timestamp 40, at 0 -> 0, future -> high watermark 50'
  },

  async 'idempotent-producer'() {
    const topic = unique('idempotent')
    // InitProducerId without a transactional id, then Produce with producer id and sequences.
    const { partitionsUsed, byPartition } = await produceAndReadBack({
      topic, partitions: 3, count: 300, batchSize: 50, origin: 'kafkajs-idempotent',
      producerConfig: { idempotent: true, maxInFlightRequests: 1 },
    })
    check(partitionsUsed === 3, `17 keys landed in only ${partitionsUsed} of 3 partitions`)
    return `300 keyed records with headers over 3 partitions, read back; ${checkIdempotentBatches(byPartition)}`
  },

  async 'transactions-commit-abort'() {
    const admin = await open(kafka.admin())
    const topic = unique('txn')
    await createTopic(admin, topic, 2)
    // FindCoordinator type 1 and InitProducerId with a transactional id on connect.
    const producer = await open(kafka.producer({ transactionalId: unique('txn-id'), idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false }))
    let open_ = null
    for (const [tag, end] of TXN_PLAN) {
      const txn = await producer.transaction()
      await txn.send({ topic, acks: -1, messages: txnRecords(tag).map(([partition, value]) => ({ partition, value })) })
      if (tag === 'D') {
        open_ = txn // left open for now
        break
      }
      await (end === 'COMMIT' ? txn.commit() : txn.abort())
    }
    const committed = await collectingConsumer(topic, { readUncommitted: false })
    const uncommitted = await collectingConsumer(topic, { readUncommitted: true })
    let got = await settle(committed, 2 * N_TXN, 3000, 30000, 'read_committed, D open')
    verifyTxnView('read_committed while D is open', got, 'AC')
    verifyTxnView('read_uncommitted', await settle(uncommitted, 4 * N_TXN, 1000, 30000, 'read_uncommitted'), 'ABCD')
    await open_.commit()
    got = await settle(committed, 3 * N_TXN, 2000, 20000, 'read_committed after D committed')
    verifyTxnView('read_committed after D committed', got, 'ACD')
    const markers = await checkTxnMarkers(topic)
    return `read_committed: A+C while D open, then A+C+D; read_uncommitted: A+B+C+D; ${markers}`
  },

  async 'transactions-send-offsets'() {
    // Consume-transform-produce: a read_committed group member, one transaction per batch with
    // the batch's next offset sent to it (AddOffsetsToTxn + TxnOffsetCommit). The
    // EOS_ABORT_AT-th transaction is aborted once and its batch reprocessed from the committed offset.
    const admin = await open(kafka.admin())
    const src = unique('eos-in')
    const dst = unique('eos-out')
    const groupId = unique('eos-group')
    await createTopic(admin, src, 3)
    await createTopic(admin, dst, 3)
    const plain = await open(kafka.producer({ allowAutoTopicCreation: false }))
    for (let start = 0; start < N_EOS; start += 200) {
      await plain.send({ topic: src, acks: -1, messages: Array.from({ length: 200 }, (_, i) => ({ key: `k${(start + i) % 31}`, value: `in ${start + i}` })) })
    }
    const producer = await open(kafka.producer({ transactionalId: unique('eos-txn'), idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false }))
    const consumer = kafka.consumer({ groupId, readUncommitted: false, sessionTimeout: 10000, heartbeatInterval: 1000, maxWaitTimeInMs: 500, retry: { retries: 1 } })
    openClients.push(consumer)
    let crashed = null
    consumer.on(consumer.events.CRASH, e => { crashed = e.payload.error })
    await consumer.connect()
    await consumer.subscribe({ topic: src, fromBeginning: true })
    let done = 0
    let transactions = 0
    let aborted = 0
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        if (batch.isEmpty()) return
        const txn = await producer.transaction()
        await txn.send({ topic: dst, acks: -1, messages: batch.messages.map(m => ({ key: m.key, value: `out ${m.value}` })) })
        const next = String(Number(batch.lastOffset()) + 1)
        await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] })
        transactions++
        if (transactions === EOS_ABORT_AT) {
          await txn.abort()
          aborted = batch.messages.length
          // Back to what the group committed, as an EOS application does after an abort.
          const [{ partitions }] = await admin.fetchOffsets({ groupId, topics: [batch.topic] })
          const committedOffset = partitions.find(p => p.partition === batch.partition).offset
          consumer.seek({ topic: batch.topic, partition: batch.partition, offset: Number(committedOffset) < 0 ? '0' : committedOffset })
          return
        }
        await txn.commit()
        for (const m of batch.messages) resolveOffset(m.offset)
        done += batch.messages.length
        await heartbeat()
      },
    })
    const deadline = Date.now() + 30000
    while (Date.now() < deadline && done < N_EOS && !crashed) await sleep(100)
    if (crashed) throw new Failure(`pipeline consumer crashed: ${crashed.type || crashed.name}: ${crashed.message}`)
    check(done >= N_EOS, `pipeline: ${done} of ${N_EOS} inputs committed in 30 s, ${transactions} transactions`)
    await consumer.stop()
    const [{ partitions }] = await admin.fetchOffsets({ groupId, topics: [src] })
    const sum = partitions.reduce((n, p) => n + Number(p.offset), 0)
    check(sum === N_EOS, `committed input offsets ${JSON.stringify(partitions.map(p => p.offset))} sum to ${sum}, want ${N_EOS}`)
    const outCommitted = await collectingConsumer(dst, { readUncommitted: false })
    const outAll = await collectingConsumer(dst, { readUncommitted: true })
    const values = (await settle(outCommitted, N_EOS, 1500, 30000, 'output read_committed')).map(([, , v]) => v)
    const unique_ = new Set(values)
    check(unique_.size === values.length, `read_committed output has ${values.length - unique_.size} duplicates`)
    const missing = Array.from({ length: N_EOS }, (_, i) => `out in ${i}`).filter(v => !unique_.has(v))
    check(values.length === N_EOS && missing.length === 0, `read_committed output: ${values.length} records, missing ${missing.slice(0, 3).join(', ') || 'none'}`)
    const all = await settle(outAll, N_EOS + aborted, 1500, 30000, 'output read_uncommitted')
    check(all.length === N_EOS + aborted, `read_uncommitted output has ${all.length} records, want ${N_EOS} + ${aborted} aborted`)
    return `${transactions} transactions (one aborted, ${aborted} inputs redone); ${N_EOS} outputs exactly once (read_committed), ${all.length} with the aborted ones (read_uncommitted); committed input offsets sum to ${sum}`
  },

  // AlterConfigs (v0/v1, kafkajs has no IncrementalAlterConfigs) replaces a topic's configs;
  // DescribeConfigs (v2 with synonyms) shows each value's source as Kafka does.
  async 'admin-alter-configs'() {
    const admin = await open(kafka.admin())
    const topic = unique('alter')
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
    })
    check(created === true, `createTopics returned ${created}, want true`)
    const T = ConfigResourceTypes.TOPIC
    checkEntry(await describeEntries(admin, T, topic), 'retention.ms', '3600000', ConfigSource.TOPIC_CONFIG)
    await admin.alterConfigs({
      resources: [{ type: T, name: topic, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'max.message.bytes', value: '300000' }] }],
    })
    let entries = await describeEntries(admin, T, topic)
    checkEntry(entries, 'cleanup.policy', 'compact', ConfigSource.TOPIC_CONFIG)
    checkEntry(entries, 'max.message.bytes', '300000', ConfigSource.TOPIC_CONFIG)
    const retention = entries.get('retention.ms')
    check(retention && retention.configSource === ConfigSource.DEFAULT_CONFIG && retention.isDefault,
      `retention.ms not in the new set but ${JSON.stringify(retention)}, want DEFAULT_CONFIG`)
    // validateOnly changes nothing.
    await admin.alterConfigs({ validateOnly: true, resources: [{ type: T, name: topic, configEntries: [{ name: 'retention.ms', value: '1000' }] }] })
    entries = await describeEntries(admin, T, topic)
    check(entries.get('retention.ms').configSource === ConfigSource.DEFAULT_CONFIG, 'validateOnly alterConfigs changed retention.ms')
    // Errors Kafka gives: unknown key and bad value INVALID_CONFIG, a key twice INVALID_REQUEST,
    // a missing topic UNKNOWN_TOPIC_OR_PARTITION.
    const expectError = async (configEntries, want, name = topic) => {
      try {
        await admin.alterConfigs({ resources: [{ type: T, name, configEntries }] })
      } catch (e) {
        check(e.type === want, `alterConfigs(${JSON.stringify(configEntries)}): ${e.type || e.message}, want ${want}`)
        return
      }
      throw new Failure(`alterConfigs(${JSON.stringify(configEntries)}) succeeded, want ${want}`)
    }
    await expectError([{ name: 'no.such.config', value: '1' }], 'INVALID_CONFIG')
    await expectError([{ name: 'retention.ms', value: 'soon' }], 'INVALID_CONFIG')
    await expectError([{ name: 'retention.ms', value: '1000' }, { name: 'retention.ms', value: '2000' }], 'INVALID_REQUEST')
    await expectError([{ name: 'retention.ms', value: '1000' }], 'UNKNOWN_TOPIC_OR_PARTITION', unique('missing'))
    entries = await describeEntries(admin, T, topic)
    checkEntry(entries, 'cleanup.policy', 'compact', ConfigSource.TOPIC_CONFIG)
    check(entries.get('retention.ms').configSource === ConfigSource.DEFAULT_CONFIG, 'a refused alterConfigs changed retention.ms')
    return 'whole set replaced (retention.ms back to DEFAULT_CONFIG), TOPIC_CONFIG with synonyms; validateOnly; INVALID_CONFIG, INVALID_REQUEST (duplicate key), UNKNOWN_TOPIC_OR_PARTITION'
  },

  async 'admin-describe-configs'() {
    const admin = await open(kafka.admin())
    const topic = unique('describe')
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
    })
    const T = ConfigResourceTypes.TOPIC
    const all = await describeEntries(admin, T, topic)
    checkEntry(all, 'retention.ms', '3600000', ConfigSource.TOPIC_CONFIG)
    const notReadOnly = [...all.values()].filter(e => e.readOnly).map(e => e.configName)
    check(notReadOnly.length === 0, `topic configs read-only: ${notReadOnly.join(',')} (Kafka: none)`)
    // A key filter returns exactly those keys.
    const some = await describeEntries(admin, T, topic, ['retention.ms', 'cleanup.policy'])
    check([...some.keys()].sort().join(',') === 'cleanup.policy,retention.ms', `filtered describe returned ${[...some.keys()].join(',')}`)
    // The broker, by its node id.
    const broker = await describeEntries(admin, ConfigResourceTypes.BROKER, '0')
    for (const key of ['log.retention.ms', 'log.segment.bytes', 'message.max.bytes', 'node.id']) {
      check(broker.has(key), `broker configs have no ${key} (Kafka lists every broker config, log.retention.ms null when nobody sets it)`)
    }
    const node = broker.get('node.id')
    check(node.configValue === '0' && node.readOnly, `broker node.id ${JSON.stringify(node)}, want '0' read-only`)
    const seg = all.get('segment.bytes')
    const bseg = broker.get('log.segment.bytes')
    check(seg.configValue === bseg.configValue && seg.configSource === bseg.configSource,
      `topic segment.bytes ${seg.configValue} (source ${seg.configSource}), broker log.segment.bytes ${bseg.configValue} (source ${bseg.configSource}): want the same`)
    check(seg.configSynonyms.length > 0 && seg.configSynonyms[0].configName === 'log.segment.bytes',
      `segment.bytes synonyms ${JSON.stringify(seg.configSynonyms)}, want log.segment.bytes first`)
    // A missing topic: UNKNOWN_TOPIC_OR_PARTITION.
    try {
      await admin.describeConfigs({ resources: [{ type: T, name: unique('missing') }], includeSynonyms: true })
      throw new Failure('describeConfigs of a missing topic succeeded')
    } catch (e) {
      if (e instanceof Failure) throw e
      check(e.type === 'UNKNOWN_TOPIC_OR_PARTITION', `describeConfigs of a missing topic: ${e.type || e.message}, want UNKNOWN_TOPIC_OR_PARTITION`)
    }
    return `topic: ${all.size} configs, retention.ms TOPIC_CONFIG, key filter honoured; broker 0: ${broker.size} configs, node.id read-only; missing topic UNKNOWN_TOPIC_OR_PARTITION`
  },

  // AlterConfigs on broker 0 (kafkajs sends BROKER resources to that broker; it cannot name the
  // cluster default ""): the broker shows the value as DYNAMIC_BROKER_CONFIG and a topic without
  // its own value inherits it; an empty set removes it again.
  async 'admin-alter-broker-configs'() {
    const admin = await open(kafka.admin())
    const topic = unique('broker-config')
    await createTopic(admin, topic, 1)
    const B = ConfigResourceTypes.BROKER
    const value = '864000000' // 10 days: harmless for other topics on a shared broker
    await admin.alterConfigs({ resources: [{ type: B, name: '0', configEntries: [{ name: 'log.retention.ms', value }] }] })
    try {
      const broker = await describeEntries(admin, B, '0')
      const e = checkEntry(broker, 'log.retention.ms', value, ConfigSource.DYNAMIC_BROKER_CONFIG)
      check(!e.readOnly, 'log.retention.ms is read-only; Kafka alters it per broker')
      const t = (await describeEntries(admin, ConfigResourceTypes.TOPIC, topic)).get('retention.ms')
      check(t.configValue === value && t.configSource === ConfigSource.DYNAMIC_BROKER_CONFIG,
        `topic retention.ms ${t.configValue} (source ${t.configSource}), want the broker's ${value} (source 2)`)
      const first = t.configSynonyms[0]
      check(first && first.configName === 'log.retention.ms' && first.configValue === value,
        `topic retention.ms synonyms ${JSON.stringify(t.configSynonyms)}, want log.retention.ms=${value} first`)
    } finally {
      await admin.alterConfigs({ resources: [{ type: B, name: '0', configEntries: [] }] })
    }
    // (Whether an unset log.retention.ms is listed at all is admin-describe-configs' check.)
    const after = (await describeEntries(admin, B, '0')).get('log.retention.ms')
    check(!after || after.configSource !== ConfigSource.DYNAMIC_BROKER_CONFIG, `log.retention.ms still dynamic after an empty AlterConfigs: ${JSON.stringify(after)}`)
    return 'broker 0 log.retention.ms DYNAMIC_BROKER_CONFIG, inherited by a topic at once; an empty set removed it'
  },

  // BROKER_LOGGER (8): DescribeConfigs lists this broker's loggers with their levels as
  // DYNAMIC_BROKER_LOGGER_CONFIG (6), as Kafka's Log4jController; the legacy AlterConfigs
  // cannot change them (Kafka: INVALID_REQUEST, only IncrementalAlterConfigs can, which kafkajs
  // does not have).
  async 'admin-broker-logger'() {
    const admin = await open(kafka.admin())
    const L = ConfigResourceTypes.BROKER_LOGGER
    const loggers = await describeEntries(admin, L, '0')
    check(loggers.has('root'), `BROKER_LOGGER 0 has no root logger: ${[...loggers.keys()].join(',')}`)
    const LEVELS = ['OFF', 'FATAL', 'ERROR', 'WARN', 'INFO', 'DEBUG', 'TRACE', 'ALL']
    for (const e of loggers.values()) {
      check(LEVELS.includes(e.configValue) && e.configSource === ConfigSource.DYNAMIC_BROKER_LOGGER_CONFIG && !e.readOnly && e.configSynonyms.length === 0,
        `logger ${e.configName}: ${JSON.stringify(e)}, want a log4j level, source 6, not read-only, no synonyms`)
    }
    const root = await describeEntries(admin, L, '0', ['root'])
    check([...root.keys()].join(',') === 'root', `BROKER_LOGGER with a key filter returned ${[...root.keys()].join(',')}`)
    try {
      await admin.alterConfigs({ resources: [{ type: L, name: '0', configEntries: [{ name: 'root', value: 'DEBUG' }] }] })
      throw new Failure('AlterConfigs of a BROKER_LOGGER succeeded, want INVALID_REQUEST')
    } catch (e) {
      if (e instanceof Failure) throw e
      check(e.type === 'INVALID_REQUEST', `AlterConfigs of a BROKER_LOGGER: ${e.type || e.message}, want INVALID_REQUEST`)
    }
    const after = (await describeEntries(admin, L, '0', ['root'])).get('root')
    check(after.configValue === loggers.get('root').configValue, `root level changed to ${after.configValue} by a refused AlterConfigs`)
    return `${loggers.size} loggers (root ${loggers.get('root').configValue}), source DYNAMIC_BROKER_LOGGER_CONFIG; key filter; legacy AlterConfigs INVALID_REQUEST`
  },

  async 'consumer-group'() {
    const topic = unique('group')
    const groupId = unique('group-id')
    const admin = await open(kafka.admin())
    await createTopic(admin, topic, 2)
    const producer = await open(kafka.producer({ allowAutoTopicCreation: false }))
    const count = 50
    await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}` })), acks: -1 })
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000, retry: { retries: 1 } })
    openClients.push(consumer)
    let crashed = null
    consumer.on(consumer.events.CRASH, e => { crashed = e.payload.error })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const seen = new Set()
    await consumer.run({ eachMessage: async ({ partition, message }) => { seen.add(`${partition}/${message.offset}`) } })
    const deadline = Date.now() + 30000
    while (Date.now() < deadline && seen.size < count && !crashed) await sleep(100)
    if (crashed) {
      const missing = (await advertisedApiKeys().catch(() => [10])).includes(10) ? '' : ' (the broker does not advertise FindCoordinator, key 10)'
      throw new Failure(`consumer crashed: ${crashed.type || crashed.name}: ${crashed.message}${missing}`)
    }
    check(seen.size === count, `consumed ${seen.size} of ${count} records in 30 s`)
    // Committed offsets are visible to the admin client.
    await consumer.commitOffsets([])
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] })
    const sum = committed[0].partitions.reduce((n, p) => n + Number(p.offset), 0)
    check(sum === count, `committed offsets sum to ${sum}, want ${count}`)
    return `group consumer read ${count} records from 2 partitions and committed`
  },
}

for (const [codec, type] of [['gzip', CompressionTypes.GZIP], ['snappy', CompressionTypes.Snappy], ['lz4', CompressionTypes.LZ4], ['zstd', CompressionTypes.ZSTD]]) {
  scenarios[`compression-${codec}`] = async () => {
    registerCodecs()
    const topic = unique(codec)
    await produceAndReadBack({ topic, partitions: 1, count: 500, batchSize: 250, compression: type, origin: `kafkajs-${codec}` })
    return `500 keyed records in ${codec} batches of 250; read back with raw Fetch and decompressed`
  }
}

async function main() {
  const run = scenarios[scenario]
  if (!run) {
    console.log(`unknown scenario ${scenario}`)
    return 2
  }
  let status = 0
  try {
    console.log(await run())
  } catch (e) {
    const kind = e instanceof Failure ? '' : `${e.name}${e.type ? ` ${e.type}` : ''}: `
    console.log(`${kind}${e.message}`.replace(/[|\n]/g, ' '))
    if (!(e instanceof Failure)) process.stderr.write(`${e.stack}\n`)
    status = 1
  }
  for (const c of openClients.reverse()) {
    await Promise.race([c.disconnect().catch(() => {}), sleep(3000)])
  }
  return status
}

main().then(code => process.exit(code))

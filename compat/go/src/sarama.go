package main

// Scenarios for github.com/Shopify/sarama as packaged by Debian bookworm (1.22.1).
//
// Sarama picks request versions from config.Version, not from ApiVersions. 1.22.1 knows
// Kafka versions up to 2.2.0; with Version = V2_2_0_0 it sends Produce v3, Fetch v4,
// ListOffsets v1, Metadata v5 (v0 in ClusterAdmin.ListTopics), CreateTopics v2,
// DeleteTopics v1, FindCoordinator v0 and JoinGroup v1 for groups, all of them inside what
// Sluice advertises except the group APIs (see ../FINDINGS.md).

import (
	"context"
	"fmt"
	"log"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/Shopify/sarama"
)

var saramaScenarios = map[string]scenario{
	"metadata":                         saramaMetadata,
	"admin-create-topic":               saramaCreateTopic,
	"admin-delete-topic":               saramaDeleteTopic,
	"admin-list-topics":                saramaListTopics,
	"produce-consume-keyed-headers":    saramaProduceConsume,
	"admin-fetch-offsets-by-timestamp": saramaOffsetsByTimestamp,
	"compression-gzip":                 saramaCompression(sarama.CompressionGZIP),
	"compression-snappy":               saramaCompression(sarama.CompressionSnappy),
	"compression-lz4":                  saramaCompression(sarama.CompressionLZ4),
	"compression-zstd":                 saramaCompression(sarama.CompressionZSTD),
	"consumer-group":                   saramaConsumerGroup,
	"idempotent-producer":              saramaIdempotent,
	"transactions-read-committed":      saramaTxnReadCommitted,
}

func init() {
	sarama.Logger = log.New(os.Stderr, "[sarama] ", log.Ltime|log.Lmicroseconds)
}

// saramaVersion is the Kafka version sarama is told the broker runs: the newest 1.22.1 knows.
var saramaVersion = sarama.V2_2_0_0

func saramaConfig() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = saramaVersion
	c.ClientID = "sluice-compat-go"
	c.Net.DialTimeout = 5 * time.Second
	c.Net.ReadTimeout = 15 * time.Second
	c.Net.WriteTimeout = 15 * time.Second
	c.Metadata.Retry.Max = 3
	c.Metadata.Retry.Backoff = 200 * time.Millisecond
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Producer.Retry.Max = 2
	c.Producer.Flush.Frequency = 10 * time.Millisecond
	c.Consumer.Return.Errors = true
	c.Admin.Timeout = 10 * time.Second
	return c
}

func withSarama(bootstrap string, body func(sarama.Client, sarama.ClusterAdmin) (string, error)) (string, error) {
	client, err := sarama.NewClient([]string{bootstrap}, saramaConfig())
	if err != nil {
		return "", fail("NewClient: %v", err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdmin([]string{bootstrap}, saramaConfig())
	if err != nil {
		return "", fail("NewClusterAdmin: %v", err)
	}
	defer admin.Close()
	return body(client, admin)
}

func saramaCreate(admin sarama.ClusterAdmin, topic string, partitions int32) error {
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false); err != nil {
		return fail("CreateTopic(%s): %v", topic, err)
	}
	return nil
}

func saramaMetadata(bootstrap string) (string, error) {
	return withSarama(bootstrap, func(client sarama.Client, admin sarama.ClusterAdmin) (string, error) {
		brokers := client.Brokers()
		if len(brokers) != 1 || brokers[0].ID() != 0 || brokers[0].Addr() != bootstrap {
			return "", fail("client.Brokers(): %d brokers, first %v, want node 0 at %s", len(brokers), brokerDesc(brokers), bootstrap)
		}
		controller, err := client.Controller()
		if err != nil || controller.ID() != 0 {
			return "", fail("client.Controller(): %v %v, want node 0", brokerDesc([]*sarama.Broker{controller}), err)
		}
		topic := unique("metadata")
		if err := saramaCreate(admin, topic, 2); err != nil {
			return "", err
		}
		md, err := admin.DescribeTopics([]string{topic})
		if err != nil || len(md) != 1 || md[0].Err != sarama.ErrNoError || len(md[0].Partitions) != 2 {
			return "", fail("DescribeTopics(%s): %v %v", topic, topicDesc(md), err)
		}
		for _, p := range md[0].Partitions {
			if p.Err != sarama.ErrNoError || p.Leader != 0 || fmt.Sprint(p.Replicas) != "[0]" || fmt.Sprint(p.Isr) != "[0]" {
				return "", fail("DescribeTopics(%s): partition %d err %v leader %d replicas %v isr %v", topic, p.ID, p.Err, p.Leader, p.Replicas, p.Isr)
			}
		}
		// "All topics" at every Metadata version sarama knows (v0: empty array, v1+: null).
		for v := int16(0); v <= 5; v++ {
			resp, err := controller.GetMetadata(&sarama.MetadataRequest{Version: v})
			if err != nil {
				return "", fail("Metadata v%d for all topics: %v", v, err)
			}
			found := false
			for _, t := range resp.Topics {
				found = found || (t.Name == topic && len(t.Partitions) == 2)
			}
			if !found {
				return "", fail("Metadata v%d for all topics: %d topics, %s not among them with 2 partitions", v, len(resp.Topics), topic)
			}
		}
		missing := unique("missing")
		md, err = admin.DescribeTopics([]string{missing})
		if err != nil || len(md) != 1 || md[0].Err != sarama.ErrUnknownTopicOrPartition {
			return "", fail("DescribeTopics(unknown topic): %v %v, want UNKNOWN_TOPIC_OR_PARTITION", topicDesc(md), err)
		}
		// The client's metadata requests allow auto-creation: the topic appears.
		auto := unique("auto")
		if err := client.RefreshMetadata(auto); err != nil {
			return "", fail("RefreshMetadata(%s) with auto-create: %v", auto, err)
		}
		parts, err := client.Partitions(auto)
		if err != nil || len(parts) < 1 {
			return "", fail("auto-created topic: partitions %v %v", parts, err)
		}
		leader, err := client.Leader(auto, parts[0])
		if err != nil || leader.ID() != 0 {
			return "", fail("auto-created topic: leader %v %v", brokerDesc([]*sarama.Broker{leader}), err)
		}
		return fmt.Sprintf("1 broker (node 0 at %s), controller 0, topic metadata v5, all topics at v0-v5, unknown topic refused, auto-create (%d partitions)", bootstrap, len(parts)), nil
	})
}

func brokerDesc(bs []*sarama.Broker) string {
	out := ""
	for _, b := range bs {
		if b == nil {
			out += "<nil> "
			continue
		}
		out += fmt.Sprintf("%d@%s ", b.ID(), b.Addr())
	}
	return out
}

func topicDesc(md []*sarama.TopicMetadata) string {
	out := ""
	for _, t := range md {
		out += fmt.Sprintf("%s err=%v partitions=%d ", t.Name, t.Err, len(t.Partitions))
	}
	return out
}

func saramaCreateTopic(bootstrap string) (string, error) {
	return withSarama(bootstrap, func(client sarama.Client, admin sarama.ClusterAdmin) (string, error) {
		topic := unique("create")
		retention := "3600000"
		detail := &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1, ConfigEntries: map[string]*string{"retention.ms": &retention}}
		if err := admin.CreateTopic(topic, detail, false); err != nil {
			return "", fail("CreateTopic: %v", err)
		}
		md, err := admin.DescribeTopics([]string{topic})
		if err != nil || len(md) != 1 || len(md[0].Partitions) != 3 {
			return "", fail("new topic: %v %v, want 3 partitions", topicDesc(md), err)
		}
		if err := admin.CreateTopic(topic, detail, false); !isKError(err, sarama.ErrTopicAlreadyExists) {
			return "", fail("CreateTopic of an existing topic: %v, want TOPIC_ALREADY_EXISTS", err)
		}
		dry := unique("dry")
		if err := admin.CreateTopic(dry, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, true); err != nil {
			return "", fail("CreateTopic validateOnly: %v", err)
		}
		md, err = admin.DescribeTopics([]string{dry})
		if err != nil || len(md) != 1 || md[0].Err != sarama.ErrUnknownTopicOrPartition {
			return "", fail("validateOnly created the topic: %v %v", topicDesc(md), err)
		}
		if err := admin.CreateTopic(unique("rf3"), &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 3}, false); !isKError(err, sarama.ErrInvalidReplicationFactor) {
			return "", fail("CreateTopic with replication factor 3: %v, want INVALID_REPLICATION_FACTOR", err)
		}
		bad := "1"
		if err := admin.CreateTopic(unique("badcfg"), &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1, ConfigEntries: map[string]*string{"no.such.config": &bad}}, false); !isKError(err, sarama.ErrInvalidConfig) {
			return "", fail("CreateTopic with an unknown config: %v, want INVALID_CONFIG", err)
		}
		return "created 3 partitions with a config; exists, RF 3 and bad config refused; validateOnly creates nothing", nil
	})
}

// isKError tells whether err is, or wraps as sarama's admin does, the Kafka error code want.
func isKError(err error, want sarama.KError) bool {
	switch e := err.(type) {
	case sarama.KError:
		return e == want
	case *sarama.TopicError:
		return e.Err == want
	}
	return false
}

func saramaDeleteTopic(bootstrap string) (string, error) {
	return withSarama(bootstrap, func(client sarama.Client, admin sarama.ClusterAdmin) (string, error) {
		topic := unique("delete")
		if err := saramaCreate(admin, topic, 2); err != nil {
			return "", err
		}
		if err := admin.DeleteTopic(topic); err != nil {
			return "", fail("DeleteTopic: %v", err)
		}
		md, err := admin.DescribeTopics([]string{topic})
		if err != nil || len(md) != 1 || md[0].Err != sarama.ErrUnknownTopicOrPartition {
			return "", fail("deleted topic still described: %v %v", topicDesc(md), err)
		}
		if err := admin.DeleteTopic(unique("never-created")); !isKError(err, sarama.ErrUnknownTopicOrPartition) {
			return "", fail("DeleteTopic of an unknown topic: %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
		}
		if err := saramaCreate(admin, topic, 1); err != nil {
			return "", fail("recreate: %v", err)
		}
		if err := client.RefreshMetadata(topic); err != nil {
			return "", fail("RefreshMetadata: %v", err)
		}
		newest, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
		if err != nil || newest != 0 {
			return "", fail("recreated topic: newest offset %d %v, want 0", newest, err)
		}
		return "deleted; unknown afterwards; unknown topic refused; recreated empty", nil
	})
}

// ListTopics in sarama 1.22.1 sends Metadata v0 for all topics, then DescribeConfigs.
func saramaListTopics(bootstrap string) (string, error) {
	return withSarama(bootstrap, func(client sarama.Client, admin sarama.ClusterAdmin) (string, error) {
		a, b := unique("list-a"), unique("list-b")
		if err := saramaCreate(admin, a, 1); err != nil {
			return "", err
		}
		if err := saramaCreate(admin, b, 2); err != nil {
			return "", err
		}
		topics, err := admin.ListTopics()
		if err != nil {
			return "", fail("ListTopics (Metadata v0 for all topics, then DescribeConfigs v0): %s; %s", describeConnErr(err), probeDescribeConfigs(bootstrap, a))
		}
		if topics[a].NumPartitions != 1 || topics[b].NumPartitions != 2 {
			return "", fail("ListTopics: %s %+v, %s %+v", a, topics[a], b, topics[b])
		}
		return fmt.Sprintf("ListTopics shows both new topics with their partitions (%d topics)", len(topics)), nil
	})
}

// saramaProduceRead produces records with a SyncProducer and reads every partition back
// with partition consumers (no group) up to the high watermark.
func saramaProduceRead(bootstrap, topic string, partitions int32, records []sent, codec sarama.CompressionCodec, origin string) ([]got, error) {
	cfg := saramaConfig()
	cfg.Producer.Compression = codec
	return saramaProduceReadWith(bootstrap, topic, partitions, records, cfg, origin)
}

// saramaProduceReadWith is saramaProduceRead with the producer's client config given.
func saramaProduceReadWith(bootstrap, topic string, partitions int32, records []sent, cfg *sarama.Config, origin string) ([]got, error) {
	var all []got
	client, err := sarama.NewClient([]string{bootstrap}, cfg)
	if err != nil {
		return nil, fail("NewClient: %v", err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdmin([]string{bootstrap}, saramaConfig())
	if err != nil {
		return nil, fail("NewClusterAdmin: %v", err)
	}
	defer admin.Close()
	if err := saramaCreate(admin, topic, partitions); err != nil {
		return nil, err
	}
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		return nil, fail("NewSyncProducer: %v", err)
	}
	defer producer.Close()
	msgs := make([]*sarama.ProducerMessage, len(records))
	for i, r := range records {
		msgs[i] = &sarama.ProducerMessage{
			Topic: topic, Key: sarama.StringEncoder(r.key), Value: sarama.StringEncoder(r.value),
			Headers: []sarama.RecordHeader{
				{Key: []byte("origin"), Value: []byte(origin)},
				{Key: []byte("seq"), Value: []byte(fmt.Sprint(r.seq))},
				{Key: []byte("empty"), Value: []byte{}},
			},
		}
	}
	if err := producer.SendMessages(msgs); err != nil {
		if perrs, ok := err.(sarama.ProducerErrors); ok && len(perrs) > 0 {
			return nil, fail("SendMessages: %d of %d failed, first: %v", len(perrs), len(msgs), perrs[0].Err)
		}
		return nil, fail("SendMessages: %v", err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, fail("NewConsumer: %v", err)
	}
	defer consumer.Close()
	for p := int32(0); p < partitions; p++ {
		oldest, err := client.GetOffset(topic, p, sarama.OffsetOldest)
		if err != nil {
			return nil, fail("GetOffset(%d, oldest): %v", p, err)
		}
		newest, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return nil, fail("GetOffset(%d, newest): %v", p, err)
		}
		if oldest != 0 {
			return nil, fail("partition %d: oldest offset %d, want 0", p, oldest)
		}
		if newest == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			return nil, fail("ConsumePartition(%d): %v", p, err)
		}
		deadline := time.After(20 * time.Second)
		for next := int64(0); next < newest; {
			select {
			case m := <-pc.Messages():
				if m.Offset != next {
					pc.Close()
					return nil, fail("partition %d: offset %d after %d", p, m.Offset, next-1)
				}
				h := map[string]string{}
				for _, rh := range m.Headers {
					h[string(rh.Key)] = string(rh.Value)
				}
				all = append(all, got{partition: p, offset: m.Offset, key: string(m.Key), value: string(m.Value), headers: h, timestamp: m.Timestamp})
				next++
			case e := <-pc.Errors():
				pc.Close()
				return nil, fail("partition %d at %d: %v", p, next, e.Err)
			case <-deadline:
				pc.Close()
				return nil, fail("partition %d: read %d of %d records in 20 s", p, next, newest)
			}
		}
		pc.Close()
	}
	return all, nil
}

func saramaProduceConsume(bootstrap string) (string, error) {
	records := makeRecords(300)
	start := time.Now()
	have, err := saramaProduceRead(bootstrap, unique("keyed"), 3, records, sarama.CompressionNone, "sarama")
	if err != nil {
		return "", err
	}
	if err := compareRecords(records, have, true, "sarama"); err != nil {
		return "", err
	}
	if err := checkTimestamps(have, start, time.Now()); err != nil {
		return "", err
	}
	used := map[int32]bool{}
	for _, g := range have {
		used[g.partition] = true
	}
	if len(used) != 3 {
		return "", fail("17 keys landed in %d of 3 partitions", len(used))
	}
	return "300 keyed records with headers over 3 partitions (SyncProducer, Produce v3); read back with ConsumePartition (Fetch v4, no group)", nil
}

func saramaCompression(codec sarama.CompressionCodec) scenario {
	return func(bootstrap string) (string, error) {
		records := makeRecords(500)
		start := time.Now()
		topic := unique(fmt.Sprint(codec))
		origin := "sarama-" + fmt.Sprint(codec)
		have, err := saramaProduceRead(bootstrap, topic, 1, records, codec, origin)
		if err != nil && codec == sarama.CompressionZSTD && strings.Contains(err.Error(), sarama.ErrUnsupportedCompressionType.Error()) {
			// KIP-110: zstd needs Produce v7; sarama 1.22.1 always sends Produce v3.
			return "", fail("%v = UNSUPPORTED_COMPRESSION_TYPE (76): sarama 1.22.1 sends zstd batches in Produce v3 and Kafka (KIP-110) and Sluice require Produce v7 for zstd; client bug", err)
		}
		if err != nil {
			return "", err
		}
		if err := compareRecords(records, have, true, origin); err != nil {
			return "", err
		}
		if err := checkTimestamps(have, start, time.Now()); err != nil {
			return "", err
		}
		codecs, err := saramaBatchCodecs(bootstrap, topic)
		if err != nil {
			return "", err
		}
		for _, c := range codecs {
			if c != codec {
				return "", fail("stored batches have codecs %v, want all %v", codecs, codec)
			}
		}
		return fmt.Sprintf("500 keyed records with headers in %d %v batches, read back with ConsumePartition", len(codecs), codec), nil
	}
}

// saramaBatchCodecs returns the compression codec of each stored record batch of partition
// 0, to show the batches really are compressed.
func saramaBatchCodecs(bootstrap, topic string) ([]sarama.CompressionCodec, error) {
	batches, err := saramaStoredBatches(bootstrap, topic)
	if err != nil {
		return nil, err
	}
	out := make([]sarama.CompressionCodec, len(batches))
	for i, b := range batches {
		out[i] = b.Codec
	}
	return out, nil
}

// saramaStoredBatches fetches partition 0 from offset 0 with a plain Fetch v4 and returns
// the record batches as the broker serves them.
func saramaStoredBatches(bootstrap, topic string) ([]*sarama.RecordBatch, error) {
	return saramaStoredBatchesOf(bootstrap, topic, 0)
}

// saramaStoredBatchesOf is saramaStoredBatches for any partition.
func saramaStoredBatchesOf(bootstrap, topic string, partition int32) ([]*sarama.RecordBatch, error) {
	b := sarama.NewBroker(bootstrap)
	if err := b.Open(saramaConfig()); err != nil {
		return nil, fail("Broker.Open: %v", err)
	}
	defer b.Close()
	req := &sarama.FetchRequest{Version: 4, MaxWaitTime: 100, MinBytes: 1, MaxBytes: 1 << 24}
	req.AddBlock(topic, partition, 0, 1<<24)
	resp, err := b.Fetch(req)
	if err != nil {
		return nil, fail("raw Fetch v4: %v", err)
	}
	block := resp.GetBlock(topic, partition)
	if block == nil || block.Err != sarama.ErrNoError {
		return nil, fail("raw Fetch v4: block %+v", block)
	}
	var out []*sarama.RecordBatch
	for _, rs := range block.RecordsSet {
		if rs.RecordBatch != nil {
			out = append(out, rs.RecordBatch)
		}
	}
	if len(out) == 0 {
		return nil, fail("raw Fetch v4: no record batches")
	}
	return out, nil
}

// wireMillis is a batch timestamp as it was on the wire (sarama decodes -1 as the zero time).
func wireMillis(t time.Time) int64 {
	if t.IsZero() {
		return -1
	}
	return t.UnixNano() / 1e6
}

type groupHandler struct {
	seen map[string]bool
	msgs chan string
}

func (h *groupHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *groupHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		s.MarkMessage(m, "")
		h.msgs <- fmt.Sprintf("%d/%d", m.Partition, m.Offset)
	}
	return nil
}

func saramaConsumerGroup(bootstrap string) (string, error) {
	topic, group := unique("group"), unique("group-id")
	const count = 50
	records := makeRecords(count)
	if _, err := saramaProduceRead(bootstrap, topic, 2, records, sarama.CompressionNone, "sarama"); err != nil {
		return "", fail("producing: %v", err)
	}
	cfg := saramaConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Group.Session.Timeout = 10 * time.Second
	cfg.Consumer.Group.Heartbeat.Interval = time.Second
	cfg.Consumer.Group.Rebalance.Retry.Max = 1
	cg, err := sarama.NewConsumerGroup([]string{bootstrap}, group, cfg)
	if err != nil {
		return "", fail("NewConsumerGroup: %v", err)
	}
	defer cg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	h := &groupHandler{seen: map[string]bool{}, msgs: make(chan string, count)}
	done := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			err := cg.Consume(ctx, []string{topic}, h)
			sarama.Logger.Printf("compat: ConsumerGroup.Consume returned %v", err)
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var firstErr error
	for len(h.seen) < count {
		select {
		case m := <-h.msgs:
			h.seen[m] = true
		case err := <-cg.Errors():
			if firstErr == nil {
				firstErr = err
			}
		case err := <-done:
			if err != nil {
				return "", fail("ConsumerGroup.Consume: %v; %s", err, probeFindCoordinator(bootstrap, group))
			}
			return "", fail("consumed %d of %d records in 15 s (first error: %v); %s", len(h.seen), count, firstErr, probeFindCoordinator(bootstrap, group))
		case <-ctx.Done():
			// sarama 1.22.1 retries a failing RefreshCoordinator forever, ignoring ctx.
			return "", fail("consumed %d of %d records in 15 s (first error: %v); %s", len(h.seen), count, firstErr, probeFindCoordinator(bootstrap, group))
		}
	}
	cancel()
	<-done
	seen := make([]string, 0, len(h.seen))
	for k := range h.seen {
		seen = append(seen, k)
	}
	sort.Strings(seen)
	return fmt.Sprintf("group consumer read %d records from 2 partitions", len(seen)), nil
}

// probeFindCoordinator sends one FindCoordinator v0 for group and says what came back, to
// explain a group consumer that never starts.
func probeFindCoordinator(bootstrap, group string) string {
	b := sarama.NewBroker(bootstrap)
	if err := b.Open(saramaConfig()); err != nil {
		return fmt.Sprintf("probe: Broker.Open: %v", err)
	}
	defer b.Close()
	resp, err := b.FindCoordinator(&sarama.FindCoordinatorRequest{Version: 0, CoordinatorKey: group, CoordinatorType: sarama.CoordinatorGroup})
	if err != nil {
		return fmt.Sprintf("a direct FindCoordinator v0 gets %s", describeConnErr(err))
	}
	if resp.Err != sarama.ErrNoError {
		return fmt.Sprintf("a direct FindCoordinator v0 gets error %v", resp.Err)
	}
	return fmt.Sprintf("a direct FindCoordinator v0 finds coordinator %d", resp.Coordinator.ID())
}

// saramaOffsetsByTimestamp looks offsets up by time with client.GetOffset (ListOffsets v1).
func saramaOffsetsByTimestamp(bootstrap string) (string, error) {
	return withSarama(bootstrap, func(client sarama.Client, admin sarama.ClusterAdmin) (string, error) {
		topic := unique("bytime")
		if err := saramaCreate(admin, topic, 1); err != nil {
			return "", err
		}
		producer, err := sarama.NewSyncProducerFromClient(client)
		if err != nil {
			return "", fail("NewSyncProducer: %v", err)
		}
		defer producer.Close()
		send := func(from, n int) error {
			msgs := make([]*sarama.ProducerMessage, n)
			for i := range msgs {
				msgs[i] = &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(fmt.Sprint("k", from+i)), Value: sarama.StringEncoder(fmt.Sprint("v", from+i))}
			}
			return producer.SendMessages(msgs)
		}
		if err := send(0, 40); err != nil {
			return "", fail("SendMessages: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
		mid := time.Now()
		time.Sleep(300 * time.Millisecond)
		if err := send(40, 10); err != nil {
			return "", fail("SendMessages: %v", err)
		}
		at := func(ms int64) (int64, error) { return client.GetOffset(topic, 0, ms) }
		for _, c := range []struct {
			what string
			ms   int64
			want int64
		}{
			{"a time between the sends", mid.UnixNano() / 1e6, 40},
			{"time 0", 0, 0},
			{"a future time", time.Now().Add(time.Hour).UnixNano() / 1e6, -1},
			{"latest (-1)", sarama.OffsetNewest, 50},
			{"earliest (-2)", sarama.OffsetOldest, 0},
		} {
			got, err := at(c.ms)
			if err != nil || got != c.want {
				// sarama 1.22.1 leaves max_timestamp at -1 in the batches it produces; say
				// whether the broker stored and used that header field as it came.
				stored := ""
				if batches, berr := saramaStoredBatches(bootstrap, topic); berr == nil {
					for _, b := range batches {
						stored += fmt.Sprintf(" [first_timestamp %d max_timestamp %d]", wireMillis(b.FirstTimestamp), wireMillis(b.MaxTimestamp))
					}
				}
				return "", fail("GetOffset (ListOffsets v1) at %s: %d %v, want %d; stored batches as served by Fetch:%s", c.what, got, err, c.want, stored)
			}
		}
		return "ListOffsets v1: mid timestamp 40, time 0 -> 0, future -> -1, latest 50, earliest 0", nil
	})
}

// probeDescribeConfigs sends one DescribeConfigs v0 for a topic and says what came back.
func probeDescribeConfigs(bootstrap, topic string) string {
	b := sarama.NewBroker(bootstrap)
	if err := b.Open(saramaConfig()); err != nil {
		return fmt.Sprintf("probe: Broker.Open: %v", err)
	}
	defer b.Close()
	_, err := b.DescribeConfigs(&sarama.DescribeConfigsRequest{Resources: []*sarama.ConfigResource{{Type: sarama.TopicResource, Name: topic}}})
	if err != nil {
		return fmt.Sprintf("a direct DescribeConfigs v0 gets %s", describeConnErr(err))
	}
	return "a direct DescribeConfigs v0 is answered"
}

// saramaIdempotent produces with Producer.Idempotent (sarama 1.22.1 has no transactional
// producer: it sends InitProducerId v0 without a transactional id, then Produce v3 batches
// carrying the producer id, epoch and per-partition sequence numbers), reads everything back,
// and checks with a raw Fetch that the stored batches kept producer id and sequences.
func saramaIdempotent(bootstrap string) (string, error) {
	records := makeRecords(300)
	topic := unique("idempotent")
	cfg := saramaConfig()
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	start := time.Now()
	have, err := saramaProduceReadWith(bootstrap, topic, 3, records, cfg, "sarama-idempotent")
	if err != nil {
		return "", err
	}
	if err := compareRecords(records, have, true, "sarama-idempotent"); err != nil {
		return "", err
	}
	if err := checkTimestamps(have, start, time.Now()); err != nil {
		return "", err
	}
	ids := map[string]bool{}
	batches := 0
	for p := int32(0); p < 3; p++ {
		stored, err := saramaStoredBatchesOf(bootstrap, topic, p)
		if err != nil {
			return "", fail("partition %d: %v", p, err)
		}
		seq := int32(0)
		for _, b := range stored {
			where := fmt.Sprintf("p%d batch at offset %d", p, b.FirstOffset)
			if b.IsTransactional || b.Control {
				return "", fail("%s is transactional or a control batch", where)
			}
			if b.ProducerID < 0 || b.ProducerEpoch < 0 {
				return "", fail("%s has producer id %d epoch %d: sarama did not produce idempotently", where, b.ProducerID, b.ProducerEpoch)
			}
			if b.FirstSequence != seq {
				return "", fail("%s has base sequence %d, want %d (the records before it)", where, b.FirstSequence, seq)
			}
			seq += b.LastOffsetDelta + 1
			ids[fmt.Sprintf("%d/%d", b.ProducerID, b.ProducerEpoch)] = true
			batches++
		}
	}
	if len(ids) != 1 {
		return "", fail("batches carry producer ids/epochs %v, want one", ids)
	}
	var id string
	for k := range ids {
		id = k
	}
	return fmt.Sprintf("300 keyed records with headers over 3 partitions (Idempotent, InitProducerId v0, Produce v3), read back; %d batches of producer id/epoch %s, sequences contiguous from 0", batches, id), nil
}

// saramaTxnReadCommitted: sarama 1.22.1 has no transactional producer, but it has the
// transaction requests' codecs (all v0) and a ReadCommitted consumer. The scenario drives a
// transactional id by hand with sarama.Broker: FindCoordinator v1 (type transaction),
// InitProducerId v0, then four transactions of 10 records over 2 partitions (AddPartitionsToTxn
// v0, Produce v3 with transactional batches, EndTxn v0): A committed, B aborted (with a
// TxnOffsetCommit v0 for a group that must be discarded), C committed (with a TxnOffsetCommit
// that must stick), D left open. sarama's ReadCommitted consumer must hand out A and C only
// (B is aborted, D is past the last stable offset), its ReadUncommitted consumer all four; a
// raw read_committed Fetch v4 must report the last stable offset and B as aborted; after D
// commits, the ReadCommitted consumer sees D too; OffsetFetch v1 gives C's offset.
func saramaTxnReadCommitted(bootstrap string) (string, error) {
	return withSarama(bootstrap, func(client sarama.Client, admin sarama.ClusterAdmin) (string, error) {
		topic, group, tid := unique("txn"), unique("txn-group"), unique("txn-id")
		if err := saramaCreate(admin, topic, 2); err != nil {
			return "", err
		}
		b := sarama.NewBroker(bootstrap)
		if err := b.Open(saramaConfig()); err != nil {
			return "", fail("Broker.Open: %v", err)
		}
		defer b.Close()
		fc, err := b.FindCoordinator(&sarama.FindCoordinatorRequest{Version: 1, CoordinatorKey: tid, CoordinatorType: sarama.CoordinatorTransaction})
		if err != nil || fc.Err != sarama.ErrNoError || fc.Coordinator == nil || fc.Coordinator.ID() != 0 {
			return "", fail("FindCoordinator v1 (transaction): %v %v", fcDesc(fc), err)
		}
		ip, err := b.InitProducerID(&sarama.InitProducerIDRequest{TransactionalID: &tid, TransactionTimeout: 60 * time.Second})
		if err != nil || ip.Err != sarama.ErrNoError || ip.ProducerID < 0 {
			return "", fail("InitProducerId v0 with a transactional id: %+v %v", ip, err)
		}
		pid, epoch := ip.ProducerID, ip.ProducerEpoch
		seq := map[int32]int32{}
		begin := func(tag string) error {
			ap, err := b.AddPartitionsToTxn(&sarama.AddPartitionsToTxnRequest{TransactionalID: tid, ProducerID: pid, ProducerEpoch: epoch,
				TopicPartitions: map[string][]int32{topic: {0, 1}}})
			if err != nil {
				return fail("transaction %s: AddPartitionsToTxn v0: %v", tag, err)
			}
			for _, pe := range ap.Errors[topic] {
				if pe.Err != sarama.ErrNoError {
					return fail("transaction %s: AddPartitionsToTxn v0: partition %d: %v", tag, pe.Partition, pe.Err)
				}
			}
			req := &sarama.ProduceRequest{Version: 3, RequiredAcks: sarama.WaitForAll, Timeout: 10000, TransactionalID: &tid}
			now := time.Now()
			for p := int32(0); p < 2; p++ {
				batch := &sarama.RecordBatch{Version: 2, ProducerID: pid, ProducerEpoch: epoch, FirstSequence: seq[p], IsTransactional: true,
					FirstTimestamp: now, MaxTimestamp: now}
				for _, r := range txnRecords(tag) {
					if r.partition == p {
						batch.Records = append(batch.Records, &sarama.Record{OffsetDelta: int64(len(batch.Records)), Value: []byte(r.value)})
					}
				}
				batch.LastOffsetDelta = int32(len(batch.Records) - 1)
				seq[p] += int32(len(batch.Records))
				req.AddBatch(topic, p, batch)
			}
			resp, err := b.Produce(req)
			if err != nil {
				return fail("transaction %s: Produce v3: %v", tag, err)
			}
			for p := int32(0); p < 2; p++ {
				if blk := resp.GetBlock(topic, p); blk == nil || blk.Err != sarama.ErrNoError {
					return fail("transaction %s: Produce v3 partition %d: %+v", tag, p, blk)
				}
			}
			return nil
		}
		commitOffset := func(tag string, offset int64) error {
			ao, err := b.AddOffsetsToTxn(&sarama.AddOffsetsToTxnRequest{TransactionalID: tid, ProducerID: pid, ProducerEpoch: epoch, GroupID: group})
			if err != nil || ao.Err != sarama.ErrNoError {
				return fail("transaction %s: AddOffsetsToTxn v0: %+v %v", tag, ao, err)
			}
			to, err := b.TxnOffsetCommit(&sarama.TxnOffsetCommitRequest{TransactionalID: tid, GroupID: group, ProducerID: pid, ProducerEpoch: epoch,
				Topics: map[string][]*sarama.PartitionOffsetMetadata{topic: {{Partition: 0, Offset: offset}}}})
			if err != nil {
				return fail("transaction %s: TxnOffsetCommit v0: %v", tag, err)
			}
			for _, pe := range to.Topics[topic] {
				if pe.Err != sarama.ErrNoError {
					return fail("transaction %s: TxnOffsetCommit v0 partition %d: %v", tag, pe.Partition, pe.Err)
				}
			}
			return nil
		}
		end := func(tag string, commit bool) error {
			et, err := b.EndTxn(&sarama.EndTxnRequest{TransactionalID: tid, ProducerID: pid, ProducerEpoch: epoch, TransactionResult: commit})
			if err != nil || et.Err != sarama.ErrNoError {
				return fail("transaction %s: EndTxn v0 (commit %v): %+v %v", tag, commit, et, err)
			}
			return nil
		}
		steps := []func() error{
			func() error { return begin("A") }, func() error { return end("A", true) },
			func() error { return begin("B") }, func() error { return commitOffset("B", 99) }, func() error { return end("B", false) },
			func() error { return begin("C") }, func() error { return commitOffset("C", 42) }, func() error { return end("C", true) },
			func() error { return begin("D") },
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return "", err
			}
		}
		// Per partition: A 0-4, marker 5, B 6-10, marker 11, C 12-16, marker 17, D 18-22 (open).
		fr := &sarama.FetchRequest{Version: 4, Isolation: sarama.ReadCommitted, MaxWaitTime: 100, MinBytes: 1, MaxBytes: 1 << 20}
		fr.AddBlock(topic, 0, 0, 1<<20)
		fresp, err := b.Fetch(fr)
		if err != nil {
			return "", fail("raw read_committed Fetch v4: %v", err)
		}
		blk := fresp.GetBlock(topic, 0)
		if blk == nil || blk.Err != sarama.ErrNoError {
			return "", fail("raw read_committed Fetch v4: block %+v", blk)
		}
		aborted := ""
		for _, t := range blk.AbortedTransactions {
			aborted += fmt.Sprintf("[producer %d first offset %d]", t.ProducerID, t.FirstOffset)
		}
		if blk.HighWaterMarkOffset != 23 || blk.LastStableOffset != 18 || aborted != fmt.Sprintf("[producer %d first offset 6]", pid) {
			return "", fail("raw read_committed Fetch v4 of p0 with D open: high watermark %d (want 23), last stable offset %d (want 18), aborted transactions %s (want [producer %d first offset 6])",
				blk.HighWaterMarkOffset, blk.LastStableOffset, aborted, pid)
		}
		committed, err := saramaReadValues(bootstrap, topic, sarama.ReadCommitted, 20, 3*time.Second)
		if err != nil {
			return "", err
		}
		if err := checkTxnView("ReadCommitted while D is open", committed, "AC"); err != nil {
			return "", err
		}
		all, err := saramaReadValues(bootstrap, topic, sarama.ReadUncommitted, 40, time.Second)
		if err != nil {
			return "", err
		}
		if err := checkTxnView("ReadUncommitted", all, "ABCD"); err != nil {
			return "", err
		}
		if err := end("D", true); err != nil {
			return "", err
		}
		committed, err = saramaReadValues(bootstrap, topic, sarama.ReadCommitted, 30, 2*time.Second)
		if err != nil {
			return "", err
		}
		if err := checkTxnView("ReadCommitted after D committed", committed, "ACD"); err != nil {
			return "", err
		}
		of := &sarama.OffsetFetchRequest{Version: 1, ConsumerGroup: group}
		of.AddPartition(topic, 0)
		ofr, err := b.FetchOffset(of)
		if err != nil {
			return "", fail("OffsetFetch v1: %v", err)
		}
		if ob := ofr.GetBlock(topic, 0); ob == nil || ob.Err != sarama.ErrNoError || ob.Offset != 42 {
			return "", fail("OffsetFetch v1 after B (offset 99, aborted) and C (offset 42, committed): %+v, want offset 42", ob)
		}
		return fmt.Sprintf("transactional id by hand (FindCoordinator v1, InitProducerId/AddPartitionsToTxn/AddOffsetsToTxn/TxnOffsetCommit/EndTxn v0, Produce v3): read_committed Fetch reports LSO 18 and B aborted; ReadCommitted consumer A+C, then A+C+D; ReadUncommitted A+B+C+D; group offset 42 from C, not 99 from aborted B"), nil
	})
}

func fcDesc(fc *sarama.FindCoordinatorResponse) string {
	if fc == nil {
		return "<nil>"
	}
	return fmt.Sprintf("err %v coordinator %s", fc.Err, brokerDesc([]*sarama.Broker{fc.Coordinator}))
}

type txnRecord struct {
	partition int32
	value     string
}

// txnRecords are the 10 records of transaction tag in production order, record i to partition i % 2.
func txnRecords(tag string) []txnRecord {
	out := make([]txnRecord, 10)
	for i := range out {
		out[i] = txnRecord{partition: int32(i % 2), value: fmt.Sprintf("%s-%d", tag, i)}
	}
	return out
}

// saramaReadValues reads partitions 0 and 1 of topic from the oldest offset with a sarama
// consumer at the given isolation level until want records came, then settle more; returns
// the values per partition in the order handed out.
func saramaReadValues(bootstrap, topic string, isolation sarama.IsolationLevel, want int, settle time.Duration) (map[int32][]string, error) {
	cfg := saramaConfig()
	cfg.Consumer.IsolationLevel = isolation
	cfg.Consumer.MaxWaitTime = 200 * time.Millisecond
	consumer, err := sarama.NewConsumer([]string{bootstrap}, cfg)
	if err != nil {
		return nil, fail("NewConsumer: %v", err)
	}
	defer consumer.Close()
	msgs := make(chan *sarama.ConsumerMessage, 100)
	errs := make(chan error, 10)
	for p := int32(0); p < 2; p++ {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			return nil, fail("ConsumePartition(%d): %v", p, err)
		}
		defer pc.Close()
		go func(pc sarama.PartitionConsumer) {
			for m := range pc.Messages() {
				msgs <- m
			}
		}(pc)
		go func(pc sarama.PartitionConsumer) {
			for e := range pc.Errors() {
				errs <- e
			}
		}(pc)
	}
	out := map[int32][]string{}
	n := 0
	deadline := time.After(20 * time.Second)
	var settleDone <-chan time.Time
	for {
		if n >= want && settleDone == nil {
			settleDone = time.After(settle)
		}
		select {
		case m := <-msgs:
			out[m.Partition] = append(out[m.Partition], string(m.Value))
			n++
		case e := <-errs:
			return nil, fail("isolation %d: consumer error: %v", isolation, e)
		case <-settleDone:
			return out, nil
		case <-deadline:
			return nil, fail("isolation %d: read %d of %d records in 20 s", isolation, n, want)
		}
	}
}

// checkTxnView: exactly the records of transactions tags, in production order per partition.
func checkTxnView(what string, have map[int32][]string, tags string) error {
	for p := int32(0); p < 2; p++ {
		var want []string
		for _, tag := range strings.Split(tags, "") {
			for _, r := range txnRecords(tag) {
				if r.partition == p {
					want = append(want, r.value)
				}
			}
		}
		if strings.Join(have[p], " ") != strings.Join(want, " ") {
			return fail("%s: partition %d handed out [%s], want [%s]", what, p, strings.Join(have[p], " "), strings.Join(want, " "))
		}
	}
	return nil
}

package main

// Scenarios for github.com/segmentio/kafka-go as packaged by Debian bookworm (0.2.1, 2018).
//
// kafka-go 0.2.1 does not use ApiVersions; it always sends Metadata v1, Produce v2 with
// message format v1 (magic 1, no headers), Fetch v2, ListOffsets v1, CreateTopics v0,
// DeleteTopics v1 and FindCoordinator v0 for groups. Produce < 3, Fetch < 4 and
// CreateTopics < 2 are below what Sluice (like Apache Kafka 4.x, KIP-896) serves, so the
// scenarios that need them fail; see ../FINDINGS.md. Topics for those scenarios are created
// with sarama so that each scenario fails only on the kafka-go call it is about.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Shopify/sarama"
	kafka "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/gzip"
	"github.com/segmentio/kafka-go/lz4"
	"github.com/segmentio/kafka-go/snappy"
)

var kafkaGoScenarios = map[string]scenario{
	"metadata":                      kafkaGoMetadata,
	"admin-create-topic":            kafkaGoCreateTopic,
	"admin-delete-topic":            kafkaGoDeleteTopic,
	"produce-consume-keyed-headers": kafkaGoProduceConsume(nil, "none"),
	"compression-gzip":              kafkaGoProduceConsume(gzip.NewCompressionCodec(), "gzip"),
	"compression-snappy":            kafkaGoProduceConsume(snappy.NewCompressionCodec(), "snappy"),
	"compression-lz4":               kafkaGoProduceConsume(lz4.NewCompressionCodec(), "lz4"),
	"consumer-group":                kafkaGoConsumerGroup,
}

var kafkaGoDialer = &kafka.Dialer{ClientID: "sluice-compat-go", Timeout: 5 * time.Second}

func kafkaGoDial(bootstrap string) (*kafka.Conn, error) {
	conn, err := kafkaGoDialer.Dial("tcp", bootstrap)
	if err != nil {
		return nil, fail("Dial: %v", err)
	}
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	return conn, nil
}

// describeConnErr says what a bare EOF or reset on a kafka-go connection means here.
func describeConnErr(err error) string {
	if err == nil {
		return "ok"
	}
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Sprintf("%v (no response before the deadline)", err)
	}
	s := err.Error()
	if strings.Contains(s, "EOF") || strings.Contains(s, "reset by peer") || strings.Contains(s, "broken pipe") {
		return fmt.Sprintf("%v (the broker closed the connection)", err)
	}
	return s
}

func kafkaGoMetadata(bootstrap string) (string, error) {
	conn, err := kafkaGoDial(bootstrap)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	// Metadata v1 always allows auto-creation: asking for a new topic creates it.
	topic := unique("kgo-metadata")
	var parts []kafka.Partition
	for attempt := 0; attempt < 5; attempt++ {
		if parts, err = conn.ReadPartitions(topic); err == nil && len(parts) > 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		return "", fail("ReadPartitions (Metadata v1): %s", describeConnErr(err))
	}
	if len(parts) < 1 {
		return "", fail("ReadPartitions(%s): no partitions after auto-create", topic)
	}
	host, port, _ := net.SplitHostPort(bootstrap)
	for _, p := range parts {
		if p.Topic != topic || p.Leader.ID != 0 || p.Leader.Host != host || strconv.Itoa(p.Leader.Port) != port || len(p.Isr) != 1 || len(p.Replicas) != 1 {
			return "", fail("ReadPartitions(%s): partition %+v, want leader 0 at %s", topic, p, bootstrap)
		}
	}
	// ListOffsets v1 on the partition leader.
	leader, err := kafkaGoDialer.DialLeader(context.Background(), "tcp", bootstrap, topic, 0)
	if err != nil {
		return "", fail("DialLeader: %s", describeConnErr(err))
	}
	defer leader.Close()
	leader.SetDeadline(time.Now().Add(15 * time.Second))
	first, last, err := leader.ReadOffsets()
	if err != nil || first != 0 || last != 0 {
		return "", fail("ReadOffsets (ListOffsets v1) of an empty partition: %d..%d %s", first, last, describeConnErr(err))
	}
	return fmt.Sprintf("Metadata v1 auto-creates (%d partitions, leader 0 at %s); ListOffsets v1 on the empty partition 0..0", len(parts), bootstrap), nil
}

func kafkaGoCreateTopic(bootstrap string) (string, error) {
	conn, err := kafkaGoDial(bootstrap)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	topic := unique("kgo-create")
	err = conn.CreateTopics(kafka.TopicConfig{Topic: topic, NumPartitions: 3, ReplicationFactor: 1,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "retention.ms", ConfigValue: "3600000"}}})
	if err != nil {
		return "", fail("CreateTopics v0: %s", describeConnErr(err))
	}
	conn2, err := kafkaGoDial(bootstrap)
	if err != nil {
		return "", err
	}
	defer conn2.Close()
	parts, err := conn2.ReadPartitions(topic)
	if err != nil || len(parts) != 3 {
		return "", fail("created topic has %d partitions (%v), want 3", len(parts), err)
	}
	return "CreateTopics v0 created 3 partitions", nil
}

func kafkaGoDeleteTopic(bootstrap string) (string, error) {
	topic := unique("kgo-delete")
	if err := saramaCreateOnly(bootstrap, topic, 2); err != nil {
		return "", err
	}
	conn, err := kafkaGoDial(bootstrap)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.DeleteTopics(topic); err != nil {
		return "", fail("DeleteTopics v1: %s", describeConnErr(err))
	}
	// Deleting it again must say it is unknown (Metadata v1 would auto-create it again).
	err = conn.DeleteTopics(topic)
	if err != kafka.UnknownTopicOrPartition {
		return "", fail("DeleteTopics of the deleted topic: %s, want UNKNOWN_TOPIC_OR_PARTITION", describeConnErr(err))
	}
	return "DeleteTopics v1 deleted a 2-partition topic; deleting it again -> UNKNOWN_TOPIC_OR_PARTITION", nil
}

// saramaCreateOnly creates a topic for kafka-go scenarios (kafka-go's CreateTopics is v0).
func saramaCreateOnly(bootstrap, topic string, partitions int32) error {
	admin, err := sarama.NewClusterAdmin([]string{bootstrap}, saramaConfig())
	if err != nil {
		return fail("setup: NewClusterAdmin: %v", err)
	}
	defer admin.Close()
	if err := saramaCreate(admin, topic, partitions); err != nil {
		return fail("setup: %v", err)
	}
	return nil
}

// capturedLog collects a kafka-go logger's lines (and copies them to stderr).
type capturedLog struct {
	mu    sync.Mutex
	lines []string
}

func (c *capturedLog) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range strings.Split(strings.TrimSpace(string(p)), "\n") {
		c.lines = append(c.lines, l)
	}
	return os.Stderr.Write(p)
}

func (c *capturedLog) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.lines) == 0 {
		return ""
	}
	return c.lines[len(c.lines)-1]
}

// hashBalancer sends a key always to the same partition (0.2.1 has no Hash balancer).
var hashBalancer = kafka.BalancerFunc(func(msg kafka.Message, partitions ...int) int {
	h := fnv.New32a()
	h.Write(msg.Key)
	return partitions[int(h.Sum32()%uint32(len(partitions)))]
})

// kafkaGoRead reads `want` records from each partition with a Reader that has a Partition
// and no GroupID (Fetch v2), bounded by ctx.
func kafkaGoRead(ctx context.Context, bootstrap, topic string, partitions int, wantPerPartition map[int]int64) ([]got, error) {
	var out []got
	for p := 0; p < partitions; p++ {
		want := wantPerPartition[p]
		if want == 0 {
			continue
		}
		errs := &capturedLog{}
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: []string{bootstrap}, Topic: topic, Partition: p, Dialer: kafkaGoDialer,
			MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 200 * time.Millisecond,
			ErrorLogger: log.New(errs, "[kafka-go reader] ", log.Ltime),
		})
		for n := int64(0); n < want; n++ {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				return nil, fail("Reader (Fetch v2) partition %d at %d: %v; last reader error: %s", p, n, err, errs.last())
			}
			if m.Offset != n {
				r.Close()
				return nil, fail("Reader partition %d: offset %d after %d", p, m.Offset, n-1)
			}
			out = append(out, got{partition: int32(p), offset: m.Offset, key: string(m.Key), value: string(m.Value)})
		}
		r.Close()
	}
	return out, nil
}

// kafkaGoProduceConsume writes keyed records with a Writer (Produce v2, message format
// v1, so no headers) to a 3-partition topic and reads them back with partition Readers.
// If the Writer fails, it still checks the Reader on records produced by sarama, so the
// note names both halves.
func kafkaGoProduceConsume(codec kafka.CompressionCodec, codecName string) scenario {
	return func(bootstrap string) (string, error) {
		const partitions = 3
		records := makeRecords(300)
		topic := unique("kgo-" + codecName)
		if err := saramaCreateOnly(bootstrap, topic, partitions); err != nil {
			return "", err
		}
		errs := &capturedLog{}
		w := kafka.NewWriter(kafka.WriterConfig{
			Brokers: []string{bootstrap}, Topic: topic, Dialer: kafkaGoDialer, Balancer: hashBalancer,
			CompressionCodec: codec, BatchSize: 100, BatchTimeout: 10 * time.Millisecond,
			MaxAttempts: 2, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, RequiredAcks: -1,
			ErrorLogger: log.New(errs, "[kafka-go writer] ", log.Ltime),
		})
		msgs := make([]kafka.Message, len(records))
		for i, r := range records {
			msgs[i] = kafka.Message{Key: []byte(r.key), Value: []byte(r.value)}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		werr := w.WriteMessages(ctx, msgs...)
		w.Close()
		if werr != nil {
			note := fmt.Sprintf("Writer (Produce v2, magic 1, %s): %s; last writer error: %s", codecName, describeConnErr(werr), errs.last())
			// Does the read side work on records another client wrote?
			other := unique("kgo-read-" + codecName)
			perPartition, err := saramaProduceForKafkaGo(bootstrap, other, partitions, records[:30])
			if err != nil {
				return "", fail("%s; setup for the read check: %v", note, err)
			}
			rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer rcancel()
			if _, rerr := kafkaGoRead(rctx, bootstrap, other, partitions, perPartition); rerr != nil {
				return "", fail("%s. %v", note, rerr)
			}
			return "", fail("%s. Reader (Fetch v2) of sarama-written records works", note)
		}
		perPartition, err := kafkaGoHighWatermarks(bootstrap, topic, partitions)
		if err != nil {
			return "", err
		}
		have, err := kafkaGoRead(ctx, bootstrap, topic, partitions, perPartition)
		if err != nil {
			return "", err
		}
		if err := compareRecords(records, have, false, ""); err != nil {
			return "", err
		}
		return fmt.Sprintf("300 keyed records (%s) over 3 partitions by Writer, read back by partition Readers", codecName), nil
	}
}

// kafkaGoHighWatermarks reads each partition's last offset with ListOffsets v1.
func kafkaGoHighWatermarks(bootstrap, topic string, partitions int) (map[int]int64, error) {
	out := map[int]int64{}
	for p := 0; p < partitions; p++ {
		conn, err := kafkaGoDialer.DialLeader(context.Background(), "tcp", bootstrap, topic, p)
		if err != nil {
			return nil, fail("DialLeader(%d): %s", p, describeConnErr(err))
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		last, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			return nil, fail("ReadLastOffset (ListOffsets v1) partition %d: %s", p, describeConnErr(err))
		}
		out[p] = last
	}
	return out, nil
}

// saramaProduceForKafkaGo writes records with sarama (uncompressed) and returns per-partition counts.
func saramaProduceForKafkaGo(bootstrap, topic string, partitions int32, records []sent) (map[int]int64, error) {
	if err := saramaCreateOnly(bootstrap, topic, partitions); err != nil {
		return nil, err
	}
	producer, err := sarama.NewSyncProducer([]string{bootstrap}, saramaConfig())
	if err != nil {
		return nil, fail("NewSyncProducer: %v", err)
	}
	defer producer.Close()
	out := map[int]int64{}
	for _, r := range records {
		p, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(r.key), Value: sarama.StringEncoder(r.value)})
		if err != nil {
			return nil, fail("SendMessage: %v", err)
		}
		out[int(p)]++
	}
	return out, nil
}

func kafkaGoConsumerGroup(bootstrap string) (string, error) {
	topic, group := unique("kgo-group"), unique("kgo-group-id")
	records := makeRecords(50)
	if _, err := saramaProduceForKafkaGo(bootstrap, topic, 2, records); err != nil {
		return "", err
	}
	errs := &capturedLog{}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: []string{bootstrap}, Topic: topic, GroupID: group, Dialer: kafkaGoDialer,
		MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 200 * time.Millisecond,
		SessionTimeout: 10 * time.Second, HeartbeatInterval: time.Second,
		Logger:      log.New(errs, "[kafka-go group reader] ", log.Ltime),
		ErrorLogger: log.New(errs, "[kafka-go group reader] ", log.Ltime),
	})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	seen := map[string]bool{}
	for len(seen) < len(records) {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return "", fail("group Reader: read %d of %d: %v; last reader log: %s; %s", len(seen), len(records), err, errs.last(), probeFindCoordinator(bootstrap, group))
		}
		seen[fmt.Sprintf("%d/%d", m.Partition, m.Offset)] = true
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "group Reader read %d records from 2 partitions", len(seen))
	return buf.String(), nil
}

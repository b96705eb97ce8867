package main

// Config scenarios for sarama 1.22.1: ClusterAdmin.AlterConfig (AlterConfigs v0) and
// ClusterAdmin.DescribeConfig (DescribeConfigs v0). 1.22.1 has no IncrementalAlterConfig
// (added in sarama 1.27), and its ClusterAdmin always sends DescribeConfigs v0, which Kafka
// 4.x no longer serves (KIP-896); the effect of AlterConfig is checked with the same client's
// DescribeConfigsRequest at v1 (with synonyms) sent through a sarama Broker.
//
// sarama 1.22.1 numbers config resource types like ACL resource types: its BrokerResource is
// 5 on the wire, where Kafka's BROKER is 4 (sarama's ClusterResource). Kafka refuses type 5
// with INVALID_REQUEST; the scenarios show both.

import (
	"fmt"

	"github.com/Shopify/sarama"
)

func init() {
	saramaScenarios["admin-alter-config"] = saramaAlterConfig
	saramaScenarios["admin-describe-config"] = saramaDescribeConfig
}

// kafkaBroker is Kafka's config resource type BROKER (4), which sarama 1.22.1 calls
// ClusterResource.
const kafkaBroker = sarama.ClusterResource

func strp(s string) *string { return &s }

// describeV1 sends DescribeConfigs v1 with synonyms for one resource and returns its entries
// by name, or the resource's error code.
func describeV1(bootstrap string, typ sarama.ConfigResourceType, name string) (map[string]*sarama.ConfigEntry, int16, error) {
	b := sarama.NewBroker(bootstrap)
	if err := b.Open(saramaConfig()); err != nil {
		return nil, 0, fail("Broker.Open: %v", err)
	}
	defer b.Close()
	rsp, err := b.DescribeConfigs(&sarama.DescribeConfigsRequest{
		Version:         1,
		IncludeSynonyms: true,
		Resources:       []*sarama.ConfigResource{{Type: typ, Name: name}},
	})
	if err != nil {
		return nil, 0, fail("DescribeConfigs v1 %s: %s", name, describeConnErr(err))
	}
	if len(rsp.Resources) != 1 {
		return nil, 0, fail("DescribeConfigs v1 %s: %d resources in the answer", name, len(rsp.Resources))
	}
	r := rsp.Resources[0]
	if r.ErrorCode != 0 {
		return nil, r.ErrorCode, nil
	}
	out := map[string]*sarama.ConfigEntry{}
	for _, e := range r.Configs {
		out[e.Name] = e
	}
	return out, 0, nil
}

// checkSource: the entry has this value and source and, unless it is a default, its first
// synonym carries them (Kafka lists the entry's own source first).
func checkSource(entries map[string]*sarama.ConfigEntry, key, value string, source sarama.ConfigSource) error {
	e := entries[key]
	if e == nil {
		return fail("DescribeConfigs has no %s", key)
	}
	if e.Value != value || e.Source != source {
		return fail("%s = %q from %v, want %q from %v", key, e.Value, e.Source, value, source)
	}
	if source != sarama.SourceDefault {
		if len(e.Synonyms) == 0 || e.Synonyms[0].ConfigValue != value || e.Synonyms[0].Source != source {
			return fail("%s synonyms %s, want the first to carry %q from %v", key, synonymsDesc(e), value, source)
		}
	}
	return nil
}

func synonymsDesc(e *sarama.ConfigEntry) string {
	s := "["
	for i, syn := range e.Synonyms {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s=%s(%v)", syn.ConfigName, syn.ConfigValue, syn.Source)
	}
	return s + "]"
}

// alterRaw sends AlterConfigs v0 through a Broker and returns the resource's error code (sarama's
// ClusterAdmin.AlterConfig reports an error only when the broker sends an error message).
func alterRaw(bootstrap string, typ sarama.ConfigResourceType, name string, entries map[string]*string) (int16, error) {
	b := sarama.NewBroker(bootstrap)
	if err := b.Open(saramaConfig()); err != nil {
		return 0, fail("Broker.Open: %v", err)
	}
	defer b.Close()
	rsp, err := b.AlterConfigs(&sarama.AlterConfigsRequest{
		Resources: []*sarama.AlterConfigsResource{{Type: typ, Name: name, ConfigEntries: entries}},
	})
	if err != nil {
		return 0, fail("AlterConfigs v0 %s: %s", name, describeConnErr(err))
	}
	if len(rsp.Resources) != 1 {
		return 0, fail("AlterConfigs v0 %s: %d resources in the answer", name, len(rsp.Resources))
	}
	return rsp.Resources[0].ErrorCode, nil
}

func saramaAlterConfig(bootstrap string) (string, error) {
	return withSarama(bootstrap, func(client sarama.Client, admin sarama.ClusterAdmin) (string, error) {
		topic := unique("alter-config")
		if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1,
			ConfigEntries: map[string]*string{"retention.ms": strp("3600000")}}, false); err != nil {
			return "", fail("CreateTopic: %v", err)
		}
		entries, code, err := describeV1(bootstrap, sarama.TopicResource, topic)
		if err != nil || code != 0 {
			return "", fail("describe before: error code %d %v", code, err)
		}
		if err := checkSource(entries, "retention.ms", "3600000", sarama.SourceTopic); err != nil {
			return "", err
		}
		// AlterConfigs replaces the topic's whole set.
		if err := admin.AlterConfig(sarama.TopicResource, topic, map[string]*string{
			"cleanup.policy": strp("compact"), "max.message.bytes": strp("300000")}, false); err != nil {
			return "", fail("AlterConfig (AlterConfigs v0): %s", describeConnErr(err))
		}
		entries, code, err = describeV1(bootstrap, sarama.TopicResource, topic)
		if err != nil || code != 0 {
			return "", fail("describe after: error code %d %v", code, err)
		}
		for _, c := range []struct{ k, v string }{{"cleanup.policy", "compact"}, {"max.message.bytes", "300000"}} {
			if err := checkSource(entries, c.k, c.v, sarama.SourceTopic); err != nil {
				return "", err
			}
		}
		if r := entries["retention.ms"]; r == nil || r.Source != sarama.SourceDefault {
			return "", fail("retention.ms is not in the new set but still %+v, want the default", r)
		}
		// validateOnly changes nothing.
		if err := admin.AlterConfig(sarama.TopicResource, topic, map[string]*string{"retention.ms": strp("1000")}, true); err != nil {
			return "", fail("AlterConfig validateOnly: %v", err)
		}
		entries, _, _ = describeV1(bootstrap, sarama.TopicResource, topic)
		if r := entries["retention.ms"]; r == nil || r.Source != sarama.SourceDefault {
			return "", fail("validateOnly AlterConfig changed retention.ms: %+v", r)
		}
		// Per-resource errors with Kafka's codes.
		code, err = alterRaw(bootstrap, sarama.TopicResource, topic, map[string]*string{"no.such.config": strp("1")})
		if err != nil || code != int16(sarama.ErrInvalidConfig) {
			return "", fail("AlterConfigs with an unknown config: error code %d %v, want %d (INVALID_CONFIG)", code, err, sarama.ErrInvalidConfig)
		}
		if err := admin.AlterConfig(sarama.TopicResource, topic, map[string]*string{"no.such.config": strp("1")}, false); err == nil {
			return "", fail("ClusterAdmin.AlterConfig with an unknown config returned no error (sarama needs an error message with the code)")
		}
		code, err = alterRaw(bootstrap, sarama.TopicResource, unique("missing"), map[string]*string{"retention.ms": strp("1000")})
		if err != nil || code != int16(sarama.ErrUnknownTopicOrPartition) {
			return "", fail("AlterConfigs of a missing topic: error code %d %v, want 3 (UNKNOWN_TOPIC_OR_PARTITION)", code, err)
		}
		// The broker, addressed with Kafka's BROKER type (sarama's ClusterResource), and with
		// sarama 1.22.1's BrokerResource (5 on the wire).
		broker, code, err := describeV1(bootstrap, kafkaBroker, "0")
		if err != nil || code != 0 {
			return "", fail("DescribeConfigs v1 of broker 0 (type 4): error code %d %v", code, err)
		}
		if n := broker["node.id"]; n == nil || n.Value != "0" || !n.ReadOnly {
			return "", fail("broker node.id %+v, want 0 and read-only", n)
		}
		_, code, err = describeV1(bootstrap, sarama.BrokerResource, "0")
		if err != nil || code != int16(sarama.ErrInvalidRequest) {
			return "", fail("DescribeConfigs of resource type 5 (sarama's BrokerResource): error code %d %v, want 42 (INVALID_REQUEST) as Kafka", code, err)
		}
		return fmt.Sprintf("AlterConfig replaced the set (TOPIC_CONFIG with synonyms, retention.ms back to default); validateOnly; INVALID_CONFIG and UNKNOWN_TOPIC_OR_PARTITION; broker 0 described (%d configs); type 5 INVALID_REQUEST", len(broker)), nil
	})
}

// saramaDescribeConfig uses ClusterAdmin.DescribeConfig, which sends DescribeConfigs v0.
func saramaDescribeConfig(bootstrap string) (string, error) {
	return withSarama(bootstrap, func(client sarama.Client, admin sarama.ClusterAdmin) (string, error) {
		topic := unique("describe-config")
		if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1,
			ConfigEntries: map[string]*string{"retention.ms": strp("3600000")}}, false); err != nil {
			return "", fail("CreateTopic: %v", err)
		}
		entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
		if err != nil {
			return "", fail("DescribeConfig (DescribeConfigs v0): %s", describeConnErr(err))
		}
		byName := map[string]sarama.ConfigEntry{}
		for _, e := range entries {
			byName[e.Name] = e
		}
		r, ok := byName["retention.ms"]
		if !ok || r.Value != "3600000" || r.Default || r.ReadOnly {
			return "", fail("retention.ms %+v, want 3600000, not default, not read-only", r)
		}
		s, ok := byName["segment.bytes"]
		if !ok || !s.Default {
			return "", fail("segment.bytes %+v, want the default", s)
		}
		broker, err := admin.DescribeConfig(sarama.ConfigResource{Type: kafkaBroker, Name: "0"})
		if err != nil {
			return "", fail("DescribeConfig of broker 0: %v", err)
		}
		return fmt.Sprintf("v0: topic %d configs (retention.ms set, segment.bytes default), broker 0 %d configs", len(entries), len(broker)), nil
	})
}

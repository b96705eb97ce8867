// Command compat-go runs one sarama or kafka-go scenario against a running Sluice broker.
//
//	compat-go HOST:PORT CLIENT SCENARIO
//
// On success it prints a one-line note on stdout and exits 0; on failure it prints the
// reason on stdout and exits 1. Client logs go to stderr. It is built in GOPATH mode
// against the sources Debian installs under /usr/share/gocode (see ../install.sh).
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

type scenario func(bootstrap string) (string, error)

var scenarios = map[string]map[string]scenario{
	"sarama":   saramaScenarios,
	"kafka-go": kafkaGoScenarios,
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "list" {
		for client, m := range scenarios {
			names := make([]string, 0, len(m))
			for n := range m {
				names = append(names, n)
			}
			sort.Strings(names)
			fmt.Println(client, strings.Join(names, " "))
		}
		return
	}
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: compat-go HOST:PORT CLIENT SCENARIO | compat-go list")
		os.Exit(2)
	}
	bootstrap, client, name := os.Args[1], os.Args[2], os.Args[3]
	run, ok := scenarios[client][name]
	if !ok {
		fmt.Printf("unknown scenario %s for client %s\n", name, client)
		os.Exit(2)
	}
	note, err := run(bootstrap)
	if err != nil {
		fmt.Println(oneLine(err.Error()))
		os.Exit(1)
	}
	fmt.Println(oneLine(note))
}

func oneLine(s string) string {
	return strings.NewReplacer("|", "/", "\n", " ", "\r", " ").Replace(s)
}

// unique names a topic or group so that suites can share one broker.
func unique(what string) string {
	return fmt.Sprintf("go-%s-%d-%d", what, os.Getpid(), time.Now().UnixNano())
}

func fail(format string, args ...interface{}) error {
	return fmt.Errorf(format, args...)
}

// sent is one produced record, kept to compare with what comes back.
type sent struct {
	key, value string
	seq        int
}

func makeRecords(count int) []sent {
	out := make([]sent, count)
	for i := range out {
		out[i] = sent{key: fmt.Sprintf("key-%d", i%17), value: fmt.Sprintf("value %d %s", i, strings.Repeat("x", i%50)), seq: i}
	}
	return out
}

// got is one consumed record.
type got struct {
	partition int32
	offset    int64
	key       string
	value     string
	headers   map[string]string
	timestamp time.Time
}

// checkTimestamps checks that every record carries a create time between from and to
// (with a second of slack): the producer stamps it and the broker must hand it back.
func checkTimestamps(have []got, from, to time.Time) error {
	for _, g := range have {
		if g.timestamp.Before(from.Add(-time.Second)) || g.timestamp.After(to.Add(time.Second)) {
			return fail("partition %d offset %d: timestamp %v outside the produce window %v..%v", g.partition, g.offset, g.timestamp, from, to)
		}
	}
	return nil
}

// compareRecords checks that every produced record came back once, each key from one
// partition, per key in production order, with the header "seq" matching when wantHeaders.
func compareRecords(want []sent, have []got, wantHeaders bool, origin string) error {
	if len(have) != len(want) {
		return fail("read %d records, produced %d", len(have), len(want))
	}
	partitionOfKey := map[string]int32{}
	byKey := map[string][]got{}
	for _, g := range have {
		if p, ok := partitionOfKey[g.key]; ok && p != g.partition {
			return fail("key %s found in partitions %d and %d", g.key, p, g.partition)
		}
		partitionOfKey[g.key] = g.partition
		byKey[g.key] = append(byKey[g.key], g)
	}
	next := map[string]int{}
	for _, w := range want {
		list := byKey[w.key]
		i := next[w.key]
		if i >= len(list) {
			return fail("key %s: fewer records back than sent", w.key)
		}
		next[w.key] = i + 1
		g := list[i]
		if g.value != w.value {
			return fail("key %s #%d: value %q, want %q", w.key, i, g.value, w.value)
		}
		if wantHeaders {
			if g.headers["origin"] != origin || g.headers["seq"] != fmt.Sprint(w.seq) {
				return fail("key %s #%d: headers %v, want origin=%s seq=%d", w.key, i, g.headers, origin, w.seq)
			}
			if v, ok := g.headers["empty"]; !ok || v != "" {
				return fail("key %s #%d: empty header lost (%v)", w.key, i, g.headers)
			}
		}
	}
	return nil
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/pipeline/failure"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

type result struct {
	code     int
	out, err string
}

// dlq runs the command with args against brokers; stdin is a terminal
// answering answer when answer is not "".
func dlq(t *testing.T, brokers []string, answer string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	if brokers != nil {
		args = append(args, "--brokers", strings.Join(brokers, ","))
	}
	code := run(ctx, args, console{in: strings.NewReader(answer), out: &out, err: &errb, inTTY: answer != ""})
	return result{code, out.String(), errb.String()}
}

// fakeDLQ starts a cluster with orders and orders.dlq holding three
// dead-letter records as the runtime writes them.
func fakeDLQ(t *testing.T) []string {
	t.Helper()
	c := kafkatest.NewFake(t)
	c.CreateTopic(t, "orders", 1, nil)
	c.CreateTopic(t, "orders.dlq", 1, nil)
	cl := c.Client(t, kgo.DefaultProduceTopic("orders.dlq"))
	for i, msg := range []string{"payment timeout", "bad currency", "payment timeout again"} {
		h := func(k, v string) kgo.RecordHeader { return kgo.RecordHeader{Key: k, Value: []byte(v)} }
		r := &kgo.Record{Key: []byte("o-" + string(rune('1'+i))), Value: []byte("not avro"), Headers: []kgo.RecordHeader{
			h(failure.HeaderAttempts, "2"), h(failure.HeaderErrorClass, "retryable"), h(failure.HeaderError, msg),
			h(failure.HeaderLastFailure, time.Now().Add(-time.Hour).Format(time.RFC3339Nano)),
			h(failure.HeaderOriginTopic, "orders"), h(failure.HeaderOriginPartition, "0"), h(failure.HeaderOriginOffset, "9"),
		}}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	return c.Brokers()
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"--help"}, 0, "Commands:", ""},
		{nil, 2, "", "usage: dlq <command>"},
		{[]string{"lsit"}, 2, "", `unknown command "lsit"`},
		{[]string{"list", "--help"}, 0, "$SLUICE_ERROR_CONTAINS", ""},
		{[]string{"replay", "--help"}, 0, "--from-start", ""},
		{[]string{"purge", "--help"}, 0, "--before-offset", ""},
		{[]string{"list"}, 2, "", "--topic is required"},
		{[]string{"list", "--topic", "x.dlq", "--since", "yesterday"}, 2, "", "--since"},
		{[]string{"list", "--topic", "x.dlq", "--bogus"}, 2, "", "flag provided but not defined: -bogus"},
		{[]string{"replay", "--topic", "x.dlq", "--to", "nowhere"}, 2, "", `--to "nowhere"`},
		{[]string{"purge", "--topic", "x.dlq"}, 2, "", "exactly one of --before-offset and --all"},
	} {
		r := dlq(t, nil, "", tc.args...)
		if r.code != tc.code || !strings.Contains(r.out, tc.out) || !strings.Contains(r.err, tc.err) {
			t.Errorf("dlq %v: exit %d, stdout %q, stderr %q; want exit %d, %q, %q", tc.args, r.code, r.out, r.err, tc.code, tc.out, tc.err)
		}
	}
}

func TestListAndInspect(t *testing.T) {
	brokers := fakeDLQ(t)
	r := dlq(t, brokers, "", "list", "--topic", "orders.dlq", "--error-contains", "TIMEOUT")
	if r.code != 0 || strings.Count(r.out, "retryable") != 2 || !strings.Contains(r.out, "2 of 3 records in orders.dlq matched") {
		t.Errorf("list: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = dlq(t, brokers, "", "list", "--topic", "orders.dlq", "--json")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if r.code != 0 || len(lines) != 3 || !strings.Contains(r.err, "3 of 3") {
		t.Fatalf("list --json: exit %d\n%s%s", r.code, r.out, r.err)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &obj); err != nil || obj["error"] != "payment timeout" {
		t.Errorf("first JSON line %q: %v", lines[0], err)
	}
	r = dlq(t, brokers, "", "inspect", "--topic", "orders.dlq", "--offset", "1")
	if r.code != 0 || !strings.Contains(r.out, "orders.dlq/0/1") || !strings.Contains(r.out, "not decodable") || strings.Contains(r.out, "orders.dlq/0/0") {
		t.Errorf("inspect: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = dlq(t, brokers, "", "list", "--topic", "order.dlq")
	if r.code != 1 || !strings.Contains(r.err, "dead-letter topics on this cluster: orders.dlq") {
		t.Errorf("unknown topic: exit %d, %s", r.code, r.err)
	}
}

func TestReplayAsksOrNeedsYes(t *testing.T) {
	brokers := fakeDLQ(t)
	r := dlq(t, brokers, "", "replay", "--topic", "orders.dlq")
	if r.code != 1 || !strings.Contains(r.err, "rerun with --yes") {
		t.Errorf("replay without a terminal or --yes: exit %d, %s", r.code, r.err)
	}
	r = dlq(t, brokers, "no\n", "replay", "--topic", "orders.dlq")
	if r.code != 1 || !strings.Contains(r.err, "not confirmed") {
		t.Errorf("replay answered no: exit %d, %s", r.code, r.err)
	}
	r = dlq(t, brokers, "", "replay", "--topic", "orders.dlq", "--dry-run")
	if r.code != 0 || strings.Count(r.out, "would send") != 3 || !strings.Contains(r.out, "nothing sent") {
		t.Errorf("dry run: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = dlq(t, brokers, "yes\n", "replay", "--topic", "orders.dlq")
	if r.code != 0 || !strings.Contains(r.out, "replayed 3 of 3 records examined; to orders 3") {
		t.Errorf("replay: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = dlq(t, brokers, "", "replay", "--topic", "orders.dlq", "--yes")
	if r.code != 0 || !strings.Contains(r.out, "nothing to replay") {
		t.Errorf("second replay: exit %d\n%s%s", r.code, r.out, r.err)
	}
}

func TestPurgeConfirmsWithTheTopicName(t *testing.T) {
	brokers := fakeDLQ(t)
	r := dlq(t, brokers, "", "purge", "--topic", "orders.dlq", "--all")
	if r.code != 1 || !strings.Contains(r.err, "stdin is not a terminal") {
		t.Errorf("purge without a terminal: exit %d, %s", r.code, r.err)
	}
	r = dlq(t, brokers, "orders\n", "purge", "--topic", "orders.dlq", "--before-offset", "0:2")
	if r.code != 1 || !strings.Contains(r.err, "not confirmed") || !strings.Contains(r.err, "offsets 0 to 1 (2 records)") {
		t.Errorf("purge with a wrong answer: exit %d, %s", r.code, r.err)
	}
	r = dlq(t, brokers, "orders.dlq\n", "purge", "--topic", "orders.dlq", "--before-offset", "0:2")
	if r.code != 0 || !strings.Contains(r.out, "partition 0: deleted offsets 0 to 1; it now starts at 2") {
		t.Errorf("purge: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = dlq(t, brokers, "", "list", "--topic", "orders.dlq")
	if !strings.Contains(r.out, "1 of 1 records") {
		t.Errorf("after the purge: %s", r.out)
	}
	r = dlq(t, brokers, "", "purge", "--topic", "orders.dlq", "--before-offset", "0:9", "--yes")
	if r.code != 1 || !strings.Contains(r.err, "past its end") {
		t.Errorf("purge past the end: exit %d, %s", r.code, r.err)
	}
}

// TestReplaySummarySaysHowManyEarlierReplaysCameBack replays, lets one
// replayed record come back to the DLQ as the runtime writes it, and
// replays again: the second run leaves it out and says so, and
// --include-refailed sends it.
func TestReplaySummarySaysHowManyEarlierReplaysCameBack(t *testing.T) {
	c := kafkatest.NewFake(t)
	c.CreateTopic(t, "orders", 1, nil)
	c.CreateTopic(t, "orders.dlq", 1, nil)
	brokers := c.Brokers()
	h := func(k, v string) kgo.RecordHeader { return kgo.RecordHeader{Key: k, Value: []byte(v)} }
	cl := c.Client(t, kgo.DefaultProduceTopic("orders.dlq"))
	produce := func(key string, extra ...kgo.RecordHeader) {
		t.Helper()
		hs := append([]kgo.RecordHeader{h(failure.HeaderAttempts, "3"), h(failure.HeaderErrorClass, "permanent"), h(failure.HeaderError, "rejected"),
			h(failure.HeaderOriginTopic, "orders"), h(failure.HeaderOriginPartition, "0"), h(failure.HeaderOriginOffset, "1")}, extra...)
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Key: []byte(key), Value: []byte("v"), Headers: hs}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce("o-1")
	produce("o-2")
	if r := dlq(t, brokers, "", "replay", "--topic", "orders.dlq", "--yes"); r.code != 0 || !strings.Contains(r.out, "replayed 2 of 2 records examined") {
		t.Fatalf("first replay: exit %d\n%s%s", r.code, r.out, r.err)
	}
	// o-1 failed again after its replay: the runtime keeps the replay
	// headers on the new dead letter.
	produce("o-1", h(failure.HeaderReplayed, "orders.dlq/0/0"), h(failure.HeaderReplays, "1"), h(failure.HeaderReplayAttempts, "3"))
	produce("o-3")

	r := dlq(t, brokers, "", "replay", "--topic", "orders.dlq", "--yes")
	if r.code != 0 || !strings.Contains(r.out, "replayed 1 of 2 records examined (1 earlier replay came back (failed again) and left out") ||
		!strings.Contains(r.out, "--include-refailed") {
		t.Errorf("second replay: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = dlq(t, brokers, "", "replay", "--topic", "orders.dlq", "--yes", "--include-refailed", "--from-start")
	if r.code != 0 || !strings.Contains(r.out, "replayed 4 of 4 records examined (1 earlier replay that came back (failed again), sent again by --include-refailed)") {
		t.Errorf("replay with --include-refailed: exit %d\n%s%s", r.code, r.out, r.err)
	}
}

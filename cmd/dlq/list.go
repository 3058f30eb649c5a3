package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/deadletter"
	"github.com/sluice-dev/sluice/internal/runner"
)

const listSynopsis = `usage: dlq list --topic <dlq topic> [filters] [--json]

Prints one line per dead-letter record: partition/offset, age (since it was
dead-lettered), attempts, error class, key, origin (topic/partition/offset)
and the first line of the error; then how many matched.

It reads from the start of the topic to the end offsets seen when it
starts, then stops. No consumer group, nothing committed.

With --json it prints one JSON object per record (JSON Lines) and the count
on stderr. Fields: topic, partition, offset, timestamp, dead_lettered_at,
age_seconds, key (text, or null when not UTF-8), key_base64, header_format
(sluice, connect or none), attempts, error_class, error, first_failure,
last_failure, origin {topic, partition, offset, timestamp}, processor, due,
parked, replayed_from, replays (0: never replayed). Missing values are null
or "".`

const inspectSynopsis = `usage: dlq inspect --topic <dlq topic> [filters] [--json] [--format F | --registry-url URL]

Prints everything about each matching dead-letter record: when it was
dead-lettered, the error class and message, attempts, first and last
failure, origin, processor, every header as stored, the key, and the value
decoded from Avro as JSON (either wire format) or, when it does not decode,
its size, bytes and why.

  dlq inspect --topic orders.dlq --partition 0 --offset 42
  dlq inspect --topic orders.dlq --key order-123 --json | jq .value.decoded

It reads like list (start to the end seen at start, no group). With --json,
each object has list's fields plus headers [{key, value, value_base64}] and
value {null, size, schema, decoded} or {null, size, error, base64}.`

func runList(ctx context.Context, args []string, con console) error {
	return read(ctx, args, con, "list", listSynopsis)
}

func runInspect(ctx context.Context, args []string, con console) error {
	return read(ctx, args, con, "inspect", inspectSynopsis)
}

// read runs list or inspect: the same flags and reading, printed in short
// or in full.
func read(ctx context.Context, args []string, con console, name, synopsis string) error {
	fs := flag.NewFlagSet("dlq "+name, flag.ContinueOnError)
	var c common
	var ff filterFlags
	var asJSON bool
	var format, registryURL string
	c.register(fs)
	ff.register(fs, "stop after this many matching records (0: no limit)")
	fs.BoolVar(&asJSON, "json", false, "print JSON Lines (one object per record, stable field names) instead of text")
	if name == "inspect" {
		fs.StringVar(&format, "format", "single-object", "Avro wire format the payloads were written in; both decode either way, but confluent needs --registry-url")
		fs.StringVar(&registryURL, "registry-url", "", "Confluent Schema Registry URL, to decode confluent-framed payloads")
	}
	if err := parse(fs, &c, args, con, synopsis); err != nil {
		return err
	}
	now := time.Now()
	f, err := ff.filter(now)
	if err != nil {
		return err
	}
	var decode deadletter.Decoder
	if name == "inspect" {
		serde, err := runner.Serde(format, registryURL)
		if err != nil {
			return usageError{err}
		}
		decode = func(ctx context.Context, b []byte) (string, map[string]any, error) {
			sc, v, err := serde.DecodeAny(ctx, b)
			if err != nil {
				return "", nil, err
			}
			return sc.String(), v, nil
		}
	}
	q, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer q.Close()

	lw := deadletter.NewListWriter(con.out, now)
	show := func(r *deadletter.Record) error {
		switch {
		case asJSON && name == "inspect":
			return deadletter.WriteJSON(con.out, deadletter.DetailJSON(ctx, r, decode, now))
		case asJSON:
			return deadletter.WriteJSON(con.out, deadletter.SummaryJSON(r, now))
		case name == "inspect":
			return deadletter.WriteDetail(ctx, con.out, r, decode, now)
		}
		return lw.Write(r)
	}
	st, err := q.Read(ctx, f, show)
	if ferr := lw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	count := fmt.Sprintf("%d of %d records in %s matched", st.Matched, st.Examined, c.topic)
	if st.Limited {
		count += fmt.Sprintf(" (stopped at --limit %d; more may match)", f.Limit)
	}
	if asJSON {
		fmt.Fprintln(con.err, count)
	} else {
		fmt.Fprintln(con.out, count)
	}
	return nil
}

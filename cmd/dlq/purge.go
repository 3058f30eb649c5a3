package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-dev/sluice/deadletter"
)

const purgeSynopsis = `usage: dlq purge --topic <dlq topic> (--before-offset P:O[,P:O...] | --all) [--yes]

Deletes dead-letter records for good (Kafka DeleteRecords): in partition P,
every record before offset O; with --all, every record there now. Records
written after the purge starts are kept. The partitions' start offsets move
forward; Kafka frees the disk space when it next deletes log segments.

Every partition and offset is checked before anything is deleted (an
unknown partition or an offset past the end deletes nothing). On a terminal
it shows what will go and asks you to type the topic name; without a
terminal it refuses unless --yes is given.

  dlq list --topic orders.dlq                  # find the offsets
  dlq purge --topic orders.dlq --before-offset 0:120,1:98
  dlq purge --topic orders.dlq --all --yes`

func runPurge(ctx context.Context, args []string, con console, c *common) error {
	fs := flag.NewFlagSet("dlq purge", flag.ContinueOnError)
	var beforeFlag string
	var all, yes bool
	c.register(fs)
	fs.StringVar(&beforeFlag, "before-offset", "", "PARTITION:OFFSET[,...]: delete the records before OFFSET in PARTITION")
	fs.BoolVar(&all, "all", false, "delete every record the topic holds now")
	fs.BoolVar(&yes, "yes", false, "do not ask for confirmation (needed when stdin is not a terminal)")
	if err := parse(fs, c, args, con, purgeSynopsis); err != nil {
		return err
	}
	var before map[int32]int64
	switch {
	case all == (beforeFlag != ""):
		return usageError{fmt.Errorf("give exactly one of --before-offset and --all")}
	case beforeFlag != "":
		var err error
		if before, err = deadletter.ParsePartitionOffsets(beforeFlag); err != nil {
			return usageError{fmt.Errorf("--before-offset: %w", err)}
		}
	}
	q, err := c.open(ctx, kmsg.ACLOperationDelete)
	if err != nil {
		return err
	}
	defer q.Close()

	offs, err := q.Offsets(ctx)
	if err != nil {
		return err
	}
	if all {
		before = map[int32]int64{}
		for _, po := range offs {
			before[po.Partition] = po.End
		}
	}
	var plan []string
	var total int64
	for _, po := range offs {
		o, ok := before[po.Partition]
		if !ok || o <= po.Start || o > po.End {
			continue // Purge reports offsets past the end
		}
		line := fmt.Sprintf("  partition %d: offsets %d to %d (%d records)", po.Partition, po.Start, o-1, o-po.Start)
		if po.Replayed >= 0 && po.Replayed < o {
			line += fmt.Sprintf(", of which %d not examined by a replay yet", o-max(po.Replayed, po.Start))
		}
		plan = append(plan, line)
		total += o - po.Start
	}
	if len(plan) == 0 {
		if _, err := q.Purge(ctx, before); err != nil {
			return err
		}
		fmt.Fprintf(con.out, "nothing to delete: %s holds no records before those offsets\n", c.topic)
		return nil
	}
	if !yes {
		question := fmt.Sprintf("This deletes %d records of %s for good:\n%s\nType the topic name to confirm: ", total, c.topic, strings.Join(plan, "\n"))
		if err := confirm(con, "purge "+c.topic, question, c.topic); err != nil {
			return err
		}
	}
	done, err := q.Purge(ctx, before)
	for _, p := range done {
		fmt.Fprintf(con.out, "partition %d: deleted offsets %d to %d; it now starts at %d\n", p.Partition, p.From, p.To-1, p.To)
	}
	return err
}

package deadletter

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-dev/sluice/pipeline/kafkaconn"
)

// Purged is one partition after [Queue.Purge].
type Purged struct {
	Partition int32
	// From and To are the partition's start offset before and after: the
	// records at From..To-1 were deleted.
	From, To int64
}

// Purge deletes, in each partition of before, every record before the
// given offset (DeleteRecords: the partition's start offset moves there;
// Kafka frees the space when it next deletes segments). An offset at or
// before the partition's start deletes nothing. It checks every partition
// and offset first and deletes nothing when one is wrong: an unknown
// partition, or an offset past the partition's end.
func (q *Queue) Purge(ctx context.Context, before map[int32]int64) ([]Purged, error) {
	offs, err := q.Offsets(ctx)
	if err != nil {
		return nil, err
	}
	byPart := map[int32]PartitionOffsets{}
	for _, po := range offs {
		byPart[po.Partition] = po
	}
	var problems []string
	req := kadm.Offsets{}
	var out []Purged
	for _, p := range slices.Sorted(maps.Keys(before)) {
		o := before[p]
		po, ok := byPart[p]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("partition %d does not exist (%s has %d partitions)", p, q.topic, len(q.partitions)))
		case o > po.End:
			problems = append(problems, fmt.Sprintf("partition %d: offset %d is past its end (%d)", p, o, po.End))
		case o > po.Start:
			req.AddOffset(q.topic, p, o, -1)
			out = append(out, Purged{Partition: p, From: po.Start, To: o})
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("purge %s: nothing deleted: %s", q.topic, strings.Join(problems, "; "))
	}
	if len(out) == 0 {
		return nil, nil
	}
	resp, err := q.adm.DeleteRecords(ctx, req)
	if err != nil {
		return nil, kafkaconn.WithOperation(kafkaconn.ResourceTopic, kmsg.ACLOperationDelete, kafkaconn.Named(kafkaconn.ResourceTopic, q.topic, fmt.Errorf("delete records of %s: %w", q.topic, err)))
	}
	var done []Purged
	var errs []error
	for _, pg := range out {
		r, ok := resp.Lookup(q.topic, pg.Partition)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("delete records of %s/%d: no answer from the broker", q.topic, pg.Partition))
		case r.Err != nil:
			errs = append(errs, kafkaconn.WithOperation(kafkaconn.ResourceTopic, kmsg.ACLOperationDelete, kafkaconn.Named(kafkaconn.ResourceTopic, q.topic, fmt.Errorf("delete records of %s/%d before offset %d: %w", q.topic, pg.Partition, pg.To, r.Err))))
		default:
			pg.To = r.LowWatermark
			done = append(done, pg)
		}
	}
	return done, errors.Join(errs...)
}

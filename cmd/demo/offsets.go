package main

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluice-dev/sluice/processors/chain"
)

// stageOffsets compares a processor group's committed offsets with the end
// offsets of its input topic.
type stageOffsets struct {
	group, topic   string
	committed, end int64 // summed over the partitions
	lag            int64 // summed end - committed; a partition never committed counts from 0
	equal          bool  // committed == end on every partition
}

// checkOffsets fetches the end offsets of the pipeline's topics (kadm
// ListEndOffsets) and every stage's committed offsets (kadm FetchOffsets),
// and compares them.
func checkOffsets(ctx context.Context, adm *kadm.Client) ([]stageOffsets, kadm.ListedOffsets, error) {
	ends, err := adm.ListEndOffsets(ctx, tallyTopics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list end offsets: %w", err)
	}
	out := make([]stageOffsets, len(stages))
	for i, s := range stages {
		group, input := s.Name, chain.Topics{}.Of(s.Input)
		committed, err := adm.FetchOffsets(ctx, group)
		if err == nil {
			err = committed.Error()
		}
		if err != nil {
			return nil, nil, fmt.Errorf("fetch committed offsets of group %s: %w", group, err)
		}
		so := stageOffsets{group: group, topic: input, equal: true}
		ends.Each(func(e kadm.ListedOffset) {
			if e.Topic != input {
				return
			}
			var at int64
			if c, ok := committed.Lookup(e.Topic, e.Partition); ok && c.At > 0 {
				at = c.At
			}
			so.committed += at
			so.end += e.Offset
			so.lag += max(e.Offset-at, 0)
			so.equal = so.equal && at == e.Offset
		})
		out[i] = so
	}
	return out, ends, nil
}

// totalLag is the records the processors have yet to finish and commit.
func totalLag(stages []stageOffsets) int64 {
	var n int64
	for _, s := range stages {
		n += s.lag
	}
	return n
}

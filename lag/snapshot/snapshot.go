// Package snapshot reads, through Kafka's admin API, everything the lag
// monitor needs at one moment: the watched consumer groups with their
// members, assignments and committed offsets, and the end offset of every
// topic. It computes nothing; lag is the monitor's job.
package snapshot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-dev/sluice/pipeline/kafkaconn"
)

// Snapshot is the state of the cluster's groups and topics at Time.
type Snapshot struct {
	Time time.Time
	// Groups are the watched groups that exist, by name.
	Groups map[string]Group
	// Ends are the log end offsets of every non-internal topic, by topic
	// and partition.
	Ends map[string]map[int32]int64
}

// Group is one consumer group.
type Group struct {
	Name  string
	State string // Stable, Empty, PreparingRebalance, CompletingRebalance, ...
	// Members are the active members, sorted by client ID then member ID.
	Members []Member
	// Committed are the committed offsets (the next offset to read) by
	// topic and partition; partitions without a commit are absent.
	Committed map[string]map[int32]int64
}

// Member is an active member of a group.
type Member struct {
	ID       string
	ClientID string
	Host     string
	// Assigned are its partitions by topic, sorted.
	Assigned map[string][]int32
}

// Reader takes snapshots. It is safe for concurrent use (each Read is
// independent).
type Reader struct {
	adm    *kadm.Client
	groups []string
}

// Option configures a Reader.
type Option func(*Reader)

// Groups limits the watched groups to these names. By default (or with no
// names) every consumer group of the cluster is watched, including those
// created after the reader.
func Groups(names ...string) Option {
	return func(r *Reader) { r.groups = slices.Clone(names) }
}

// NewReader returns a reader using adm.
func NewReader(adm *kadm.Client, opts ...Option) *Reader {
	r := &Reader{adm: adm}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Read takes a snapshot. Groups that do not exist (Dead, with no committed
// offsets) are left out, so a deleted group disappears. An error means
// nothing usable was read; a group that could not be described or whose
// offsets could not be fetched is left out and reported in the joined
// error together with the snapshot of the others.
func (r *Reader) Read(ctx context.Context) (Snapshot, error) {
	s := Snapshot{Time: time.Now(), Groups: map[string]Group{}, Ends: map[string]map[int32]int64{}}
	names := r.groups
	if len(names) == 0 {
		listed, err := r.adm.ListGroups(ctx)
		if err != nil {
			return s, fmt.Errorf("list groups: %w", err)
		}
		for _, g := range listed.Sorted() {
			if g.ProtocolType == "consumer" || g.ProtocolType == "" {
				names = append(names, g.Group)
			}
		}
	}
	var errs []error
	if len(names) > 0 {
		described, err := r.adm.DescribeGroups(ctx, names...)
		if err != nil && len(described) == 0 {
			if len(names) == 1 {
				err = describeDenied(names[0], err)
			}
			return s, fmt.Errorf("describe groups: %w", err)
		}
		fetched := r.adm.FetchManyOffsets(ctx, names...)
		for _, name := range names {
			d, ok := described[name]
			if errors.Is(d.Err, kerr.GroupIDNotFound) {
				continue // Kafka 4's group coordinator: a group that does not exist
			}
			if !ok || d.Err != nil {
				errs = append(errs, fmt.Errorf("describe group %s: %w", name, describeDenied(name, cmpErr(d.Err, errors.New("no answer")))))
				continue
			}
			f := fetched[name]
			if f.Err != nil {
				errs = append(errs, fmt.Errorf("fetch offsets of group %s: %w", name, describeDenied(name, f.Err)))
				continue
			}
			g := group(d, f.Fetched)
			if g.State == "Dead" && len(g.Committed) == 0 {
				continue
			}
			s.Groups[name] = g
		}
	}
	ends, err := r.adm.ListEndOffsets(ctx)
	if err != nil && len(ends) == 0 {
		return s, fmt.Errorf("list end offsets: %w", err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Partition < 0 || strings.HasPrefix(o.Topic, "__") {
			return
		}
		if s.Ends[o.Topic] == nil {
			s.Ends[o.Topic] = map[int32]int64{}
		}
		s.Ends[o.Topic][o.Partition] = o.Offset
	})
	return s, errors.Join(errs...)
}

func group(d kadm.DescribedGroup, offsets kadm.OffsetResponses) Group {
	g := Group{Name: d.Group, State: d.State, Committed: map[string]map[int32]int64{}}
	for _, m := range d.Members {
		mem := Member{ID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost, Assigned: map[string][]int32{}}
		if c, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range c.Topics {
				ps := slices.Clone(t.Partitions)
				slices.Sort(ps)
				mem.Assigned[t.Topic] = ps
			}
		}
		g.Members = append(g.Members, mem)
	}
	slices.SortFunc(g.Members, func(a, b Member) int {
		return strings.Compare(a.ClientID+"\x00"+a.ID, b.ClientID+"\x00"+b.ID)
	})
	offsets.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil || o.At < 0 {
			return
		}
		if g.Committed[o.Topic] == nil {
			g.Committed[o.Topic] = map[int32]int64{}
		}
		g.Committed[o.Topic][o.Partition] = o.At
	})
	return g
}

// describeDenied names group in a GROUP_AUTHORIZATION_FAILED and says
// that DESCRIBE, all the monitor needs, is what is missing.
func describeDenied(group string, err error) error {
	return kafkaconn.WithOperation(kafkaconn.ResourceGroup, kmsg.ACLOperationDescribe, kafkaconn.Named(kafkaconn.ResourceGroup, group, err))
}

func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

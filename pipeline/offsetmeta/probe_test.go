//go:build probe

// Probes of what franz-go and a real Kafka do with commit metadata,
// transactions and static membership: the facts offsetmeta's design and the
// runtime's exactly-once and precise-resume work rest on (NOTES.md). Not part
// of CI (several take most of a minute); run them with
//
//	DOCKER_HOST=unix:///run/podman/podman.sock go test -tags probe -run Probe -v ./pipeline/offsetmeta/
package offsetmeta_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-dev/sluice/pipeline/kafkatest"
	"github.com/sluice-dev/sluice/pipeline/offsetmeta"
)

func TestMain(m *testing.M) { kafkatest.Main(m) }

func kafka(t *testing.T) *kafkatest.Kafka { return kafkatest.Shared(t) }

// TestProbeBrokerLimit: offset.metadata.max.bytes is counted in characters
// per partition; a longer one fails that partition alone with
// OFFSET_METADATA_TOO_LARGE.
func TestProbeBrokerLimit(t *testing.T) {
	k := kafka(t)
	k.CreateTopic(t, "limit", 2, nil)
	adm := kadm.NewClient(k.Client(t))
	ctx := context.Background()

	fits := offsetmeta.Prefix + strings.Repeat("A", offsetmeta.DefaultMaxLen-len(offsetmeta.Prefix))
	commit := func(meta0, meta1 string) kadm.OffsetResponses {
		var os kadm.Offsets
		os.Add(kadm.Offset{Topic: "limit", Partition: 0, At: 1, LeaderEpoch: -1, Metadata: meta0})
		os.Add(kadm.Offset{Topic: "limit", Partition: 1, At: 1, LeaderEpoch: -1, Metadata: meta1})
		rs, err := adm.CommitOffsets(ctx, "limit-group", os)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	if err := commit(fits, "sl1:BAA").Error(); err != nil {
		t.Fatalf("%d characters of metadata refused: %v", len(fits), err)
	}
	rs := commit(fits+"A", "sl1:CAA")
	if err := rs.Sorted()[0].Err; !errors.Is(err, kerr.OffsetMetadataTooLarge) {
		t.Fatalf("%d characters on p0: %v, want OFFSET_METADATA_TOO_LARGE", len(fits)+1, err)
	}
	if err := rs.Sorted()[1].Err; err != nil {
		t.Fatalf("p1 of the same commit: %v, want it committed", err)
	}
	// 4096 two-byte characters: 8192 bytes of UTF-8, accepted: the limit
	// counts characters.
	wide := strings.Repeat("é", offsetmeta.DefaultMaxLen)
	if err := commit(wide, "sl1:DAA").Error(); err != nil {
		t.Fatalf("4096 'é' (%d bytes) refused: %v", len(wide), err)
	}
	fetched, err := adm.FetchOffsets(ctx, "limit-group")
	if err != nil {
		t.Fatal(err)
	}
	if got := fetched.Sorted(); got[0].Metadata != wide || got[1].Metadata != "sl1:DAA" {
		t.Fatalf("fetched metadata %q… and %q, want what was committed", got[0].Metadata[:8], got[1].Metadata)
	}
}

// TestProbeCommitMetadata: CommitOffsetsSync honours PreCommitFnContext;
// OnOffsetsFetched shows the next owner the metadata.
func TestProbeCommitMetadata(t *testing.T) {
	k := kafka(t)
	k.CreateTopic(t, "plain", 1, nil)
	produce(t, k, "plain", 10)
	cl := k.Client(t, kgo.ConsumerGroup("plain-group"), kgo.ConsumeTopics("plain"), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	recs := pollN(t, cl, 10)
	meta, _ := offsetmeta.Encode(3, []int64{5, 6, 9})
	ctx := kgo.PreCommitFnContext(context.Background(), func(req *kmsg.OffsetCommitRequest) error {
		for i := range req.Topics {
			for j := range req.Topics[i].Partitions {
				if m := *req.Topics[i].Partitions[j].Metadata; m != req.MemberID {
					t.Errorf("franz-go's default metadata %q, want the member ID %q", m, req.MemberID)
				}
				req.Topics[i].Partitions[j].Metadata = &meta
			}
		}
		return nil
	})
	var commitErr error
	cl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{"plain": {0: {Epoch: recs[3].LeaderEpoch, Offset: 3}}},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			commitErr = err
			if err == nil {
				commitErr = kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
			}
		})
	if commitErr != nil {
		t.Fatal(commitErr)
	}
	cl.Close()

	seen := make(chan string, 1)
	next := k.Client(t, kgo.ConsumerGroup("plain-group"), kgo.ConsumeTopics("plain"), kgo.DisableAutoCommit(),
		kgo.OnOffsetsFetched(func(_ context.Context, _ *kgo.Client, resp *kmsg.OffsetFetchResponse) error {
			for _, g := range resp.Groups {
				for _, tp := range g.Topics {
					for _, p := range tp.Partitions {
						if p.Metadata != nil {
							seen <- fmt.Sprintf("offset %d metadata %q", p.Offset, *p.Metadata)
						}
					}
				}
			}
			return nil
		}))
	first := pollN(t, next, 1)
	if got, want := <-seen, fmt.Sprintf("offset 3 metadata %q", meta); got != want || first[0].Offset != 3 {
		t.Fatalf("next owner's OnOffsetsFetched saw %s and polled %d first, want %s and 3", got, first[0].Offset, want)
	}
}

// TestProbeTransactMetadata: GroupTransactSession.End honours
// PreTxnCommitFnContext, which can set both the offset (not the polled
// position End would commit) and the metadata; metadata over the limit
// aborts the transaction.
func TestProbeTransactMetadata(t *testing.T) {
	k := kafka(t)
	k.CreateTopic(t, "txin", 1, nil)
	k.CreateTopic(t, "txout", 1, nil)
	produce(t, k, "txin", 10)
	s, err := kgo.NewGroupTransactSession(kgo.SeedBrokers(k.Brokers()...), kgo.TransactionalID("probe-tx"),
		kgo.ConsumerGroup("tx-group"), kgo.ConsumeTopics("txin"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var recs []*kgo.Record
	for len(recs) < 10 {
		recs = append(recs, s.PollFetches(context.Background()).Records()...)
	}
	end := func(offset int64, meta string, out string) (bool, error) {
		if err := s.Begin(); err != nil {
			t.Fatal(err)
		}
		if err := s.ProduceSync(context.Background(), &kgo.Record{Topic: "txout", Value: []byte(out)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		ctx := kgo.PreTxnCommitFnContext(context.Background(), func(req *kmsg.TxnOffsetCommitRequest) error {
			for i := range req.Topics {
				for j := range req.Topics[i].Partitions {
					p := &req.Topics[i].Partitions[j]
					// End commits the polled position, with the member ID
					// as metadata, and KIP-447's member and generation.
					if p.Offset != 10 || *p.Metadata != req.MemberID || req.MemberID == "" || req.Generation < 1 {
						t.Errorf("End would commit offset %d, metadata %q, member %q, generation %d", p.Offset, *p.Metadata, req.MemberID, req.Generation)
					}
					p.Offset = offset
					p.Metadata = &meta
				}
			}
			return nil
		})
		return s.End(ctx, kgo.TryCommit)
	}
	meta, _ := offsetmeta.Encode(4, []int64{6, 7})
	if committed, err := end(4, meta, "first"); !committed || err != nil {
		t.Fatalf("End: committed %v, %v", committed, err)
	}
	tooLong := offsetmeta.Prefix + strings.Repeat("A", offsetmeta.DefaultMaxLen)
	if committed, err := end(5, tooLong, "second"); committed || !errors.Is(err, kerr.OffsetMetadataTooLarge) {
		t.Fatalf("End with %d characters of metadata: committed %v, %v; want an abort and OFFSET_METADATA_TOO_LARGE", len(tooLong), committed, err)
	}

	adm := kadm.NewClient(k.Client(t))
	fetched, err := adm.FetchOffsets(context.Background(), "tx-group")
	if err != nil {
		t.Fatal(err)
	}
	if got := fetched.Sorted()[0]; got.At != 4 || got.Metadata != meta {
		t.Fatalf("committed offset %d metadata %q, want 4 and %q", got.At, got.Metadata, meta)
	}
	if got := readCommitted(t, k, "txout"); !slices.Equal(got, []string{"first"}) {
		t.Fatalf("read_committed txout: %q, want only the committed transaction's record", got)
	}
	// The abort rewound the session to the committed offset.
	if o := s.PollFetches(context.Background()).Records()[0].Offset; o != 4 {
		t.Fatalf("after the abort the session polls %d first, want the committed 4", o)
	}
}

// TestProbeStaticMembership: a restart with the same instance ID after a
// SIGKILL, and a second live instance with it, in the classic protocol (what
// franz-go speaks unless ServerSideBalancer is set) and in KIP-848.
func TestProbeStaticMembership(t *testing.T) {
	k := kafka(t)
	t.Run("classic", func(t *testing.T) {
		topic, group := "static-classic", "static-group-classic"
		k.CreateTopic(t, topic, 2, nil)
		killed := killedMember(t, k, topic, group, false)
		m := newMember(t, k.Brokers(), topic, group, "pod-0", false)
		select {
		case <-m.assigned:
			t.Logf("restart after SIGKILL: assigned %s after the kill", time.Since(killed).Round(10*time.Millisecond))
		case <-time.After(5 * time.Second):
			t.Fatalf("restart after SIGKILL: nothing assigned in 5 s; errors %v", m.errs())
		}
		// A second live instance takes the ID over; the first is fenced,
		// and told so in every poll, for good: its rejoins carry its old
		// member ID, which the broker refuses.
		m2 := newMember(t, k.Brokers(), topic, group, "pod-0", false)
		<-m2.assigned
		waitFor(t, 10*time.Second, func() bool { return m.has(kerr.FencedInstanceID) })
		time.Sleep(5 * time.Second) // a probe: nothing must reach the newer one meanwhile
		if len(m2.errs()) > 0 {
			t.Fatalf("the newer instance got errors %v", m2.errs())
		}
	})
	t.Run("kip848", func(t *testing.T) {
		topic, group := "static-848", "static-group-848"
		k.CreateTopic(t, topic, 2, nil)
		killed := killedMember(t, k, topic, group, true)
		m := newMember(t, k.Brokers(), topic, group, "pod-0", true)
		// The dead member holds the ID until its session (45 s) expires.
		waitFor(t, 10*time.Second, func() bool { return m.has(kerr.UnreleasedInstanceID) })
		select {
		case <-m.assigned:
			t.Fatalf("restart after SIGKILL assigned within 20 s: KIP-848 released the instance")
		case <-time.After(time.Until(killed.Add(20 * time.Second))):
		}
		select {
		case <-m.assigned:
			t.Logf("restart after SIGKILL: assigned %s after the kill", time.Since(killed).Round(100*time.Millisecond))
		case <-time.After(60 * time.Second):
			t.Fatalf("restart after SIGKILL: nothing assigned in 60 s")
		}
		// A second live instance is refused; the first keeps the ID.
		m2 := newMember(t, k.Brokers(), topic, group, "pod-0", true)
		waitFor(t, 10*time.Second, func() bool { return m2.has(kerr.UnreleasedInstanceID) })
		if m2.isAssigned() || m.has(kerr.FencedInstanceID) {
			t.Fatalf("second instance assigned %v; first fenced %v", m2.isAssigned(), m.has(kerr.FencedInstanceID))
		}
	})
}

// killedMember runs a member with instance ID pod-0 in a child process until
// it is assigned, SIGKILLs it, and returns when.
func killedMember(t *testing.T, k *kafkatest.Kafka, topic, group string, use848 bool) time.Time {
	child := exec.Command(os.Args[0], "-test.run=^TestProbeChildMember$", "-test.v")
	child.Env = append(os.Environ(), "PROBE_BROKERS="+strings.Join(k.Brokers(), ","), "PROBE_TOPIC="+topic,
		"PROBE_GROUP="+group, "PROBE_INSTANCE=pod-0", fmt.Sprintf("PROBE_848=%v", use848))
	out, _ := child.StdoutPipe()
	child.Stderr = child.Stdout
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() && !strings.Contains(sc.Text(), "ASSIGNED") {
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	return time.Now()
}

// TestProbeChildMember is the member that TestProbeStaticMembership kills.
func TestProbeChildMember(t *testing.T) {
	if os.Getenv("PROBE_BROKERS") == "" {
		t.Skip("run by TestProbeStaticMembership")
	}
	m := newMember(t, strings.Split(os.Getenv("PROBE_BROKERS"), ","), os.Getenv("PROBE_TOPIC"), os.Getenv("PROBE_GROUP"),
		os.Getenv("PROBE_INSTANCE"), os.Getenv("PROBE_848") == "true")
	<-m.assigned
	fmt.Println("ASSIGNED")
	select {}
}

type member struct {
	cl       *kgo.Client
	assigned chan struct{}
	once     sync.Once
	mu       sync.Mutex
	seen     []error
	got      bool
}

func newMember(t *testing.T, brokers []string, topic, group, instance string, use848 bool) *member {
	m := &member{assigned: make(chan struct{})}
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.InstanceID(instance), kgo.Balancers(kgo.CooperativeStickyBalancer()), kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			if len(a) > 0 {
				m.mu.Lock()
				m.got = true
				m.mu.Unlock()
				m.once.Do(func() { close(m.assigned) })
			}
		}),
	}
	if use848 {
		opts = append(opts, kgo.ServerSideBalancer())
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	m.cl = cl
	t.Cleanup(cl.Close)
	go func() {
		for {
			fs := cl.PollFetches(context.Background())
			if fs.IsClientClosed() {
				return
			}
			fs.EachError(func(topic string, p int32, err error) {
				m.mu.Lock()
				m.seen = append(m.seen, fmt.Errorf("%q/%d: %w (ErrGroupSession: %v)", topic, p, err, errors.As(err, new(*kgo.ErrGroupSession))))
				m.mu.Unlock()
			})
		}
	}()
	return m
}

func (m *member) errs() []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]error(nil), m.seen...)
}

func (m *member) has(code error) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, err := range m.seen {
		if errors.Is(err, code) {
			return true
		}
	}
	return false
}

func (m *member) isAssigned() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.got
}

func produce(t *testing.T, k *kafkatest.Kafka, topic string, n int) {
	cl := k.Client(t)
	for i := range n {
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

func pollN(t *testing.T, cl *kgo.Client, n int) []*kgo.Record {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("polled %d of %d records", len(recs), n)
		}
		recs = append(recs, fs.Records()...)
	}
	return recs
}

// TestProbeZombie: a transactional instance frozen (SIGSTOP) past its
// session timeout while another takes over ends its transaction once
// resumed, and nothing of it becomes visible; until its transaction times
// out, it holds read_committed readers of its output back. A new client with
// the same transactional ID fences an old one at once.
func TestProbeZombie(t *testing.T) {
	k := kafka(t)
	k.CreateTopic(t, "zin", 1, nil)
	k.CreateTopic(t, "zout", 1, nil)
	produce(t, k, "zin", 5)

	child := exec.Command(os.Args[0], "-test.run=^TestProbeChildZombie$", "-test.v")
	child.Env = append(os.Environ(), "PROBE_BROKERS="+strings.Join(k.Brokers(), ","))
	in, _ := child.StdinPipe()
	out, _ := child.StdoutPipe()
	child.Stderr = child.Stdout
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	lines := bufio.NewScanner(out)
	waitLine := func(prefix string) string {
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), prefix) {
				return lines.Text()
			}
		}
		t.Fatalf("child ended before %q", prefix)
		return ""
	}
	waitLine("READY")
	if err := child.Process.Signal(syscallStop); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()

	s, err := kgo.NewGroupTransactSession(kgo.SeedBrokers(k.Brokers()...), kgo.TransactionalID("zombie-b"),
		kgo.ConsumerGroup("zombie-group"), kgo.ConsumeTopics("zin"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(6*time.Second), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var recs []*kgo.Record
	for len(recs) < 5 {
		recs = append(recs, s.PollFetches(context.Background()).Records()...)
	}
	t.Logf("taker-over polled from offset %d, %s after the freeze", recs[0].Offset, time.Since(frozen).Round(100*time.Millisecond))
	if err := s.Begin(); err != nil {
		t.Fatal(err)
	}
	if err := s.ProduceSync(context.Background(), &kgo.Record{Topic: "zout", Value: []byte("taker-over")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if committed, err := s.End(context.Background(), kgo.TryCommit); !committed || err != nil {
		t.Fatalf("taker-over End: committed %v, %v", committed, err)
	}
	rc := k.Client(t, kgo.ConsumeTopics("zout"), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	first := rc.PollFetches(ctx).Records()
	cancel()
	stall := time.Since(frozen)
	t.Logf("read_committed zout shows the taker-over's record %s after the freeze", stall.Round(100*time.Millisecond))
	if len(first) != 1 || stall < 30*time.Second {
		t.Fatalf("read_committed gave %d records %s after the freeze; want one, after the zombie's transaction timed out (40 s)", len(first), stall)
	}

	if err := child.Process.Signal(syscallCont); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(in, "END")
	if got := waitLine("END"); !strings.Contains(got, "committed false") {
		t.Fatalf("zombie: %s", got)
	} else {
		t.Logf("zombie: %s", got)
	}
	if outs := readCommitted(t, k, "zout"); !slices.Equal(outs, []string{"taker-over"}) {
		t.Fatalf("read_committed zout: %q, want the taker-over's record alone", outs)
	}
	fetched, _ := kadm.NewClient(k.Client(t)).FetchOffsets(context.Background(), "zombie-group")
	if got := fetched.Sorted()[0].At; got != 5 {
		t.Fatalf("committed offset %d, want the taker-over's 5", got)
	}

	// Same transactional ID: the newer client's InitProducerID aborts the
	// older one's open transaction and fences it.
	old := k.Client(t, kgo.TransactionalID("same"))
	if err := old.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := old.ProduceSync(context.Background(), &kgo.Record{Topic: "zout", Value: []byte("old")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	newer := k.Client(t, kgo.TransactionalID("same"))
	if err := newer.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := newer.ProduceSync(context.Background(), &kgo.Record{Topic: "zout", Value: []byte("newer")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := newer.EndTransaction(context.Background(), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	if err := old.ProduceSync(context.Background(), &kgo.Record{Topic: "zout", Value: []byte("old2")}).FirstErr(); !errors.Is(err, kerr.InvalidProducerEpoch) && !errors.Is(err, kerr.ProducerFenced) {
		t.Fatalf("fenced producer's produce: %v, want INVALID_PRODUCER_EPOCH or PRODUCER_FENCED", err)
	}
	t.Logf("fenced producer's EndTransaction: %v", old.EndTransaction(context.Background(), kgo.TryCommit))
	if got := readCommitted(t, k, "zout"); !slices.Equal(got, []string{"taker-over", "newer"}) {
		t.Fatalf("read_committed zout: %q", got)
	}
}

// TestProbeChildZombie is the instance TestProbeZombie freezes.
func TestProbeChildZombie(t *testing.T) {
	if os.Getenv("PROBE_BROKERS") == "" {
		t.Skip("run by TestProbeZombie")
	}
	s, err := kgo.NewGroupTransactSession(kgo.SeedBrokers(strings.Split(os.Getenv("PROBE_BROKERS"), ",")...),
		kgo.TransactionalID("zombie-a"), kgo.ConsumerGroup("zombie-group"), kgo.ConsumeTopics("zin"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.SessionTimeout(6*time.Second),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for n < 5 {
		n += len(s.PollFetches(context.Background()).Records())
	}
	if err := s.Begin(); err != nil {
		t.Fatal(err)
	}
	if err := s.ProduceSync(context.Background(), &kgo.Record{Topic: "zout", Value: []byte("zombie")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("READY")
	bufio.NewScanner(os.Stdin).Scan()
	committed, err := s.End(context.Background(), kgo.TryCommit)
	fmt.Printf("END committed %v err %v\n", committed, err)
	select {}
}

// readCommitted returns the values in topic that a read_committed consumer
// sees within a few seconds.
func readCommitted(t *testing.T, k *kafkatest.Kafka, topic string) []string {
	rc := k.Client(t, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var outs []string
	for ctx.Err() == nil {
		for _, r := range rc.PollFetches(ctx).Records() {
			outs = append(outs, string(r.Value))
		}
	}
	return outs
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

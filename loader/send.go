package loader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ProducerOptions returns the franz-go options the loader produces with,
// to add to the connection's:
//
//   - idempotent writes with acks=all (franz-go's default, stated here so it
//     cannot drift): a retried batch is never written twice;
//   - compression with codec (none, gzip, snappy, lz4 or zstd);
//   - 10ms linger and up to 1 MB per batch, so batches fill up;
//   - a buffer of 256 MiB or 1 M records, so Send never waits for acks
//     while the broker keeps up;
//   - a delivery timeout, so a broker gone for good fails the records
//     (and the load says how far it got) instead of retrying forever.
func ProducerOptions(codec string, deliveryTimeout time.Duration) ([]kgo.Opt, error) {
	c, err := ParseCompression(codec)
	if err != nil {
		return nil, err
	}
	return []kgo.Opt{
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(c),
		kgo.ProducerLinger(10 * time.Millisecond),
		kgo.ProducerBatchMaxBytes(1 << 20),
		kgo.MaxBufferedBytes(256 << 20),
		kgo.MaxBufferedRecords(1 << 20),
		kgo.RecordDeliveryTimeout(deliveryTimeout),
	}, nil
}

// ParseCompression parses a compression codec name.
func ParseCompression(name string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(name) {
	case "none", "":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("unknown compression %q: want none, gzip, snappy, lz4 or zstd", name)
}

// Sender produces the records of a Source to one topic and counts what the
// broker acknowledged.
//
// Send's goroutine owns the loop state (pacer, last position); the
// producer's callbacks, on franz-go's goroutines, only touch the atomic
// counters and, under mu, the first failure. Snapshot may be called from
// any goroutine.
type Sender struct {
	client *kgo.Client
	topic  string
	clock  Clock
	rate   float64

	sent, acked, failed, bytes, poison atomic.Int64

	mu          sync.Mutex
	firstFailed Position // of the earliest record (in source order) that failed
	firstSeq    int64    // its sequence number, 0 for none
	firstErr    error
}

// SenderOption configures NewSender.
type SenderOption func(*Sender)

// Rate paces sending at perSecond records a second, evenly spaced; a stall
// is made up for afterwards so the average holds. Default 0: as fast as the
// broker takes them.
func Rate(perSecond float64) SenderOption { return func(s *Sender) { s.rate = perSecond } }

// WithClock sets the clock pacing and timing use. Default WallClock.
func WithClock(c Clock) SenderOption { return func(s *Sender) { s.clock = c } }

// NewSender returns a Sender producing to topic with client, which should
// have been built with ProducerOptions.
func NewSender(client *kgo.Client, topic string, opts ...SenderOption) *Sender {
	s := &Sender{client: client, topic: topic, clock: WallClock{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// posKey keys a record's sentPos in its Context.
type posKey struct{}

// sentPos is where a record came from and its place in the send order.
type sentPos struct {
	seq int64
	pos Position
}

// Snapshot is a point-in-time view of a running Send.
type Snapshot struct {
	Sent   int64 // records handed to the producer
	Acked  int64 // records the broker acknowledged
	Failed int64 // records the producer gave up on
	Bytes  int64 // key and value bytes sent
	Poison int64 // deliberately bad records sent (generator)
}

// Snapshot returns the counters so far.
func (s *Sender) Snapshot() Snapshot {
	return Snapshot{Sent: s.sent.Load(), Acked: s.acked.Load(), Failed: s.failed.Load(), Bytes: s.bytes.Load(), Poison: s.poison.Load()}
}

// Summary is how a Send ended.
type Summary struct {
	Snapshot
	Elapsed time.Duration
	// Interrupted is set when ctx ended the load before the source did.
	Interrupted bool
	// Err is the first failure: a source error (unreadable file, invalid
	// row the source would not skip) or the first record the producer
	// could not deliver.
	Err error
	// Resume, when the load stopped early, is the position of the first
	// record not known to be in Kafka: every record of the source before it
	// was acknowledged (a few after it may have been too, if one failed).
	// It is nil when nothing was sent or the source had no positions.
	Resume *Position
}

// Rate is the records acknowledged per second.
func (s Summary) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Acked) / s.Elapsed.Seconds()
}

// Send produces every record of src until it ends, ctx ends (Interrupted)
// or a record fails, and in every case waits for the records already handed
// to the producer before it returns: records in flight when ctx ends are
// still delivered, never cancelled.
func (s *Sender) Send(ctx context.Context, src Source) Summary {
	stop, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	promise := func(rec *kgo.Record, err error) {
		if err == nil {
			s.acked.Add(1)
			return
		}
		s.failed.Add(1)
		var at sentPos
		if rec.Context != nil {
			at, _ = rec.Context.Value(posKey{}).(sentPos)
		}
		s.mu.Lock()
		if s.firstErr == nil || (at.seq != 0 && at.seq < s.firstSeq) {
			s.firstSeq, s.firstFailed, s.firstErr = at.seq, at.pos, err
		}
		s.mu.Unlock()
		cancel(err)
	}
	p := pacer{clock: s.clock, rate: s.rate}
	start := s.clock.Now()
	var last Position
	var seq int64
	var srcErr error
	ended := false
	for {
		if stop.Err() != nil {
			break
		}
		if err := p.wait(stop); err != nil {
			break
		}
		r, err := src.Next(stop)
		if errors.Is(err, io.EOF) {
			ended = true
			break
		}
		if err != nil {
			if stop.Err() == nil {
				srcErr = err
			}
			break
		}
		seq++
		s.sent.Add(1)
		s.bytes.Add(int64(len(r.Key) + len(r.Value)))
		if r.Poison {
			s.poison.Add(1)
		}
		// Not ctx: a record handed over is delivered even after Ctrl-C.
		// The position rides in the record's Context, so that one promise
		// serves every record (no closure allocated per record).
		rec := &kgo.Record{Topic: s.topic, Key: r.Key, Value: r.Value}
		if r.Pos.File != "" {
			rec.Context = context.WithValue(context.Background(), posKey{}, sentPos{seq, r.Pos})
		}
		s.client.Produce(context.Background(), rec, promise)
		last = r.Pos
	}
	flushErr := s.client.Flush(context.Background())

	sum := Summary{Snapshot: s.Snapshot(), Elapsed: s.clock.Now().Sub(start)}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.firstErr != nil:
		sum.Err = fmt.Errorf("produce to %s: %w", s.topic, s.firstErr)
		if s.firstFailed.File != "" {
			sum.Resume = &s.firstFailed
		}
	case srcErr != nil:
		sum.Err = srcErr
	case flushErr != nil:
		sum.Err = fmt.Errorf("flush: %w", flushErr)
	}
	sum.Interrupted = !ended && ctx.Err() != nil
	if sum.Resume == nil && (sum.Err != nil || sum.Interrupted) && last.File != "" {
		sum.Resume = &Position{Input: last.Input, File: last.File, Line: last.Line + 1}
	}
	return sum
}

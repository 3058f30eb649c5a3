package kafkatest

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Shared returns a cluster of [NewKafka] that every test of the package
// calling Shared with the same options gets, started by the first of them.
// It saves the start-up of a cluster per test (5 s for one node, 20 s for
// three) where tests can share one safely: each uses its own topic and
// group names and none stops or kills a node.
//
// The cluster outlives the test that started it, so the package's TestMain
// must end with [Main], which removes it:
//
//	func TestMain(m *testing.M) { kafkatest.Main(m) }
//
// If the cluster cannot start, Shared fails the calling test, and every
// later call fails its test with the same error.
func Shared(t testing.TB, opts ...Option) *Kafka {
	t.Helper()
	key := fmt.Sprintf("%+v", newConfig(opts))
	shared.mu.Lock()
	defer shared.mu.Unlock()
	s := shared.clusters[key]
	if s == nil {
		s = &sharedCluster{}
		if shared.clusters == nil {
			shared.clusters = make(map[string]*sharedCluster)
		}
		shared.clusters[key] = s
		s.k, s.err = startShared(t, s, opts)
	}
	if s.err != nil {
		t.Fatalf("kafkatest: shared cluster: %v", s.err)
	}
	return s.k
}

// Main runs the package's tests and then removes the clusters [Shared]
// started, and exits with the tests' status. In a child started by
// [NewFakeProcess] it serves the broker instead.
func Main(m *testing.M) {
	if nodes := os.Getenv(fakeProcessEnv); nodes != "" {
		serveFakeProcess(nodes)
	}
	code := m.Run()
	shared.mu.Lock()
	for _, s := range shared.clusters {
		s.tb.cleanup()
	}
	shared.mu.Unlock()
	os.Exit(code)
}

var shared struct {
	mu       sync.Mutex
	clusters map[string]*sharedCluster
}

type sharedCluster struct {
	k   *Kafka
	err error
	tb  *lastingTB
}

// startShared runs NewKafka with a lastingTB, so that the cleanups it
// registers run in Main instead of at the end of the first test, and turns
// its Fatalf into an error.
func startShared(t testing.TB, s *sharedCluster, opts []Option) (k *Kafka, err error) {
	s.tb = &lastingTB{name: t.Name()}
	defer func() {
		if v := recover(); v != nil {
			f, ok := v.(lastingFatal)
			if !ok {
				panic(v)
			}
			s.tb.cleanup()
			k, err = nil, f
		}
	}()
	return NewKafka(s.tb, opts...), nil
}

// lastingTB is the testing.TB that a shared cluster is started with: it
// keeps cleanups for Main, logs to stdout and turns Fatalf into a panic
// that startShared recovers. It implements the methods NewKafka and its
// cleanups call; the embedded nil TB makes any other method panic, which a
// test of this package would catch.
type lastingTB struct {
	testing.TB
	name     string
	mu       sync.Mutex
	cleanups []func()
	failed   bool
}

type lastingFatal string

func (e lastingFatal) Error() string { return string(e) }

func (l *lastingTB) Helper()      {}
func (l *lastingTB) Name() string { return l.name + "/shared" }
func (l *lastingTB) Failed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}
func (l *lastingTB) Log(args ...any) { l.Logf("%s", strings.TrimSuffix(fmt.Sprintln(args...), "\n")) }
func (l *lastingTB) Logf(format string, args ...any) {
	fmt.Printf("    %s: %s\n", l.Name(), fmt.Sprintf(format, args...))
}
func (l *lastingTB) Errorf(format string, args ...any) {
	l.mu.Lock()
	l.failed = true
	l.mu.Unlock()
	l.Logf(format, args...)
}
func (l *lastingTB) Fatalf(format string, args ...any) {
	l.Errorf(format, args...)
	panic(lastingFatal(fmt.Sprintf(format, args...)))
}
func (l *lastingTB) Cleanup(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cleanups = append(l.cleanups, f)
}

// cleanup runs the registered cleanups, last first, like testing does.
func (l *lastingTB) cleanup() {
	l.mu.Lock()
	fs := slices.Clone(l.cleanups)
	l.cleanups = nil
	l.mu.Unlock()
	for _, f := range slices.Backward(fs) {
		f()
	}
}

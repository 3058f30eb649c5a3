package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/schemas"
)

// fakeClock is a settable now.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestHealth(limit time.Duration) (*health, *fakeClock, *[]error) {
	clock := &fakeClock{t: time.Unix(1_000_000, 0)}
	var gaveUp []error
	h := newHealth("validate", limit, func(err error) { gaveUp = append(gaveUp, err) }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h.now = clock.now
	h.start()
	return h, clock, &gaveUp
}

const heartbeatKey = 12

func TestHealthGivesUpOnARefusalThatLasts(t *testing.T) {
	h, clock, gaveUp := newTestHealth(time.Minute)
	denied := fmt.Errorf("join: %w", kerr.GroupAuthorizationFailed)

	h.OnGroupManageError(denied)
	if why := h.ready(); why == nil || !strings.Contains(why.Error(), `not authorized on group "validate"`) {
		t.Fatalf("after a refused join: reason %v; want not ready naming the group", why)
	}
	clock.advance(59 * time.Second)
	h.OnGroupManageError(denied)
	if len(*gaveUp) != 0 {
		t.Fatalf("gave up after 59s of a 1m wait: %v", *gaveUp)
	}
	clock.advance(time.Second)
	h.OnGroupManageError(denied)
	if len(*gaveUp) != 1 || !errors.Is((*gaveUp)[0], kerr.GroupAuthorizationFailed) || !strings.Contains((*gaveUp)[0].Error(), "refused the processor for 1m0s") {
		t.Fatalf("after a minute of refusals gave up with %v, want one error saying so", *gaveUp)
	}
	h.OnGroupManageError(denied)
	if len(*gaveUp) != 1 {
		t.Fatalf("gave up %d times, want once", len(*gaveUp))
	}
}

func TestHealthHeartbeatEndsTheStreak(t *testing.T) {
	h, clock, gaveUp := newTestHealth(time.Minute)
	denied := kerr.GroupAuthorizationFailed
	h.OnGroupManageError(denied)
	clock.advance(50 * time.Second)
	h.OnBrokerRead(kgo.BrokerMetadata{}, heartbeatKey, 10, 0, 0, nil)
	if why := h.ready(); why != nil {
		t.Fatalf("an answered heartbeat left it unready: %v", why)
	}
	// A new refusal starts a new streak: 50s + 50s is not a minute of it.
	h.OnGroupManageError(denied)
	clock.advance(50 * time.Second)
	h.OnGroupManageError(denied)
	if len(*gaveUp) != 0 {
		t.Fatalf("gave up across an answered heartbeat: %v", *gaveUp)
	}
	// A failed read of a heartbeat, or another request, proves nothing.
	h.OnBrokerRead(kgo.BrokerMetadata{}, heartbeatKey, 0, 0, 0, errors.New("EOF"))
	h.OnBrokerRead(kgo.BrokerMetadata{}, 3, 10, 0, 0, nil)
	if h.ready() == nil {
		t.Fatal("ready without an answered heartbeat")
	}
}

func TestHealthNeverGivesUpOnAnUnreachableBroker(t *testing.T) {
	h, clock, gaveUp := newTestHealth(time.Minute)
	down := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for range 10 {
		h.OnGroupManageError(down)
		clock.advance(time.Minute)
	}
	if len(*gaveUp) != 0 {
		t.Fatalf("gave up on an unreachable broker: %v", *gaveUp)
	}
	if why := h.ready(); why == nil || !strings.Contains(why.Error(), "cannot reach Kafka") {
		t.Fatalf("reason %v; want unready, unreachable", why)
	}
	// The refusal's clock starts when refusals start, not with the outage.
	h.OnGroupManageError(kerr.SaslAuthenticationFailed)
	clock.advance(30 * time.Second)
	h.OnGroupManageError(kerr.SaslAuthenticationFailed)
	if len(*gaveUp) != 0 {
		t.Fatalf("counted the outage into the refusal: %v", *gaveUp)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func passthrough() Spec {
	return Spec{
		Name: "echo", Inputs: []string{"in"},
		Handler: func(*schemas.Serde) (pipeline.Handler, error) {
			return func(context.Context, *pipeline.Record) ([]pipeline.Output, error) { return nil, nil }, nil
		},
	}
}

// aclCluster is kfake with ACLs: user "app" may do anything with topics
// and, when groupACL, read group "echo".
func aclCluster(t *testing.T, groupACL bool) []string {
	t.Helper()
	acls := []kfake.ACL{
		{Resource: kmsg.ACLResourceTypeTopic, Name: "*", Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: kmsg.ACLOperationAll, Allow: true},
		{Resource: kmsg.ACLResourceTypeCluster, Name: "kafka-cluster", Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: kmsg.ACLOperationAll, Allow: true},
	}
	if groupACL {
		acls = append(acls, kfake.ACL{Resource: kmsg.ACLResourceTypeGroup, Name: "echo", Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: kmsg.ACLOperationRead, Allow: true})
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser("PLAIN", "admin", "admin-pass"),
		kfake.User("PLAIN", "app", "app-pass", acls...),
		kfake.SeedTopics(1, "in"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func readyz(addr string) (int, string) {
	res, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestProcessorDeniedItsGroupIsUnreadyThenExits: Kafka accepts the user
// and its topics but not the consumer group. The processor must say so on
// /readyz and exit 1 with the reason after --kafka-wait, not stay "ready"
// while logging GROUP_AUTHORIZATION_FAILED forever.
func TestProcessorDeniedItsGroupIsUnreadyThenExits(t *testing.T) {
	brokers := aclCluster(t, false)
	metrics := freeAddr(t)
	var out syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(passthrough(), []string{
			"--brokers", strings.Join(brokers, ","), "--sasl-mechanism", "PLAIN", "--sasl-user", "app", "--sasl-password", "app-pass",
			"--metrics-addr", metrics, "--kafka-wait", "3s", "--retry-delays", "",
		}, &out)
	}()
	sawUnready := false
	for !sawUnready {
		select {
		case code := <-done:
			t.Fatalf("exited %d before /readyz reported the group refusal:\n%s", code, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		code, body := readyz(metrics)
		sawUnready = code == http.StatusServiceUnavailable && strings.Contains(body, `not authorized on group "echo"`)
	}
	select {
	case code := <-done:
		if code != 1 {
			t.Fatalf("exit %d, want 1:\n%s", code, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30s into a 3s --kafka-wait of group refusals:\n%s", out.String())
	}
	for _, want := range []string{"refused the processor", `not authorized on group \"echo\"`, `grant this principal READ on group \"echo\"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "app-pass") {
		t.Fatalf("the password is in the output:\n%s", out.String())
	}
}

// TestProcessorWithItsGroupIsReady is the control: the same cluster with
// the group ACL gives a ready processor.
func TestProcessorWithItsGroupIsReady(t *testing.T) {
	brokers := aclCluster(t, true)
	metrics := freeAddr(t)
	var out syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(passthrough(), []string{
			"--brokers", strings.Join(brokers, ","), "--sasl-mechanism", "PLAIN", "--sasl-user", "app", "--sasl-password", "app-pass",
			"--metrics-addr", metrics, "--kafka-wait", "3s", "--retry-delays", "",
		}, &out)
	}()
	deadline := time.After(20 * time.Second)
	for {
		if code, body := readyz(metrics); code == http.StatusOK && strings.Contains(body, "ready") {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("exited %d:\n%s", code, out.String())
		case <-deadline:
			t.Fatalf("not ready within 20s:\n%s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	// Still running (and ready) after --kafka-wait has passed.
	select {
	case code := <-done:
		t.Fatalf("exited %d with its group allowed:\n%s", code, out.String())
	case <-time.After(4 * time.Second):
	}
	if code, body := readyz(metrics); code != http.StatusOK {
		t.Fatalf("/readyz %d %q after 4s, want 200", code, body)
	}
}

func TestStartWaitNamesTheRefusal(t *testing.T) {
	brokers := aclCluster(t, true)
	cases := []struct {
		args  []string
		words []string
	}{
		{[]string{"--sasl-password", "wr0ng-pa55"}, []string{"gave up waiting for Kafka after 2s"}}, // kfake drops the connection where Kafka would say why
		{[]string{"--sasl-password", "app-pass", "--input", "nowhere"}, []string{`topic \"nowhere\" does not exist`}},
	}
	for _, c := range cases {
		var out syncBuffer
		args := append([]string{"--brokers", strings.Join(brokers, ","), "--sasl-mechanism", "PLAIN", "--sasl-user", "app",
			"--metrics-addr", "", "--kafka-wait", "2s", "--retry-delays", ""}, c.args...)
		if code := Main(passthrough(), args, &out); code != 1 {
			t.Errorf("%v: exit %d, want 1:\n%s", c.args, code, out.String())
		}
		for _, w := range c.words {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: output lacks %q:\n%s", c.args, w, out.String())
			}
		}
		if strings.Contains(out.String(), "wr0ng-pa55") || strings.Contains(out.String(), "app-pass") {
			t.Errorf("%v: a password is in the output:\n%s", c.args, out.String())
		}
	}
}

func TestConnectionFlagErrorsExitTwo(t *testing.T) {
	var out bytes.Buffer
	if code := Main(passthrough(), []string{"--tls-cert", "c.pem", "--metrics-addr", ""}, &out); code != 2 {
		t.Fatalf("--tls-cert without --tls-key: exit %d, want 2:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "--tls-key") {
		t.Fatalf("output does not name --tls-key:\n%s", out.String())
	}
}

//go:build integration

package integration_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluice-dev/sluice/deadletter"
	"github.com/sluice-dev/sluice/integration/orderchain"
	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

// secured is the state of the secured scenario: one Kafka with SCRAM,
// mutual TLS and ACLs, the order chain's topics on it, and a user per
// binary with exactly the ACLs the README's "Secured clusters" section
// lists for it.
type secured struct {
	k      *kafkatest.Kafka
	sec    *kafkatest.Security
	chain  *orderchain.Chain
	bin    string
	dir    string
	outs   *outputs
	pass   map[string]string // SCRAM user → password
	keys   [][]byte          // client key PEMs written to files
	dlq    string            // validate's dead-letter topic
	scoreC string            // score's client certificate file
	scoreK string            // and key
}

func (s *secured) binary(name string) string { return filepath.Join(s.bin, name) }

// sasl returns the flags and environment that connect as user over
// SASL_SSL (SCRAM-SHA-512), the password in the environment.
func (s *secured) sasl(user string) (args, env []string) {
	return []string{"--brokers", strings.Join(s.sec.SASLBrokers, ","), "--tls-ca", s.sec.CAFile,
		"--sasl-mechanism", "SCRAM-SHA-512", "--sasl-user", user}, []string{"SLUICE_SASL_PASSWORD=" + s.pass[user]}
}

// saslFile is sasl with the password in a file (--sasl-password-file).
func (s *secured) saslFile(t *testing.T, user string) []string {
	file := kafkatest.WriteFile(t, s.dir, user+".password", []byte(s.pass[user]+"\n"))
	return []string{"--brokers", strings.Join(s.sec.SASLBrokers, ","), "--tls-ca", s.sec.CAFile,
		"--sasl-mechanism", "SCRAM-SHA-512", "--sasl-user", user, "--sasl-password-file", file}
}

// addUser creates a SCRAM user with a random password and grants it acls.
func (s *secured) addUser(t *testing.T, user string, acls ...*kadm.ACLBuilder) {
	t.Helper()
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	s.pass[user] = "pw-" + user + "-" + hex.EncodeToString(b)
	s.k.AddUser(t, user, s.pass[user])
	s.grant(t, "User:"+user, acls...)
}

func (s *secured) grant(t *testing.T, principal string, acls ...*kadm.ACLBuilder) {
	t.Helper()
	if len(acls) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, a := range acls {
		a.Allow(principal)
		results, err := kadm.NewClient(s.k.Client(t)).CreateACLs(ctx, a)
		if err == nil {
			for _, r := range results {
				if r.Err != nil {
					err = r.Err
				}
			}
		}
		if err != nil {
			t.Fatalf("create ACLs for %s: %v", principal, err)
		}
	}
}

// The ACLs of each binary, as the README's "Secured clusters" section
// lists them (DESCRIBE is implied by READ, WRITE and DELETE).

func topics(names ...string) *kadm.ACLBuilder { return kadm.NewACLs().Topics(names...) }
func prefixed(b *kadm.ACLBuilder) *kadm.ACLBuilder {
	return b.ResourcePatternType(kadm.ACLPatternPrefixed)
}

// processorACLs: READ on the input; READ, WRITE and CREATE on its retry
// tiers (prefix <input>.retry.); WRITE and CREATE on its dead-letter
// topic; WRITE on the outputs; READ on the group (none when group is "").
func processorACLs(input, group string, outputs ...string) []*kadm.ACLBuilder {
	acls := []*kadm.ACLBuilder{
		topics(input).Operations(kadm.OpRead),
		prefixed(topics(input+".retry.")).Operations(kadm.OpRead, kadm.OpWrite, kadm.OpCreate),
		topics(input+".dlq").Operations(kadm.OpWrite, kadm.OpCreate),
		topics(outputs...).Operations(kadm.OpWrite),
	}
	if group != "" {
		acls = append(acls, kadm.NewACLs().Groups(group).Operations(kadm.OpRead))
	}
	return acls
}

// dlqACLs: list and inspect READ the dead-letter topic; replay WRITEs the
// origin topics, READs its progress group and WRITEs (and DESCRIBEs) its
// transactional ID, both named sluice-dlq-replay.<dlq>; purge DELETEs in
// the dead-letter topic and DESCRIBEs the progress group.
func dlqACLs(dlq string, origins ...string) []*kadm.ACLBuilder {
	id := deadletter.ProgressGroup(dlq)
	return []*kadm.ACLBuilder{
		topics(dlq).Operations(kadm.OpRead, kadm.OpDelete),
		topics(origins...).Operations(kadm.OpWrite),
		kadm.NewACLs().Groups(id).Operations(kadm.OpRead),
		kadm.NewACLs().TransactionalIDs(id).Operations(kadm.OpWrite, kadm.OpDescribe),
	}
}

// lagmonACLs: DESCRIBE on the groups and topics it watches, and on the
// cluster to list every group.
func lagmonACLs(groupPrefix, topicPrefix string) []*kadm.ACLBuilder {
	return []*kadm.ACLBuilder{
		prefixed(kadm.NewACLs().Groups(groupPrefix)).Operations(kadm.OpDescribe),
		prefixed(topics(topicPrefix)).Operations(kadm.OpDescribe),
		kadm.NewACLs().Clusters().Operations(kadm.OpDescribe),
	}
}

// TestIntegrationSecuredCluster runs the order chain (validate, score,
// decide, status), the loader, dlq and lagmon against one Kafka that
// authenticates (SCRAM-SHA-512 over TLS; score with a client certificate)
// and authorizes (StandardAuthorizer) every client, each binary as its
// own principal with exactly the ACLs the README lists, and checks that
// they work; then every failure case of issue 14: exit status and the
// words that say what is wrong and what fixes it; then that no password
// or key shows in anything any of them wrote or served.
func TestIntegrationSecuredCluster(t *testing.T) {
	s := &secured{k: kafkatest.NewKafka(t, kafkatest.Secured()), bin: buildBinaries(t), dir: t.TempDir(), outs: &outputs{}, pass: map[string]string{}}
	s.sec = s.k.Security()
	s.pass[s.sec.Admin] = s.sec.AdminPassword
	s.chain = orderchain.New(t, s.k, "sec", orderchain.Partitions(3))
	c, tp := s.chain, s.chain.Topics
	s.dlq = tp.Placed + ".dlq"
	groups := map[orderchain.Stage]string{}
	for _, st := range orderchain.Stages {
		groups[st] = c.Group(st)
	}

	s.addUser(t, "validate", processorACLs(tp.Placed, groups[orderchain.Validate], tp.Validated, tp.Decided, tp.Status)...)
	s.grant(t, "User:score", processorACLs(tp.Validated, groups[orderchain.Score], tp.Scored, tp.Status)...) // mutual TLS: CN=score
	s.addUser(t, "decide", processorACLs(tp.Scored, groups[orderchain.Decide], tp.Decided, tp.Status)...)
	// decide once more, exactly-once, in a group of its own: with the
	// README's transactional-ID ACL and without.
	eo := processorACLs(tp.Scored, "sec-decide-eo", tp.Decided, tp.Status)
	s.addUser(t, "decide-eo", append(eo, prefixed(kadm.NewACLs().TransactionalIDs("sluice-sec-decide-eo-")).Operations(kadm.OpWrite, kadm.OpDescribe))...)
	s.addUser(t, "decide-notxn", processorACLs(tp.Scored, "sec-decide-notxn", tp.Decided, tp.Status)...)
	s.addUser(t, "status", topics(tp.Status).Operations(kadm.OpRead))
	s.addUser(t, "loader", topics(tp.Placed).Operations(kadm.OpWrite))
	s.addUser(t, "dlq", dlqACLs(s.dlq, tp.Placed)...)
	s.addUser(t, "lagmon", lagmonACLs("sec-", "sec.")...)
	// For the failure cases: no ACL at all; validate's topics without its
	// group; the dead-letter topic's READ and progress DESCRIBE only.
	s.addUser(t, "nobody")
	s.addUser(t, "nogroup", processorACLs(tp.Placed, "", tp.Validated, tp.Decided, tp.Status)...)
	// validate's group and outputs without READ on its input; and with its
	// input but without its retry and dead-letter topics.
	s.addUser(t, "noinput", kadm.NewACLs().Groups("sec-validate-noinput").Operations(kadm.OpRead),
		prefixed(topics(tp.Placed+".retry.")).Operations(kadm.OpRead, kadm.OpWrite, kadm.OpCreate),
		topics(tp.Placed+".dlq").Operations(kadm.OpWrite, kadm.OpCreate),
		topics(tp.Validated, tp.Decided, tp.Status).Operations(kadm.OpWrite))
	s.addUser(t, "noretry", topics(tp.Placed).Operations(kadm.OpRead),
		kadm.NewACLs().Groups("sec-validate-noretry").Operations(kadm.OpRead),
		topics(tp.Validated, tp.Decided, tp.Status).Operations(kadm.OpWrite))
	s.addUser(t, "dlqreader", topics(s.dlq).Operations(kadm.OpRead), kadm.NewACLs().Groups(deadletter.ProgressGroup(s.dlq)).Operations(kadm.OpDescribe))
	scoreKeys := s.sec.CA.Issue(t, "score")
	s.keys = append(s.keys, scoreKeys.KeyPEM)
	s.scoreC, s.scoreK = scoreKeys.WriteFiles(t, s.dir, "score")

	t.Run("chain", s.chainWorks)
	t.Run("failures", s.failures)
	t.Run("no secret in any output", s.noSecrets)
}

// chainWorks starts the chain and status as their principals, loads orders
// and poison, and checks every order's outcome, the status view, lagmon's
// table and a dead-letter list, replay and purge.
func (s *secured) chainWorks(t *testing.T) {
	c, tp := s.chain, s.chain.Topics
	col := c.Collect(t)
	common := func(st orderchain.Stage, metrics string) []string {
		return []string{"--group", c.Group(st), "--input", c.Input(st), "--client-id", "sec-" + string(st), "--instance-id", "sec-" + string(st),
			"--metrics-addr", metrics, "--log-level", "debug", "--commit-interval", "500ms"}
	}
	var procs []*proc
	addr := freeAddr(t)
	p := start(t, s.outs, "validate", s.binary("validate"), nil, append(append(s.saslFile(t, "validate"), common(orderchain.Validate, addr)...),
		"--validated-topic", tp.Validated, "--decided-topic", tp.Decided, "--status-topic", tp.Status)...)
	p.metrics = addr
	procs = append(procs, p)

	addr = freeAddr(t)
	p = start(t, s.outs, "score", s.binary("score"), nil, append([]string{
		"--brokers", strings.Join(s.sec.TLSBrokers, ","), "--tls-ca", s.sec.CAFile, "--tls-cert", s.scoreC, "--tls-key", s.scoreK,
		"--scored-topic", tp.Scored, "--status-topic", tp.Status, "--model-trees", "300"}, common(orderchain.Score, addr)...)...)
	p.metrics = addr
	procs = append(procs, p)

	addr = freeAddr(t)
	args, env := s.sasl("decide")
	p = start(t, s.outs, "decide", s.binary("decide"), env, append(append(args, common(orderchain.Decide, addr)...),
		"--decided-topic", tp.Decided, "--status-topic", tp.Status)...)
	p.metrics = addr
	procs = append(procs, p)

	addr = freeAddr(t)
	args, env = s.sasl("status")
	statusProc := start(t, s.outs, "status", s.binary("status"), env, append(args, "--status-topic", tp.Status, "--listen", addr,
		"--metrics-addr", freeAddr(t), "--log-level", "debug")...)
	statusProc.metrics = addr

	for _, p := range procs {
		waitHTTP(t, s.outs, p, "/readyz", 2*time.Minute, func(code int, body string) bool { return code == http.StatusOK })
	}

	const n = 2000
	const seed = 14
	sent := orderchain.NewSent()
	c.Expect(sent, orderchain.Orders(seed, n))
	started := time.Now()
	r := runOnce(t, s.outs, s.binary("loader"), nil, 2*time.Minute, append(s.saslFile(t, "loader"),
		"--topic", tp.Placed, "--count", fmt.Sprint(n), "--seed", fmt.Sprint(seed), "--log-level", "debug", "--progress-interval", "0")...)
	if r.code != 0 {
		t.Fatalf("loader exited %d:\n%s", r.code, r.output)
	}
	// Poison: records that are not OrderPlaced, which validate
	// dead-letters at once.
	r = runOnce(t, s.outs, s.binary("loader"), nil, 2*time.Minute, append(s.saslFile(t, "loader"),
		"--topic", tp.Placed, "--count", "20", "--seed", "99", "--poison-rate", "1", "--progress-interval", "0")...)
	if r.code != 0 {
		t.Fatalf("poison loader exited %d:\n%s", r.code, r.output)
	}

	c.WaitSettled(t, col, 3*time.Minute)
	f, _ := c.Verify(t, sent, col, started)
	orderchain.Report(t, "secured-chain", f)
	for _, p := range procs {
		if code, done := p.exited(); done {
			t.Fatalf("%s exited %d during the run:\n%s", p.name, code, tail(p.out.String(), 30))
		}
		get(s.outs, p.metrics, "/metrics") // kept for the secrets check
	}
	requireWords(t, "validate at --log-level debug", procs[0].out.String(), "kafka client: opening connection to broker")

	// status serves the outcome of an order.
	order := orderchain.Orders(seed, 1)[0]
	body := waitHTTP(t, s.outs, statusProc, "/orders/"+order.OrderID, time.Minute, func(code int, _ string) bool { return code == http.StatusOK })
	requireWords(t, "status", body, order.OrderID, string(sent.Expected[order.OrderID].Final()))

	// lagmon sees the three groups caught up, named or all.
	args, env = s.sasl("lagmon")
	for _, extra := range [][]string{{"--groups", strings.Join([]string{c.Group(orderchain.Validate), c.Group(orderchain.Score), c.Group(orderchain.Decide)}, ",")}, nil} {
		r = runOnce(t, s.outs, s.binary("lagmon"), env, time.Minute, append(append([]string{"lag"}, args...), append([]string{"--samples", "1", "--log-level", "debug"}, extra...)...)...)
		if r.code != 0 {
			t.Fatalf("lagmon lag %v exited %d:\n%s", extra, r.code, r.output)
		}
		requireWords(t, "lagmon lag", r.output, c.Group(orderchain.Validate), c.Group(orderchain.Score), c.Group(orderchain.Decide))
	}

	// dlq lists the poison, replays it (validate dead-letters it again)
	// and purges the topic; then five more poison records wait there for
	// the failure cases of replay and purge.
	args, env = s.sasl("dlq")
	orderchain.WaitFor(t, time.Minute, "20 records in "+s.dlq, func() bool { return s.dlqEnd(t) >= 20 })
	r = runOnce(t, s.outs, s.binary("dlq"), env, time.Minute, append([]string{"list"}, append(args, "--topic", s.dlq, "--log-level", "debug")...)...)
	if r.code != 0 {
		t.Fatalf("dlq list exited %d:\n%s", r.code, r.output)
	}
	requireWords(t, "dlq list at --log-level debug", r.output, "kafka client:")
	requireWords(t, "dlq list", r.output, "20 of 20 records in "+s.dlq+" matched", "poison")
	r = runOnce(t, s.outs, s.binary("dlq"), env, 2*time.Minute, append([]string{"replay"}, append(args, "--topic", s.dlq, "--yes")...)...)
	if r.code != 0 {
		t.Fatalf("dlq replay exited %d:\n%s", r.code, r.output)
	}
	requireWords(t, "dlq replay", r.output, "replayed 20 of 20 records examined")
	orderchain.WaitFor(t, time.Minute, "the 20 replayed records dead-lettered again", func() bool { return s.dlqEnd(t) >= 40 })
	r = runOnce(t, s.outs, s.binary("dlq"), env, time.Minute, append([]string{"purge"}, append(args, "--topic", s.dlq, "--all", "--yes")...)...)
	if r.code != 0 {
		t.Fatalf("dlq purge exited %d:\n%s", r.code, r.output)
	}
	requireWords(t, "dlq purge", r.output, "deleted offsets")
	r = runOnce(t, s.outs, s.binary("loader"), nil, 2*time.Minute, append(s.saslFile(t, "loader"),
		"--topic", tp.Placed, "--count", "5", "--seed", "98", "--poison-rate", "1", "--progress-interval", "0")...)
	if r.code != 0 {
		t.Fatalf("poison loader exited %d:\n%s", r.code, r.output)
	}
	orderchain.WaitFor(t, time.Minute, "5 more records in "+s.dlq, func() bool { return s.dlqEnd(t) >= 45 })
}

// dlqEnd is the sum of the end offsets of validate's dead-letter topic:
// how many records were ever written to it.
func (s *secured) dlqEnd(t *testing.T) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(s.k.Client(t)).ListEndOffsets(ctx, s.dlq)
	if err != nil {
		return 0
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// A failure case: a command line, its environment, and what it must end
// with.
type failureCase struct {
	name  string
	bin   string
	args  []string
	env   []string
	code  int
	words []string
	not   []string // words that must not appear (a wrong diagnosis)
}

// failures runs every failure case; the connection failures for every
// one-shot command, the permission failures for the command they concern.
func (s *secured) failures(t *testing.T) {
	c, tp := s.chain, s.chain.Topics
	group := c.Group(orderchain.Validate)
	t.Run("processor denied its group", func(t *testing.T) {
		t.Parallel()
		s.processorRefused(t, s.saslFile(t, "nogroup"), nil, "sec-validate-denied", "not authorized on group", "sec-validate-denied", "grant this principal READ")
	})
	t.Run("processor denied its input topic", func(t *testing.T) {
		t.Parallel()
		log := s.processorRefused(t, s.saslFile(t, "noinput"), nil, "sec-validate-noinput", "not authorized on topic", tp.Placed, "READ")
		if strings.Contains(log, "does not exist") {
			t.Errorf("a topic the principal may not read was reported as missing")
		}
	})
	t.Run("processor denied its retry topics", func(t *testing.T) {
		t.Parallel()
		addr := freeAddr(t)
		p := start(t, s.outs, "validate noretry", s.binary("validate"), nil, append(s.saslFile(t, "noretry"),
			"--group", "sec-validate-noretry", "--input", tp.Placed, "--validated-topic", tp.Validated, "--decided-topic", tp.Decided, "--status-topic", tp.Status,
			"--metrics-addr", addr, "--kafka-wait", "10s", "--instance-id", "sec-noretry")...)
		if code := p.wait(t, 2*time.Minute); code != 1 {
			t.Errorf("exit %d, want 1:\n%s", code, tail(p.out.String(), 20))
		}
		requireWords(t, "log", p.out.String(), "not authorized on topic", `"`+tp.Placed+".") // its dead-letter or a retry topic
		if strings.Contains(p.out.String(), "does not exist") {
			t.Errorf("a retry topic the principal may not describe was reported as missing:\n%s", tail(p.out.String(), 20))
		}
	})
	t.Run("processor with a wrong password", func(t *testing.T) {
		t.Parallel()
		args, _ := s.sasl("validate")
		s.processorRefused(t, args, []string{"SLUICE_SASL_PASSWORD=wrong-" + s.pass["validate"]}, group, "rejected the password", `user "validate"`, "--sasl-user")
	})

	t.Run("exactly-once with the transactional-ID ACL", func(t *testing.T) {
		t.Parallel()
		p := s.startDecide(t, "decide-eo", "sec-decide-eo")
		waitHTTP(t, s.outs, p, "/readyz", 2*time.Minute, func(code int, _ string) bool { return code == http.StatusOK })
		deadline := time.Now().Add(time.Minute)
		for !strings.Contains(p.out.String(), "transaction committed") {
			if time.Now().After(deadline) {
				t.Fatalf("no transaction committed within a minute:\n%s", tail(p.out.String(), 20))
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	t.Run("exactly-once without the transactional-ID ACL", func(t *testing.T) {
		t.Parallel()
		p := s.startDecide(t, "decide-notxn", "sec-decide-notxn")
		if code := p.wait(t, 2*time.Minute); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		requireWords(t, "log", p.out.String(), "not authorized on transactional ID", "grant this principal WRITE and DESCRIBE")
	})

	oneShots := []struct {
		name string
		bin  string
		args []string
	}{
		{"loader", "loader", []string{"--topic", tp.Placed, "--count", "1", "--progress-interval", "0"}},
		{"dlq list", "dlq", []string{"list", "--topic", s.dlq}},
		{"dlq replay", "dlq", []string{"replay", "--topic", s.dlq, "--yes"}},
		{"dlq purge", "dlq", []string{"purge", "--topic", s.dlq, "--all", "--yes"}},
		{"lagmon lag", "lagmon", []string{"lag", "--samples", "1"}},
		{"lagmon lag --groups", "lagmon", []string{"lag", "--samples", "1", "--groups", group}},
	}
	sasl := strings.Join(s.sec.SASLBrokers, ",")
	mtls := strings.Join(s.sec.TLSBrokers, ",")
	right := []string{"SLUICE_SASL_PASSWORD=" + s.pass["dlq"]}
	conn := []struct {
		name  string
		args  []string
		env   []string
		words []string
	}{
		{"wrong password", []string{"--brokers", sasl, "--tls-ca", s.sec.CAFile, "--sasl-mechanism", "SCRAM-SHA-512", "--sasl-user", "dlq"},
			[]string{"SLUICE_SASL_PASSWORD=not-" + s.pass["dlq"]}, []string{"rejected the password", `SCRAM-SHA-512 user "dlq"`, "--sasl-user"}},
		{"wrong mechanism", []string{"--brokers", sasl, "--tls-ca", s.sec.CAFile, "--sasl-mechanism", "SCRAM-SHA-256", "--sasl-user", "dlq"},
			right, []string{"does not offer SASL mechanism SCRAM-SHA-256", "it offers SCRAM-SHA-512", "--sasl-mechanism"}},
		{"untrusted CA", []string{"--brokers", sasl, "--tls", "--sasl-mechanism", "SCRAM-SHA-512", "--sasl-user", "dlq"},
			right, []string{"certificate is not trusted", "--tls-ca"}},
		{"missing client certificate", []string{"--brokers", mtls, "--tls-ca", s.sec.CAFile},
			nil, []string{"client certificate", "--tls-cert", "--tls-key"}},
		{"plaintext to a TLS listener", []string{"--brokers", sasl, "--sasl-mechanism", "SCRAM-SHA-512", "--sasl-user", "dlq"},
			right, []string{"listener speaks TLS", "add --tls"}},
	}
	var cases []failureCase
	for _, cmd := range oneShots {
		for _, cn := range conn {
			cases = append(cases, failureCase{name: cmd.name + ": " + cn.name, bin: cmd.bin, args: append(slicesClone(cmd.args), cn.args...),
				env: cn.env, code: 1, words: cn.words, not: []string{"does not exist", "no consumer groups", "cannot reach Kafka"}})
		}
	}
	as := func(user string, args ...string) ([]string, []string) {
		a, e := s.sasl(user)
		return append(args, a...), e
	}
	add := func(name, bin string, code int, words, not []string, user string, args ...string) {
		a, e := as(user, args...)
		cases = append(cases, failureCase{name: name, bin: bin, args: a, env: e, code: code, words: words, not: not})
	}
	add("lagmon lag --groups: no ACL on the group", "lagmon", 1, []string{"not authorized on group", group, "grant this principal DESCRIBE"}, []string{"no consumer groups"},
		"nobody", "lag", "--samples", "1", "--groups", group)
	add("lagmon lag: no group visible", "lagmon", 1, []string{"DESCRIBE on cluster", "--groups"}, nil,
		"nobody", "lag", "--samples", "1")
	add("lagmon lag --groups: a group that does not exist", "lagmon", 1, []string{`group "sec-nosuch" does not exist`}, nil,
		"lagmon", "lag", "--samples", "1", "--groups", "sec-nosuch")
	add("dlq list: no READ on the topic", "dlq", 1, []string{`not authorized on topic "` + s.dlq + `": grant this principal READ`}, []string{"does not exist"},
		"nobody", "list", "--topic", s.dlq)
	add("dlq list: a topic that does not exist", "dlq", 1, []string{`topic "sec.nosuch.dlq" does not exist`}, []string{"not authorized"},
		s.sec.Admin, "list", "--topic", "sec.nosuch.dlq")
	add("dlq replay: no transactional ID ACL", "dlq", 1, []string{"not authorized on transactional ID", deadletter.ProgressGroup(s.dlq), "WRITE and DESCRIBE"}, nil,
		"dlqreader", "replay", "--topic", s.dlq, "--yes")
	add("dlq purge: no DELETE on the topic", "dlq", 1, []string{`not authorized on topic "` + s.dlq + `": grant this principal DELETE`}, []string{"does not exist"},
		"dlqreader", "purge", "--topic", s.dlq, "--all", "--yes")
	add("loader: no ACL on the topic", "loader", 1, []string{`not authorized on topic "` + tp.Placed + `": grant this principal WRITE`}, []string{"does not exist", "cannot reach"},
		"nobody", "--topic", tp.Placed, "--count", "1", "--progress-interval", "0")
	add("loader: a topic that does not exist", "loader", 1, []string{`topic "sec.nosuch" does not exist`}, []string{"not authorized"},
		s.sec.Admin, "--topic", "sec.nosuch", "--count", "1", "--progress-interval", "0")
	cases = append(cases, failureCase{name: "loader: --tls-cert without --tls-key", bin: "loader", code: 2,
		args: []string{"--brokers", mtls, "--tls-cert", s.scoreC, "--count", "1"}, words: []string{"--tls-cert and --tls-key go together"}})

	for _, fc := range cases {
		t.Run(fc.name, func(t *testing.T) {
			t.Parallel()
			r := runOnce(t, s.outs, s.binary(fc.bin), fc.env, 2*time.Minute, fc.args...)
			t.Logf("exit %d: %s", r.code, tail(r.output, 2))
			if r.code != fc.code {
				t.Errorf("exit %d, want %d:\n%s", r.code, fc.code, r.output)
			}
			requireWords(t, fc.name, r.output, fc.words...)
			for _, w := range fc.not {
				if strings.Contains(r.output, w) {
					t.Errorf("output says %q, a wrong diagnosis:\n%s", w, r.output)
				}
			}
		})
	}
}

// startDecide starts decide exactly-once as user in group.
func (s *secured) startDecide(t *testing.T, user, group string) *proc {
	tp := s.chain.Topics
	args, env := s.sasl(user)
	addr := freeAddr(t)
	p := start(t, s.outs, "decide "+group, s.binary("decide"), env, append(args, "--group", group, "--input", tp.Scored,
		"--decided-topic", tp.Decided, "--status-topic", tp.Status, "--guarantee", "exactly-once", "--instance-id", "sec-eo",
		"--metrics-addr", addr, "--log-level", "debug", "--commit-interval", "500ms")...)
	p.metrics = addr
	return p
}

// processorRefused starts validate with conn, expects /readyz to fail
// naming the reason and the process to exit 1 after --kafka-wait.
func (s *secured) processorRefused(t *testing.T, conn, env []string, group string, words ...string) (log string) {
	tp := s.chain.Topics
	addr := freeAddr(t)
	p := start(t, s.outs, "validate refused "+group, s.binary("validate"), env, append(conn,
		"--group", group, "--input", tp.Placed, "--validated-topic", tp.Validated, "--decided-topic", tp.Decided, "--status-topic", tp.Status,
		"--metrics-addr", addr, "--kafka-wait", "10s", "--log-level", "debug", "--instance-id", "sec-refused")...)
	p.metrics = addr
	body := waitHTTP(t, s.outs, p, "/readyz", time.Minute, func(code int, body string) bool {
		return code == http.StatusServiceUnavailable && strings.Contains(body, words[0])
	})
	requireWords(t, "/readyz", body, words...)
	if code := p.wait(t, 2*time.Minute); code != 1 {
		t.Errorf("exit %d, want 1:\n%s", code, tail(p.out.String(), 20))
	}
	requireWords(t, "log", p.out.String(), "level=ERROR msg=exiting")
	return p.out.String()
}

// noSecrets greps everything every process wrote, every HTTP body read
// (/metrics, /readyz, status), and the --help of every binary, run with
// the password in the environment, for the passwords and private keys
// the scenario used.
func (s *secured) noSecrets(t *testing.T) {
	env := []string{"SLUICE_SASL_PASSWORD=" + s.pass["dlq"]}
	for _, args := range [][]string{
		{"validate", "--help"}, {"score", "--help"}, {"decide", "--help"}, {"status", "--help"}, {"loader", "--help"},
		{"dlq", "list", "--help"}, {"dlq", "replay", "--help"}, {"dlq", "purge", "--help"},
		{"lagmon", "lag", "--help"}, {"lagmon", "serve", "--help"},
	} {
		r := runOnce(t, s.outs, s.binary(args[0]), env, time.Minute, args[1:]...)
		if r.code != 0 || !strings.Contains(r.output, "--sasl-password-file") {
			t.Errorf("%v: exit %d, want 0 and help naming --sasl-password-file:\n%s", args, r.code, tail(r.output, 10))
		}
	}
	secrets := map[string]string{"admin password": s.sec.AdminPassword}
	for user, p := range s.pass {
		secrets["password of "+user] = p
	}
	for i, key := range s.keys {
		lines := strings.Split(string(key), "\n")
		secrets[fmt.Sprintf("client key %d", i)] = lines[1] // the first line of base64
	}
	secrets["any private key"] = "PRIVATE KEY"
	checked := 0
	s.outs.each(func(name, text string) {
		checked++
		for what, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("the %s shows in the output of %s", what, name)
			}
		}
	})
	t.Logf("checked %d outputs for %d secrets", checked, len(secrets))
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

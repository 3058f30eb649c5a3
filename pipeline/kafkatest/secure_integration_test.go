//go:build integration

package kafkatest_test

import (
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

// TestIntegrationSecuredClusterAuthenticatesAndAuthorizes: the superuser
// creates a topic; a new SCRAM user gets in but may not see it until an
// ACL says so; a client certificate of the cluster's CA gets in on the
// mutual-TLS listener as User:<CN>, and one without a certificate does not.
func TestIntegrationSecuredClusterAuthenticatesAndAuthorizes(t *testing.T) {
	k := kafkatest.NewKafka(t, kafkatest.Secured())
	sec := k.Security()
	k.CreateTopic(t, "secret", 1, nil)
	k.AddUser(t, "alice", "alice-pass")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	alice, err := kgo.NewClient(kgo.SeedBrokers(sec.SASLBrokers...),
		kgo.DialTLSConfig(&tls.Config{RootCAs: sec.CA.Pool()}),
		kgo.SASL(scram.Auth{User: "alice", Pass: "alice-pass"}.AsSha512Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	_, err = kadm.NewClient(alice).Metadata(ctx, "secret")
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("alice without ACLs: metadata error %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	admin := kadm.NewClient(k.Client(t))
	acl := kadm.NewACLs().Allow("User:alice", "User:bob").Topics("secret").Operations(kadm.OpDescribe)
	if _, err := admin.CreateACLs(ctx, acl); err != nil {
		t.Fatal(err)
	}
	err = poll(ctx, func() error { _, err := kadm.NewClient(alice).Metadata(ctx, "secret"); return err })
	if err != nil {
		t.Fatalf("alice with DESCRIBE: %v", err)
	}

	bob := sec.CA.Issue(t, "bob")
	tlsClient := func(certs ...tls.Certificate) *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(sec.TLSBrokers...),
			kgo.DialTLSConfig(&tls.Config{RootCAs: sec.CA.Pool(), Certificates: certs}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	if _, err := kadm.NewClient(tlsClient(bob.TLS(t))).Metadata(ctx, "secret"); err != nil {
		t.Fatalf("bob with a client certificate and DESCRIBE: %v", err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	defer pcancel()
	if err := tlsClient().Ping(pctx); err == nil {
		t.Fatal("a client without a certificate got in on the mutual-TLS listener")
	}
}

func poll(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil || ctx.Err() != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

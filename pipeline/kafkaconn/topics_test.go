package kafkaconn

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// aclBroker is a kfake cluster with ACLs on, topics "visible" and "secret",
// and a user "app" that may describe "visible" and (missing) "ghost" only.
func aclBroker(t *testing.T) *kadm.Client {
	t.Helper()
	describe := func(topic string) kfake.ACL {
		return kfake.ACL{Resource: kmsg.ACLResourceTypeTopic, Name: topic, Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: kmsg.ACLOperationDescribe, Allow: true}
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser("PLAIN", "admin", "admin-pass"),
		kfake.User("PLAIN", "app", "app-pass", describe("visible"), describe("ghost")),
		kfake.SeedTopics(3, "visible", "secret"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	opts, err := Config{Brokers: c.ListenAddrs(), SASLMechanism: "PLAIN", SASLUser: "app", SASLPassword: "app-pass"}.Options()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func TestCheckTopicsTellsDeniedFromMissing(t *testing.T) {
	adm := aclBroker(t)
	ctx := context.Background()

	if err := CheckTopics(ctx, adm, "visible"); err != nil {
		t.Fatalf("CheckTopics(visible): %v", err)
	}
	details, err := LookupTopics(ctx, adm, "visible", "secret", "ghost")
	if len(details["visible"].Partitions) != 3 {
		t.Errorf("visible has %d partitions in the lookup, want 3", len(details["visible"].Partitions))
	}
	var denied *AuthorizationError
	if !errors.As(err, &denied) || denied.Name != "secret" || denied.Resource != ResourceTopic {
		t.Fatalf("error %v, want an *AuthorizationError naming topic secret", err)
	}
	var missing *MissingTopicError
	if !errors.As(err, &missing) || missing.Topic != "ghost" {
		t.Fatalf("error %v, want a *MissingTopicError naming ghost", err)
	}
	if !errors.Is(err, ErrAuthorization) || !errors.Is(err, ErrTopicMissing) {
		t.Fatalf("errors.Is does not see both classes in %v", err)
	}
	requireWords(t, err, `not authorized on topic "secret"`, `topic "ghost" does not exist`)

	// Alone, a denied topic is named too (one request, no fallback).
	err = CheckTopics(ctx, adm, "secret")
	if !errors.As(err, &denied) || denied.Name != "secret" {
		t.Fatalf("CheckTopics(secret) = %v, want an *AuthorizationError naming it", err)
	}
}

func TestCheckTopicsOfNothingIsNil(t *testing.T) {
	if err := CheckTopics(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

package deadletter_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-dev/sluice/deadletter"
	"github.com/sluice-dev/sluice/pipeline/kafkaconn"
)

func TestOpenUnknownTopicListsTheDeadLetterTopics(t *testing.T) {
	c := newCluster(t, map[string]int32{"orders": 1, "orders.dlq": 1, "payments.dlq": 1})
	for _, tc := range []struct{ topic, want string }{
		{"orders.dql", `topic "orders.dql" does not exist; dead-letter topics on this cluster: orders.dlq, payments.dlq`},
		{"payments", "did you mean payments.dlq"},
	} {
		_, err := deadletter.Open(c.ctx, tc.topic, c.conn...)
		var ute *deadletter.UnknownTopicError
		if !errors.As(err, &ute) || !slices.Equal(ute.DeadLetterTopics, []string{"orders.dlq", "payments.dlq"}) {
			t.Fatalf("Open(%s) error %v, want an UnknownTopicError listing both DLQs", tc.topic, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s) error %q, want it to contain %q", tc.topic, err, tc.want)
		}
	}

	bare := newCluster(t, map[string]int32{"orders": 1})
	_, err := deadletter.Open(bare.ctx, "orders.dlq", bare.conn...)
	if err == nil || !strings.Contains(err.Error(), "no dead-letter topic (*.dlq)") || !errors.Is(err, kafkaconn.ErrTopicMissing) {
		t.Errorf("error %v", err)
	}
}

// TestOpenTellsDeniedFromMissing: a dead-letter topic the principal may
// not see is reported as an authorization failure naming it, not as a
// topic that does not exist (which listing every topic would make it).
func TestOpenTellsDeniedFromMissing(t *testing.T) {
	describe := kfake.ACL{Resource: kmsg.ACLResourceTypeTopic, Name: "orders.", Pattern: kmsg.ACLResourcePatternTypePrefixed, Operation: kmsg.ACLOperationDescribe, Allow: true}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser("PLAIN", "admin", "admin-pass"),
		kfake.User("PLAIN", "ops", "ops-pass", describe),
		kfake.SeedTopics(1, "orders.dlq", "payments.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	opts, err := kafkaconn.Config{Brokers: c.ListenAddrs(), SASLMechanism: "PLAIN", SASLUser: "ops", SASLPassword: "ops-pass"}.Options()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	_, err = deadletter.Open(ctx, "payments.dlq", opts...)
	var denied *kafkaconn.AuthorizationError
	if !errors.As(err, &denied) || denied.Name != "payments.dlq" || errors.Is(err, kafkaconn.ErrTopicMissing) {
		t.Fatalf("Open(payments.dlq) = %v, want an authorization error naming it", err)
	}
	_, err = deadletter.Open(ctx, "orders.dql", opts...)
	var missing *deadletter.UnknownTopicError
	if !errors.As(err, &missing) || !slices.Equal(missing.DeadLetterTopics, []string{"orders.dlq"}) {
		t.Fatalf("Open(orders.dql) = %v, want an UnknownTopicError listing the one DLQ ops may see", err)
	}
	q, err := deadletter.Open(ctx, "orders.dlq", append(opts, kgo.ClientID("t"))...)
	if err != nil {
		t.Fatalf("Open(orders.dlq): %v", err)
	}
	q.Close()
}

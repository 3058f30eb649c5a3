package deadletter_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/deadletter"
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
	if err == nil || !strings.Contains(err.Error(), "no dead-letter topic (*.dlq) exists") {
		t.Errorf("error %v", err)
	}
}

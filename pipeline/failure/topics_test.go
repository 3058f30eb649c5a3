package failure_test

import (
	"testing"
	"time"

	"github.com/sluice-dev/sluice/pipeline/failure"
)

func TestRetryTopicDropsTrailingZeroUnits(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{5 * time.Second, "orders.retry.5s"},
		{30 * time.Second, "orders.retry.30s"},
		{5 * time.Minute, "orders.retry.5m"},
		{time.Hour, "orders.retry.1h"},
		{10 * time.Minute, "orders.retry.10m"},
		{90 * time.Second, "orders.retry.1m30s"},
		{90 * time.Minute, "orders.retry.1h30m"},
		{time.Hour + 5*time.Second, "orders.retry.1h0m5s"},
		{500 * time.Millisecond, "orders.retry.500ms"},
		{24 * time.Hour, "orders.retry.24h"},
	} {
		got := failure.RetryTopic("orders", c.d)
		if got != c.want {
			t.Errorf("failure.RetryTopic(orders, %v) = %q, want %q", c.d, got, c.want)
		}
		in, d, ok := failure.ParseRetryTopic(got)
		if !ok || in != "orders" || d != c.d {
			t.Errorf("failure.ParseRetryTopic(%q) = %q, %v, %v; want orders, %v, true", got, in, d, ok, c.d)
		}
	}
	for _, name := range []string{"orders", "orders.dlq", "orders.retry.", "orders.retry.soon", ".retry.5s", "orders.retry.-5s"} {
		if _, _, ok := failure.ParseRetryTopic(name); ok {
			t.Errorf("failure.ParseRetryTopic(%q) ok, want not a retry topic", name)
		}
	}
	if got := failure.DeadLetterTopic("orders"); got != "orders.dlq" {
		t.Errorf("Topic(orders) = %q", got)
	}
}

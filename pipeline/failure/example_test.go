package failure_test

import (
	"fmt"
	"time"

	"github.com/sluice-dev/sluice/pipeline/failure"
)

func ExampleRetryTopic() {
	for _, d := range []time.Duration{5 * time.Second, 30 * time.Second, 5 * time.Minute, time.Hour} {
		fmt.Println(failure.RetryTopic("orders", d))
	}
	fmt.Println(failure.DeadLetterTopic("orders"))
	// Output:
	// orders.retry.5s
	// orders.retry.30s
	// orders.retry.5m
	// orders.retry.1h
	// orders.dlq
}

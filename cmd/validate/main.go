// Command validate is the first stage of the order pipeline: it reads
// OrderPlaced events, checks the business rules and writes valid orders to
// orders.validated and rejections to orders.decided, with a status update
// for each on order-status. Run --help for the options.
package main

import (
	"flag"
	"os"
	"time"

	"github.com/sluice-dev/sluice/internal/runner"
	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/processors/validate"
	"github.com/sluice-dev/sluice/schemas"
)

func main() {
	var t validate.Topics
	os.Exit(runner.Main(runner.Spec{
		Name: "validate",
		Synopsis: `usage: validate [options]

Reads OrderPlaced events from the input topic, checks the business rules
(required fields, positive quantities, known currency and channel, line
totals adding up) and normalizes them. Valid orders go to --validated-topic;
rejected ones get a REJECTED decision on --decided-topic. Every order gets a
status update on --status-topic.`,
		Inputs: []string{order.TopicPlaced},
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&t.Validated, "validated-topic", order.TopicValidated, "topic for valid, normalized orders")
			fs.StringVar(&t.Decided, "decided-topic", order.TopicDecided, "topic for final decisions (rejections made here)")
			fs.StringVar(&t.Status, "status-topic", order.TopicStatus, "compacted order-status topic")
		},
		Handler: func(serde *schemas.Serde) (pipeline.Handler, error) {
			return validate.Handler(serde, t, time.Now), nil
		},
	}, os.Args[1:], os.Stderr))
}

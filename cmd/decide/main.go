// Command decide is the last stage of the order pipeline: it confirms or
// rejects each scored order and writes the decision to orders.decided and
// the order's status to the compacted order-status topic. Run --help for the
// options.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/sluice-dev/sluice/internal/runner"
	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/processors/decide"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/schemas"
)

func main() {
	var (
		t      decide.Topics
		policy decide.Policy
	)
	os.Exit(runner.Main(runner.Spec{
		Name: "decide",
		Synopsis: `usage: decide [options]

Reads OrderScored events and decides: REJECTED when the risk score is at or
above --risk-threshold or the total is above --limit-cents, CONFIRMED
otherwise. Writes an OrderDecided to --decided-topic and a CONFIRMED or
REJECTED status (with the reason) to --status-topic. Rejections are normal
outputs, not errors.`,
		Inputs: []string{order.TopicScored},
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&t.Decided, "decided-topic", order.TopicDecided, "topic for final decisions")
			fs.StringVar(&t.Status, "status-topic", order.TopicStatus, "compacted order-status topic")
			fs.Float64Var(&policy.Threshold, "risk-threshold", decide.DefaultThreshold, "reject orders whose fraud-risk score is at or above this (0-1)")
			fs.Int64Var(&policy.DefaultLimit, "limit-cents", decide.DefaultLimitCents, "reject orders whose total is above this many cents")
		},
		Handler: func(serde *schemas.Serde) (pipeline.Handler, error) {
			if policy.Threshold <= 0 || policy.Threshold > 1 {
				return nil, fmt.Errorf("--risk-threshold %v: want a value in (0, 1]", policy.Threshold)
			}
			if policy.DefaultLimit <= 0 {
				return nil, fmt.Errorf("--limit-cents %d: want a positive amount", policy.DefaultLimit)
			}
			return decide.Handler(serde, policy, t, time.Now), nil
		},
	}, os.Args[1:], os.Stderr))
}

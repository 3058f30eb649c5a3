// Command decide is the last stage of the order pipeline: it confirms or
// rejects each scored order and writes the decision to orders.decided and
// the order's status to the compacted order-status topic. Run --help for the
// options.
package main

import (
	"flag"
	"os"

	"github.com/sluice-dev/sluice/internal/runner"
	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/processors/chain"
	"github.com/sluice-dev/sluice/schemas"
)

const synopsis = `usage: decide [options]

Reads OrderScored events and decides: REJECTED when the risk score is at or
above --risk-threshold or the total is above --limit-cents, CONFIRMED
otherwise. Writes an OrderDecided to --decided-topic and a CONFIRMED or
REJECTED status (with the reason) to --status-topic. Rejections are normal
outputs, not errors.`

func main() {
	stage, cfg := chain.Decide(), chain.DefaultConfig()
	os.Exit(runner.Main(runner.Spec{
		Name:        stage.Name,
		Synopsis:    synopsis,
		Inputs:      []string{cfg.Topics.Of(stage.Input)},
		MaxInFlight: stage.MaxInFlight,
		Flags:       func(fs *flag.FlagSet) { stage.RegisterFlags(fs, &cfg) },
		Handler:     func(serde *schemas.Serde) (pipeline.Handler, error) { return stage.Handler(serde, cfg) },
	}, os.Args[1:], os.Stderr))
}

// Command validate is the first stage of the order pipeline: it reads
// OrderPlaced events, checks the business rules and writes valid orders to
// orders.validated and rejections to orders.decided, with a status update
// for each on order-status. Run --help for the options.
package main

import (
	"flag"
	"os"

	"github.com/sluice-dev/sluice/internal/runner"
	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/processors/chain"
	"github.com/sluice-dev/sluice/schemas"
)

const synopsis = `usage: validate [options]

Reads OrderPlaced events from the input topic, checks the business rules
(required fields, positive quantities, known currency and channel, line
totals adding up) and normalizes them. Valid orders go to --validated-topic;
rejected ones get a REJECTED decision on --decided-topic. Every order gets a
status update on --status-topic.`

func main() {
	stage, cfg := chain.Validate(), chain.DefaultConfig()
	os.Exit(runner.Main(runner.Spec{
		Name:        stage.Name,
		Synopsis:    synopsis,
		Inputs:      []string{cfg.Topics.Of(stage.Input)},
		MaxInFlight: stage.MaxInFlight,
		Flags:       func(fs *flag.FlagSet) { stage.RegisterFlags(fs, &cfg) },
		Handler:     func(serde *schemas.Serde) (pipeline.Handler, error) { return stage.Handler(serde, cfg) },
	}, os.Args[1:], os.Stderr))
}

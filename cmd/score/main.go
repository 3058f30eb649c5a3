// Command score is the compute-heavy stage of the order pipeline: it
// evaluates a tree-ensemble fraud model on every validated order and writes
// the scored order to orders.scored. Run --help for the options.
package main

import (
	"flag"
	"os"

	"github.com/sluice-dev/sluice/internal/runner"
	"github.com/sluice-dev/sluice/pipeline"
	"github.com/sluice-dev/sluice/processors/chain"
	"github.com/sluice-dev/sluice/schemas"
)

const synopsis = `usage: score [options]

Reads OrderValidated events, computes a fraud-risk score in [0,1] with a
deterministic tree-ensemble model (generated from --model-seed at start),
and writes OrderScored events to --scored-topic plus a SCORED status.
The model's size sets the CPU cost per order: about 0.2-0.4 ms with the
default --model-trees on one core; scale out with --workers and instances.`

func main() {
	stage, cfg := chain.Score(), chain.DefaultConfig()
	os.Exit(runner.Main(runner.Spec{
		Name:        stage.Name,
		Synopsis:    synopsis,
		Inputs:      []string{cfg.Topics.Of(stage.Input)},
		MaxInFlight: stage.MaxInFlight,
		Flags:       func(fs *flag.FlagSet) { stage.RegisterFlags(fs, &cfg) },
		Handler:     func(serde *schemas.Serde) (pipeline.Handler, error) { return stage.Handler(serde, cfg) },
	}, os.Args[1:], os.Stderr))
}

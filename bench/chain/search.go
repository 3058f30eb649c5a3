package main

import (
	"context"
	"fmt"
	"io"
	"slices"
)

// acceptanceRate is the highest rate the acceptance lines need measured in
// key mode (1,000 and 2,000 orders/s): a mode that fell behind earlier is
// still run up to it.
const acceptanceRate = 2000

// search runs the step search: at each rate, ascending, one step per mode
// still in the race, the modes alternating which goes first, so that a
// drift of the machine's load over the run hits both alike. Where the
// modes disagree at a rate (one bounded, another not), each runs there once
// more, in the reverse order: near the machine's limit whichever step runs
// first at a new rate has done worse, in either mode, and one step each
// would leave a mode's verdict to that (see bounded). A mode leaves the
// race at its first rate not bounded in every step, but still runs at
// every rate up to acceptanceRate. run returns whether the step's lag
// stayed bounded; search stops at run's first error.
func search(rates []int, modes []string, run func(mode string, rate int) (bool, error)) error {
	out := map[string]bool{} // modes that fell behind
	// step runs mode m at rate and takes it out of the race if it fell
	// behind.
	step := func(m string, rate int) (bool, error) {
		bounded, err := run(m, rate)
		if err == nil && !bounded {
			out[m] = true
		}
		return bounded, err
	}
	for i, rate := range rates {
		order := slices.Clone(modes)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		var ran []string
		var kept, fell bool // some mode kept up at rate, some fell behind
		for _, m := range order {
			if out[m] && rate > acceptanceRate {
				continue
			}
			ran = append(ran, m)
			bounded, err := step(m, rate)
			if err != nil {
				return err
			}
			kept, fell = kept || bounded, fell || !bounded
		}
		if len(ran) == 0 {
			break
		}
		if kept && fell {
			slices.Reverse(ran)
			for _, m := range ran {
				if _, err := step(m, rate); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (b *bench) runSearch(ctx context.Context, stdout io.Writer) error {
	var results []*stepResult
	loadStart := loadAverage()
	if err := b.warmUp(ctx); err != nil {
		return err
	}
	err := search(b.cfg.rates, b.cfg.modes, func(mode string, rate int) (bool, error) {
		b.logf("step %d: %s mode at %d orders/s for %s", b.steps+1, mode, rate, b.cfg.duration)
		r, err := b.runStep(ctx, mode, rate, stepOptions{duration: b.cfg.duration})
		if err != nil {
			return false, fmt.Errorf("%s mode at %d/s: %w", mode, rate, err)
		}
		results = append(results, r)
		b.logf("  %s", r.summary())
		return r.verdict.bounded, nil
	})
	report(stdout, b.cfg, results, loadStart, loadAverage())
	return err
}

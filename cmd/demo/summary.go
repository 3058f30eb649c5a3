package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// summary is what a demo run did, for the final report and the exit status.
type summary struct {
	interrupted bool
	keepRunning bool // the status view stays up after the summary
	source      string
	before      counts // when the run started (a previous run's work)
	after       counts
	newOrders   int           // produced by this run
	elapsed     time.Duration // since the demo started
	processed   time.Duration // from the processors' start to the last commit
	offsets     []stageOffsets
	statusURL   string
	examples    []example
}

// example is an order and what the status view says about it.
type example struct {
	kind, id, body string
}

// complete reports whether every order is decided and every group has
// committed exactly up to the end of its input.
func (s *summary) complete() bool {
	if s.interrupted || s.after.decided != s.after.placed || len(s.offsets) != len(stages) {
		return false
	}
	for _, o := range s.offsets {
		if !o.equal {
			return false
		}
	}
	return true
}

func (s *summary) exitStatus() int {
	switch {
	case s.interrupted:
		return exitInterrupted
	case s.complete():
		return exitOK
	}
	return exitFailed
}

// String is the report printed at the end of a run.
func (s *summary) String() string {
	var b strings.Builder
	a := s.after
	pct := func(n int) string {
		if a.decided == 0 {
			return ""
		}
		return fmt.Sprintf("  (%.1f%%)", 100*float64(n)/float64(a.decided))
	}
	verdict := "every order decided"
	if s.complete() {
		verdict = "every order decided, every offset committed"
	} else if a.decided != a.placed {
		verdict = fmt.Sprintf("%s orders NOT decided", num(a.placed-a.decided))
	}
	fmt.Fprintf(&b, "\nDone in %.1f s: %s.\n\n", s.elapsed.Seconds(), verdict)

	thisRun := fmt.Sprintf("%s produced by this run", num(s.newOrders))
	if s.before.placed > 0 {
		thisRun += fmt.Sprintf(", %s by earlier runs", num(s.before.placed))
	}
	fmt.Fprintf(&b, "  orders in     %7s   (%s)\n", num(a.placed), thisRun)
	fmt.Fprintf(&b, "  validated     %7s   (%s rejected by validate)\n", num(a.validated), num(a.placed-a.validated))
	fmt.Fprintf(&b, "  scored        %7s\n", num(a.scored))
	fmt.Fprintf(&b, "  decided       %7s\n", num(a.decided))
	fmt.Fprintf(&b, "    confirmed   %7s%s\n", num(a.confirmed), pct(a.confirmed))
	fmt.Fprintf(&b, "    rejected    %7s%s\n", num(a.rejected), pct(a.rejected))
	if a.badRecords > 0 {
		fmt.Fprintf(&b, "  unreadable    %7s   records on orders.decided that do not decode\n", num(a.badRecords))
	}

	if len(a.reasons) > 0 {
		fmt.Fprintf(&b, "\n  top rejection reasons\n")
		for _, r := range a.reasons[:min(len(a.reasons), 6)] {
			fmt.Fprintf(&b, "    %6s  %s\n", num(r.orders), r.reason)
		}
		if rest := len(a.reasons) - 6; rest > 0 {
			fmt.Fprintf(&b, "            (%d more kinds)\n", rest)
		}
	}

	if n := a.decided - s.before.decided; n > 0 {
		fmt.Fprintf(&b, "\n  throughput    %s orders decided in %.1f s: %s orders/s end to end\n",
			num(n), s.processed.Seconds(), num(int(float64(n)/s.processed.Seconds()+0.5)))
	} else {
		fmt.Fprintf(&b, "\n  throughput    nothing new to process: every order was decided by an earlier run\n")
	}

	fmt.Fprintf(&b, "\n  committed offsets = end offsets (kadm FetchOffsets vs ListEndOffsets)\n")
	for _, o := range s.offsets {
		yes := "yes"
		if !o.equal {
			yes = fmt.Sprintf("NO (lag %s)", num(o.lag))
		}
		fmt.Fprintf(&b, "    group %-9s %-17s %7s = %-7s %s\n", o.group, o.topic, num(o.committed), num(o.end), yes)
	}

	if len(s.examples) > 0 {
		until := "it stops with the demo; add --keep-running to try these yourself"
		if s.keepRunning {
			until = "it is still up"
		}
		fmt.Fprintf(&b, "\n  ask the status view about an order (%s):\n", until)
		for _, e := range s.examples {
			fmt.Fprintf(&b, "    $ curl %s/orders/%s\n", s.statusURL, e.id)
			if e.body != "" {
				fmt.Fprintf(&b, "    %s\n", e.body)
			}
		}
	}
	return b.String()
}

// exampleKinds are the orders the summary asks the status view about, by
// tally example kind.
var exampleKinds = []string{"confirmed", "rejected by decide", "rejected by validate"}

// fetchExamples asks the status view about one order of each kind, waiting
// briefly for the view to show its final status (the view follows
// order-status on its own and may be a moment behind).
func fetchExamples(ctx context.Context, baseURL string, ids map[string]string) []example {
	var out []example
	for _, kind := range exampleKinds {
		id, ok := ids[kind]
		if !ok {
			continue
		}
		e := example{kind: kind, id: id}
		deadline := time.Now().Add(5 * time.Second)
		for ctx.Err() == nil && time.Now().Before(deadline) {
			body, final := getStatus(ctx, baseURL+"/orders/"+id)
			e.body = body
			if final {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		out = append(out, e)
	}
	return out
}

// getStatus GETs an order's status and reports whether it is final.
func getStatus(ctx context.Context, url string) (body string, final bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", false
	}
	var st struct{ Status string }
	_ = json.Unmarshal(b, &st)
	return string(bytes.TrimSpace(b)), st.Status == "CONFIRMED" || st.Status == "REJECTED"
}

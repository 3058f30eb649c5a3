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
	untilEnter  bool // the status view stays up until the user presses Enter
	source      string
	before      counts // when the run started (a previous run's work)
	after       counts
	newOrders   int           // produced by this run
	newPoison   int           // poison records produced by this run
	elapsed     time.Duration // since the demo started
	processed   time.Duration // from the processors' start to the last commit
	offsets     []stageOffsets
	brokerAddr  string
	statusURL   string
	examples    []example
}

// example is an order and what the status view says about it.
type example struct {
	kind, id, body string
}

// complete reports whether every order is decided, every poison record is
// in orders.dlq and every group has committed exactly up to the end of its
// input.
func (s *summary) complete() bool {
	if s.interrupted || !s.after.accountedFor() || len(s.offsets) != len(stages) {
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
	switch {
	case s.complete() && a.poison > 0:
		verdict = "every order decided, every poison record dead-lettered, every offset committed"
	case s.complete():
		verdict = "every order decided, every offset committed"
	case a.decided != a.placed:
		verdict = fmt.Sprintf("%s orders NOT decided", num(a.placed-a.decided))
	case a.poisonDLQ != a.poison:
		verdict = fmt.Sprintf("%d poison records NOT in %s", a.poison-a.poisonDLQ, topicDLQ)
	}
	fmt.Fprintf(&b, "\nDone in %.1f s: %s.\n\n", s.elapsed.Seconds(), verdict)

	thisRun := fmt.Sprintf("%s produced by this run", num(s.newOrders))
	if s.before.placed > 0 {
		thisRun += fmt.Sprintf(", %s by earlier runs", num(s.before.placed))
	}
	fmt.Fprintf(&b, "  orders in     %7s   (%s)\n", num(a.placed), thisRun)
	fmt.Fprintf(&b, "  validated     %7s   (%s rejected by validate)\n", num(a.validated), num(a.placed-a.validated))
	fmt.Fprintf(&b, "  scored        %7s\n", num(a.scored))
	fmt.Fprintf(&b, "  decided       %7s   (%s by decide after scoring, %s rejected by validate without scoring)\n",
		num(a.decided), num(a.decided-a.byValidate), num(a.byValidate))
	fmt.Fprintf(&b, "    confirmed   %7s%s\n", num(a.confirmed), pct(a.confirmed))
	fmt.Fprintf(&b, "    rejected    %7s%s\n", num(a.rejected), pct(a.rejected))
	if a.badRecords > 0 {
		fmt.Fprintf(&b, "  unreadable    %7s   records on orders.decided that do not decode\n", num(a.badRecords))
	}
	s.writeDeadLetters(&b)

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
		switch {
		case s.keepRunning:
			until = "it is still up"
		case s.untilEnter:
			until = "it is up until you press Enter"
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

// writeDeadLetters reports where the poison records ended up, any order
// that ended in orders.dlq instead of being decided, and how to look at
// them.
func (s *summary) writeDeadLetters(b *strings.Builder) {
	a := s.after
	if a.poison == 0 && a.ordersDLQ == 0 {
		return
	}
	const indent = "                          " // under the text after a count
	const width = 100 - len(indent)
	if a.poison > 0 {
		by := "by this run"
		switch earlier := a.poison - s.newPoison; {
		case s.newPoison == 0:
			by = "by earlier runs"
		case earlier > 0:
			by = fmt.Sprintf("%d by this run, %d by earlier runs", s.newPoison, earlier)
		}
		when := "at once"
		if a.dlqMaxTry > 1 {
			when = fmt.Sprintf("after up to %d attempts", a.dlqMaxTry)
		}
		what := fmt.Sprintf("sent to orders (%s); %d in %s, dead-lettered %s (class %s)",
			by, a.poisonDLQ, topicDLQ, when, strings.Join(a.dlqClasses, ", "))
		if s.complete() {
			what += "; nothing stalled behind them"
		}
		lines := wrap(what, width)
		if a.dlqExample != "" {
			lines = append(lines, wrap("example error: "+a.dlqExample, width)...)
		}
		fmt.Fprintf(b, "  poison        %7s   %s\n", num(a.poison), strings.Join(lines, "\n"+indent))
	}
	if a.ordersDLQ > 0 {
		fmt.Fprintf(b, "  dead-lettered %7s   orders in %s instead of decided\n", num(a.ordersDLQ), topicDLQ)
	}
	dlq := func(command string) string {
		return fmt.Sprintf("go run ./cmd/dlq %s --topic %s --brokers %s", command, topicDLQ, s.brokerAddr)
	}
	fmt.Fprintf(b, "    inspect them:  %s\n", dlq("inspect"))
	fmt.Fprintf(b, "    replay them:   %s\n", dlq("replay"))
	fmt.Fprintf(b, "                   (after fixing the cause: replayed as they are, they would fail again)\n")
	if s.keepRunning {
		fmt.Fprintf(b, "    (the broker is still up: try these now)\n")
	} else {
		fmt.Fprintf(b, "    (the broker stops with the demo: add --keep-running to try these)\n")
	}
}

// wrap breaks s into lines of at most width bytes at spaces (a longer word
// gets a line of its own).
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
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

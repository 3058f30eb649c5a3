// Package table renders a lag report for a terminal, in the layout of
// kafka-consumer-groups.sh --describe with two more columns: the lag in
// seconds and the group's status, followed by each group's status reason.
package table

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/sluice-dev/sluice/lag/monitor"
)

// Write prints r to w.
func Write(w io.Writer, r monitor.Report) error {
	if r.Err != "" {
		fmt.Fprintf(w, "warning: %s\n\n", r.Err)
	}
	if len(r.Groups) == 0 {
		_, err := fmt.Fprintln(w, "no consumer groups")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tTOPIC\tPARTITION\tCURRENT-OFFSET\tLOG-END-OFFSET\tLAG\tSECONDS-BEHIND\tSTATUS\tCONSUMER-ID\tHOST\tCLIENT-ID")
	for _, g := range r.Groups {
		for _, t := range g.Topics {
			for _, p := range t.Partitions {
				current, lag := "-", "-"
				if p.HasCommit() {
					current, lag = strconv.FormatInt(p.Committed, 10), strconv.FormatInt(p.Lag, 10)
				}
				secs := "-"
				if p.HasCommit() {
					secs = p.Seconds.String()
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Name, t.Topic, p.Partition,
					current, p.End, lag, secs, g.Verdict.Status, dash(p.MemberID), dash(p.Host), dash(p.Owner))
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, g := range r.Groups {
		members := fmt.Sprintf("%d members", len(g.Members))
		if len(g.Members) == 0 {
			members = "no active members"
		}
		fmt.Fprintf(w, "%s: %s, %s (%s), lag %d records, %s behind: %s\n",
			g.Name, g.Verdict.Status, members, g.State, g.Lag, g.MaxSeconds, g.Verdict.Reason)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

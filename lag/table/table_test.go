package table

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/lag/monitor"
	"github.com/sluice-dev/sluice/lag/status"
	"github.com/sluice-dev/sluice/lag/timelag"
)

func TestWriteShowsDescribeColumnsSecondsAndStatus(t *testing.T) {
	r := monitor.Report{Time: time.Now(), Groups: []monitor.Group{{
		Name: "validate", State: "Stable", Lag: 42,
		Members:    []monitor.Member{{ID: "m-1", ClientID: "sluice-validate", Host: "/127.0.0.1", Partitions: 2}},
		Verdict:    status.Verdict{Status: status.WARN, Reason: "orders/0: lag grew from 1 to 42 records over 2m while committing"},
		MaxSeconds: timelag.Estimate{Known: true, Seconds: 3.25},
		Topics: []monitor.GroupTopic{{Topic: "orders", Partitions: []monitor.Partition{
			{Partition: 0, Committed: 958, End: 1000, Lag: 42, Seconds: timelag.Estimate{Known: true, Seconds: 3.25}, Owner: "sluice-validate", Host: "/127.0.0.1", MemberID: "m-1"},
			{Partition: 1, Committed: -1, End: 7},
		}}},
	}}}
	var b bytes.Buffer
	if err := Write(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"GROUP", "CURRENT-OFFSET", "LOG-END-OFFSET", "SECONDS-BEHIND", "STATUS", "CONSUMER-ID",
		"validate  orders  0          958             1000            42   3.2s", "WARN",
		"lag grew from 1 to 42",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// No commit yet: dashes, as kafka-consumer-groups prints.
	if !strings.Contains(out, "validate  orders  1          -               7               -    -") {
		t.Errorf("partition without commit not shown with dashes:\n%s", out)
	}
}

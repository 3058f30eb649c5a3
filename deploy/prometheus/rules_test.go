// Package prometheus holds no code: its tests check the Prometheus
// configuration and alert rules beside them with promtool.
package prometheus

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// promtoolMissing is what a run without promtool says: what is not
// checked and how to install it.
const promtoolMissing = "promtool is not on the PATH, so the alert rules and the scrape config are not checked: " +
	"install it with `bash .ci/observability.sh` (as root on Debian; it is in the prometheus package: apt-get install prometheus)"

// TestIntegrationPromtoolRulesAndConfig runs the alert-rule unit tests
// (promtool test rules) and checks the scrape config and rules. Without
// promtool it skips in a plain `go test` (the reason shows with -v), and
// fails under the integration tag, where CI has installed it
// (.ci/observability.sh).
func TestIntegrationPromtoolRulesAndConfig(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if requirePromtool {
			t.Fatal(promtoolMissing)
		}
		t.Skip(promtoolMissing)
	}
	tests, err := filepath.Glob("*_test.yml")
	if err != nil || len(tests) == 0 {
		t.Fatalf("no *_test.yml rule tests found (%v)", err)
	}
	for _, args := range [][]string{
		{"check", "config", "prometheus.yml"},
		{"check", "rules", "sluice-alerts.yml"},
		append([]string{"test", "rules"}, tests...),
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}

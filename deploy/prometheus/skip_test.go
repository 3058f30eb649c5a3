package prometheus

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWithoutPromtoolTheSkipSaysWhyAndHowToInstall runs this package's
// tests verbosely in a child `go test` whose PATH has go but no promtool,
// and checks what a user without promtool reads.
func TestWithoutPromtoolTheSkipSaysWhyAndHowToInstall(t *testing.T) {
	if os.Getenv("SLUICE_PROMTOOL_CHILD") != "" || requirePromtool {
		t.Skip("the child run, or an integration run (which fails without promtool instead)")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not on the PATH of the test: %v", err)
	}
	cmd := exec.Command(gobin, "test", "-count=1", "-v", "-run", "TestIntegrationPromtoolRulesAndConfig", ".")
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(gobin), "SLUICE_PROMTOOL_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test without promtool: %v\n%s", err, out)
	}
	for _, want := range []string{"--- SKIP: TestIntegrationPromtoolRulesAndConfig", "promtool is not on the PATH",
		"alert rules and the scrape config are not checked", "bash .ci/observability.sh", "apt-get install prometheus"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the skip does not say %q:\n%s", want, out)
		}
	}
}

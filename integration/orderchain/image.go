package orderchain

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Image is the processor image the chain's containers run, built from the
// working tree by deploy/images/build.sh.
const Image = "localhost/sluice:dev"

var image struct {
	once sync.Once
	err  error
}

// EnsureImage builds [Image] from the current source, once per test
// process, so a suite never runs stale binaries. The build script skips the
// image build when the binaries did not change (about 2 s with a warm Go
// build cache). It fails t when the build fails.
func EnsureImage(t testing.TB) {
	t.Helper()
	image.once.Do(func() {
		start := time.Now()
		var root string
		root, image.err = moduleRoot()
		if image.err != nil {
			return
		}
		cmd := exec.Command("bash", filepath.Join(root, "deploy", "images", "build.sh"))
		cmd.Env = append(os.Environ(), "SLUICE_IMAGE="+Image)
		out, err := cmd.CombinedOutput()
		if err != nil {
			image.err = fmt.Errorf("deploy/images/build.sh: %w\n%s", err, out)
			return
		}
		t.Logf("orderchain: %s (%s)", strings.TrimSpace(string(out)), time.Since(start).Round(time.Millisecond))
	})
	if image.err != nil {
		t.Fatalf("orderchain: build %s: %v", Image, image.err)
	}
}

// moduleRoot finds the directory of go.mod above the working directory (a
// test runs in its package's directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

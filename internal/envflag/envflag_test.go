package envflag

import (
	"bytes"
	"flag"
	"strings"
	"testing"
)

func TestEnvFillsUnsetFlagsAndCommandLineWins(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	group := fs.String("group", "g", "")
	workers := fs.Int("max-workers", 1, "")
	t.Setenv("SLUICE_GROUP", "from-env")
	t.Setenv("SLUICE_MAX_WORKERS", "7")
	if err := Parse(fs, "SLUICE", []string{"--group", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	if *group != "from-flag" || *workers != 7 {
		t.Fatalf("group=%q workers=%d, want from-flag and 7", *group, *workers)
	}
}

func TestBadEnvValueNamesTheVariable(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Int("workers", 1, "")
	t.Setenv("SLUICE_WORKERS", "many")
	err := Parse(fs, "SLUICE", nil)
	if err == nil || !strings.Contains(err.Error(), "SLUICE_WORKERS") {
		t.Fatalf("error %v does not name SLUICE_WORKERS", err)
	}
}

func TestUsageListsEnvNames(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Int("workers", 4, "how many handlers run at once")
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	Usage(fs, "SLUICE", "usage: x")()
	for _, want := range []string{"--workers int", "$SLUICE_WORKERS", "how many handlers", "(default 4)"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, buf.String())
		}
	}
}

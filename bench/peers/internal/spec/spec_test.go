package spec

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func TestArgsParseBackToTheSameSettings(t *testing.T) {
	want := Common{Brokers: "127.0.0.1:1,127.0.0.1:2", Input: "in", Output: "out", Group: "g", K: 2500,
		Sleep: 5 * time.Millisecond, CommitInterval: 200 * time.Millisecond}
	var got Common
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	got.Register(fs)
	if err := fs.Parse(want.Args()); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("parsed %+v, want %+v", got, want)
	}
	if err := got.Check(); err != nil {
		t.Fatal(err)
	}
	if len(got.BrokerList()) != 2 {
		t.Fatalf("BrokerList = %v", got.BrokerList())
	}
}

func TestCheckNamesEveryMissingFlag(t *testing.T) {
	err := Common{CommitInterval: time.Second}.Check()
	if err == nil {
		t.Fatal("no error for empty settings")
	}
	for _, name := range []string{"--brokers", "--input", "--output", "--group"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

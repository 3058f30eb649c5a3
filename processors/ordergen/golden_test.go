package ordergen

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/orders.jsonl instead of comparing with it")

// goldenFile is the sample order file at the repository root that the demo
// loads: goldenOrders orders generated with goldenSeed.
var goldenFile = filepath.Join("..", "..", "testdata", "orders.jsonl")

const (
	goldenSeed   = 42
	goldenOrders = 5000
)

// TestGoldenOrdersFile keeps testdata/orders.jsonl what the generator makes
// of seed 42. After an intended change to the generator, rewrite it with
//
//	go test ./processors/ordergen -run TestGoldenOrdersFile -update
func TestGoldenOrdersFile(t *testing.T) {
	var buf bytes.Buffer
	g := New(Config{Seed: goldenSeed})
	for range goldenOrders {
		line, err := MarshalJSONL(g.Next())
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	if *update {
		if err := os.WriteFile(goldenFile, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s: %d orders, %d bytes", goldenFile, goldenOrders, buf.Len())
		return
	}
	want, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (generate it with -update)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		got := bytes.Split(buf.Bytes(), []byte("\n"))
		lines := bytes.Split(want, []byte("\n"))
		for i := range min(len(got), len(lines)) {
			if !bytes.Equal(got[i], lines[i]) {
				t.Fatalf("%s line %d differs from the generator's output:\n file %s\n  gen %s\nIf the generator changed on purpose, rerun with -update.", goldenFile, i+1, lines[i], got[i])
			}
		}
		t.Fatalf("%s has %d lines, the generator %d; rerun with -update if the generator changed on purpose", goldenFile, len(lines), len(got))
	}
	if len(want) > 3<<20 {
		t.Errorf("%s is %d bytes, want it under 3 MB", goldenFile, len(want))
	}
}

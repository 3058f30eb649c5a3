package schemas

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func mustLoad(tb testing.TB) *Set {
	tb.Helper()
	set, err := Load()
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return set
}

func TestLoadCompilesEveryEmbeddedSchema(t *testing.T) {
	set := mustLoad(t)
	want := []string{OrderDecided, OrderPlaced, OrderScored, OrderStatus, OrderValidated}
	if got := set.Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	versions := set.Versions(OrderPlaced)
	if len(versions) != 2 || versions[0].Version != 1 || versions[1].Version != 2 {
		t.Fatalf("Versions(OrderPlaced) = %v, want v1 and v2 in order", versions)
	}
	for _, name := range want {
		s, err := set.Latest(name)
		if err != nil {
			t.Fatalf("Latest(%q): %v", name, err)
		}
		if byFP, ok := set.ByFingerprint(s.Fingerprint); !ok || byFP != s {
			t.Errorf("ByFingerprint(%s fingerprint) = %v, %v; want the same schema", s, byFP, ok)
		}
	}
}

func TestLatestAcceptsShortAndFullNames(t *testing.T) {
	set := mustLoad(t)
	tests := []struct {
		name        string
		wantName    string
		wantVersion int
		wantErr     error
	}{
		{name: OrderPlaced, wantName: OrderPlaced, wantVersion: 2},
		{name: "OrderPlaced", wantName: OrderPlaced, wantVersion: 2},
		{name: "OrderStatus", wantName: OrderStatus, wantVersion: 2},
		{name: "sluice.orders.Nope", wantErr: ErrUnknownSchema},
		{name: "orders.OrderPlaced", wantErr: ErrUnknownSchema},
		{name: "", wantErr: ErrUnknownSchema},
	}
	for _, tt := range tests {
		s, err := set.Latest(tt.name)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Latest(%q) error = %v, want %v", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || s.Name != tt.wantName || s.Version != tt.wantVersion {
			t.Errorf("Latest(%q) = %v, %v; want %s v%d", tt.name, s, err, tt.wantName, tt.wantVersion)
		}
	}
}

func TestLoadErrorNamesTheFile(t *testing.T) {
	const ok = `{"type":"record","name":"Widget","namespace":"t","fields":[{"name":"id","type":"string"}]}`
	tests := []struct {
		desc    string
		file    string
		text    string
		wantMsg string
	}{
		{"bad JSON", "widget.v1.avsc", `{"type":`, "parse schema JSON"},
		{"no version", "widget.avsc", ok, "<snake_name>.v<N>.avsc"},
		{"version zero", "widget.v0.avsc", ok, "positive integer"},
		{"name does not match file", "gadget.v1.avsc", ok, "widget.v1.avsc"},
		{"not a record", "widget.v1.avsc", `"string"`, "want a record"},
		{"unknown type", "widget.v1.avsc", `{"type":"record","name":"Widget","fields":[{"name":"x","type":"Nope"}]}`, `"Nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := loadFS(fstest.MapFS{tt.file: {Data: []byte(tt.text)}})
			if err == nil {
				t.Fatal("loadFS succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.file) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q should name %s and say %q", err, tt.file, tt.wantMsg)
			}
		})
	}
}

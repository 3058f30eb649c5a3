package schemas

import (
	"strings"
	"testing"
)

// The vectors come from the Avro project's own tests (schema-tests.txt and
// goavro's rabin_test.go), not from this implementation.
func TestFingerprintMatchesAvroVectors(t *testing.T) {
	tests := []struct {
		canonical string
		want      uint64
	}{
		{`"null"`, uint64(7195948357588979594)},
		{`"int"`, 0x7275d51a3f395c8f},
		{`"string"`, 0x8f014872634503c7},
	}
	for _, tt := range tests {
		if got := fingerprint([]byte(tt.canonical)); got != tt.want {
			t.Errorf("fingerprint(%s) = %#x, want %#x", tt.canonical, got, tt.want)
		}
	}
}

func TestCanonicalFormFollowsTheSpec(t *testing.T) {
	tests := []struct {
		desc, schema, want string
	}{
		{"primitive object becomes a string", `{"type":"int"}`, `"int"`},
		{"logical type is stripped", `{"type":"long","logicalType":"timestamp-millis"}`, `"long"`},
		{
			"names qualified, attributes stripped and ordered",
			`{"fields":[{"type":{"type":"enum","symbols":["A"],"name":"E"},"name":"e","doc":"x","default":"A"},{"name":"again","type":"E"}],"doc":"d","namespace":"n","name":"R","type":"record"}`,
			`{"name":"n.R","type":"record","fields":[{"name":"e","type":{"name":"n.E","type":"enum","symbols":["A"]}},{"name":"again","type":"n.E"}]}`,
		},
		{"fixed size as integer", `{"type":"fixed","name":"F","size":16.0}`, `{"name":"F","type":"fixed","size":16}`},
		{"map and union", `{"type":"map","values":["null",{"type":"string"}]}`, `{"type":"map","values":["null","string"]}`},
	}
	for _, tt := range tests {
		got, err := canonicalForm(tt.schema)
		if err != nil || got != tt.want {
			t.Errorf("%s: canonicalForm(%s) = %s, %v; want %s", tt.desc, tt.schema, got, err, tt.want)
		}
	}
}

// goavro's canonical form is right except that it writes logical types as
// {"type":"long"}; with that one difference undone, ours must equal it.
func TestCanonicalFormAgreesWithGoavroApartFromLogicalTypes(t *testing.T) {
	set := mustLoad(t)
	for _, name := range set.Names() {
		for _, s := range set.Versions(name) {
			ours, err := canonicalForm(s.Text)
			if err != nil {
				t.Fatal(err)
			}
			goavros := strings.ReplaceAll(s.Codec.CanonicalSchema(), `{"type":"long"}`, `"long"`)
			if ours != goavros {
				t.Errorf("%s:\nours   %s\ngoavro %s", s, ours, goavros)
			}
			if s.Fingerprint != fingerprint([]byte(ours)) {
				t.Errorf("%s: Fingerprint %#x is not the fingerprint of its canonical form", s, s.Fingerprint)
			}
		}
	}
}

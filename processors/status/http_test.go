package status

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestOrderIDsAreBoundedAndNeverEchoedWhole sends IDs of every size class
// through a real HTTP server: an ID over MaxOrderIDBytes is refused with 400
// before any lookup, and no error body repeats more than a short prefix of
// what was sent, whether the view is loading or not.
func TestOrderIDsAreBoundedAndNeverEchoedWhole(t *testing.T) {
	v := NewView(newSerde(t))
	srv := httptest.NewServer(NewHandler(v))
	t.Cleanup(srv.Close)

	huge := strings.Repeat("x", 1_000_000)
	cases := []struct {
		name  string
		id    string
		ready bool
		code  int
	}{
		{"1,000,000 characters", huge, true, http.StatusBadRequest},
		{"1,000,000 characters while loading", huge, false, http.StatusBadRequest},
		{"one byte over the limit", strings.Repeat("y", MaxOrderIDBytes+1), true, http.StatusBadRequest},
		{"at the limit, unknown", strings.Repeat("z", MaxOrderIDBytes), true, http.StatusNotFound},
		{"multi-byte characters over the limit", strings.Repeat("é", MaxOrderIDBytes), true, http.StatusBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v.ready.Store(c.ready)
			resp, err := http.Get(srv.URL + "/orders/" + c.id)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.code {
				t.Fatalf("status %d, want %d; body %.200s", resp.StatusCode, c.code, raw)
			}
			if len(raw) > 512 {
				t.Errorf("error body is %d bytes, want a short message: %.200s...", len(raw), raw)
			}
			var body errorBody
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("body %q is not the JSON error: %v", raw, err)
			}
			if body.Error == "" || body.Hint == "" {
				t.Errorf("body %+v lacks an error or a hint", body)
			}
			if c.code == http.StatusBadRequest && !strings.Contains(body.Error, "longer than the 256") {
				t.Errorf("error %q does not say what the limit is", body.Error)
			}
			if run := strings.Repeat(c.id[:1], echoBytes+1); strings.Contains(body.Error, run) {
				t.Errorf("error echoes more than %d bytes of the ID: %q", echoBytes, body.Error)
			}
		})
	}
}

func TestQuotePrefixCutsAtACharacter(t *testing.T) {
	got := quotePrefix(strings.Repeat("a", echoBytes-1) + "éé")
	if want := `"` + strings.Repeat("a", echoBytes-1) + `"...`; got != want {
		t.Errorf("quotePrefix = %s, want %s (no half character)", got, want)
	}
	if got := quotePrefix("o-1"); got != `"o-1"` {
		t.Errorf("a short ID is quoted whole: %s", got)
	}
}

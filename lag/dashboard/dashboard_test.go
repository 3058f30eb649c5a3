package dashboard

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/lag/monitor"
	"github.com/sluice-dev/sluice/lag/status"
	"github.com/sluice-dev/sluice/lag/timelag"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func TestServesEmbeddedPageWithoutExternalAssets(t *testing.T) {
	s := New()
	for _, p := range []string{"/", "/assets/app.js", "/assets/style.css"} {
		code, body := get(t, s, p)
		if code != http.StatusOK || len(body) < 100 {
			t.Fatalf("GET %s: %d, %d bytes", p, code, len(body))
		}
		if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
			t.Errorf("GET %s refers to an outside URL: the dashboard must work offline", p)
		}
	}
}

func report(at time.Time, groups ...string) monitor.Report {
	r := monitor.Report{Time: at}
	for _, g := range groups {
		r.Groups = append(r.Groups, monitor.Group{Name: g, Lag: 7, Verdict: status.Verdict{Status: status.OK, Reason: "fine"},
			MaxSeconds: timelag.Estimate{Reason: "too few samples"},
			Topics:     []monitor.GroupTopic{{Topic: "orders", Lag: 7, DeadLettered: 2}}})
	}
	return r
}

func TestStateReturnsHistorySinceAndForgetsGoneGroups(t *testing.T) {
	s := New(Keep(3))
	t0 := time.UnixMilli(1_000_000)
	for i := range 5 {
		s.Update(report(t0.Add(time.Duration(i)*time.Second), "validate", "score"))
	}
	s.Update(report(t0.Add(5*time.Second), "validate"))
	_, body := get(t, s, "/api/state")
	var st State
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.History["validate"]) != 3 {
		t.Errorf("kept %d points, want 3", len(st.History["validate"]))
	}
	if _, ok := st.History["score"]; ok {
		t.Error("history of a gone group still served")
	}
	p := st.History["validate"][2]
	if p.Topics["orders"].Lag != 7 || p.Topics[""].DeadLettered != 2 || p.Topics[""].Seconds != nil {
		t.Errorf("point %+v: want lag 7, 2 dead-lettered, unknown seconds as null", p)
	}
	_, body = get(t, s, "/api/state?since="+"1005000")
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if n := len(st.History["validate"]); n != 0 {
		t.Errorf("since the last point: %d points, want 0", n)
	}
	if !strings.Contains(body, `"validate":[]`) {
		t.Errorf("no new points must be an empty list, not null: %s", body)
	}
}

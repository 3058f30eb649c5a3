package status

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// NewHandler serves the view over HTTP:
//
//	GET /orders/{id}  200 with the order's status as JSON, 404 if the view
//	                  has no such order, 503 while the view is still loading
//	GET /healthz      200 while the process is up (liveness)
//	GET /readyz       200 once the view has caught up, 503 before (readiness)
func NewHandler(v *View) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !v.Ready() {
			notReady(w)
			return
		}
		id := r.PathValue("id")
		s, ok := v.Get(id)
		if !ok {
			writeJSON(w, http.StatusNotFound, errorBody{
				Error: fmt.Sprintf("order %q not found", id),
				Hint:  "order IDs are case-sensitive; an order appears here once the validate stage has processed it, usually within seconds of being placed",
			})
			return
		}
		body := statusBody{
			OrderID:   s.OrderID,
			Status:    string(s.State),
			Stage:     s.Stage,
			ChangedAt: s.ChangedAt.UTC().Format(rfc3339Millis),
		}
		if s.Reason != "" {
			body.Reason = &s.Reason
		}
		writeJSON(w, http.StatusOK, body)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !v.Ready() {
			notReady(w)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "orders": v.Len()})
	})
	return mux
}

type statusBody struct {
	OrderID   string  `json:"order_id"`
	Status    string  `json:"status"`
	Reason    *string `json:"reason"` // null when there is nothing to explain
	Stage     string  `json:"stage"`
	ChangedAt string  `json:"changed_at"`
}

type errorBody struct {
	Error string `json:"error"`
	Hint  string `json:"hint,omitempty"`
}

func notReady(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "status view is still loading"})
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	// The status line is out; a failed write means the client went away.
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // reasons like "fraud risk 0.91 >= 0.85" stay readable
	_ = enc.Encode(body)
}

// rfc3339Millis is RFC 3339 with the millisecond precision changed_at has.
const rfc3339Millis = "2006-01-02T15:04:05.000Z07:00"

package status

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// MaxOrderIDBytes is the longest order ID the API looks up. Longer IDs get
// 400 without a lookup: the pipeline's IDs are a few dozen bytes, and a
// request line of megabytes is a mistake or an attack, not an order.
const MaxOrderIDBytes = 256

// echoBytes is the most of a request's input an error body repeats, so a
// huge or hostile input is never sent back whole.
const echoBytes = 64

// NewHandler serves the view over HTTP:
//
//	GET /orders/{id}  200 with the order's status as JSON, 404 if the view
//	                  has no such order, 400 for an ID longer than
//	                  MaxOrderIDBytes, 503 while the view is still loading
//	GET /healthz      200 while the process is up (liveness)
//	GET /readyz       200 once the view has caught up, 503 before (readiness)
//
// Error bodies are JSON ({"error": ..., "hint": ...}) and quote at most the
// first 64 bytes of an ID.
func NewHandler(v *View) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if len(id) > MaxOrderIDBytes {
			writeJSON(w, http.StatusBadRequest, errorBody{
				Error: fmt.Sprintf("order ID %s is %d bytes, longer than the %d this API accepts", quotePrefix(id), len(id), MaxOrderIDBytes),
				Hint:  "GET /orders/{id} takes one order's ID, as in the order_id field of its events",
			})
			return
		}
		if !v.Ready() {
			notReady(w)
			return
		}
		s, ok := v.Get(id)
		if !ok {
			writeJSON(w, http.StatusNotFound, errorBody{
				Error: fmt.Sprintf("order %s not found", quotePrefix(id)),
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

// quotePrefix quotes s, cut to its first echoBytes bytes (at a character
// boundary) and marked with "..." when longer.
func quotePrefix(s string) string {
	if len(s) <= echoBytes {
		return strconv.Quote(s)
	}
	cut := echoBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
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

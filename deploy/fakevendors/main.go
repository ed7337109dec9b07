// Command fakevendors answers on 127.0.0.1 as SendGrid, Twilio, Slack and
// HubSpot answer the calls journeys' drivers make, so a cluster's workers
// send through the real SDK clients without accounts. scripts/cluster.sh
// runs it; every message it accepts is one JSON line in -log (a Delivery),
// which the crash test reads to count what each customer received.
//
//	POST /v3/mail/send                               SendGrid Mail Send: 202 and X-Message-Id
//	POST /2010-04-01/Accounts/{sid}/Messages.json     Twilio Messages: 201 and a message sid
//	POST /api/chat.postMessage                        Slack: ok, channel and ts
//	PATCH|GET /crm/v3/objects/contacts/{email}        HubSpot contact: its id
//	POST /crm/v3/objects/notes                        HubSpot note: 201 and its id
//	GET  /healthz                                     ok, once it listens
//
// A request without its vendor's credentials gets that vendor's 401.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Delivery is one message a fake vendor accepted.
type Delivery struct {
	At     time.Time `json:"at"`
	Vendor string    `json:"vendor"`
	// Key is the journeys idempotency key the message carried (SendGrid's
	// custom_args, Slack's button values, a HubSpot note's last line); an
	// SMS carries none, so To and Text tell texts apart.
	Key  string `json:"key,omitempty"`
	Step string `json:"step,omitempty"`
	To   string `json:"to,omitempty"`
	Text string `json:"text,omitempty"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18090", "listen address")
	logPath := flag.String("log", "vendors.jsonl", "append each accepted message here as a JSON line")
	flag.Parse()
	f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakevendors:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakevendors:", err)
		os.Exit(1)
	}
	fmt.Printf("fake vendors on http://%s, deliveries in %s\n", ln.Addr(), *logPath)
	if err := http.Serve(ln, newServer(f)); err != nil {
		fmt.Fprintln(os.Stderr, "fakevendors:", err)
		os.Exit(1)
	}
}

type server struct {
	mu  sync.Mutex
	log io.Writer
	seq atomic.Int64
}

func newServer(log io.Writer) http.Handler {
	s := &server{log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("POST /v3/mail/send", s.sendgrid)
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", s.twilio)
	mux.HandleFunc("POST /api/chat.postMessage", s.slack)
	mux.HandleFunc("/crm/v3/objects/contacts/{email}", s.hubspotContact)
	mux.HandleFunc("POST /crm/v3/objects/notes", s.hubspotNote)
	return mux
}

// record appends d to the log; the mutex keeps lines whole.
func (s *server) record(d Delivery) {
	d.At = time.Now().UTC()
	b, _ := json.Marshal(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log.Write(append(b, '\n'))
}

func (s *server) id(prefix string) string { return fmt.Sprintf("%s%d", prefix, s.seq.Add(1)) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *server) sendgrid(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": []map[string]any{
			{"message": "The provided authorization grant is invalid, expired, or revoked", "field": nil, "help": nil}}})
		return
	}
	var m struct {
		Personalizations []struct {
			To []struct {
				Email string `json:"email"`
			} `json:"to"`
		} `json:"personalizations"`
		CustomArgs map[string]string `json:"custom_args"`
	}
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil || len(m.Personalizations) == 0 || len(m.Personalizations[0].To) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []map[string]any{
			{"message": "The personalizations field is required and must have at least one personalization.", "field": "personalizations", "help": nil}}})
		return
	}
	s.record(Delivery{Vendor: "sendgrid", Key: m.CustomArgs["idempotency_key"], Step: m.CustomArgs["journey_step"],
		To: m.Personalizations[0].To[0].Email})
	w.Header().Set("X-Message-Id", s.id("sg-"))
	w.WriteHeader(http.StatusAccepted)
}

func (s *server) twilio(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := r.BasicAuth(); !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"code": 20003, "message": "Authenticate", "status": 401})
		return
	}
	to, body := r.PostFormValue("To"), r.PostFormValue("Body")
	if to == "" || body == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": 21604, "message": "A 'To' phone number is required.", "status": 400})
		return
	}
	s.record(Delivery{Vendor: "twilio", To: to, Text: body})
	sid := s.id("SM")
	writeJSON(w, http.StatusCreated, map[string]any{"sid": sid, "account_sid": r.PathValue("sid"), "to": to, "status": "queued"})
}

// buttonValue finds Slack's acknowledge button's value in blocks: the
// alert's idempotency key.
var buttonValue = regexp.MustCompile(`"action_id":"journeys_ack"[^}]*"value":"([^"]+)"|"value":"([^"]+)"[^}]*"action_id":"journeys_ack"`)

func (s *server) slack(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") && r.PostFormValue("token") == "" {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "not_authed"})
		return
	}
	channel := r.PostFormValue("channel")
	if channel == "" {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	key := ""
	if m := buttonValue.FindStringSubmatch(r.PostFormValue("blocks")); m != nil {
		key = m[1] + m[2]
	}
	s.record(Delivery{Vendor: "slack", Key: key, To: channel})
	ts := fmt.Sprintf("%d.%06d", time.Now().Unix(), s.seq.Add(1))
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": channel, "ts": ts})
}

func hubspotAuthed(w http.ResponseWriter, r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		return true
	}
	writeJSON(w, http.StatusUnauthorized, map[string]any{"status": "error", "category": "INVALID_AUTHENTICATION",
		"message": "Authentication credentials not found."})
	return false
}

// hubspotContact answers every contact by email with an id of its own.
func (s *server) hubspotContact(w http.ResponseWriter, r *http.Request) {
	if !hubspotAuthed(w, r) {
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodPatch:
		writeJSON(w, http.StatusOK, map[string]any{"id": contactID(r.PathValue("email")), "properties": map[string]string{}})
	case http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func contactID(email string) string {
	var h uint32 = 2166136261
	for i := 0; i < len(email); i++ {
		h = (h ^ uint32(email[i])) * 16777619
	}
	return fmt.Sprint(h)
}

// noteKey is the idempotency key on a journeys note's last line.
var noteKey = regexp.MustCompile(`idempotency key ([^<\s"]+)`)

func (s *server) hubspotNote(w http.ResponseWriter, r *http.Request) {
	if !hubspotAuthed(w, r) {
		return
	}
	var n struct {
		Properties map[string]string `json:"properties"`
	}
	if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"status": "error", "category": "VALIDATION_ERROR", "message": "Invalid input JSON"})
		return
	}
	key := ""
	if m := noteKey.FindStringSubmatch(n.Properties["hs_note_body"]); m != nil {
		key = m[1]
	}
	s.record(Delivery{Vendor: "hubspot", Key: key})
	writeJSON(w, http.StatusCreated, map[string]any{"id": s.id(""), "properties": n.Properties})
}

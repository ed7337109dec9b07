// Package outbox is the delivery driver every channel uses when no vendor
// credentials are configured: each message is printed as one readable line
// and appended as one JSON line to a file (.data/outbox.jsonl in dev).
//
// It is idempotent like a real driver must be: a message whose idempotency
// key is already in the file is not written again, across activity retries
// and process restarts.
package outbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/journeyshq/journeys/messages"
)

// Record is one line of the outbox file.
type Record struct {
	ID             string            `json:"id"`
	At             time.Time         `json:"at"`
	Channel        messages.Channel  `json:"channel"`
	To             string            `json:"to"`
	Template       string            `json:"template,omitempty"`
	Subject        string            `json:"subject,omitempty"`
	Body           string            `json:"body,omitempty"`
	Properties     map[string]string `json:"properties,omitempty"`
	CustomerID     string            `json:"customer"`
	Step           string            `json:"step"`
	IdempotencyKey string            `json:"idempotency_key"`
	// Experiment is "experiment=variant" on a message a variant planned.
	Experiment string `json:"experiment,omitempty"`
	// Class is the message's class (marketing, lifecycle, transactional).
	Class string `json:"class,omitempty"`
	// Headers are an email's extra headers, such as List-Unsubscribe.
	Headers map[string]string `json:"headers,omitempty"`

	// Action and InvoiceID are a billing record's account action (suspend,
	// restore) and the invoice it is about; Body is its reason and To the
	// customer whose account it is.
	Action    string `json:"action,omitempty"`
	InvoiceID string `json:"invoice_id,omitempty"`
}

// Outbox writes messages to a file and a console. It is safe for concurrent use.
type Outbox struct {
	mu      sync.Mutex
	path    string
	file    *os.File
	console io.Writer
	sent    map[string]string // idempotency key -> record ID
	// last is the highest record number used, so that IDs stay unique
	// after DeleteCustomer removes records.
	last int
	now  func() time.Time
}

// Open opens (creating it if needed) the outbox file at path, readable and
// writable by its owner only, and reads the idempotency keys already in it.
// Lines are echoed to console unless it is nil.
func Open(path string, console io.Writer) (*Outbox, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	records, err := ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// The file holds whole messages, addresses and bodies: owner-only,
	// also when it was left with wider permissions (OpenFile's mode only
	// applies to a file it creates).
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	o := &Outbox{path: path, file: f, console: console, sent: map[string]string{}, now: time.Now}
	for _, r := range records {
		o.sent[r.IdempotencyKey] = r.ID
		if n, err := strconv.Atoi(strings.TrimPrefix(r.ID, idPrefix)); err == nil {
			o.last = max(o.last, n)
		}
	}
	return o, nil
}

// idPrefix starts every record ID: outbox-1, outbox-2…
const idPrefix = "outbox-"

// openAppend opens path for appending, owner-only.
func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return f, nil
}

// Close closes the file.
func (o *Outbox) Close() error { return o.file.Close() }

// SendEmail writes an email.
func (o *Outbox) SendEmail(_ context.Context, e messages.Email) (messages.Receipt, error) {
	return o.write(Record{Channel: messages.ChannelEmail, To: e.To, Subject: e.Subject, Body: e.Text, Headers: e.Headers}, e.Meta)
}

// SendSMS writes a text message.
func (o *Outbox) SendSMS(_ context.Context, s messages.SMS) (messages.Receipt, error) {
	return o.write(Record{Channel: messages.ChannelSMS, To: s.To, Body: s.Text}, s.Meta)
}

// AlertCSM writes a CSM alert.
func (o *Outbox) AlertCSM(_ context.Context, a messages.Alert) (messages.Receipt, error) {
	to := a.CSM
	if to == "" {
		to = "#csm-team"
	}
	return o.write(Record{Channel: messages.ChannelAlert, To: to, Body: a.Text}, a.Meta)
}

// UpdateContact writes a CRM update.
func (o *Outbox) UpdateContact(_ context.Context, u messages.CRMUpdate) (messages.Receipt, error) {
	return o.write(Record{Channel: messages.ChannelCRM, To: u.Email, Body: u.Note, Properties: u.Properties}, u.Meta)
}

// SuspendAccount writes an account suspension for the billing system.
func (o *Outbox) SuspendAccount(_ context.Context, a messages.AccountAction) (messages.Receipt, error) {
	return o.accountAction(messages.AccountSuspend, a)
}

// RestoreAccount writes an account restoration for the billing system.
func (o *Outbox) RestoreAccount(_ context.Context, a messages.AccountAction) (messages.Receipt, error) {
	return o.accountAction(messages.AccountRestore, a)
}

// accountAction writes a billing record. The method called decides the
// action, as a billing API's endpoint would, whatever a.Action says.
func (o *Outbox) accountAction(action string, a messages.AccountAction) (messages.Receipt, error) {
	return o.write(Record{Channel: messages.ChannelBilling, To: a.CustomerID, Action: action, InvoiceID: a.InvoiceID, Body: a.Reason}, a.Meta)
}

func (o *Outbox) write(r Record, m messages.Meta) (messages.Receipt, error) {
	if m.IdempotencyKey == "" {
		return messages.Receipt{}, messages.Permanent("no_idempotency_key", errors.New("outbox: message has no idempotency key"))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if id, ok := o.sent[m.IdempotencyKey]; ok {
		return messages.Receipt{ID: id, Duplicate: true}, nil
	}
	r.ID = fmt.Sprintf("%s%d", idPrefix, o.last+1)
	r.At = o.now().UTC()
	r.CustomerID, r.Step, r.Template, r.IdempotencyKey = m.CustomerID, m.Step, m.Template, m.IdempotencyKey
	r.Experiment, r.Class = m.Experiment, m.Class
	line, err := json.Marshal(r)
	if err != nil {
		return messages.Receipt{}, fmt.Errorf("outbox: encode: %w", err)
	}
	if _, err := o.file.Write(append(line, '\n')); err != nil {
		return messages.Receipt{}, fmt.Errorf("outbox: write: %w", err)
	}
	// The file is the ledger that keeps retries from sending twice: it must
	// be on disk before the activity reports success.
	if err := o.file.Sync(); err != nil {
		return messages.Receipt{}, fmt.Errorf("outbox: sync: %w", err)
	}
	o.sent[m.IdempotencyKey] = r.ID
	o.last++
	if o.console != nil {
		fmt.Fprintln(o.console, r.String())
	}
	return messages.Receipt{ID: r.ID}, nil
}

// String is the record as one readable console line. The console is a log:
// it shows addresses masked, and of a message only its subject or length,
// never its body (outbox.jsonl holds the whole record).
func (r Record) String() string {
	var what string
	switch r.Channel {
	case messages.ChannelEmail:
		what = fmt.Sprintf("%q", r.Subject)
	case messages.ChannelCRM:
		keys := make([]string, 0, len(r.Properties))
		for k := range r.Properties {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		props := make([]string, 0, len(keys))
		for _, k := range keys {
			props = append(props, k+"="+r.Properties[k])
		}
		what = strings.Join(props, " ")
		if r.Body != "" {
			what += fmt.Sprintf(" note=(%d chars)", utf8.RuneCountInString(r.Body))
		}
	case messages.ChannelBilling:
		what = r.Action
		if r.InvoiceID != "" {
			what += " invoice=" + r.InvoiceID
		}
		what += fmt.Sprintf(" reason=%q", r.Body)
	default:
		what = fmt.Sprintf("(%d chars)", utf8.RuneCountInString(r.Body))
	}
	tmpl := ""
	if r.Template != "" {
		tmpl = " [" + r.Template + "]"
	}
	return fmt.Sprintf("outbox %-5s → %s%s %s (%s %s)", r.Channel, messages.MaskAddress(r.To), tmpl, what, r.CustomerID, r.Step)
}

// ReadFile reads every record of an outbox file.
func ReadFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("outbox: %s line %d: %w", path, n, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("outbox: read %s: %w", path, err)
	}
	return out, nil
}

package outbox

// This file removes a customer's records (erasure); outbox.go writes them.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DeleteCustomer rewrites the file without customerID's records (those
// whose customer is customerID, or whose idempotency key is one of the
// customer's journey keys, "customer:<id>/...") and returns how many it
// removed. It holds the lock that writes take, writes the rest to a
// temporary file beside the outbox and renames it over the outbox, so a
// crash leaves either the old file or the new one, never half of one.
// Their keys are forgotten: a message sent again afterwards is written.
func (o *Outbox) DeleteCustomer(customerID string) (int, error) {
	if customerID == "" {
		return 0, fmt.Errorf("outbox: delete customer: empty customer ID")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	records, err := ReadFile(o.path)
	if err != nil {
		return 0, err
	}
	var keep bytes.Buffer
	removed := 0
	for _, r := range records {
		if r.CustomerID == customerID || strings.HasPrefix(r.IdempotencyKey, "customer:"+customerID+"/") {
			delete(o.sent, r.IdempotencyKey)
			removed++
			continue
		}
		line, err := json.Marshal(r)
		if err != nil {
			return 0, fmt.Errorf("outbox: delete customer: encode: %w", err)
		}
		keep.Write(append(line, '\n'))
	}
	if removed == 0 {
		return 0, nil
	}
	if err := o.replace(keep.Bytes()); err != nil {
		return 0, err
	}
	return removed, nil
}

// replace puts data in place of the file, durably, and reopens it for
// appending. The caller holds o.mu.
func (o *Outbox) replace(data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(o.path), filepath.Base(o.path)+".erase-*")
	if err != nil {
		return fmt.Errorf("outbox: delete customer: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), o.path)
	}
	if err != nil {
		return fmt.Errorf("outbox: delete customer: %w", err)
	}
	f, err := openAppend(o.path)
	if err != nil {
		return err
	}
	o.file.Close() // the old file, now unlinked
	o.file = f
	return nil
}

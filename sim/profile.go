package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/journeyshq/journeys/signals"
)

// Profile is the simulated customer: what their signed_up event says.
type Profile struct {
	CustomerID string `yaml:"customer_id" json:"customer_id"`
	Name       string `yaml:"name" json:"name,omitempty"`
	Email      string `yaml:"email" json:"email"`
	// Phone is in E.164 form; SMS goes to it only with SMSConsent.
	Phone      string `yaml:"phone" json:"phone,omitempty"`
	SMSConsent bool   `yaml:"sms_consent" json:"sms_consent,omitempty"`
	Plan       string `yaml:"plan" json:"plan,omitempty"`
	Seats      int    `yaml:"seats" json:"seats,omitempty"`
	// MRR is in Currency's minor unit (cents): 49900 is $499.00.
	MRR      int64  `yaml:"mrr" json:"mrr,omitempty"`
	Currency string `yaml:"currency" json:"currency,omitempty"`
	// Timezone is an IANA zone name; the timeline is printed in it.
	Timezone string `yaml:"timezone" json:"timezone,omitempty"`
	// CSM is the customer-success manager's Slack user ID or email.
	CSM string `yaml:"csm" json:"csm,omitempty"`
}

// DefaultProfile is the customer simulated when nothing else is said: a
// pro customer in New York with a CSM and a phone that takes texts, so every
// channel shows.
func DefaultProfile() Profile {
	return Profile{
		CustomerID: "sim-1",
		Name:       "Ana Lima",
		Email:      "ana@example.com",
		Phone:      "+15555550100",
		SMSConsent: true,
		Plan:       "pro",
		Seats:      5,
		MRR:        49900,
		Currency:   "USD",
		Timezone:   "America/New_York",
		CSM:        "U0CSM01",
	}
}

// LoadProfile reads a YAML profile file. Fields the file leaves out keep
// DefaultProfile's values; an unknown field is an error, so a typo does not
// silently simulate the default.
func LoadProfile(path string) (Profile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Profile{}, fmt.Errorf("read profile: %w", err)
	}
	p, err := ParseProfile(raw)
	if err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", path, err)
	}
	return p, nil
}

// ParseProfile decodes a YAML profile over DefaultProfile.
func ParseProfile(raw []byte) (Profile, error) {
	p := DefaultProfile()
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil && !errors.Is(err, io.EOF) {
		return Profile{}, fmt.Errorf("decode YAML: %w", err)
	}
	return p, nil
}

// Location is the profile's time zone; UTC when it is unset.
func (p Profile) Location() (*time.Location, error) {
	if p.Timezone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(p.Timezone)
	if err != nil {
		return nil, fmt.Errorf("profile timezone %q is not an IANA time zone name (like America/New_York)", p.Timezone)
	}
	return loc, nil
}

// signedUp is the profile as signed_up data.
func (p Profile) signedUp() signals.SignedUpData {
	return signals.SignedUpData{
		Name: p.Name, Email: p.Email, Phone: p.Phone, Timezone: p.Timezone, Plan: p.Plan,
		Seats: p.Seats, CSM: p.CSM, SMSConsent: p.SMSConsent, MRR: p.MRR, Currency: p.Currency,
	}
}

// Validate checks the profile as the edge checks a signed_up event, and
// names the profile's field, not the event's, in its error.
func (p Profile) Validate(at time.Time) error {
	if err := signals.ValidateCustomerID(p.CustomerID); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	ev, err := signals.NewEvent("profile", p.CustomerID, signals.SignedUp, at, p.signedUp())
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if err := ev.Validate(at); err != nil {
		var fe *signals.FieldError
		if errors.As(err, &fe) {
			return fmt.Errorf("profile: %s: %s", strings.TrimPrefix(fe.Field, "data."), fe.Message)
		}
		return fmt.Errorf("profile: %w", err)
	}
	return nil
}

// profileJSON is the profile as signed_up data fields, the base a script's
// signed_up line overrides.
func (p Profile) profileJSON() (map[string]json.RawMessage, error) {
	raw, err := json.Marshal(p.signedUp())
	if err != nil {
		return nil, fmt.Errorf("encode profile: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("decode profile: %w", err)
	}
	return fields, nil
}

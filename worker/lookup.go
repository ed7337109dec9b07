package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"

	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/integrations/twilio"
	"github.com/journeyshq/journeys/internal/keyfile"
)

// lookupKey returns the key of workflows.PhoneHash, by which an inbound
// text (a STOP) finds its customers.
// JOURNEYS_LOOKUP_KEY wins; in dev mode a key is generated once into the
// data directory, so that the hashes journeys set survive restarts. Outside
// dev mode there is no default: every worker and API process must share
// one key, which a key made per process would break. Then key is nil:
// journeys set no PhoneHash and the Twilio inbound webhook answers 404.
func lookupKey(cfg config) ([]byte, error) {
	if s := cfg.getenv(api.EnvLookupKey); s != "" {
		return api.ParseLookupKey(s)
	}
	if !cfg.Dev {
		return nil, nil
	}
	return loadOrCreateLookupKey(lookupKeyFile(cfg.DataDir))
}

// lookupKeyFile is the key file a dev worker keeps under its data directory.
func lookupKeyFile(dataDir string) string { return filepath.Join(dataDir, "lookup.key") }

func loadOrCreateLookupKey(path string) ([]byte, error) {
	b, err := keyfile.ReadOrCreate(path, func() ([]byte, error) {
		key := make([]byte, api.MinLookupKeyBytes)
		_, _ = rand.Read(key) // never fails (crypto/rand)
		return []byte(base64.StdEncoding.EncodeToString(key) + "\n"), nil
	})
	if err != nil {
		return nil, fmt.Errorf("lookup key: %w", err)
	}
	key, err := api.ParseLookupKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("lookup key file %s: %w", path, err)
	}
	return key, nil
}

// consentSettings checks, before Temporal is dialed, the settings of the
// consent webhooks that the events API serves.
func consentSettings(cfg config) error {
	if s := cfg.getenv(api.EnvPublicURL); s != "" {
		if _, err := api.ParsePublicURL(s); err != nil {
			return fmt.Errorf("events API: %w", err)
		}
	}
	if s := cfg.getenv(api.EnvSendGridWebhookPublicKey); s != "" {
		if _, err := api.ParseSendGridPublicKey(s); err != nil {
			return fmt.Errorf("events API: %w", err)
		}
	}
	return nil
}

// inboundSMSMissing lists what is missing for STOPs texted to a configured
// Twilio sender to reach the journeys; nil when nothing is, or Twilio is
// not configured. Without them Twilio still blocks texts to that customer,
// but the journey does not know it.
func inboundSMSMissing(cfg config, key []byte) []string {
	if cfg.getenv(twilio.EnvAuthToken) == "" {
		return nil
	}
	var missing []string
	if key == nil {
		missing = append(missing, api.EnvLookupKey)
	}
	if cfg.runsAPI() && cfg.getenv(api.EnvPublicURL) == "" {
		missing = append(missing, api.EnvPublicURL)
	}
	return missing
}

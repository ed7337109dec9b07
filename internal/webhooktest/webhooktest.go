// Package webhooktest signs requests as the vendors whose webhooks the edge
// verifies sign them, for the tests of package api and the end-to-end
// tests: computed here from the vendors' documentation, independently of
// the SDK code the edge verifies with.
package webhooktest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// TwilioSignature is X-Twilio-Signature as Twilio documents it: base64 of
// the HMAC-SHA1, under the auth token, of the full URL followed by every
// posted parameter's name and value, sorted by name.
func TwilioSignature(token, fullURL string, form url.Values) string {
	s := fullURL
	for _, k := range slices.Sorted(maps.Keys(form)) {
		s += k + form.Get(k)
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SendGridKey is a Signed Event Webhook key pair as SendGrid holds it;
// Public is the verification key as its UI shows it: base64 of the PKIX DER.
type SendGridKey struct {
	Private *ecdsa.PrivateKey
	Public  string
}

// NewSendGridKey makes a P-256 key pair, as SendGrid does.
func NewSendGridKey() (SendGridKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return SendGridKey{}, err
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return SendGridKey{}, err
	}
	return SendGridKey{Private: priv, Public: base64.StdEncoding.EncodeToString(der)}, nil
}

// Sign returns the signature and timestamp headers of body sent at ts, as
// SendGrid makes them: base64 of the ASN.1 ECDSA signature of
// SHA-256(timestamp + body), and the Unix time.
func (k SendGridKey) Sign(body string, ts time.Time) (signature, timestamp string, err error) {
	timestamp = strconv.FormatInt(ts.Unix(), 10)
	signature, err = k.SignTimestamp(body, timestamp)
	return signature, timestamp, err
}

// SignTimestamp is Sign with the timestamp header as given, even one that
// is not a Unix time.
func (k SendGridKey) SignTimestamp(body, timestamp string) (string, error) {
	digest := sha256.Sum256([]byte(timestamp + body))
	sig, err := ecdsa.SignASN1(rand.Reader, k.Private, digest[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

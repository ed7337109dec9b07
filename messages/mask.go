package messages

import (
	"strings"
	"unicode/utf8"
)

// MaskAddress hides most of an email address or phone number, for console
// lines and logs, which must never hold a customer's contact details:
// "ana@example.com" → "a…@example.com", "+15551234567" → "+1…67". Other
// addresses (a Slack channel, a customer ID) are returned as they are.
func MaskAddress(to string) string {
	if local, domain, ok := strings.Cut(to, "@"); ok {
		if local == "" {
			return "…@" + domain
		}
		_, size := utf8.DecodeRuneInString(local)
		return local[:size] + "…@" + domain
	}
	if strings.HasPrefix(to, "+") && len(to) > 5 {
		return to[:2] + "…" + to[len(to)-2:]
	}
	return to
}

// Package vendorhttp holds what every vendor driver needs around HTTP: the
// server's requested delay (Retry-After), base-URL checks, keeping
// personal data out of error text, and a Client for the vendors whose JSON
// APIs are called without an SDK, which sorts their answers into the
// activities' error kinds.
package vendorhttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter caps a vendor's requested delay: beyond it the activity's
// own retry budget decides.
const MaxRetryAfter = time.Hour

// RetryAfter reads a Retry-After header (seconds or an HTTP date, relative
// to now) as a delay in [0, MaxRetryAfter]; 0 when absent or unreadable.
func RetryAfter(header string, now time.Time) time.Duration {
	v := strings.TrimSpace(header)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		return Cap(time.Duration(secs) * time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		return Cap(t.Sub(now))
	}
	return 0
}

// Cap clamps a delay to [0, MaxRetryAfter].
func Cap(d time.Duration) time.Duration {
	switch {
	case d <= 0:
		return 0
	case d > MaxRetryAfter:
		return MaxRetryAfter
	}
	return d
}

// ParseURL parses a vendor base URL: absolute http(s), without user info, a
// query or a fragment (SDKs append paths to it). Its errors complete a
// sentence that starts with the variable's name and leave the value out,
// since a URL may carry credentials.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("is not a valid URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("must be an absolute http(s) URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, errors.New("must not carry user info, a query or a fragment")
	}
	return u, nil
}

// ParseCallbackURL parses a URL a vendor calls back (a status webhook):
// absolute http(s), whose query, unlike a base URL's, is kept.
func ParseCallbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("is not a valid URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("must be an absolute http(s) URL")
	}
	return u, nil
}

// ReplaceFold replaces every ASCII-case-insensitive occurrence of old in s,
// to scrub an address a vendor quoted back in its error message.
func ReplaceFold(s, old, repl string) string {
	if old == "" {
		return s
	}
	ls, lo := asciiLower(s), asciiLower(old)
	var b strings.Builder
	for {
		i := strings.Index(ls, lo)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, ls = s[i+len(old):], ls[i+len(old):]
	}
}

// asciiLower lowers ASCII letters only, so byte offsets stay the same.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// Shorten cuts s to at most n bytes on a rune boundary, marking the cut.
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// Transport is a clone of http.DefaultTransport, not the global itself, so a
// driver's connection pool and settings are its own.
func Transport() http.RoundTripper {
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		return dt.Clone()
	}
	return &http.Transport{Proxy: http.ProxyFromEnvironment}
}

// NewClient is a vendor API client over rt whose every call, connection to
// last byte, ends within timeout, and which does not follow redirects: a
// redirect is an answer to report, since net/http would turn a POST into a
// GET and could carry credentials to another host.
func NewClient(rt http.RoundTripper, timeout time.Duration) *http.Client {
	return &http.Client{
		Transport:     rt,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// EscapeSegment escapes s for one URL path segment. url.PathEscape leaves
// '+' alone, which is valid in a path, but a server that decodes it as a
// space would act on another resource (ana+trial@… is a common address),
// so it is escaped too.
func EscapeSegment(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "+", "%2B")
}

// TransportError describes a call that got no answer: refused connection,
// reset, the client's timeout, or the caller's context ending. A
// *url.Error's text quotes the method and URL, which may hold customer data
// (an email address in the path), so only its cause is kept.
func TransportError(ctx context.Context, err error, timeout time.Duration) error {
	if ctx.Err() != nil {
		return fmt.Errorf("request abandoned: %w", ctx.Err())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("no answer within %s: %w", timeout, ue.Err)
		}
		err = ue.Err
	}
	return fmt.Errorf("request failed: %w", err)
}

package main

import (
	"fmt"
	"io"
	"net"
	"net/url"

	"github.com/journeyshq/journeys/activities"
	"github.com/journeyshq/journeys/api"
	"github.com/journeyshq/journeys/links"
	"github.com/journeyshq/journeys/playbook"
)

// emailLinks are the keys that sign unsubscribe and preference links and
// the signer email footers use, nil when links cannot be made.
type emailLinks struct {
	keys   links.Keys
	source string // where the keys came from, for the banner
	linker *links.Linker
}

// linkSettings reads JOURNEYS_LINK_KEYS and JOURNEYS_PUBLIC_URL. In dev
// mode the keys default to a key file in the data directory and the URL to
// the HTTP address. Outside it, a worker whose playbook sends marketing
// email must have both: that email never goes without its unsubscribe link.
func linkSettings(cfg config, httpAddr string, pb playbook.Playbook) (emailLinks, error) {
	var l emailLinks
	keys, ok, err := links.KeysFromEnv(cfg.getenv)
	if err != nil {
		return l, err
	}
	if ok {
		l.keys, l.source = keys, links.EnvKeys
	} else if cfg.Dev {
		l.source = links.DevKeyFile(cfg.DataDir)
		if l.keys, err = links.LoadOrCreateDevKeys(l.source); err != nil {
			return l, err
		}
	}
	base, err := linkBaseURL(cfg, httpAddr)
	if err != nil {
		return l, err
	}
	if l.keys.Len() > 0 && base != "" {
		l.linker = &links.Linker{Keys: l.keys, BaseURL: base}
		return l, nil
	}
	if cfg.runsWorker() && pb.SendsMarketingEmail() {
		return l, fmt.Errorf("email links: the playbook sends marketing email, which needs an unsubscribe link: set %s and %s", links.EnvKeys, api.EnvPublicURL)
	}
	return l, nil
}

// wire gives the email activity its footers' brand and link signer.
func (l emailLinks) wire(acts *activities.Activities, brand activities.Brand) {
	acts.Brand = brand
	if l.linker != nil { // a nil *Linker in the interface would not be nil
		acts.Links = l.linker
	}
}

// print tells where email footers link, for the banner.
func (l emailLinks) print(out io.Writer) {
	if l.linker == nil {
		fmt.Fprintf(out, "  Email links      none: footers go without unsubscribe and preference links (set %s and %s)\n", links.EnvKeys, api.EnvPublicURL)
		return
	}
	fmt.Fprintf(out, "  Email links      %s%s, %s  (keys from %s)\n", l.linker.BaseURL, links.UnsubscribePath, links.PreferencesPath, l.source)
}

// linkBaseURL is the public URL links open, "" when there is none. Outside
// dev mode it must be https, but for a loopback host: mail clients only
// offer one-click unsubscribe over https.
func linkBaseURL(cfg config, httpAddr string) (string, error) {
	s := cfg.getenv(api.EnvPublicURL)
	if s == "" {
		if cfg.Dev {
			return "http://" + httpAddr, nil
		}
		return "", nil
	}
	base, err := api.ParsePublicURL(s)
	if err != nil {
		return "", fmt.Errorf("email links: %w", err)
	}
	u, _ := url.Parse(base) // ParsePublicURL parsed it
	if ip := net.ParseIP(u.Hostname()); !cfg.Dev && u.Scheme != "https" && u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", fmt.Errorf("email links: %s %q: want https, which one-click unsubscribe needs", api.EnvPublicURL, s)
	}
	return base, nil
}

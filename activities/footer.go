package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/activity"

	"github.com/journeyshq/journeys/links"
	"github.com/journeyshq/journeys/messages"
	"github.com/journeyshq/journeys/playbook"
)

// LinkSigner makes the signed URL of an unsubscribe or preference link
// (links.Linker).
type LinkSigner interface {
	URL(c links.Claims) (string, error)
}

// Brand is who an email's footer says sent it.
type Brand struct {
	// Name is the product's name, as the playbook sets it.
	Name string
	// PostalAddress is the sender's postal address, which marketing email
	// must show (the playbook's postal_address).
	PostalAddress string
}

// emailClass is the class an email's footer is chosen by. An email without
// one (from a history older than classes) is treated as marketing: a
// needless unsubscribe link does no harm, a missing one breaks the law.
func emailClass(m messages.Meta) string {
	switch m.Class {
	case playbook.ClassTransactional, playbook.ClassLifecycle:
		return m.Class
	}
	return playbook.ClassMarketing
}

// footer adds the class's links and the brand's address to rendered email r
// and returns the headers it needs: marketing email gets an unsubscribe and
// a preference link and List-Unsubscribe; lifecycle email the preference
// link; transactional email nothing.
func (a *Activities) footer(ctx context.Context, r map[string]string, m messages.Meta) (map[string]string, error) {
	customerID, class, step := m.CustomerID, m.Class, m.Step
	if class == playbook.ClassTransactional {
		return nil, nil
	}
	if a.Links == nil {
		// The worker always sets Links when the playbook sends marketing
		// email (worker/links.go); only hand-built Activities get here.
		if class == playbook.ClassMarketing && activity.IsActivity(ctx) {
			activity.GetLogger(ctx).Warn("Marketing email sent without an unsubscribe link: no link signer configured", "Step", step)
		}
		return nil, nil
	}
	f := messages.Footer{Brand: a.Brand.Name, PostalAddress: a.Brand.PostalAddress}
	var err error
	claims := links.Claims{CustomerID: customerID, Channel: string(messages.ChannelEmail), Class: class, Purpose: links.PurposePreferences}
	if f.PreferencesURL, err = a.Links.URL(claims); err != nil {
		return nil, fmt.Errorf("sign preference link: %w", err)
	}
	var headers map[string]string
	if class == playbook.ClassMarketing {
		claims.Purpose = links.PurposeUnsubscribe
		if f.UnsubscribeURL, err = a.Links.URL(claims); err != nil {
			return nil, fmt.Errorf("sign unsubscribe link: %w", err)
		}
		headers = map[string]string{
			messages.HeaderListUnsubscribe:     "<" + f.UnsubscribeURL + ">",
			messages.HeaderListUnsubscribePost: messages.OneClick,
		}
	}
	return headers, messages.AddFooter(r, f)
}

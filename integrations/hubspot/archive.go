package hubspot

// This file archives a contact (erasure); hubspot.go records journey facts.

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/journeyshq/journeys/integrations/internal/vendorhttp"
)

// The calls an archive makes, as errors name them.
const (
	opArchiveFind    = "find contact to archive"
	opArchiveContact = "archive contact"
)

// ArchiveContact archives the HubSpot contact whose email is email, for
// customerID's erasure: it finds the contact's ID as UpdateContact does
// (GET /crm/v3/objects/contacts/{email}?idProperty=email), then
// DELETE /crm/v3/objects/contacts/{id}, which HubSpot answers 204 and which
// moves the contact to the recycling bin (HubSpot purges it after 90 days,
// or at once through its GDPR delete). archived is false when no contact
// has that email (404), which is not an error. Errors are classified as
// UpdateContact's and never contain the address.
func (c *Client) ArchiveContact(ctx context.Context, customerID, email string) (archived bool, err error) {
	tgt := target{who: "customer " + customerID, email: strings.TrimSpace(email)}
	if tgt.email == "" {
		return false, tgt.wrap(opArchiveFind, fmt.Errorf("contact has no email address"))
	}
	find := vendorhttp.Request{Method: http.MethodGet, URL: c.api.URL(ContactsPath, "idProperty=email", tgt.email)}
	ans, err := c.api.Call(ctx, find, tgt.archivePolicy(opArchiveFind))
	if err != nil || ans.Status == http.StatusNotFound {
		return false, err
	}
	id, err := objectID(ans.Body)
	if err != nil {
		return false, tgt.wrap(opArchiveFind, fmt.Errorf("http %d: %w", ans.Status, err))
	}
	del := vendorhttp.Request{Method: http.MethodDelete, URL: c.api.URL(ContactsPath, "", id)}
	ans, err = c.api.Call(ctx, del, tgt.archivePolicy(opArchiveContact))
	if err != nil {
		return false, err
	}
	// A contact archived between the two calls is gone all the same.
	return ans.Status != http.StatusNotFound, nil
}

// archivePolicy is op's policy with 404 as an answer, not an error: the
// contact is not there to archive.
func (tgt target) archivePolicy(op string) vendorhttp.Policy {
	p := tgt.policy(op)
	p.Done = append(p.Done, http.StatusNotFound)
	return p
}

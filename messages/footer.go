package messages

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"text/template"
)

// Headers of a marketing email (RFC 2369, RFC 8058): mail clients show an
// unsubscribe button that POSTs List-Unsubscribe-Post's body to the URL.
const (
	HeaderListUnsubscribe     = "List-Unsubscribe"
	HeaderListUnsubscribePost = "List-Unsubscribe-Post"
	// OneClick is List-Unsubscribe-Post's value and the body of the POST.
	OneClick = "List-Unsubscribe=One-Click"
)

// Footer is what an email's footer shows; an empty field is left out.
type Footer struct {
	// Brand names the sender, such as the playbook's product.
	Brand string
	// UnsubscribeURL unsubscribes from marketing email (marketing only).
	UnsubscribeURL string
	// PreferencesURL opens the preference page.
	PreferencesURL string
	// PostalAddress is the brand's postal address (CAN-SPAM).
	PostalAddress string
}

// The footer's templates sit apart from the message templates: they are
// not messages, and the HTML one is an html/template so URLs and the
// address are escaped.
var (
	footerText = template.Must(template.New("footer.txt").Option("missingkey=error").ParseFS(files, "templates/footer/footer.txt"))
	footerHTML = htmltemplate.Must(htmltemplate.ParseFS(files, "templates/footer/footer.html"))
)

// AddFooter appends f to a rendered email's text and HTML (the blocks
// Render returns). A footer with nothing to show changes nothing.
func AddFooter(email map[string]string, f Footer) error {
	if f.UnsubscribeURL == "" && f.PreferencesURL == "" && f.PostalAddress == "" {
		return nil
	}
	var text, html bytes.Buffer
	if err := footerText.Execute(&text, f); err != nil {
		return fmt.Errorf("messages: render footer text: %w", err)
	}
	if err := footerHTML.Execute(&html, f); err != nil {
		return fmt.Errorf("messages: render footer html: %w", err)
	}
	email["text"] = email["text"] + "\n\n--\n" + strings.TrimSpace(text.String())
	if page := email["html"]; page != "" {
		// The footer goes below the message's card, inside the body.
		at := strings.LastIndex(page, "</body>")
		if at < 0 {
			at = len(page)
		}
		email["html"] = page[:at] + html.String() + page[at:]
	}
	return nil
}

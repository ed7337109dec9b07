package signals

import (
	"encoding/json"
	"strings"
)

// Literal is the JSON value of a key=value's value typed on a command line
// (the starter's --data, a simulator script): numbers, true, false and null
// as themselves, so "seats=5" gives 5, and anything else as a string, so
// "zip=007" keeps its zeros.
func Literal(s string) json.RawMessage {
	if s != "" && s == strings.TrimSpace(s) && json.Valid([]byte(s)) {
		switch c := s[0]; {
		case c == '-' || (c >= '0' && c <= '9'), c == 't', c == 'f', c == 'n':
			return json.RawMessage(s)
		}
	}
	quoted, _ := json.Marshal(s) // a Go string always encodes
	return quoted
}

package sim

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/journeyshq/journeys/signals"
)

// MaxDays bounds a simulation: five years of journey days.
const MaxDays = 5 * 365

// DefaultTailDays is how long a simulation goes on after the last event
// when the script sets no end: long enough for a churned customer's
// win-back to run out.
const DefaultTailDays = 120

// Script is a simulated customer's events, in the order they were written.
//
// The text form has one event per line:
//
//	# comment
//	day 0 signed_up
//	day 2 login
//	day 3.5 milestone_reached first_project
//	day 10 nps_response score=3 comment="Reports are slow"
//	at 2026-03-01T09:00:00Z login
//	every 7 days from day 14 until day 700 login
//	end day 730
//
// A day counts journey days (the playbook's day_length) from the start. A
// bare value after the type fills the type's main field (MainField) and
// key=value pairs fill data fields; Events fills the required fields left
// out with defaults.
type Script struct {
	Lines []Line `json:"lines"`
	// End is when the simulation ends; nil: DefaultTailDays after the last
	// event, at most MaxDays.
	End *When `json:"end,omitempty"`
	// EndLine is the line that set End.
	EndLine int `json:"end_line,omitempty"`
}

// When is a point of simulated time: Day journey days after the start, or
// At when it is set.
type When struct {
	Day float64   `json:"day,omitempty"`
	At  time.Time `json:"at,omitzero"`
}

func (w When) String() string {
	if !w.At.IsZero() {
		return w.At.Format(time.RFC3339)
	}
	return "day " + strconv.FormatFloat(w.Day, 'f', -1, 64)
}

// Line is one event line of a script: one event, or with Every an event
// repeated from When until Every.Until.
type Line struct {
	Num   int          `json:"line"`
	When  When         `json:"when"`
	Every *Every       `json:"every,omitempty"`
	Type  signals.Type `json:"type"`
	// Arg is the bare value that fills the type's main field.
	Arg    *Value  `json:"arg,omitempty"`
	Fields []Field `json:"fields,omitempty"`
}

// Every repeats a line every Days journey days until day Until (included).
type Every struct {
	Days  float64 `json:"days"`
	Until float64 `json:"until"`
}

// Field is one key=value of a line.
type Field struct {
	Key   string `json:"key"`
	Value Value  `json:"value"`
}

// Value is a value as written; a quoted value is always a string.
type Value struct {
	Text   string `json:"text"`
	Quoted bool   `json:"quoted,omitempty"`
}

// LineError is a problem with one line of a script.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

func lineErr(n int, format string, args ...any) error {
	return &LineError{Line: n, Err: fmt.Errorf(format, args...)}
}

// maxRepeats bounds the events one "every" line may stand for.
const maxRepeats = 20_000

var keyRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// LoadScript reads a script file: YAML for .yaml and .yml, text otherwise.
func LoadScript(path string) (Script, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Script{}, fmt.Errorf("read script: %w", err)
	}
	var s Script
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		s, err = ParseYAMLScript(raw)
	default:
		s, err = ParseScript(bytes.NewReader(raw))
	}
	if err != nil {
		return Script{}, fmt.Errorf("script %s: %w", path, err)
	}
	return s, nil
}

// ParseScript reads the text form of a script.
func ParseScript(r io.Reader) (Script, error) {
	var s Script
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		toks, err := tokenize(sc.Text())
		if err != nil {
			return Script{}, &LineError{Line: n, Err: err}
		}
		if len(toks) == 0 {
			continue
		}
		if err := s.parseLine(n, toks); err != nil {
			return Script{}, err
		}
	}
	if err := sc.Err(); err != nil {
		return Script{}, fmt.Errorf("read script: %w", err)
	}
	return s, nil
}

// tokenize splits a line at spaces, keeping double-quoted text (Go string
// syntax) in one token with its quotes, and drops a # comment.
func tokenize(line string) ([]string, error) {
	var toks []string
	var cur strings.Builder
	inQuote, escaped, started := false, false, false
	flush := func() {
		if started {
			toks = append(toks, cur.String())
		}
		cur.Reset()
		started = false
	}
	for _, c := range line {
		switch {
		case inQuote:
			cur.WriteRune(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inQuote = false
			}
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !started:
			flush()
			return toks, nil
		default:
			cur.WriteRune(c)
			started = true
			inQuote = c == '"'
		}
	}
	if inQuote {
		return nil, errors.New("unterminated quote")
	}
	flush()
	return toks, nil
}

func (s *Script) parseLine(n int, toks []string) error {
	switch toks[0] {
	case "end":
		if s.End != nil {
			return lineErr(n, "the end is set twice (line %d)", s.EndLine)
		}
		w, rest, err := parseWhen(toks[1:])
		if err != nil {
			return &LineError{Line: n, Err: fmt.Errorf("end: %w", err)}
		}
		if len(rest) > 0 {
			return lineErr(n, "unexpected %q after the end", strings.Join(rest, " "))
		}
		s.End, s.EndLine = &w, n
		return nil
	case "day", "at":
		w, rest, err := parseWhen(toks)
		if err != nil {
			return &LineError{Line: n, Err: err}
		}
		return s.addEvent(n, w, nil, rest)
	case "every":
		w, every, rest, err := parseEvery(toks[1:])
		if err != nil {
			return &LineError{Line: n, Err: err}
		}
		return s.addEvent(n, w, every, rest)
	}
	return lineErr(n, "want \"day N TYPE ...\", \"at TIME TYPE ...\", \"every N days from day A until day B TYPE ...\" or \"end day N\", got %q", toks[0])
}

// parseWhen reads "day N" or "at TIME" and returns what follows.
func parseWhen(toks []string) (When, []string, error) {
	if len(toks) < 2 {
		return When{}, nil, errors.New(`want "day N" or "at TIME"`)
	}
	switch toks[0] {
	case "day":
		d, err := parseDays(toks[1])
		return When{Day: d}, toks[2:], err
	case "at":
		t, err := time.Parse(time.RFC3339, toks[1])
		if err != nil {
			return When{}, nil, fmt.Errorf("want an RFC 3339 time such as 2026-03-01T09:00:00Z after \"at\", got %q", toks[1])
		}
		return When{At: t}, toks[2:], nil
	}
	return When{}, nil, fmt.Errorf(`want "day N" or "at TIME", got %q`, toks[0])
}

// parseDays reads a number of journey days from 0 to MaxDays; fractions
// are allowed (3.5 is noon of day 3 for a journey started at midnight).
func parseDays(s string) (float64, error) {
	d, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil || math.IsNaN(d) || math.IsInf(d, 0):
		return 0, fmt.Errorf("want a number of days, got %q", s)
	case d < 0 || d > MaxDays:
		return 0, fmt.Errorf("day %s is outside 0-%d", s, MaxDays)
	}
	return d, nil
}

// parseEvery reads "N days [from day A] until day B" (after "every").
func parseEvery(toks []string) (When, *Every, []string, error) {
	const want = `want "every N days [from day A] until day B TYPE ..."`
	if len(toks) < 2 || (toks[1] != "days" && toks[1] != "day") {
		return When{}, nil, nil, errors.New(want)
	}
	interval, err := parseDays(toks[0])
	if err != nil {
		return When{}, nil, nil, err
	}
	if interval <= 0 {
		return When{}, nil, nil, fmt.Errorf("every: the interval must be more than 0 days, got %s", toks[0])
	}
	rest := toks[2:]
	var from When
	if len(rest) >= 3 && rest[0] == "from" && rest[1] == "day" {
		if from.Day, err = parseDays(rest[2]); err != nil {
			return When{}, nil, nil, err
		}
		rest = rest[3:]
	}
	if len(rest) < 3 || (rest[0] != "until" && rest[0] != "to") || rest[1] != "day" {
		return When{}, nil, nil, errors.New(want)
	}
	until, err := parseDays(rest[2])
	if err != nil {
		return When{}, nil, nil, err
	}
	switch {
	case until < from.Day:
		return When{}, nil, nil, fmt.Errorf("every: until day %s is before from day %s", rest[2], strconv.FormatFloat(from.Day, 'f', -1, 64))
	case (until-from.Day)/interval >= maxRepeats:
		return When{}, nil, nil, fmt.Errorf("every: more than %d events on one line", maxRepeats)
	}
	return from, &Every{Days: interval, Until: until}, rest[3:], nil
}

// addEvent reads "TYPE [value] [key=value ...]".
func (s *Script) addEvent(n int, w When, every *Every, toks []string) error {
	if len(toks) == 0 {
		return lineErr(n, "want an event type after %s", w)
	}
	typ := signals.Type(toks[0])
	if !typ.Known() {
		return lineErr(n, "%q is not an event type; known types: %s", toks[0], typeNames())
	}
	l := Line{Num: n, When: w, Every: every, Type: typ}
	seen := map[string]bool{}
	args := toks[1:]
	for i := 0; i < len(args); i++ {
		key, raw, isField := strings.Cut(args[i], "=")
		if !isField || !keyRE.MatchString(key) {
			if l.Arg != nil {
				return lineErr(n, "more than one bare value (%q and %q); give data fields as key=value", l.Arg.Text, args[i])
			}
			v, err := parseValue(args[i])
			if err != nil {
				return &LineError{Line: n, Err: err}
			}
			l.Arg = &v
			continue
		}
		// "renews_at=day 365" reads as one value, as it is written.
		if raw == "day" && i+1 < len(args) {
			if _, err := strconv.ParseFloat(args[i+1], 64); err == nil {
				raw += " " + args[i+1]
				i++
			}
		}
		if seen[key] {
			return lineErr(n, "%s given twice", key)
		}
		seen[key] = true
		v, err := parseValue(raw)
		if err != nil {
			return lineErr(n, "%s: %v", key, err)
		}
		l.Fields = append(l.Fields, Field{Key: key, Value: v})
	}
	s.Lines = append(s.Lines, l)
	return nil
}

// parseValue unquotes a quoted value.
func parseValue(raw string) (Value, error) {
	if !strings.HasPrefix(raw, `"`) {
		return Value{Text: raw}, nil
	}
	text, err := strconv.Unquote(raw)
	if err != nil {
		return Value{}, fmt.Errorf("bad quoted value %s", raw)
	}
	return Value{Text: text, Quoted: true}, nil
}

func typeNames() string {
	var names []string
	for _, t := range signals.Types() {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

// yamlScript is the YAML form of a script:
//
//	end_day: 730
//	events:
//	  - {day: 0, type: signed_up}
//	  - {day: 5, type: milestone_reached, data: {milestone: first_project}}
//	  - {every: 7, day: 14, until: 700, type: login}
//	  - {at: "2026-03-01T09:00:00Z", type: login}
type yamlScript struct {
	EndDay *float64    `yaml:"end_day"`
	Events []yaml.Node `yaml:"events"`
}

type yamlEvent struct {
	Day   *float64             `yaml:"day"`
	At    string               `yaml:"at"`
	Every *float64             `yaml:"every"`
	Until *float64             `yaml:"until"`
	Type  string               `yaml:"type"`
	Data  map[string]yaml.Node `yaml:"data"`
}

// ParseYAMLScript reads the YAML form of a script; errors name the line of
// the event in the YAML file.
func ParseYAMLScript(raw []byte) (Script, error) {
	var doc yamlScript
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return Script{}, fmt.Errorf("decode YAML: %w", err)
	}
	var s Script
	if doc.EndDay != nil {
		if _, err := parseDays(strconv.FormatFloat(*doc.EndDay, 'f', -1, 64)); err != nil {
			return Script{}, fmt.Errorf("end_day: %w", err)
		}
		s.End = &When{Day: *doc.EndDay}
	}
	for i := range doc.Events {
		node := &doc.Events[i]
		if err := s.addYAMLEvent(node); err != nil {
			return Script{}, err
		}
	}
	return s, nil
}

func (s *Script) addYAMLEvent(node *yaml.Node) error {
	n := node.Line
	var ye yamlEvent
	if err := node.Decode(&ye); err != nil {
		return lineErr(n, "%v", err)
	}
	toks, err := ye.when()
	if err != nil {
		return &LineError{Line: n, Err: err}
	}
	toks = append(toks, ye.Type)
	before := len(s.Lines)
	if err := s.parseLine(n, toks); err != nil {
		return err
	}
	if len(s.Lines) == before {
		return lineErr(n, "not an event")
	}
	l := &s.Lines[len(s.Lines)-1]
	for key, v := range ye.Data {
		if v.Kind != yaml.ScalarNode {
			return lineErr(v.Line, "data.%s must be a plain value", key)
		}
		l.Fields = append(l.Fields, Field{Key: key, Value: Value{Text: v.Value, Quoted: v.Tag == "!!str"}})
	}
	// Map order is random; a stable order keeps errors and output stable.
	slices.SortFunc(l.Fields, func(a, b Field) int { return strings.Compare(a.Key, b.Key) })
	return nil
}

// when is the event's time as text-form tokens, so both forms share one
// parser.
func (ye yamlEvent) when() ([]string, error) {
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	switch {
	case ye.At != "" && (ye.Day != nil || ye.Every != nil):
		return nil, errors.New("give either at or day (with every), not both")
	case ye.At != "":
		return []string{"at", ye.At}, nil
	case ye.Every != nil:
		if ye.Until == nil {
			return nil, errors.New("every needs until")
		}
		from := 0.0
		if ye.Day != nil {
			from = *ye.Day
		}
		return []string{"every", num(*ye.Every), "days", "from", "day", num(from), "until", "day", num(*ye.Until)}, nil
	case ye.Day != nil:
		return []string{"day", num(*ye.Day)}, nil
	}
	return nil, errors.New("an event needs day or at")
}

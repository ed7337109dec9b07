package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"strings"

	"github.com/journeyshq/journeys/codec"
)

// codecKey runs "starter codec-key": it prints one fresh JOURNEYS_CODEC_KEYS
// entry. To rotate, put the new entry first and keep the old ones after it.
func (a *app) codecKey(args []string) error {
	fs := flag.NewFlagSet("codec-key", flag.ContinueOnError)
	var help strings.Builder
	fs.SetOutput(&help)
	id := fs.String("id", "k"+a.now().UTC().Format("20060102"), "key `ID` stored with every payload it encrypts (1-32 of A-Z a-z 0-9 _ -)")
	fs.Usage = func() {
		fmt.Fprint(&help, `Usage: starter codec-key [--id ID]

Prints a new JOURNEYS_CODEC_KEYS entry "<ID>:<base64 of 32 random bytes>".
To rotate keys, put the new entry first (it encrypts from then on) and keep
the old ones after it (they still decrypt older histories):
  JOURNEYS_CODEC_KEYS="<new entry>,<old entry>"

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return &helpRequest{text: help.String()}
	} else if err != nil {
		return usagef("codec-key", "%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("codec-key", "unexpected argument %q", fs.Arg(0))
	}
	entry, err := codec.GenerateKey(*id)
	if err != nil {
		return usagef("codec-key", "%v", err)
	}
	_, err = fmt.Fprintln(a.stdout, entry)
	return err
}

// payloadKeys returns the keys the worker encrypts with: $JOURNEYS_CODEC_KEYS,
// else the key file a dev worker made in the data directory. Without either,
// the starter could send events but not read a journey's state, so it stops
// with the fix instead.
func payloadKeys(conn connSettings) (codec.Keys, error) {
	if strings.TrimSpace(conn.CodecKeys) != "" {
		return codec.ParseKeys(conn.CodecKeys)
	}
	file := codec.DevKeyFile(conn.DataDir)
	keys, err := codec.LoadDevKeys(file)
	if errors.Is(err, fs.ErrNotExist) {
		return codec.Keys{}, fmt.Errorf("no payload keys: set %s to the worker's keys, or run from the directory of the dev worker's %s (--data-dir)", codec.EnvKeys, file)
	}
	return keys, err
}

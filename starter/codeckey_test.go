package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/journeyshq/journeys/codec"
)

func TestCodecKeyPrintsAUsableEntry(t *testing.T) {
	code, stdout, stderr := runCLI("codec-key", "--id", "k2")
	if code != 0 {
		t.Fatalf("exit code = %d, stderr %q", code, stderr)
	}
	entry := strings.TrimSpace(stdout)
	if !strings.HasPrefix(entry, "k2:") {
		t.Fatalf("entry = %q, want it to start with the key ID k2:", entry)
	}
	keys, err := codec.ParseKeys(entry)
	if err != nil {
		t.Fatalf("the printed entry does not parse: %v", err)
	}
	if keys.EncryptionKeyID() != "k2" {
		t.Errorf("encryption key ID = %q, want k2", keys.EncryptionKeyID())
	}
	_, again, _ := runCLI("codec-key", "--id", "k2")
	if strings.TrimSpace(again) == entry {
		t.Error("two runs printed the same key")
	}

	if code, _, stderr := runCLI("codec-key", "--id", "bad id"); code != 2 || !strings.Contains(stderr, `key ID "bad id"`) {
		t.Errorf("bad ID: exit %d, stderr %q; want 2 and the ID named", code, stderr)
	}
	if code, stdout, _ := runCLI("help", "codec-key"); code != 0 || !strings.Contains(stdout, "put the new entry first") {
		t.Errorf("help codec-key: exit %d, stdout %q", code, stdout)
	}
}

// The starter must encrypt and decrypt with the worker's keys: the
// environment's when set, else the key file the dev worker made, and
// without either it says how to get them instead of failing on a query.
func TestPayloadKeysFollowTheWorker(t *testing.T) {
	dir := t.TempDir()
	devKeys, err := codec.LoadOrCreateDevKeys(codec.DevKeyFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	entry, err := codec.GenerateKey("k9")
	if err != nil {
		t.Fatal(err)
	}

	keys, err := payloadKeys(connSettings{CodecKeys: entry, DataDir: dir})
	if err != nil || keys.EncryptionKeyID() != "k9" {
		t.Errorf("with %s set: keys %v, err %v; want k9", codec.EnvKeys, keys, err)
	}
	keys, err = payloadKeys(connSettings{DataDir: dir})
	if err != nil || keys.EncryptionKeyID() != devKeys.EncryptionKeyID() {
		t.Errorf("from the dev key file: keys %v, err %v; want %v", keys, err, devKeys)
	}

	empty := t.TempDir()
	_, err = payloadKeys(connSettings{DataDir: empty})
	if err == nil || !strings.Contains(err.Error(), codec.EnvKeys) {
		t.Errorf("without keys: err %v, want advice naming %s", err, codec.EnvKeys)
	}
	if _, statErr := os.Stat(filepath.Join(empty, "codec.key")); !os.IsNotExist(statErr) {
		t.Error("the starter created a key file; it must only read the worker's")
	}
}

package keyfile_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/journeyshq/journeys/internal/keyfile"
)

// A key file is created owner-only, in a directory made for it, and never
// overwritten.
func TestCreateExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "k.key")
	require.NoError(t, keyfile.CreateExclusive(path, []byte("one\n")))
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	assert.ErrorIs(t, keyfile.CreateExclusive(path, []byte("two\n")), fs.ErrExist)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "one\n", string(b))
	left, err := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*"))
	require.NoError(t, err)
	assert.Empty(t, left, "no temporary file is left behind")
}

// The first caller creates the file; later ones read it and make nothing.
func TestReadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.key")
	made := 0
	create := func() ([]byte, error) {
		made++
		return []byte("key " + string(rune('0'+made)) + "\n"), nil
	}
	for range 2 {
		b, err := keyfile.ReadOrCreate(path, create)
		require.NoError(t, err)
		assert.Equal(t, "key 1\n", string(b))
	}
	assert.Equal(t, 1, made)

	_, err := keyfile.ReadOrCreate(filepath.Join(path, "under-a-file"), create)
	assert.Error(t, err, "a path under a file can be neither read nor created")
	assert.Equal(t, 1, made)
}

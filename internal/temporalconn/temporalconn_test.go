package temporalconn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
)

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "journeys-worker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPlainByDefault(t *testing.T) {
	s, err := FromEnv(env(nil))
	require.NoError(t, err)
	assert.False(t, s.Enabled())
	var opts client.Options
	require.NoError(t, s.Apply(&opts))
	assert.Nil(t, opts.ConnectionOptions.TLS, "the dev server and a local cluster speak plain gRPC")
	assert.Nil(t, opts.Credentials)
}

func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	s, err := FromEnv(env(map[string]string{
		EnvTLSCert: cert, EnvTLSKey: key, EnvTLSCA: cert, EnvTLSServerName: "temporal.internal",
	}))
	require.NoError(t, err)
	var opts client.Options
	require.NoError(t, s.Apply(&opts))
	tlsCfg := opts.ConnectionOptions.TLS
	require.NotNil(t, tlsCfg)
	assert.Len(t, tlsCfg.Certificates, 1, "the client certificate is presented")
	assert.NotNil(t, tlsCfg.RootCAs, "the server is checked against the given CA")
	assert.Equal(t, "temporal.internal", tlsCfg.ServerName)
	assert.Nil(t, opts.Credentials)
}

func TestAPIKeyImpliesTLS(t *testing.T) {
	s, err := FromEnv(env(map[string]string{EnvAPIKey: "cloud-api-key"}))
	require.NoError(t, err)
	var opts client.Options
	require.NoError(t, s.Apply(&opts))
	require.NotNil(t, opts.ConnectionOptions.TLS, "Temporal Cloud takes API keys over TLS only")
	assert.Nil(t, opts.ConnectionOptions.TLS.RootCAs, "the system's roots")
	assert.NotNil(t, opts.Credentials)
}

func TestInvalidSettingsNameTheVariable(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	notPEM := filepath.Join(dir, "ca.txt")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))
	for name, tt := range map[string]struct {
		env  map[string]string
		want string
	}{
		"cert without key": {map[string]string{EnvTLSCert: cert}, "TEMPORAL_TLS_CERT is set but TEMPORAL_TLS_KEY is not"},
		"key without cert": {map[string]string{EnvTLSKey: key}, "TEMPORAL_TLS_KEY is set but TEMPORAL_TLS_CERT is not"},
		"missing cert":     {map[string]string{EnvTLSCert: filepath.Join(dir, "nope.pem"), EnvTLSKey: key}, "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY"},
		"key of another":   {map[string]string{EnvTLSCert: cert, EnvTLSKey: cert}, "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY"},
		"missing CA":       {map[string]string{EnvTLSCA: filepath.Join(dir, "nope.pem")}, "TEMPORAL_TLS_CA"},
		"CA not PEM":       {map[string]string{EnvTLSCA: notPEM}, "TEMPORAL_TLS_CA: " + notPEM + " holds no PEM certificate"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := FromEnv(env(tt.env))
			assert.ErrorContains(t, err, tt.want)
			// Apply refuses the same settings, for callers that Read.
			var opts client.Options
			assert.Error(t, Read(env(tt.env)).Apply(&opts))
		})
	}
}

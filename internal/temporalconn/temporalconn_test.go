package temporalconn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
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
		// One certificate serves as CA, server and client in these tests.
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{"localhost"},
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

// TestConnectsOverMutualTLSWithAnAPIKey dials a gRPC server that, like a
// Temporal frontend behind mTLS, refuses clients without a certificate it
// trusts, and checks that the SDK client built from the settings connects,
// presents the certificate and sends the API key.
func TestConnectsOverMutualTLSWithAnAPIKey(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	caPEM, err := os.ReadFile(certFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(caPEM))

	fe := &frontend{}
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert})),
		grpc.UnaryInterceptor(fe.record),
	)
	workflowservice.RegisterWorkflowServiceServer(srv, fe)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	dial := func(m map[string]string) error {
		opts := client.Options{HostPort: ln.Addr().String(), Namespace: "default",
			ConnectionOptions: client.ConnectionOptions{GetSystemInfoTimeout: 5 * time.Second}}
		if err := Read(env(m)).Apply(&opts); err != nil {
			return err
		}
		c, err := client.Dial(opts)
		if err == nil {
			c.Close()
		}
		return err
	}
	require.NoError(t, dial(map[string]string{
		EnvTLSCert: certFile, EnvTLSKey: keyFile, EnvTLSCA: certFile, EnvTLSServerName: "localhost", EnvAPIKey: "cloud-api-key",
	}))
	assert.Equal(t, "journeys-worker", fe.peerCN(), "the client certificate was presented")
	assert.Equal(t, "Bearer cloud-api-key", fe.authorization(), "the API key was sent")

	assert.Error(t, dial(map[string]string{EnvTLSCA: certFile, EnvTLSServerName: "localhost"}), "without a client certificate the server refuses")
	assert.Error(t, dial(nil), "plain gRPC does not reach a TLS server")
}

// frontend answers GetSystemInfo, the call the SDK makes when it dials,
// and records who called.
type frontend struct {
	workflowservice.UnimplementedWorkflowServiceServer
	mu   sync.Mutex
	cn   string
	auth string
}

func (f *frontend) GetSystemInfo(context.Context, *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	return &workflowservice.GetSystemInfoResponse{}, nil
}

func (f *frontend) record(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	f.mu.Lock()
	if p, ok := peer.FromContext(ctx); ok {
		if info, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(info.State.PeerCertificates) > 0 {
			f.cn = info.State.PeerCertificates[0].Subject.CommonName
		}
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok && len(md.Get("authorization")) > 0 {
		f.auth = md.Get("authorization")[0]
	}
	f.mu.Unlock()
	return next(ctx, req)
}

func (f *frontend) peerCN() string        { f.mu.Lock(); defer f.mu.Unlock(); return f.cn }
func (f *frontend) authorization() string { f.mu.Lock(); defer f.mu.Unlock(); return f.auth }

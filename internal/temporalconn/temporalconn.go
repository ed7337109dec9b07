// Package temporalconn holds how journeys connects to a Temporal service
// other than its embedded dev server: a self-hosted cluster with or without
// mTLS, or Temporal Cloud with mTLS or an API key. The worker and the
// starter read it from the same environment variables.
package temporalconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"go.temporal.io/sdk/client"
)

// The environment variables FromEnv reads, besides TEMPORAL_ADDRESS and
// TEMPORAL_NAMESPACE, which each program reads with its flags.
const (
	EnvTLSCert       = "TEMPORAL_TLS_CERT"
	EnvTLSKey        = "TEMPORAL_TLS_KEY"
	EnvTLSCA         = "TEMPORAL_TLS_CA"
	EnvTLSServerName = "TEMPORAL_TLS_SERVER_NAME"
	EnvAPIKey        = "TEMPORAL_API_KEY"
)

// Security is how the connection is secured. The zero value is plain gRPC,
// as the embedded dev server and a local docker-compose cluster speak.
type Security struct {
	// CertFile and KeyFile are the client certificate and its key (PEM),
	// for mTLS; both or neither.
	CertFile, KeyFile string
	// CAFile is the PEM of the CA that signed the server's certificate;
	// empty trusts the system's roots (as for Temporal Cloud).
	CAFile string
	// ServerName overrides the name the server's certificate is checked
	// against, e.g. when connecting through an IP address.
	ServerName string
	// APIKey authenticates to Temporal Cloud instead of a certificate; it
	// implies TLS.
	APIKey string
}

// Read reads Security from the TEMPORAL_TLS_* and TEMPORAL_API_KEY
// variables without checking it; Apply checks it.
func Read(getenv func(string) string) Security {
	return Security{
		CertFile: getenv(EnvTLSCert), KeyFile: getenv(EnvTLSKey), CAFile: getenv(EnvTLSCA),
		ServerName: getenv(EnvTLSServerName), APIKey: getenv(EnvAPIKey),
	}
}

// FromEnv is Read, checked: files must be readable and parse, so that a
// mistake stops the program at start with the variable named.
func FromEnv(getenv func(string) string) (Security, error) {
	s := Read(getenv)
	if _, err := s.tlsConfig(); err != nil {
		return Security{}, err
	}
	return s, nil
}

// Enabled reports whether anything beyond plain gRPC is configured.
func (s Security) Enabled() bool { return s != Security{} }

// Apply sets the TLS configuration and credentials of opts.
func (s Security) Apply(opts *client.Options) error {
	cfg, err := s.tlsConfig()
	if err != nil {
		return err
	}
	opts.ConnectionOptions.TLS = cfg
	if s.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(s.APIKey)
	}
	return nil
}

// tlsConfig builds the TLS configuration, nil for plain gRPC.
func (s Security) tlsConfig() (*tls.Config, error) {
	if !s.Enabled() {
		return nil, nil
	}
	switch {
	case s.CertFile != "" && s.KeyFile == "":
		return nil, fmt.Errorf("%s is set but %s is not: mTLS needs the client certificate and its key", EnvTLSCert, EnvTLSKey)
	case s.KeyFile != "" && s.CertFile == "":
		return nil, fmt.Errorf("%s is set but %s is not: mTLS needs the client certificate and its key", EnvTLSKey, EnvTLSCert)
	}
	cfg := &tls.Config{ServerName: s.ServerName, MinVersion: tls.VersionTLS12}
	if s.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("%s and %s: %w", EnvTLSCert, EnvTLSKey, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvTLSCA, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: %s holds no PEM certificate", EnvTLSCA, s.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// ErrDevServer is returned when TLS or an API key is set for the embedded
// dev server, which speaks plain gRPC on loopback.
var ErrDevServer = errors.New("the --dev server speaks plain gRPC on this machine: unset TEMPORAL_TLS_* and TEMPORAL_API_KEY, or drop --dev to connect to your Temporal")

// Package kafkaconn holds the connection settings every Sluice binary
// shares (brokers, client ID, TLS, SASL) and turns them into franz-go
// client options.
package kafkaconn

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Config is how to reach a Kafka cluster.
type Config struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string
	// ClientID names the client in broker logs and quotas. Empty leaves the
	// caller's default.
	ClientID string
	// TLS enables TLS. CAFile adds a CA bundle (PEM) to trust; CertFile and
	// KeyFile give a client certificate for mutual TLS. Setting any of the
	// files implies TLS.
	TLS      bool
	CAFile   string
	CertFile string
	KeyFile  string
	// SASLMechanism is "", "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512".
	SASLMechanism string
	SASLUser      string
	SASLPassword  string
}

// RegisterFlags adds the connection flags to fs, with c's values as defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.Var((*brokerList)(&c.Brokers), "brokers", "Kafka seed brokers as `host:port,...` (comma-separated)")
	fs.StringVar(&c.ClientID, "client-id", c.ClientID, "Kafka client ID, shown in broker logs and used for quotas")
	fs.BoolVar(&c.TLS, "tls", c.TLS, "connect with TLS (implied by any --tls-* file)")
	fs.StringVar(&c.CAFile, "tls-ca", c.CAFile, "PEM file of CA certificates to trust instead of the system pool")
	fs.StringVar(&c.CertFile, "tls-cert", c.CertFile, "PEM client certificate for mutual TLS (with --tls-key)")
	fs.StringVar(&c.KeyFile, "tls-key", c.KeyFile, "PEM private key of --tls-cert")
	fs.StringVar(&c.SASLMechanism, "sasl-mechanism", c.SASLMechanism, "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: no SASL)")
	fs.StringVar(&c.SASLUser, "sasl-user", c.SASLUser, "SASL user name")
	fs.StringVar(&c.SASLPassword, "sasl-password", c.SASLPassword, "SASL password (prefer the environment variable over the flag: flags show in ps)")
}

// brokerList is the --brokers flag: a comma-separated list that replaces
// the default (not appends to it), and shows the default in --help.
type brokerList []string

func (b *brokerList) String() string { return strings.Join(*b, ",") }

func (b *brokerList) Set(s string) error {
	list := splitList(s)
	if len(list) == 0 {
		return fmt.Errorf("no broker in %q", s)
	}
	*b = list
	return nil
}

// Options returns the franz-go options for c. Errors name the setting that
// is wrong.
func (c Config) Options() ([]kgo.Opt, error) {
	if len(c.Brokers) == 0 {
		return nil, fmt.Errorf("no Kafka brokers given (--brokers)")
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...)}
	if c.ClientID != "" {
		opts = append(opts, kgo.ClientID(c.ClientID))
	}
	if c.TLS || c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" {
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if c.SASLMechanism != "" {
		m, err := c.mechanism()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

func (c Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate found", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, fmt.Errorf("--tls-cert and --tls-key go together (got cert %q, key %q)", c.CertFile, c.KeyFile)
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (c Config) mechanism() (sasl.Mechanism, error) {
	if c.SASLUser == "" {
		return nil, fmt.Errorf("--sasl-mechanism %s needs --sasl-user", c.SASLMechanism)
	}
	switch strings.ToUpper(c.SASLMechanism) {
	case "PLAIN":
		return plain.Auth{User: c.SASLUser, Pass: c.SASLPassword}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: c.SASLUser, Pass: c.SASLPassword}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: c.SASLUser, Pass: c.SASLPassword}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("--sasl-mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.SASLMechanism)
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

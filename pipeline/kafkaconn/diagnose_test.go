package kafkaconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

// pingAs connects with cfg and returns the diagnosed error of a ping.
func pingAs(t *testing.T, cfg Config) error {
	t.Helper()
	opts, err := cfg.Options()
	if err != nil {
		t.Fatalf("options: %v", err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cfg.Diagnose(ctx, cl.Ping(ctx))
}

// requireWords fails t unless err's message has every word.
func requireWords(t *testing.T, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", words)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

// tlsBroker starts a kfake broker serving TLS with a certificate of a new
// CA, and returns its addresses and the CA's file.
func tlsBroker(t *testing.T, clientAuth tls.ClientAuthType) (addrs []string, ca *kafkatest.CA, caFile string) {
	t.Helper()
	ca = kafkatest.NewCA(t, "test CA")
	srv := ca.Issue(t, "broker", "127.0.0.1", "localhost")
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(&tls.Config{
		Certificates: []tls.Certificate{srv.TLS(t)},
		ClientCAs:    ca.Pool(),
		ClientAuth:   clientAuth,
		MinVersion:   tls.VersionTLS12,
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs(), ca, kafkatest.WriteFile(t, t.TempDir(), "ca.pem", ca.PEM)
}

func plainBroker(t *testing.T, opts ...kfake.Opt) []string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func requireTLS(t *testing.T, err error, want TLSProblem) {
	t.Helper()
	var te *TLSError
	if !errors.As(err, &te) || !errors.Is(err, ErrTLS) {
		t.Fatalf("error %v (%T), want a *TLSError", err, err)
	}
	if te.Problem != want {
		t.Fatalf("TLS problem %d, want %d: %v", te.Problem, want, err)
	}
}

func TestDiagnoseUntrustedBrokerCertificateNamesTLSCA(t *testing.T) {
	addrs, _, _ := tlsBroker(t, tls.NoClientCert)
	err := pingAs(t, Config{Brokers: addrs, TLS: true}) // system pool only
	requireTLS(t, err, UntrustedCertificate)
	requireWords(t, err, "not trusted", "--tls-ca")
}

func TestDiagnoseMissingClientCertificateNamesTLSCertAndKey(t *testing.T) {
	addrs, ca, caFile := tlsBroker(t, tls.RequireAndVerifyClientCert)
	err := pingAs(t, Config{Brokers: addrs, CAFile: caFile})
	requireTLS(t, err, ClientCertificateRefused)
	requireWords(t, err, "client certificate", "--tls-cert", "--tls-key")

	// A certificate from another CA is refused the same way.
	stranger := kafkatest.NewCA(t, "other CA").Issue(t, "client")
	certFile, keyFile := stranger.WriteFiles(t, t.TempDir(), "client")
	err = pingAs(t, Config{Brokers: addrs, CAFile: caFile, CertFile: certFile, KeyFile: keyFile})
	requireTLS(t, err, ClientCertificateRefused)

	// And one the broker trusts is accepted.
	certFile, keyFile = ca.Issue(t, "client").WriteFiles(t, t.TempDir(), "client")
	if err := pingAs(t, Config{Brokers: addrs, CAFile: caFile, CertFile: certFile, KeyFile: keyFile}); err != nil {
		t.Fatalf("ping with a trusted client certificate: %v", err)
	}
}

func TestDiagnosePlaintextClientOnTLSListener(t *testing.T) {
	addrs, _, _ := tlsBroker(t, tls.NoClientCert)
	err := pingAs(t, Config{Brokers: addrs})
	requireTLS(t, err, TLSExpected)
	requireWords(t, err, "listener speaks TLS", "add --tls")
}

// closingListener behaves like a plaintext Kafka listener receiving a TLS
// ClientHello: it reads the 4-byte request size (0x1603..., far beyond
// socket.request.max.bytes) and closes the connection.
func closingListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			var size [4]byte
			_, _ = c.Read(size[:])
			c.Close()
		}
	}()
	return l.Addr().String()
}

func TestDiagnoseTLSClientOnPlaintextListener(t *testing.T) {
	_, _, caFile := tlsBroker(t, tls.NoClientCert)
	err := pingAs(t, Config{Brokers: []string{closingListener(t)}, CAFile: caFile})
	requireTLS(t, err, PlaintextExpected)
	requireWords(t, err, "listener is plaintext", "drop --tls")
}

func saslBroker(t *testing.T, opts ...kfake.Opt) []string {
	t.Helper()
	return plainBroker(t, append([]kfake.Opt{kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "admin", "admin-secret")}, opts...)...)
}

// TestDiagnoseWrongPasswordNamesUserNotPassword: kfake drops the
// connection on a bad password where Kafka answers
// SASL_AUTHENTICATION_FAILED, so the answer is made up here (the real one
// is checked against Kafka in the secured integration suite).
func TestDiagnoseWrongPasswordNamesUserNotPassword(t *testing.T) {
	const wrong = "not-the-password-7f3a"
	cfg := Config{Brokers: []string{"127.0.0.1:1"}, SASLMechanism: "scram-sha-512", SASLUser: "admin", SASLPassword: wrong}
	refused := fmt.Errorf("ping: %w", kerr.SaslAuthenticationFailed)
	err := cfg.Diagnose(context.Background(), refused)
	var ae *AuthenticationError
	if !errors.As(err, &ae) || ae.Problem != WrongCredentials || !errors.Is(err, ErrAuthentication) {
		t.Fatalf("error %v, want an *AuthenticationError with WrongCredentials", err)
	}
	requireWords(t, err, `SCRAM-SHA-512 user "admin"`, "--sasl-user", "password")
	if strings.Contains(err.Error(), wrong) {
		t.Fatalf("error shows the password: %v", err)
	}
}

func TestDiagnoseMissingSASLOnSASLListener(t *testing.T) {
	err := pingAs(t, Config{Brokers: saslBroker(t)})
	var ae *AuthenticationError
	if !errors.As(err, &ae) || ae.Problem != SASLRequired {
		t.Fatalf("error %v (%T), want an *AuthenticationError with SASLRequired", err, err)
	}
	requireWords(t, err, "requires SASL", "--sasl-mechanism")
}

// TestDiagnoseListsOfferedMechanisms: franz-go reports
// UNSUPPORTED_SASL_MECHANISM without the broker's list; Diagnose asks for
// it. kfake offers every mechanism Sluice knows, so the rejection itself is
// made up here, and the real one is checked against Kafka in the secured
// integration suite.
func TestDiagnoseListsOfferedMechanisms(t *testing.T) {
	cfg := Config{Brokers: saslBroker(t), SASLMechanism: "SCRAM-SHA-256", SASLUser: "admin"}
	refused := fmt.Errorf("ping: %w", kerr.UnsupportedSaslMechanism)
	err := cfg.Diagnose(context.Background(), refused)
	var ae *AuthenticationError
	if !errors.As(err, &ae) || ae.Problem != MechanismNotOffered {
		t.Fatalf("error %v, want an *AuthenticationError with MechanismNotOffered", err)
	}
	requireWords(t, err, "does not offer SASL mechanism SCRAM-SHA-256", "it offers", "SCRAM-SHA-512", "--sasl-mechanism")
	if !errors.Is(err, kerr.UnsupportedSaslMechanism) {
		t.Fatalf("the kerr code is lost: %v", err)
	}
}

func TestDiagnoseUnreachableBroker(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	err = pingAs(t, Config{Brokers: []string{addr}})
	var ue *UnreachableError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUnreachable) {
		t.Fatalf("error %v (%T), want an *UnreachableError", err, err)
	}
	requireWords(t, err, "cannot reach Kafka at "+addr, "--brokers")
}

func TestClassifyAuthorizationCodes(t *testing.T) {
	cases := []struct {
		code  error
		want  Resource
		words []string
	}{
		{kerr.TopicAuthorizationFailed, ResourceTopic, []string{"READ (to consume)", "WRITE (to produce)"}},
		{kerr.GroupAuthorizationFailed, ResourceGroup, []string{"READ on group"}},
		{kerr.ClusterAuthorizationFailed, ResourceCluster, []string{"WRITE on the topics it produces to", "IDEMPOTENT_WRITE", "CREATE on the cluster or the topics", "DESCRIBE on the cluster to list every consumer group"}},
		{kerr.TransactionalIDAuthorizationFailed, ResourceTransactionalID, []string{"WRITE and DESCRIBE"}},
	}
	for _, c := range cases {
		err := Classify(fmt.Errorf("some request: %w", c.code))
		var ae *AuthorizationError
		if !errors.As(err, &ae) || ae.Resource != c.want || !errors.Is(err, ErrAuthorization) || !errors.Is(err, c.code) {
			t.Errorf("Classify(%v) = %v, want an *AuthorizationError on %s keeping the code", c.code, err, c.want)
			continue
		}
		requireWords(t, err, append(c.words, "some request")...)
	}
	named := Named(ResourceGroup, "validate", fmt.Errorf("join: %w", kerr.GroupAuthorizationFailed))
	requireWords(t, named, `not authorized on group "validate": grant this principal READ on group "validate"`)
	if Classify(nil) != nil || Named(ResourceTopic, "x", nil) != nil {
		t.Fatal("nil must stay nil")
	}
	plain := errors.New("something else")
	if Classify(plain) != plain {
		t.Fatal("an unrecognized error must be returned unchanged")
	}
}

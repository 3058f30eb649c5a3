package kafkatest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority made for one test run, in memory: it signs
// the certificates of a [Secured] cluster's brokers and of the clients a
// test connects with. Nothing leaves the test's temporary directories.
type CA struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
	// PEM is the CA certificate, what a client passes as --tls-ca.
	PEM []byte
}

// KeyPair is a certificate signed by a [CA] and its private key, both PEM
// (the key unencrypted PKCS#8, which Kafka's PEM key stores read).
type KeyPair struct {
	CertPEM, KeyPEM []byte
}

// NewCA makes a CA whose certificate names cn. It fails t on error.
func NewCA(t testing.TB, cn string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"sluice kafkatest"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("kafkatest: create CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("kafkatest: parse CA certificate: %v", err)
	}
	return &CA{cert: cert, key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// Issue returns a certificate for the subject cn, usable by both servers
// and clients. hosts are the DNS names and IP addresses a server
// certificate must name; a client certificate needs none (Kafka maps its
// subject to the principal, see [Secured]).
func (ca *CA) Issue(t testing.TB, cn string, hosts ...string) KeyPair {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("kafkatest: issue certificate for %s: %v", cn, err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("kafkatest: encode key of %s: %v", cn, err)
	}
	return KeyPair{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	}
}

// Pool returns a certificate pool holding only the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// TLS returns the pair as a tls.Certificate.
func (kp KeyPair) TLS(t testing.TB) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(kp.CertPEM, kp.KeyPEM)
	if err != nil {
		t.Fatalf("kafkatest: load key pair: %v", err)
	}
	return c
}

// WriteFiles writes the certificate and key to name.pem and name-key.pem in
// dir and returns their paths.
func (kp KeyPair) WriteFiles(t testing.TB, dir, name string) (certFile, keyFile string) {
	t.Helper()
	certFile = WriteFile(t, dir, name+".pem", kp.CertPEM)
	keyFile = WriteFile(t, dir, name+"-key.pem", kp.KeyPEM)
	return certFile, keyFile
}

// WriteFile writes data to dir/name, readable by everyone (the files are
// throwaway test material, and containers running as another user may
// need to read them), and returns the path. It fails t on error.
func WriteFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatalf("kafkatest: write %s: %v", p, err)
	}
	return p
}

func newKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	// RSA rather than ECDSA: every JVM's PEM key store reads it.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("kafkatest: generate key: %v", err)
	}
	return key
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatalf("kafkatest: serial number: %v", err)
	}
	return n
}

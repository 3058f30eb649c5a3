package kafkatest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Secured makes [NewKafka] start a one-node cluster that authenticates and
// authorizes every client, as a production cluster does:
//
//   - its client listeners are SASL_SSL with SCRAM-SHA-512 only
//     ([Security.SASLBrokers]; [Kafka.Brokers] and [Kafka.InternalBrokers]
//     are these) and SSL requiring a client certificate
//     ([Security.TLSBrokers]), whose subject CN=<name> is the principal
//     User:<name>;
//   - the broker certificate is signed by a [CA] made for the test, in
//     memory (no network, no openssl); [Security.CAFile] is its PEM;
//   - Kafka's StandardAuthorizer denies whatever no ACL allows. The
//     superuser [Security.Admin] (SCRAM, created when storage is
//     formatted) is what [Kafka.Client] and [Kafka.CreateTopic] connect
//     as; tests create other users with [Kafka.AddUser] and grant them
//     ACLs with kadm through [Kafka.Client].
//
// The controller and inter-broker listeners are plaintext but bound to the
// container's loopback, out of reach of any client. Secured needs the
// Sluice Kafka image (deploy/kafka), whose entrypoint creates SCRAM users
// at format time (KAFKA_ADD_SCRAM). It supports Nodes(1) only.
func Secured() Option { return func(c *config) { c.secured = true } }

// Security is how clients reach a [Secured] cluster.
type Security struct {
	// CA signed the broker's certificate; CA.Issue makes client
	// certificates the broker trusts.
	CA *CA
	// CAFile is the CA certificate in a file, for --tls-ca.
	CAFile string
	// SASLBrokers are the SASL_SSL (SCRAM-SHA-512) listeners, on 127.0.0.1.
	SASLBrokers []string
	// TLSBrokers are the SSL listeners that require a client certificate.
	TLSBrokers []string
	// Admin and AdminPassword are the superuser's SCRAM-SHA-512
	// credentials.
	Admin, AdminPassword string
}

// Ports and listener names of a Secured node (besides internalPort and
// externalPort, which are SASL_SSL there).
const (
	replicationPort = 9094  // REPLICATION: inter-broker, plaintext, container loopback
	mtlsPort        = 19093 // MTLS: SSL with client certificates, published
)

// secureEnv returns the environment a Secured node runs with.
func secureEnv(sec *Security, broker KeyPair, n *kafkaNode) []string {
	jaas := "org.apache.kafka.common.security.scram.ScramLoginModule required;"
	return []string{
		fmt.Sprintf("KAFKA_LISTENERS=INTERNAL://:%d,EXTERNAL://:%d,MTLS://:%d,CONTROLLER://localhost:%d,REPLICATION://localhost:%d",
			internalPort, externalPort, mtlsPort, controllerPort, replicationPort),
		fmt.Sprintf("KAFKA_ADVERTISED_LISTENERS=INTERNAL://%s:%d,EXTERNAL://127.0.0.1:%d,MTLS://127.0.0.1:%d,REPLICATION://localhost:%d",
			n.name, internalPort, n.hostPort, n.tlsPort, replicationPort),
		"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=CONTROLLER:PLAINTEXT,REPLICATION:PLAINTEXT,INTERNAL:SASL_SSL,EXTERNAL:SASL_SSL,MTLS:SSL",
		"KAFKA_INTER_BROKER_LISTENER_NAME=REPLICATION",
		fmt.Sprintf("KAFKA_CONTROLLER_QUORUM_VOTERS=%d@localhost:%d", n.id, controllerPort),
		"KAFKA_SASL_ENABLED_MECHANISMS=SCRAM-SHA-512",
		"KAFKA_LISTENER_NAME_INTERNAL_SCRAM___SHA___512_SASL_JAAS_CONFIG=" + jaas,
		"KAFKA_LISTENER_NAME_EXTERNAL_SCRAM___SHA___512_SASL_JAAS_CONFIG=" + jaas,
		"KAFKA_LISTENER_NAME_MTLS_SSL_CLIENT_AUTH=required",
		// Subject "CN=alice" is principal User:alice.
		"KAFKA_SSL_PRINCIPAL_MAPPING_RULES=RULE:^CN=([a-zA-Z0-9._-]+)$/$1/,DEFAULT",
		"KAFKA_SSL_KEYSTORE_TYPE=PEM",
		"KAFKA_SSL_KEYSTORE_CERTIFICATE_CHAIN=" + string(broker.CertPEM),
		"KAFKA_SSL_KEYSTORE_KEY=" + string(broker.KeyPEM),
		"KAFKA_SSL_TRUSTSTORE_TYPE=PEM",
		"KAFKA_SSL_TRUSTSTORE_CERTIFICATES=" + string(sec.CA.PEM),
		"KAFKA_AUTHORIZER_CLASS_NAME=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		// ANONYMOUS is the principal of the loopback-only plaintext
		// listeners: the broker talking to its own controller.
		"KAFKA_SUPER_USERS=User:" + sec.Admin + ";User:ANONYMOUS",
		"KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND=false",
		fmt.Sprintf("KAFKA_ADD_SCRAM=SCRAM-SHA-512=[name=%s,password=%s]", sec.Admin, sec.AdminPassword),
	}
}

// newSecurity makes the CA, the broker's key pair and the admin's
// password for node n of a Secured cluster.
func newSecurity(t testing.TB, n *kafkaNode) (*Security, KeyPair) {
	t.Helper()
	ca := NewCA(t, "sluice kafkatest CA")
	broker := ca.Issue(t, n.name, "127.0.0.1", "localhost", n.name)
	dir, err := os.MkdirTemp("", "sluice-kafkatest-ca-")
	if err != nil {
		t.Fatalf("kafkatest: temp dir for the CA: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sec := &Security{
		CA:            ca,
		CAFile:        WriteFile(t, dir, "ca.pem", ca.PEM),
		SASLBrokers:   []string{n.addr()},
		TLSBrokers:    []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(n.tlsPort))},
		Admin:         "admin",
		AdminPassword: "admin-" + randomHex(12),
	}
	return sec, broker
}

// saslOpts returns the client options that connect as user over SASL_SSL.
func (s *Security) saslOpts(user, password string) []kgo.Opt {
	return []kgo.Opt{
		kgo.DialTLSConfig(&tls.Config{RootCAs: s.CA.Pool(), MinVersion: tls.VersionTLS12}),
		kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha512Mechanism()),
	}
}

// Security returns how to reach a [Secured] cluster, or nil for one that is
// not.
func (k *Kafka) Security() *Security { return k.sec }

// AddUser creates (or updates) the SCRAM-SHA-512 user name with password on
// a [Secured] cluster and waits until the broker accepts it. The user has
// no ACL: grant what it needs with kadm through [Kafka.Client].
func (k *Kafka) AddUser(t testing.TB, name, password string) {
	t.Helper()
	if k.sec == nil {
		t.Fatalf("kafkatest: AddUser(%s): the cluster is not Secured", name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), k.cfg.startTimeout)
	defer cancel()
	resp, err := k.adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{
		User: name, Mechanism: kadm.ScramSha512, Iterations: 4096, Password: password,
	}})
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("kafkatest: create SCRAM user %s: %v", name, err)
	}
	// The credential reaches the broker through the metadata log: wait
	// until it authenticates.
	cl := newClient(t, k.sec.SASLBrokers, k.sec.saslOpts(name, password))
	defer cl.Close()
	err = poll(ctx, func(ctx context.Context) error { return cl.Ping(ctx) })
	if err != nil {
		t.Fatalf("kafkatest: user %s created but not accepted within %s: %v", name, k.cfg.startTimeout, err)
	}
}

// secureCheck fails t for options a Secured cluster does not support.
func secureCheck(t testing.TB, cfg config) {
	t.Helper()
	if cfg.secured && cfg.nodes != 1 {
		t.Fatalf("kafkatest: Secured supports Nodes(1) only, not %d", cfg.nodes)
	}
	if cfg.secured && cfg.image != DefaultImage && !strings.HasPrefix(cfg.image, "localhost/sluice-kafka") {
		t.Logf("kafkatest: Secured needs an image whose entrypoint takes KAFKA_ADD_SCRAM (deploy/kafka); %s may not", cfg.image)
	}
}

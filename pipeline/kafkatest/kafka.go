package kafkatest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	docker "github.com/ory/dockertest/v3/docker"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DefaultImage is the container image [NewKafka] runs unless [Image] or the
// environment variable SLUICE_KAFKA_IMAGE says otherwise. deploy/kafka/build.sh
// builds it (.ci/containers.sh calls that).
const DefaultImage = "localhost/sluice-kafka:4.1.1"

// PodmanSocket is the Docker Engine API endpoint that .ci/containers.sh
// starts. [NewKafka] uses DOCKER_HOST when it is set, else this socket when
// it exists, else Docker's default.
const PodmanSocket = "unix:///run/podman/podman.sock"

// Label marks every container and network that [NewKafka] creates, so that
// leftovers of a killed test run can be found and removed.
const Label = "sluice.kafkatest"

// Ports inside each container. The external port is published on
// 127.0.0.1 at a free host port chosen per node.
const (
	internalPort   = 9092  // listener INTERNAL: other containers on Network()
	controllerPort = 9093  // listener CONTROLLER: the KRaft quorum
	externalPort   = 19092 // listener EXTERNAL: the test process, via 127.0.0.1
	logDir         = "/tmp/kafka-logs"
)

// Kafka is a real Apache Kafka cluster (KRaft; every node a combined broker
// and controller) running in containers on a private network. Node i (from
// 0) has node.id i+1, is Brokers()[i] and InternalBrokers()[i].
//
// The methods that change a node (StopNode, KillNode, StartNode) are for
// the test goroutine; the accessors are safe anywhere.
type Kafka struct {
	pool    *dockertest.Pool
	network *dockertest.Network
	nodes   []*kafkaNode
	adm     *kadm.Client
	cfg     config
	sec     *Security // nil unless Secured
	auth    []kgo.Opt // what every client of the harness connects with
}

type kafkaNode struct {
	id       int32
	name     string // container name and host name on the network
	hostPort int    // published EXTERNAL listener
	tlsPort  int    // published MTLS listener (Secured only)
	res      *dockertest.Resource
	probe    *kgo.Client // seeded with this node alone, to ask it directly
}

var _ Cluster = (*Kafka)(nil)

// NewKafka starts a real Kafka cluster of [Nodes] (1 or 3) containers and
// waits until every node serves metadata listing all brokers. Containers
// and network are removed when the test ends, pass or fail. It fails the
// test when the container engine cannot be reached (it never skips: run
// integration tests only where .ci/containers.sh has run).
func NewKafka(t testing.TB, opts ...Option) *Kafka {
	t.Helper()
	cfg := newConfig(opts)
	if cfg.nodes != 1 && cfg.nodes != 3 {
		t.Fatalf("kafkatest: NewKafka: Nodes(%d): want 1 or 3", cfg.nodes)
	}
	if cfg.image == "" {
		cfg.image = os.Getenv("SLUICE_KAFKA_IMAGE")
	}
	if cfg.image == "" {
		cfg.image = DefaultImage
	}
	secureCheck(t, cfg)

	pool := connect(t)
	reapOnce.Do(func() { reapStale(t, pool) })
	if _, err := pool.Client.InspectImage(cfg.image); err != nil {
		t.Fatalf("kafkatest: image %s not found in the container engine (%v).\n"+
			"Build it with `bash deploy/kafka/build.sh` (or `bash .ci/containers.sh`), "+
			"or point SLUICE_KAFKA_IMAGE at an image that exists (see deploy/kafka/README.md).", cfg.image, err)
	}
	repo, tag := splitImage(cfg.image)

	run := randomHex(4)
	labels := Labels(t)
	netName := "sluice-kafkatest-" + run
	network, err := pool.CreateNetwork(netName, func(o *docker.CreateNetworkOptions) {
		o.Labels = labels
		o.Driver = "bridge"
	})
	if err != nil {
		t.Fatalf("kafkatest: create network %s: %v", netName, err)
	}
	t.Cleanup(func() {
		if err := pool.Client.RemoveNetwork(network.Network.ID); err != nil {
			t.Logf("kafkatest: remove network %s: %v", netName, err)
		}
	})

	k := &Kafka{pool: pool, network: network, cfg: cfg}
	var voters []string
	for i := range cfg.nodes {
		n := &kafkaNode{id: int32(i + 1), name: fmt.Sprintf("sluice-kafka-%s-%d", run, i+1), hostPort: freePort(t)}
		if cfg.secured {
			n.tlsPort = freePort(t)
		}
		k.nodes = append(k.nodes, n)
		voters = append(voters, fmt.Sprintf("%d@%s:%d", n.id, n.name, controllerPort))
	}
	var brokerKeys KeyPair
	if cfg.secured {
		k.sec, brokerKeys = newSecurity(t, k.nodes[0])
		k.auth = k.sec.saslOpts(k.sec.Admin, k.sec.AdminPassword)
	}

	rf := min(3, cfg.nodes)
	minISR := min(2, cfg.nodes)
	common := []string{
		"CLUSTER_ID=" + clusterID(),
		"KAFKA_PROCESS_ROLES=broker,controller",
		fmt.Sprintf("KAFKA_LISTENERS=INTERNAL://:%d,CONTROLLER://:%d,EXTERNAL://:%d", internalPort, controllerPort, externalPort),
		"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT",
		"KAFKA_INTER_BROKER_LISTENER_NAME=INTERNAL",
		"KAFKA_CONTROLLER_LISTENER_NAMES=CONTROLLER",
		"KAFKA_CONTROLLER_QUORUM_VOTERS=" + strings.Join(voters, ","),
		"KAFKA_LOG_DIRS=" + logDir,
		"KAFKA_NUM_PARTITIONS=3",
		"KAFKA_AUTO_CREATE_TOPICS_ENABLE=false",
		"KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS=0",
		"KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS=10",
		fmt.Sprintf("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR=%d", rf),
		fmt.Sprintf("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR=%d", rf),
		fmt.Sprintf("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR=%d", minISR),
		fmt.Sprintf("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR=%d", rf),
		fmt.Sprintf("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR=%d", minISR),
		"KAFKA_HEAP_OPTS=-Xmx512m -Xms128m",
	}

	// Registered before the containers start so that a failure below still
	// removes them; runs before the network's cleanup (LIFO).
	t.Cleanup(func() { k.purge(t) })

	for _, n := range k.nodes {
		env := append(slices.Clone(common),
			fmt.Sprintf("KAFKA_NODE_ID=%d", n.id),
			fmt.Sprintf("KAFKA_ADVERTISED_LISTENERS=INTERNAL://%s:%d,EXTERNAL://127.0.0.1:%d", n.name, internalPort, n.hostPort),
		)
		ext := docker.Port(fmt.Sprintf("%d/tcp", externalPort))
		published := map[docker.Port][]docker.PortBinding{
			ext: {{HostIP: "127.0.0.1", HostPort: strconv.Itoa(n.hostPort)}},
		}
		if cfg.secured {
			env = overrideEnv(env, secureEnv(k.sec, brokerKeys, n))
			mtls := docker.Port(fmt.Sprintf("%d/tcp", mtlsPort))
			published[mtls] = []docker.PortBinding{{HostIP: "127.0.0.1", HostPort: strconv.Itoa(n.tlsPort)}}
		}
		var exposed []string
		for p := range published {
			exposed = append(exposed, string(p))
		}
		res, err := pool.RunWithOptions(&dockertest.RunOptions{
			Name:         n.name,
			Hostname:     n.name,
			Repository:   repo,
			Tag:          tag,
			Env:          env,
			Labels:       labels,
			NetworkID:    network.Network.ID,
			ExposedPorts: exposed,
			PortBindings: published,
		}, func(hc *docker.HostConfig) {
			// dockertest publishes every exposed port on all interfaces
			// by default; only the external listener is wanted, on 127.0.0.1.
			hc.PublishAllPorts = false
			hc.RestartPolicy = docker.RestartPolicy{Name: "no"}
		})
		if err != nil {
			t.Fatalf("kafkatest: start container %s from %s: %v", n.name, cfg.image, err)
		}
		n.res = res
		n.probe = newClient(t, []string{n.addr()}, k.auth)
	}

	k.adm = kadm.NewClient(newClient(t, k.Brokers(), k.auth))
	start := time.Now()
	k.waitReady(t, k.nodes, len(k.nodes))
	t.Logf("kafkatest: %d-node Kafka (%s) ready in %s at %v on network %s",
		cfg.nodes, cfg.image, time.Since(start).Round(time.Millisecond), k.Brokers(), netName)
	if k.sec != nil {
		t.Logf("kafkatest: secured: SASL_SSL SCRAM-SHA-512 at %v, SSL with client certificates at %v, ACLs by StandardAuthorizer", k.sec.SASLBrokers, k.sec.TLSBrokers)
	}
	return k
}

// Brokers returns each node's external address, 127.0.0.1:<published port>.
func (k *Kafka) Brokers() []string {
	out := make([]string, len(k.nodes))
	for i, n := range k.nodes {
		out[i] = n.addr()
	}
	return out
}

// InternalBrokers returns each node's address for containers attached to
// [Kafka.Network]: <container name>:9092.
func (k *Kafka) InternalBrokers() []string {
	out := make([]string, len(k.nodes))
	for i, n := range k.nodes {
		out[i] = net.JoinHostPort(n.name, strconv.Itoa(internalPort))
	}
	return out
}

// InternalHosts returns "<container name>:<IP>" for every node, for the
// ExtraHosts of containers on [Kafka.Network]: with them a container
// reaches the brokers without asking the network's DNS server, which under
// load (podman's aardvark-dns) can time out for tens of seconds. An entry
// holds until its node restarts, which may give it a new address: use it
// where no node is stopped and started again.
func (k *Kafka) InternalHosts(t testing.TB) []string {
	t.Helper()
	out := make([]string, len(k.nodes))
	for i, n := range k.nodes {
		c, err := k.pool.Client.InspectContainer(n.res.Container.ID)
		if err != nil {
			t.Fatalf("kafkatest: inspect %s: %v", n.name, err)
		}
		ns, ok := c.NetworkSettings.Networks[k.network.Network.Name]
		if !ok || ns.IPAddress == "" {
			t.Fatalf("kafkatest: %s has no address on network %s", n.name, k.network.Network.Name)
		}
		out[i] = n.name + ":" + ns.IPAddress
	}
	return out
}

// Network returns the name of the container network the nodes are on, for
// other containers (dockertest.RunOptions.NetworkID) that need to reach the
// brokers at InternalBrokers.
func (k *Kafka) Network() string { return k.network.Network.Name }

// Pool returns the dockertest pool the cluster runs in.
func (k *Kafka) Pool() *dockertest.Pool { return k.pool }

// CreateTopic implements [Cluster]: replication factor per
// [ReplicationFactor], min.insync.replicas=2 when it is 3.
func (k *Kafka) CreateTopic(t testing.TB, name string, partitions int32, configs map[string]string) {
	t.Helper()
	createTopic(t, k.adm, k.cfg.rf, k.cfg.startTimeout, name, partitions, configs)
}

// Client implements [Cluster]. On a [Secured] cluster it connects as the
// superuser.
func (k *Kafka) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return newClient(t, k.Brokers(), append(slices.Clone(k.auth), opts...))
}

// StopNode shuts node i down gracefully (SIGTERM: controlled shutdown moves
// its partition leadership away first) and waits until its container has
// exited. Its data is kept for StartNode.
func (k *Kafka) StopNode(t testing.TB, i int) {
	t.Helper()
	k.signal(t, i, docker.SIGTERM, 60*time.Second)
}

// KillNode kills node i at once (SIGKILL), like a crash or power loss, and
// waits until its container has exited. Its data is kept for StartNode.
func (k *Kafka) KillNode(t testing.TB, i int) {
	t.Helper()
	k.signal(t, i, docker.SIGKILL, 30*time.Second)
}

// StartNode starts node i again after StopNode or KillNode and waits until
// it serves metadata that lists itself, i.e. it has rejoined the quorum and
// been unfenced.
func (k *Kafka) StartNode(t testing.TB, i int) {
	t.Helper()
	n := k.node(t, i)
	start := time.Now()
	if err := k.pool.Client.StartContainer(n.res.Container.ID, nil); err != nil {
		t.Fatalf("kafkatest: start node %d (%s): %v", i, n.name, err)
	}
	k.waitReady(t, []*kafkaNode{n}, 1)
	t.Logf("kafkatest: node %d (%s) started, ready in %s", i, n.name, time.Since(start).Round(time.Millisecond))
}

func (n *kafkaNode) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.hostPort)) }

func (k *Kafka) node(t testing.TB, i int) *kafkaNode {
	t.Helper()
	if i < 0 || i >= len(k.nodes) {
		t.Fatalf("kafkatest: node %d out of range: cluster has nodes 0..%d", i, len(k.nodes)-1)
	}
	return k.nodes[i]
}

// signal sends sig to node i and waits for its container to exit. It does
// not use the engine's stop call: dockertest creates containers with
// StopSignal SIGWINCH, which the JVM ignores, so "stop" would only ever
// end in SIGKILL after the timeout.
func (k *Kafka) signal(t testing.TB, i int, sig docker.Signal, timeout time.Duration) {
	t.Helper()
	n := k.node(t, i)
	start := time.Now()
	if err := k.pool.Client.KillContainer(docker.KillContainerOptions{ID: n.res.Container.ID, Signal: sig}); err != nil {
		t.Fatalf("kafkatest: signal %d to node %d (%s): %v", sig, i, n.name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := poll(ctx, func(context.Context) error {
		c, err := k.pool.Client.InspectContainer(n.res.Container.ID)
		if err != nil {
			return err
		}
		if c.State.Running {
			return fmt.Errorf("container %s still running", n.name)
		}
		return nil
	})
	if err != nil {
		k.logTails(t)
		t.Fatalf("kafkatest: node %d (%s) did not exit within %s of signal %d: %v", i, n.name, timeout, sig, err)
	}
	t.Logf("kafkatest: node %d (%s) exited %s after signal %d", i, n.name, time.Since(start).Round(time.Millisecond), sig)
}

// waitReady polls each of nodes directly until its own metadata response
// lists at least wantBrokers brokers including itself.
func (k *Kafka) waitReady(t testing.TB, nodes []*kafkaNode, wantBrokers int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), k.cfg.startTimeout)
	defer cancel()
	for _, n := range nodes {
		err := poll(ctx, func(ctx context.Context) error {
			if err := k.running(n); err != nil {
				return err
			}
			req := kmsg.NewPtrMetadataRequest()
			req.Topics = []kmsg.MetadataRequestTopic{}
			resp, err := n.probe.SeedBrokers()[0].RetriableRequest(ctx, req)
			if err != nil {
				return err
			}
			md := resp.(*kmsg.MetadataResponse)
			self := slices.ContainsFunc(md.Brokers, func(b kmsg.MetadataResponseBroker) bool { return b.NodeID == n.id })
			if !self || len(md.Brokers) < wantBrokers {
				return fmt.Errorf("node %d lists %d brokers (itself: %v), want %d", n.id, len(md.Brokers), self, wantBrokers)
			}
			return nil
		})
		if err != nil {
			k.logTails(t)
			t.Fatalf("kafkatest: node %d (%s, %s) not ready within %s: %v", n.id-1, n.name, n.addr(), k.cfg.startTimeout, err)
		}
	}
}

// errExited ends polling early: a container that has exited will not
// become ready.
type errExited struct {
	name string
	code int
}

func (e errExited) Error() string {
	return fmt.Sprintf("container %s exited with code %d", e.name, e.code)
}

func (k *Kafka) running(n *kafkaNode) error {
	c, err := k.pool.Client.InspectContainer(n.res.Container.ID)
	if err != nil {
		return err
	}
	if !c.State.Running {
		return errExited{n.name, c.State.ExitCode}
	}
	return nil
}

// logTails logs the last lines of every node's output, to explain a failure.
func (k *Kafka) logTails(t testing.TB) {
	t.Helper()
	for _, n := range k.nodes {
		if n.res == nil {
			continue
		}
		var buf bytes.Buffer
		err := k.pool.Client.Logs(docker.LogsOptions{
			Container: n.res.Container.ID, OutputStream: &buf, ErrorStream: &buf,
			Stdout: true, Stderr: true, Tail: "40",
		})
		if err != nil {
			t.Logf("kafkatest: logs of %s: %v", n.name, err)
			continue
		}
		t.Logf("kafkatest: last lines of %s:\n%s", n.name, buf.String())
	}
}

func (k *Kafka) purge(t testing.TB) {
	if t.Failed() {
		k.logTails(t)
	}
	for _, n := range k.nodes {
		if n.res == nil {
			continue
		}
		if err := k.pool.Purge(n.res); err != nil {
			t.Logf("kafkatest: remove container %s: %v", n.name, err)
		}
	}
}

// connect returns a pool whose engine answers, or fails the test saying how
// to start one.
func connect(t testing.TB) *dockertest.Pool {
	t.Helper()
	endpoint := os.Getenv("DOCKER_HOST")
	if endpoint == "" {
		if _, err := os.Stat(strings.TrimPrefix(PodmanSocket, "unix://")); err == nil {
			endpoint = PodmanSocket
		}
	}
	pool, err := dockertest.NewPool(endpoint)
	if err == nil {
		err = pool.Client.Ping()
	}
	if err != nil {
		shown := endpoint
		if shown == "" {
			shown = "Docker's default socket"
		}
		t.Fatalf("kafkatest: cannot reach a container engine at %s: %v\n"+
			"Start podman's Docker-compatible API with `bash .ci/containers.sh` (as root; it also builds the Kafka image)\n"+
			"or `podman system service --time=0 %s &`, then set DOCKER_HOST=%s.",
			shown, err, PodmanSocket, PodmanSocket)
	}
	return pool
}

var reapOnce sync.Once

// Labels returns the labels [NewKafka] puts on its containers and network,
// for other containers a test runs beside the cluster (processors, clients):
// with them, a container left behind by a killed test run is removed by the
// next NewKafka of any test process on this host, like the cluster's own.
func Labels(t testing.TB) map[string]string {
	return map[string]string{
		Label:               "1",
		Label + ".pid":      strconv.Itoa(os.Getpid()),
		Label + ".created":  strconv.FormatInt(time.Now().Unix(), 10),
		Label + ".test":     t.Name(),
		Label + ".hostname": hostname(),
	}
}

func splitImage(ref string) (repo, tag string) {
	slash := strings.LastIndex(ref, "/")
	if colon := strings.LastIndex(ref, ":"); colon > slash {
		return ref[:colon], ref[colon+1:]
	}
	return ref, "latest"
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("kafkatest: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// clusterID returns a random KRaft cluster id: 16 bytes, base64url,
// unpadded, and like Kafka's Uuid.randomUuid never starting with "-", which
// command-line parsers (kafka-storage format among them) take for an option.
func clusterID() string {
	for {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		if id := base64.RawURLEncoding.EncodeToString(b); id[0] != '-' {
			return id
		}
	}
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// overrideEnv returns env with the NAME=value entries of over replacing
// those of the same name, and the others added.
func overrideEnv(env, over []string) []string {
	names := map[string]bool{}
	for _, kv := range over {
		name, _, _ := strings.Cut(kv, "=")
		names[name] = true
	}
	out := slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return names[name]
	})
	return append(out, over...)
}

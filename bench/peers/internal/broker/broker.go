// Package broker runs one Apache Kafka 4.x node (KRaft, combined broker and
// controller) on the host JVM from the jars that deploy/kafka/build.sh
// fetches, listening on 127.0.0.1 only. The benchmark runs it on the host
// rather than in a container so that nothing stands between the contenders
// and the broker but loopback TCP, and so its CPU can be read from /proc
// like theirs.
package broker

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Config says where the broker's pieces are.
type Config struct {
	Libs  string // directory of the broker's jars (~/.cache/sluice/kafka-<v>/libs)
	Log4j string // log4j2 configuration (deploy/kafka/log4j2.properties)
	Dir   string // work directory for data and broker.log; created, and removed by Stop
	Heap  string // JVM heap flags; default "-Xmx1g -Xms256m"
}

// Broker is a running node. Stop it when done.
type Broker struct {
	Addr   string // host:port of the client listener
	cmd    *exec.Cmd
	exited chan struct{}
	dir    string
	log    *os.File
}

// Start formats a fresh log directory, starts the node and returns once it
// answers metadata requests, or fails naming what went wrong (the tail of
// broker.log when the JVM exits).
func Start(ctx context.Context, cfg Config) (*Broker, error) {
	if cfg.Heap == "" {
		cfg.Heap = "-Xmx1g -Xms256m"
	}
	if !hasJar(cfg.Libs, "kafka_2.13-") {
		return nil, fmt.Errorf("no kafka_2.13 jar in %s: fetch the jars with deploy/kafka/build.sh --jars-only", cfg.Libs)
	}
	if _, err := os.Stat(cfg.Log4j); err != nil {
		return nil, fmt.Errorf("broker log4j config: %w", err)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("broker work dir: %w", err)
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	props := map[string]string{
		"node.id":                                          "1",
		"process.roles":                                    "broker,controller",
		"listeners":                                        fmt.Sprintf("PLAINTEXT://%s,CONTROLLER://127.0.0.1:%d", addr, ports[1]),
		"advertised.listeners":                             "PLAINTEXT://" + addr,
		"listener.security.protocol.map":                   "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
		"controller.listener.names":                        "CONTROLLER",
		"inter.broker.listener.name":                       "PLAINTEXT",
		"controller.quorum.voters":                         fmt.Sprintf("1@127.0.0.1:%d", ports[1]),
		"log.dirs":                                         filepath.Join(cfg.Dir, "data"),
		"num.partitions":                                   "1",
		"auto.create.topics.enable":                        "false",
		"group.initial.rebalance.delay.ms":                 "0",
		"offsets.topic.replication.factor":                 "1",
		"offsets.topic.num.partitions":                     "10",
		"transaction.state.log.replication.factor":         "1",
		"transaction.state.log.min.isr":                    "1",
		"transaction.state.log.num.partitions":             "10",
		"share.coordinator.state.topic.replication.factor": "1",
		"share.coordinator.state.topic.min.isr":            "1",
	}
	propsFile := filepath.Join(cfg.Dir, "server.properties")
	if err := os.WriteFile(propsFile, []byte(render(props)), 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", propsFile, err)
	}
	logFile, err := os.Create(filepath.Join(cfg.Dir, "broker.log"))
	if err != nil {
		return nil, fmt.Errorf("broker log: %w", err)
	}
	cp := filepath.Join(cfg.Libs, "*")
	log4j := "-Dlog4j2.configurationFile=" + cfg.Log4j

	id, err := clusterID()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	format := exec.CommandContext(ctx, "java", append(strings.Fields(cfg.Heap), log4j, "-cp", cp,
		"kafka.tools.StorageTool", "format", "--ignore-formatted", "--cluster-id="+id, "-c", propsFile)...)
	format.Stdout, format.Stderr = logFile, logFile
	if err := format.Run(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("format broker storage: %w\n%s", err, tail(logFile.Name()))
	}

	jvm := append(strings.Fields(cfg.Heap), "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true", log4j,
		"-cp", cp, "kafka.Kafka", propsFile)
	cmd := exec.Command("java", jvm...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, so a ^C to the harness reaches the harness
	// only, which stops the broker last; and killed if the harness dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start broker: %w", err)
	}
	b := &Broker{Addr: addr, cmd: cmd, exited: make(chan struct{}), dir: cfg.Dir, log: logFile}
	go func() { _ = cmd.Wait(); close(b.exited) }()
	if err := b.waitReady(ctx, 90*time.Second); err != nil {
		_ = b.Stop()
		return nil, err
	}
	return b, nil
}

// Pid is the broker JVM's process id.
func (b *Broker) Pid() int { return b.cmd.Process.Pid }

// LogPath is where the broker writes its log.
func (b *Broker) LogPath() string { return b.log.Name() }

// Stop shuts the broker down (SIGTERM, then SIGKILL after 30s) and removes
// its work directory.
func (b *Broker) Stop() error {
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(30 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
	b.log.Close()
	return os.RemoveAll(b.dir)
}

func (b *Broker) waitReady(ctx context.Context, limit time.Duration) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
	if err != nil {
		return fmt.Errorf("client for readiness: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-b.exited:
			return fmt.Errorf("broker exited during start-up\n%s", tail(b.log.Name()))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		m, err := adm.BrokerMetadata(rctx)
		cancel()
		if err == nil && len(m.Brokers) == 1 && m.Controller >= 0 {
			return nil
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("broker at %s not ready after %s (last error: %v)\n%s", b.Addr, limit, last, tail(b.log.Name()))
}

func hasJar(dir, prefix string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, prefix+"*.jar"))
	return len(m) > 0
}

func render(props map[string]string) string {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var s strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&s, "%s=%s\n", k, props[k])
	}
	return s.String()
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func clusterID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("cluster id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// tail returns the last lines of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return path + ":\n  " + strings.Join(lines, "\n  ")
}

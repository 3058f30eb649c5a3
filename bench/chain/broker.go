package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// broker is a single-node KRaft Kafka (combined broker and controller) on
// the host JVM, from the jars deploy/kafka/build.sh caches: the same
// version as the integration suites' image, without a container between
// it and the processors, so that its CPU is one process in /proc.
type broker struct {
	addr string
	proc *proc
}

// kafkaVersion reads the pinned version from deploy/kafka/pom.xml, the
// one declaration the image, the suites and this benchmark share.
func kafkaVersion(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "deploy/kafka/pom.xml"))
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`<kafka.version>([^<]+)</kafka.version>`).FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("no <kafka.version> in deploy/kafka/pom.xml")
	}
	return string(m[1]), nil
}

func defaultKafkaLibs(root string) (string, error) {
	v, err := kafkaVersion(root)
	if err != nil {
		return "", err
	}
	cache := os.Getenv("SLUICE_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(home, ".cache/sluice")
	}
	return filepath.Join(cache, "kafka-"+v, "libs"), nil
}

// startBroker formats a fresh log directory under dir and starts Kafka
// listening on free localhost ports; it returns once the broker answers
// metadata requests.
func startBroker(ctx context.Context, root, libs, dir string) (*broker, error) {
	if libs == "" {
		var err error
		if libs, err = defaultKafkaLibs(root); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(libs, ".complete")); err != nil {
		return nil, fmt.Errorf("no Kafka jars in %s: run bash deploy/kafka/build.sh (it fetches them with mvn), or pass --kafka-libs or --brokers", libs)
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("java (17 or newer) not found, needed to run the broker: %w", err)
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	ctrl := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
	data := filepath.Join(dir, "kafka-data")
	if err := os.RemoveAll(data); err != nil {
		return nil, err
	}
	// The integration image's settings (deploy/kafka/entrypoint.sh) for one
	// node, on loopback only.
	props := strings.Join([]string{
		"node.id=1",
		"process.roles=broker,controller",
		"listeners=PLAINTEXT://" + addr + ",CONTROLLER://" + ctrl,
		"advertised.listeners=PLAINTEXT://" + addr,
		"listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
		"controller.listener.names=CONTROLLER",
		"controller.quorum.voters=1@" + ctrl,
		"log.dirs=" + data,
		"num.partitions=6",
		"auto.create.topics.enable=false",
		"group.initial.rebalance.delay.ms=0",
		"offsets.topic.num.partitions=10",
		"offsets.topic.replication.factor=1",
		"transaction.state.log.replication.factor=1",
		"transaction.state.log.min.isr=1",
		"share.coordinator.state.topic.replication.factor=1",
		"share.coordinator.state.topic.min.isr=1",
		"delete.topic.enable=true",
	}, "\n") + "\n"
	propsFile := filepath.Join(dir, "server.properties")
	if err := os.WriteFile(propsFile, []byte(props), 0o644); err != nil {
		return nil, err
	}
	// Kafka's own defaults (kafka-server-start.sh, kafka-run-class.sh): a
	// 1 GiB heap committed from the start. With -Xms256m, as before
	// 2026-12-08, G1 kept the small heap it began with for most of a run:
	// promoted objects filled the old generation and squeezed eden from
	// ~100 MB to 17 MB, the broker collected 3.5 times a second over the
	// 3,000 orders/s steps (jstat), and the heap was grown, with a marking
	// cycle, at the start of the first 4,000 step, so that how a step fared
	// depended on the steps before it. Every collection is logged to
	// kafka-gc.log in the workdir.
	jvm := []string{"-Xmx1g", "-Xms1g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
		"-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent",
		"-Djava.awt.headless=true",
		"-Dlog4j2.configurationFile=" + filepath.Join(root, "deploy/kafka/log4j2.properties"),
		"-cp", filepath.Join(libs, "*")}
	format := exec.CommandContext(ctx, java, append(jvm, "kafka.tools.StorageTool", "format", "--ignore-formatted",
		"--cluster-id=MkU3OEVBNTcwNTJENDM2Qg", "-c", propsFile)...)
	if out, err := format.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("format Kafka storage: %w\n%s", err, out)
	}
	gcLog := "-Xlog:gc:file=" + filepath.Join(dir, "kafka-gc.log") + ":uptime"
	p, err := startProc(java, append(slices.Clip(jvm), gcLog, "kafka.Kafka", propsFile), nil, filepath.Join(dir, "kafka.log"))
	if err != nil {
		return nil, fmt.Errorf("start Kafka: %w", err)
	}
	b := &broker{addr: addr, proc: p}
	if err := waitBroker(ctx, addr, p, 90*time.Second); err != nil {
		b.stop()
		return nil, fmt.Errorf("Kafka did not come up (log: %s): %w", filepath.Join(dir, "kafka.log"), err)
	}
	return b, nil
}

func waitBroker(ctx context.Context, addr string, p *proc, timeout time.Duration) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(timeout)
	for {
		if p != nil && p.exited() {
			return fmt.Errorf("broker exited: %v", p.wait())
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		bs, err := adm.ListBrokers(rctx)
		cancel()
		if err == nil && len(bs) > 0 {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no metadata from %s in %s: %v", addr, timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (b *broker) stop() {
	if b.proc != nil {
		b.proc.stop(syscall.SIGTERM, 30*time.Second)
	}
}

// freePorts returns n distinct ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

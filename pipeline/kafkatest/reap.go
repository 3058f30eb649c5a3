package kafkatest

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	docker "github.com/ory/dockertest/v3/docker"
)

// maxAge is how long a labelled container or network may live whose owner
// seems alive: longer than any test run (go test's default -timeout is 10m),
// so a reused PID does not keep leftovers forever.
const maxAge = 30 * time.Minute

// reapStale removes containers and networks that [NewKafka] created in an
// earlier run that died before its t.Cleanup ran (a killed go test, a
// SIGKILLed CI job). Only objects carrying [Label] are touched, and only
// when the process that made them is gone or they are older than maxAge;
// a concurrent test process (another package) keeps its clusters.
func reapStale(t testing.TB, pool *dockertest.Pool) {
	t.Helper()
	containers, err := pool.Client.ListContainers(docker.ListContainersOptions{
		All:     true,
		Filters: map[string][]string{"label": {Label + "=1"}},
	})
	if err != nil {
		t.Logf("kafkatest: list leftover containers: %v", err)
		return
	}
	for _, c := range containers {
		if !stale(c.Labels) {
			continue
		}
		t.Logf("kafkatest: removing leftover container %v (test %q, pid %s)", c.Names, c.Labels[Label+".test"], c.Labels[Label+".pid"])
		if err := pool.Client.RemoveContainer(docker.RemoveContainerOptions{ID: c.ID, Force: true, RemoveVolumes: true}); err != nil {
			t.Logf("kafkatest: remove leftover container %v: %v", c.Names, err)
		}
	}
	networks, err := pool.Client.ListNetworks()
	if err != nil {
		t.Logf("kafkatest: list leftover networks: %v", err)
		return
	}
	for _, n := range networks {
		if n.Labels[Label] != "1" || !stale(n.Labels) {
			continue
		}
		t.Logf("kafkatest: removing leftover network %s", n.Name)
		if err := pool.Client.RemoveNetwork(n.ID); err != nil {
			t.Logf("kafkatest: remove leftover network %s: %v", n.Name, err)
		}
	}
}

func stale(labels map[string]string) bool {
	created, err := strconv.ParseInt(labels[Label+".created"], 10, 64)
	if err != nil || time.Since(time.Unix(created, 0)) > maxAge {
		return true
	}
	if labels[Label+".hostname"] != hostname() {
		return false // its owner runs elsewhere; only age can tell
	}
	pid, err := strconv.Atoi(labels[Label+".pid"])
	if err != nil {
		return true
	}
	if pid == os.Getpid() {
		return false
	}
	return !alive(pid)
}

// alive reports whether process pid exists and is not a zombie (a killed
// test binary whose parent has not reaped it yet still answers kill -0).
func alive(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !os.IsNotExist(err)
	}
	// The state follows the parenthesised command name, which may itself
	// contain spaces or parentheses.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

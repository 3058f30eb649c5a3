// Package grafana holds no code: its test checks the provisioned Grafana
// dashboards against the metrics that lagmon and the processors export.
package grafana

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/lag/promexport"
)

// pendingProcessorMetrics are processor metrics the dashboards use that
// pipeline/metrics.go is about to gain (retry and dead-letter counters).
var pendingProcessorMetrics = []string{
	"sluice_processor_records_retried_total",
	"sluice_processor_records_dead_lettered_total",
}

// knownMetrics are lagmon's metric names, the processors' (read from
// pipeline/metrics.go, so a rename there fails here) and Prometheus' own.
func knownMetrics(t *testing.T) map[string]bool {
	known := map[string]bool{"up": true}
	for _, n := range []string{
		promexport.ConsumerGroupCurrentOffset, promexport.ConsumerGroupCurrentOffsetSum, promexport.ConsumerGroupLag,
		promexport.ConsumerGroupLagSum, promexport.ConsumerGroupMembers, promexport.ConsumerGroupLagSeconds,
		promexport.TopicPartitions, promexport.TopicPartitionCurrentOffset, promexport.GroupStatus,
		promexport.GroupStatusCode, promexport.LagSecondsUnknown, promexport.Up,
	} {
		known[n] = true
	}
	src, err := os.ReadFile("../../pipeline/metrics.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?:counter|one|gauge|hist)\("([a-z_]+)"|Name: "([a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
		name := "sluice_processor_" + m[1] + m[2]
		known[name] = true
		known[name+"_bucket"] = true
	}
	for _, n := range pendingProcessorMetrics {
		if !known[n] {
			t.Logf("%s is not in pipeline/metrics.go yet; the dashboard's panel for it stays empty until it is", n)
			known[n] = true
		}
	}
	return known
}

func TestDashboardsUseExistingMetricsAndTheProvisionedDatasource(t *testing.T) {
	known := knownMetrics(t)
	files, _ := filepath.Glob("dashboards/*.json")
	if len(files) == 0 {
		t.Fatal("no dashboards")
	}
	prov, err := os.ReadFile("provisioning/datasources/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	uid := regexp.MustCompile(`uid:\s*(\S+)`).FindStringSubmatch(string(prov))[1]
	metric := regexp.MustCompile(`\b(?:kafka|sluice)_[a-z_]+\b|\bup\{`)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			UID    string `json:"uid"`
			Panels []struct {
				Title      string `json:"title"`
				Type       string `json:"type"`
				Datasource struct {
					UID string `json:"uid"`
				} `json:"datasource"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if d.UID == "" {
			t.Errorf("%s: no uid (links to it would break on every import)", f)
		}
		for _, p := range d.Panels {
			if p.Type == "row" {
				continue
			}
			if p.Datasource.UID != uid {
				t.Errorf("%s: panel %q uses datasource %q, provisioned is %q", f, p.Title, p.Datasource.UID, uid)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", f, p.Title)
			}
			for _, tg := range p.Targets {
				for _, name := range metric.FindAllString(tg.Expr, -1) {
					name = strings.TrimSuffix(name, "{")
					if !known[name] {
						t.Errorf("%s: panel %q queries %s, which nothing exports", f, p.Title, name)
					}
				}
			}
		}
	}
}

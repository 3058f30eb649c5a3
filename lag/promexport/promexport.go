// Package promexport exposes the lag monitor's latest report as Prometheus
// metrics. Lag metrics carry kafka_exporter's names and labels, so
// dashboards and alerts written for kafka_exporter work unchanged; lag in
// seconds and status are added beside them.
//
// It is a custom collector: each scrape renders the latest report, so a
// group, topic or partition that went away has no series at the next
// scrape, with nothing to unregister.
package promexport

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-dev/sluice/lag/monitor"
	"github.com/sluice-dev/sluice/lag/status"
)

// Metric names, for dashboards, alerts and tests.
const (
	ConsumerGroupCurrentOffset    = "kafka_consumergroup_current_offset"
	ConsumerGroupCurrentOffsetSum = "kafka_consumergroup_current_offset_sum"
	ConsumerGroupLag              = "kafka_consumergroup_lag"
	ConsumerGroupLagSum           = "kafka_consumergroup_lag_sum"
	ConsumerGroupMembers          = "kafka_consumergroup_members"
	ConsumerGroupLagSeconds       = "kafka_consumergroup_lag_seconds"
	TopicPartitions               = "kafka_topic_partitions"
	TopicPartitionCurrentOffset   = "kafka_topic_partition_current_offset"
	GroupStatus                   = "sluice_lagmon_group_status"
	GroupStatusCode               = "sluice_lagmon_group_status_code"
	LagSecondsUnknown             = "sluice_lagmon_lag_seconds_unknown"
	Up                            = "sluice_lagmon_up"
	Reads                         = "sluice_lagmon_reads_total"
	ReadErrors                    = "sluice_lagmon_read_errors_total"
	ReadSeconds                   = "sluice_lagmon_read_seconds"
	LastRead                      = "sluice_lagmon_last_read_timestamp_seconds"
)

// Collector renders a report source. Register it once.
type Collector struct {
	latest func() monitor.Report
	descs  map[string]*prometheus.Desc
}

// New returns a collector of the reports latest returns (typically
// (*monitor.Monitor).Latest).
func New(latest func() monitor.Report) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	gtp := []string{"consumergroup", "topic", "partition"}
	return &Collector{latest: latest, descs: map[string]*prometheus.Desc{
		ConsumerGroupCurrentOffset:    d(ConsumerGroupCurrentOffset, "Current (committed) offset of a consumer group at a topic partition.", gtp...),
		ConsumerGroupCurrentOffsetSum: d(ConsumerGroupCurrentOffsetSum, "Sum of a consumer group's committed offsets over a topic's partitions.", "consumergroup", "topic"),
		ConsumerGroupLag:              d(ConsumerGroupLag, "Lag in records of a consumer group at a topic partition (end offset minus committed offset, never negative).", gtp...),
		ConsumerGroupLagSum:           d(ConsumerGroupLagSum, "Lag in records of a consumer group over a topic's partitions.", "consumergroup", "topic"),
		ConsumerGroupMembers:          d(ConsumerGroupMembers, "Active members of a consumer group.", "consumergroup"),
		ConsumerGroupLagSeconds:       d(ConsumerGroupLagSeconds, "Estimated age in seconds of the next record the group will read at a partition, interpolated from end-offset history; absent when unknown (see sluice_lagmon_lag_seconds_unknown).", gtp...),
		TopicPartitions:               d(TopicPartitions, "Number of partitions of a topic.", "topic"),
		TopicPartitionCurrentOffset:   d(TopicPartitionCurrentOffset, "Log end offset of a topic partition.", "topic", "partition"),
		GroupStatus:                   d(GroupStatus, "1 for the consumer group's current status (OK, WARN, ERR, STALL, STOP), 0 for the others.", "consumergroup", "status"),
		GroupStatusCode:               d(GroupStatusCode, "Consumer group status as a number: 0 OK, 1 WARN, 2 ERR, 3 STALL, 4 STOP.", "consumergroup"),
		LagSecondsUnknown:             d(LagSecondsUnknown, "1 where a partition is behind but its lag in seconds cannot be estimated (too little history, or older than the history); the value of kafka_consumergroup_lag_seconds is then absent.", gtp...),
		Up:                            d(Up, "1 if the last snapshot of the cluster was read without error, else 0."),
		Reads:                         d(Reads, "Snapshots of the cluster attempted."),
		ReadErrors:                    d(ReadErrors, "Snapshots of the cluster that failed in part or whole."),
		ReadSeconds:                   d(ReadSeconds, "Duration of the last snapshot of the cluster."),
		LastRead:                      d(LastRead, "Unix time of the last snapshot."),
	}}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	r := c.latest()
	if r.Time.IsZero() {
		return
	}
	gauge := func(name string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.GaugeValue, v, labels...)
	}
	counter := func(name string, v float64) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.CounterValue, v)
	}
	up := 1.0
	if r.Err != "" {
		up = 0
	}
	gauge(Up, up)
	counter(Reads, float64(r.Reads))
	counter(ReadErrors, float64(r.ReadErrors))
	gauge(ReadSeconds, r.ReadSeconds)
	gauge(LastRead, float64(r.Time.UnixNano())/1e9)

	for _, t := range r.Topics {
		gauge(TopicPartitions, float64(len(t.Ends)), t.Name)
		for _, e := range t.Ends {
			gauge(TopicPartitionCurrentOffset, float64(e.End), t.Name, itoa(e.Partition))
		}
	}
	for _, g := range r.Groups {
		gauge(ConsumerGroupMembers, float64(len(g.Members)), g.Name)
		for _, s := range status.All {
			v := 0.0
			if g.Verdict.Status == s {
				v = 1
			}
			gauge(GroupStatus, v, g.Name, s.String())
		}
		gauge(GroupStatusCode, float64(g.Verdict.Status), g.Name)
		for _, t := range g.Topics {
			committed := false
			for _, p := range t.Partitions {
				if !p.HasCommit() {
					continue
				}
				committed = true
				part := itoa(p.Partition)
				gauge(ConsumerGroupCurrentOffset, float64(p.Committed), g.Name, t.Topic, part)
				gauge(ConsumerGroupLag, float64(p.Lag), g.Name, t.Topic, part)
				if p.Seconds.Known {
					gauge(ConsumerGroupLagSeconds, p.Seconds.Seconds, g.Name, t.Topic, part)
				} else {
					gauge(LagSecondsUnknown, 1, g.Name, t.Topic, part)
				}
			}
			if committed {
				gauge(ConsumerGroupCurrentOffsetSum, float64(t.Committed), g.Name, t.Topic)
				gauge(ConsumerGroupLagSum, float64(t.Lag), g.Name, t.Topic)
			}
		}
	}
}

func itoa(p int32) string { return strconv.FormatInt(int64(p), 10) }

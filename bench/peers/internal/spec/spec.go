// Package spec is the command line every contender takes, Go or Java
// (java/handler/.../Args.java parses the same names): the harness writes it
// with Common.Args, a Go contender reads it with Common.Register and Check.
// Contender-specific settings follow as more --name=value arguments.
package spec

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Common is what every contender is told.
type Common struct {
	Brokers string // host:port[,host:port...]
	Input   string // topic to consume
	Output  string // topic to produce one output per input to
	Group   string // consumer group (Kafka Streams: application.id)
	K       int    // SHA-256 rounds per record (work.Apply)
	Sleep   time.Duration
	// CommitInterval is how often the contender commits offsets, for the
	// contenders that commit periodically.
	CommitInterval time.Duration
}

// Args returns c as --name=value arguments.
func (c Common) Args() []string {
	return []string{
		"--brokers=" + c.Brokers,
		"--input=" + c.Input,
		"--output=" + c.Output,
		"--group=" + c.Group,
		"--k=" + strconv.Itoa(c.K),
		"--sleep-us=" + strconv.FormatInt(c.Sleep.Microseconds(), 10),
		"--commit-ms=" + strconv.FormatInt(c.CommitInterval.Milliseconds(), 10),
	}
}

// Register declares c's flags on fs; call Check after fs.Parse.
func (c *Common) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.Brokers, "brokers", "", "Kafka bootstrap brokers, comma-separated (required)")
	fs.StringVar(&c.Input, "input", "", "input topic (required)")
	fs.StringVar(&c.Output, "output", "", "output topic (required)")
	fs.StringVar(&c.Group, "group", "", "consumer group (required)")
	fs.IntVar(&c.K, "k", 0, "SHA-256 rounds per record")
	fs.Func("sleep-us", "handler sleep per record, microseconds", func(s string) error {
		us, err := strconv.ParseInt(s, 10, 64)
		c.Sleep = time.Duration(us) * time.Microsecond
		return err
	})
	c.CommitInterval = time.Second
	fs.Func("commit-ms", "commit interval, milliseconds (default 1000)", func(s string) error {
		ms, err := strconv.ParseInt(s, 10, 64)
		c.CommitInterval = time.Duration(ms) * time.Millisecond
		return err
	})
}

// Check reports what is missing or out of range, naming the flag.
func (c Common) Check() error {
	var errs []error
	for name, v := range map[string]string{"brokers": c.Brokers, "input": c.Input, "output": c.Output, "group": c.Group} {
		if v == "" {
			errs = append(errs, fmt.Errorf("--%s is required", name))
		}
	}
	if c.K < 0 {
		errs = append(errs, fmt.Errorf("--k=%d: want 0 or more", c.K))
	}
	if c.Sleep < 0 {
		errs = append(errs, fmt.Errorf("--sleep-us=%d: want 0 or more", c.Sleep.Microseconds()))
	}
	if c.CommitInterval <= 0 {
		errs = append(errs, fmt.Errorf("--commit-ms=%d: want more than 0", c.CommitInterval.Milliseconds()))
	}
	return errors.Join(errs...)
}

// BrokerList splits Brokers.
func (c Common) BrokerList() []string { return strings.Split(c.Brokers, ",") }

package kafkaconn

import (
	"context"
	"flag"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestFlagsAndErrors(t *testing.T) {
	cases := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--brokers", "a:9092, b:9092"}, ""},
		{[]string{"--brokers", "a:9092", "--sasl-mechanism", "PLAIN"}, "needs --sasl-user"},
		{[]string{"--brokers", "a:9092", "--sasl-mechanism", "GSSAPI", "--sasl-user", "u"}, "want PLAIN"},
		{[]string{"--brokers", "a:9092", "--tls-cert", "c.pem"}, "go together"},
		{[]string{"--brokers", "a:9092", "--tls-ca", "/nonexistent.pem"}, "--tls-ca"},
		{[]string{"--brokers", "a:9092", "--sasl-mechanism", "SCRAM-SHA-512", "--sasl-user", "u"}, ""},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var cfg Config
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			cfg.RegisterFlags(fs)
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			_, err := cfg.Options()
			if c.wantErr == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("error %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

// TestSASLPlainAgainstBroker authenticates against kfake with SASL/PLAIN and
// SCRAM, and shows a wrong password is refused.
func TestSASLAgainstBroker(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "admin", "secret"),
		kfake.Superuser("SCRAM-SHA-256", "admin", "secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		mech, pass string
		ok         bool
	}{{"PLAIN", "secret", true}, {"SCRAM-SHA-256", "secret", true}, {"PLAIN", "wrong", false}} {
		cfg := Config{Brokers: c.ListenAddrs(), SASLMechanism: tc.mech, SASLUser: "admin", SASLPassword: tc.pass}
		opts, err := cfg.Options()
		if err != nil {
			t.Fatal(err)
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		err = cl.Ping(context.Background())
		cl.Close()
		if (err == nil) != tc.ok {
			t.Errorf("%s with password %q: ping error %v, want ok=%v", tc.mech, tc.pass, err, tc.ok)
		}
	}
}

package kafkaconn

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
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

func TestOptionsErrorsAreConfigErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "--brokers"},
		{Config{Brokers: []string{"a:1"}, CertFile: "c.pem"}, "--tls-cert and --tls-key go together"},
		{Config{Brokers: []string{"a:1"}, SASLUser: "u"}, "need --sasl-mechanism"},
		{Config{Brokers: []string{"a:1"}, SASLMechanism: "PLAIN", SASLUser: "u", SASLPassword: "p", SASLPasswordFile: empty}, "not both"},
		{Config{Brokers: []string{"a:1"}, SASLMechanism: "PLAIN", SASLUser: "u", SASLPasswordFile: empty}, "is empty"},
		{Config{Brokers: []string{"a:1"}, SASLMechanism: "PLAIN", SASLUser: "u", SASLPasswordFile: filepath.Join(dir, "absent")}, "--sasl-password-file"},
	}
	for _, c := range cases {
		_, err := c.cfg.Options()
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Options(%+v) = %v, want a *ConfigError mentioning %q", c.cfg, err, c.want)
		}
	}
}

// TestPasswordFileAuthenticates reads the password from a file (trailing
// newline and all, as `echo secret > file` writes it).
func TestPasswordFileAuthenticates(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "admin", "from-a-file"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	file := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(file, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := Config{Brokers: c.ListenAddrs(), SASLMechanism: "SCRAM-SHA-512", SASLUser: "admin", SASLPasswordFile: file}.Options()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Ping(context.Background()); err != nil {
		t.Fatalf("ping with the password from a file: %v", err)
	}
}

// TestClientLoggerAtDebugOnly: the client's own lines (connection
// attempts among them) appear with --log-level debug and not at info.
func TestClientLoggerAtDebugOnly(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), WithClientLogger(log))
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		cl.Close()
		shown := strings.Contains(buf.String(), "kafka client: opening connection to broker")
		if shown != (level == slog.LevelDebug) {
			t.Errorf("at %s the connection attempt was logged: %v, want %v\n%s", level, shown, level == slog.LevelDebug, buf.String())
		}
	}
}

// A nil logger (a caller with none) logs nothing instead of panicking in
// the client's goroutines.
func TestClientLoggerNil(t *testing.T) {
	if got := ClientLogger(nil).Level(); got != kgo.LogLevelNone {
		t.Errorf("level %v, want none", got)
	}
}

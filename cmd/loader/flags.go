package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/sluice-dev/sluice/internal/envflag"
	"github.com/sluice-dev/sluice/internal/logflag"
	"github.com/sluice-dev/sluice/pipeline/kafkaconn"
	"github.com/sluice-dev/sluice/processors/order"
	"github.com/sluice-dev/sluice/processors/ordergen"
	"github.com/sluice-dev/sluice/schemas"
)

// envPrefix is the processors' prefix: SLUICE_BROKERS, SLUICE_FORMAT and
// the TLS and SASL variables set for them work for the loader too.
const envPrefix = "SLUICE"

const synopsis = `usage: loader [options] FILE...        load JSON Lines or CSV files ("-" is stdin)
       loader [options] --count N|--duration D   generate orders

Loads rows of JSON Lines (.jsonl) or CSV (.csv, with a header row naming the
fields) into --topic, each row mapped onto the Avro schema --schema by field
name and type-checked against it, encoded in the --format wire format and
keyed by --key-field. CSV cells of nested fields (arrays, records) are
JSON-encoded; an empty cell of a nullable field is null.

By default every file is validated in full before anything is sent, so a
bad file never leaves half of itself in Kafka; every invalid row is reported
as file:line, the field and what was expected. --skip-invalid sends the
valid rows instead and writes the others, with their reasons, to
--reject-file. stdin is copied to a temporary file first, so it is
validated the same way.

With --count or --duration instead of files, it generates synthetic
OrderPlaced records (the reference domain of package ordergen): the same
--seed gives the same records.

Ctrl-C stops after the records in flight are acknowledged and says how far
the load got, and the --from-line that resumes it. Exit status: 0 when
everything was sent and acknowledged (or valid, with --validate-only); 1
when any row was rejected or invalid or any record failed; 2 on a usage
error; 130 when interrupted.`

// config is the parsed command line.
type config struct {
	conn        kafkaconn.Config
	topic       string
	schema      string
	keyField    string
	format      string
	registryURL string
	inputFormat string
	files       []string
	fromLine    int
	validate    bool
	skipInvalid bool
	rejectFile  string

	count      int64
	duration   time.Duration
	seed       int64
	keys       int
	poisonRate float64

	rate            float64
	compression     string
	deliveryTimeout time.Duration
	progress        time.Duration
	logLevel        slog.Level
}

func (c *config) generating() bool { return c.count > 0 || c.duration > 0 }

// parseFlags parses args and SLUICE_* variables. It returns flag.ErrHelp
// after printing the help for --help.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("loader", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := config{conn: kafkaconn.Config{Brokers: []string{"127.0.0.1:9092"}, ClientID: "sluice-loader"}}
	c.conn.RegisterFlags(fs)
	fs.StringVar(&c.topic, "topic", order.TopicPlaced, "topic to produce to; it must exist")
	fs.StringVar(&c.schema, "schema", "OrderPlaced", "Avro record the rows are mapped onto, short (OrderPlaced) or full (sluice.orders.OrderPlaced) name; its latest version is used")
	fs.StringVar(&c.keyField, "key-field", "order_id", "field whose value is the record key (a string, enum, int or long field); empty for no key")
	fs.StringVar(&c.format, "format", "single-object", "Avro wire format: single-object (no registry) or confluent (needs --registry-url)")
	fs.StringVar(&c.registryURL, "registry-url", "", "Confluent Schema Registry URL; implies --format confluent")
	fs.StringVar(&c.inputFormat, "input-format", "", "jsonl or csv; default: csv for .csv files, jsonl otherwise (and for stdin)")
	fs.IntVar(&c.fromLine, "from-line", 1, "skip the rows of the first file that start before this line, to resume an interrupted load (CSV headers are still read)")
	fs.BoolVar(&c.validate, "validate-only", false, "check every row against the schema, report the invalid ones and send nothing")
	fs.BoolVar(&c.skipInvalid, "skip-invalid", false, "send the valid rows without validating whole files first, and write the invalid ones to --reject-file")
	fs.StringVar(&c.rejectFile, "reject-file", "rejects.jsonl", "with --skip-invalid: JSON Lines file of rejected rows and their reasons, created only if a row is rejected")
	fs.Int64Var(&c.count, "count", 0, "generate this many orders (instead of reading files)")
	fs.DurationVar(&c.duration, "duration", 0, "generate orders for this long (with --count: whichever ends first)")
	fs.Int64Var(&c.seed, "seed", 42, "generator seed: the same seed gives the same orders (42 gives those of testdata/orders.jsonl)")
	fs.IntVar(&c.keys, "keys", ordergen.DefaultKeys, "generator: number of distinct customers")
	fs.Float64Var(&c.poisonRate, "poison-rate", 0, "generator: share of records, 0 to 1, that are deliberately not valid OrderPlaced (for demos and tests of dead-lettering)")
	fs.Float64Var(&c.rate, "rate", 0, "records per second, evenly spaced; 0 is as fast as the broker takes them")
	fs.StringVar(&c.compression, "compression", "snappy", "batch compression: none, gzip, snappy, lz4 or zstd (snappy: cheapest on CPU for about the same ratio as lz4 on these records)")
	fs.DurationVar(&c.deliveryTimeout, "delivery-timeout", time.Minute, "give up on a record the brokers have not acknowledged in this long (the load then stops and says where to resume)")
	fs.DurationVar(&c.progress, "progress-interval", 10*time.Second, "when stderr is not a terminal, log progress this often (0: never); on a terminal one live line is updated instead")
	var logLevel string
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.Usage = envflag.Usage(fs, envPrefix, synopsis)
	if err := envflag.Parse(fs, envPrefix, args); err != nil {
		return config{}, err
	}
	c.files = fs.Args()
	var err error
	if c.logLevel, err = logflag.Parse(logLevel); err != nil {
		return config{}, err
	}
	return c, c.check()
}

// check rejects combinations of options that make no sense.
func (c *config) check() error {
	switch {
	case c.count < 0 || c.duration < 0:
		return errors.New("--count and --duration must not be negative")
	case c.generating() && len(c.files) > 0:
		return fmt.Errorf("give files to load or --count/--duration to generate, not both (got file %q)", c.files[0])
	case !c.generating() && len(c.files) == 0:
		return errors.New(`nothing to load: give files ("-" for stdin), or --count or --duration to generate orders`)
	case c.validate && c.skipInvalid:
		return errors.New("--validate-only and --skip-invalid do not go together: validation sends nothing to skip")
	case c.fromLine < 1:
		return fmt.Errorf("--from-line %d: lines count from 1", c.fromLine)
	case c.rate < 0:
		return fmt.Errorf("--rate %v: want records per second, or 0 for no limit", c.rate)
	case c.poisonRate < 0 || c.poisonRate > 1:
		return fmt.Errorf("--poison-rate %v: want a share from 0 to 1", c.poisonRate)
	case c.keys < 1:
		return fmt.Errorf("--keys %d: want at least 1", c.keys)
	}
	if c.generating() {
		switch {
		case c.validate || c.skipInvalid || c.fromLine != 1:
			return errors.New("--validate-only, --skip-invalid and --from-line are for files, not generated orders")
		case c.schema != "OrderPlaced" && c.schema != schemas.OrderPlaced:
			return fmt.Errorf("--schema %s: the generator makes OrderPlaced records only", c.schema)
		case c.keyField != "order_id":
			return fmt.Errorf("--key-field %s: generated orders are keyed by order_id", c.keyField)
		}
	}
	return nil
}

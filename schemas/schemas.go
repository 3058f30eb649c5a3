// Package schemas holds Sluice's Avro schemas and turns records into bytes
// and back.
//
// The .avsc files in this directory are embedded; Load compiles them into a
// Set, and a Serde encodes and decodes with that Set in one of two wire
// formats (see Format). A Codec is the typed form of a Serde for one record,
// for pipeline.Typed; Schema.Type is a schema's parsed form, for code that
// maps other data onto it (the loader).
//
// Decode resolves whatever version the producer wrote to the latest version
// this binary knows, so a consumer that knows a new version (fields added
// with defaults) reads records of the old and the new. In single-object
// format a consumer knows only the versions embedded in it, so it must be
// deployed before producers of a newer version; with a registry it fetches
// the writer's schema and reads versions newer than its own as well.
//
// # Native values
//
// Records are map[string]any keyed by field name, as goavro represents
// them. Decode returns, and Encode accepts:
//
//	null                      nil
//	boolean                   bool
//	int                       int32 (Encode also takes int, int64, float64...)
//	long                      int64 (Encode also takes int, int32, float64...)
//	float, double             float32, float64
//	bytes, fixed              []byte
//	string, enum              string (enum: the symbol)
//	array                     []any
//	map                       map[string]any
//	record                    map[string]any
//	long timestamp-millis     time.Time in UTC (Encode also takes int64 millis)
//	union                     nil for null, else map[string]any{"<branch>": v}
//
// A union branch is named by its type: "string", "double", a record's full
// name, or "long.timestamp-millis" for a logical type; goavro.Union builds
// one. Encode does not accept a bare value for a union field: write
// map[string]any{"string": "out of stock"}, not "out of stock".
package schemas

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/linkedin/goavro/v2"
)

// Full names of Sluice's records, for Latest, Encode and Decode.
const (
	OrderPlaced    = "sluice.orders.OrderPlaced"
	OrderValidated = "sluice.orders.OrderValidated"
	OrderScored    = "sluice.orders.OrderScored"
	OrderDecided   = "sluice.orders.OrderDecided"
	OrderStatus    = "sluice.orders.OrderStatus"
)

//go:embed *.avsc
var embedded embed.FS

// Schema is one compiled version of one record schema.
type Schema struct {
	// Name is the record's full name, e.g. "sluice.orders.OrderPlaced".
	Name string
	// Version comes from the file name (order_placed.v2.avsc is 2). It is
	// 0 for a schema learned from the registry that is not embedded.
	Version int
	// Codec encodes and decodes the Avro binary body; safe for concurrent use.
	Codec *goavro.Codec
	// Fingerprint is the CRC-64-AVRO (Rabin) fingerprint of the schema's
	// Parsing Canonical Form, the ID single-object encoding puts in its header.
	Fingerprint uint64
	// Text is the schema JSON as written in the file.
	Text string

	root *Type
}

// Type returns the schema's parsed form, a record Type: its fields, their
// types and defaults, for code that maps other data onto the schema.
func (s *Schema) Type() *Type { return s.root }

// String names the schema for messages: "sluice.orders.OrderPlaced v2".
func (s *Schema) String() string {
	if s.Version == 0 {
		return fmt.Sprintf("%s (fingerprint 0x%016x)", s.Name, s.Fingerprint)
	}
	return fmt.Sprintf("%s v%d", s.Name, s.Version)
}

// Set is every compiled schema, indexed by name and fingerprint. It is
// immutable after Load and safe for concurrent use.
type Set struct {
	byName  map[string][]*Schema // full name -> versions, ascending
	byShort map[string]string    // short name -> full name, "" if ambiguous
	byFP    map[uint64]*Schema
	// byGoavroFP indexes goavro's own fingerprint (Codec.Rabin), which
	// differs from the spec's for schemas with logical types (see
	// canonicalForm), so messages from goavro's SingleFromNative decode too.
	byGoavroFP map[uint64]*Schema
}

var fileName = regexp.MustCompile(`^([a-z0-9_]+)\.v([0-9]+)\.avsc$`)

// Load compiles every embedded schema. An error names the file at fault.
func Load() (*Set, error) {
	return loadFS(embedded)
}

func loadFS(fsys fs.FS) (*Set, error) {
	files, err := fs.Glob(fsys, "*.avsc")
	if err != nil {
		return nil, fmt.Errorf("list schemas: %w", err)
	}
	set := &Set{byName: map[string][]*Schema{}, byShort: map[string]string{}, byFP: map[uint64]*Schema{}, byGoavroFP: map[uint64]*Schema{}}
	for _, file := range files {
		s, err := loadFile(fsys, file)
		if err != nil {
			return nil, fmt.Errorf("schema file %s: %w", file, err)
		}
		if prev, ok := set.byFP[s.Fingerprint]; ok {
			return nil, fmt.Errorf("schema file %s: same canonical form as %s", file, prev)
		}
		for _, v := range set.byName[s.Name] {
			if v.Version == s.Version {
				return nil, fmt.Errorf("schema file %s: %s is defined twice", file, s)
			}
		}
		set.byName[s.Name] = append(set.byName[s.Name], s)
		set.byFP[s.Fingerprint] = s
		set.byGoavroFP[s.Codec.Rabin] = s
		short, full := s.Name[strings.LastIndexByte(s.Name, '.')+1:], s.Name
		if prev, ok := set.byShort[short]; ok && prev != s.Name {
			full = "" // ambiguous across namespaces: callers must use the full name
		}
		set.byShort[short] = full
	}
	for _, versions := range set.byName {
		slices.SortFunc(versions, func(a, b *Schema) int { return a.Version - b.Version })
	}
	return set, nil
}

func loadFile(fsys fs.FS, file string) (*Schema, error) {
	m := fileName.FindStringSubmatch(path.Base(file))
	if m == nil {
		return nil, fmt.Errorf("file name does not match <snake_name>.v<N>.avsc")
	}
	version, err := strconv.Atoi(m[2])
	if err != nil || version < 1 {
		return nil, fmt.Errorf("version %q in file name is not a positive integer", m[2])
	}
	text, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, err
	}
	s, err := compile(string(text))
	if err != nil {
		return nil, err
	}
	if short := s.Name[strings.LastIndexByte(s.Name, '.')+1:]; snake(short) != m[1] {
		return nil, fmt.Errorf("record %s belongs in a file named %s.v%d.avsc", s.Name, snake(short), version)
	}
	s.Version = version
	return s, nil
}

// compile builds a Schema (without a version) from schema JSON; the top
// level must be a record.
func compile(text string) (*Schema, error) {
	root, err := parseSchema(text)
	if err != nil {
		return nil, err
	}
	if root.kind != KindRecord {
		return nil, fmt.Errorf("top-level type is %q, want a record", root.base)
	}
	codec, err := goavro.NewCodec(text)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", root.name, err)
	}
	canonical, err := canonicalForm(text)
	if err != nil {
		return nil, fmt.Errorf("canonical form of %s: %w", root.name, err)
	}
	return &Schema{Name: root.name, Codec: codec, Fingerprint: fingerprint([]byte(canonical)), Text: text, root: root}, nil
}

// snake turns "OrderPlaced" into "order_placed".
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Latest returns the highest version of the named record. name may be full
// ("sluice.orders.OrderPlaced") or short ("OrderPlaced"). The error wraps
// ErrUnknownSchema.
func (s *Set) Latest(name string) (*Schema, error) {
	versions := s.Versions(name)
	if len(versions) == 0 {
		return nil, fmt.Errorf("record %q: %w (known: %s)", name, ErrUnknownSchema, strings.Join(s.Names(), ", "))
	}
	return versions[len(versions)-1], nil
}

// Versions returns every version of the named record, oldest first, or nil.
// name may be full or short. The caller must not modify the slice.
func (s *Set) Versions(name string) []*Schema {
	if full, ok := s.byShort[name]; ok && !strings.Contains(name, ".") {
		name = full
	}
	return s.byName[name]
}

// ByFingerprint returns the schema whose Parsing Canonical Form has this
// CRC-64-AVRO fingerprint. It also accepts the fingerprint goavro computes
// (Codec.Rabin, used by Codec.SingleFromNative), which differs from the
// spec's for schemas with logical types.
func (s *Set) ByFingerprint(fp uint64) (*Schema, bool) {
	if sc, ok := s.byFP[fp]; ok {
		return sc, true
	}
	sc, ok := s.byGoavroFP[fp]
	return sc, ok
}

// Names returns the full name of every record, sorted.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.byName))
	for n := range s.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

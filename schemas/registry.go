package schemas

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/twmb/franz-go/pkg/sr"
)

// registry maps schemas to Confluent Schema Registry IDs and back, caching
// both directions in memory: IDs are immutable, so an entry never expires.
// It is shared by every goroutine using the Serde; mu guards both maps.
// Misses go to the registry without holding mu, so two goroutines may look
// up the same ID at once; both get the same answer, which is cheaper than
// serialising every miss.
type registry struct {
	client *sr.Client
	set    *Set

	mu   sync.RWMutex
	ids  map[uint64]int  // fingerprint -> schema ID
	byID map[int]*Schema // schema ID -> schema
}

func newRegistry(c *sr.Client, set *Set) *registry {
	return &registry{client: c, set: set, ids: map[uint64]int{}, byID: map[int]*Schema{}}
}

// subject is the registry subject for a record: its full name
// (RecordNameStrategy), so one subject serves every topic the record is on.
func subject(s *Schema) string { return s.Name }

// idFor returns the ID of s, registering it under its subject on a miss.
// Registering an already registered schema returns its existing ID.
func (r *registry) idFor(ctx context.Context, s *Schema) (int, error) {
	r.mu.RLock()
	id, ok := r.ids[s.Fingerprint]
	r.mu.RUnlock()
	if ok {
		return id, nil
	}
	id, err := r.client.RegisterSchema(ctx, subject(s), sr.Schema{Schema: s.Text, Type: sr.TypeAvro}, -1, -1)
	if err != nil {
		return 0, fmt.Errorf("register %s under subject %q: %w", s, subject(s), err)
	}
	r.remember(id, s)
	return id, nil
}

// schemaFor returns the writer schema with this ID, fetching it on a miss.
// An ID the registry does not know wraps ErrUnknownSchema; other failures
// (network, auth) do not, because retrying may fix them.
func (r *registry) schemaFor(ctx context.Context, id int) (*Schema, error) {
	r.mu.RLock()
	s, ok := r.byID[id]
	r.mu.RUnlock()
	if ok {
		return s, nil
	}
	rs, err := r.client.SchemaByID(ctx, id)
	if err != nil {
		var re *sr.ResponseError
		if errors.As(err, &re) && (re.ErrorCode == sr.ErrSchemaNotFound.Code || re.StatusCode == http.StatusNotFound) {
			return nil, fmt.Errorf("%w: schema ID %d is not in the registry: %v", ErrUnknownSchema, id, err)
		}
		return nil, fmt.Errorf("fetch schema ID %d from the registry: %w", id, err)
	}
	if rs.Type != sr.TypeAvro {
		return nil, fmt.Errorf("%w: schema ID %d is %s, not Avro", ErrUnknownSchema, id, rs.Type)
	}
	if len(rs.References) > 0 {
		return nil, fmt.Errorf("%w: schema ID %d uses schema references, which this package does not resolve", ErrUnknownSchema, id)
	}
	s, err = compile(rs.Schema)
	if err != nil {
		return nil, fmt.Errorf("%w: schema ID %d from the registry does not compile: %v", ErrUnknownSchema, id, err)
	}
	// Prefer the embedded copy so the caller sees its version number.
	if known, ok := r.set.ByFingerprint(s.Fingerprint); ok {
		s = known
	}
	r.remember(id, s)
	return s, nil
}

func (r *registry) remember(id int, s *Schema) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids[s.Fingerprint] = id
	r.byID[id] = s
}

package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-dev/sluice/pipeline"
)

// jsonOf is the smallest Codec: encoding/json for one Go type. Sluice's
// order stages use schemas.Codec, which reads and writes Avro.
type jsonOf[T any] struct{}

func (jsonOf[T]) Decode(_ context.Context, b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}

func (jsonOf[T]) Encode(_ context.Context, v T) ([]byte, error) { return json.Marshal(v) }

type payment struct {
	ID     string `json:"id"`
	Cents  int64  `json:"cents"`
	Refund bool   `json:"refund"`
}

type ledgerEntry struct {
	Account string `json:"account"`
	Cents   int64  `json:"cents"`
}

// A typed handler is a function of decoded values, testable without bytes;
// Typed decodes the input, calls it and encodes its outputs. Undecodable
// input is poison: the record goes to the dead-letter topic at once.
func ExampleTyped() {
	book := func(_ context.Context, p payment) ([]pipeline.Message[ledgerEntry], error) {
		cents := p.Cents
		if p.Refund {
			cents = -cents
		}
		return []pipeline.Message[ledgerEntry]{
			{Topic: "ledger", Key: []byte("cash"), Value: ledgerEntry{"cash", cents}},
			{Topic: "ledger", Key: []byte("revenue"), Value: ledgerEntry{"revenue", -cents}},
		}, nil
	}
	handler := pipeline.Typed(jsonOf[payment]{}, jsonOf[ledgerEntry]{}, book)

	// What the processor does with each record, here by hand:
	outs, err := handler(context.Background(), &pipeline.Record{Topic: "payments", Value: []byte(`{"id":"p-1","cents":1250}`)})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range outs {
		fmt.Printf("%s %s %s\n", o.Topic, o.Key, o.Value)
	}
	_, err = handler(context.Background(), &pipeline.Record{Topic: "payments", Value: []byte(`not json`)})
	fmt.Println(pipeline.ClassOf(err), err)

	// And the processor itself:
	_, err = pipeline.New("bookkeeper", handler,
		pipeline.Topics("payments"),
		pipeline.ClientOptions(kgo.SeedBrokers("localhost:9092")),
	)
	fmt.Println(err)
	// Output:
	// ledger cash {"account":"cash","cents":1250}
	// ledger revenue {"account":"revenue","cents":-1250}
	// poison invalid character 'o' in literal null (expecting 'u')
	// <nil>
}

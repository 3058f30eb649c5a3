// Package loader puts records into a Kafka topic: rows of JSON Lines or CSV
// files mapped onto one of Sluice's Avro schemas, or synthetic orders from
// package ordergen. cmd/loader is its command line.
//
// A load has three steps, each in its own file:
//
//   - mapping.go and csv.go turn one row into the schema's native form,
//     checking every field against the schema, and name what is wrong with
//     a row ([Mapping], [FieldError]); input.go reads the rows of a file
//     and places them ([Position], [RowError]);
//   - source.go and generate.go produce the records to send, one at a time
//     ([Source]: [Files] for files, [Generator] for ordergen, whose orders
//     placed.go encodes without goavro's generic walk);
//   - send.go paces them ([Rate]), produces them with an idempotent
//     acks=all franz-go client, and counts what the broker acknowledged
//     ([Sender], [Summary]).
//
// [Validate] is the first of the two passes a load makes over its files by
// default, so that a bad file never leaves half of itself in Kafka;
// progress.go reports while a load runs.
//
// # Mapping rows onto a schema
//
// A JSON Lines row is one JSON object per line; its members are matched to
// the record's fields by name. A CSV file starts with a header row naming
// the fields; nested fields (arrays, maps, records) are JSON-encoded cells,
// e.g. "[{""sku"":""MUG-2001"",""quantity"":1,""unit_price_cents"":1200}]".
// Every value is checked against the schema:
//
//	Avro type               JSON                          CSV cell
//	boolean                 true, false                   true, false (also 1, 0)
//	int, long               integer in range              integer in range
//	float, double           number                        number
//	string, bytes           string                        the cell as is
//	enum                    one of the symbols            one of the symbols
//	timestamp-millis/micros RFC 3339 string or an         the same
//	                        integer (epoch ms or µs)
//	array, map, record      array, object, object         JSON-encoded cell
//	union with null         null or the other branch      empty cell is null
//	other unions            the first branch that fits,   the same
//	                        or Avro JSON {"type": value}
//
// A field missing from a row (or an empty CSV cell of a non-string type)
// takes the schema's default; without a default it is an error. A member
// or column the schema does not have is an error too, so a typo never
// silently drops data.
package loader

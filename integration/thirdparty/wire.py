"""A Kafka client Sluice did not write, for TestIntegrationWireCompatibility.

Uses confluent-kafka (librdkafka) and fastavro, installed by setup.sh beside
this file, and knows Sluice only through its .avsc files and the Avro spec's
single-object encoding: 0xC3 0x01, the 8-byte little-endian CRC-64-AVRO
fingerprint of the schema's Parsing Canonical Form, then the Avro binary body.

  wire.py produce --brokers 127.0.0.1:PORT --topic T --schema S.avsc < orders.json
      encodes each object of the JSON array on stdin (Avro field names;
      timestamp-millis as integer milliseconds) and produces it keyed by
      its order_id; prints one JSON line per record acknowledged.
  wire.py consume --brokers 127.0.0.1:PORT --topic T --schema S.avsc --count N
      reads T from the start until N records, checks each header and
      fingerprint, decodes the body and prints one JSON line per record.
Exits non-zero, with the reason on stderr, on any mismatch or timeout.
"""

import argparse
import io
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError, Producer
from fastavro import schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

MAGIC = b"\xc3\x01"


def load(path):
    with open(path) as f:
        schema = parse_schema(json.load(f))
    fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))
    return schema, fp


def produce(args):
    schema, fp = load(args.schema)
    orders = json.load(sys.stdin)
    p = Producer({"bootstrap.servers": args.brokers, "acks": "all", "enable.idempotence": True})
    acked, failed = [], []

    def report(err, msg):
        if err is not None:
            failed.append(str(err))
        else:
            acked.append({"key": msg.key().decode(), "partition": msg.partition(), "offset": msg.offset()})

    for o in orders:
        body = io.BytesIO()
        schemaless_writer(body, schema, o)
        p.produce(args.topic, key=o["order_id"].encode(), value=MAGIC + fp + body.getvalue(), on_delivery=report)
    left = p.flush(args.timeout)
    if failed or left:
        sys.exit(f"produce: {len(failed)} failed {failed[:3]}, {left} unacknowledged")
    for a in acked:
        print(json.dumps(a))


def consume(args):
    schema, fp = load(args.schema)
    c = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": "wire-py-" + uuid.uuid4().hex,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    c.subscribe([args.topic])
    deadline = time.monotonic() + args.timeout
    seen = 0
    try:
        while seen < args.count:
            if time.monotonic() > deadline:
                sys.exit(f"consume: {seen} of {args.count} records from {args.topic} within {args.timeout}s")
            msg = c.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                sys.exit(f"consume: {msg.error()}")
            v = msg.value()
            if v[:2] != MAGIC:
                sys.exit(f"consume: {msg.topic()}/{msg.partition()}@{msg.offset()}: header {v[:2].hex()}, want c301")
            if v[2:10] != fp:
                sys.exit(f"consume: {msg.topic()}/{msg.partition()}@{msg.offset()}: fingerprint {v[2:10].hex()}, want {fp.hex()} ({args.schema})")
            rec = schemaless_reader(io.BytesIO(v[10:]), schema)
            print(json.dumps({
                "key": msg.key().decode(), "partition": msg.partition(), "offset": msg.offset(),
                "fingerprint": v[2:10].hex(), "value": rec,
            }, default=str))
            seen += 1
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["produce", "consume"])
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()
    {"produce": produce, "consume": consume}[args.command](args)


if __name__ == "__main__":
    main()

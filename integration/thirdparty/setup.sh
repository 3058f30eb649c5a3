#!/usr/bin/env bash
# Installs the third-party Kafka client that TestIntegrationWireCompat talks
# to: Python's confluent-kafka (librdkafka, bundled in its wheel) and fastavro,
# pinned, in a venv at ${SLUICE_CACHE:-~/.cache/sluice}/pyenv. Idempotent: when
# the venv already has exactly these versions it does nothing (about 0.3 s).
#
#   bash integration/thirdparty/setup.sh
#
# The test finds the venv at the same path (or at $SLUICE_PYENV).
set -Eeuo pipefail
trap 'echo "thirdparty/setup.sh: FAILED at line $LINENO: $BASH_COMMAND" >&2' ERR

CONFLUENT_KAFKA=2.16.1
FASTAVRO=1.13.1
VENV="${SLUICE_PYENV:-${SLUICE_CACHE:-$HOME/.cache/sluice}/pyenv}"
want="confluent-kafka==$CONFLUENT_KAFKA fastavro==$FASTAVRO"

say() { echo "thirdparty/setup.sh: $*"; }

if [ -f "$VENV/.installed" ] && [ "$(cat "$VENV/.installed")" = "$want" ]; then
  say "$want present in $VENV"
  exit 0
fi
command -v python3 >/dev/null || { echo "python3 not found (apt-get install python3 python3-venv)" >&2; exit 1; }
if ! python3 -c 'import ensurepip' 2>/dev/null; then
  say "installing python3-venv"
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
fi
say "creating $VENV with $want"
rm -rf "$VENV"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check --only-binary=:all: $want
"$VENV/bin/python" -c 'import confluent_kafka, fastavro; print("confluent-kafka", confluent_kafka.version()[0], "librdkafka", confluent_kafka.libversion()[0], "fastavro", fastavro.__version__)'
echo "$want" > "$VENV/.installed"

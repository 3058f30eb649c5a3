#!/usr/bin/env bash
# Builds the processor image localhost/sluice:dev from the current source:
# static binaries of cmd/validate, cmd/score, cmd/decide and cmd/status on
# FROM scratch (Containerfile). The image carries the label
# sluice.content-hash, a hash of the binaries and the Containerfile; when
# the image already has the hash of what was just built, nothing is rebuilt
# (the go build is cached too: about 2 s when nothing changed).
#
#   bash deploy/images/build.sh            # podman; CONTAINER_ENGINE=docker works too
#   SLUICE_IMAGE=localhost/sluice:x bash deploy/images/build.sh
#
# The integration suites (integration/) run it at start, so they always test
# the source they were built from.
set -Eeuo pipefail
trap 'echo "images/build.sh: FAILED at line $LINENO: $BASH_COMMAND" >&2' ERR

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
IMAGE="${SLUICE_IMAGE:-localhost/sluice:dev}"
ENGINE="${CONTAINER_ENGINE:-podman}"
LABEL=sluice.content-hash

say() { echo "images/build.sh: $*"; }

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
# -trimpath and -buildvcs=false make the binaries depend on the source only
# (not on the checkout's path or git state), so the hash below is stable.
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$ctx/" \
  ./cmd/validate ./cmd/score ./cmd/decide ./cmd/status)
cp "$HERE/Containerfile" "$ctx/"
hash="$(cd "$ctx" && sha256sum Containerfile validate score decide status | sha256sum | cut -c1-32)"

have="$($ENGINE image inspect --format "{{ index .Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true)"
if [ "$have" = "$hash" ]; then
  say "$IMAGE up to date ($LABEL=$hash)"
  exit 0
fi
say "building $IMAGE ($LABEL=$hash, was '${have:-none}')"
$ENGINE build -q --label "$LABEL=$hash" -t "$IMAGE" -f "$ctx/Containerfile" "$ctx" >/dev/null
say "built $IMAGE"

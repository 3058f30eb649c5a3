#!/usr/bin/env bash
# Makes this machine able to run the container-backed integration tests:
# podman (rootful, runc runtime, netavark networking), its Docker-compatible
# API socket at unix:///run/podman/podman.sock, the locally built Kafka
# images (deploy/kafka/build.sh), the processor image (deploy/images/build.sh)
# and the Python client of the wire suite (integration/thirdparty/setup.sh). Idempotent: a second run takes about a second.
#
# Execute it (`bash .ci/containers.sh`); it exports nothing. Tests then need
#   DOCKER_HOST=unix:///run/podman/podman.sock
# (pipeline/kafkatest also falls back to that socket when DOCKER_HOST is unset).
set -Eeuo pipefail
trap 'echo "containers.sh: FAILED at line $LINENO: $BASH_COMMAND" >&2' ERR

SOCK_PATH=/run/podman/podman.sock
SOCK_URL="unix://$SOCK_PATH"
LOG=/var/log/sluice-podman-service.log
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { echo "containers.sh: $*"; }
die() { echo "containers.sh: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (rootful podman serves $SOCK_URL)"

# 1. Packages. netavark + aardvark-dns give user-defined networks with DNS by
#    container name (Debian 12's podman 4.3 only recommends them). netavark
#    sets up container networking with iptables, which some fresh machines
#    lack: without it every RUN step and container start fails with
#    "netavark: No such file or directory (os error 2)".
pkgs=(podman runc netavark aardvark-dns iptables conmon debootstrap maven)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  say "packages present: ${pkgs[*]}"
fi

# 2. Engine config. crun fails here ("cgroups in hybrid mode not supported")
#    and podman's default ulimits fail with EPERM.
conf='[engine]
runtime = "runc"

[containers]
default_ulimits = []

[network]
network_backend = "netavark"'
mkdir -p /etc/containers
if [ "$(cat /etc/containers/containers.conf 2>/dev/null)" != "$conf" ]; then
  say "writing /etc/containers/containers.conf"
  printf '%s\n' "$conf" > /etc/containers/containers.conf
else
  say "/etc/containers/containers.conf up to date"
fi

backend="$(podman info --format '{{.Host.NetworkBackend}}')"
[ "$backend" = netavark ] || die "podman network backend is '$backend', want netavark (run 'podman system reset' if CNI state is left over)"
runtime="$(podman info --format '{{.Host.OCIRuntime.Name}}')"
[ "$runtime" = runc ] || die "podman OCI runtime is '$runtime', want runc"

# 3. The Docker-compatible API service.
ping_sock() { curl -fsS --max-time 2 --unix-socket "$SOCK_PATH" http://d/_ping >/dev/null 2>&1; }
# A service started from a checkout that was deleted since (an earlier
# version of detach.sh did not leave it) answers pings but cannot start a
# container: conmon fails on the missing working directory. Replace it.
for pid in $(pgrep -f "^podman system service" || true); do
  case "$(readlink "/proc/$pid/cwd" 2>/dev/null)" in
  *" (deleted)")
    say "stopping podman API service pid $pid: its working directory was deleted"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    ;;
  esac
done
if ping_sock; then
  say "podman API answering at $SOCK_URL"
else
  say "starting 'podman system service --time=0 $SOCK_URL' (log: $LOG)"
  mkdir -p "$(dirname "$SOCK_PATH")"
  rm -f "$SOCK_PATH"
  # Detached with every inherited descriptor closed: the service outlives
  # this script and must not keep the caller's lock files or output pipe.
  pid="$(bash "$ROOT/.ci/detach.sh" "$LOG" podman system service --time=0 "$SOCK_URL")"
  say "podman API service pid $pid"
  for _ in $(seq 1 60); do
    ping_sock && break
    sleep 0.5
  done
  ping_sock || { tail -20 "$LOG" >&2; die "podman API did not answer at $SOCK_URL within 30s"; }
  say "podman API answering at $SOCK_URL"
fi

# 4. Images.
bash "$ROOT/deploy/kafka/build.sh"
#    The processor image is rebuilt from the current source by the suites
#    themselves (integration/orderchain); building it here too catches a
#    broken build before any container starts (~2 s when up to date).
bash "$ROOT/deploy/images/build.sh"

# 5. The third-party client of the wire-compatibility suite (Python
#    confluent-kafka + fastavro from PyPI, in a venv under ~/.cache/sluice).
bash "$ROOT/integration/thirdparty/setup.sh"
say "done; run tests with DOCKER_HOST=$SOCK_URL"

#!/usr/bin/env bash
# Makes this machine able to run the observability tests: promtool (Debian's
# prometheus package) for the alert-rule unit tests and config checks, and
# headless Chromium for the lag monitor's dashboard test
# (cmd/lagmon/dashboard_integration_test.go). Idempotent: when both are
# present it only prints their versions.
#
# Execute it (`bash .ci/observability.sh`) as root; it exports nothing.
set -Eeuo pipefail
trap 'echo "observability.sh: FAILED at line $LINENO: $BASH_COMMAND" >&2' ERR

say() { echo "observability.sh: $*"; }
[ "$(id -u)" = 0 ] || { echo "observability.sh: ERROR: must run as root (apt-get)" >&2; exit 1; }

# prometheus brings promtool; its postinst tries to start a server through
# systemd or init.d, which is harmless where there is none (policy-rc.d 101
# below keeps it from starting one where there is). fonts-dejavu-core gives
# the screenshots readable text.
pkgs=(prometheus chromium fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -q
  policy=/usr/sbin/policy-rc.d
  created_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  [ -z "$created_policy" ] || rm -f "$policy"
else
  say "packages present: ${pkgs[*]}"
fi

# The package's own server is not needed: the tests only run promtool.
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl stop prometheus || true
fi

promtool --version 2>&1 | head -1
chromium --version

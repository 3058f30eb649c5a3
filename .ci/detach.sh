#!/usr/bin/env bash
# usage: bash .ci/detach.sh LOG COMMAND [ARG...]
#
# Starts COMMAND in the background, in a session of its own, with stdin
# from /dev/null, stdout and stderr appended to LOG, and every other
# descriptor it would inherit from the caller closed, then prints its PID
# and returns. A background service must not keep its caller's files: a
# lock the caller holds (`flock ... bash .ci/run`) would stay held, and a
# pipe a CI wrapper reads to EOF (`bash .ci/run | tee log`) would never
# close. setsid and the redirections alone leave descriptors 3 and up open.
# It runs from /: a service outlives the checkout it was started from, and
# podman's conmon fails every container start ("Failed to get working
# directory", API error "write child: broken pipe") once that directory is
# deleted.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: detach.sh LOG COMMAND [ARG...]" >&2; exit 2; }
log=$1
case $log in /*) ;; *) log=$PWD/$log ;; esac # it runs from /
shift
(
  # In the child, just before exec: close what it inherited but 0-2. The
  # glob's own directory descriptor is in the list and already closed by
  # the time the loop runs; closing a closed descriptor is harmless.
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    [ "$fd" -gt 2 ] && eval "exec $fd>&-"
  done
  cd /
  exec setsid "$@" </dev/null >>"$log" 2>&1
) &
echo $!

#!/usr/bin/env bash
# Builds the container images the Kafka integration tests run, without any
# container registry:
#   localhost/sluice-jre:17              Debian bookworm + openjdk-17-jre-headless (debootstrap + podman import)
#   localhost/sluice-kafka:<version>     the broker jars (Maven Central, pinned in pom.xml) on that JRE
# Each step is skipped when its result is already there; the Kafka image is
# rebuilt when pom.xml, entrypoint.sh, log4j2.properties or Containerfile change.
#
# With --jars-only it stops after fetching the jars (bench/peers runs the
# broker from them on the host JVM and needs neither podman nor the images).
#
# Environment:
#   SLUICE_CACHE   where fetched jars are kept (default ~/.cache/sluice)
#   JRE_IMAGE      base image name (default localhost/sluice-jre:17)
set -Eeuo pipefail
trap 'echo "build.sh: FAILED at line $LINENO: $BASH_COMMAND" >&2' ERR

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
say() { echo "build.sh: $*"; }
die() { echo "build.sh: ERROR: $*" >&2; exit 1; }

JARS_ONLY=0
case "${1:-}" in
  "") ;;
  --jars-only) JARS_ONLY=1 ;;
  *) die "unknown argument $1 (want none, or --jars-only)" ;;
esac
tools=(mvn)
[ "$JARS_ONLY" = 1 ] || tools+=(podman debootstrap sha256sum)
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null || die "$tool not found (run .ci/containers.sh, which installs it)"
done

VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")"
[ -n "$VERSION" ] || die "no <kafka.version> in $HERE/pom.xml"
JRE_IMAGE="${JRE_IMAGE:-localhost/sluice-jre:17}"
KAFKA_IMAGE="localhost/sluice-kafka:$VERSION"
CACHE="${SLUICE_CACHE:-$HOME/.cache/sluice}/kafka-$VERSION"
LIBS="$CACHE/libs"

# (a) jars
if [ -f "$LIBS/.complete" ]; then
  say "jars for Kafka $VERSION cached in $LIBS"
else
  say "fetching Kafka $VERSION jars into $LIBS"
  rm -rf "$LIBS"
  mkdir -p "$LIBS"
  mvn -B -Dstyle.color=never -f "$HERE/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIBS" >"$CACHE/mvn.log" 2>&1 \
    || { tail -40 "$CACHE/mvn.log" >&2; die "mvn dependency:copy-dependencies failed (full log: $CACHE/mvn.log)"; }
  ls "$LIBS"/kafka_2.13-"$VERSION".jar >/dev/null
  touch "$LIBS/.complete"
fi
[ "$JARS_ONLY" = 1 ] && exit 0

# (b) JRE base image
if podman image exists "$JRE_IMAGE"; then
  say "$JRE_IMAGE present"
else
  say "building $JRE_IMAGE with debootstrap (about a minute)"
  rootfs="$(mktemp -d /tmp/sluice-jre-rootfs.XXXXXX)"
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include=openjdk-17-jre-headless bookworm "$rootfs" >"$rootfs.log" 2>&1 \
    || { tail -30 "$rootfs.log" >&2; die "debootstrap failed (full log: $rootfs.log)"; }
  rm -f "$rootfs.log"
  # (java itself cannot run in a bare chroot: it finds libjli.so through /proc/self/exe)
  ls "$rootfs"/usr/lib/jvm/java-17-openjdk-*/bin/java >/dev/null || die "no java in the debootstrapped rootfs"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
         "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
  tar -C "$rootfs" -c . | podman import -q --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$JRE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  say "built $JRE_IMAGE"
fi

# (c) Kafka image, rebuilt when its inputs change
inputs="$(cat "$HERE/pom.xml" "$HERE/Containerfile" "$HERE/entrypoint.sh" "$HERE/log4j2.properties" | sha256sum | cut -c1-16)"
have="$(podman image inspect --format '{{index .Labels "dev.sluice.inputs"}}' "$KAFKA_IMAGE" 2>/dev/null || true)"
if [ "$have" = "$inputs" ]; then
  say "$KAFKA_IMAGE present and up to date"
else
  say "building $KAFKA_IMAGE"
  ctx="$(mktemp -d /tmp/sluice-kafka-ctx.XXXXXX)"
  trap 'rm -rf "$ctx"' EXIT
  cp -r "$LIBS" "$ctx/libs"
  rm -f "$ctx/libs/.complete"
  cp "$HERE/Containerfile" "$HERE/entrypoint.sh" "$HERE/log4j2.properties" "$ctx/"
  podman build -q -f "$ctx/Containerfile" \
    --build-arg JRE_IMAGE="$JRE_IMAGE" --build-arg KAFKA_VERSION="$VERSION" \
    --label dev.sluice.inputs="$inputs" -t "$KAFKA_IMAGE" "$ctx" >/dev/null
  rm -rf "$ctx"
  trap - EXIT
  # The image this replaced is now dangling.
  podman image prune -f --filter label=dev.sluice.inputs >/dev/null
  say "built $KAFKA_IMAGE"
fi

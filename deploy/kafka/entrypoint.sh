#!/bin/bash
# Configures and runs one KRaft node (combined broker+controller by default)
# from environment variables, using the same convention as the official
# apache/kafka image: every KAFKA_FOO_BAR variable becomes the server property
# foo.bar ("___" -> "-", "__" -> "_", "_" -> "."), so a test harness can pass
# identical env to either image.
#
#   CLUSTER_ID                  cluster id used to format storage (same on every node)
#   KAFKA_NODE_ID               node.id                       (default 1)
#   KAFKA_PROCESS_ROLES         process.roles                 (default broker,controller)
#   KAFKA_LISTENERS, KAFKA_ADVERTISED_LISTENERS, KAFKA_CONTROLLER_QUORUM_VOTERS, ...
#   KAFKA_HEAP_OPTS             JVM heap                      (default -Xmx512m -Xms128m)
#   KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_OPTS, KAFKA_LOG4J_OPTS   extra JVM flags
#   KAFKA_INITIAL_CONTROLLERS   only without controller.quorum.voters (dynamic quorum):
#                               passed to `format --initial-controllers`; unset means --standalone
#   KAFKA_ADD_SCRAM             SCRAM credentials created when storage is formatted, separated by
#                               white space, each as `format --add-scram` takes it:
#                               SCRAM-SHA-512=[name=admin,password=...]
#
# Values may span lines (PEM certificates and keys for ssl.keystore.type=PEM):
# they are escaped for server.properties. Secrets are not printed: the
# properties shown at start hide the values of passwords, JAAS configs, keys
# and certificates.
#
# With no KAFKA_* variables at all it runs a single node reachable at localhost:9092.
set -euo pipefail

KAFKA_HOME=/opt/kafka
CONF_DIR=/var/lib/kafka/config
PROPS="$CONF_DIR/server.properties"
CP="$KAFKA_HOME/libs/*"

declare -A prop=(
  [node.id]=1
  [process.roles]=broker,controller
  [listeners]=PLAINTEXT://:9092,CONTROLLER://:9093
  [advertised.listeners]=PLAINTEXT://localhost:9092
  [listener.security.protocol.map]=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
  [controller.listener.names]=CONTROLLER
  [controller.quorum.voters]=1@localhost:9093
  [log.dirs]=/var/lib/kafka/data
  [num.partitions]=3
  [auto.create.topics.enable]=false
  [group.initial.rebalance.delay.ms]=0
  [offsets.topic.replication.factor]=1
  [transaction.state.log.replication.factor]=1
  [transaction.state.log.min.isr]=1
  [share.coordinator.state.topic.replication.factor]=1
  [share.coordinator.state.topic.min.isr]=1
)

# Variables that configure the JVM or this script, not the broker.
not_a_property=" KAFKA_HEAP_OPTS KAFKA_OPTS KAFKA_JVM_PERFORMANCE_OPTS KAFKA_LOG4J_OPTS KAFKA_GC_LOG_OPTS KAFKA_JMX_OPTS KAFKA_DEBUG KAFKA_VERSION KAFKA_HOME KAFKA_INITIAL_CONTROLLERS KAFKA_ADD_SCRAM KAFKA_LOG4J_ROOT_LOGLEVEL KAFKA_LOG4J_LOGGERS KAFKA_TOOLS_LOG4J_LOGLEVEL "
while IFS='=' read -r -d '' name value; do
  case "$name" in KAFKA_*) ;; *) continue ;; esac
  case "$not_a_property" in *" $name "*) continue ;; esac
  key="${name#KAFKA_}"
  key="${key,,}"
  key="${key//___/-}"
  key="${key//__/@}"
  key="${key//_/.}"
  key="${key//@/_}"
  prop[$key]="$value"
done < <(env -0)

# A dynamic quorum (controller.quorum.bootstrap.servers) replaces static voters.
if [ -n "${KAFKA_CONTROLLER_QUORUM_BOOTSTRAP_SERVERS:-}" ] && [ -z "${KAFKA_CONTROLLER_QUORUM_VOTERS:-}" ]; then
  unset 'prop[controller.quorum.voters]'
fi

# A value as java.util.Properties reads it back: backslashes doubled, line
# breaks as \n (PEM blocks span lines).
escape() {
  local v="${1//\\/\\\\}"
  v="${v//$'\r'/}"
  printf '%s' "${v//$'\n'/\\n}"
}
# Whether a property's value must not be printed.
secret() {
  case "$1" in *password*|*jaas*|*.key|*certificate*|*certificates) return 0 ;; esac
  return 1
}

mkdir -p "$CONF_DIR"
: > "$PROPS"
chmod 600 "$PROPS"
echo "sluice-kafka: node ${prop[node.id]} of cluster ${CLUSTER_ID:-<default>}; server.properties:"
for k in $(printf '%s\n' "${!prop[@]}" | sort); do
  printf '%s=%s\n' "$k" "$(escape "${prop[$k]}")" >> "$PROPS"
  if secret "$k"; then
    echo "  $k=[hidden]"
  else
    echo "  $k=${prop[$k]}"
  fi
done

LOG4J_OPTS="${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$KAFKA_HOME/config/log4j2.properties}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms128m}"
PERF_OPTS="${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError -XX:+UseContainerSupport -Djava.awt.headless=true}"

# Format once: a restarted container keeps its log dir (and meta.properties).
first_dir="${prop[log.dirs]%%,*}"
if [ ! -f "$first_dir/meta.properties" ]; then
  cluster_id="${CLUSTER_ID:-MkU3OEVBNTcwNTJENDM2Qg}"
  # --cluster-id=ID, not -t ID: a random ID may start with "-", which
  # argparse would take for an option.
  fmt=(format --ignore-formatted --cluster-id="$cluster_id" -c "$PROPS")
  if [ -z "${prop[controller.quorum.voters]:-}" ] && [[ "${prop[process.roles]}" == *controller* ]]; then
    if [ -n "${KAFKA_INITIAL_CONTROLLERS:-}" ]; then
      fmt+=(--initial-controllers "$KAFKA_INITIAL_CONTROLLERS")
    else
      fmt+=(--standalone)
    fi
  fi
  for cred in ${KAFKA_ADD_SCRAM:-}; do
    fmt+=(--add-scram "$cred")
  done
  # shellcheck disable=SC2086
  java $HEAP_OPTS $LOG4J_OPTS -cp "$CP" kafka.tools.StorageTool "${fmt[@]}"
fi

# shellcheck disable=SC2086
exec java $HEAP_OPTS $PERF_OPTS $LOG4J_OPTS ${KAFKA_OPTS:-} -cp "$CP" kafka.Kafka "$PROPS"

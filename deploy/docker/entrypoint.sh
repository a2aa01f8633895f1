#!/bin/sh
# The image's entrypoint: runs one deployable's compiled JavaScript with plain node (no loader).
#   gateway       the gateway (primary + GATEWAY_PROCESSES ingest processes)
#   sink          the sink supervisor and its SINK_PROCESSES sink processes (fixed or SINK_AUTOSCALE)
#   sink-worker   one sink process without a supervisor (Kubernetes scales pods instead)
#   floodgate     the CLI (`status`, `sink drain`, `bench`, ...)
# exec: node becomes the process the container's stop signal reaches (SIGTERM drains).
set -e
app_dir="$(cd "$(dirname "$0")/.." && pwd)"
what="${1:-gateway}"
[ "$#" -gt 0 ] && shift
case "$what" in
  gateway) exec node "$app_dir/apps/gateway/src/main.js" "$@" ;;
  sink) exec node "$app_dir/apps/sink-worker/src/supervisor-main.js" "$@" ;;
  sink-worker) exec node "$app_dir/apps/sink-worker/src/main.js" "$@" ;;
  floodgate) exec node "$app_dir/apps/cli/src/main.js" "$@" ;;
  *) echo "floodgate-entrypoint: unknown command '$what' (gateway, sink, sink-worker, floodgate)" >&2; exit 64 ;;
esac

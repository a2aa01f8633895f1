#!/bin/sh
# Runs one deployable under tsx (the project runs its TypeScript directly; see README).
set -e
app="${1:-gateway}"
shift || true
case "$app" in
  gateway|sink-worker) exec node --import tsx "apps/$app/src/main.ts" "$@" ;;
  floodgate) exec node --import tsx apps/cli/src/main.ts "$@" ;;
  *) echo "floodgate-entrypoint: unknown app '$app' (gateway, sink-worker, floodgate)" >&2; exit 64 ;;
esac

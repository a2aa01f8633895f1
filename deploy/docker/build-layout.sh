#!/usr/bin/env bash
# Builds the image's file layout into a folder, the same steps the Dockerfile's stages run:
#   build-layout.sh compile OUT   stage "build": TypeScript -> JavaScript in OUT/app (beside each
#                                 source file, relative `.ts` imports rewritten to `.js`), the
#                                 non-TypeScript assets, the package manifests pointing at the
#                                 `.js` files (deploy/docker/layout-manifests.mjs), the entrypoint
#   build-layout.sh deps OUT      stage "deps": production dependencies only, from the lockfile
#                                 (`npm ci --omit=dev`; no TypeScript loader, no chDB, no install
#                                 scripts: nothing the image runs needs one)
#   build-layout.sh OUT           both
# Then: OUT/app/bin/floodgate-entrypoint gateway | sink | sink-worker | floodgate [args].
# The compile step uses this checkout's node_modules (typescript); `npm ci` there first.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

die() { printf 'build-layout: error: %s\n' "$*" >&2; exit 1; }

compile() {
  local app="$1/app"
  rm -rf "$app"
  mkdir -p "$app"
  [[ -x $repo/node_modules/.bin/tsc ]] || die "typescript is not installed in $repo (run npm ci there)"
  "$repo/node_modules/.bin/tsc" -p "$repo/deploy/docker/tsconfig.build.json" --outDir "$app"
  # Files the code loads by path that are not TypeScript (e.g. the bench's CommonJS load thread).
  (cd "$repo" && find apps/cli/src apps/gateway/src apps/ingest-worker/src apps/sink-worker/src libs/*/src bench/src \
      -type f ! -name '*.ts' ! -path 'libs/testkit/*' -print0 | xargs -0 -r cp --parents -t "$app")
  node "$repo/deploy/docker/layout-manifests.mjs" "$repo" "$app"
  mkdir -p "$app/bin"
  cp "$repo/deploy/docker/entrypoint.sh" "$app/bin/floodgate-entrypoint"
  chmod 755 "$app/bin/floodgate-entrypoint"
  # No TypeScript may be left to load at run time.
  if find "$app/apps" "$app/libs" "$app/bench" -name '*.ts' | grep -q .; then die "TypeScript files in the layout"; fi
}

deps() {
  local app="$1/app"
  [[ -f $app/package.json ]] || die "$app/package.json is missing: run the compile step first"
  (cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
  [[ ! -e $app/node_modules/chdb ]] || die "chdb got into the production dependencies"
  [[ ! -e $app/node_modules/tsx ]] || die "tsx got into the production dependencies"
}

case "${1:-}" in
  compile) [[ -n ${2:-} ]] || die "usage: build-layout.sh compile OUT"; compile "$2" ;;
  deps) [[ -n ${2:-} ]] || die "usage: build-layout.sh deps OUT"; deps "$2" ;;
  ''|-h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 64 ;;
  *) out="$(mkdir -p "$1" && cd "$1" && pwd)"; compile "$out"; deps "$out" ;;
esac

#!/usr/bin/env bash
# Prepares this machine for the local stack; `npm start` and `npm test` run it first.
# Safe to run again: each step is skipped when already done, so a second run takes well under a second.
#   - npm dependencies: `npm install` only when node_modules is missing or older than
#     package-lock.json / a package.json (or the `floodgate` bin link is missing);
#   - Debian packages, only those missing: nats-server, Java 17+ (openjdk-17-jre-headless), maven,
#     chromium (the browser tests: the bench report and the /ui/traces page), prometheus (promtool,
#     for the alert-rule tests).
# The Kafka jars are fetched by `floodgate stack up` itself (once, into FLOODGATE_HOME/cache), so
# `stack up` works on its own on a machine where this script has run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

say() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

# --- Node and npm dependencies ------------------------------------------------------------------
command -v node >/dev/null || die "node is not installed (Node.js >= 20.19 is required)"
command -v npm >/dev/null || die "npm is not installed"
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || die "Node.js $(node --version) is too old; >= 20.19 is required"

stamp=node_modules/.floodgate-installed
install_reason=""
if [[ ! -d node_modules ]]; then
  install_reason="node_modules is missing"
elif [[ ! -e $stamp ]]; then
  install_reason="no record of a completed install"
elif [[ ! -e node_modules/.bin/floodgate || ! -e node_modules/.bin/tsx ]]; then
  install_reason="a bin link is missing"
else
  newer=$(find package-lock.json package.json apps/*/package.json libs/*/package.json bench/package.json \
    -maxdepth 0 -newer "$stamp" 2>/dev/null | head -n 1)
  [[ -n $newer ]] && install_reason="$newer changed since the last install"
fi
if [[ -n $install_reason ]]; then
  say "npm install ($install_reason)"
  npm install --no-audit --no-fund
  # tsx runs everything here; make sure it works after a fresh install (its esbuild dependency
  # ships the native binary as an optional package, so npm 11 skipping esbuild's install script
  # is harmless, but check rather than assume).
  node --import tsx -e 'await import("./libs/errors/src/index.ts")' \
    || die "tsx does not work after npm install; see the output above"
  touch "$stamp"
fi

# --- Debian packages ------------------------------------------------------------------------------
java_major() {
  java -version 2>&1 | sed -n 's/.*version "\([0-9]*\)\.\{0,1\}\([0-9]*\).*/\1 \2/p' | head -n 1 \
    | awk '{ print ($1 == 1 ? $2 : $1) }'
}
packages=()
command -v nats-server >/dev/null || [[ -x /usr/sbin/nats-server ]] || packages+=(nats-server)
if ! command -v java >/dev/null; then
  packages+=(openjdk-17-jre-headless)
elif (( $(java_major || echo 0) < 17 )); then
  say "java is $(java -version 2>&1 | head -n 1); Kafka needs 17 or newer"
  packages+=(openjdk-17-jre-headless)
fi
command -v mvn >/dev/null || packages+=(maven)
# The gateway's slow-reader test uses a few lines of Python (a socket with a fixed receive buffer).
command -v python3 >/dev/null || packages+=(python3)
# promtool (Debian's prometheus package) checks the shipped alert rules and dashboard queries offline
# (libs/telemetry/test/observability.unit.test.ts); the package starts no daemon without systemd.
command -v promtool >/dev/null || packages+=(prometheus)
# Headless Chromium for the bench's HTML report test (bench/test/report-browser.int.test.ts).
command -v chromium >/dev/null || [[ -x /usr/bin/chromium ]] || packages+=(chromium)

if (( ${#packages[@]} > 0 )); then
  command -v apt-get >/dev/null || die "missing ${packages[*]} and apt-get is not available; install them by hand"
  sudo=()
  if (( $(id -u) != 0 )); then
    command -v sudo >/dev/null || die "missing ${packages[*]}; run as root or install sudo"
    sudo=(sudo)
  fi
  say "installing Debian packages: ${packages[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}"
  hash -r
fi

# Check what the stack needs, whatever was installed above.
command -v nats-server >/dev/null || [[ -x /usr/sbin/nats-server ]] || die "nats-server is still missing"
command -v java >/dev/null || die "java is still missing"
(( $(java_major || echo 0) >= 17 )) || die "java >= 17 is required, found: $(java -version 2>&1 | head -n 1)"
command -v mvn >/dev/null || die "mvn is still missing"

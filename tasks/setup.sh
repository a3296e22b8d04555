#!/bin/sh
# Installs what this project needs on a fresh Debian machine that has only
# Node.js/npm: Deno 2 from the npm registry (into .deno/) and libzmq5
# from Debian. With the argument "test" it also installs the test peers
# (python3-zmq for interop tests, iproute2 for the multi-host test),
# chromium (headless, to check the demo's sequence chart) and prometheus
# (to scrape the roles' /metrics; without the node exporter it recommends,
# which the tests do not need) and etcd-server (etcd 3.4, /usr/bin/etcd,
# which the etcd and HA tests start on ports of its own). With "ha" it
# installs etcd-server alone, for `deno task run:demo --ha`. With
# "bench" it
# also installs what the benchmarks compare with: libzmq3-dev and gcc (the
# C peer), nats-server from Debian and the NATS JavaScript client (npm
# package nats, into bench/out/node/ beside zeromq.js) for JetStream;
# those two are optional: if they cannot be had, it says so and goes on
# (bench:group then skips JetStream's runs with the reason).
# Safe to run again: it installs only what is missing.
set -eu
cd "$(dirname "$0")/.."

# Deno lives in .deno/, apart from any package.json, so that `deno task`
# never mistakes the npm package's launcher for the runtime.
DENO_VERSION=2.9.6
if [ ! -x .deno/node_modules/.bin/deno ]; then
  echo "setup: installing Deno $DENO_VERSION from the npm registry into .deno/" >&2
  mkdir -p .deno
  [ -f .deno/package.json ] || echo '{"private":true}' > .deno/package.json
  npm install --prefix .deno --no-audit --no-fund --loglevel=error "deno@$DENO_VERSION"
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=""
lean=""
optional=""
ldconfig -p 2>/dev/null | grep -q 'libzmq\.so\.5' || missing="$missing libzmq5"
if [ "${1:-}" = "test" ] || [ "${1:-}" = "bench" ]; then
  /usr/bin/python3 -c 'import zmq' 2>/dev/null || missing="$missing python3-zmq"
  command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
fi
if [ "${1:-}" = "test" ]; then
  command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
  # tests/metrics_test.ts runs /usr/bin/prometheus, on a port of its own.
  [ -x /usr/bin/prometheus ] || lean="$lean prometheus"
  # The etcd and HA tests run /usr/bin/etcd, with a data dir of its own.
  [ -x /usr/bin/etcd ] || lean="$lean etcd-server"
fi
if [ "${1:-}" = "ha" ] || [ "${1:-}" = "bench" ]; then
  # run:demo --ha and bench:group's HA runs start /usr/bin/etcd, with a data dir of their own.
  [ -x /usr/bin/etcd ] || lean="$lean etcd-server"
fi
if [ "${1:-}" = "bench" ]; then
  [ -f /usr/include/zmq.h ] || missing="$missing libzmq3-dev"
  command -v gcc >/dev/null 2>&1 || missing="$missing gcc"
  # Debian puts it in /usr/sbin, which a user's PATH may not have.
  command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] ||
    optional="$optional nats-server"
fi
if [ -n "$missing$lean$optional" ]; then
  as_root apt-get update -qq || [ -z "$missing$lean" ]
fi
if [ -n "$missing" ]; then
  echo "setup: installing from Debian:$missing" >&2
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
if [ -n "$lean" ]; then
  echo "setup: installing from Debian, without recommends:$lean" >&2
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    $lean >/dev/null
  # Debian's package starts a prometheus service on :9090 where systemd runs;
  # the tests start their own.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    as_root systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
  # Likewise etcd-server's etcd service on :2379.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
    as_root systemctl disable --now etcd >/dev/null 2>&1 || true
  fi
fi
if [ -n "$optional" ]; then
  echo "setup: installing from Debian:$optional" >&2
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $optional >/dev/null ||
    echo "setup: could not install$optional (bench:group skips JetStream's runs)" >&2
fi

# The NATS JavaScript client for bench:group's JetStream runs, run by node
# (bench/peers/jetstream_peer.mjs), where bench:binding puts zeromq.js.
NATS_JS_VERSION=2.29.3
if [ "${1:-}" = "bench" ] && [ ! -f bench/out/node/node_modules/nats/package.json ]; then
  echo "setup: npm install --prefix bench/out/node nats@$NATS_JS_VERSION" >&2
  mkdir -p bench/out/node
  npm install --prefix bench/out/node --no-audit --no-fund --loglevel=error \
    "nats@$NATS_JS_VERSION" ||
    echo "setup: npm install nats@$NATS_JS_VERSION failed (bench:group skips JetStream's runs)" >&2
fi

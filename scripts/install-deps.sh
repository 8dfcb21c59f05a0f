#!/bin/sh
# Installs every build, run and test dependency of updraft on Debian 12.
# Idempotent: packages already present are left alone and apt is not touched at all
# when nothing is missing. Run as root (or through sudo).
#   sh scripts/install-deps.sh          build, run and test dependencies
#   sh scripts/install-deps.sh --bench  those plus the peers `make bench` compares with
set -eu

PACKAGES="
build-essential pkg-config ca-certificates
libmosquitto-dev mosquitto mosquitto-clients
libpaho-mqtt-dev
libcoap3-dev libcoap3-bin
libjansson-dev libmicrohttpd-dev libsqlite3-dev
libcmocka-dev clang libclang-rt-14-dev
python3
curl jq procps openssl
"

# Peers of the store benchmarks (bench/prometheus.sh: promtool). Only promtool is used; on a
# machine run by systemd the package also enables and starts its own Prometheus server (:9090),
# left as the administrator sets it, like mosquitto's.
# Peer of the agent benchmark (bench/agent.sh): collectd-core, the daemon and its plugins
# without the `collectd` package's /etc/collectd/collectd.conf. Its unit and init script do
# not start without that file; the bench runs its own instance from a generated config.
BENCH_PACKAGES="
prometheus
collectd-core
"

case "${1:-}" in
"") ;;
--bench) PACKAGES="$PACKAGES $BENCH_PACKAGES" ;;
*)
    echo "usage: sh scripts/install-deps.sh [--bench]" >&2
    exit 2
    ;;
esac

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
    esac
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "install-deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "install-deps: missing packages:$missing; run this script as root" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
# mosquitto's package starts a system broker on 1883; updraft runs its own brokers
# from generated configs, so the system one is left as the administrator set it.
# collectd is different: a system collectd would run beside the agent benchmark's own and
# skew its figures, and nothing of updraft needs one, so if our install started one (a
# collectd.conf left by an earlier `collectd` package), it is stopped.
case " $missing " in
*" collectd-core "*)
    if [ -d /run/systemd/system ]; then
        $SUDO systemctl stop collectd.service >/dev/null 2>&1 || true
    elif [ -x /etc/init.d/collectd ]; then
        $SUDO /etc/init.d/collectd stop >/dev/null 2>&1 || true
    fi
    ;;
esac

#!/bin/sh
# A Docker daemon for the local endpoint's containers (docs/local-endpoint.md, "Containers").
# Idempotent: does nothing when `docker info` already answers. Otherwise, as root: installs
# Debian's docker.io when dockerd is missing and starts dockerd in the background (log in
# $DOCKERD_LOG). The default bridge network with iptables works in our CI containers; when it
# does not (no iptables/bridge in a sandbox), dockerd is retried with --iptables=false, which
# keeps published ports on 127.0.0.1 working through docker-proxy.
# Exit 0: a daemon answers. Exit 1: none could be had (the message says why).
set -eu

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/stackgen-dockerd.log}
WAIT_SECONDS=${WAIT_SECONDS:-30}

answers() { docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

wait_daemon() {
    i=0
    while [ "$i" -lt "$WAIT_SECONDS" ]; do
        if answers; then return 0; fi
        if ! kill -0 "$1" 2>/dev/null; then return 1; fi
        sleep 1
        i=$((i + 1))
    done
    return 1
}

if answers; then
    echo "docker: a daemon answers ($(docker info --format '{{.ServerVersion}}'))"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "docker: no daemon answers and starting one needs root (run this script as root," \
         "or start Docker yourself); containers stay off" >&2
    exit 1
fi
if ! command -v dockerd >/dev/null 2>&1; then
    echo "docker: installing docker.io (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
for flags in "" "--iptables=false"; do
    echo "docker: starting dockerd $flags (log: $DOCKERD_LOG)"
    # shellcheck disable=SC2086  # flags split on purpose
    nohup dockerd $flags >>"$DOCKERD_LOG" 2>&1 &
    pid=$!
    if wait_daemon "$pid"; then
        echo "docker: daemon up (pid $pid${flags:+, $flags})"
        exit 0
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
done
echo "docker: dockerd did not come up; see $DOCKERD_LOG" >&2
exit 1

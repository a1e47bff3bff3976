#!/usr/bin/env bash
# Start or stop a private, quiet Docker engine for building and testing the action image on a
# machine where no engine runs (CI boxes, air-gapped build hosts). Run as root.
#
#   scripts/docker-engine.sh start WORKDIR   # prints the DOCKER_HOST value on stdout
#   scripts/docker-engine.sh stop  WORKDIR
#   scripts/docker-engine.sh status WORKDIR  # exit 0 and print DOCKER_HOST if it answers
#
# The engine runs with no bridge and no iptables/ip_forward changes, so it leaves the host's
# network alone: containers get only a loopback interface (like `--network none`), and builds
# that need the network use `docker build --network host`. Its data root, exec root, socket,
# pidfile and log all live in WORKDIR; keep WORKDIR to reuse the image cache between runs.
# If docker.io or debootstrap are missing they are installed with apt-get (Debian/Ubuntu).
set -euo pipefail

usage() {
  echo "usage: $0 {start|stop|status} WORKDIR" >&2
  exit 2
}

[ "$#" -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
work=$(cd "$2" && pwd)
sock="$work/docker.sock"
pidfile="$work/dockerd.pid"
execroot="$work/exec"
host="unix://$sock"
# A unix socket path is limited to 107 bytes; containerd's socket lives deeper, under exec/.
if [ "${#execroot}" -gt 60 ]; then
  echo "docker-engine: WORKDIR path too long for unix sockets: $work" >&2
  exit 2
fi

log() { echo "docker-engine: $*" >&2; }

engine_pid() {
  local pid
  [ -s "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

answers() { DOCKER_HOST=$host docker info >/dev/null 2>&1; }

ensure_packages() {
  if command -v dockerd >/dev/null 2>&1 && command -v debootstrap >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    log "dockerd/debootstrap missing and not root: install docker.io and debootstrap first"
    exit 1
  fi
  log "installing docker.io and debootstrap with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends docker.io debootstrap >&2
}

start() {
  local pid i
  if engine_pid >/dev/null && answers; then
    log "already running (pid $(engine_pid))"
    echo "$host"
    return 0
  fi
  ensure_packages
  if ! command -v docker >/dev/null 2>&1; then
    log "no docker client on PATH"
    exit 1
  fi
  rm -f "$pidfile" "$sock"
  # setsid: a Ctrl-C aimed at the caller's process group must not kill the engine half-way;
  # the caller stops it with `stop`. stdin/stdout/stderr are detached so that a caller which
  # captures our output does not wait for the daemon to exit.
  setsid dockerd \
    --iptables=false --ip-forward=false --ip-masq=false --bridge=none \
    --data-root "$work/data" --exec-root "$execroot" \
    -H "$host" --pidfile "$pidfile" \
    </dev/null >"$work/dockerd.log" 2>&1 &
  pid=$!
  for i in $(seq 1 120); do
    if answers; then
      log "dockerd up (pid $pid) after ${i} polls; log: $work/dockerd.log"
      echo "$host"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      break
    fi
    sleep 0.5
  done
  log "dockerd did not come up; last lines of $work/dockerd.log:"
  tail -n 20 "$work/dockerd.log" >&2 || true
  kill "$pid" 2>/dev/null || true
  exit 1
}

stop() {
  local pid i
  if pid=$(engine_pid); then
    kill -TERM "$pid"
    for i in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "dockerd (pid $pid) still alive after ${i} polls: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
    fi
    log "dockerd (pid $pid) stopped"
  else
    log "no running dockerd recorded in $pidfile"
  fi
  # dockerd leaves an nsfs mount behind; also clear anything else still mounted under WORKDIR
  # (deepest first), which only happens after a crash.
  if mountpoint -q "$execroot/netns/default" 2>/dev/null; then
    umount "$execroot/netns/default" || true
  fi
  awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do umount -l "$m" || true; done
  rm -f "$pidfile" "$sock"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status)
    if answers; then echo "$host"; else exit 1; fi
    ;;
  *) usage ;;
esac

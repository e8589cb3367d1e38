#!/usr/bin/env bash
# Boots a Debian bookworm container with systemd as its PID 1 (systemd-nspawn --boot), so the tests
# of what needs systemd (machinectl and nested nspawn machines, `systemd-run --user` units) run on a
# host whose own PID 1 is not systemd. Commands run inside it with `nsenter --target <leader> --all`.
#
#   .ci/machines.sh up     build the machine's tree (once, cached), boot a copy, wait until its systemd
#                          is up and the test user's manager answers; idempotent
#   .ci/machines.sh box    only the distrobox part of `up` (below); idempotent; prints
#                          KAIDU_TEST_BOX_USER and KAIDU_TEST_BOX_IMAGE
#   .ci/machines.sh down   power it off (by the pid `up` recorded), remove the copy and the box
#                          user's containers
#   .ci/machines.sh env    print what tests read: KAIDU_TEST_MACHINE_LEADER (pid of the container's
#                          init, for nsenter), KAIDU_TEST_MACHINE_USER, KAIDU_TEST_MACHINE_BASE,
#                          KAIDU_TEST_BOX_USER, KAIDU_TEST_BOX_IMAGE
#
# Distrobox refuses to run as root, so `up` (and `box`) also prepare a normal user on the host,
# $BOX_USER, with subuid/subgid ranges and rootless podman (runc, cgroupfs, vfs storage, no systemd),
# install Debian's distrobox, turn off its desktop entries (container_generate_entry=0, else it
# downloads an icon), and put the test image (from the loopback registry of .ci/runtimes.sh, which
# must be up) into that user's podman store.
#
# The tree is .ci/debian-rootfs.sh's root filesystem plus systemd-container (machinectl,
# systemd-nspawn), libpam-systemd and dbus-user-session (user managers), and a user `kaidu` whose
# manager starts at boot (lingering). It is cached in $KAIDU_CI_CACHE under a name that changes with
# that recipe; each `up` boots a fresh copy under $KAIDU_CI_MACHINES, so nothing a test does
# survives. The tree itself is bound read-only into the machine at $BASE_IN_MACHINE: tests copy it to
# make the machines they start inside. Needs root.
set -euo pipefail

RUN_DIR=${KAIDU_CI_RUN:-/run/kaidu-ci}
CACHE_DIR=${KAIDU_CI_CACHE:-/var/cache/kaidu-ci}
MACHINES_DIR=${KAIDU_CI_MACHINES:-/var/lib/kaidu-ci/machines}
NAME=kaidu-ci-host
TEST_USER=kaidu
EXTRA=systemd-container,libpam-systemd,dbus-user-session
# The base tree's services are for other tests' images: not started in this machine.
MASK="nginx.service redis-server.service"
BASE_IN_MACHINE=/var/lib/kaidu-ci/base
HERE=$(cd "$(dirname "$0")" && pwd)
BOX_USER=kaidu-box
BOX_IMAGE=docker.io/library/busybox:1.36

log() { printf 'machines: %s\n' "$*" >&2; }
die() { printf 'machines: error: %s\n' "$*" >&2; exit 1; }

alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# The container's init: the descendant of systemd-nspawn whose pid in its own namespace is 1.
leader_of() {
  local pid=$1 c
  for c in $(pgrep -P "$pid"); do
    if awk '/^NSpid:/ { exit !($NF == 1 && NF > 2) }' "/proc/$c/status" 2>/dev/null; then echo "$c"; return 0; fi
    leader_of "$c" && return 0
  done
  return 1
}

in_machine() { nsenter --target "$(cat "$RUN_DIR/machine.leader")" --all -- "$@"; }

tree() {
  local base key target tmp
  base=$(bash "$HERE/debian-rootfs.sh" path)
  key=$(printf '%s %s %s %s' "$base" "$EXTRA" "$TEST_USER" "$MASK" | sha1sum | cut -c1-12)
  target="$CACHE_DIR/machines/tree-$key"
  mkdir -p "$CACHE_DIR/machines"
  exec 8>"$CACHE_DIR/machines/.lock"
  flock 8
  if [[ ! -d $target ]]; then
    tmp=$(mktemp -d "$CACHE_DIR/machines/.build-XXXXXX")
    log "building the machine tree in $tmp (from $base, adding ${EXTRA//,/ })"
    cp -a --reflink=auto "$base/." "$tmp/"
    # mktemp made it 0700 (and so is the base tree's top): the machine's daemons that drop root
    # (dbus) could not even reach /usr.
    chmod 755 "$tmp"
    # Installed by running apt inside the tree (standalone nspawn: no systemd needed on the host).
    if ! systemd-nspawn -q --register=no --keep-unit -D "$tmp" -- sh -ec "
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 ${EXTRA//,/ }
        apt-get clean
        useradd --create-home --shell /bin/bash $TEST_USER
        mkdir -p /var/lib/systemd/linger $BASE_IN_MACHINE /var/lib/machines
        touch /var/lib/systemd/linger/$TEST_USER
        systemctl mask $MASK" >"$tmp.log" 2>&1; then
      tail -30 "$tmp.log" >&2
      rm -rf "$tmp" "$tmp.log"
      die "could not build the machine tree (log above)"
    fi
    mv "$tmp" "$target"
    rm -f "$tmp.log"
  fi
  exec 8>&-
  printf '%s\n' "$target"
}

# Wait (bounded) until a command succeeds; each try itself is bounded by `timeout`.
wait_for() {
  local what=$1 limit=$2 i; shift 2
  for ((i = 0; i < limit * 10; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "$what within ${limit}s (log: $RUN_DIR/machine.log)"
}

as_box_user() { (cd / && setpriv --reuid="$BOX_USER" --regid="$BOX_USER" --init-groups --reset-env "$@"); }

box() {
  [[ $(id -u) -eq 0 ]] || die "needs root"
  if ! command -v distrobox >/dev/null; then
    log "installing distrobox"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 distrobox >/dev/null 2>&1 \
      || { apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 distrobox >/dev/null; } \
      || die "cannot install distrobox"
  fi
  mkdir -p /etc/distrobox
  grep -qs '^container_generate_entry=0' /etc/distrobox/distrobox.conf \
    || printf '# Written by Kaidu%ss .ci/machines.sh: no desktop entries (they download an icon)\ncontainer_generate_entry=0\n' "'" >>/etc/distrobox/distrobox.conf
  id "$BOX_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$BOX_USER"
  # useradd gives ranges only where login.defs says so: make sure (newuidmap needs them).
  grep -q "^$BOX_USER:" /etc/subuid || usermod --add-subuids 300000-365535 "$BOX_USER"
  grep -q "^$BOX_USER:" /etc/subgid || usermod --add-subgids 300000-365535 "$BOX_USER"
  local uid
  uid=$(id -u "$BOX_USER")
  # Without logind nothing makes the user's runtime directory; podman keeps its state there.
  install -d -m 700 -o "$BOX_USER" -g "$BOX_USER" "/run/user/$uid"
  as_box_user podman info >/dev/null 2>"$RUN_DIR/box-podman.err" || { cat "$RUN_DIR/box-podman.err" >&2; die "rootless podman does not work for $BOX_USER"; }
  as_box_user podman image exists "$BOX_IMAGE" || as_box_user podman pull -q "$BOX_IMAGE" >/dev/null \
    || die "cannot pull $BOX_IMAGE for $BOX_USER (is .ci/runtimes.sh up?)"
}

up() {
  [[ $(id -u) -eq 0 ]] || die "needs root"
  mkdir -p "$RUN_DIR"
  box
  if ! command -v systemd-nspawn >/dev/null; then
    log "installing systemd-container"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 systemd-container >/dev/null 2>&1 \
      || { apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 systemd-container >/dev/null; } \
      || die "cannot install systemd-container"
  fi
  command -v nsenter >/dev/null || die "needs nsenter (util-linux)"
  mkdir -p "$RUN_DIR" "$MACHINES_DIR"
  exec 9>"$RUN_DIR/machine.lock"
  flock 9
  if alive "$RUN_DIR/machine.pid" && [[ -s $RUN_DIR/machine.leader ]] && kill -0 "$(cat "$RUN_DIR/machine.leader")" 2>/dev/null; then
    log "up already (leader pid $(cat "$RUN_DIR/machine.leader"))"
    return 0
  fi
  local src root pid leader
  src=$(tree)
  root="$MACHINES_DIR/$NAME"
  rm -rf "$root"
  mkdir -p "$root"
  chmod 755 "$root"
  cp -a --reflink=auto "$src/." "$root/"
  log "booting $NAME"
  # --register=no --keep-unit: the host has no systemd (no machined, no units) to register with.
  # --private-network: nothing in it listens on the host's ports.
  setsid systemd-nspawn --boot --register=no --keep-unit --machine="$NAME" --directory="$root" \
    --bind-ro="$src:$BASE_IN_MACHINE" --private-network --capability=all </dev/null >"$RUN_DIR/machine.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$RUN_DIR/machine.pid"
  # A machine that did not come up is not left behind.
  trap 'log "tearing down after the failure"; down' ERR EXIT
  rm -f "$RUN_DIR/machine.leader"
  wait_for "the container's init did not start" 30 leader_of "$pid"
  leader=$(leader_of "$pid")
  echo "$leader" >"$RUN_DIR/machine.leader"
  # Its systemd says when booting has finished, once it listens; "degraded" (a unit failed) is shown
  # but not fatal.
  wait_for "the container's systemd did not listen" 60 in_machine test -S /run/systemd/private
  local state
  state=$(timeout 180 nsenter --target "$leader" --all -- systemctl is-system-running --wait || true)
  case $state in
    running) ;;
    degraded) log "booted degraded: $(in_machine systemctl --failed --no-legend --plain | tr '\n' ' ')" ;;
    *) die "$NAME did not finish booting (systemctl is-system-running: ${state:-no answer})" ;;
  esac
  local uid
  uid=$(in_machine id -u "$TEST_USER")
  wait_for "the user manager of $TEST_USER did not answer" 60 \
    in_machine timeout 10 setpriv --reuid="$TEST_USER" --regid="$TEST_USER" --init-groups env XDG_RUNTIME_DIR="/run/user/$uid" systemctl --user is-system-running
  trap - ERR EXIT
  log "up: $NAME (nspawn pid $pid, leader pid $leader)"
}

down() {
  # The box user's boxes are containers in its podman: all of them are the tests' leftovers.
  if id "$BOX_USER" >/dev/null 2>&1 && command -v podman >/dev/null; then as_box_user podman rm -af -t 0 >/dev/null 2>&1 || true; fi
  local file=$RUN_DIR/machine.pid pid i
  [[ -s $file ]] || { rm -rf "${MACHINES_DIR:?}/$NAME"; return 0; }
  pid=$(cat "$file")
  # Only the systemd-nspawn we started: a recycled pid is left alone.
  if kill -0 "$pid" 2>/dev/null && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == systemd-nspawn ]]; then
    log "powering off $NAME (nspawn pid $pid)"
    # systemd-nspawn turns SIGTERM into an orderly poweroff of the container.
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 600; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { log "still running after 60s: killing"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$file" "$RUN_DIR/machine.leader"
  rm -rf "${MACHINES_DIR:?}/$NAME"
}

env_() {
  [[ -s $RUN_DIR/machine.leader ]] && kill -0 "$(cat "$RUN_DIR/machine.leader")" 2>/dev/null || die "not up (run: $0 up)"
  echo "KAIDU_TEST_MACHINE_LEADER=$(cat "$RUN_DIR/machine.leader")"
  echo "KAIDU_TEST_MACHINE_USER=$TEST_USER"
  echo "KAIDU_TEST_MACHINE_BASE=$BASE_IN_MACHINE"
  echo "KAIDU_TEST_BOX_USER=$BOX_USER"
  echo "KAIDU_TEST_BOX_IMAGE=$BOX_IMAGE"
}

case ${1:-} in
  up) up ;;
  box) box && printf 'KAIDU_TEST_BOX_USER=%s\nKAIDU_TEST_BOX_IMAGE=%s\n' "$BOX_USER" "$BOX_IMAGE" ;;
  down) down ;;
  env) env_ ;;
  *) echo "usage: $0 up|box|down|env" >&2; exit 2 ;;
esac

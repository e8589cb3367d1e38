#!/usr/bin/env bash
# Builds (once) a Debian bookworm root filesystem from the archive apt already uses, for the runtime
# tests that need more than busybox: a booted systemd container (systemd-nspawn --boot), and the
# stand-in images of examples/containers (nginx-light, redis-server).
#
#   .ci/debian-rootfs.sh path    build when missing, print the directory of the root filesystem
#
# The tree lives in $KAIDU_CI_CACHE (default /var/cache/kaidu-ci) under a name that changes with the
# package list, so a changed list builds a new tree. Concurrent callers wait on one lock; a build
# that fails or is interrupted leaves no tree behind (built in a temporary directory, then renamed).
# About 1.5 minutes on an idle 2-core machine. Needs root.
set -euo pipefail

CACHE_DIR=${KAIDU_CI_CACHE:-/var/cache/kaidu-ci}
SUITE=bookworm
MIRROR=${KAIDU_CI_DEBIAN_MIRROR:-http://deb.debian.org/debian}
INCLUDE=systemd,systemd-sysv,dbus,iproute2,nginx-light,redis-server,redis-tools,curl,ca-certificates,procps

log() { printf 'debian-rootfs: %s\n' "$*" >&2; }
die() { printf 'debian-rootfs: error: %s\n' "$*" >&2; exit 1; }

key=$(printf '%s %s %s' "$SUITE" "$MIRROR" "$INCLUDE" | sha1sum | cut -c1-12)
target="$CACHE_DIR/rootfs/$SUITE-$key"

build() {
  command -v debootstrap >/dev/null || {
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 debootstrap >&2 \
      || { apt-get update -q -o DPkg::Lock::Timeout=600 >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 debootstrap >&2; } \
      || die "cannot install debootstrap"
  }
  mkdir -p "$CACHE_DIR/rootfs"
  local tmp
  tmp=$(mktemp -d "$CACHE_DIR/rootfs/.build-XXXXXX")
  log "building $SUITE into $tmp (packages: $INCLUDE)"
  if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$tmp" "$MIRROR" >"$tmp.log" 2>&1; then
    tail -30 "$tmp.log" >&2
    rm -rf "$tmp"
    die "debootstrap failed (log above)"
  fi
  # A booted container must not wait for hardware or a network it does not have.
  : >"$tmp/etc/machine-id"
  # mktemp made the top directory 0700: a booted container's services (dbus) could not reach /usr.
  chmod 755 "$tmp"
  echo kaidu-ci >"$tmp/etc/hostname"
  mv "$tmp" "$target"
  rm -f "$tmp.log"
  log "built $target"
}

case ${1:-} in
  path)
    mkdir -p "$CACHE_DIR/rootfs"
    exec 9>"$CACHE_DIR/rootfs/.lock"
    flock 9
    [[ -d $target ]] || build
    printf '%s\n' "$target"
    ;;
  *)
    echo "usage: $0 path" >&2
    exit 2
    ;;
esac

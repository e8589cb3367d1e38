#!/usr/bin/env bash
# Builds (once) an image a distrobox can really start, and puts it into the box user's rootless
# podman store. distrobox's init (run when a box first starts: `distrobox enter`, or Kaidu running
# a node inside the box) needs a distribution with a package manager and installs what it misses
# (sudo, pinentry, wget, curl, less, bc, time, lsof, ...) — busybox cannot start as a box, and
# without internet the install would fail. So the image is the Debian tree of .ci/debian-rootfs.sh
# with those already installed (from the archive apt uses), and the box's init finds them. Its `/`
# is 0755 (the tree's top may be 0700, and the box's user could not even load libc; a RUN chmod of
# `/` does not reach the image).
#
#   .ci/box-image.sh up    build when missing (root's podman), load it for the box user; idempotent;
#                          prints KAIDU_TEST_BOX_DISTRO_IMAGE
#
# Needs root, and the box user of `.ci/machines.sh box` (run first). The tag changes with the
# Debian tree and the package list, so a changed recipe builds a new image.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BOX_USER=kaidu-box
# What distrobox 1.4's init checks for (`command -v`) before it tries to install anything.
# Bump when the build below changes (the tag must change with it).
RECIPE=3
PACKAGES="sudo pinentry-curses wget curl less bc time lsof bash passwd findutils mount diffutils util-linux procps"

TOP_0755='
import sys, tarfile
src = tarfile.open(fileobj=sys.stdin.buffer, mode="r|")
dst = tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT)
for m in src:
    if m.name in (".", "./"):
        m.mode = 0o755
    dst.addfile(m, src.extractfile(m) if m.isreg() else None)
dst.close()
'

log() { printf 'box-image: %s\n' "$*" >&2; }
die() { printf 'box-image: error: %s\n' "$*" >&2; exit 1; }
as_box_user() { (cd / && setpriv --reuid="$BOX_USER" --regid="$BOX_USER" --init-groups --reset-env "$@"); }

up() {
  [[ $(id -u) -eq 0 ]] || die "needs root"
  id "$BOX_USER" >/dev/null 2>&1 || die "no user $BOX_USER (run .ci/machines.sh box first)"
  local rootfs base key image ctx
  rootfs=$(bash "$HERE/debian-rootfs.sh" path) || die "no Debian root filesystem"
  base=localhost/kaidu-ci-box-base:$(basename "$rootfs")
  key=$(printf '%s %s %s' "$(basename "$rootfs")" "$PACKAGES" "$RECIPE" | sha1sum | cut -c1-12)
  image=localhost/kaidu-ci-box:$key
  exec 8>/run/kaidu-ci-box-image.lock
  flock 8
  if ! as_box_user podman image exists "$image"; then
    if ! podman image exists "$image"; then
      if ! podman image exists "$base"; then
        log "importing $rootfs as $base"
        # The tree's own top may be 0700: the stream's "./" entry is rewritten to 0755.
        tar --numeric-owner -c -C "$rootfs" . | python3 -c "$TOP_0755" | podman import -q - "$base" >/dev/null
      fi
      ctx=$(mktemp -d)
      cat >"$ctx/Containerfile" <<CF
FROM $base
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $PACKAGES && apt-get clean && rm -rf /var/lib/apt/lists/*
CF
      log "building $image (adding $PACKAGES)"
      podman build -q --pull=never --network=host -t "$image" -f "$ctx/Containerfile" "$ctx" >/dev/null || { rm -rf "$ctx"; die "cannot build $image"; }
      rm -rf "$ctx"
    fi
    log "loading $image into $BOX_USER's podman"
    podman save -q "$image" | as_box_user podman load -q >/dev/null || die "cannot load $image for $BOX_USER"
  fi
  exec 8>&-
  printf 'KAIDU_TEST_BOX_DISTRO_IMAGE=%s\n' "$image"
}

case ${1:-} in
  up) up ;;
  *) echo "usage: $0 up" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Brings up the container runtimes Kaidu's runtime tests use, from Debian packages only, with no
# internet: podman (runc, cgroupfs), a loopback image registry on 127.0.0.1:5000 standing in for
# docker.io, dockerd using it as its mirror, libvirtd (qemu driver) with its default network, a busybox image
# built FROM scratch from busybox-static and pushed as docker.io/library/busybox:1.36, the VM
# tests' stand-in guest (.ci/vm-image.sh); .ci/images.sh adds nginx and redis stand-ins. The packages
# also cover .ci/vm-agent-image.sh (systemd-nspawn, mkfs.ext4).
#
#   .ci/runtimes.sh up     install (when missing), configure, start, seed the image; idempotent
#   .ci/runtimes.sh down   stop what `up` started, by the pids it recorded
#   .ci/runtimes.sh env    print the settings tests read (KAIDU_TEST_IMAGE ...)
#
# Needs root (CI runs as root). Pids and logs live in $KAIDU_CI_RUN (default /run/kaidu-ci); the
# registry's storage in $KAIDU_CI_CACHE (default /var/cache/kaidu-ci) survives between runs on the
# same machine, but nothing relies on it: a missing image is rebuilt and pushed.
set -euo pipefail

RUN_DIR=${KAIDU_CI_RUN:-/run/kaidu-ci}
CACHE_DIR=${KAIDU_CI_CACHE:-/var/cache/kaidu-ci}
REGISTRY=127.0.0.1:5000
IMAGE_PATH=library/busybox
IMAGE_TAG=1.36
PACKAGES=(podman runc conmon containernetworking-plugins slirp4netns uidmap fuse-overlayfs catatonit
  docker.io docker-registry busybox-static iptables curl
  libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
  qemu-system-x86 qemu-utils genisoimage dnsmasq-base systemd-container e2fsprogs)

log() { printf 'runtimes: %s\n' "$*" >&2; }
die() { printf 'runtimes: error: %s\n' "$*" >&2; exit 1; }

# Wait (bounded) until a command succeeds: services are ready when they answer, not after a sleep.
wait_for() {
  local what=$1 limit=$2; shift 2
  local i
  for ((i = 0; i < limit * 10; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  die "$what did not come up within ${limit}s (log: $RUN_DIR)"
}

alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    # An engine installed another way (docker-ce on a hosted runner) is used as it is: Debian's
    # package would conflict with it.
    [[ $p == docker.io ]] && command -v dockerd >/dev/null && continue
    [[ $p == podman ]] && command -v podman >/dev/null && continue
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt on the machine holds the lock for a while: wait for it rather than fail.
  apt-get update -q -o DPkg::Lock::Timeout=600 >"$RUN_DIR/apt.log" 2>&1 || { cat "$RUN_DIR/apt.log" >&2; die "apt-get update failed"; }
  apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}" >>"$RUN_DIR/apt.log" 2>&1 \
    || { tail -40 "$RUN_DIR/apt.log" >&2; die "apt-get install failed"; }
}

configure_podman() {
  # crun refuses this cgroup layout and there is no systemd: runc + cgroupfs; events to a file.
  # Ulimits above the sandbox's hard limits make every container fail to start.
  local nofile nproc
  nofile=$(ulimit -Hn)
  nproc=$(ulimit -Hu)
  [[ $nofile == unlimited ]] && nofile=1048576
  [[ $nproc == unlimited || $nproc -gt 32768 ]] && nproc=32768
  mkdir -p /etc/containers/containers.conf.d /etc/containers/registries.conf.d
  cat >/etc/containers/containers.conf.d/50-kaidu-ci.conf <<EOF
# Written by Kaidu's .ci/runtimes.sh
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  # docker.io resolves to the loopback registry: nothing is ever pulled from the internet.
  cat >/etc/containers/registries.conf.d/50-kaidu-ci.conf <<EOF
# Written by Kaidu's .ci/runtimes.sh
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"

[[registry]]
prefix = "docker.io"
location = "$REGISTRY"
insecure = true

[[registry]]
location = "$REGISTRY"
insecure = true
EOF
}

start_registry() {
  if alive "$RUN_DIR/registry.pid"; then return 0; fi
  mkdir -p "$CACHE_DIR/registry"
  cat >"$RUN_DIR/registry.yml" <<EOF
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $CACHE_DIR/registry }
  delete: { enabled: true }
http:
  addr: $REGISTRY
EOF
  log "starting the registry on $REGISTRY"
  setsid docker-registry serve "$RUN_DIR/registry.yml" >"$RUN_DIR/registry.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/registry.pid"
  wait_for "the registry" 20 curl -fsS "http://$REGISTRY/v2/"
}

start_dockerd() {
  # Ours, or an engine the machine runs itself (that one is left alone by `down`).
  if docker info >/dev/null 2>&1; then return 0; fi
  log "starting dockerd"
  # dockerd writes its own pid file; it refuses to start if a stale one names a live process.
  rm -f "$RUN_DIR/dockerd.pid"
  setsid dockerd --exec-opt native.cgroupdriver=cgroupfs --registry-mirror "http://$REGISTRY" \
    --insecure-registry "$REGISTRY" --pidfile "$RUN_DIR/dockerd.pid" >"$RUN_DIR/dockerd.log" 2>&1 </dev/null &
  wait_for "dockerd" 60 docker info
}

start_libvirtd() {
  # Ours, or a libvirtd the machine runs itself (that one is left alone by `down`). Without systemd
  # nothing makes its folders or starts virtlogd for it.
  if virsh --connect qemu:///system list >/dev/null 2>&1; then return 0; fi
  log "starting virtlogd and libvirtd"
  mkdir -p /var/log/libvirt /var/run/libvirt
  rm -f "$RUN_DIR/virtlogd.pid" "$RUN_DIR/libvirtd.pid"
  setsid virtlogd --pid-file "$RUN_DIR/virtlogd.pid" >"$RUN_DIR/virtlogd.log" 2>&1 </dev/null &
  setsid libvirtd --pid-file "$RUN_DIR/libvirtd.pid" >"$RUN_DIR/libvirtd.log" 2>&1 </dev/null &
  wait_for "libvirtd" 60 virsh --connect qemu:///system list
}

start_libvirt_network() {
  # libvirt's NAT network "default" (virbr0, dnsmasq for DHCP): VM guests take an address there,
  # which is how the VM tests see a guest booted. Started without systemd, like libvirtd.
  local info
  # (Read first: with pipefail, grep -q closing the pipe early would fail virsh.)
  if info=$(virsh --connect qemu:///system net-info default 2>/dev/null); then
    [[ $info =~ Active:[[:space:]]+yes ]] && return 0
  else
    virsh --connect qemu:///system net-define /usr/share/libvirt/networks/default.xml >/dev/null
  fi
  log "starting libvirt's default network"
  virsh --connect qemu:///system net-start default >/dev/null
  touch "$RUN_DIR/libvirt-network.started"
}

# The image exists in the registry when its manifest answers.
image_in_registry() {
  curl -fs -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY/v2/$IMAGE_PATH/manifests/$IMAGE_TAG"
}

seed_image() {
  if ! image_in_registry; then
    log "building busybox:$IMAGE_TAG from busybox-static"
    local ctx
    ctx=$(mktemp -d)
    mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/tmp" "$ctx/rootfs/etc"
    cp /bin/busybox "$ctx/rootfs/bin/busybox"
    local applet
    for applet in $(/bin/busybox --list); do
      [[ $applet == busybox ]] || ln -sf busybox "$ctx/rootfs/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$ctx/rootfs/etc/passwd"
    printf 'root:x:0:\nnobody:x:65534:\n' >"$ctx/rootfs/etc/group"
    printf 'FROM scratch\nCOPY rootfs/ /\nCMD ["sh"]\n' >"$ctx/Containerfile"
    podman build -q -t "localhost/kaidu-ci-busybox:$IMAGE_TAG" -f "$ctx/Containerfile" "$ctx" >/dev/null
    podman push -q --format v2s2 --tls-verify=false "localhost/kaidu-ci-busybox:$IMAGE_TAG" "$REGISTRY/$IMAGE_PATH:$IMAGE_TAG"
    rm -rf "$ctx"
  fi
  # Both engines get it into their local stores, so tests with pull policy "never" can run.
  podman image exists "docker.io/$IMAGE_PATH:$IMAGE_TAG" || podman pull -q "docker.io/$IMAGE_PATH:$IMAGE_TAG" >/dev/null
  docker image inspect "busybox:$IMAGE_TAG" >/dev/null 2>&1 || docker pull -q "busybox:$IMAGE_TAG" >/dev/null
}

up() {
  [[ $(id -u) -eq 0 ]] || die "needs root"
  mkdir -p "$RUN_DIR" "$CACHE_DIR"
  install_packages
  configure_podman
  podman info >/dev/null 2>"$RUN_DIR/podman-info.err" || { cat "$RUN_DIR/podman-info.err" >&2; die "podman does not work"; }
  start_registry
  start_dockerd
  start_libvirtd
  start_libvirt_network
  seed_image
  # The stand-in nginx and redis images examples/containers pulls (built from the Debian rootfs).
  bash "$(dirname "${BASH_SOURCE[0]}")/images.sh" up
  # The VM tests' stand-in guest (kernel + busybox initramfs), built once and cached.
  bash "$(dirname "${BASH_SOURCE[0]}")/vm-image.sh" >/dev/null
  # The VM agent test's Debian guest (real cloud-init, systemd, this machine's Node), cached.
  bash "$(dirname "${BASH_SOURCE[0]}")/vm-agent-image.sh" >/dev/null
  log "up: podman, dockerd, libvirtd (default network), registry $REGISTRY, images docker.io/$IMAGE_PATH:$IMAGE_TAG, nginx, redis, VM guests"
}

stop_pid() {
  local name=$1 file=$RUN_DIR/$1.pid pid i
  [[ -s $file ]] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

down() {
  # dockerd stops its own containers on the way down; the tests remove theirs themselves.
  stop_pid dockerd
  stop_pid registry
  if [[ -e $RUN_DIR/libvirt-network.started ]]; then
    virsh --connect qemu:///system net-destroy default >/dev/null 2>&1 || true
    rm -f "$RUN_DIR/libvirt-network.started"
  fi
  stop_pid libvirtd
  stop_pid virtlogd
}

case ${1:-} in
  up) up ;;
  down) down ;;
  env) echo "KAIDU_TEST_IMAGE=docker.io/$IMAGE_PATH:$IMAGE_TAG" ;;
  *) echo "usage: $0 up|down|env" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Builds the guest the VirtualMachine agent test boots under libvirt/qemu: a Debian bookworm with
# real cloud-init and systemd, and this machine's Node.js (Debian's nodejs is 18; Kaidu needs
# >= 20.19), so a VM's NoCloud seed (src/delegates/vm-seed.ts) can install and start a real Kaidu
# agent in it. From Debian packages only, without loop mounts:
#
#   - the root filesystem: a copy of .ci/debian-rootfs.sh's tree (never modified in place) plus
#     cloud-init and udev (the tree is made for containers; a VM needs its devices) with
#     systemd-networkd enabled (apt-get install run in the copy by systemd-nspawn, from the archive the tree
#     already uses), this machine's `node` binary and its npm in /usr/local; cloud-init reads only
#     a NoCloud seed (datasource_list), services the guest does not need are not enabled
#   - a disk: `mkfs.ext4 -d <tree>` into a raw file, converted to qcow2 (the template VMs get
#     overlays of)
#   - a kernel and initramfs: the kernel of Debian's linux-image-cloud-amd64 (taken out of the .deb,
#     never installed), and a busybox initramfs that loads the virtio and iso9660 modules, mounts
#     /dev/vda (ext4 is built in) and switch_roots to systemd
#
#   .ci/vm-agent-image.sh    build when missing, then print KAIDU_VM_AGENT_KERNEL=,
#                            KAIDU_VM_AGENT_INITRD=, KAIDU_VM_AGENT_DISK_TEMPLATE= (absolute paths)
#
# Cached under $KAIDU_CI_CACHE/vm-agent/<key> (default /var/cache/kaidu-ci), the key made of the
# kernel package, cloud-init's and node's versions, the root filesystem's name and this script's
# hash; built under a lock; `complete` is written last, so a partial build is rebuilt. Needs root,
# busybox-static, qemu-utils, e2fsprogs, systemd-container and the archive (apt-get).
set -euo pipefail

CACHE_DIR=${KAIDU_CI_CACHE:-/var/cache/kaidu-ci}
MODULES=(virtio_pci virtio_blk virtio_net isofs)
HERE=$(cd "$(dirname "$0")" && pwd)

log() { printf 'vm-agent-image: %s\n' "$*" >&2; }
die() { printf 'vm-agent-image: error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "needs root"
# Not `grep -q`: busybox writes its list a line at a time, and under pipefail a grep that quits at
# the match kills it with SIGPIPE on a loaded machine, failing the check.
command -v busybox >/dev/null && busybox --list | grep -x switch_root >/dev/null || die "busybox-static is not installed (apt-get install busybox-static)"
for tool in qemu-img mkfs.ext4 systemd-nspawn; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
node=$(command -v node) || die "node is not installed"
node_ver=$("$node" --version)
npm_dir=$(cd "$(dirname "$(readlink -f "$node")")/../lib/node_modules/npm" 2>/dev/null && pwd) || die "no npm beside $node"

# shellcheck source=vm-kernel.sh
source "$HERE/vm-kernel.sh"
vm_kernel_package
cloud_init_ver=$(apt-cache policy cloud-init | awk '/Candidate:/ { print $2 }')
[[ -n $cloud_init_ver && $cloud_init_ver != "(none)" ]] || die "apt knows no cloud-init"
rootfs=$(bash "$HERE/debian-rootfs.sh" path) || die ".ci/debian-rootfs.sh failed"
script_hash=$(vm_kernel_script_hash "$0")
key=$(printf '%s-%s-ci%s-node%s-%s-%s' "$kernel_pkg" "$kernel_ver" "$cloud_init_ver" "$node_ver" "$(basename "$rootfs")" "$script_hash" | tr -c 'A-Za-z0-9.+\n-' '_')
out=$CACHE_DIR/vm-agent/$key

print_paths() {
  printf 'KAIDU_VM_AGENT_KERNEL=%s\nKAIDU_VM_AGENT_INITRD=%s\nKAIDU_VM_AGENT_DISK_TEMPLATE=%s\n' "$out/vmlinuz" "$out/initrd.img" "$out/disk-template.qcow2"
}

if [[ -f $out/complete ]]; then print_paths; exit 0; fi
mkdir -p "$CACHE_DIR/vm-agent"
exec 9>"$CACHE_DIR/vm-agent/.lock"
flock 9
if [[ -f $out/complete ]]; then print_paths; exit 0; fi

started=$SECONDS
log "building the agent guest ($kernel_pkg $kernel_ver, cloud-init $cloud_init_ver, node $node_ver)"
# On the cache's file system (not /tmp, which may be small): the tree and the raw disk are large.
work=$(mktemp -d "$CACHE_DIR/vm-agent/.build-XXXXXX")
trap 'rm -rf "$work"' EXIT

# Kernel and its modules, out of the package (never installed).
vm_kernel_extract "$work"

# The root filesystem: a copy, then cloud-init installed in it by its own apt.
tree=$work/tree
cp -a "$rootfs" "$tree"
nspawn() { systemd-nspawn -q --register=no --keep-unit --pipe -E DEBIAN_FRONTEND=noninteractive -D "$tree" "$@"; }
nspawn apt-get update -q -o Acquire::Retries=3 >"$work/apt.log" 2>&1 || { tail -30 "$work/apt.log" >&2; die "apt-get update in the guest tree failed"; }
nspawn apt-get install -y -q --no-install-recommends -o Acquire::Retries=3 "cloud-init=$cloud_init_ver" udev >>"$work/apt.log" 2>&1 || { tail -30 "$work/apt.log" >&2; die "apt-get install cloud-init udev in the guest tree failed"; }
nspawn apt-get clean >/dev/null 2>&1 || true
rm -rf "$tree"/var/lib/apt/lists/*

# Node and npm, as on this machine, where npm's global prefix puts `kaidu`: /usr/local.
install -m 755 "$node" "$tree/usr/local/bin/node"
mkdir -p "$tree/usr/local/lib/node_modules"
cp -a "$npm_dir" "$tree/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$tree/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$tree/usr/local/bin/npx"

# cloud-init looks for a NoCloud seed only (probing the clouds' metadata services would time out
# one by one); the guest boots from the disk the initramfs mounted.
cat >"$tree/etc/cloud/cloud.cfg.d/90_kaidu.cfg" <<'EOF'
# Kaidu's agent guest (.ci/vm-agent-image.sh): configured by a NoCloud seed (a volume labelled cidata).
datasource_list: [ NoCloud, None ]
# No locale to generate (en_US is not built here). A string: the schema wants one, and cloud-init
# reads "false" as off.
locale: "false"
# The network configuration cloud-init writes (DHCP on the first NIC) is for systemd-networkd,
# which Debian does not enable by default: enabled below.
system_info:
  network:
    renderers: [ networkd ]
EOF
nspawn systemctl enable systemd-networkd.service >/dev/null 2>&1 || die "systemctl enable systemd-networkd in the guest tree failed"
printf '/dev/vda / ext4 rw,relatime 0 0\n' >"$tree/etc/fstab"
: >"$tree/etc/machine-id"
# Stand-ins of the other tests and periodic jobs: nothing a guest needs at boot.
rm -f "$tree"/etc/systemd/system/multi-user.target.wants/{nginx,redis-server,e2scrub_reap}.service
rm -f "$tree"/etc/systemd/system/timers.target.wants/*.timer
# networkd configures the NIC (cloud-init writes its config); wait for it, not for every link.
mkdir -p "$tree/etc/systemd/system/systemd-networkd-wait-online.service.d"
printf '[Service]\nExecStart=\nExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=120\n' >"$tree/etc/systemd/system/systemd-networkd-wait-online.service.d/any.conf"
chmod 755 "$tree"

# The disk: an ext4 file system made from the tree (no mount), as the qcow2 template.
size_mib=$(( $(du -sm "$tree" | cut -f1) + 1024 ))
mkfs.ext4 -q -F -L kaidu-root -d "$tree" "$work/disk.raw" "${size_mib}M" >"$work/mkfs.log" 2>&1 || { cat "$work/mkfs.log" >&2; die "mkfs.ext4 -d failed"; }
rm -rf "$tree"

# The initramfs: busybox, the modules (dependencies first, from each .modinfo), an /init that
# mounts the disk and hands over to systemd.
root=$work/initrd
vm_initrd_base "$root" "newroot" "${MODULES[@]}"
cat >"$root/init" <<'EOF'
#!/bin/sh
# Kaidu's agent guest (.ci/vm-agent-image.sh): load the virtio drivers, mount /dev/vda, start systemd.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do insmod "/lib/modules/$m" || echo "kaidu-initrd: insmod $m failed" > /dev/console; done < /etc/modules.order
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if ! mount -t ext4 -o rw /dev/vda /newroot; then
  echo "kaidu-initrd: error: cannot mount /dev/vda" > /dev/console
  sleep 5; poweroff -f
fi
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
EOF
chmod 755 "$root/init"

stage=$out.tmp.$$
rm -rf "$stage"
mkdir -p "$stage"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip -6 >"$stage/initrd.img"
cp "$work/kernel/boot/vmlinuz-$kver" "$stage/vmlinuz"
qemu-img convert -q -f raw -O qcow2 "$work/disk.raw" "$stage/disk-template.qcow2"
chmod 644 "$stage"/*
touch "$stage/complete"
rm -rf "$out"
mv "$stage" "$out"
chmod 755 "$out"
# Guests of older keys are not used again.
find "$CACHE_DIR/vm-agent" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -name "$key.tmp.*" ! -name '.build-*' -exec rm -rf {} +
log "built $out in $((SECONDS - started)) s"
print_paths

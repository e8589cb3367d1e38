#!/usr/bin/env bash
# Builds the stand-in guest the VirtualMachine tests boot under libvirt/qemu, from Debian packages
# only and with no internet: the kernel of Debian's linux-image-cloud-amd64 (taken out of the .deb
# with `apt-get download` + `dpkg-deb --fsys-tarfile`, never installed: installing runs
# initramfs-tools for minutes), a small initramfs made of busybox-static, the few kernel modules the
# guest needs (virtio disk and network, iso9660) and an /init script, and a blank raw disk image that
# VMs get their disks from (qemu-img overlays).
#
# The guest's /init reports on the serial console (ttyS0), one `kaidu-guest: ...` line each:
# `booted <kernel>`, `disk vda sectors=<n>`, `seed <dev> instance-id=<id> local-hostname=<name>
# hub=<url> host=<name>` when a NoCloud seed (a volume labelled cidata) is attached, `address <ip>`
# after DHCP on eth0 (it also serves HTTP on port 80 with busybox httpd), then `ready`.
#
#   .ci/vm-image.sh          build when missing, then print KAIDU_VM_KERNEL=, KAIDU_VM_INITRD=,
#                            KAIDU_VM_DISK_TEMPLATE= (absolute paths), one a line
#
# Cached under $KAIDU_CI_CACHE/vm/<kernel package version>-<busybox version>-<this script's hash>
# (default /var/cache/kaidu-ci), built under a lock; a missing or partial cache is rebuilt, so
# nothing relies on it. Needs root (apt-get download into a root-owned cache) and busybox-static.
set -euo pipefail

CACHE_DIR=${KAIDU_CI_CACHE:-/var/cache/kaidu-ci}
# Loaded in this order by /init; each module's own dependencies (from its .modinfo) come first.
MODULES=(virtio_pci virtio_blk virtio_net isofs)

log() { printf 'vm-image: %s\n' "$*" >&2; }
die() { printf 'vm-image: error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "needs root"
# Not `grep -q`: busybox writes its list a line at a time, and under pipefail a grep that quits at
# the match kills it with SIGPIPE on a loaded machine, failing the check.
command -v busybox >/dev/null && busybox --list | grep -x udhcpc >/dev/null || die "busybox-static is not installed (apt-get install busybox-static)"
command -v qemu-img >/dev/null || die "qemu-img is not installed (apt-get install qemu-utils)"

# shellcheck source=vm-kernel.sh
source "$(dirname "$0")/vm-kernel.sh"
vm_kernel_package
busybox_ver=$(dpkg-query -W -f='${Version}' busybox-static)
script_hash=$(vm_kernel_script_hash "$0")
key=$(printf '%s-%s-%s-%s' "$kernel_pkg" "$kernel_ver" "$busybox_ver" "$script_hash" | tr -c 'A-Za-z0-9.+\n-' '_')
out=$CACHE_DIR/vm/$key

print_paths() {
  printf 'KAIDU_VM_KERNEL=%s\nKAIDU_VM_INITRD=%s\nKAIDU_VM_DISK_TEMPLATE=%s\n' "$out/vmlinuz" "$out/initrd.img" "$out/disk-template.raw"
}

# `complete` is written last: a build that died half-way is not a cache hit.
if [[ -f $out/complete ]]; then print_paths; exit 0; fi

mkdir -p "$CACHE_DIR/vm"
exec 9>"$CACHE_DIR/vm/.lock"
flock 9
if [[ -f $out/complete ]]; then print_paths; exit 0; fi

log "building the stand-in guest ($kernel_pkg $kernel_ver, busybox $busybox_ver)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
vm_kernel_extract "$work"
root=$work/root
vm_initrd_base "$root" "seed www" "${MODULES[@]}"

cat >"$root/etc/udhcpc.sh" <<'EOF'
#!/bin/sh
# udhcpc's hook: configure the lease it got.
case $1 in
  bound|renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}"
    [ -n "$router" ] && route add default gw "${router%% *}" dev "$interface"
    echo "$ip" > /run-address ;;
esac
exit 0
EOF
chmod 755 "$root/etc/udhcpc.sh"

cat >"$root/init" <<'EOF'
#!/bin/sh
# Kaidu's stand-in guest (see .ci/vm-image.sh): reports what it finds on the serial console.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "kaidu-guest: $*" > /dev/ttyS0; }
while read -r m; do insmod "/lib/modules/$m" || say "error: insmod $m failed"; done < /etc/modules.order
say "booted $(uname -r)"
[ -r /sys/block/vda/size ] && say "disk vda sectors=$(cat /sys/block/vda/size)"
# A NoCloud seed, as cloud-init looks for it: a filesystem labelled cidata (or CIDATA).
seed=$(findfs LABEL=cidata 2>/dev/null || findfs LABEL=CIDATA 2>/dev/null)
if [ -n "$seed" ] && mount -t iso9660 -o ro "$seed" /seed; then
  field() { sed -n "s/^ *$1[:=] *//p" "$2" | head -n 1 | tr -d "\"'\r"; }
  say "seed $seed instance-id=$(field instance-id /seed/meta-data) local-hostname=$(field local-hostname /seed/meta-data) hub=$(field KAIDU_HUB /seed/user-data) host=$(field KAIDU_HOST /seed/user-data)"
  umount /seed
fi
ip link set lo up
if ip link set eth0 up 2>/dev/null && udhcpc -i eth0 -q -f -n -t 30 -T 2 -s /etc/udhcpc.sh >/dev/null 2>&1; then
  say "address $(cat /run-address)"
  echo "kaidu stand-in guest" > /www/index.html
  httpd -p 80 -h /www
else
  say "error: no DHCP lease on eth0"
fi
say ready
while :; do sleep 3600; done
EOF
chmod 755 "$root/init"

(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip -9 >"$work/initrd.img"
stage=$out.tmp.$$
rm -rf "$stage"
mkdir -p "$stage"
cp "$work/kernel/boot/vmlinuz-$kver" "$stage/vmlinuz"
cp "$work/initrd.img" "$stage/initrd.img"
qemu-img create -q -f raw "$stage/disk-template.raw" 16M
chmod 644 "$stage"/*
touch "$stage/complete"
rm -rf "$out"
mv "$stage" "$out"
chmod 755 "$out"
# Guests of older keys (another kernel, an older script) are not used again.
find "$CACHE_DIR/vm" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -name "$key.tmp.*" -exec rm -rf {} +
log "built $out"
print_paths

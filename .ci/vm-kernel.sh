# Sourced by .ci/vm-image.sh and .ci/vm-agent-image.sh: what both guests take from Debian's
# linux-image-cloud-amd64 (the kernel and a few of its modules, out of the .deb, never installed:
# installing runs initramfs-tools for minutes) and the busybox base of their initramfs. Expects
# `die` from the sourcing script. Part of both scripts' cache keys (vm_kernel_script_hash).

VM_KERNEL_META=linux-image-cloud-amd64

# Sets kernel_pkg and kernel_ver from apt's lists (fetched once when a fresh image has none).
vm_kernel_package() {
  local of='/Depends: linux-image-/ { print $2; exit }'
  kernel_pkg=$(apt-cache depends "$VM_KERNEL_META" 2>/dev/null | awk "$of")
  if [[ -z $kernel_pkg ]]; then
    apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null 2>&1 || die "apt-get update failed"
    kernel_pkg=$(apt-cache depends "$VM_KERNEL_META" 2>/dev/null | awk "$of")
  fi
  [[ -n $kernel_pkg ]] || die "apt knows no $VM_KERNEL_META"
  kernel_ver=$(apt-cache policy "$kernel_pkg" | awk '/Candidate:/ { print $2 }')
}

# The hash of the calling script and of this file: a change to either is a new guest.
vm_kernel_script_hash() {
  cat "$1" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-12
}

# Downloads the kernel package into WORK and unpacks its /boot and /lib/modules into WORK/kernel;
# sets kver (the kernel release) and moddir (its modules' folder).
vm_kernel_extract() {
  local work=$1
  (cd "$work" && apt-get download -q "$kernel_pkg=$kernel_ver" >"$work/download.log" 2>&1) || { cat "$work/download.log" >&2; die "apt-get download $kernel_pkg failed"; }
  mkdir "$work/kernel"
  dpkg-deb --fsys-tarfile "$work"/"$kernel_pkg"_*.deb | tar -x -C "$work/kernel" ./boot ./lib/modules
  kver=$(ls "$work/kernel/lib/modules")
  moddir=$work/kernel/lib/modules/$kver/kernel
}

# An initramfs tree at ROOT: busybox with every applet, /dev/console, the folders in DIRS (a
# space-separated list), and the modules named after them (dependencies first, depth first over each .modinfo's
# `depends=`) in ROOT/lib/modules, their load order in ROOT/etc/modules.order.
vm_initrd_base() {
  local root=$1 dirs=$2; shift 2
  local applet m
  mkdir -p "$root"/{bin,dev,proc,sys,etc,lib/modules}
  for m in $dirs; do mkdir -p "$root/$m"; done
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(busybox --list); do [[ $applet == busybox ]] || ln -s busybox "$root/bin/$applet"; done
  mknod -m 600 "$root/dev/console" c 5 1
  local -A seen=()
  local -a order=()
  _vm_add_module() {
    local name=$1 file dep
    [[ -n ${seen[$name]:-} ]] && return 0
    seen[$name]=1
    file=$(find "$moddir" -name "$name.ko" -print -quit)
    [[ -n $file ]] || file=$(find "$moddir" -name "${name//_/-}.ko" -print -quit)
    [[ -n $file ]] || die "kernel module $name is not in $kernel_pkg"
    for dep in $(busybox strings -a "$file" | sed -n 's/^depends=//p' | tr ',' ' '); do _vm_add_module "$dep"; done
    cp "$file" "$root/lib/modules/$name.ko"
    order+=("$name.ko")
  }
  for m in "$@"; do _vm_add_module "$m"; done
  printf '%s\n' "${order[@]}" >"$root/etc/modules.order"
}

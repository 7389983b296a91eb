#!/usr/bin/env bash
# Runs the test suite of this (already built) checkout on one of Debian 12's kernels under QEMU:
#   scripts/kernel-suite.sh <61|612> [--bench | --prepare]
# (--prepare: the tools, the kernel and its initramfs only; scripts/kernel-suites.sh runs both
# series at once after preparing each in turn, so two apt-get runs never meet.)
# 61 = Debian 12's own 6.1 kernel, 612 = its 6.12 LTS kernel (bookworm carries no other series).
# Installs what it needs from apt (qemu-system-x86, busybox-static, kmod, xz-utils), downloads the
# newest matching linux-image package with apt-get download, builds a busybox initramfs that
# mounts the host's / read-only over 9p, copies the checkout into a tmpfs in the guest, runs
# every dist/test/*.test.js there (and, with --bench, `node dist/tools/cli.js bench --quick`),
# prints a summary and exits non-zero when a test fails or the guest did not finish.
#   env: KQ=work dir (default /tmp/ringflow-kernels: packages, unpacked kernels, outputs)
#        KERNEL_PKG=a linux-image package to use instead of the newest of the series
#        ACCEL=tcg|kvm (default tcg), SMP=2, MEM=3G, TIMEOUT=6600 (s, the whole QEMU run: the whole
#        suite took 57 min under TCG on 2 cores on 2026-11-26; the kernel tier, both series at once,
#        about 50 on 2026-11-28)
#        RF_FILES="dist/test/a.test.js ..." (a subset of the suite)
#        JOBS=test files at once in the guest (default 1: with both guests running, QEMU already
#        keeps 2 host cores busy; JOBS=2 there ran no faster, 2026-11-29)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
here=$root/scripts/kernel-suite
series=${1:-}; bench=0; prepare=0
[ "${2:-}" = --bench ] && bench=1
[ "${2:-}" = --prepare ] && prepare=1
case $series in
  61) pattern='^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
  612) pattern='^linux-image-6\.12\.[0-9]+\+deb12-amd64$' ;;
  *) echo "usage: $0 <61|612> [--bench | --prepare]" >&2; exit 2 ;;
esac
[ -f "$root/dist/test/kernel-probe.test.js" ] && [ -f "$root/build/Release/ringflow.node" ] \
  || { echo "kernel-suite: build the checkout first (npm run build)" >&2; exit 2; }
KQ=${KQ:-/tmp/ringflow-kernels}
mkdir -p "$KQ/deb"
t0=$(date +%s)

# --- tools (from apt)
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || need+=(busybox-static)
command -v /usr/sbin/depmod >/dev/null || need+=(kmod)
command -v xz >/dev/null || need+=(xz-utils)
command -v file >/dev/null || need+=(file)
if [ ${#need[@]} -gt 0 ]; then
  echo "kernel-suite: apt-get install ${need[*]}"
  apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
bb=/bin/busybox
file -L "$bb" | grep -q 'statically linked' || { echo "kernel-suite: $bb is not the static busybox" >&2; exit 1; }

# --- the kernel (the generic -amd64 flavour: -cloud-amd64 lacks 9p)
pkg=${KERNEL_PKG:-$(apt-cache search --names-only "$pattern" | awk '{print $1}' | sort -V | tail -1)}
[ -n "$pkg" ] || { apt-get update -qq >/dev/null 2>&1; pkg=$(apt-cache search --names-only "$pattern" | awk '{print $1}' | sort -V | tail -1); }
[ -n "$pkg" ] || { echo "kernel-suite: no package matches $pattern in the apt index" >&2; exit 1; }
( cd "$KQ/deb" && { ls "${pkg}"_*.deb >/dev/null 2>&1 || apt-get download "$pkg" >/dev/null 2>&1; } )
deb=$(ls "$KQ/deb/${pkg}"_*.deb | head -1)
# the initramfs is cached per kernel package and version of our /init
kd=$KQ/k-$pkg-$(md5sum "$here/initramfs-init.sh" | cut -c1-8)
if [ ! -f "$kd/initrd.gz" ]; then
  rm -rf "$kd"; mkdir -p "$kd"
  dpkg-deb -x "$deb" "$kd"
  kver=$(ls "$kd/lib/modules")
  /usr/sbin/depmod -b "$kd" "$kver"
  # busybox initramfs: the 9p/virtio modules of this kernel, and our /init
  w=$(mktemp -d)
  mkdir -p "$w"/{bin,dev,proc,sys,newroot,stage,mod}
  cp "$bb" "$w/bin/busybox"; ln -s busybox "$w/bin/sh"
  : > "$w/mod/order"
  for m in virtio_pci 9pnet_virtio 9p virtio_rng; do
    /usr/sbin/modprobe -d "$kd" -S "$kver" --show-depends "$m" | while read -r kind path _; do
      [ "$kind" = insmod ] || continue
      b=$(basename "$path"); b=${b%.xz}
      grep -qx "$b" "$w/mod/order" && continue
      case "$path" in *.xz) xz -dc "$path" > "$w/mod/$b" ;; *) cp "$path" "$w/mod/$b" ;; esac
      echo "$b" >> "$w/mod/order"
    done
  done
  cp "$here/initramfs-init.sh" "$w/init"; chmod +x "$w/init"
  ( cd "$w" && find . | "$bb" cpio -o -H newc 2>/dev/null | gzip -1 ) > "$kd/initrd.gz"
  rm -rf "$w"
fi
kernel=$(ls "$kd"/boot/vmlinuz-*)
if [ $prepare = 1 ]; then echo "kernel-suite: $pkg ready ($kd)"; exit 0; fi

# --- boot
out=$KQ/out-$series; rm -rf "$out"; mkdir -p "$out"
ACCEL=${ACCEL:-tcg}
if [ "$ACCEL" = kvm ]; then acc=(-enable-kvm -cpu host); else acc=(-accel tcg,thread=multi -cpu max); fi
files=${RF_FILES:-}
append="console=ttyS0 loglevel=4 panic=-1 rfproj=$root rfbench=$bench rfjobs=${JOBS:-1}"
[ -n "$files" ] && append+=" rffiles=${files// /,}"
echo "kernel-suite: $pkg ($(basename "$kernel")), accel $ACCEL, checkout $root, output $out"
# A guest that never reached our script (guest.sh writes uname.txt first: a kernel that panicked while
# booting under TCG, seen now and then) is booted once more; a guest that ran is never rerun.
for attempt in 1 2; do
  set +e
  timeout "${TIMEOUT:-6600}" qemu-system-x86_64 -M pc "${acc[@]}" -smp "${SMP:-2}" -m "${MEM:-3G}" \
    -kernel "$kernel" -initrd "$kd/initrd.gz" -append "$append" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    -virtfs local,path="$out",mount_tag=out,security_model=none \
    -device virtio-rng-pci -nographic -serial mon:stdio -no-reboot -nic none \
    < /dev/null > "$out/console.log" 2>&1
  qrc=$?
  set -e
  [ -f "$out/uname.txt" ] && break
  echo "kernel-suite: attempt $attempt: the guest did not reach /init (QEMU exit $qrc); last console lines:" >&2
  tail -n 15 "$out/console.log" >&2
done

# --- summary
echo "kernel-suite: guest $(cat "$out/uname.txt" 2>/dev/null || echo '?'), QEMU exit $qrc, $(( $(date +%s) - t0 )) s"
[ -f "$out/info.txt" ] && echo "kernel-suite: ringflow info of the guest in $out/info.txt"
[ -f "$out/bench.txt" ] && { echo "--- npm start (bench --quick)"; cat "$out/bench.txt"; }
if [ ! -s "$out/suite.tap" ] || ! grep -q '^# tests' "$out/suite.tap"; then
  echo "kernel-suite: the suite did not finish in the guest; last console lines:" >&2
  tail -n 30 "$out/console.log" >&2
  exit 1
fi
node "$root/dist/tools/tap-summary.js" "$out/suite.tap"

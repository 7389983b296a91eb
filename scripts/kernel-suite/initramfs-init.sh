#!/bin/sh
# /init of the busybox initramfs scripts/kernel-suite.sh builds. Kernel command line key=value
# pairs arrive as environment: rfproj (host path of the built checkout), rfbench, rffiles. The guest
# script is the copy's scripts/kernel-suite/guest.sh (the host's /tmp, where a checkout may sit, is
# hidden under the guest's own /tmp once the copy is made).
export PATH=/bin
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read -r m; do insmod "/mod/$m" || echo "init: insmod $m failed"; done < /mod/order
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /newroot \
  || { echo "init: 9p mount of the host's / failed"; poweroff -f; }
# the checkout is copied (without node_modules and .git) into a tmpfs that becomes the guest's /tmp
mount -t tmpfs -o size=1500m tmp /stage
mkdir -p /stage/p
for e in "/newroot$rfproj"/* "/newroot$rfproj"/.[!.]*; do
  case "${e##*/}" in node_modules|.git|'.[!.]*'|'*') ;; *) cp -a "$e" /stage/p/ ;; esac
done
chmod 1777 /stage
mount --move /stage /newroot/tmp
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/shm /newroot/dev/pts
mount -t tmpfs -o mode=1777 shm /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs run /newroot/run 2>/dev/null
mkdir -p /newroot/tmp/out
mount -t 9p -o trans=virtio,version=9p2000.L out /newroot/tmp/out || echo "init: no results share"
ifconfig lo 127.0.0.1 up 2>/dev/null
ip -6 addr add ::1/128 dev lo 2>/dev/null
export HOME=/tmp PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb
chroot /newroot /bin/bash /tmp/p/scripts/kernel-suite/guest.sh
echo "init: guest script exited rc=$?"
umount /newroot/tmp/out 2>/dev/null
sync
poweroff -f

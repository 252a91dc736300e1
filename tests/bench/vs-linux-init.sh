#!/bin/busybox sh
# tests/bench/vs-linux-init.sh - /init of the Linux guest that tests/bench/bench-vs-linux.sh
# builds (Debian's kernel, busybox-static): loads the virtio-net modules, configures eth0
# from the kernel command line, then runs one server in place of init.
#   vs.mode=hostrun   kumo-hostrun on /app/net_httpd.so (the object kumo compiled)
#   vs.mode=native    /bin/net_httpd (the same C source built natively)
#   vs.addr=A.B.C.D/N vs.gw=A.B.C.D   eth0's address and the default gateway
# Both serve /www on port 8080.
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sys /sys
$bb mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_mmio failover net_failover virtio_net; do
	$bb insmod "/lib/modules/$m.ko" || echo "vs-linux: insmod $m failed"
done
mode= addr= gw=
for w in $($bb cat /proc/cmdline); do
	case $w in
	vs.mode=*) mode=${w#vs.mode=} ;;
	vs.addr=*) addr=${w#vs.addr=} ;;
	vs.gw=*) gw=${w#vs.gw=} ;;
	esac
done
$bb ip link set lo up
$bb ip addr add "$addr" dev eth0
$bb ip link set eth0 up
$bb ip route add default via "$gw"
echo "vs-linux: eth0 $addr up, starting $mode"
case $mode in
hostrun) exec /bin/kumo-hostrun --dir /www::/www --listen 0.0.0.0:8080 /app/net_httpd.so --quiet ;;
native) exec /bin/net_httpd --quiet --port 8080 --root /www ;;
esac
echo "vs-linux: unknown vs.mode \`$mode\`"
exec $bb sh

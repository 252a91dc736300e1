#!/usr/bin/env bash
# tests/linux/build-images.sh - builds the Linux test images for the downstream runtime
# (containerd + runc) into one OCI layout, locally and without downloading anything:
# busybox from Debian's busybox-static (plus Debian's pgrep and ipcs), and kumo's own
# static `pause`, `webserver` and `nnp` (tests/linux/*.c). Each layout tag is pushed under the upstream names in
# tests/linux/images.list (see linux_images_push in tests/lib/containerd.sh).
# usage: build-images.sh OUT PAUSE_BIN WEBSERVER_BIN NNP_BIN   (OUT/index.json appears last)
set -euo pipefail
out=$1 pause_bin=$2 web_bin=$3 nnp_bin=$4
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || { echo "build-images: no static busybox at \`$busybox\` (install busybox-static)" >&2; exit 1; }
! readelf -l "$busybox" 2>/dev/null | grep -q 'INTERP' ||
	{ echo "build-images: \`$busybox\` is not statically linked (install busybox-static)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/kumo-linux-images.XXXXXX")
trap 'rm -rf "$work"' EXIT
L=$work/layout
B=$work/bundle
PATHENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

umoci init --layout "$L"
umoci new --image "$L:empty"

# unpack TAG: the image's root file system lands in $B/rootfs
unpack() { rm -rf "$B"; umoci unpack --image "$L:$1" "$B" >/dev/null; }
# repack TAG: what changed in $B/rootfs becomes a new layer, tagged TAG
repack() { umoci repack --image "$L:$1" "$B"; }

# busybox: every applet as a hard link at its usual path (as upstream's busybox image
# has them, so masking one path masks only that applet), a minimal /etc, and Debian's
# pgrep and ipcs (busybox-static has neither) with the libraries they load.
unpack empty
R=$B/rootfs
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,root,home,tmp,var/run,var/www,proc,sys,dev}
chmod 1777 "$R/tmp"
cp "$busybox" "$R/bin/busybox"
"$busybox" --list-full | while read -r p; do
	[ "$p" = bin/busybox ] || ln -f "$R/bin/busybox" "$R/$p"
done
for prog in /usr/bin/pgrep /usr/bin/ipcs; do
	cp "$prog" "$R/usr/bin/"
	for lib in $(ldd "$prog" | grep -oE '/[^ ]+\.so[^ ]*'); do
		mkdir -p "$R$(dirname "$lib")"
		cp -L "$lib" "$R$lib"
	done
done
cat >"$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
cat >"$R/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
www-data:x:33:
nogroup:x:65534:
EOF
repack busybox
umoci config --image "$L:busybox" --config.env "$PATHENV" --config.cmd sh

# pause: kumo's own, alone in its image, as the upstream one runs (uid 65535).
unpack empty
cp "$pause_bin" "$B/rootfs/pause"
repack pause
umoci config --image "$L:pause" --config.entrypoint /pause --config.user 65535:65535

# nginx stand-ins: busybox plus the web server installed as nginx, a web root and a pid
# file where nginx keeps it; titled like nginx's master process.
for variant in nginx:80 hostnet-nginx:12003; do
	tag=${variant%%:*} port=${variant##*:}
	unpack busybox
	cp "$web_bin" "$B/rootfs/usr/sbin/nginx"
	mkdir -p "$B/rootfs/usr/share/nginx/html"
	echo '<html><body>kumo test web server</body></html>' >"$B/rootfs/usr/share/nginx/html/index.html"
	repack "$tag"
	umoci config --image "$L:$tag" --clear config.cmd
	umoci config --image "$L:$tag" --config.exposedports "$port/tcp" \
		--config.cmd /usr/sbin/nginx --config.cmd -p --config.cmd "$port" \
		--config.cmd -P --config.cmd /var/run/nginx.pid \
		--config.cmd -t --config.cmd "nginx: master process /usr/sbin/nginx"
done

# httpd stand-in: the same web server where Apache keeps its files.
unpack busybox
mkdir -p "$B/rootfs/usr/local/apache2/bin" "$B/rootfs/usr/local/apache2/htdocs"
cp "$web_bin" "$B/rootfs/usr/local/apache2/bin/httpd"
echo '<html><body>It works!</body></html>' >"$B/rootfs/usr/local/apache2/htdocs/index.html"
repack httpd
umoci config --image "$L:httpd" --clear config.cmd
umoci config --image "$L:httpd" --config.exposedports 80/tcp \
	--config.cmd /usr/local/apache2/bin/httpd --config.cmd -p --config.cmd 80 \
	--config.cmd -r --config.cmd /usr/local/apache2/htdocs

# nonewprivs: a setuid-root probe printing its effective uid.
unpack busybox
mkdir -p "$B/rootfs/usr/local/bin"
cp "$nnp_bin" "$B/rootfs/usr/local/bin/nnp"
chown 0:0 "$B/rootfs/usr/local/bin/nnp"
chmod 4755 "$B/rootfs/usr/local/bin/nnp"
repack nonewprivs
umoci config --image "$L:nonewprivs" --clear config.cmd
umoci config --image "$L:nonewprivs" --config.entrypoint /usr/local/bin/nnp

# Images whose config names a user (critest reads it back from ImageStatus).
for u in user-uid:1002 user-username:www-data user-uid-group:1003:1004 user-username-group:www-data:1004; do
	umoci config --image "$L:busybox" --tag "${u%%:*}" --config.user "${u#*:}"
done

# A user (1000) whose image also puts it in a group of the image's own (50000).
unpack busybox
echo 'default-user:x:1000:1000::/home/default-user:/bin/sh' >>"$B/rootfs/etc/passwd"
printf 'default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n' >>"$B/rootfs/etc/group"
mkdir -p "$B/rootfs/home/default-user"
repack predefined-group
umoci config --image "$L:predefined-group" --config.user 1000

# Distinct images: busybox plus a file named after each.
for t in test-image-1 test-image-2 test-image-3 test-image-latest test-image-tag test-image-digest same-image; do
	unpack busybox
	touch "$B/rootfs/$t"
	repack "$t"
done

umoci rm --image "$L:empty"
umoci gc --layout "$L"
rm -rf "$out.tmp" "$out"
mkdir -p "$(dirname "$out")"
mv "$L" "$out"
echo "build-images: $(umoci ls --layout "$out" | wc -l) images in $out"

#!/usr/bin/env bash
# deploy/image/build.sh - builds the kumo-deploy installer image (`make deploy-image`):
# an OCI image holding the installer payload (/kumo-payload: the programs, the kernel
# library, deploy/install.sh and its files, entrypoint.sh) and the few host tools the
# entrypoint runs (bash, coreutils, nsenter, curl, jq) with their shared libraries, all
# taken from this Debian 12 machine: no download. The payload's programs are not run in
# the container; install.sh runs them on the host, which must be Debian 12 (bookworm)
# with the runtime packages (install.sh --deps installs them).
#
# usage: deploy/image/build.sh [OUT_DIR] [TAG]
#   OUT_DIR  default build/deploy-image; writes OUT_DIR/oci (OCI layout, tag TAG) and
#            OUT_DIR/kumo-deploy.tar (docker-archive, for `ctr -n k8s.io images import`,
#            `kind load image-archive`, `docker load`)
#   TAG      default 0.1.0; the image is named localhost/kumo/kumo-deploy:TAG
# Push it with skopeo: skopeo copy oci:OUT_DIR/oci:TAG docker://REGISTRY/kumo/kumo-deploy:TAG
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/build/deploy-image}
tag=${2:-0.1.0}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "$out/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/bundle/rootfs

for f in bin/kumo bin/kumod bin/kumo-crictl bin/kumo-compile kernel/libkumo-kernel.a kernel/kernel.ld; do
	[ -f "$top/build/$f" ] || { echo "build.sh: \`build/$f\` is missing: run \`make\` first" >&2; exit 1; }
done

umoci init --layout "$work/oci"
umoci new --image "$work/oci:$tag"
umoci unpack --rootless --image "$work/oci:$tag" "$work/bundle" >/dev/null

# The payload: what install.sh needs next to itself.
p=$root/kumo-payload
mkdir -p "$p/bin" "$p/kernel"
install -m 0755 "$top"/build/bin/{kumo,kumod,kumo-crictl,kumo-compile} "$p/bin/"
install -m 0644 "$top"/build/kernel/{libkumo-kernel.a,kernel.ld} "$p/kernel/"
install -m 0755 "$top"/deploy/{install.sh,kumod.init,start-libvirtd.sh} "$top/deploy/image/entrypoint.sh" "$p/"
install -m 0644 "$top"/deploy/{kumod.service,kumo.json} "$p/"

# The entrypoint's tools and their shared libraries (with the dynamic loader).
tools=(bash sh cp mv rm mkdir cat sleep env nsenter curl jq)
mkdir -p "$root/usr/bin" "$root/etc/ssl/certs" "$root/tmp"
chmod 1777 "$root/tmp"
ln -s usr/bin "$root/bin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
libs=()
for t in "${tools[@]}"; do
	src=$(command -v "$t") || { echo "build.sh: \`$t\` is not installed" >&2; exit 1; }
	cp -L "$src" "$root/usr/bin/$t"
	while read -r lib; do libs+=("$lib"); done < <(ldd "$src" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
done
for lib in $(printf '%s\n' "${libs[@]}" | sort -u); do
	dst=$root/usr${lib#/usr}
	mkdir -p "$(dirname "$dst")"
	cp -L "$lib" "$dst"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/" 2>/dev/null || true
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"

umoci repack --image "$work/oci:$tag" "$work/bundle" >/dev/null
umoci config --image "$work/oci:$tag" \
	--config.entrypoint /kumo-payload/entrypoint.sh --config.cmd install \
	--config.env PATH=/usr/bin --config.workingdir / \
	--author kumo --config.label org.opencontainers.image.title=kumo-deploy \
	--config.label org.opencontainers.image.version="$tag"
umoci gc --layout "$work/oci"

rm -rf "$out/oci" "$out/kumo-deploy.tar"
mv "$work/oci" "$out/oci"
skopeo copy -q "oci:$out/oci:$tag" "docker-archive:$out/kumo-deploy.tar:localhost/kumo/kumo-deploy:$tag"
echo "build.sh: $out/oci ($tag), $out/kumo-deploy.tar (localhost/kumo/kumo-deploy:$tag)," \
	"$(du -sh "$out/kumo-deploy.tar" | cut -f1)"

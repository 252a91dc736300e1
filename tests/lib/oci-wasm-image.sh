# tests/lib/oci-wasm-image.sh - (sourced) oci_wasm_image: an OCI image layout holding a
# Wasm app and files next to it (what `kumo push` does not make: it pushes the module
# alone), for skopeo to push. Used by make demo and tests/e2e/cri-net.sh.

# oci_wasm_image SRC_DIR ENTRYPOINT WORKDIR LAYOUT: LAYOUT gets one manifest tagged
# "latest" with platform wasi/wasm, one tar+gzip layer of SRC_DIR's files (relative
# names, root-owned, mtime 0) and a config naming ENTRYPOINT and WORKDIR.
oci_wasm_image() {
	local src=$1 entry=$2 wd=$3 out=$4 blobs diff ldig lsize cdig csize mdig msize
	blobs=$out/blobs/sha256
	mkdir -p "$blobs" || return 1
	printf '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$src" -cf - . |
		gzip -n >"$out/layer.tgz" || return 1
	diff=$(gzip -dc "$out/layer.tgz" | sha256sum | cut -d' ' -f1)
	ldig=$(sha256sum "$out/layer.tgz" | cut -d' ' -f1)
	lsize=$(stat -c %s "$out/layer.tgz")
	mv "$out/layer.tgz" "$blobs/$ldig"
	printf '{"architecture":"wasm","os":"wasi","config":{"Entrypoint":["%s"],"WorkingDir":"%s"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$entry" "$wd" "$diff" >"$out/config.json"
	cdig=$(sha256sum "$out/config.json" | cut -d' ' -f1)
	csize=$(stat -c %s "$out/config.json")
	mv "$out/config.json" "$blobs/$cdig"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
		"$cdig" "$csize" "$ldig" "$lsize" >"$out/manifest.json"
	mdig=$(sha256sum "$out/manifest.json" | cut -d' ' -f1)
	msize=$(stat -c %s "$out/manifest.json")
	mv "$out/manifest.json" "$blobs/$mdig"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"wasm","os":"wasi"},"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
		"$mdig" "$msize" >"$out/index.json"
}

# oci_wasm_push LAYOUT REF: pushes the layout's "latest" to REF over plain HTTP.
oci_wasm_push() {
	skopeo copy --quiet --dest-tls-verify=false "oci:$1:latest" "docker://$2"
}

#!/usr/bin/env bash
# tests/bench/bench-pull.sh - `make bench-pull`: pulls a 20 MiB and a 100 MiB Wasm image
# (wasi/wasm OCI image, one tar+gzip layer, pushed by `kumo push`) from a local
# docker-registry on 127.0.0.1, with `kumo pull` into an empty store and with
# `skopeo copy` into an empty local OCI layout, in the same run (hyperfine, median of
# RUNS). Ends with `pull-speedup R` = skopeo median / kumo median for the 100 MiB image.
# kumo's pull also verifies, unpacks the layer and hashes the module; skopeo only copies.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
KUMO=${KUMO:-$ROOT/build/bin/kumo}
RUNS=${RUNS:-5}
FORMAT=${FORMAT:-image} # image | artifact
. "$HERE/../lib/registry.sh"
W=$(mktemp -d /tmp/kumo-bench-pull.XXXXXX)
trap 'registry_stop; rm -rf "$W"' EXIT
registry_start open "$W/reg"
R=127.0.0.1:$REG_PORT
flag=; [ "$FORMAT" = artifact ] && flag=--artifact
echo "kumo pull vs skopeo copy, $FORMAT format, registry $R, $RUNS runs each"
ratio=
for mib in 20 100; do
	# A module: Wasm header, then a custom section of random bytes (incompressible, so gzip
	# stores it; real code compresses 3-4x and would favour neither side here).
	python3 - "$W/app$mib.wasm" "$mib" <<'PY'
import os, sys
n = int(sys.argv[2]) << 20
name = b"\x05bench"
payload = name + os.urandom(n - len(name) - 16)
def leb(v):
    out = bytearray()
    while True:
        b = v & 0x7f; v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v: return bytes(out)
with open(sys.argv[1], "wb") as f:
    f.write(b"\0asm\x01\0\0\0" + b"\x00" + leb(len(payload)) + payload)
PY
	"$KUMO" push $flag "$W/app$mib.wasm" "$R/bench/app:$mib" >/dev/null
	hyperfine -N --runs "$RUNS" --warmup 1 --style basic --export-json "$W/h$mib.json" \
		--prepare "rm -rf $W/store $W/oci" \
		-n "kumo pull ($mib MiB)" "$KUMO pull -q --root $W/store $R/bench/app:$mib" \
		-n "skopeo copy ($mib MiB)" "skopeo copy -q --src-tls-verify=false docker://$R/bench/app:$mib oci:$W/oci:$mib" \
		2>&1 | grep -vE '^ *$'
	r=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["results"]; print("%.2f" % (d[1]["median"]/d[0]["median"]))' "$W/h$mib.json")
	k=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["results"]; print("%.3f" % d[0]["median"])' "$W/h$mib.json")
	s=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["results"]; print("%.3f" % d[1]["median"])' "$W/h$mib.json")
	echo "$mib MiB: kumo pull ${k} s, skopeo copy ${s} s (median) -> skopeo/kumo $r"
	ratio=$r
done
echo "pull-speedup $ratio"

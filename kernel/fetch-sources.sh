#!/usr/bin/env bash
# kernel/fetch-sources.sh - unpacks Debian's source package NAME (cjson, lwip) into
# DIR/NAME with `apt-get source`, once; DIR/NAME/.done marks a complete unpack, so an
# interrupted fetch is redone rather than used half-made.
# usage: kernel/fetch-sources.sh NAME DIR
set -euo pipefail
name=$1; dir=$2
[ -f "$dir/$name/.done" ] && exit 0
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.$name.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && apt-get source -qq "$name" >/dev/null 2>&1 ) || {
	echo "fetch-sources: \`apt-get source $name\` failed (is there a deb-src entry? run deploy/install-deps.sh)" >&2
	exit 1
}
src=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -1)
[ -n "$src" ] || { echo "fetch-sources: no source tree for \`$name\`" >&2; exit 1; }
rm -rf "${dir:?}/$name"
mv "$src" "$dir/$name"
touch "$dir/$name/.done"

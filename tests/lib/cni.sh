# tests/lib/cni.sh - CNI plugins of the tests' own for the bad cases (sourced).
#   cni_fake_plugins DIR PIDFILE   writes into DIR: kumo-hang (ADD writes its pid to
#                                  PIDFILE and sleeps 120 s), kumo-fail (ADD fails with
#                                  CNI error 105 "kumo-fail refuses", details "as told"),
#                                  kumo-garbage (ADD prints something that is not a
#                                  result); every other command answers `{}`.
cni_fake_plugins() {
	local dir=$1 pidfile=$2
	mkdir -p "$dir"
	cat >"$dir/kumo-hang" <<EOF
#!/bin/sh
cat >/dev/null
[ "\$CNI_COMMAND" = ADD ] && { echo \$\$ >"$pidfile"; exec sleep 120; }
echo '{}'
EOF
	cat >"$dir/kumo-fail" <<'EOF'
#!/bin/sh
cat >/dev/null
[ "$CNI_COMMAND" = ADD ] || { echo '{}'; exit 0; }
echo '{"cniVersion":"1.0.0","code":105,"msg":"kumo-fail refuses","details":"as told"}'
exit 1
EOF
	cat >"$dir/kumo-garbage" <<'EOF'
#!/bin/sh
cat >/dev/null
[ "$CNI_COMMAND" = ADD ] && { echo 'this is not a result'; exit 0; }
echo '{}'
EOF
	chmod +x "$dir/"*
}

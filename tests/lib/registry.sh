#!/usr/bin/env bash
# tests/lib/registry.sh - starts and stops Debian's docker-registry on 127.0.0.1 for tests
# (sourced). Modes: open, htpasswd (Basic), token (bearer from tests/support/token-server.js).
#   registry_start MODE DIR   -> sets REG_PORT, REG_PID (and TOKEN_PORT, TOKEN_PID)
#   registry_stop
REG_BIN=${REG_BIN:-/usr/bin/docker-registry}
REG_USER=kumo
REG_PASS=s3cret-pass

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() { # port [tries]
	local i
	for ((i = 0; i < ${2:-100}; i++)); do
		(exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

registry_start() { # mode dir
	local mode=$1 dir=$2 here
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	mkdir -p "$dir/storage"
	REG_PORT=$(free_port)
	local auth=""
	case $mode in
	open) ;;
	htpasswd)
		python3 - "$REG_USER" "$REG_PASS" > "$dir/htpasswd" <<'PY'
import sys, warnings
warnings.filterwarnings("ignore")
import crypt
print("%s:%s" % (sys.argv[1], crypt.crypt(sys.argv[2], crypt.mksalt(crypt.METHOD_BLOWFISH))))
PY
		auth="auth:
  htpasswd:
    realm: kumo-test
    path: $dir/htpasswd"
		;;
	token)
		openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/token.key" -out "$dir/token.crt" \
			-days 2 -subj /CN=kumo-token >/dev/null 2>&1 || return 1
		TOKEN_PORT=$(free_port)
		node "$here/../support/token-server.js" "$TOKEN_PORT" "$dir/token.key" "$dir/token.crt" "$REG_USER" "$REG_PASS" \
			>"$dir/token.log" 2>&1 &
		TOKEN_PID=$!
		wait_port "$TOKEN_PORT" || { echo "token server did not start" >&2; cat "$dir/token.log" >&2; return 1; }
		auth="auth:
  token:
    realm: http://127.0.0.1:$TOKEN_PORT/token
    service: kumo-registry
    issuer: kumo-token
    rootcertbundle: $dir/token.crt"
		;;
	*) echo "unknown registry mode $mode" >&2; return 1 ;;
	esac
	cat > "$dir/config.yml" <<EOC
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REG_PORT
$auth
EOC
	"$REG_BIN" serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
	REG_PID=$!
	wait_port "$REG_PORT" || { echo "registry did not start" >&2; cat "$dir/registry.log" >&2; return 1; }
}

registry_stop() {
	if [ -n "${REG_PID:-}" ]; then kill "$REG_PID" 2>/dev/null; wait "$REG_PID" 2>/dev/null || true; fi
	if [ -n "${TOKEN_PID:-}" ]; then kill "$TOKEN_PID" 2>/dev/null; wait "$TOKEN_PID" 2>/dev/null || true; fi
	REG_PID=; TOKEN_PID=
	return 0
}

#!/usr/bin/env bash
# tests/guest/run-wasi-testsuite.sh - runs the WebAssembly/wasi-testsuite preview1 tests
# (fetched separately, never committed) against one runner; not part of `make test`.
# usage: run-wasi-testsuite.sh [-s SUITE_DIR] [-v] RUNNER [FILTER]
#   SUITE_DIR  a checkout of wasi-testsuite's `prod/testsuite-base` branch
#              (default /work/fetched/wasi-testsuite); tests are its
#              tests/*/testsuite/wasm32-wasip1/*.wasm with their .json specs
#   RUNNER     node | kumo-host | kumo-vm | "any command", called as
#              RUNNER [--dir HOST::/] [--env K=V]... app.wasm -- ARGS...
#   -v         show output of failing tests
# Follows the suite's doc/specification.md (legacy spec: args, env, root, exit_code,
# stdout, stderr; stdout/stderr compared as the suite's runner does, by prefix), with
# our own runner because the suite's wants Python >= 3.12. stdin is an empty pipe (as the
# suite's runner gives). Each test gets a fresh copy
# of its `root` directory. Prints one line per test and closes with
# `wasi-testsuite: N passed, N failed`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
suite=/work/fetched/wasi-testsuite
verbose=0
while [ $# -gt 0 ]; do
	case $1 in
	-s) suite=$2; shift 2 ;;
	-v) verbose=1; shift ;;
	*) break ;;
	esac
done
if [ $# -lt 1 ]; then
	sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
build=${BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
case $1 in
node) runner="node --no-warnings $here/../apps/node-wasi.mjs" ;;
kumo-host) runner="$build/bin/kumo run --host" ;;
kumo-vm) runner="$build/bin/kumo run" ;;
*) runner=$1 ;;
esac
filter=${2:-}
if ! ls "$suite"/tests/*/testsuite/wasm32-wasip1/*.wasm >/dev/null 2>&1; then
	echo "no wasi-testsuite at $suite (fetch WebAssembly/wasi-testsuite, branch prod/testsuite-base)"
	echo "wasi-testsuite: 0 passed, 0 failed"
	exit 1
fi

exec python3 - "$suite" "$runner" "$filter" "$verbose" <<'PYEOF'
import glob, json, os, shlex, shutil, subprocess, sys, tempfile

suite, runner, filt, verbose = sys.argv[1], shlex.split(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
LEGACY = {"args", "root", "env", "exit_code", "stderr", "stdout"}
passed = failed = 0
failures = []

def spec_of(wasm):
    path = wasm[:-5] + ".json"
    spec = {}
    if os.path.exists(path):
        with open(path) as f:
            spec = json.load(f)
    if "operations" in spec:
        # operation-based spec: keep run/read/wait (the preview1 set uses no others)
        flat = {}
        for op in spec["operations"]:
            t = op.get("type")
            if t == "run":
                for k in ("args", "env", "root"):
                    if k in op:
                        flat[k] = op[k]
            elif t == "wait":
                flat["exit_code"] = op.get("exit_code", 0)
            elif t == "read":
                flat[op.get("id", "stdout")] = op.get("payload", "")
            else:
                flat.setdefault("unsupported", []).append(t)
        spec = flat
    return spec

tests = sorted(glob.glob(os.path.join(suite, "tests", "*", "testsuite", "wasm32-wasip1", "*.wasm")))
for wasm in tests:
    name = os.path.relpath(wasm, os.path.join(suite, "tests")).replace("/testsuite/wasm32-wasip1/", "/")[:-5]
    if filt and filt not in name:
        continue
    spec = spec_of(wasm)
    unknown = set(spec) - LEGACY
    why = None
    out = err = b""
    code = None
    with tempfile.TemporaryDirectory(prefix="wasi-ts-") as tmp:
        argv = list(runner)
        for k, v in spec.get("env", {}).items():
            argv += ["--env", f"{k}={v}"]
        if spec.get("root"):
            src = os.path.join(os.path.dirname(wasm), spec["root"])
            dst = os.path.join(tmp, "root")
            shutil.copytree(src, dst, symlinks=True)
            for c in glob.glob(os.path.join(dst, "**", "*.cleanup"), recursive=True):
                if os.path.isdir(c) and not os.path.islink(c):
                    shutil.rmtree(c)
                else:
                    os.unlink(c)
            argv += ["--dir", f"{dst}::/"]
        argv += [wasm, "--"] + [str(a) for a in spec.get("args", [])]
        if unknown:
            why = f"unsupported spec keys {sorted(unknown)}"
        else:
            try:
                p = subprocess.run(argv, input=b"", stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=60, cwd=tmp)
                out, err, code = p.stdout, p.stderr, p.returncode
            except subprocess.TimeoutExpired as e:
                out, err = e.stdout or b"", e.stderr or b""
                why = "timeout after 60s"
            except OSError as e:
                why = f"cannot start runner: {e}"
    if why is None:
        want_code = spec.get("exit_code", 0)
        if code != want_code:
            why = f"exit {code}, expected {want_code}"
        for stream, got in (("stdout", out), ("stderr", err)):
            if why is None and spec.get(stream) is not None:
                want = spec[stream].encode()
                if got[:len(want)] != want:
                    why = f"{stream} {got[:len(want)]!r}, expected {want!r}"
    if why is None:
        passed += 1
        print(f"PASS {name}")
    else:
        failed += 1
        failures.append(name)
        print(f"FAIL {name}: {why}")
        if verbose:
            for label, data in (("stdout", out), ("stderr", err)):
                for line in data.decode(errors="replace").splitlines()[:15]:
                    print(f"    {label}: {line}")
    sys.stdout.flush()

print(f"runner: {' '.join(runner)}")
print(f"wasi-testsuite: {passed} passed, {failed} failed")
sys.exit(0 if failed == 0 else 1)
PYEOF

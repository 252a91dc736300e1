#!/usr/bin/env python3
# tests/support/wasi_testsuite.py - runs the WebAssembly/wasi-testsuite preview1 tests
# (branch prod/testsuite-base: prebuilt tests/*/testsuite/wasm32-wasip1/*.wasm with
# optional .json: args, env, root, exit_code, stdout) against `kumo run --host`, the
# way the suite's own runner drives wasmtime (--env K=V, --dir ROOT::/).
#
# usage: wasi_testsuite.py KUMO SUITE_DIR [-v] [-k FILTER]
# Prints one line per test and closes with `wasi-testsuite: N passed, N failed`.
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    verbose = "-v" in sys.argv
    filt = None
    if "-k" in sys.argv:
        filt = sys.argv[sys.argv.index("-k") + 1]
        args.remove(filt)
    if len(args) != 2:
        print(__doc__ or "usage: wasi_testsuite.py KUMO SUITE_DIR [-v] [-k FILTER]",
              file=sys.stderr)
        return 2
    kumo, suite = Path(args[0]).resolve(), Path(args[1]).resolve()
    passed = failed = 0
    failures = []
    with tempfile.TemporaryDirectory(prefix="kumo-wasi-testsuite-") as tmp:
        # Work on a copy: tests create and delete files under their root.
        work = Path(tmp) / "tests"
        shutil.copytree(suite / "tests", work, symlinks=True)
        for wasm in sorted(work.glob("*/testsuite/wasm32-wasip1/*.wasm")):
            name = f"{wasm.parent.parent.parent.name}/{wasm.stem}"
            if filt and filt not in name:
                continue
            cfg_path = wasm.with_suffix(".json")
            cfg = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
            argv = [str(kumo), "run", "--host"]
            for k, v in cfg.get("env", {}).items():
                argv += ["--env", f"{k}={v}"]
            if cfg.get("root"):
                argv += ["--dir", f"{wasm.parent / cfg['root']}::/"]
            argv += [str(wasm), "--"] + cfg.get("args", [])
            try:
                r = subprocess.run(argv, cwd=wasm.parent, capture_output=True, timeout=120)
                code, out, err = r.returncode, r.stdout.decode(errors="replace"), \
                    r.stderr.decode(errors="replace")
            except subprocess.TimeoutExpired:
                code, out, err = -1, "", "timeout"
            want = cfg.get("exit_code", 0)
            ok = code == want
            why = f"exit {code}, want {want}"
            if ok and "stdout" in cfg and out != cfg["stdout"]:
                ok, why = False, f"stdout {out!r}, want {cfg['stdout']!r}"
            if cfg.get("root"):
                for f in (wasm.parent / cfg["root"]).glob("**/*.cleanup"):
                    if f.is_dir() and not f.is_symlink():
                        shutil.rmtree(f, ignore_errors=True)
                    else:
                        f.unlink(missing_ok=True)
            if ok:
                passed += 1
                print(f"PASS {name}")
            else:
                failed += 1
                failures.append(name)
                print(f"FAIL {name}: {why}")
                if verbose:
                    print("  stderr: " + err.strip().replace("\n", "\n          ")[:2000])
    print(f"wasi-testsuite: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""tests/bench/run-bench-compute.py - runs the compute benchmarks under every runner present and prints them side by side.

usage: run-bench-compute.py BENCH_DIR NAME...   (what `make bench-compute` calls)
  BENCH_DIR/native/NAME      gcc -O2 build (the reference)
  BENCH_DIR/clang/NAME       clang-19 -O2 native build (a peer: kumo's compiler family)
  BENCH_DIR/wasm/NAME.wasm   clang-19 -O2 wasm32-wasi build, run by:
    kumo-host   build/bin/kumo run --host   (when `kumo run --help` mentions --host)
    kumo-vm     build/bin/kumo run          (only with BENCH_VM=1, unless kumo says the unikernel is not built yet)
    node        node --no-liftoff (TurboFan only) through tests/apps/node-wasi.mjs
  BENCH_DIR/w2c/NAME         wasm2c (Debian's wabt) + gcc -O2
env: BENCH_SCALE (work in percent of full size, default 100), BENCH_RUNS (default 3),
     BENCH_GEOMEAN (name of the closing figure, default compute-geomean; `make bench-simd`
     runs this script on tests/bench/simd/ with simd-geomean and a clang-19 -msse4.2
     native reference),
     BENCH_CLOCK (cpu: user+sys CPU seconds of the run, the default, because wall time on
     a shared, overloaded machine measures the neighbours; wall: elapsed time),
     KUMO (default build/bin/kumo).
Each program gets argv[1] = BENCH_SCALE; runs are interleaved across runners; a cell is
the median time (BENCH_CLOCK). Every runner's stdout must equal the native one (else an `error:`
line and exit status 1). Closes with `compute-geomean R`: kumo hosted time over native
time (geometric mean over programs), or `compute-geomean n/a` when kumo cannot run yet.
"""
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def sh(argv, **kw):
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30, **kw).stdout.decode(
            errors="replace")
    except (OSError, subprocess.TimeoutExpired):
        return ""


def kumo_run_supports(kumo, option):
    if not os.access(kumo, os.X_OK):
        return False
    cmds = sh([kumo, "help"])
    if not any(line.split()[:1] == ["run"] for line in cmds.splitlines()):
        return False
    return option in sh([kumo, "run", "--help"])


def kumo_vm_present(kumo, wasm):
    """`kumo run` without --host fails with 125 and says "not built yet" while the unikernel is missing."""
    if not kumo_run_supports(kumo, "usage"):
        return False
    try:
        p = subprocess.run([kumo, "run", wasm, "--", "1"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=300)
    except (OSError, subprocess.TimeoutExpired):
        return True
    return not (p.returncode == 125 and b"not built yet" in p.stderr)


def accelerator_line():
    """Which machine the figures come from: every runner here is a host process (a VM
    only with BENCH_VM=1), so the line names the CPU and its vector extensions."""
    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown CPU":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    vec = [x for x in ("sse4_1", "sse4_2", "avx", "avx2", "avx512f") if x in flags]
    kvm = "kvm" if os.access("/dev/kvm", os.R_OK | os.W_OK) else "tcg"
    vm = f", VM runner: {kvm}" if os.environ.get("BENCH_VM") == "1" else ""
    return f"accelerator: none (host processes{vm}); cpu: {model}; vector: {' '.join(vec) or 'sse2'}"


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    bench_dir, names = sys.argv[1], sys.argv[2:]
    scale = os.environ.get("BENCH_SCALE", "100")
    runs = max(1, int(os.environ.get("BENCH_RUNS", "3")))
    clock = os.environ.get("BENCH_CLOCK", "cpu")
    if clock not in ("cpu", "wall"):
        print(f"BENCH_CLOCK must be cpu or wall, not `{clock}`")
        return 2

    def children_cpu():
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime
    kumo = os.environ.get("KUMO", os.path.join(ROOT, "build", "bin", "kumo"))
    node_shim = os.path.join(ROOT, "tests", "apps", "node-wasi.mjs")
    errors = []

    # runner name -> function(program name) -> argv
    runners = {"native": lambda n: [os.path.join(bench_dir, "native", n), scale]}
    notes = []
    kumo_host = kumo_run_supports(kumo, "--host")
    if kumo_host:
        runners["kumo-host"] = lambda n: [kumo, "run", "--host", os.path.join(bench_dir, "wasm", n + ".wasm"), "--",
                                          scale]
    else:
        notes.append("kumo hosted runner not built yet: kumo column n/a")
    if os.environ.get("BENCH_VM") == "1":
        if kumo_vm_present(kumo, os.path.join(bench_dir, "wasm", names[0] + ".wasm")):
            runners["kumo-vm"] = lambda n: [kumo, "run", os.path.join(bench_dir, "wasm", n + ".wasm"), "--", scale]
        else:
            notes.append("kumo VM runner not built yet")
    if os.path.exists(os.path.join(bench_dir, "clang", names[0])):
        runners["clang"] = lambda n: [os.path.join(bench_dir, "clang", n), scale]
    w2c_missing = [n for n in names if not os.path.exists(os.path.join(bench_dir, "w2c", n))]
    if len(w2c_missing) < len(names):
        runners["wasm2c"] = lambda n: [os.path.join(bench_dir, "w2c", n), scale]
    for n in w2c_missing:
        why = ""
        try:
            with open(os.path.join(bench_dir, "w2c", n + ".err"), errors="replace") as f:
                why = ": " + f.read().strip().splitlines()[-1]
        except (OSError, IndexError):
            pass
        notes.append(f"no wasm2c build of {n}{why}")
    if shutil.which("node"):
        runners["node"] = lambda n: ["node", "--no-liftoff", "--no-warnings", node_shim,
                                     os.path.join(bench_dir, "wasm", n + ".wasm"), "--", scale]
    else:
        notes.append("node not found: node column skipped")

    # kumo compile time and object size per module (when `kumo compile` exists).
    compiled = {}
    if os.access(kumo, os.X_OK) and any(l.split()[:1] == ["compile"] for l in sh([kumo, "help"]).splitlines()):
        objdir = os.path.join(bench_dir, "kumo")
        os.makedirs(objdir, exist_ok=True)
        for n in names:
            obj = os.path.join(objdir, n + ".o")
            c0 = children_cpu()
            t0 = time.perf_counter()
            p = subprocess.run([kumo, "compile", os.path.join(bench_dir, "wasm", n + ".wasm"), "-o", obj],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            dt = time.perf_counter() - t0 if clock == "wall" else children_cpu() - c0
            if p.returncode == 0 and os.path.exists(obj):
                compiled[n] = (dt, os.path.getsize(obj))
            else:
                errors.append(f"error: kumo compile {n}.wasm failed (exit {p.returncode}): "
                              + p.stdout.decode(errors='replace').strip()[:200])
    else:
        notes.append("kumo compile not built yet: compile time and object size n/a")

    # kumo hosted runs the object from `kumo compile` when it accepts one (so run time
    # excludes compile time); else it is handed the .wasm. Decided once, on one program.
    if kumo_host and compiled:
        probe = next(iter(compiled))
        obj = os.path.join(bench_dir, "kumo", probe + ".o")
        want = sh([os.path.join(bench_dir, "native", probe), "1"])
        try:
            p = subprocess.run([kumo, "run", "--host", obj, "--", "1"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=120)
            accepts_objects = p.returncode == 0 and p.stdout.decode(errors="replace") == want
        except (OSError, subprocess.TimeoutExpired):
            accepts_objects = False
        # kumo-hostrun runs a shared object linked once from the object: the hosted
        # runtime without kumo's compiler (no libLLVM to load, no link per run).
        hostrun = os.path.join(os.path.dirname(kumo), "kumo-hostrun")
        linked = {}
        if accepts_objects and os.access(hostrun, os.X_OK):
            for n in compiled:
                so = os.path.join(bench_dir, "kumo", n + ".so")
                if subprocess.run(["ld", "-shared", "-o", so, os.path.join(bench_dir, "kumo", n + ".o")],
                                  stderr=subprocess.DEVNULL).returncode == 0:
                    linked[n] = so
        if accepts_objects and len(linked) == len(compiled):
            runners["kumo-host"] = lambda n: [hostrun, linked[n], "--", scale] if n in linked else \
                [kumo, "run", "--host", os.path.join(bench_dir, "wasm", n + ".wasm"), "--", scale]
            notes.append("kumo hosted runs kumo-hostrun on each object from kumo compile, linked once "
                         "(run time excludes compiling and linking)")
        elif accepts_objects:
            runners["kumo-host"] = lambda n: [kumo, "run", "--host",
                                              os.path.join(bench_dir, "kumo", n + ".o") if n in compiled
                                              else os.path.join(bench_dir, "wasm", n + ".wasm"), "--", scale]
            notes.append("kumo hosted runs the objects from kumo compile (run time excludes compiling)")
        else:
            notes.append("kumo hosted runs the .wasm (its time includes whatever compiling kumo run does)")

    print(accelerator_line())
    for note in notes:
        print(note)
    what = "user+sys CPU seconds" if clock == "cpu" else "wall seconds"
    print(f"scale {scale}%, median of {runs} run(s) in {what}, runners: {' '.join(runners)}")
    sys.stdout.flush()

    times = {n: {r: [] for r in runners} for n in names}
    reference = {}
    failed = {n: set() for n in names}
    for n in names:
        for _ in range(runs):
            for r, argv_of in runners.items():
                if r in failed[n] or (r == "wasm2c" and n in w2c_missing):
                    continue
                argv = argv_of(n)
                c0 = children_cpu()
                t0 = time.perf_counter()
                try:
                    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, timeout=600)
                except (OSError, subprocess.TimeoutExpired) as e:
                    errors.append(f"error: {n} under {r}: {e}")
                    failed[n].add(r)
                    continue
                dt = time.perf_counter() - t0
                if clock == "cpu":
                    dt = children_cpu() - c0
                if p.returncode != 0:
                    errors.append(f"error: {n} under {r}: exit {p.returncode}: "
                                  + p.stderr.decode(errors='replace').strip()[:200])
                    failed[n].add(r)
                    continue
                if r == "native":
                    reference.setdefault(n, p.stdout)
                if p.stdout != reference.get(n):
                    errors.append(f"error: {n} under {r}: output differs from native: "
                                  f"{p.stdout[:120]!r} vs {reference.get(n, b'')[:120]!r}")
                    failed[n].add(r)
                    continue
                times[n][r].append(dt)
        # one line of progress per program, so a long run shows life
        print(f"  ran {n}", file=sys.stderr)

    med = {n: {r: statistics.median(v) for r, v in times[n].items() if v and r not in failed[n]} for n in names}
    # kumo first; a kumo runner that cannot run yet still gets its column, as n/a
    cols = ["kumo-host"] + (["kumo-vm"] if os.environ.get("BENCH_VM") == "1" else []) + \
        [r for r in runners if r not in ("native", "kumo-host", "kumo-vm")]
    show = {"clang": "clang native", "kumo-host": "kumo hosted", "kumo-vm": "kumo VM", "wasm2c": "wasm2c+gcc", "node": "node"}
    hdr = f"{'program':<16}{'native':>9}" + "".join(f"{show.get(r, r):>20}" for r in cols)
    hdr += f"{'kumo compile':>14}{'object':>11}"
    print()
    print(hdr)
    ratios = {r: [] for r in cols}
    for n in names:
        nat = med[n].get("native")
        line = f"{n.replace('bench_', ''):<16}" + (f"{nat:>8.3f}s" if nat else f"{'ERR':>9}")
        for r in cols:
            t = med[n].get(r)
            if r not in runners or (r == "wasm2c" and n in w2c_missing):
                line += f"{'n/a':>20}"
            elif t is None:
                line += f"{'ERR':>20}"
            elif nat:
                ratios[r].append(t / nat)
                line += f"{t:>10.3f}s {t / nat:>6.2f}x "
            else:
                line += f"{t:>10.3f}s {'':>8}"
        if n in compiled:
            ct, size = compiled[n]
            line += f"{ct:>13.3f}s{size / 1024:>8.0f} KiB"
        else:
            line += f"{'n/a':>14}{'n/a':>11}"
        print(line)

    def geomean(v):
        return math.exp(sum(math.log(x) for x in v) / len(v)) if v else None

    line = f"{'geomean':<16}{'1.00x':>9}"
    for r in cols:
        g = geomean(ratios[r]) if len(ratios[r]) == len(names) else None
        line += f"{(f'{g:.2f}x' if g else 'n/a'):>20}"
    print(line)
    for e in errors:
        print(e)
    g = geomean(ratios.get("kumo-host", [])) if len(ratios.get("kumo-host", [])) == len(names) else None
    name = os.environ.get("BENCH_GEOMEAN", "compute-geomean")
    print(f"{name} {g:.3f}" if g else f"{name} n/a")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

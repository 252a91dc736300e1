#!/usr/bin/env python3
# tests/support/fake-qemu.py - a stand-in for qemu-system-x86_64 (put on PATH under that
# name) that speaks QMP on the fd kumo's QEMU backend hands it and acts out how a VM
# ends, so the accelerator probe and the "never hang" paths can be tested on any host.
#
# FAKE_QEMU_MODE (after the QMP `cont`):
#   internal-error  boot record on COM3, "KVM internal error. Suberror: 1" on stderr,
#                   a STOP event and run state `internal-error`; then wait to be killed
#                   (what QEMU does on a PVM host)
#   panic           boot record, GUEST_PANICKED + STOP, run state `guest-panicked`, all
#                   before the answer to `cont` (the order a guest that panics at once
#                   can produce); wait
#   silent          nothing at all; wait (a guest that shows no sign of life)
#   probe-ok        boot record and the probe record on COM3, SHUTDOWN, exit 0
#   exit            boot record, an exit record with status FAKE_QEMU_STATUS (0), exit 0
# FAKE_QEMU_STAMP: a file that gets the wall-clock time (seconds, float) of the stop
# (STOP event sent) or of the exit, for tests that time kumo's reaction.
# `--version` prints a QEMU-like version line.
import json
import os
import socket
import sys
import time

BOOT = "KUMO-BOOT v=1\n"


def com3_path(argv):
    # -chardev file,id=com2,path=<run_dir>/exit.raw,append=on (kernel/boot_abi.h COM3)
    for i, a in enumerate(argv):
        if a == "-chardev" and i + 1 < len(argv) and argv[i + 1].startswith("file,id=com2,"):
            for part in argv[i + 1].split(","):
                if part.startswith("path="):
                    return part[5:]
    return None


def stamp():
    path = os.environ.get("FAKE_QEMU_STAMP")
    if path:
        with open(path, "w") as f:
            f.write("%.6f\n" % time.time())


def main():
    argv = sys.argv[1:]
    if "--version" in argv:
        print("QEMU emulator version 7.2.99 (kumo fake-qemu)")
        return 0
    mode = os.environ.get("FAKE_QEMU_MODE", "internal-error")
    com3 = com3_path(argv)
    qmp = socket.socket(fileno=3)
    # Apart: a text file that both reads and writes drops what it read ahead (kumo may
    # send two commands in one write) when it writes.
    f = qmp.makefile("r")
    out = qmp.makefile("w")

    def send(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    def event(name, data=None):
        ev = {"timestamp": {"seconds": int(time.time()), "microseconds": 0}, "event": name}
        if data is not None:
            ev["data"] = data
        send(ev)

    def com3_write(text):
        if com3:
            with open(com3, "a") as c:
                c.write(text)

    state = "prelaunch"
    send({"QMP": {"version": {"qemu": {"micro": 99, "minor": 2, "major": 7}}, "capabilities": []}})
    for line in f:
        try:
            cmd = json.loads(line)
        except ValueError:
            continue
        ex = cmd.get("execute")
        reply = {"return": {}}
        if "id" in cmd:
            reply["id"] = cmd["id"]
        if ex == "query-status":
            reply["return"] = {"status": state, "running": state == "running", "singlestep": False}
            send(reply)
            continue
        if not (ex == "cont" and mode == "panic"):
            send(reply)
        if ex == "system_powerdown":
            com3_write("KUMO-EXIT v=1 status=143 kind=exit msg=stopped by the host\n")
            event("SHUTDOWN", {"guest": True, "reason": "guest-shutdown"})
            return 0
        if ex != "cont":
            continue
        state = "running"
        event("RESUME")
        if mode == "internal-error":
            com3_write(BOOT)
            sys.stderr.write("KVM internal error. Suberror: 1\nemulation failure\n")
            sys.stderr.flush()
            state = "internal-error"
            stamp()
            event("STOP")
        elif mode == "panic":
            com3_write(BOOT)
            state = "guest-panicked"
            stamp()
            event("GUEST_PANICKED", {"action": "pause"})
            event("STOP")
            time.sleep(0.3)  # kumo ends the VM before this answer comes, if ever
            send(reply)
        elif mode == "probe-ok":
            com3_write(BOOT + "KUMO-PROBE v=1 ok accel=kvm\n")
            event("SHUTDOWN", {"guest": True, "reason": "guest-shutdown"})
            stamp()
            return 0
        elif mode == "exit":
            status = int(os.environ.get("FAKE_QEMU_STATUS", "0"))
            com3_write(BOOT + "KUMO-EXIT v=1 status=%d kind=exit msg=exited\n" % status)
            event("SHUTDOWN", {"guest": True, "reason": "guest-shutdown"})
            stamp()
            return 0
        # silent: nothing
    return 0


if __name__ == "__main__":
    sys.exit(main())

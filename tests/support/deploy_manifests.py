#!/usr/bin/env python3
"""tests/support/deploy_manifests.py - checks deploy/k8s/*.yaml: every document parses,
has its kind's required fields, refers only to objects defined alongside it, and every
path it names exists in the repository, in the installer image, or on a node after
deploy/install.sh (the install record given on the command line) or kubelet.

usage: deploy_manifests.py TOP INSTALL_RECORD      prints `N passed, N failed`
"""
import glob
import json
import os
import re
import sys

import yaml

TOP, RECORD = sys.argv[1], sys.argv[2]
passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   " + name)
    else:
        failed += 1
        print("FAIL " + name + (": " + detail if detail else ""))


def dig(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


# Host paths a node has once deploy/install.sh ran (from its record), plus their parents.
installed = set()
with open(RECORD) as f:
    for line in f:
        p = line.split()[1]
        while p not in ("", "/"):
            installed.add(p)
            p = os.path.dirname(p)
with open(os.path.join(TOP, "deploy/kumo.json")) as f:
    kumo_json = json.load(f)
# Paths kubelet itself creates or owns (not ours to create).
KUBELET_PATHS = {"/etc/kubernetes/manifests", "/var/log/pods", "/var/lib/kubelet",
                 "/var/run/secrets/kubernetes.io/serviceaccount"}
RUNTIME_PATHS = {kumo_json["socket"], os.path.dirname(kumo_json["socket"]), kumo_json["root"]}
# What deploy/image/build.sh puts in the installer image under /kumo-payload.
build_sh = open(os.path.join(TOP, "deploy/image/build.sh")).read()
IMAGE_PATHS = {"/kumo-payload/entrypoint.sh": "deploy/image/entrypoint.sh"}
# Where entrypoint.sh copies that payload on the host (inside the DaemonSet's hostPath).
entry_sh = open(os.path.join(TOP, "deploy/image/entrypoint.sh")).read()
HOST_PAYLOAD = re.search(r"^HOST_PAYLOAD=(\S+)", entry_sh, re.M).group(1)


def in_host_payload(p):
    if p == HOST_PAYLOAD:
        return True
    name = p[len(HOST_PAYLOAD) + 1:] if p.startswith(HOST_PAYLOAD + "/") else ""
    return bool(name) and "/" not in name and name in build_sh and os.path.exists(os.path.join(TOP, "deploy", name))

docs = {}  # file -> [documents]
files = sorted(glob.glob(os.path.join(TOP, "deploy/k8s/*.yaml")))
check("deploy/k8s has manifests", len(files) >= 5, str(files))
for path in files:
    rel = os.path.relpath(path, TOP)
    try:
        with open(path) as f:
            docs[rel] = [d for d in yaml.safe_load_all(f) if d is not None]
        check(rel + ": parses (yaml)", len(docs[rel]) > 0)
    except yaml.YAMLError as e:
        docs[rel] = []
        check(rel + ": parses (yaml)", False, str(e))
    for d in docs[rel]:
        what = "%s: %s/%s" % (rel, d.get("kind"), dig(d, "metadata", "name"))
        # Component configuration kinds (KubeletConfiguration) have no metadata.
        named = d.get("kind") == "KubeletConfiguration" or isinstance(dig(d, "metadata", "name"), str)
        check(what + " has apiVersion, kind" + ("" if d.get("kind") == "KubeletConfiguration" else ", metadata.name"),
              isinstance(d.get("apiVersion"), str) and isinstance(d.get("kind"), str) and named)

    # Every path the file names (also in comments) must exist somewhere it should.
    text = open(path).read()
    for m in sorted(set(re.findall(r"(?<![\w./:-])((?:deploy|tests|cri|build)/[\w./-]+\w)", text))):
        if m.startswith("build/"):
            ok = m.startswith("build/bin/") and os.path.basename(m) in ("kumo", "kumod", "kumo-crictl")
        else:
            ok = os.path.exists(os.path.join(TOP, m))
        check("%s: repository path `%s` exists" % (rel, m), ok)
    for m in sorted(set(re.findall(r"(?<![\w.:/-])(/(?:etc|usr|var|opt|run|kumo-payload)/[\w./-]*\w)", text))):
        ok = (m in installed or m in KUBELET_PATHS or m in RUNTIME_PATHS or in_host_payload(m)
              or any(m.startswith(k + "/") for k in KUBELET_PATHS)
              or (m in IMAGE_PATHS and os.path.exists(os.path.join(TOP, IMAGE_PATHS[m]))
                  and os.path.basename(IMAGE_PATHS[m]) in build_sh))
        hostpath_created = re.search(r"path: %s\n\s*type: DirectoryOrCreate" % re.escape(m), text)
        check("%s: host path `%s` is installed, kubelet's, kumod's, in the image or its copy on the host, or created by its hostPath"
              % (rel, m), ok or bool(hostpath_created))


def objects(kind):
    return [(f, d) for f, ds in docs.items() for d in ds if d.get("kind") == kind]


def pod_spec_checks(what, spec, same_file_docs, static=False):
    ctrs = spec.get("containers") or []
    check(what + ": has containers", len(ctrs) > 0)
    vols = {v["name"]: v for v in spec.get("volumes") or []}
    for c in ctrs:
        check(what + ": container has a name and an image", bool(c.get("name")) and bool(c.get("image")))
        for vm in c.get("volumeMounts") or []:
            check("%s: volumeMount `%s` names a volume of the pod" % (what, vm.get("name")), vm.get("name") in vols)
            check("%s: volumeMount `%s` has an absolute mountPath" % (what, vm.get("name")),
                  str(vm.get("mountPath", "")).startswith("/"))
    for v in vols.values():
        if "configMap" in v:
            cm = v["configMap"]["name"]
            check("%s: ConfigMap `%s` is defined alongside" % (what, cm),
                  not static and any(d.get("kind") == "ConfigMap" and dig(d, "metadata", "name") == cm
                                     for d in same_file_docs))
        if "hostPath" in v:
            check("%s: hostPath `%s` is absolute" % (what, v["hostPath"].get("path")),
                  str(v["hostPath"].get("path", "")).startswith("/"))
    return ctrs


# --- DaemonSet ------------------------------------------------------------------------
dss = objects("DaemonSet")
check("one DaemonSet", len(dss) == 1)
for f, ds in dss:
    what = "%s: DaemonSet %s" % (f, ds["metadata"]["name"])
    tmpl = dig(ds, "spec", "template") or {}
    spec = tmpl.get("spec") or {}
    sel = dig(ds, "spec", "selector", "matchLabels") or {}
    labels = dig(tmpl, "metadata", "labels") or {}
    check(what + ": selector matches the template's labels",
          bool(sel) and all(labels.get(k) == v for k, v in sel.items()))
    check(what + ": node selector kumo.io/enabled=true", dig(spec, "nodeSelector", "kumo.io/enabled") == "true")
    check(what + ": hostPID and hostNetwork", spec.get("hostPID") is True and spec.get("hostNetwork") is True)
    ctrs = pod_spec_checks(what, spec, docs[f])
    for c in ctrs:
        check(what + ": privileged", dig(c, "securityContext", "privileged") is True)
        cmd = (c.get("command") or []) + (c.get("args") or [])
        check(what + ": runs the image's entrypoint.sh install", cmd[:2] == ["/kumo-payload/entrypoint.sh", "install"])
        stop = dig(c, "lifecycle", "preStop", "exec", "command") or []
        check(what + ": preStop runs entrypoint.sh uninstall", stop == ["/kumo-payload/entrypoint.sh", "uninstall"])
        env = {e["name"]: e for e in c.get("env") or []}
        check(what + ": NODE_NAME from spec.nodeName",
              dig(env.get("NODE_NAME", {}), "valueFrom", "fieldRef", "fieldPath") == "spec.nodeName")
        args = (env.get("KUMO_INSTALL_ARGS") or {}).get("value", "").split()
        usage = open(os.path.join(TOP, "deploy/install.sh")).read()
        check(what + ": KUMO_INSTALL_ARGS are install.sh options (--kubelet among them)",
              "--kubelet" in args and all(re.search(r"^\t%s\)" % re.escape(a), usage, re.M) for a in args),
              str(args))
    vols = {v["name"]: v for v in spec.get("volumes") or []}
    entry = open(os.path.join(TOP, "deploy/image/entrypoint.sh")).read()
    for c in ctrs:
        for vm in c.get("volumeMounts") or []:
            hp = dig(vols.get(vm["name"], {}), "hostPath", "path")
            m = re.search(r'^HOST_DIR=(\S+)', entry, re.M)
            if hp == "/opt/kumo":
                check(what + ": /opt/kumo is mounted where entrypoint.sh copies the payload",
                      m is not None and m.group(1) == vm["mountPath"])
    sa = spec.get("serviceAccountName")
    check(what + ": its ServiceAccount is defined alongside",
          any(d.get("kind") == "ServiceAccount" and dig(d, "metadata", "name") == sa
              and dig(d, "metadata", "namespace") == dig(ds, "metadata", "namespace") for d in docs[f]))
    crbs = [d for d in docs[f] if d.get("kind") == "ClusterRoleBinding"]
    check(what + ": a ClusterRoleBinding gives its ServiceAccount a ClusterRole defined alongside",
          any(any(s.get("name") == sa for s in b.get("subjects") or [])
              and any(d.get("kind") == "ClusterRole" and dig(d, "metadata", "name") == dig(b, "roleRef", "name")
                      for d in docs[f]) for b in crbs))
    roles = [d for d in docs[f] if d.get("kind") == "ClusterRole"]
    check(what + ": the role may get nodes (for the label watch)",
          any("nodes" in r.get("resources", []) and "get" in r.get("verbs", [])
              for role in roles for r in role.get("rules") or []))
    check(what + ": its Namespace is defined alongside",
          any(d.get("kind") == "Namespace" and dig(d, "metadata", "name") == dig(ds, "metadata", "namespace")
              for d in docs[f]))

# --- RuntimeClass ---------------------------------------------------------------------------
rcs = objects("RuntimeClass")
check("one RuntimeClass named kumo with handler kumo",
      len(rcs) == 1 and rcs[0][1]["metadata"]["name"] == "kumo" and rcs[0][1].get("handler") == "kumo")
for f, rc in rcs:
    check(f + ": RuntimeClass schedules onto kumo nodes (kumo.io/enabled=true)",
          dig(rc, "scheduling", "nodeSelector", "kumo.io/enabled") == "true")

# --- Deployment + Service ---------------------------------------------------------------
deps = objects("Deployment")
check("an example Deployment", len(deps) >= 1)
for f, dp in deps:
    what = "%s: Deployment %s" % (f, dp["metadata"]["name"])
    tmpl = dig(dp, "spec", "template") or {}
    spec = tmpl.get("spec") or {}
    sel = dig(dp, "spec", "selector", "matchLabels") or {}
    labels = dig(tmpl, "metadata", "labels") or {}
    check(what + ": selector matches the template's labels",
          bool(sel) and all(labels.get(k) == v for k, v in sel.items()))
    check(what + ": runtimeClassName names a RuntimeClass defined in deploy/k8s",
          any(rc["metadata"]["name"] == spec.get("runtimeClassName") for _, rc in rcs))
    ctrs = pod_spec_checks(what, spec, docs[f])
    ports = {p.get("name"): p for c in ctrs for p in c.get("ports") or []}
    svcs = [d for d in docs[f] if d.get("kind") == "Service"]
    check(what + ": a Service alongside selects its pods",
          any(dig(s, "spec", "selector") and all(labels.get(k) == v for k, v in s["spec"]["selector"].items())
              for s in svcs))
    for s in svcs:
        for p in dig(s, "spec", "ports") or []:
            tp = p.get("targetPort")
            check("%s: Service %s port %s targets a container port" % (f, s["metadata"]["name"], p.get("port")),
                  (isinstance(tp, str) and tp in ports) or
                  (isinstance(tp, int) and any(q.get("containerPort") == tp for q in ports.values())))

# --- static pod + standalone kubelet ----------------------------------------------------------
pods = objects("Pod")
check("a static pod example", len(pods) >= 1)
for f, pod in pods:
    what = "%s: Pod %s" % (f, pod["metadata"]["name"])
    pod_spec_checks(what, pod.get("spec") or {}, docs[f], static=True)
    check(what + ": no runtimeClassName (a standalone kubelet has no API objects)",
          "runtimeClassName" not in (pod.get("spec") or {}))
kcs = objects("KubeletConfiguration")
check("a standalone KubeletConfiguration", len(kcs) == 1)
for f, kc in kcs:
    check(f + ": containerRuntimeEndpoint is kumod's socket (kumo.json)",
          kc.get("containerRuntimeEndpoint") == "unix://" + kumo_json["socket"])
    check(f + ": staticPodPath is set", str(kc.get("staticPodPath", "")).startswith("/"))

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)

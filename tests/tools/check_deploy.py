#!/usr/bin/env python3
"""Checks deploy/: the Kubernetes manifests, the systemd units and the
Dockerfiles, as a schema check would and beyond (names that must agree).

  check_deploy.py DEPLOY_DIR

Kubernetes (deploy/k8s/*.yaml): every document parses and has apiVersion,
kind and metadata.name (and namespace "cairn"); workloads' selectors match
their pod labels; every container has a name and an image that one of
deploy/docker/Dockerfile.* builds (the -t name in its header), and only
volumeMounts whose volume (or volume claim template) is declared; ConfigMaps
and Secrets named by volumes and env are made in deploy/k8s or named in its
instructions; Services select a workload and target a named container port;
the agent DaemonSet takes its name from the node and its token from a Secret,
and mounts its roots from the host.
systemd (deploy/systemd/*.service): the sections and keys systemd needs,
ExecStart an absolute path to a cairn binary, and the hardening this
project promises (NoNewPrivileges, ProtectSystem, the agent's one capability).
Exit 1 with every problem listed, 0 when there is none."""
import glob
import os
import re
import sys

import yaml

problems = []


def problem(where, text):
    problems.append(f"{where}: {text}")


def dockerfile_images(deploy):
    images = {}
    for path in glob.glob(os.path.join(deploy, "docker", "Dockerfile.*")):
        text = open(path).read()
        m = re.search(r"docker build -f \S+ -t (\S+?)(?::\S+)? ", text)
        if not m:
            problem(path, "no `docker build -f ... -t IMAGE:TAG` line in its header")
            continue
        images[m.group(1)] = path
        if not re.search(r"^FROM debian:12", text, re.M):
            problem(path, "not built FROM debian:12")
        for binary in re.findall(r"/build/\w+/(cairn[\w-]*)", text):
            if binary not in ("cairn-server", "cairn-agent", "cairnctl"):
                problem(path, f"copies unknown binary {binary}")
    return images


def pod_spec(doc):
    spec = doc.get("spec", {})
    return spec.get("template", {}).get("spec", {}), spec


def check_k8s(deploy, images):
    docs = []
    for path in sorted(glob.glob(os.path.join(deploy, "k8s", "*.yaml"))):
        try:
            loaded = [d for d in yaml.safe_load_all(open(path)) if d is not None]
        except yaml.YAMLError as e:
            problem(path, f"does not parse: {e}")
            continue
        text = open(path).read()
        for d in loaded:
            docs.append((path, d, text))
    if not docs:
        problem(deploy, "no Kubernetes manifests in k8s/")
    made = {(d.get("kind"), d.get("metadata", {}).get("name")) for _, d, _ in docs}
    workloads = []
    for path, d, text in docs:
        where = f"{os.path.basename(path)} {d.get('kind')}/{d.get('metadata', {}).get('name')}"
        for key in ("apiVersion", "kind", "metadata"):
            if key not in d:
                problem(where, f"missing {key}")
        if not d.get("metadata", {}).get("name"):
            problem(where, "missing metadata.name")
        if d.get("metadata", {}).get("namespace") != "cairn":
            problem(where, "not in namespace cairn")
        if d.get("kind") not in ("DaemonSet", "StatefulSet", "Deployment"):
            continue
        pod, spec = pod_spec(d)
        labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
        selector = spec.get("selector", {}).get("matchLabels", {})
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            problem(where, f"selector {selector} does not match the pod labels {labels}")
        workloads.append((where, d, labels, pod))
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        claims = {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
        for v in volumes.values():
            if "configMap" in v and ("ConfigMap", v["configMap"]["name"]) not in made:
                problem(where, f"volume {v['name']}: no ConfigMap {v['configMap']['name']}")
            if "secret" in v:
                name = v["secret"]["secretName"]
                if ("Secret", name) not in made and f"secret generic {name}" not in text:
                    problem(where, f"volume {v['name']}: Secret {name} is neither made nor explained")
        containers = pod.get("containers", [])
        if not containers:
            problem(where, "no containers")
        for c in containers:
            if not c.get("name") or not c.get("image"):
                problem(where, "a container without a name or an image")
                continue
            image = c["image"].split(":")[0]
            if image not in images:
                problem(where, f"image {c['image']} is built by no deploy/docker/Dockerfile.*")
            for m in c.get("volumeMounts", []):
                if m["name"] not in volumes and m["name"] not in claims:
                    problem(where, f"container {c['name']} mounts undeclared volume {m['name']}")
                if not m.get("mountPath", "").startswith("/"):
                    problem(where, f"mount {m['name']} has no absolute mountPath")
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and ("Secret", ref["name"]) not in made and \
                        f"secret generic {ref['name']}" not in text:
                    problem(where, f"env {e['name']}: Secret {ref['name']} is neither made nor explained")
            sc = c.get("securityContext", {})
            if sc.get("allowPrivilegeEscalation") is not False:
                problem(where, f"container {c['name']} may escalate privileges")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                problem(where, f"container {c['name']} does not drop all capabilities")
        if d["kind"] == "DaemonSet":
            env = {e["name"]: e for c in containers for e in c.get("env", [])}
            node = env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {})
            if node.get("fieldPath") != "spec.nodeName":
                problem(where, "the agent's name does not come from spec.nodeName")
            if "secretKeyRef" not in env.get("JOIN_TOKEN", {}).get("valueFrom", {}):
                problem(where, "the join token does not come from a Secret")
            if not any("hostPath" in v for v in volumes.values()):
                problem(where, "no hostPath volume for the node's data")
        if d["kind"] == "StatefulSet" and not claims:
            problem(where, "a StatefulSet without a volume claim for its state")
    for path, d, _ in docs:
        if d.get("kind") != "Service":
            continue
        where = f"{os.path.basename(path)} Service/{d['metadata']['name']}"
        selector = d.get("spec", {}).get("selector", {})
        match = [w for w in workloads if all(w[2].get(k) == v for k, v in selector.items())]
        if not selector or not match:
            problem(where, f"selects no workload ({selector})")
            continue
        ports = {p.get("name") for c in match[0][3].get("containers", []) for p in c.get("ports", [])}
        for p in d["spec"].get("ports", []):
            if isinstance(p.get("targetPort"), str) and p["targetPort"] not in ports:
                problem(where, f"targetPort {p['targetPort']} is no container port of {match[0][0]}")


def parse_unit(path):
    sections, current = {}, None
    for n, line in enumerate(open(path), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        if current is None or "=" not in line:
            problem(path, f"line {n} is neither a section nor KEY=VALUE: {line}")
            continue
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def check_systemd(deploy):
    units = sorted(glob.glob(os.path.join(deploy, "systemd", "*.service")))
    if len(units) < 2:
        problem(deploy, "expected cairn-server.service and cairn-agent.service in systemd/")
    for path in units:
        u = parse_unit(path)
        name = os.path.basename(path)
        for section, key in (("Unit", "Description"), ("Service", "ExecStart"),
                             ("Install", "WantedBy")):
            if key not in u.get(section, {}):
                problem(name, f"[{section}] has no {key}")
        svc = u.get("Service", {})
        start = (svc.get("ExecStart") or [""])[0].split()
        if not start or not re.fullmatch(r"/usr/bin/cairn-(server|agent)", start[0]):
            problem(name, f"ExecStart is not /usr/bin/cairn-server or cairn-agent: {start}")
        for key, want in (("NoNewPrivileges", "yes"), ("PrivateTmp", "yes"),
                          ("ProtectKernelModules", "yes"), ("RestrictSUIDSGID", "yes")):
            if svc.get(key) != [want]:
                problem(name, f"{key} is not {want}")
        if not svc.get("ProtectSystem"):
            problem(name, "no ProtectSystem")
        if svc.get("User") == ["root"]:
            problem(name, "runs as root")
        caps = " ".join(svc.get("CapabilityBoundingSet", ["<unset>"]))
        if "agent" in name and caps != "CAP_DAC_READ_SEARCH":
            problem(name, f"the agent's capabilities are {caps}, not just CAP_DAC_READ_SEARCH")
        if "server" in name and caps != "":
            problem(name, f"the server keeps capabilities: {caps}")


def main():
    deploy = sys.argv[1]
    images = dockerfile_images(deploy)
    if set(images) != {"cairn/cairn-server", "cairn/cairn-agent"}:
        problem(deploy, f"Dockerfiles build {sorted(images)}, not cairn/cairn-server and cairn/cairn-agent")
    check_k8s(deploy, images)
    check_systemd(deploy)
    for p in problems:
        print(p)
    print(f"check_deploy: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

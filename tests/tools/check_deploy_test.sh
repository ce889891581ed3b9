#!/bin/sh
# check_deploy.py passes on deploy/ and fails, naming the fault, on copies of
# it with one fault each: an image no Dockerfile builds, a mount of an
# undeclared volume, an agent name not from the node, a unit left as root.
set -eu
deploy=$1
here=$(dirname "$0")
python3 "$here/check_deploy.py" "$deploy"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fault() {  # fault FILE SED-EXPRESSION EXPECTED-TEXT
  rm -rf "$work/d" && cp -r "$deploy" "$work/d"
  sed -i "$2" "$work/d/$1"
  if out=$(python3 "$here/check_deploy.py" "$work/d"); then
    echo "not caught: $1 $2"; exit 1
  fi
  echo "$out" | grep -q "$3" || { echo "$out"; echo "wrong message for: $1 $2"; exit 1; }
}
fault k8s/cairn-agent.yaml 's|image: cairn/cairn-agent|image: cairn/cairn-agnet|' "built by no"
fault k8s/cairn-agent.yaml '0,/- name: datasets$/s//- name: dataset/' "undeclared volume"
fault k8s/cairn-agent.yaml 's|fieldPath: spec.nodeName|fieldPath: metadata.name|' "spec.nodeName"
fault k8s/cairn-server.yaml 's|targetPort: web|targetPort: http|' "targetPort"
fault k8s/cairn-server.yaml 's|^  replicas: 1|  replicas: [|' "does not parse"
fault systemd/cairn-agent.service 's|^User=cairn|User=root|' "runs as root"
fault systemd/cairn-server.service 's|^NoNewPrivileges=yes|NoNewPrivileges=no|' "NoNewPrivileges"
echo "check_deploy catches each fault"

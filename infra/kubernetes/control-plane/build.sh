#!/usr/bin/env bash
# Builds the local control plane the cluster tests run against: etcd, kube-apiserver,
# kube-scheduler, kubectl and KWOK, from the Go module proxy. None of them has a usable Debian
# package here (Debian's etcd 3.4 breaks kube-apiserver's watches), and `go install` of
# k8s.io/kubernetes fails on its replace directives, so each is built from a small wrapper
# module. Binaries land in a cache outside the clone (it survives CI's fresh clones); Go's own
# build cache turns a rebuild into a relink.
set -euo pipefail

K8S_VERSION="${SSIS_K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${SSIS_ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${SSIS_KWOK_VERSION:-v0.8.0}"
CACHE="${SSIS_CONTROL_PLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ssis/control-plane}"
BIN="$CACHE/bin"
WORK="$CACHE/src"
mkdir -p "$BIN" "$WORK"
export GOFLAGS=-mod=mod
export GOTOOLCHAIN=local

log() { echo "control-plane: $*" >&2; }

# One stamp per binary and version, so a version bump rebuilds and nothing else does.
fresh() { [[ -x "$BIN/$1" && -f "$BIN/.$1.version" && "$(cat "$BIN/.$1.version")" == "$2" ]]; }
stamp() { echo "$2" >"$BIN/.$1.version"; }

build_etcd() {
  fresh etcd "$ETCD_VERSION" && return 0
  log "building etcd $ETCD_VERSION"
  local dir="$WORK/etcd"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<MOD
module ssis.local/etcd

go 1.24

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
  printf 'package main\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$dir/tools.go"
  (cd "$dir" && go mod tidy >/dev/null 2>&1 || true
   cd "$dir" && go build -o "$BIN/etcd" go.etcd.io/etcd/server/v3)
  stamp etcd "$ETCD_VERSION"
}

# k8s.io/kubernetes points its staging modules at ./staging; a wrapper module replaces each of
# them with the published v0.x release of the same minor version.
kubernetes_module() {
  local dir="$WORK/kubernetes"
  local staging="v0.${K8S_VERSION#v1.}"
  mkdir -p "$dir"
  if [[ ! -f "$dir/go.mod" || "$(cat "$dir/.version" 2>/dev/null)" != "$K8S_VERSION" ]]; then
    local gomod
    gomod="$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
    {
      printf 'module ssis.local/kubernetes\n\ngo 1.25\n\nrequire k8s.io/kubernetes %s\n\n' "$K8S_VERSION"
      grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$gomod" | awk '{print $1}' | sort -u |
        while read -r m; do printf 'replace %s => %s %s\n' "$m" "$m" "$staging"; done
    } >"$dir/go.mod"
    printf 'package main\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' >"$dir/tools.go"
    echo "$K8S_VERSION" >"$dir/.version"
  fi
  echo "$dir"
}

build_kube() {
  local name="$1" pkg="$2"
  fresh "$name" "$K8S_VERSION" && return 0
  log "building $name $K8S_VERSION (about 11 min cold on 2 cores, seconds from Go's build cache)"
  local dir
  dir="$(kubernetes_module)"
  (cd "$dir" && go build -o "$BIN/$name" \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION" \
    "$pkg")
  stamp "$name" "$K8S_VERSION"
}

# The node and pod lifecycle KWOK plays: a node turns Ready and keeps its heartbeat; a pod gets an
# IP and Initialized (pod-create, without which pod-ready never matches), then Running, and goes
# away when deleted.
KWOK_STAGES="node/fast/node-initialize node/heartbeat/node-heartbeat pod/general/pod-create pod/general/pod-ready pod/general/pod-complete pod/general/pod-delete"

build_kwok() {
  if ! fresh kwok "$KWOK_VERSION"; then
    log "building kwok $KWOK_VERSION"
    GOBIN="$BIN" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
    stamp kwok "$KWOK_VERSION"
  fi
  kwok_stages
}

# The stage files ship in the module, not in the binary. Stamped apart from the binary, so a
# change of the stage list rewrites the file without rebuilding kwok.
kwok_stages() {
  local want="$KWOK_VERSION $KWOK_STAGES" out="$CACHE/kwok/stages.yaml" stampfile="$CACHE/kwok/.stages.version"
  [[ -f "$out" && "$(cat "$stampfile" 2>/dev/null)" == "$want" ]] && return 0
  local src
  src="$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/kustomize/stage"
  mkdir -p "$CACHE/kwok"
  : >"$out.tmp"
  for f in $KWOK_STAGES; do
    [[ -f "$src/$f.yaml" ]] || { log "kwok stage $f not found under $src"; exit 1; }
    { echo '---'; cat "$src/$f.yaml"; } >>"$out.tmp"
  done
  mv "$out.tmp" "$out"
  echo "$want" >"$stampfile"
}

what="${1:-all}"
case "$what" in
  etcd) build_etcd ;;
  kube-apiserver) build_kube kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver ;;
  kube-scheduler) build_kube kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler ;;
  kubectl) build_kube kubectl k8s.io/kubernetes/cmd/kubectl ;;
  kwok) build_kwok ;;
  all)
    build_etcd
    build_kube kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
    build_kube kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
    build_kube kubectl k8s.io/kubernetes/cmd/kubectl
    build_kwok
    ;;
  *) echo "usage: $0 [all|etcd|kube-apiserver|kube-scheduler|kubectl|kwok]" >&2; exit 2 ;;
esac
echo "$BIN"

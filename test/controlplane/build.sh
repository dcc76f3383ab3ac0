#!/usr/bin/env bash
# Builds etcd and the Kubernetes control plane (kube-apiserver, kube-scheduler,
# kube-controller-manager, kubectl) from the Go module proxy and caches the binaries by version
# outside the work tree. A second run with the same versions costs a few file checks.
#
# Prints the directory holding the binaries on its last line of stdout; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${ECI_VN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/eci-virtual-node}
bin_dir="$cache_root/controlplane-k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}/bin"
binaries=(etcd kube-apiserver kube-scheduler kube-controller-manager kubectl)

log() { printf '[controlplane] %s\n' "$*" >&2; }

complete() {
  for b in "${binaries[@]}"; do [ -x "$bin_dir/$b" ] || return 1; done
  [ -f "$bin_dir/.complete" ]
}

if complete; then
  log "cached: $bin_dir"
  echo "$bin_dir"
  exit 0
fi

command -v go >/dev/null || { log "error: Go is not installed (needed to build the control plane)"; exit 1; }
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}
mkdir -p "$bin_dir"

# One build at a time per cache (two test runs, or a test run and the sandbox, may start together):
# the second waits, then finds the binaries complete.
if command -v flock >/dev/null; then
  exec 9>"$cache_root/.build.lock"
  if ! flock -n 9; then
    log "another build of the control plane is running; waiting for it"
    flock 9
  fi
  if complete; then
    log "cached (built by the other run): $bin_dir"
    echo "$bin_dir"
    exit 0
  fi
fi

build_started=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/eci-vn-cpbuild.XXXXXX")
hb=
cleanup() {
  if [ -n "$hb" ]; then kill "$hb" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# A heartbeat so a multi-minute cold build never looks hung.
heartbeat() {
  local what=$1 start=$SECONDS
  while sleep 30; do log "  still building $what ($((SECONDS - start))s)"; done
}
# build <what> <dir> <output> <go build args...>: builds into the work dir, then moves the binary
# into place in one rename, so an interrupted build never leaves a truncated executable behind
# (which the per-binary skip below would otherwise take for a finished one).
build() {
  local what=$1 dir=$2 out=$3; shift 3
  log "building $what ..."
  heartbeat "$what" & hb=$!
  local start=$SECONDS
  local tmp_out
  tmp_out="$work/out/$(basename "$out")"
  mkdir -p "$work/out"
  if ! (cd "$dir" && go build -o "$tmp_out" "$@"); then log "error: building $what failed"; exit 1; fi
  kill "$hb" 2>/dev/null || true; wait "$hb" 2>/dev/null || true; hb=
  mv -f "$tmp_out" "$out"
  log "built $what in $((SECONDS - start))s"
}

# --- etcd -----------------------------------------------------------------------------------
if [ ! -x "$bin_dir/etcd" ]; then
  mkdir -p "$work/etcd"
  cat >"$work/etcd/go.mod" <<MOD
module eci-virtual-node/controlplane/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 ${ETCD_VERSION}
MOD
  log "resolving etcd ${ETCD_VERSION} modules"
  (cd "$work/etcd" && go mod download go.etcd.io/etcd/server/v3 && go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" >/dev/null 2>&1 || true)
  build "etcd ${ETCD_VERSION}" "$work/etcd" "$bin_dir/etcd" -trimpath go.etcd.io/etcd/server/v3
fi

# --- Kubernetes -----------------------------------------------------------------------------
# k8s.io/kubernetes replaces its staging modules with ./staging/src paths; a wrapper module
# replaces each with its published twin k8s.io/<name> v0.<minor>.<patch>.
staging_version="v0.${K8S_VERSION#v1.}"
mkdir -p "$work/k8s"
log "reading k8s.io/kubernetes ${K8S_VERSION} go.mod"
kk_mod=$(cd "$work/k8s" && GOFLAGS= go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
[ -f "$kk_mod" ] || { log "error: could not download k8s.io/kubernetes ${K8S_VERSION}"; exit 1; }
{
  printf 'module eci-virtual-node/controlplane/k8s\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes %s\n\n' "$K8S_VERSION"
  grep -E '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$kk_mod" | awk -v v="$staging_version" '{ printf "replace %s => %s %s\n", $1, $1, v }'
} >"$work/k8s/go.mod"
log "resolving Kubernetes ${K8S_VERSION} modules (staging twins at ${staging_version})"
(cd "$work/k8s" && printf 'package tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' >tools.go \
  && sed -i 's/^package tools/\/\/go:build tools\n\npackage tools/' tools.go && go mod tidy >&2)

minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
pkg=k8s.io/component-base/version
ldflags="-s -w -X ${pkg}.gitVersion=${K8S_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
ldflags+=" -X ${pkg}.gitCommit=module-${K8S_VERSION}"
for cmd in kube-apiserver kube-scheduler kube-controller-manager kubectl; do
  [ -x "$bin_dir/$cmd" ] && continue
  build "$cmd ${K8S_VERSION}" "$work/k8s" "$bin_dir/$cmd" -trimpath -ldflags "$ldflags" "k8s.io/kubernetes/cmd/$cmd"
done

touch "$bin_dir/.complete"
log "control plane ready in $bin_dir (built in $((SECONDS - build_started))s)"
echo "$bin_dir"

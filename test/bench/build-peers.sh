#!/usr/bin/env bash
# Builds the benchmark's peers from the Go module proxy and caches the binaries by version outside
# the work tree (like test/controlplane/build.sh):
#   kwok             sigs.k8s.io/kwok/cmd/kwok (the controller that fakes node and pod status)
#   virtual-kubelet  github.com/virtual-kubelet/virtual-kubelet/cmd/virtual-kubelet (mock provider)
# Both modules have no replace directives, so `go install pkg@version` builds each with its own
# go.mod and go.sum (the versions it was released and tested with).
#
# Usage: bash test/bench/build-peers.sh [kwok|virtual-kubelet ...]   (default: both)
# Prints "<name>=<path>" per binary on stdout (the last lines); progress goes to stderr. A peer that
# fails to build is reported as "<name>=" with the error on stderr, and the script exits 1 at the
# end, after trying the others.
set -euo pipefail

KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
VK_VERSION=${VK_VERSION:-v1.14.1}

cache_root=${ECI_VN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/eci-virtual-node}
log() { printf '[peers] %s\n' "$*" >&2; }

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(kwok virtual-kubelet)

command -v go >/dev/null || { log "error: Go is not installed (needed to build the peers)"; exit 1; }
export CGO_ENABLED=0 GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS=-trimpath
mkdir -p "$cache_root"

# One build at a time per cache; a second run waits, then finds the binaries in place.
if command -v flock >/dev/null; then
  exec 9>"$cache_root/.peers-build.lock"
  if ! flock -n 9; then
    log "another build of the peers is running; waiting for it"
    flock 9
  fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/eci-vn-peers.XXXXXX")
hb=
cleanup() {
  if [ -n "$hb" ]; then kill "$hb" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

heartbeat() {
  local what=$1 start=$SECONDS
  while sleep 30; do log "  still building $what ($((SECONDS - start))s)"; done
}

failed=0
results=()
# install <name> <package> <version> <ldflags>: go install into a scratch GOBIN, then one rename
# into the cache, so an interrupted build never leaves a truncated executable behind.
install() {
  local name=$1 pkg=$2 version=$3 ldflags=$4
  local dir="$cache_root/peers/$name-$version"
  local bin="$dir/$name"
  if [ -x "$bin" ]; then
    log "cached: $bin"
    results+=("$name=$bin")
    return 0
  fi
  log "building $name $version ($pkg@$version) ..."
  heartbeat "$name" & hb=$!
  local start=$SECONDS
  mkdir -p "$work/bin-$name" "$dir"
  if (cd "$work" && GOBIN="$work/bin-$name" go install -ldflags "$ldflags" "$pkg@$version" >&2); then
    kill "$hb" 2>/dev/null || true; wait "$hb" 2>/dev/null || true; hb=
    mv -f "$work/bin-$name/$(basename "$pkg")" "$bin"
    log "built $name in $((SECONDS - start))s: $bin"
    results+=("$name=$bin")
  else
    kill "$hb" 2>/dev/null || true; wait "$hb" 2>/dev/null || true; hb=
    log "error: building $name $version failed (output above)"
    results+=("$name=")
    failed=1
  fi
}

for w in "${want[@]}"; do
  case $w in
    kwok)
      install kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION" "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"
      # kwok fakes nothing without Stages: keep the module's own "fast" pod and node stages (and
      # the lease heartbeat) next to the binary; the benchmark passes them in kwok's --config.
      stages="$cache_root/peers/kwok-$KWOK_VERSION/stages"
      if [ -n "${results[-1]#kwok=}" ] && [ ! -f "$stages/.complete" ]; then
        mod_dir=$(cd "$work" && GOFLAGS= go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
        mkdir -p "$stages"
        cp "$mod_dir"/kustomize/stage/pod/fast/pod-*.yaml "$mod_dir"/kustomize/stage/node/fast/node-*.yaml \
          "$mod_dir"/kustomize/stage/node/heartbeat-with-lease/node-*.yaml "$stages/"
        chmod u+w "$stages"/*.yaml && touch "$stages/.complete"
        log "kwok stages: $(cd "$stages" && ls ./*.yaml | tr '\n' ' ')"
      fi
      ;;
    virtual-kubelet | vk-mock)
      install virtual-kubelet github.com/virtual-kubelet/virtual-kubelet/cmd/virtual-kubelet "$VK_VERSION" "-s -w -X main.buildVersion=${VK_VERSION}" ;;
    *) log "error: unknown peer '$w' (kwok, virtual-kubelet)"; exit 2 ;;
  esac
done

printf '%s\n' "${results[@]}"
exit $failed

#!/usr/bin/env bash
# Builds virtual-kubelet's importable e2e suite (github.com/virtual-kubelet/virtual-kubelet/test/e2e,
# pinned in go.mod) into one test binary, cached outside the work tree by a hash of go.mod, go.sum
# vk_test.go and this script (like test/controlplane/build.sh). A second run with the same inputs costs a hash.
#
# Prints the binary's path on its last line of stdout; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${ECI_VN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/eci-virtual-node}
key=$(cat "$here/go.mod" "$here/go.sum" "$here/vk_test.go" "$here/build.sh" | sha256sum | cut -c1-16)
vk_version=$(awk '$1 == "require" && $2 == "github.com/virtual-kubelet/virtual-kubelet" { print $3 }' "$here/go.mod")
dir="$cache_root/e2e-vk-${vk_version}-$key"
bin="$dir/vk-e2e.test"
log() { printf '[e2e-vk] %s\n' "$*" >&2; }

if [ -x "$bin" ]; then
  log "cached: $bin"
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { log "error: Go is not installed (needed to build virtual-kubelet's e2e suite)"; exit 1; }
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}
mkdir -p "$dir"
# One build at a time per cache; a second run waits, then finds the binary.
if command -v flock >/dev/null; then
  exec 9>"$cache_root/.e2e-vk-build.lock"
  flock 9
  if [ -x "$bin" ]; then
    log "cached (built by the other run): $bin"
    echo "$bin"
    exit 0
  fi
fi
log "building virtual-kubelet $vk_version's e2e suite (first run: a few minutes on 2 CPUs)"
started=$SECONDS
( while sleep 30; do log "  still building ($((SECONDS - started))s)"; done ) &
hb=$!
trap 'kill $hb 2>/dev/null || true' EXIT
# Into a scratch name, then one rename: an interrupted build never leaves a truncated binary.
# No -trimpath: gotest.tools reads the suite's source (in the module cache) to print a failed assertion.
(cd "$here" && go test -c -o "$bin.tmp" .)
mv "$bin.tmp" "$bin"
log "built in $((SECONDS - started))s: $bin"
echo "$bin"

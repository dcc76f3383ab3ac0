# Builds a Go program of the test suite once and caches the binary outside the work tree, keyed by
# a hash of its inputs; one build at a time per cache (flock), into a scratch name then one rename,
# so an interrupted build never leaves a truncated binary. Sourced by test/*/build.sh.
#
#   go_cached_build NAME LABEL SRC_DIR BIN_NAME INPUT_FILE... -- GO_SUBCOMMAND...
#
# runs `go GO_SUBCOMMAND... -o BIN .` in SRC_DIR (e.g. `test -c` or `build`), prints the binary's
# path on its last line of stdout; progress goes to stderr, prefixed with [NAME].
go_cached_build() {
  local name=$1 label=$2 src=$3 binname=$4
  shift 4
  local inputs=()
  while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do inputs+=("$1"); shift; done
  shift
  local cache_root=${ECI_VN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/eci-virtual-node}
  local key
  key=$(cat "${inputs[@]}" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
  local dir="$cache_root/$name-$label-$key"
  local bin="$dir/$binname"
  _gcb_log() { printf '[%s] %s\n' "$name" "$*" >&2; }

  if [ -x "$bin" ]; then
    _gcb_log "cached: $bin"
    echo "$bin"
    return 0
  fi
  command -v go >/dev/null || { _gcb_log "error: Go is not installed (needed to build $name)"; return 1; }
  export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}
  mkdir -p "$dir"
  # One build at a time per cache; a second run waits, then finds the binary.
  if command -v flock >/dev/null; then
    exec 9>"$cache_root/.$name-build.lock"
    flock 9
    if [ -x "$bin" ]; then
      _gcb_log "cached (built by the other run): $bin"
      echo "$bin"
      return 0
    fi
  fi
  _gcb_log "building $name $label (first run: a few minutes on 2 CPUs)"
  local started=$SECONDS
  ( while sleep 30; do _gcb_log "  still building ($((SECONDS - started))s)"; done ) &
  local hb=$!
  trap 'kill '"$hb"' 2>/dev/null || true' EXIT
  (cd "$src" && go "$@" -o "$bin.tmp" .)
  mv "$bin.tmp" "$bin"
  kill "$hb" 2>/dev/null || true
  _gcb_log "built in $((SECONDS - started))s: $bin"
  echo "$bin"
}

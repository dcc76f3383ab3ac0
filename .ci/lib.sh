# Shared by .ci/setup and .ci/run (sourced, not executed). Bash, with `set -euo pipefail` active.

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache_root=${ECI_VN_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:?HOME must be set}/.cache}/eci-virtual-node}
node24_prefix="$cache_root/node24"
node24_bin="$node24_prefix/node_modules/.bin"

say() { printf '\n=== %s\n' "$*" >&2; }
fail() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }

# --- phase timings: `phase <name> <command...>` runs the command and records how long it took ---
# The command runs with errexit in force (not under `||`), so a failure ends the script; the EXIT
# trap's print_timings then shows the phase that failed and how long it ran.
phase_names=()
phase_secs=()
current_phase=
current_start=0
phase() {
  local name=$1; shift
  say "$name"
  current_phase=$name
  current_start=$SECONDS
  "$@"
  phase_names+=("$name")
  phase_secs+=($((SECONDS - current_start)))
  printf '=== %s: done in %ss\n' "$name" "$((SECONDS - current_start))" >&2
  current_phase=
}
print_timings() {
  local i
  printf '\n=== timings\n' >&2
  for i in "${!phase_names[@]}"; do printf '  %-28s %5ss\n' "${phase_names[$i]}" "${phase_secs[$i]}" >&2; done
  if [ -n "$current_phase" ]; then printf '  %-28s %5ss  (FAILED)\n' "$current_phase" "$((SECONDS - current_start))" >&2; fi
  printf '  %-28s %5ss\n' total "$SECONDS" >&2
}

node_major() { # node_major <node binary>: its major version, or 0 when it does not run
  "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

# Makes `node` on PATH a Node >= 24: the machine's own if recent enough, else the npm package
# node@24 installed once into $node24_prefix (outside the work tree) and put first on PATH.
ensure_node24() {
  if command -v node >/dev/null && [ "$(node_major node)" -ge 24 ]; then
    echo "using the machine's Node $(node --version) ($(command -v node))" >&2
    return
  fi
  echo "machine's Node is $(command -v node >/dev/null && node --version || echo 'missing'): too old, Node 24 is needed" >&2
  if [ "$(node_major "$node24_bin/node")" -lt 24 ]; then
    command -v npm >/dev/null || fail "npm is needed to install Node 24 (npm install node@24), and it is not on PATH"
    echo "installing Node 24 from the npm package node@24 into $node24_prefix" >&2
    mkdir -p "$node24_prefix"
    npm install --prefix "$node24_prefix" --no-audit --no-fund node@24 </dev/null >&2 \
      || fail "npm install --prefix $node24_prefix node@24 failed"
    local major
    major=$(node_major "$node24_bin/node")
    [ "$major" -ge 24 ] || fail "node@24 was installed into $node24_prefix, but $node24_bin/node does not run as Node 24 (got: $("$node24_bin/node" --version 2>&1 || true)). Install Node 24 some other way and put it first on PATH."
  fi
  export PATH="$node24_bin:$PATH"
  echo "using Node $(node --version) from $node24_bin" >&2
}

# npm ci in this script's own checkout ($repo_root, never the caller's directory); records which
# package-lock.json it installed (deps_stamp) so .ci/node24 knows when node_modules is current.
npm_ci() {
  (cd "$repo_root" && npm ci --no-audit --no-fund </dev/null)
  lock_hash >"$repo_root/node_modules/$deps_stamp_name"
}

deps_stamp_name=.eci-virtual-node-lock.sha256
lock_hash() { # sha256 of $repo_root/package-lock.json (needs a node on PATH)
  node -e 'process.stdout.write(require("node:crypto").createHash("sha256").update(require("node:fs").readFileSync(process.argv[1])).digest("hex"))' "$repo_root/package-lock.json"
}

# Why $repo_root/node_modules needs `npm ci` (printed), or nothing when it is current. Current =
# the lock file's hash matches the one npm_ci recorded; without a record (installed otherwise),
# node_modules must be at least as new as package-lock.json.
deps_install_reason() {
  local modules="$repo_root/node_modules"
  if [ ! -f "$modules/.package-lock.json" ]; then echo "node_modules is missing or empty"; return; fi
  if [ -f "$modules/$deps_stamp_name" ]; then
    [ "$(cat "$modules/$deps_stamp_name")" = "$(lock_hash)" ] || echo "package-lock.json changed since the last npm ci"
    return
  fi
  if [ "$repo_root/package-lock.json" -nt "$modules/.package-lock.json" ]; then echo "package-lock.json is newer than node_modules"; fi
}

controlplane_binaries() {
  # Progress (a heartbeat every 30 s during the cold build) goes to stderr; the bin dir to stdout.
  local bin_dir
  bin_dir=$(bash "$repo_root/test/controlplane/build.sh" </dev/null)
  echo "control-plane binaries: $bin_dir" >&2
}

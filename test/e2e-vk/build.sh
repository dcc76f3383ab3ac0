#!/usr/bin/env bash
# Builds virtual-kubelet's importable e2e suite (github.com/virtual-kubelet/virtual-kubelet/test/e2e,
# pinned in go.mod) into one test binary, cached outside the work tree by a hash of go.mod, go.sum
# vk_test.go and this script (test/helpers/go-build.sh). A second run with the same inputs costs a hash.
# No -trimpath: gotest.tools reads the suite's source (in the module cache) to print a failed assertion.
#
# Prints the binary's path on its last line of stdout; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../helpers/go-build.sh
source "$here/../helpers/go-build.sh"
vk_version=$(awk '$1 == "require" && $2 == "github.com/virtual-kubelet/virtual-kubelet" { print $3 }' "$here/go.mod")
go_cached_build e2e-vk "$vk_version" "$here" vk-e2e.test "$here/go.mod" "$here/go.sum" "$here/vk_test.go" "$here/build.sh" -- test -c

#!/usr/bin/env bash
# Builds the Go SDK conformance program (main.go, github.com/aliyun/alibaba-cloud-sdk-go pinned in
# go.mod), cached outside the work tree by a hash of its inputs (test/helpers/go-build.sh).
# Prints the binary's path on its last line of stdout; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../helpers/go-build.sh
source "$here/../helpers/go-build.sh"
sdk_version=$(awk '$1 == "require" && $2 == "github.com/aliyun/alibaba-cloud-sdk-go" { print $3 }' "$here/go.mod")
go_cached_build conformance-go "$sdk_version" "$here" conformance-go "$here/go.mod" "$here/go.sum" "$here/main.go" "$here/build.sh" -- build

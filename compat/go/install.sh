#!/usr/bin/env bash
# Installs Go 1.19 and Debian bookworm's sarama and kafka-go source packages with apt, then
# builds the scenario binary bin/compat-go OFFLINE in GOPATH mode against the sources Debian
# puts under /usr/share/gocode (no module proxy, no network for the build). Idempotent.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"

# Pinned to the bookworm versions the suite was written against.
PACKAGES=(
  golang-go=2:1.19~1
  golang-github-shopify-sarama-dev=1.22.1-1
  golang-github-segmentio-kafka-go-dev=0.2.1-1.1
)

installed() { # pkg=version
  [ "$(dpkg-query -W -f='${Status} ${Version}' "${1%%=*}" 2>/dev/null)" = "install ok installed ${1#*=}" ]
}
missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null && SUDO=sudo; }
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 \
    || { $SUDO apt-get update -q >&2 && $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
fi

# GOPATH mode: imports resolve from /usr/share/gocode/src; the build cache stays in the suite.
export GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOFLAGS= GOCACHE="$HERE/build/gocache"
# DataDog/zstd (sarama's zstd, cgo) calls a function libzstd 1.5 marks deprecated.
export CGO_ENABLED=1 CGO_CFLAGS="-O2 -Wno-deprecated-declarations"
mkdir -p "$HERE/bin"
(cd "$HERE" && go build -p 2 -o bin/compat-go ./src)
echo "go: built $HERE/bin/compat-go ($(go version | awk '{print $3}'), sarama $(dpkg-query -W -f='${Version}' golang-github-shopify-sarama-dev), kafka-go $(dpkg-query -W -f='${Version}' golang-github-segmentio-kafka-go-dev))" >&2

#!/usr/bin/env bash
# Builds the static sluice binary (glibc, +crt-static) and the image
# FROM scratch, prints the image's size and fails if it is not under 20 MB.
# Usage: contrib/docker/build-image.sh [IMAGE]   (default sluice:latest)
# Needs a running Docker daemon (contrib/docker/ci.sh starts one).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
IMAGE="${1:-${SLUICE_IMAGE:-sluice:latest}}"
LIMIT=$((20 * 1000 * 1000))
TARGET=x86_64-unknown-linux-gnu
cd "$ROOT"

echo "build-image: static release binary"
RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --locked -q --target "$TARGET" --bin sluice
BIN="target/$TARGET/release/sluice"
if ! file "$BIN" | grep -q 'static'; then
  echo "build-image: $BIN is not statically linked: $(file "$BIN")" >&2
  exit 1
fi

STAGE="target/docker-image"
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp "$BIN" "$STAGE/sluice"
# The release profile keeps line tables (debug = 1) for backtraces; the
# image does without them.
strip "$STAGE/sluice"
cp contrib/docker/Dockerfile contrib/docker/sluice.toml "$STAGE/"

echo "build-image: docker build -t $IMAGE"
docker build -q -t "$IMAGE" "$STAGE" >/dev/null
SIZE="$(docker image inspect --format '{{.Size}}' "$IMAGE")"
echo "image $IMAGE size: $SIZE bytes ($((SIZE / 1000 / 1000)) MB; limit 20 MB)"
if [ "$SIZE" -ge "$LIMIT" ]; then
  echo "build-image: the image is not under 20 MB" >&2
  exit 1
fi

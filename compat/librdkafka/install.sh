#!/usr/bin/env bash
# Builds librdkafka 2.12.1 and its test runner (tests/test-runner) from the
# source that the rdkafka-sys 4.10.0+2.12.1 crate ships, taken from the cargo
# registry (run `cargo fetch` in the workspace first). Downloads nothing but
# the Debian build packages; commits nothing of librdkafka to the repo.
#
# Output: compat/librdkafka/build/src-2.12.1/ (gitignored). Idempotent: an
# existing build of the same source is kept.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
VERSION=2.12.1
CRATE="rdkafka-sys-4.10.0+$VERSION"
BUILD="$HERE/build"
SRC="$BUILD/src-$VERSION"
JOBS="${JOBS:-2}"

SUDO=""
[ "$(id -u)" = 0 ] || { command -v sudo >/dev/null && SUDO=sudo; }

need_pkgs=()
# rapidjson-dev: tests 0053 and 0110 check the statistics JSON with it.
for p in build-essential g++ pkg-config python3 zlib1g-dev libzstd-dev rapidjson-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "installing ${need_pkgs[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
fi

# Stand-ins for kafka-topics.sh and kafka-acls.sh (tests 0045, 0052, 0077 and
# 0109 run them): a small admin client on the built librdkafka, no JVM. Files
# are replaced by rename, so a run using them is not disturbed.
build_shim() {
  local bin="$BUILD/kafka/bin" tool
  mkdir -p "$bin"
  gcc -O2 -Wall -Werror -I"$SRC/src" "$HERE/kafka-tools-shim.c" -L"$SRC/src" -lrdkafka \
    -Wl,-rpath,"$SRC/src" -o "$bin/kafka-tools.new"
  mv -f "$bin/kafka-tools.new" "$bin/kafka-tools"
  for tool in topics acls; do
    printf '#!/bin/sh\nexec "$(dirname "$0")/kafka-tools" %s "$@"\n' "$tool" > "$bin/kafka-$tool.sh.new"
    chmod +x "$bin/kafka-$tool.sh.new"
    mv -f "$bin/kafka-$tool.sh.new" "$bin/kafka-$tool.sh"
  done
  rm -f "$bin/kafka-topics" # the binary's name before kafka-acls.sh existed
}

if [ -x "$SRC/tests/test-runner" ] && [ -f "$SRC/.sluice-built" ]; then
  echo "librdkafka $VERSION test-runner already built in $SRC" >&2
  [ "$BUILD/kafka/bin/kafka-tools" -nt "$HERE/kafka-tools-shim.c" ] && [ -x "$BUILD/kafka/bin/kafka-acls.sh" ] \
    || build_shim
  exit 0
fi

CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
ORIG="$(ls -d "$CARGO_HOME"/registry/src/*/"$CRATE"/librdkafka 2>/dev/null | head -1 || true)"
if [ -z "$ORIG" ] || [ ! -f "$ORIG/tests/test.c" ]; then
  echo "librdkafka source not found under $CARGO_HOME/registry/src/*/$CRATE/librdkafka;" \
       "run 'cargo fetch' in the workspace first" >&2
  exit 1
fi
grep -q "define RD_KAFKA_VERSION *0x020c01ff" "$ORIG/src/rdkafka.h" || { echo "$ORIG is not librdkafka $VERSION" >&2; exit 1; }

echo "building librdkafka $VERSION from $ORIG in $SRC" >&2
rm -rf "$SRC"
mkdir -p "$BUILD"
cp -a "$ORIG" "$SRC"
cd "$SRC"
# No SSL, SASL or HTTP (curl): the suite runs only PLAINTEXT tests. Built-in
# LZ4; zlib and zstd from Debian; snappy is always built in.
./configure --no-download --no-cache --disable-ssl --disable-gssapi --disable-curl \
  --disable-lz4-ext --enable-zlib --enable-zstd --disable-syslog > "$BUILD/configure.log" 2>&1 \
  || { tail -30 "$BUILD/configure.log" >&2; exit 1; }
make -j"$JOBS" libs > "$BUILD/make-libs.log" 2>&1 || { tail -30 "$BUILD/make-libs.log" >&2; exit 1; }
make -j"$JOBS" -C tests build > "$BUILD/make-tests.log" 2>&1 || { tail -30 "$BUILD/make-tests.log" >&2; exit 1; }
build_shim
touch "$SRC/.sluice-built"
echo "built $SRC/tests/test-runner" >&2

#!/usr/bin/env bash
# Installs the pinned kafkajs and its codec packages into compat/node/node_modules from the
# npm registry (package-lock.json pins every version and integrity hash). Idempotent: does
# nothing when node_modules already holds exactly the locked versions.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "npm not found (Node 20 with npm is expected on the machine)" >&2; exit 1; }

# node_modules/.package-lock.json is npm's record of what it installed.
installed_matches_lock() {
  [ -f node_modules/.package-lock.json ] && node -e '
    const versions = f => JSON.stringify(Object.entries(require(f).packages)
      .filter(([path]) => path.startsWith("node_modules/")).map(([path, p]) => [path, p.version]).sort())
    process.exit(versions("./package-lock.json") === versions("./node_modules/.package-lock.json") ? 0 : 1)'
}
if installed_matches_lock; then
  echo "node: kafkajs already installed" >&2
  exit 0
fi
# No install scripts: every package here is plain JavaScript or WebAssembly.
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
echo "node: installed kafkajs $(node -p 'require("./node_modules/kafkajs/package.json").version')" >&2

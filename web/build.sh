#!/bin/sh
# Builds the browser console into web/dist: installs the pinned npm packages when the lockfile
# is newer than the installed tree, then type-checks and bundles. Safe to run again.
set -eu
cd "$(dirname "$0")"
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ -n "$(find package-lock.json -newer "$stamp")" ]; then
  npm ci --no-audit --no-fund
fi
npm run build

#!/usr/bin/env bash
# Re-fetch the pinned htmx shipped in the package (web/static/htmx.min.js and its licence) from the npm
# registry, and refuse it unless its SHA-256 is the one pinned here. The web pages load this copy from
# our own server (no CDN); tests/web/test_entry_htmx.py checks the shipped file against the same pin.
# To move to a newer 2.0.x: change VERSION, run with --update-pin, read the diff, commit both.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=2.0.11
SHA256=d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717
URL="https://registry.npmjs.org/htmx.org/-/htmx.org-${VERSION}.tgz"
DEST=src/earlyphase/web/static

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
curl -fsSL "$URL" -o "$work/htmx.tgz"
tar -xzf "$work/htmx.tgz" -C "$work" package/dist/htmx.min.js package/LICENSE
got=$(sha256sum "$work/package/dist/htmx.min.js" | cut -d' ' -f1)
if [ "${1:-}" = "--update-pin" ]; then
  echo "htmx ${VERSION}: sha256 ${got} (put it in SHA256 above)"
elif [ "$got" != "$SHA256" ]; then
  echo "htmx ${VERSION} from ${URL} has sha256 ${got}, not the pinned ${SHA256}; nothing copied" >&2
  exit 1
fi
cp "$work/package/dist/htmx.min.js" "$DEST/htmx.min.js"
cp "$work/package/LICENSE" "$DEST/htmx.LICENSE.txt"
echo "htmx ${VERSION} -> ${DEST}/htmx.min.js (sha256 ${got})"

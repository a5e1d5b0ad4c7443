#!/usr/bin/env bash
# Put Leaflet (the console's slippy map) into api/static/vendor/leaflet/ from the npm registry,
# at build time: the service never loads it from anywhere else. Without npm the console keeps
# its offline schematic map.
set -euo pipefail
version=1.9.4
out=api/static/vendor/leaflet
[ -f "$out/leaflet.js" ] && grep -q "$version" "$out/VERSION" 2>/dev/null && exit 0
if ! command -v npm >/dev/null; then
  echo "npm not found: the console's slippy map is off (install Node.js and npm to build it)" >&2
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "leaflet@$version" >/dev/null && tar xzf "leaflet-$version.tgz")
rm -rf "$out"
mkdir -p "$out/images"
cp "$tmp/package/dist/leaflet.js" "$tmp/package/dist/leaflet.css" "$tmp/package/LICENSE" "$out/"
cp "$tmp/package/dist/images/"*.png "$out/images/"
echo "$version" > "$out/VERSION"
echo "Leaflet $version in $out"

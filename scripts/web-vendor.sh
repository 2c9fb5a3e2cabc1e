#!/usr/bin/env bash
# Re-installs the map's browser dependencies from web/package-lock.json and
# copies their dist files into web/static/vendor, which is committed so that
# a clean clone builds with Go alone. Run after changing web/package.json.
set -euo pipefail
cd "$(dirname "$0")/../web"
npm ci --no-audit --no-fund
mkdir -p static/vendor
cp node_modules/maplibre-gl/dist/maplibre-gl.js static/vendor/maplibre-gl.js
cp node_modules/maplibre-gl/dist/maplibre-gl.css static/vendor/maplibre-gl.css
cp node_modules/maplibre-gl/LICENSE.txt static/vendor/maplibre-gl.LICENSE.txt
echo "vendored maplibre-gl $(node -p 'require("./node_modules/maplibre-gl/package.json").version')"

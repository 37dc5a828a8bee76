#!/usr/bin/env bash
# Refreshes static/vendor/ from the npm registry at pinned versions (no CDN, no hand copies).
# htmx is not here: it ships inside the django-htmx wheel.
set -euo pipefail
cd "$(dirname "$0")/.."

BOOTSTRAP_VERSION=5.3.8
BOOTSTRAP_ICONS_VERSION=1.13.1
# The accessibility engine the browser tests inject into every page they walk (never served to users).
AXE_CORE_VERSION=4.14.1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "bootstrap@${BOOTSTRAP_VERSION}" "bootstrap-icons@${BOOTSTRAP_ICONS_VERSION}" "axe-core@${AXE_CORE_VERSION}" >/dev/null)

out=static/vendor
rm -rf "$out/bootstrap" "$out/bootstrap-icons" "$out/axe-core"
mkdir -p "$out/bootstrap" "$out/bootstrap-icons/fonts" "$out/axe-core"

tar -xzf "$work/bootstrap-${BOOTSTRAP_VERSION}.tgz" -C "$work"
cp "$work/package/dist/css/bootstrap.min.css" "$work/package/dist/css/bootstrap.min.css.map" "$out/bootstrap/"
cp "$work/package/dist/js/bootstrap.bundle.min.js" "$work/package/dist/js/bootstrap.bundle.min.js.map" "$out/bootstrap/"
cp "$work/package/LICENSE" "$out/bootstrap/LICENSE"
rm -rf "$work/package"

tar -xzf "$work/bootstrap-icons-${BOOTSTRAP_ICONS_VERSION}.tgz" -C "$work"
cp "$work/package/font/bootstrap-icons.min.css" "$out/bootstrap-icons/"
cp "$work/package/font/fonts/bootstrap-icons.woff2" "$work/package/font/fonts/bootstrap-icons.woff" "$out/bootstrap-icons/fonts/"
cp "$work/package/LICENSE" "$out/bootstrap-icons/LICENSE"
rm -rf "$work/package"

tar -xzf "$work/axe-core-${AXE_CORE_VERSION}.tgz" -C "$work"
cp "$work/package/axe.min.js" "$out/axe-core/"
cp "$work/package/LICENSE" "$out/axe-core/LICENSE"
[ -f "$work/package/LICENSE-3RD-PARTY.txt" ] && cp "$work/package/LICENSE-3RD-PARTY.txt" "$out/axe-core/"

cat > "$out/VERSIONS" <<TXT
bootstrap ${BOOTSTRAP_VERSION} (npm)
bootstrap-icons ${BOOTSTRAP_ICONS_VERSION} (npm)
axe-core ${AXE_CORE_VERSION} (npm)
TXT
echo "vendored: bootstrap ${BOOTSTRAP_VERSION}, bootstrap-icons ${BOOTSTRAP_ICONS_VERSION}, axe-core ${AXE_CORE_VERSION}"

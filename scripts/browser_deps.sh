#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (Playwright's own browser download is not used).
# Without it they are skipped with a notice, except under CI=true where this fails.
# poppler-utils' pdftoppm draws the documents' pages for the layout artifact (optional).
set -uo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing for the tests: ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v pdftoppm >/dev/null || echo "NOTICE: pdftoppm (poppler-utils) is missing; the PDF layout artifact test will be skipped."
if [ ! -x /usr/bin/chromium ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "Chromium could not be installed and CI=true requires the browser tests." >&2
    exit 1
  fi
  echo "NOTICE: /usr/bin/chromium is missing; browser (e2e) tests will be skipped."
fi
exit 0

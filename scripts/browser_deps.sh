#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (Playwright's own browser download is not used).
# Without it they are skipped with a notice, except under CI=true where this fails.
set -uo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Chromium for the browser tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if [ ! -x /usr/bin/chromium ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "Chromium could not be installed and CI=true requires the browser tests." >&2
    exit 1
  fi
  echo "NOTICE: /usr/bin/chromium is missing; browser (e2e) tests will be skipped."
fi
exit 0

#!/usr/bin/env bash
# Make sure the browser the dashboard tests drive is here: Debian's chromium package
# (Playwright drives it; no browser download). Under CI=true a missing browser is a
# failure; elsewhere the browser tests are skipped with a message.
set -u
browser=${SWITCHYARD_TEST_CHROMIUM:-/usr/bin/chromium}
[ -x "$browser" ] && exit 0

sudo=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then sudo="sudo -n"; fi
if command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the dashboard tests" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q chromium >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q chromium >/dev/null; }
fi
[ -x "$browser" ] && exit 0
if [ "${CI:-}" = "true" ]; then
  echo "no Chromium at $browser and it could not be installed; CI needs it" >&2
  exit 1
fi
echo "no Chromium at $browser: the dashboard browser tests will be skipped" >&2

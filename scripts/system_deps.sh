#!/usr/bin/env bash
# System packages the tests need: Debian's Chromium (driven by Playwright's Python package in
# the browser tests, never `playwright install`), a Chinese font for its screenshots, and
# HAProxy, the load balancer in front of the replicas of `bot run --replicas N`.
# Installs only what is missing, and only as root; elsewhere it says what to install.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list 2>/dev/null | grep -qiE "wqy|noto sans cjk|noto serif cjk" || missing+=(fonts-wqy-microhei)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "note: missing system packages: ${missing[*]} (as root: apt-get install -y ${missing[*]});" \
       "the browser and replica tests will be skipped" >&2
  exit 0
fi
echo "installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

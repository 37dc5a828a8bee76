#!/usr/bin/env bash
# `make cluster` and its test put HAProxy (Debian's package) in front of two web nodes.
# Without it the cluster test is skipped with a notice, except under CI=true where this fails.
set -uo pipefail
command -v haproxy >/dev/null && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing the load balancer for the cluster: haproxy"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy >/dev/null
elif command -v sudo >/dev/null && command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then
  echo "Installing the load balancer for the cluster with sudo: haproxy"
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy
fi
if ! command -v haproxy >/dev/null; then
  if [ "${CI:-}" = "true" ]; then
    echo "haproxy could not be installed and CI=true requires the cluster test." >&2
    exit 1
  fi
  echo "NOTICE: haproxy is missing (apt-get install haproxy); the cluster test will be skipped and make cluster cannot run."
fi
exit 0

#!/usr/bin/env bash
# Installs what the local services need from Debian's packages when it is missing:
# Java 17+ and Maven (to assemble and run Neo4j), redis-server, and a C++ compiler with ninja (training builds
# SR-GNN's fused readout kernels with them; without them it runs the slower eager readout); with --browser also chromium and
# chromium-driver (the test suite drives Neo4j Browser in headless Chromium). Needs root (or sudo) only if
# something is missing; prints what to install otherwise.
set -euo pipefail

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
command -v ninja >/dev/null 2>&1 || missing+=(ninja-build)
if [ "${1:-}" = "--browser" ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "Please install: Java 17 or 21, Maven, Redis, a C++ compiler and ninja (missing: ${missing[*]})" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "Run as root or install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "Installing ${missing[*]} from Debian's packages"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

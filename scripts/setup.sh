#!/usr/bin/env bash
# Installs the Debian packages lookahead needs to build and test.
# Idempotent and non-interactive; installs only what is missing. Run as root
# (as in CI) or with sudo available.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libfmt-dev libpcre2-dev zlib1g-dev libcpp-httplib-dev
)
# Node.js + npm run the server's end-to-end tests with the official `openai`
# package. The base image ships NodeSource's nodejs (npm included), which
# conflicts with Debian's npm package: install them only when absent.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

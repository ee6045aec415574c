#!/usr/bin/env bash
# System packages for the full test run: PostgreSQL (throwaway test clusters), Chromium and
# ChromeDriver plus fonts (web UI tests), Java 17 (local Spark for the batch tests), python3-venv
# (`make` builds .venv with `python3 -m venv` where no Python 3.12/3.13 runs; the distribution's
# python3 has no ensurepip without it). Idempotent and quick: apt-get update runs only when
# something is missing. Needs root (or sudo).
set -euo pipefail

PACKAGES=(postgresql chromium chromium-driver fonts-dejavu-core fonts-liberation openjdk-17-jre-headless python3-venv)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "system packages: all present (${PACKAGES[*]})"
  exit 0
fi

echo "system packages: installing ${missing[*]}"
$SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"

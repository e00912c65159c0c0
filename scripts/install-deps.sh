#!/usr/bin/env bash
# Installs everything pgtrail needs to build, test and run locally (Debian/Ubuntu, apt).
# Silent and offline when everything is already installed, so other scripts can always call it.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
    build-essential cmake pkg-config
    libpqxx-dev librdkafka-dev libcli11-dev doctest-dev libcpp-httplib-dev
    postgresql postgresql-client
    kafkacat clang-format
    jq gnuplot-nox rapidjson-dev
)

missing=()
for pkg in "${packages[@]}"; do
    # A removed-but-configured package still has an entry, so test the status, not the exit code.
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done
((${#missing[@]} == 0)) && exit 0

if ! command -v apt-get >/dev/null; then
    echo "install-deps: apt-get not found; install these by hand: ${missing[*]}" >&2
    exit 1
fi

sudo=()
if ((EUID != 0)); then
    command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
    sudo=(sudo env DEBIAN_FRONTEND=noninteractive) # sudo drops most of the environment
fi

echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

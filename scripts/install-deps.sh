#!/usr/bin/env bash
# Installs everything pgtrail needs to build, test and run locally (Debian/Ubuntu, apt).
# Silent and offline when everything is already installed, so other scripts can always call it.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# The names that differ between the tested releases: the PostgreSQL major version the tests
# run on, and kcat's package. The -dev names are the same on both and pull in each release's
# library (Debian 12: libpqxx-6.4, CLI11 2.1, librdkafka 2.0, cpp-httplib 0.11; Debian 13:
# libpqxx-7.10, CLI11 2.4, librdkafka 2.8, cpp-httplib 0.18).
# shellcheck source=/dev/null
codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
case "$codename" in
bookworm) release_packages=(postgresql-15 postgresql-client-15 kafkacat) ;; # Debian 12
trixie) release_packages=(postgresql-17 postgresql-client-17 kcat) ;;       # Debian 13
*) release_packages=(postgresql postgresql-client kcat) ;; # others: their default PostgreSQL
esac

packages=(
    build-essential cmake pkg-config
    libpqxx-dev librdkafka-dev libcli11-dev doctest-dev libcpp-httplib-dev libtomlplusplus-dev
    "${release_packages[@]}"
    clang-format
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

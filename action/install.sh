#!/usr/bin/env bash
# Installs the prebuilt `dslp` binary for this runner from the project's
# GitHub Releases, checking its sha256; falls back to `cargo install`.
set -euo pipefail

version="${DSLP_VERSION:?the action needs a version (a tag)}"
repository="${DSLP_REPOSITORY:?the action needs its repository}"
dest="${RUNNER_TEMP:-/tmp}/dslp-bot/bin"
mkdir -p "$dest"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) target=x86_64-unknown-linux-gnu ;;
  Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-gnu ;;
  Darwin-arm64) target=aarch64-apple-darwin ;;
  *) target="" ;;
esac

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

install_prebuilt() {
  [ -n "$target" ] || return 1
  local base="https://github.com/${repository}/releases/download/${version}"
  local archive="dslp-${target}.tar.gz"
  local work
  work="$(mktemp -d)"
  curl -fsSL --retry 3 -o "$work/$archive" "$base/$archive" || return 1
  curl -fsSL --retry 3 -o "$work/$archive.sha256" "$base/$archive.sha256" || return 1
  local expected actual
  expected="$(cut -d' ' -f1 < "$work/$archive.sha256")"
  actual="$(sha256 "$work/$archive")"
  if [ "$expected" != "$actual" ]; then
    echo "::error::sha256 mismatch for $archive: expected $expected, got $actual"
    exit 1
  fi
  tar -xzf "$work/$archive" -C "$dest"
}

if install_prebuilt; then
  echo "Installed dslp ${version} for ${target}"
else
  echo "No prebuilt dslp ${version} for this runner ($(uname -s)-$(uname -m)); building it with cargo"
  cargo install --locked --git "https://github.com/${repository}" --tag "${version}" dslp-bot --root "${dest%/bin}"
fi
echo "$dest" >> "$GITHUB_PATH"

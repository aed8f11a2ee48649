#!/usr/bin/env bash
# Builds platform wheels of the gantry Python package that carry the gantry binary, cross-compiled
# from this repository's Go sources (CGO_ENABLED=0: a static binary, no libc dependency), so that
# `pip install gantry-*.whl` needs nothing else.
#
# Usage: clients/python/build_wheel.sh [x86_64] [aarch64]      (default: both)
# Environment: PYTHON (default python3; needs pip and the `wheel` package), OUT (default clients/python/dist)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
py=${PYTHON:-python3}
out=${OUT:-$here/dist}
arches=("$@")
[ ${#arches[@]} -eq 0 ] && arches=(x86_64 aarch64)

log() { printf 'build_wheel: %s\n' "$*" >&2; }

if ! "$py" -c 'import wheel' 2>/dev/null; then
	log "$py has no 'wheel' package (pip install wheel)"
	exit 1
fi
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for arch in "${arches[@]}"; do
	case $arch in
	x86_64 | amd64) arch=x86_64 goarch=amd64 ;;
	aarch64 | arm64) arch=aarch64 goarch=arm64 ;;
	*) log "unknown architecture $arch (x86_64 or aarch64)"; exit 1 ;;
	esac
	stage=$tmp/$arch
	mkdir -p "$stage"
	cp -r "$here/pyproject.toml" "$here/README.md" "$here/src" "$stage/"
	rm -rf "$stage/src/gantry/_bin" "$stage"/src/*.egg-info
	find "$stage" -name __pycache__ -prune -exec rm -rf {} +
	mkdir -p "$stage/src/gantry/_bin"
	log "go build linux/$goarch"
	(cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH=$goarch go build -trimpath -ldflags='-s -w' \
		-o "$stage/src/gantry/_bin/gantry" ./cmd/gantry)
	chmod 755 "$stage/src/gantry/_bin/gantry"
	log "building the wheel for $arch"
	"$py" -m pip wheel --quiet --no-deps --disable-pip-version-check -w "$stage/dist" "$stage"
	whl=$(ls "$stage"/dist/gantry-*-py3-none-any.whl)
	# The binary makes the wheel platform-specific: retag it (static binary: manylinux2014 and musllinux).
	"$py" -m wheel tags --remove \
		--platform-tag "manylinux_2_17_${arch}.manylinux2014_${arch}.musllinux_1_1_${arch}" "$whl" >/dev/null
	cp "$stage"/dist/gantry-*"$arch"*.whl "$out/"
	log "$(ls "$out"/gantry-*"$arch"*.whl)"
done

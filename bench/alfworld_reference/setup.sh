#!/usr/bin/env bash
# Installs the reference ALFWorld text engine (alfworld 0.3.5 on TextWorld 1.6.2, the classic grammar
# that ReAct, MINT and CodeAct ran) into bench/.venv. Idempotent: a second run with nothing changed
# only checks the install and returns.
#
# Needs Python 3.11 with venv (the pinned wheels are cp311), a C++ toolchain (g++, cmake, make) to
# build fast-downward-textworld, and access to PyPI. Environment:
#   GANTRY_BENCH_VENV  where to put the virtualenv (default: <repo>/bench/.venv)
#   PYTHON             the Python 3.11 interpreter to build it from (default: found automatically)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${GANTRY_BENCH_VENV:-$root/bench/.venv}
alfworld_version=0.3.5    # classic grammar: "put X in/on Y", "You arrive at loc N."
current_version=0.4.2     # only its data files: the current grammar ("move X to Y")
data_dir=$venv/alfworld-$current_version-data
stamp=$venv/.gantry-reference-stamp
want=$(cat "$here/requirements.lock" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)

log() { printf 'setup: %s\n' "$*" >&2; }

installed_ok() {
	[ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
		[ -f "$data_dir/alfred.twl2" ] && [ -f "$data_dir/alfred.pddl" ] &&
		"$venv/bin/python" "$here/reference.py" versions >/dev/null 2>&1
}

if installed_ok; then
	log "reference ALFWorld is installed in $venv"
	exit 0
fi

find_python() {
	local c
	for c in "${PYTHON:-}" "$(command -v pyenv >/dev/null 2>&1 && pyenv which python3.11 2>/dev/null || true)" \
		"$(command -v python3.11 || true)" /usr/bin/python3.11; do
		[ -n "$c" ] && [ -x "$c" ] || continue
		if "$c" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

py=$(find_python) || {
	log "no Python 3.11 with venv and ensurepip found (set PYTHON=/path/to/python3.11;"
	log "on Debian: apt-get install python3.11-venv)"
	exit 1
}

missing=()
for t in g++ cmake make; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		log "installing ${missing[*]} (needed to build fast-downward-textworld)"
		apt-get update -qq && apt-get install -y -qq g++ cmake make >/dev/null
	else
		log "missing ${missing[*]}: needed to build fast-downward-textworld"
		exit 1
	fi
fi

if [ ! -x "$venv/bin/python" ]; then
	log "creating $venv with $py"
	"$py" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check --no-input)

log "installing TextWorld 1.6.2 and its pinned dependencies (builds fast-downward-textworld: ~2 min)"
"${pip[@]}" install --quiet -r "$here/requirements.lock"
log "installing alfworld $alfworld_version (text engine only, --no-deps)"
"${pip[@]}" install --quiet --no-deps "alfworld==$alfworld_version"

log "fetching the data files of alfworld $current_version (current grammar)"
dl=$(mktemp -d)
trap 'rm -rf "$dl"' EXIT
"${pip[@]}" download --quiet --no-deps --only-binary=:all: -d "$dl" "alfworld==$current_version"
mkdir -p "$data_dir"
"$venv/bin/python" - "$dl"/alfworld-"$current_version"-*.whl "$data_dir" <<'EOF'
import sys, zipfile
whl, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    for name in ("alfred.twl2", "alfred.pddl"):
        with open(f"{out}/{name}", "wb") as f:
            f.write(z.read(f"alfworld/data/{name}"))
EOF

"$venv/bin/python" "$here/reference.py" versions
echo "$want" >"$stamp"
log "done: $venv"

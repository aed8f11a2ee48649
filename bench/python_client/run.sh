#!/usr/bin/env bash
# ALFWorld through gantry's Python client against the alfworld package (0.3.5 on TextWorld 1.6.2), on
# the same games and command streams, in one run; prints the table of docs/benchmarks.md.
#
#   bench/python_client/run.sh [--games N] [--rounds R] [--vector 64]
#
# Needs: the reference venv (bench/alfworld_reference/setup.sh installs it; GANTRY_BENCH_VENV),
# a Python with the gantry package (PYTHON, default python3; pip install -e clients/python[gym]),
# and Go to build gantry (or GANTRY_BIN).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${GANTRY_BENCH_VENV:-$root/bench/.venv}
py=${PYTHON:-python3}
games=8 rounds=3 vector=64
while [ $# -gt 0 ]; do
	case $1 in
	--games) games=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--vector) vector=$2; shift 2 ;;
	-h | --help) sed -n '2,9p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
bash "$root/bench/alfworld_reference/setup.sh"
if [ -z "${GANTRY_BIN:-}" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$root" && CGO_ENABLED=0 go build -o "$tmp/gantry" ./cmd/gantry)
	export GANTRY_BIN=$tmp/gantry
fi
g=$("$py" "$here/bench.py" gantry --games "$games" --rounds "$rounds" --vector "$vector")
a=$("$venv/bin/python" "$here/bench.py" alfworld --games "$games")
"$py" - "$g" "$a" <<'PY'
import json, sys
g, a = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def row(name, x, y, unit):
    print(f"| {name} | {x:,} {unit} | {y:,} {unit} | {x / y if unit != 'ms' else y / x:,.0f}× |")
print(f"{g['games']} games, {a['single_steps']} steps on the alfworld side ({g['episodes']} episodes: expert and random streams)")
print("| | gantry (Python client) | alfworld " + a["versions"]["alfworld"] + " | gantry faster |")
print("|---|---|---|---|")
row("steps/s, one env (Unix socket, the local server's default)", g["single_steps_per_s"], a["single_steps_per_s"], "steps/s")
row("steps/s, one env over loopback TCP", g["single_steps_per_s_tcp"], a["single_steps_per_s"], "steps/s")
row(f"steps/s, AlfWorldVector over {g['vector']} sessions", g["vector_steps_per_s"], a["single_steps_per_s"], "steps/s")
row(f"steps/s, Client.batch_step over {g['vector']} sessions", g["batch_steps_per_s"], a["single_steps_per_s"], "steps/s")
row("reset, median", g["reset_ms_median"], a["reset_ms_median"], "ms")
row("new session (gantry) vs reset (alfworld), median", g["new_session_ms_median"], a["reset_ms_median"], "ms")
print(json.dumps(g)); print(json.dumps(a))
PY

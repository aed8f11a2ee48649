#!/usr/bin/env bash
# Measures the reference ALFWorld engine (alfworld 0.3.5 on TextWorld 1.6.2) and gantry's Go engine
# on the same games in one run, and prints the figures side by side with their ratio.
#
#   bench/alfworld_reference/run.sh [--games DIR] [--limit N] [--grammar classic|current]
#                                   [--benchtime 1s] [--go-bench REGEXP] [--no-go]
#
# --games   a directory holding json_2.1.1/<split>/<task>/<trial>/game.tw-pddl (default: the 134
#           valid_unseen games of testdata/alfworld, in gamefile_id.txt order)
# --limit   only the first N games on the reference side (it runs ~25 steps/s; all 134 take ~10 min)
# The reference plays the commands of testdata/alfworld/reference/<grammar>.jsonl.gz: the same
# streams gantry's Go tests and benchmarks read.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${GANTRY_BENCH_VENV:-$root/bench/.venv}

games="" limit=0 grammar=classic benchtime=1s go_bench='.' run_go=1
while [ $# -gt 0 ]; do
	case $1 in
	--games) games=$2; shift 2 ;;
	--limit) limit=$2; shift 2 ;;
	--grammar) grammar=$2; shift 2 ;;
	--benchtime) benchtime=$2; shift 2 ;;
	--go-bench) go_bench=$2; shift 2 ;;
	--no-go) run_go=0; shift ;;
	-h | --help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) echo "run.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
	esac
done

bash "$here/setup.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
order=()
if [ -z "$games" ]; then
	tar -xzf "$root/testdata/alfworld/valid_unseen.tar.gz" -C "$tmp"
	games=$tmp
	order=(--order "$root/testdata/alfworld/gamefile_id.txt")
fi

echo "== reference: $("$venv/bin/python" "$here/reference.py" versions)"
"$venv/bin/python" "$here/reference.py" bench --games "$games" "${order[@]}" --limit "$limit" \
	--grammar "$grammar" --json >"$tmp/reference.json"

go_out=$tmp/go.txt
: >"$go_out"
if [ "$run_go" = 1 ]; then
	if ls "$root"/alfworld/*_test.go >/dev/null 2>&1 && grep -q '^func Benchmark' "$root"/alfworld/*_test.go; then
		echo "== gantry: go test -run '^\$' -bench '$go_bench' -benchtime $benchtime -benchmem ./alfworld"
		(cd "$root" && go test -run '^$' -bench "$go_bench" -benchtime "$benchtime" -benchmem ./alfworld) |
			tee "$go_out"
	else
		echo "== gantry: no Go benchmarks in ./alfworld yet; reference figures only"
	fi
fi

"$venv/bin/python" "$here/reference.py" compare --reference "$tmp/reference.json" --go "$go_out"

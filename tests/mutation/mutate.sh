#!/usr/bin/env bash
# Mutation testing (Stryker.NET, a local tool) one batch of files at a time, into the ledger scores.tsv beside
# this script. A whole-project run takes hours on two cores; the ledger keeps each file's last result for its exact
# content (git blob), so the project score is built up over many runs and a changed file drops out until remeasured.
#
#   tests/mutation/mutate.sh run functional|tensors [-x] [-f TEST_FILTER] FILE...   mutate FILEs (paths from the repo root)
#   tests/mutation/mutate.sh next functional|tensors N                        the N files to measure next
#   tests/mutation/mutate.sh summary                                          files measured and score per project
#   tests/mutation/mutate.sh table                                            each file's row, as a Markdown table
#
# `run` mutates the committed tree (git archive HEAD in a temporary folder; uncommitted edits are not measured),
# prints each file's score and its surviving mutants, and records them. TEST_FILTER is a dotnet test filter (e.g.
# 'FullyQualifiedName~Routing'): faster, but a mutant only tests outside it would kill counts as survived, so a
# filtered score is a lower bound (the ledger says which rows are). -x (tensors only) runs the model library's
# tests too: they exercise the autodiff's files reading and writing checkpoints and walking model trees, which
# the autodiff's own tests touch only lightly. STRYKER_CONCURRENCY (default 1) sets -c. STRYKER_COVERAGE (default
# perTest) sets the coverage analysis: `off` runs every test of the filter against every mutant, slower, for a
# survivor one suspects the per-test coverage of hiding; the ledger row then says so beside its filter.
# The JSON report is kept in ${MUTATION_REPORTS:-/tmp/vqvae-mutation-reports}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel)
usage() { sed -n '6,9p' "$0" >&2; exit 2; }
project_of() {
  case "$1" in
    functional) echo VqVae.Functional ;;
    tensors) echo VqVae.Tensors ;;
    *) echo "mutate.sh: the project is 'functional' (the model library) or 'tensors' (the autodiff and kernels), got '$1'" >&2; exit 2 ;;
  esac
}
case "${1:-}" in
  summary) python3 "$here/ledger.py" summary ;;
  table) python3 "$here/ledger.py" table ;;
  next) [ $# -eq 3 ] || usage; project_of "$2" >/dev/null; python3 "$here/ledger.py" next "$2" "$3" ;;
  run)
    [ $# -ge 3 ] || usage
    name=$2; proj=$(project_of "$name"); shift 2
    filter=""; extra=""
    if [ "$1" = -x ]; then
      [ "$name" = tensors ] || { echo "mutate.sh: -x adds the model library's tests to a run of 'tensors'" >&2; exit 2; }
      extra=VqVae.Functional.Tests; shift
    fi
    if [ "$1" = -f ]; then filter=${2:?mutate.sh: -f takes a dotnet test filter}; shift 2; fi
    [ $# -ge 1 ] || usage
    args=()
    for f in "$@"; do
      case "$f" in
        "src/$proj/"*.cs) ;;
        *) echo "mutate.sh: '$f' is not a C# file of src/$proj (give paths from the repository root)" >&2; exit 2 ;;
      esac
      git -C "$root" cat-file -e "HEAD:$f" 2>/dev/null ||
        { echo "mutate.sh: '$f' is not committed at HEAD (run mutates the committed tree)" >&2; exit 2; }
      args+=(-m "**/${f#src/$proj/}")
    done
    [ -z "$filter" ] || args+=(--test-case-filter "$filter")
    if [ -n "$extra" ]; then
      args+=(--test-project "$proj.Tests.fsproj" --test-project "../$extra/$extra.fsproj")
      filter="+${extra} ${filter:-(unfiltered)}"   # the ledger row says which tests ran
    fi
    commit=$(git -C "$root" rev-parse HEAD)
    work=$(mktemp -d "${TMPDIR:-/tmp}/vqvae-mutate.XXXXXX")
    trap 'rm -rf "$work"' EXIT   # a run's copy holds several GB of build outputs
    git -C "$root" archive "$commit" | tar -x -C "$work"
    cd "$work/tests/$proj.Tests"
    dotnet tool restore >/dev/null
    coverage=${STRYKER_COVERAGE:-perTest}
    if [ "$coverage" != perTest ]; then
      # Only a config file sets it (no command-line option).
      printf '{ "stryker-config": { "coverage-analysis": "%s" } }\n' "$coverage" > stryker-config.json
      filter="${filter:-(unfiltered)} [coverage $coverage]"
    fi
    dotnet stryker --configuration Release -p "$proj.csproj" -c "${STRYKER_CONCURRENCY:-1}" -r json -r progress "${args[@]}"
    report=$(ls -t StrykerOutput/*/reports/mutation-report.json | head -1)
    keep=${MUTATION_REPORTS:-/tmp/vqvae-mutation-reports}; mkdir -p "$keep"
    saved="$keep/$(date -u +%Y%m%dT%H%M%S)-$name.json"
    cp "$report" "$saved"
    echo "report: $saved"
    python3 "$here/ledger.py" ingest "$saved" "$commit" "$filter" "$@"   # the files asked for: one with nothing to mutate is recorded 0 of 0
    ;;
  *) usage ;;
esac

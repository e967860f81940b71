#!/usr/bin/env python3
"""Mutation-score ledger: one row per source file, the last Stryker result for that file's exact content.

A whole-project Stryker run takes hours on two cores, so the score is built up file by file over many runs
(mutate.sh). Each row records the file's git blob id when it was measured; a row whose blob no longer matches
HEAD is stale and is left out of the project score until the file is measured again.

    ledger.py ingest REPORT.json COMMIT [FILTER [FILE...]]   add/replace the rows of every file the report mutated,
                                                  measured at COMMIT (and of each FILE, even with nothing to mutate)
    ledger.py summary                       per project: files measured, mutants, score (fresh rows only)
    ledger.py next PROJECT N                N files to measure next (never measured, then stale), most source first
    ledger.py table                         every row as a Markdown table (score, mutants, filter, fresh or stale)
"""
import collections, json, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LEDGER = os.path.join(ROOT, "tests", "mutation", "scores.tsv")
COLUMNS = ["file", "blob", "commit", "date", "killed", "timeout", "survived", "nocoverage", "compile_error", "ignored", "filter"]
PROJECTS = {"functional": "src/VqVae.Functional", "tensors": "src/VqVae.Tensors"}


def git(*args):
    return subprocess.check_output(["git", "-C", ROOT, *args], text=True).strip()


def blobs(commit="HEAD"):
    """path -> blob id at `commit`, for the C# sources of the mutated projects."""
    out = {}
    for line in git("ls-tree", "-r", commit, "--", *PROJECTS.values()).splitlines():
        meta, path = line.split("\t", 1)
        if path.endswith(".cs"):
            out[path] = meta.split()[2]
    return out


def read():
    if not os.path.exists(LEDGER):
        return {}
    with open(LEDGER) as f:
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip() and not l.startswith("#")]
    if lines and lines[0] == COLUMNS:
        lines = lines[1:]
    return {r[0]: dict(zip(COLUMNS, r)) for r in lines}


def write(rows):
    tmp = LEDGER + ".tmp"   # written whole, then renamed, so an interrupted run leaves the old ledger
    with open(tmp, "w") as f:
        f.write("\t".join(COLUMNS) + "\n")
        for path in sorted(rows):
            f.write("\t".join(str(rows[path][c]) for c in COLUMNS) + "\n")
    os.replace(tmp, LEDGER)


def counted(row):
    """Stryker's score: killed and timed-out mutants are detected; survived and uncovered are not;
    compile errors and mutants marked `Stryker disable` (ignored) are not counted at all."""
    detected = int(row["killed"]) + int(row["timeout"])
    return detected, detected + int(row["survived"]) + int(row["nocoverage"])


def ingest(report, commit, test_filter, requested=()):
    """Records the report's files into the ledger. REQUESTED (the files the run was asked to mutate) also records
    those Stryker found nothing to mutate in (interfaces, plain records): measured, 0 of 0."""
    data = json.load(open(report))
    # COMMIT only labels the row ("-" when not known); whether a row counts is decided by its blob against HEAD.
    head, heads, rows = (git("rev-parse", "--short", commit) if commit != "-" else "-"), blobs(), read()
    date = subprocess.check_output(["date", "-u", "+%Y-%m-%d"], text=True).strip()
    for path, body in sorted(data["files"].items()):
        mutants = body["mutants"]
        rel = path[path.rindex("/src/") + 1:] if "/src/" in path else path   # reports name files by absolute path
        if not mutants and rel not in requested:
            continue   # a file of the project this run did not mutate (every file is in the report)
        if rel not in heads:   # e.g. a file since deleted or renamed
            print(f"ledger: {rel} is not a tracked source of a mutated project; skipped", file=sys.stderr)
            continue
        # The blob of the source Stryker mutated (the report carries it), so an older report still counts
        # exactly when its file has not changed since.
        blob = subprocess.run(["git", "-C", ROOT, "hash-object", "--stdin"], input=body["source"].encode(),
                              capture_output=True, check=True).stdout.decode().strip()
        if blob != heads[rel]:
            print(f"ledger: {rel} changed since this report was made; recorded as stale", file=sys.stderr)
        if blob != heads[rel] and rel in rows and rows[rel]["blob"] == heads[rel]:
            continue   # never let an older report replace a measurement of the current content
        c = collections.Counter(m["status"] for m in mutants)
        new = dict(file=rel, blob=blob, commit=head, date=date, killed=c["Killed"], timeout=c["Timeout"],
                   survived=c["Survived"], nocoverage=c["NoCoverage"],
                   compile_error=c["CompileError"] + c["RuntimeError"], ignored=c["Ignored"],
                   filter=(test_filter or "-") if mutants else "-")   # nothing to mutate: exact, whatever the filter
        if (test_filter and rel in rows and rows[rel]["blob"] == blob
                and counted(new)[0] < counted(rows[rel])[0]):
            # Both are lower bounds of the same content (tests are only ever added): a narrower filter
            # detecting fewer mutants says less than the row already there.
            print(f"ledger: {rel}: this filtered run detected {counted(new)[0]} mutants, the recorded run of the same"
                  f" content {counted(rows[rel])[0]}; the recorded row is kept", file=sys.stderr)
        else:
            rows[rel] = new
        d, n = counted(new)
        print(f"{rel}: {100 * d / n if n else 100:.1f}% ({d}/{n}"
              f"{'' if not (c['Survived'] or c['NoCoverage']) else ', ' + str(c['Survived']) + ' survived, ' + str(c['NoCoverage']) + ' uncovered'})")
        for m in mutants:
            if m["status"] in ("Survived", "NoCoverage"):
                s = m["location"]["start"]
                print(f"    {m['status']:<10} line {s['line']}:{s['column']}  {m['mutatorName']}  -> {m.get('replacement', '')!r}"[:220])
    write(rows)


def summary():
    heads, rows = blobs(), read()
    for name, folder in PROJECTS.items():
        files = [p for p in heads if p.startswith(folder + "/")]
        fresh = [rows[p] for p in files if p in rows and rows[p]["blob"] == heads[p]]
        stale = [p for p in files if p in rows and rows[p]["blob"] != heads[p]]
        d = sum(counted(r)[0] for r in fresh)
        n = sum(counted(r)[1] for r in fresh)
        filtered = sum(1 for r in fresh if r["filter"] != "-")
        print(f"{name} ({folder}): {len(fresh)} of {len(files)} files measured at their HEAD content"
              f" ({filtered} with a test filter, a lower bound), {len(stale)} stale, {len(files) - len(fresh) - len(stale)} never;"
              f" score over the measured files {100 * d / n if n else float('nan'):.1f}% ({d} of {n} mutants detected)")
        if stale:
            # The whole project as last measured: a stale file counts with its last run (on earlier content).
            d += sum(counted(rows[p])[0] for p in stale)
            n += sum(counted(rows[p])[1] for p in stale)
            print(f"{name} with its stale files counted at their last run: {100 * d / n:.1f}% ({d} of {n} mutants detected)")


def table():
    heads, rows = blobs(), read()
    print("| file | score | detected / counted | survived | uncovered | measured | test filter |")
    print("|---|---|---|---|---|---|---|")
    for path in sorted(rows):
        r = rows[path]
        d, n = counted(r)
        state = "gone" if path not in heads else ("" if r["blob"] == heads[path] else "stale: changed since, ")
        score = f"{100 * d / n:.1f}%" if n else "-"
        print(f"| {path[len('src/'):]} | {score} | {d} / {n} | {r['survived']} | {r['nocoverage']} |"
              f" {state}{r['date']} {r['commit']} | {short_filter(r['filter'])} |")


def short_filter(f):
    """A filter as a table cell: its test classes counted (scores.tsv keeps it whole), or a recorded note as it is."""
    if f == "-":
        return ""
    if f.startswith("+"):   # mutate.sh -x: the model library's tests ran too
        project, _, rest = f[1:].partition(" ")
        return f"{project} too" if rest == "(unfiltered)" else f"{project} too; {short_filter(rest)}"
    names = [t.split("~", 1)[1] if "~" in t else t for t in f.split("|")]
    if all("~" in t for t in f.split("|")):
        return names[0] if len(names) == 1 else f"{len(names)} test classes ({names[0]}, …)"
    return f.replace("|", "/")


def next_files(project, count):
    heads, rows = blobs(), read()
    folder = PROJECTS[project]
    files = [p for p in heads if p.startswith(folder + "/") and not (p in rows and rows[p]["blob"] == heads[p])]
    size = lambda p: os.path.getsize(os.path.join(ROOT, p))
    files.sort(key=lambda p: (p in rows, -size(p), p))   # never measured first, then stale; larger first
    print("\n".join(files[:count]))


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "ingest" and len(sys.argv) >= 4:
        ingest(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) >= 5 else "", set(sys.argv[5:]))
    elif cmd == "summary":
        summary()
    elif cmd == "table":
        table()
    elif cmd == "next" and len(sys.argv) == 4 and sys.argv[2] in PROJECTS:
        next_files(sys.argv[2], int(sys.argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)

#!/usr/bin/env python3
"""Turns bench/run.sh's measurements (JSON lines) into the markdown table.

  report.py RESULTS.jsonl OUT.md [docs/performance.md]
  report.py --continuous CONTINUOUS.jsonl OUT.md [docs/performance.md]
  report.py --load LOAD.json OUT.md [docs/performance.md]
  report.py --catalog-scale SCALE.json OUT.md [docs/performance.md]
  report.py --ingest INGEST.jsonl OUT.md [docs/performance.md]

The second form reports bench/continuous.sh into its own block and section,
the third bench/load.sh (cairn-loadgen's report) into its own, the fourth
bench/catalog_scale.sh (cairn-catalog-scale's) into its own, the fifth
bench/ingest.sh (server CPU per GiB uploaded) into its own.

Medians over repetitions. With BENCH_DOCS=1 and a third argument, the table
replaces the "latest run" block of the end-to-end section of that file (the
block between the two markers; the section and markers are appended if absent).
"""
import json
import os
import statistics
import sys
import time

# What TLS costs: cairn-unix is cairn with its TLS port and data port on
# Unix sockets, cairn-tlsonly the same with every upload over TLS, and
# cairn-notls the server's local socket (Unix, no TLS).
TOOLS = ["restic", "borg", "cairn", "cairn-unix", "cairn-tlsonly", "cairn-notls"]
# To an S3 store (one s3rver): restic's S3 backend against cairn's S3 tier.
S3_TOOLS = ["restic-s3", "cairn-s3"]
BEGIN = "<!-- bench/run.sh: latest run (generated, do not edit by hand) -->"
END = "<!-- bench/run.sh: end of latest run -->"
SECTION = "## End to end: cairn vs restic vs borg"
CONT_BEGIN = "<!-- bench/continuous.sh: latest run (generated, do not edit by hand) -->"
CONT_END = "<!-- bench/continuous.sh: end of latest run -->"
CONT_SECTION = "## Continuous protection"
LOAD_BEGIN = "<!-- bench/load.sh: latest run (generated, do not edit by hand) -->"
LOAD_END = "<!-- bench/load.sh: end of latest run -->"
LOAD_SECTION = "## Load: many agents on one server"
SCALE_BEGIN = "<!-- bench/catalog_scale.sh: latest run (generated, do not edit by hand) -->"
SCALE_END = "<!-- bench/catalog_scale.sh: end of latest run -->"
SCALE_SECTION = "## Catalog at scale: millions of chunks, simulated"
INGEST_BEGIN = "<!-- bench/ingest.sh: latest run (generated, do not edit by hand) -->"
INGEST_END = "<!-- bench/ingest.sh: end of latest run -->"
INGEST_SECTION = "## Ingest: server CPU per GiB uploaded"


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class Figures:
    def __init__(self, records):
        self.records = records
        self.tools = [t for t in TOOLS if any(r["tool"] == t for r in records)]
        self.reps = max((r["rep"] for r in records), default=0)

    def values(self, tool, phase, key):
        return [r[key] for r in self.records
                if r["tool"] == tool and r["phase"] == phase and key in r]

    def median(self, tool, phase, key):
        v = self.values(tool, phase, key)
        return statistics.median(v) if v else None

    def spread(self, tool, phase, key):
        v = self.values(tool, phase, key)
        return (min(v), max(v)) if len(v) > 1 else None

    def mbps(self, tool, phase):
        s = self.median(tool, phase, "seconds")
        b = self.median(tool, phase, "bytes")
        return b / s / 1e6 if s else None


def fmt(v, digits=1):
    if v is None:
        return "–"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def mib(v):
    return None if v is None else v / 2**20


def build_table(fig):
    if not fig.tools:
        return []
    others = [t for t in fig.tools if not t.startswith("cairn")]
    # TLS against no TLS on the same transport when both ran on Unix sockets.
    tls_with = "cairn-unix" if "cairn-unix" in fig.tools else "cairn"
    tls = tls_with in fig.tools and "cairn-notls" in fig.tools
    header = ("| | " + " | ".join(fig.tools) + " | cairn vs best other | goal |" +
              (f" {tls_with} (TLS) vs cairn-notls |" if tls else ""))
    lines = [header, "|---" * (len(fig.tools) + 3 + tls) + "|"]

    def row(label, getter, higher_better, goal=None, digits=1):
        vals = {t: getter(t) for t in fig.tools}
        ratio = ""
        best = [vals[t] for t in others if vals[t] is not None]
        if "cairn" in vals and vals["cairn"] is not None and best:
            b = max(best) if higher_better else min(best)
            if b:
                ratio = f"{vals['cairn'] / b:.2f}×"
        verdict = ""
        if goal and ratio:
            target, text = goal
            r = float(ratio[:-1])
            ok = r >= target if higher_better else r <= target
            verdict = f"{text} {'✅' if ok else '❌'}"
        cells = " | ".join(fmt(vals[t], digits) for t in fig.tools)
        tls_ratio = ""
        if tls and vals[tls_with] is not None and vals["cairn-notls"]:
            tls_ratio = f" {vals[tls_with] / vals['cairn-notls']:.3f}× |"
        elif tls:
            tls_ratio = " |"
        lines.append(f"| {label} | {cells} | {ratio} | {verdict} |{tls_ratio}")

    m = fig.median
    row("initial backup, checkpoint + datasets (MB/s)", lambda t: fig.mbps(t, "initial"), True,
        (3.0, "≥ 3×"))
    row("next checkpoint, adapters changed (s)", lambda t: m(t, "next_adapters", "seconds"), False,
        digits=2)
    row("next checkpoint, every weight perturbed (s)", lambda t: m(t, "next_all", "seconds"), False,
        digits=2)
    row("restore of the first snapshot (MB/s)", lambda t: fig.mbps(t, "restore"), True,
        (2.0, "≥ 2× restic") if "restic" in fig.tools else None)
    row("restore of the newest snapshot, 3 checkpoints (MB/s)",
        lambda t: fig.mbps(t, "restore_latest"), True,
        (2.0, "≥ 2× restic") if "restic" in fig.tools else None)
    row("stored after the first backup (MiB)", lambda t: mib(m(t, "initial", "stored_bytes")), False,
        (1.0, "≤ 1×"))
    row("stored after 3 checkpoints (MiB)", lambda t: mib(m(t, "next_all", "stored_bytes")), False,
        (1.0, "≤ 1×"))
    row("small files: initial backup (s)", lambda t: m(t, "tree_initial", "seconds"), False,
        digits=2)
    row("small files: 10 changed, incremental (s)", lambda t: m(t, "tree_incremental", "seconds"),
        False, digits=2)
    row("small files: stored (MiB)", lambda t: mib(m(t, "tree_incremental", "stored_bytes")), False,
        (1.0, "≤ 1×"))
    row("small files: restore (MB/s)", lambda t: fig.mbps(t, "tree_restore"), True,
        (2.0, "≥ 2× restic") if "restic" in fig.tools else None)
    row("4 adapter-only checkpoints: backup (MB/s)", lambda t: fig.mbps(t, "adapters_backup"), True)
    row("4 adapter-only checkpoints: stored (MiB)",
        lambda t: mib(m(t, "adapters_backup", "stored_bytes")), False, (1.0, "≤ 1×"))
    row("4 adapter-only checkpoints: restore (MB/s)", lambda t: fig.mbps(t, "adapters_restore"),
        True, (2.0, "≥ 2× restic") if "restic" in fig.tools else None)

    def peak(t, phases, key):
        v = [x for p in phases for x in fig.values(t, p, key)]
        return max(v) / 1024 if v else None

    backups = ["initial", "next_adapters", "next_all"]
    row("peak RSS, client, checkpoint backups (MiB)", lambda t: peak(t, backups, "client_rss_kb"),
        False, digits=0)
    row("peak RSS, client, small-file backups (MiB)",
        lambda t: peak(t, ["tree_initial", "tree_incremental"], "client_rss_kb"), False, digits=0)
    restores = ["restore", "restore_latest", "tree_restore", "adapters_restore", "weights_restore"]
    row("peak RSS, client, restores (MiB)", lambda t: peak(t, restores, "client_rss_kb"), False,
        digits=0)
    if "cairn" in fig.tools:
        srv = lambda p: peak("cairn", p, "server_rss_kb")
        lines.append(f"| peak RSS, cairn-server (MiB) | | | backups {fmt(srv(backups), 0)}, "
                     f"small files {fmt(srv(['tree_initial', 'tree_incremental']), 0)}, "
                     f"restores {fmt(srv(restores), 0)} | | |")
    return lines


def build_cpu_table(fig):
    lines = ["| phase | tool | wall s | client CPU s | server CPU s | (client + server) / wall |",
             "|---|---|---:|---:|---:|---:|"]
    tools = fig.tools + [t for t in S3_TOOLS if any(r["tool"] == t for r in fig.records)]
    for phase in ["initial", "next_adapters", "next_all", "restore", "restore_latest", "tree_initial",
                  "tree_incremental", "tree_restore", "adapters_backup", "adapters_restore",
                  "weights_backup", "weights_restore"]:
        for t in tools:
            s = fig.median(t, phase, "seconds")
            if s is None:
                continue
            c = fig.median(t, phase, "client_cpu") or 0
            sv = fig.median(t, phase, "server_cpu") or 0
            spread = fig.spread(t, phase, "seconds")
            wall = fmt(s, 2) + (f" ({spread[0]:.2f}–{spread[1]:.2f})" if spread else "")
            lines.append(f"| {phase} | {t} | {wall} | {fmt(c, 2)} | "
                         f"{fmt(sv, 2) if t.startswith('cairn') else ''} | {(c + sv) / s:.2f} |")
    return lines


def build_s3_table(records):
    fig = Figures(records)
    fig.tools = [t for t in S3_TOOLS if any(r["tool"] == t for r in records)]
    if not fig.tools:
        return []
    m = fig.median
    lines = ["To an S3 store (BENCH_TOOLS=\"restic-s3 cairn-s3\"): restic's own S3 backend and "
             "cairn with its S3 tier as the only tier, against the same s3rver on loopback.", "",
             "| | " + " | ".join(fig.tools) + " | cairn-s3 vs restic-s3 | goal |",
             "|---" * (len(fig.tools) + 3) + "|"]

    def row(label, getter, higher_better, goal=None, digits=1):
        vals = {t: getter(t) for t in fig.tools}
        ratio = verdict = ""
        if vals.get("cairn-s3") is not None and vals.get("restic-s3"):
            r = vals["cairn-s3"] / vals["restic-s3"]
            ratio = f"{r:.2f}×"
            if goal:
                ok = r >= goal[0] if higher_better else r <= goal[0]
                verdict = f"{goal[1]} {'✅' if ok else '❌'}"
        cells = " | ".join(fmt(vals[t], digits) for t in fig.tools)
        lines.append(f"| {label} | {cells} | {ratio} | {verdict} |")

    def per_gib(t, phase):
        n, b = m(t, phase, "requests"), m(t, phase, "bytes")
        return n / (b / 2**30) if n is not None and b else None

    row("initial backup, checkpoint + datasets (MB/s)", lambda t: fig.mbps(t, "initial"), True,
        (2.0, "≥ 2×"))
    row("restore of the first snapshot (MB/s)", lambda t: fig.mbps(t, "restore"), True,
        (2.0, "≥ 2×"))
    row("requests per GiB, initial backup", lambda t: per_gib(t, "initial"), False, (1.0, "< 1×"))
    row("requests per GiB, restore", lambda t: per_gib(t, "restore"), False, (1.0, "< 1×"))
    row("requests, next checkpoint, adapters changed", lambda t: m(t, "next_adapters", "requests"),
        False, digits=0)
    row("stored after the first backup (MiB)", lambda t: mib(m(t, "initial", "stored_bytes")), False,
        (1.0, "≤ 1×"))
    row("peak RSS, client, backups (MiB)",
        lambda t: max(fig.values(t, "initial", "client_rss_kb") or [0]) / 1024, False, digits=0)
    return lines + [""]


def build_data_path_table(fig):
    """The checkpoint-aware data path's goals (issue 10): real weights through
    the codecs alone and through each tool, and what checkpoint steps store."""
    codec = {os.path.basename(r["file"]): r for r in fig.records if r["tool"] == "codec"}
    tools = [t for t in ("restic", "borg", "cairn") if t in fig.tools]
    if not codec and not tools:
        return []
    lines = ["Checkpoint-aware data path (goals of docs/data-path.md):", "",
             "| what | " + " | ".join(tools) + " | goal |",
             "|---" * (len(tools) + 2) + "|"]

    def cells(getter, digits=2):
        return " | ".join(fmt(getter(t), digits) for t in tools)

    weights_bytes = fig.median(tools[0], "weights_backup", "bytes") if tools else None
    if weights_bytes:
        lines.append(f"| real weights, whole files through each tool: stored ratio | "
                     f"{cells(lambda t: weights_bytes / m if (m := fig.median(t, 'weights_backup', 'stored_bytes')) else None)} | |")
    adapter = float(os.environ.get("BENCH_ADAPTER_BYTES", "0") or 0)
    ckpt = float(os.environ.get("BENCH_CKPT_BYTES", "0") or 0)

    def growth(t, phase, before):
        a, b = fig.median(t, phase, "stored_bytes"), fig.median(t, before, "stored_bytes")
        return None if a is None or b is None else a - b

    if adapter and tools:
        lines.append("| adapter-only step: stored growth / changed bytes | " +
                     cells(lambda t: (g / adapter) if (g := growth(t, "next_adapters", "initial")) is not None else None) +
                     " | ≤ 1.5× |")
    if ckpt and tools:
        lines.append("| full-training step: stored growth / checkpoint size | " +
                     cells(lambda t: (g / ckpt) if (g := growth(t, "next_all", "next_adapters")) is not None else None) +
                     " | ≤ 0.35× |")
    lines.append("")
    if codec:
        lines += ["Real weights through the codecs alone, tensor by tensor as the backup cuts them, "
                  "one core (cairn_codec_weights; zstd-1 is restic's auto level's neighbour and "
                  "cairn's general path, LZ4 borg's default):", "",
                  "| weights | tensor MiB | zstd-1 | zstd-3 | LZ4 | cairn planes | goal | "
                  "cairn MB/s compress / decompress (goal ≥ 800 / 1500) |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, label, goal in (("vad-bf16.safetensors", "BF16 (Silero VAD)", 1.50),
                                  ("pose-fp16.safetensors", "FP16 (MediaPipe pose)", 1.15),
                                  ("vad-fp32.safetensors", "FP32 (Silero VAD)", 1.18)):
            r = codec.get(name)
            if not r:
                continue
            ok = "✅" if r["cairn_ratio"] >= goal else "❌"
            fast = "✅" if r["cairn_compress_mbs"] >= 800 and r["cairn_decompress_mbs"] >= 1500 else "❌"
            lines.append(f"| {label} | {r['tensor_bytes'] / 2**20:.2f} | {r['zstd1_ratio']:.3f}× | "
                         f"{r['zstd3_ratio']:.3f}× | {r['lz4_ratio']:.3f}× | "
                         f"{r['cairn_ratio']:.3f}× | ≥ {goal:.2f}× {ok} | "
                         f"{r['cairn_compress_mbs']:.0f} / {r['cairn_decompress_mbs']:.0f} {fast} |")
        lines.append("")
    return lines


def report(fig, results_path):
    date = os.environ.get("BENCH_DATE") or time.strftime(
        "%Y-%m-%d %H:%M %Z", time.localtime(os.path.getmtime(results_path)))
    out = [f"**Latest run:** {date}; {os.environ.get('BENCH_MACHINE', '?')}.",
           f"Versions: {os.environ.get('BENCH_VERSIONS', '?')}.",
           f"Data: {os.environ.get('BENCH_SETTINGS', '?')}.",
           ""]
    reps = fig.reps
    out.append(f"Medians of {reps} repetitions." if reps > 1 else
               "Single runs (BENCH_REPS=1): no medians.")
    for n in os.environ.get("BENCH_NOTES", "").splitlines():
        if n.strip():
            out.append(f"Note: {n.strip()}.")
    out += ["", *build_table(fig), "", *build_s3_table(fig.records), *build_data_path_table(fig),
            "cairn vs best other: cairn's figure divided by the better of restic's and borg's "
            "(MB/s: above 1 means cairn is faster; seconds, MiB: below 1 means cairn is better).",
            "",
            "Where the time goes (client = the restic, borg or cairn-agent process; "
            "server = cairn-server; min–max over repetitions in brackets):", "",
            *build_cpu_table(fig)]
    return "\n".join(out) + "\n"


def update_docs(path, block, begin=BEGIN, end=END, section=SECTION):
    with open(path) as f:
        text = f.read()
    generated = f"{begin}\n{block}{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        text = head + generated + tail
    else:
        if section not in text:
            text = text.rstrip("\n") + f"\n\n{section}\n\nReproduce: `make bench` (bench/README.md).\n"
        text = text.rstrip("\n") + f"\n\n{generated}\n"
    with open(path, "w") as f:
        f.write(text)


def continuous_report(records):
    """bench/continuous.sh: ordered incrementals, continuous latency, idle cost."""
    def rows(**want):
        return [r for r in records if all(r.get(k) == v for k, v in want.items())]

    def med(rs, key):
        v = [r[key] for r in rs if key in r]
        return statistics.median(v) if v else None

    def span(rs, key):
        v = [r[key] for r in rs if key in r]
        return f" ({min(v):.2f}–{max(v):.2f})" if len(v) > 1 else ""

    inc = rows(phase="incremental")
    tools = [t for t in TOOLS if any(r["tool"] == t for r in inc)]
    others = [t for t in tools if t != "cairn"]
    reps = max((r["rep"] for r in inc), default=0)
    out = [f"**Latest run:** {os.environ.get('BENCH_DATE', '?')}; "
           f"{os.environ.get('BENCH_MACHINE', '?')}.",
           f"Versions: {os.environ.get('BENCH_VERSIONS', '?')}.",
           f"Data: {os.environ.get('BENCH_SETTINGS', '?')}."]
    for n in os.environ.get("BENCH_NOTES", "").splitlines():
        if n.strip():
            out.append(f"Note: {n.strip()}.")
    out += ["", f"**(a) Incremental backup, ordered while the daemon watches** (seconds, "
            f"median of {reps}, min–max in brackets; cairn: `cairnctl backup --agent A` from the "
            "order to the committed snapshot):", "",
            "| cache | " + " | ".join(tools) + " | cairn faster than the faster other by | goal |",
            "|---" * (len(tools) + 3) + "|"]
    for cache in ["warm", "cold"]:
        vals = {t: med(rows(phase="incremental", tool=t, cache=cache), "seconds") for t in tools}
        cells = " | ".join(fmt(vals[t], 3) + span(rows(phase="incremental", tool=t, cache=cache),
                                                   "seconds") for t in tools)
        best = [vals[t] for t in others if vals[t] is not None]
        ratio = verdict = ""
        if best and vals.get("cairn"):
            r = min(best) / vals["cairn"]
            ratio = f"{r:.1f}×"
            verdict = f"≥ 20× {'✅' if r >= 20 else '❌'}"
        out.append(f"| {cache} | {cells} | {ratio} | {verdict} |")
    out += ["", "Where cairn's time goes (medians, seconds after `cairnctl backup` started; "
            "the job's times are the server's clock, on the same host):", "",
            "| cache | order accepted | agent took it | snapshot committed | cairnctl returned | "
            "after `sync` (wall) | cairn-agent CPU | cairn-server CPU | cairnctl CPU |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for cache in ["warm", "cold"]:
        rs = rows(phase="incremental", tool="cairn", cache=cache)
        if not rs:
            continue
        cells = [fmt(med(rs, k), 3) for k in
                 ["created", "started", "finished", "seconds_before_sync", "seconds"]]
        cells += [fmt(med(rs, k), 2) for k in ["agent_cpu", "server_cpu", "client_cpu"]]
        out.append(f"| {cache} | " + " | ".join(cells) + " |")
    lat = rows(phase="continuous")
    if lat:
        seen = [r["seconds"] for r in lat]
        committed = [r["committed_seconds"] for r in lat]
        out += ["", f"**(b) Continuous mode** (`continuous: true`, interval 1 s, quiet 1 s; "
                f"{len(lat)} snapshots): seconds from the last write to", "",
                "| | median | max | goal |", "|---|---:|---:|---|",
                f"| the snapshot listed by `cairnctl snapshots` (polled every 50 ms) | "
                f"{fmt(statistics.median(seen), 2)} | {fmt(max(seen), 2)} | "
                f"≤ 3 s {'✅' if max(seen) <= 3 else '❌'} |",
                f"| its commit (`created_unix_ms`, server clock) | "
                f"{fmt(statistics.median(committed), 2)} | {fmt(max(committed), 2)} | |"]
    for r in rows(phase="idle"):
        s = r["seconds"]
        out += ["", f"**(c) The daemon at rest**, watching the tree for {s:.0f} s "
                "(continuous policy applied, nothing changing):", "",
                "| cairn-agent CPU (% of one core) | wake-ups / s | RSS at start / end (MiB) | "
                "peak RSS since start-up (MiB) | threads | cairn-server CPU (%) |",
                "|---:|---:|---:|---:|---:|---:|",
                f"| {r['agent_cpu'] / s * 100:.3f} | {r['wakeups'] / s:.1f} | "
                f"{r['rss_start_kb'] / 1024:.1f} / {r['rss_end_kb'] / 1024:.1f} | "
                f"{r['hwm_kb'] / 1024:.0f} | {r['threads']} | {r['server_cpu'] / s * 100:.3f} |"]
        if r.get("snapshots"):
            out.append(f"\n{r['snapshots']} snapshots were committed while idle.")
    return "\n".join(out) + "\n"


def load_report(r):
    """bench/load.sh: cairn-loadgen's LoadReport against the issue's goals."""
    def n(key):
        return float(r.get(key, 0) or 0)

    def ok(good):
        return "✅" if good else "❌"

    agents, concurrent = int(n("agents")), int(n("max_concurrent"))
    lost = int(n("backups_failed")) + (0 if r.get("restore_ok") else 1)
    out = [f"**Latest run:** {os.environ.get('BENCH_DATE', '?')}; "
           f"{os.environ.get('BENCH_MACHINE', '?')}.",
           f"Version: {os.environ.get('BENCH_VERSIONS', '?')}.",
           f"Load: {os.environ.get('BENCH_SETTINGS', '?')}.",
           "",
           "| | measured | goal |", "|---|---:|---|",
           f"| agents enrolled / holding their control stream at the end | "
           f"{agents} / {int(n('agents_connected'))} | 1,000 "
           f"{ok(n('agents_connected') >= 1000)} |",
           f"| backups at once (allowed / seen) | {concurrent} / {int(n('peak_concurrent'))} | "
           f"50 {ok(n('peak_concurrent') >= 50)} |",
           f"| backups committed / failed | {int(n('backups_committed'))} / "
           f"{int(n('backups_failed'))} | none failed {ok(n('backups_failed') == 0)} |",
           f"| restore during the storm | "
           f"{'byte-identical' if r.get('restore_ok') else 'FAILED ' + r.get('restore_error', '')}"
           f" in {n('restore_seconds'):.1f} s | finishes {ok(bool(r.get('restore_ok')))} |",
           f"| bytes uploaded / unique | {fmt(mib(n('bytes_uploaded')))} / {fmt(mib(n('bytes_unique')))} "
           f"MiB = {n('upload_ratio'):.3f}× ({int(n('chunks_waited')):,} chunks waited for) | "
           f"≤ 1.1× {ok(0 < n('upload_ratio') <= 1.1)} |",
           f"| FindMissingChunks latency, probe in a process of its own "
           f"({int(n('own_probe_calls')):,} calls, 256 ids every 100 ms): p50 / p99 / max | "
           f"{n('own_probe_p50_ms'):.1f} / {n('own_probe_p99_ms'):.1f} / "
           f"{n('own_probe_max_ms'):.1f} ms | p99 ≤ 50 ms "
           f"{ok(0 < n('own_probe_p99_ms') <= 50)} |",
           f"| FindMissingChunks latency, probe inside cairn-loadgen ({int(n('probe_calls')):,} "
           f"calls; shares that process with the agents): p50 / p99 / max | "
           f"{n('probe_p50_ms'):.1f} / {n('probe_p99_ms'):.1f} / {n('probe_max_ms'):.1f} ms | |",
           f"| FindMissingChunks latency as the backing-up agents saw it "
           f"({int(n('find_missing_calls')):,} calls; their own CPU shares the cores): "
           f"p50 / p99 / max | {n('find_missing_p50_ms'):.1f} / "
           f"{n('find_missing_p99_ms'):.1f} / {n('find_missing_max_ms'):.1f} ms | |",
           f"| server peak RSS | {fmt(mib(n('server_peak_rss_bytes')))} MiB | ≤ 1 GiB "
           f"{ok(0 < n('server_peak_rss_bytes') <= 1 << 30)} |",
           f"| server peak threads | {int(n('server_peak_threads'))} | |",
           f"| server CPU / per GiB uploaded | {n('server_cpu_seconds'):.1f} s / "
           f"{n('server_cpu_seconds_per_gib'):.1f} s | |",
           f"| storm of full backups / whole run | {n('storm_seconds'):.1f} s / "
           f"{n('seconds'):.1f} s | |",
           f"| cairn-loadgen peak RSS (all agents) | {fmt(mib(n('loadgen_peak_rss_bytes')))} MiB | |"]
    for e in r.get("errors", []):
        out.append(f"\nError: {e}")
    if lost:
        out.append(f"\n**{lost} failures: see the errors above.**")
    return "\n".join(out) + "\n"


def catalog_scale_report(r):
    """bench/catalog_scale.sh: cairn-catalog-scale's CatalogScaleReport, a row per size."""
    def n(d, key):
        return float(d.get(key, 0) or 0)

    out = [f"**Latest run:** {os.environ.get('BENCH_DATE', '?')}; "
           f"{os.environ.get('BENCH_MACHINE', '?')}.",
           f"Version: {os.environ.get('BENCH_VERSIONS', '?')}.",
           f"Catalog: {int(n(r, 'chunks_per_pack'))} chunks of 64 KiB per pack, "
           f"{int(n(r, 'chunks_per_file'))} chunks per file, a directory tree per pack, "
           f"a snapshot per step; FindMissing batches of "
           f"{int(n(r['steps'][0], 'find_missing_batch')) if r.get('steps') else 0} ids, "
           f"half held.",
           "",
           "| chunk rows | rows recorded/s | FindMissing p50 / p99 | µs per id "
           "| dry-run GC | GC memory | GC ns per chunk | catalog B/chunk | chunk index B/chunk |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in r.get("steps", []):
        out.append(f"| {int(n(s, 'chunks')):,} | {n(s, 'chunks_per_second'):,.0f} "
                   f"| {n(s, 'find_missing_p50_ms'):.2f} / {n(s, 'find_missing_p99_ms'):.2f} ms "
                   f"| {n(s, 'find_missing_us_per_id'):.2f} | {n(s, 'gc_seconds'):.1f} s "
                   f"| {fmt(mib(n(s, 'gc_memory_bytes')))} MiB | {n(s, 'gc_ns_per_chunk'):,.0f} "
                   f"| {n(s, 'bytes_per_chunk'):.0f} | {n(s, 'index_bytes_per_chunk'):.0f} |")
    bulk = [s for s in r.get("steps", []) if n(s, "bulk_seconds") > 0]
    if bulk:
        out.append("\nRows recorded/s is timed over the last rows of each step, recorded the "
                   "server's way (one durable transaction per pack); the rest was bulk-loaded "
                   "(`--timed-rows`): " + "; ".join(
                       f"{int(n(s, 'chunks')):,}: {int(n(s, 'timed_chunks')):,} timed, "
                       f"bulk load {n(s, 'bulk_seconds'):.0f} s" for s in bulk) + ".")
    out.append(f"\nPeak RSS of the run {fmt(mib(n(r, 'peak_rss_bytes')))} MiB; "
               f"{n(r, 'seconds'):.0f} s in all.")
    return "\n".join(out) + "\n"


def ingest_report(records):
    """bench/ingest.sh: a record per repetition and mode; medians, min–max in brackets."""
    modes = [("data", "TLS for the calls, chunks on the data port, loopback TCP (as deployed)"),
             ("tls", "everything over TLS on loopback TCP (data_listen \"off\")"),
             ("local", "over the local Unix socket, no TLS (receive, checksum, write)")]
    some = [r for r in records if r.get("mode", "tls") == "tls"] or records
    gib = statistics.median(r["uploaded_bytes"] for r in some) / 2**30
    out = [f"**Latest run:** {os.environ.get('BENCH_DATE', '?')}; "
           f"{os.environ.get('BENCH_MACHINE', '?')}.",
           f"Version: {os.environ.get('BENCH_VERSIONS', '?')}.",
           f"A full backup of {gib:.2f} GiB of incompressible files to a fresh server with a "
           f"local tier, {len(some)} repetitions per way in; medians, min–max in brackets. "
           "Goal: ≤ 1 ns of server CPU per byte (1.07 CPU-s per GiB).",
           "",
           "| agent to server | server ns per byte | server CPU-s per GiB | server CPU-s "
           "| agent CPU-s | wall s | MB/s |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for mode, label in modes:
        rs = [r for r in records if r.get("mode", "tls") == mode]
        if not rs:
            continue
        ns = [r["server_cpu"] * 1e9 / r["uploaded_bytes"] for r in rs]
        per_gib = [r["server_cpu"] / (r["uploaded_bytes"] / 2**30) for r in rs]

        def cell(vals, digits=2):
            return (f"{statistics.median(vals):.{digits}f} "
                    f"({min(vals):.{digits}f}–{max(vals):.{digits}f})")
        ok = "✅" if statistics.median(ns) <= 1.0 else "❌"
        out.append(f"| {label} | {cell(ns)} {ok} | {cell(per_gib)} "
                   f"| {cell([r['server_cpu'] for r in rs])} "
                   f"| {cell([r['agent_cpu'] for r in rs])} | {cell([r['seconds'] for r in rs], 1)} "
                   f"| {statistics.median(r['uploaded_bytes'] / r['seconds'] / 1e6 for r in rs):.0f} |")
    return "\n".join(out) + "\n"


def read_json(path):
    with open(path) as f:
        return json.load(f)


# The separate runs: flag -> (report of its input file, title, docs block).
MODES = {
    "--catalog-scale": (lambda p: catalog_scale_report(read_json(p)),
                        "cairn catalog at scale (bench/catalog_scale.sh)",
                        (SCALE_BEGIN, SCALE_END, SCALE_SECTION)),
    "--load": (lambda p: load_report(read_json(p)), "cairn load run (bench/load.sh)",
               (LOAD_BEGIN, LOAD_END, LOAD_SECTION)),
    "--ingest": (lambda p: ingest_report(load(p)), "cairn ingest cost (bench/ingest.sh)",
                 (INGEST_BEGIN, INGEST_END, INGEST_SECTION)),
    "--continuous": (lambda p: continuous_report(load(p)),
                     "cairn continuous protection benchmark (bench/continuous.sh)",
                     (CONT_BEGIN, CONT_END, CONT_SECTION)),
}


def main():
    args = sys.argv[1:]
    if args[0] in MODES:
        build, title, block = MODES[args[0]]
        text, args = build(args[1]), args[1:]
    else:
        text = report(Figures(load(args[0])), args[0])
        title, block = "cairn vs restic vs borg: end-to-end benchmark (bench/run.sh)", (
            BEGIN, END, SECTION)
    with open(args[1], "w") as f:
        f.write(f"# {title}\n\n" + text)
    if len(args) > 2 and os.environ.get("BENCH_DOCS", "1") == "1":
        update_docs(args[2], text, *block)


if __name__ == "__main__":
    main()

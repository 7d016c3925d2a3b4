#!/usr/bin/env python3
"""Shrinks corpus/<target> to at most LIMIT inputs (default 400), keeping the most edge coverage.

An edge-only libFuzzer merge (`-merge=1 -use_counters=0 -use_cmp=0`) records which edges each input
covers; the inputs that add the most edges not yet covered are then kept, greedily, until LIMIT.
Run from fuzz/ after `cargo +nightly fuzz build`:  python3 shrink.py <target> [LIMIT]
"""

import os
import shutil
import subprocess
import sys
import tempfile

target = sys.argv[1]
limit = int(sys.argv[2]) if len(sys.argv) > 2 else 400
binary = os.path.join("target", "x86_64-unknown-linux-gnu", "release", target)
corpus = os.path.join("corpus", target)
env = dict(os.environ, ASAN_OPTIONS="detect_odr_violation=0")

with tempfile.TemporaryDirectory() as work:
    empty, control = os.path.join(work, "empty"), os.path.join(work, "control")
    os.mkdir(empty)
    subprocess.run(
        [binary, "-merge=1", "-use_counters=0", "-use_cmp=0", "-rss_limit_mb=2048",
         f"-merge_control_file={control}", empty, corpus],
        env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    lines = open(control).read().split("\n")
    count = int(lines[0])
    files = lines[2:2 + count]
    edges = {}
    for line in lines[2 + count:]:
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "COV":
            edges[int(parts[1])] = set(parts[2:])
    everything = set().union(*edges.values()) if edges else set()
    sizes = {i: os.path.getsize(files[i]) for i in edges}
    covered, kept = set(), []
    while len(kept) < limit:
        # Most new edges first; the smaller input on a tie.
        best = max(edges, key=lambda i: (len(edges[i] - covered), -sizes[i]), default=None)
        if best is None or not edges[best] - covered:
            break
        covered |= edges[best]
        kept.append(files[best])
    keep = os.path.join(work, "keep")
    os.mkdir(keep)
    for path in kept:
        shutil.copy(path, keep)
    before = len(os.listdir(corpus))
    shutil.rmtree(corpus)
    shutil.copytree(keep, corpus)
    print(f"{target}: {before} -> {len(kept)} inputs, {len(covered)}/{len(everything)} edges")

"""Plot a bench.py run: time per op for each workload and implementation.

    python bench/plot.py bench/results-quick.json --out bench/results-quick.png
    python bench/plot.py bench/results-quick.json bench/results-quick-compiled.json \
        --label interpreted --label compiled --out bench/results.png

One panel for dumps and one for loads; a group of bars per workload, one bar per
implementation, on a log scale (the implementations span two orders of
magnitude).  With several result files, brined's bars from each file are drawn
side by side under the file's label (the peers are taken from the first file).
matplotlib is a bench-only dependency (the `bench` extra).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

# Drawing order and colours: the references first, brined last so it stands out.
PEERS = ("pickle", "pypickle", "cloudpickle", "dill")
COLOURS = {
    "pickle": "#4c72b0",
    "pypickle": "#8c8c8c",
    "cloudpickle": "#55a868",
    "dill": "#c44e52",
}
BRINED_COLOURS = ("#dd8452", "#8172b3", "#937860", "#da8bc3")
LABELS = {"pickle": "C pickle", "pypickle": "pure-Python pickle"}


def medians(run: dict[str, Any], impl: str, op: str) -> dict[str, float]:
    """Median seconds per op of one impl, by workload, over the cells that ran."""
    out = {}
    for result in run["results"]:
        cell = result["cells"].get(impl)
        if cell and cell.get("status") == "ok" and op in cell.get("median", {}):
            out[result["workload"]] = cell["median"][op]
    return out


def series(
    runs: list[dict[str, Any]], labels: list[str], op: str
) -> list[tuple[str, str, dict[str, float]]]:
    """(legend label, colour, medians) for every bar of one panel."""
    first = runs[0]
    bars = [
        (LABELS.get(impl, impl), COLOURS[impl], medians(first, impl, op))
        for impl in PEERS
    ]
    for i, (run, label) in enumerate(zip(runs, labels, strict=True)):
        name = f"brined ({label})" if label else "brined"
        bars.append((name, BRINED_COLOURS[i % 4], medians(run, "brined", op)))
    return [bar for bar in bars if bar[2]]


def plot(runs: list[dict[str, Any]], labels: list[str], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = [r["workload"] for r in runs[0]["results"]]
    fig, axes = plt.subplots(1, 2, figsize=(14, 0.55 * len(workloads) + 2), sharey=True)
    for ax, op in zip(axes, ("dumps", "loads"), strict=True):
        bars = series(runs, labels, op)
        height = 0.8 / len(bars)
        for j, (name, colour, values) in enumerate(bars):
            ys = [i + j * height for i, w in enumerate(workloads) if w in values]
            xs = [values[w] for w in workloads if w in values]
            ax.barh(ys, xs, height=height, color=colour, label=name)
        ax.set_xscale("log")
        ax.set_title(f"{op}: seconds per op (log scale, shorter is faster)")
        ax.grid(axis="x", which="both", alpha=0.3)
        ax.invert_yaxis()
    axes[0].set_yticks([i + 0.4 - 0.4 / len(bars) for i in range(len(workloads))])
    axes[0].set_yticklabels(workloads)
    axes[1].legend(loc="lower right", fontsize="small")
    meta = runs[0]["meta"]
    fig.suptitle(
        f"brined bench: {meta['python']}, {meta['cpu']} x{meta['cores']}, "
        f"{meta['date']}"
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path, help="bench.py --json files")
    parser.add_argument(
        "--label", action="append", default=[], help="one per file, for brined's bars"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results.png"))
    args = parser.parse_args(argv)
    labels = args.label or [""] * len(args.results)
    if len(labels) != len(args.results):
        parser.error("give one --label per results file, or none")
    runs = [json.loads(path.read_text()) for path in args.results]
    plot(runs, labels, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

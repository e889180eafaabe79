"""Merges the tables of several `make bench` runs (their results.md) into one
whose figures are ranges, lowest–highest, for bench/README.md.

usage: python3 bench/ranges.py RESULTS.md RESULTS.md RESULTS.md...

Rows are matched by position (the same bench/run.sh prints the same rows) and
must read the same apart from their numbers; each number becomes the range of
that number over the runs, each target says in how many runs it was met.
"""
import re
import sys

NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")


def rows(path):
    return [line.rstrip("\n") for line in open(path) if line.startswith("| ") and not line.startswith("| ---")]


def value(text):
    return float(text.replace(",", ""))


def merge(cells):
    if cells[0].endswith(": met") or cells[0].endswith(": **missed**"):
        met = sum(1 for cell in cells if cell.endswith(": met"))
        goal = cells[0].rsplit(":", 1)[0]
        verdict = "met" if met == len(cells) else "**missed**" if met == 0 else f"met in {met} of {len(cells)} runs"
        return f"{goal}: {verdict}"
    skeletons = {NUMBER.sub("#", cell) for cell in cells}
    if len(skeletons) != 1:
        sys.exit(f"ranges.py: the runs' rows differ: {cells}")
    numbers = [NUMBER.findall(cell) for cell in cells]
    parts = NUMBER.split(cells[0])
    out = [parts[0]]
    for index, part in enumerate(parts[1:]):
        texts = sorted((found[index] for found in numbers), key=value)
        low, high = texts[0], texts[-1]
        out.append(low if value(low) == value(high) else f"{low}–{high}")
        out.append(part)
    return "".join(out)


def main(paths):
    runs = [rows(path) for path in paths]
    if len({len(run) for run in runs}) != 1:
        sys.exit("ranges.py: the runs have different numbers of rows")
    for index, row in enumerate(runs[0]):
        cells = [run[index].strip("|").split(" | ") for run in runs]
        merged = [merge([cell[column].strip() for cell in cells]) for column in range(len(cells[0]))]
        print("| " + " | ".join(merged) + " |")
        if index == 0:
            print("| --- " * len(merged) + "|")


if __name__ == "__main__":
    main(sys.argv[1:])

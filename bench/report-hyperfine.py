#!/usr/bin/python3
"""Print hyperfine results as a Markdown table of medians and 90th percentiles.

Usage: report-hyperfine.py LABEL JSON REQUESTS [LABEL JSON REQUESTS ...]

JSON is a file written by hyperfine --export-json with one command, and
REQUESTS the token endpoint requests per run that the caller counted at
the server. The ratio column divides by the median of the row labelled
"flowcred token", or of the first row when there is none.
"""
import json
import math
import sys


def percentile(sorted_values, fraction):
    """Return the nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(len(sorted_values) * fraction))
    return sorted_values[rank - 1]


def median(sorted_values):
    n = len(sorted_values)
    middle = n // 2
    if n % 2:
        return sorted_values[middle]
    return (sorted_values[middle - 1] + sorted_values[middle]) / 2


def main(argv):
    if len(argv) < 3 or len(argv) % 3 != 0:
        sys.exit("usage: report-hyperfine.py LABEL JSON REQUESTS ...")
    rows = []
    for i in range(0, len(argv), 3):
        label, path, requests = argv[i:i + 3]
        with open(path, encoding="utf-8") as f:
            result = json.load(f)["results"][0]
        times = sorted(t * 1000 for t in result["times"])
        rows.append((label, len(times), median(times), percentile(times, 0.9),
                     requests))
    reference = next((row[2] for row in rows if row[0] == "flowcred token"),
                     rows[0][2])
    print("| command | runs | median ms | p90 ms | median / flowcred token | "
          "token requests per run |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, runs, med, p90, requests in rows:
        print(f"| {label} | {runs} | {med:.1f} | {p90:.1f} | "
              f"{med / reference:.2f} | {requests} |")


if __name__ == "__main__":
    main(sys.argv[1:])

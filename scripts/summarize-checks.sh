#!/bin/sh
# Adds up the Check summaries ("Checks: N, Failures: F, Errors: E") of
# every test log under DIR and prints one closing line.
set -eu

dir=${1:-.}
find "$dir" -name '*.log' ! -name 'test-suite.log' ! -name 'config.log' \
	-exec grep -h -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' {} + |
awk -F'[ ,]+' '
	{ checks += $3; failed += $5 + $7 }
	END {
		if (checks == 0) { print "check: no Check summary found"; exit 1 }
		printf "check: %d passed, %d failed\n", checks - failed, failed
		exit failed != 0
	}'

#!/bin/sh
# Adds up the results in every test log under DIR: Check's summaries
# ("Checks: N, Failures: F, Errors: E") and the script tests' closing
# lines ("N passed, N failed"), and prints one closing line.
set -eu

dir=${1:-.}
find "$dir" -name '*.log' ! -name 'test-suite.log' ! -name 'config.log' \
	-exec grep -h -E '^([0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+|[0-9]+ passed, [0-9]+ failed)' {} + |
awk -F'[ ,]+' '
	/Checks:/ { passed += $3 - $5 - $7; failed += $5 + $7; next }
	{ passed += $1; failed += $3 }
	END {
		if (passed + failed == 0) { print "check: no test results found"; exit 1 }
		printf "check: %d passed, %d failed\n", passed, failed
		exit failed != 0
	}'

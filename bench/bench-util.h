/* Helpers shared by the benchmark programs: clocks, order statistics,
 * the harness environment and the test token server's control API.
 *
 * The programs run inside tests/harness/with-services.sh (bench/run.sh
 * starts them there) and print their results as Markdown on standard
 * output. A helper that cannot do its job prints why on standard error
 * and exits with status 1, so a benchmark never reports a figure it did
 * not measure.
 */
#ifndef FLOWCRED_BENCH_UTIL_H
#define FLOWCRED_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "flowcred.h"

/* Names the benchmarks use in the keyring and the configuration file
 * that bench/run.sh writes. */
#define BENCH_CONNECTOR "bench"
#define BENCH_CANNED_CONNECTOR "bench-canned"
#define BENCH_MACHINE_USER "bench-machine"
#define BENCH_INTERACTIVE_USER "bench-interactive"

/* User and client of the fixture realm "test" (tests/server/fixture.json). */
#define BENCH_IFS_USER "IFSAPP"
#define BENCH_IFS_PASSWORD "Passw0rd!"
#define BENCH_CLIENT_ID "NC_FlowPassCred"
#define BENCH_CLIENT_SECRET "flow-secret-1"
#define BENCH_SCOPE "openid microprofile-jwt"

/* Size of the token buffers, well above the 700 bytes of the fixture's
 * access tokens. */
#define BENCH_TOKEN_MAX 16384

/* Summary of a sample. */
struct bench_stats {
	size_t n;
	double median;
	double p90;
	double min;
	double max;
};

/* Returns the monotonic clock in nanoseconds. */
int64_t bench_now_ns(void);

/* Computes the median, 90th percentile (nearest rank), minimum and
 * maximum of values[0..n), which it sorts in place. n must be > 0. */
void bench_stats_compute(double *values, size_t n, struct bench_stats *out);

/* Returns the value of an environment variable, or exits when it is
 * missing or empty. */
const char *bench_env(const char *name);

/* Returns the configuration file bench/run.sh wrote:
 * $FLOWCRED_TEST_DIR/bench.conf. Static storage. */
const char *bench_config_path(void);

/* Returns the token endpoint URL of realm "test". Static storage. */
const char *bench_token_url(void);

/* Opens a context on bench_config_path() with logging off, or exits. */
flowcred_ctx *bench_open(void);

/* Exits with a message naming what failed, its status and detail. */
void bench_fail_status(const char *what, flowcred_status status,
		       const char *detail) __attribute__((noreturn));

/* Sends a request to the token server's control API with body (NULL for
 * none) and returns the HTTP status; *response, if not NULL, receives the
 * response body (free()). Exits when the server cannot be reached. */
long bench_control(const char *method, const char *path, const char *body,
		   char **response);

/* Clears the requests the server recorded (POST /_test/reset). */
void bench_server_reset(void);

/* Returns how many recorded requests are password grants and, through
 * *token_requests if not NULL, how many went to a token endpoint. Only
 * records whose id is greater than after_id count. */
size_t bench_server_count_grants(long after_id, size_t *token_requests);

/* Returns the id of the last request the server recorded, 0 for none. */
long bench_server_last_id(void);

/* Returns the raw body of the last password grant the server recorded,
 * in a buffer to wipe and free, or NULL when there is none. */
char *bench_server_last_grant_body(void);

/* Returns the request body of the benchmark user's password grant,
 * form-encoded as flowcred sends it, in a buffer to wipe and free. */
char *bench_grant_body(void);

/* Installs realm "bench-canned" (connector "bench-canned" in the
 * configuration). Its token endpoint returns, to every request, the
 * response realm "test" gave to a password grant, so any password
 * obtains a token. */
void bench_server_put_canned_realm(void);

/* Compares two doubles for qsort(). */
int bench_compare_doubles(const void *a, const void *b);

#endif

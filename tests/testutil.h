/* Helpers shared by the library's Check tests: configuration files, the
 * test token server's control API, keyring items and detail checks.
 *
 * Every helper that can fail aborts the current test through Check, so a
 * test reads as a list of steps and assertions. The helpers expect the
 * environment of tests/harness/with-services.sh.
 */
#ifndef FLOWCRED_TESTUTIL_H
#define FLOWCRED_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <check.h>
#include <json-c/json.h>

#include "flowcred.h"

/* Client and users of the fixture realm "test" (tests/server/fixture.json). */
#define TU_CLIENT_ID "NC_FlowPassCred"
#define TU_CLIENT_SECRET "flow-secret-1"
#define TU_SPECIAL_CLIENT_ID "NC_Special"
#define TU_SPECIAL_CLIENT_SECRET "s+e&c=r%e\"t!: \xe2\x9c\x93 \xc3\xbc"
#define TU_NODIRECT_CLIENT_ID "NC_NoDirect"
#define TU_USER "IFSAPP"
#define TU_PASSWORD "Passw0rd!"
#define TU_SPECIAL_USER "j\xc3\xb6hn+&=%\"!: doe"
#define TU_SPECIAL_PASSWORD "p\xc3\xa4 ss+&=%\"!:w\xc3\xb6rd"
/* Lifetime of the fixture's access tokens, in seconds. */
#define TU_FIXTURE_EXPIRES_IN 180
/* Scope sent when a connector configures none (IFS Cloud's documented
 * password grant scope). */
#define TU_DEFAULT_SCOPE "openid microprofile-jwt"

/* Runs every test of suite, prints Check's summary and returns the exit
 * status for the test driver. */
int tu_run_suite(Suite *suite);

/* Returns the value of an environment variable the harness exports, or
 * aborts the test when it is missing. */
const char *tu_env(const char *name);

/* Returns a new name, unique in this process tree, that starts with
 * prefix. The caller frees it. */
char *tu_unique(const char *prefix);

/* Writes content to a new file in $FLOWCRED_TEST_DIR whose name starts
 * with name, sets its mode to exactly mode, and returns its path, which
 * the caller frees. */
char *tu_write_file(const char *name, mode_t mode, const char *content);

/* Like tu_write_file() with printf-style content. */
char *tu_write_filef(const char *name, mode_t mode, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Returns the token endpoint URL of a realm of the test server. The
 * caller frees it. */
char *tu_token_url(const char *realm);

/* Writes a configuration file of mode 0600 with one connector group
 * named connector that uses realm, client_id and client_secret, followed
 * by the lines of extra (may be NULL or ""). Returns its path. */
char *tu_write_config(const char *connector, const char *realm,
		      const char *client_id, const char *client_secret,
		      const char *extra);

/* Opens a context and installs a log function that copies every message,
 * debug included, to stderr and to the text tu_log_text() returns. */
flowcred_ctx *tu_open(const char *config_path);

/* Returns all log messages captured since the process started, one a
 * line. */
const char *tu_log_text(void);

/* Sends a request to the test server's control API. body may be NULL.
 * Returns the HTTP status; *response, if not NULL, receives the body,
 * which the caller frees. */
long tu_http(const char *method, const char *path, const char *body,
	     char **response);

/* Clears the requests the test server recorded (POST /_test/reset). */
void tu_server_reset(void);

/* Installs a realm from its JSON text (PUT /_test/realms/NAME). */
void tu_server_put_realm(const char *name, const char *json);

/* Installs a realm whose token endpoint returns a fixed response.
 * headers is a JSON object text or NULL; body may be NULL. */
void tu_server_put_canned(const char *name, int status, const char *headers,
			  const char *body);

/* Installs a realm whose token endpoint never responds. */
void tu_server_put_hang(const char *name);

/* Returns the requests the test server recorded since the last reset
 * (GET /_test/requests) as a JSON array; release with json_object_put(). */
struct json_object *tu_server_requests(void);

/* Returns the string member key of a JSON object, or NULL. */
const char *tu_json_string(struct json_object *obj, const char *key);

/* Returns the number of recorded requests that are password grants. */
size_t tu_count_grants(struct json_object *requests);

/* Returns the number of recorded requests to a token endpoint. Requests
 * to the logout endpoint, which a context may send when it closes, are
 * not counted. */
size_t tu_count_token_requests(struct json_object *requests);

/* Returns the only recorded token endpoint request, or aborts the test
 * when there is not exactly one. The object is borrowed from requests. */
struct json_object *tu_only_token_request(struct json_object *requests);

/* Returns the form fields (the "form" member) of the last recorded token
 * endpoint request, or aborts the test when there is none. The object is
 * borrowed from requests. */
struct json_object *tu_last_form(struct json_object *requests);

/* Stores a keyring item and aborts the test unless it succeeds. */
void tu_store(flowcred_ctx *ctx, const char *connector, const char *flow_user,
	      const char *ifs_user, const char *password);

/* Calls flowcred_get_token(), with a buffer of its own when token is
 * NULL; returns its status and fills the outputs that are not NULL. */
flowcred_status tu_get_token(flowcred_ctx *ctx, const char *connector,
			     const char *flow_user, const char *password,
			     char *token, size_t token_size,
			     char *token_type, int64_t *expires_at,
			     char *detail);

/* Returns 1 when haystack contains needle ignoring ASCII case. */
int tu_contains_nocase(const char *haystack, const char *needle);

/* Returns a TCP port on 127.0.0.1 that was bound and closed again, so a
 * connection to it is refused. */
int tu_closed_port(void);

/* Returns seconds elapsed on CLOCK_MONOTONIC since start. */
double tu_elapsed(const struct timespec *start);

/* Returns 1 when token has the shape of a JWT: three non-empty base64url
 * parts separated by dots. */
int tu_is_jwt_shaped(const char *token);

/* Outcome of a library call made in a child process. */
struct tu_child_result {
	flowcred_status status;
	char detail[FLOWCRED_DETAIL_MAX];
	double elapsed;		/* seconds the measured call took */
	char error[256];	/* set when the child could not run the call */
};

/* Runs func in a forked child, so that it may change the environment,
 * credentials or D-Bus connection without affecting the test, and copies
 * the result it fills back. Aborts the test if the child crashes, exits
 * with a non-zero status or sets result->error. */
void tu_run_in_child(void (*func)(struct tu_child_result *result, void *arg),
		     void *arg, struct tu_child_result *result);

/* Runs the program argv[0] with argv, writes input (may be NULL) to its
 * standard input and collects its standard output and error (each may be
 * NULL to discard it; the caller frees them). Returns its exit status, or
 * 128 + the signal number that ended it. Aborts the test when it runs
 * longer than timeout_seconds. */
int tu_run_program(char *const argv[], const char *input,
		   char **out, char **err, int timeout_seconds);

#endif

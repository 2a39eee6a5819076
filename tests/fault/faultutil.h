/* Helpers of the fault tests, on top of tests/testutil.h: configurations
 * with short timeouts, time bounds, secret checks of every detail and log
 * line, the misbehaving TLS server tests/fault/fault-server.js, and child
 * processes that may hang.
 *
 * Like testutil, every helper that can fail aborts the current test, and
 * the environment of tests/harness/with-services.sh is expected.
 */
#ifndef FLOWCRED_FAULTUTIL_H
#define FLOWCRED_FAULTUTIL_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "testutil.h"

/* Name of the connector of every configuration written here. */
#define FU_CONNECTOR "fault"

/* connect_timeout, timeout and [flowcred] keyring_timeout of every
 * configuration written here, in seconds. */
#define FU_TIMEOUT_S 2
#define FU_KEYRING_TIMEOUT_S 2

/* Scheduling allowance added to a configured timeout when a test checks
 * that a call returned within it. */
#define FU_SLACK_S 1.5

/* Maximum time, in seconds, of a call that needs no timeout: a refused
 * connection, an unresolvable name, a missing Secret Service. */
#define FU_FAST_S 1.0

/* Writes a configuration of mode 0600 whose connector FU_CONNECTOR uses
 * token_url, the fixture client NC_FlowPassCred, the harness CA, the
 * timeouts above, no back-off and no logout, followed by extra (may be
 * NULL) inside the connector group. Returns its path (free()). */
char *fu_write_config(const char *token_url, const char *extra);

/* Opens a context on the configuration, logging everything (LOG_DEBUG)
 * through fu_capture_log(). */
flowcred_ctx *fu_open(const char *config_path);

/* Log function that copies every message to stderr and to the text
 * fu_log_text() returns. Safe from any thread. */
void fu_capture_log(int priority, const char *message, void *userdata);

/* Returns every message fu_capture_log() received in this process, one
 * a line. The text stays valid until the next call. */
const char *fu_log_text(void);

/* Adds a secret that no detail, log line or captured output may contain,
 * in whole or as any run of FU_SECRET_RUN bytes. The fixture's passwords
 * and client secrets are registered from the start. The string is copied. */
void fu_add_secret(const char *secret);

/* Length of the runs of a long secret looked for, in bytes. Secrets
 * shorter than this are looked for whole. */
#define FU_SECRET_RUN 16

/* Aborts the test when text contains a registered secret; what names the
 * text in the message. */
void fu_assert_no_secret(const char *text, const char *what);

/* Aborts the test when detail contains a registered secret or a control
 * character, or when the log captured so far contains a secret. */
void fu_assert_clean(const char *detail);

/* Returns a monotonic start time for fu_elapsed(). */
struct timespec fu_start(void);

/* Returns seconds elapsed since start on CLOCK_MONOTONIC. */
double fu_elapsed(struct timespec start);

/* Starts tests/fault/fault-server.js with the harness certificates, once
 * per process, before any test forks; later calls do nothing. Returns 0,
 * or -1 with the reason on stderr. */
int fu_fault_server_start(void);

/* Stops the server fu_fault_server_start() started. */
void fu_fault_server_stop(void);

/* Returns the port of a fault server listener: "main", "other_ca",
 * "wrong_host" or "expired". */
int fu_fault_port(const char *listener);

/* Returns a token URL (free()) on the main fault server listener that
 * responds as mode says, with status, Content-Type type (NULL: none),
 * body (NULL: empty), and extra query parameters (NULL or "k=v&...").
 * The body is written to a file in $FLOWCRED_TEST_DIR. */
char *fu_fault_url(const char *mode, int status, const char *type,
		   const char *body, const char *extra);

/* Outcome of a function run in a child process that may hang or die. */
struct fu_child {
	int wait_status;	/* from waitpid() */
	int timed_out;		/* the alarm ended it */
	double elapsed;		/* seconds until it ended */
	/* What the child reported through fu_child_report(). */
	int status;
	char detail[FLOWCRED_DETAIL_MAX];
	char log[8192];
};

/* Runs func(arg) in a child process that SIGALRM ends after
 * alarm_seconds, and collects its report. Never aborts the test: the
 * caller checks the result. */
void fu_run_child(void (*func)(void *arg), void *arg,
		  unsigned int alarm_seconds, struct fu_child *result);

/* Sends the status, detail and captured log from inside a child of
 * fu_run_child(). */
void fu_child_report(int status, const char *detail);

/* Returns the process id of the gnome-keyring-daemon that owns
 * org.freedesktop.secrets on the session bus, or aborts. */
pid_t fu_keyring_daemon_pid(void);

/* Runs a script of the harness directory (lock-keyring.sh,
 * unlock-keyring.sh) and aborts unless it exits with 0. */
void fu_run_harness_script(const char *name);

/* Returns 1 when text contains no byte below 0x20 and no DEL. */
int fu_printable(const char *text);

#endif

/* Tests of pam_flowcred.so through pam_wrapper and libpamtest.
 *
 * The test runs inside tests/harness/with-services.sh, which provides a
 * private session bus with an unlocked keyring and a Keycloak-shaped
 * token server (FLOWCRED_TEST_* variables). Started without it, the test
 * re-executes itself under the harness. pam_wrapper must be preloaded
 * before the process starts, so main() then re-executes the test binary
 * once more with LD_PRELOAD=libpam_wrapper.so and the service directory
 * this file writes under $FLOWCRED_TEST_DIR.
 *
 * Keyring items are stored in a child process: GLib's D-Bus worker
 * thread does not survive fork(), so the parent, which Check forks for
 * every test, never talks to the bus itself.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>
#include <libpamtest.h>
#include <security/pam_appl.h>

#include "flowcred.h"

/* Exit code that makes automake's test driver report a skip. */
#define EXIT_SKIP 77
/* Exit code that makes automake's test driver report a hard error. */
#define EXIT_HARD_ERROR 99

/* Fixture of tests/server/fixture.json, realm "test". */
#define IFS_USER "IFSAPP"
#define IFS_PASSWORD "Passw0rd!"
#define SPECIAL_IFS_USER "j\xc3\xb6hn+&=%\"!: doe"
#define SPECIAL_PASSWORD "p\xc3\xa4 ss+&=%\"!:w\xc3\xb6rd"
#define CLIENT_ID "NC_FlowPassCred"
#define CLIENT_SECRET "flow-secret-1"
#define NODIRECT_CLIENT_ID "NC_NoDirect"
#define NODIRECT_CLIENT_SECRET "nodirect-secret-1"

/* Connectors of the configuration file this test writes. */
#define CONNECTOR "pamtest"		/* realm "test" */
#define CONNECTOR_DOWN "pamdown"	/* a port nothing listens on */
#define CONNECTOR_NODIRECT "pamnodirect" /* Direct Access Grants off */
#define CONNECTOR_BUSY "pambusy"	/* canned HTTP 429 */
#define CONNECTOR_BROKEN "pambroken"	/* canned HTTP 503 */

/* Flow users stored in the keyring for every connector. */
#define USER_INTERACTIVE "alice"	/* IFSAPP, no stored password */
#define USER_MACHINE "robot"		/* IFSAPP with stored password */
#define USER_SPECIAL "j\xc3\xb6rg"	/* SPECIAL_IFS_USER, interactive */
#define USER_DISABLED "dora"		/* DISABLED_USER, interactive */
#define USER_NOTSETUP "nora"		/* NOTSETUP_USER, interactive */
#define USER_UNKNOWN "ghost"		/* no keyring item */

#define EXPORT_VARIABLE "FLOW_TOKEN"

static char test_dir[4096];
static char service_dir[4096];
static char config_path[4096];
static bool fork_mode = true;

/* Scripted conversation: answers PAM_PROMPT_ECHO_OFF prompts in order,
 * PAM_PROMPT_ECHO_ON prompts with user_answer, and counts the prompts. */
struct conv_script {
	const char *answers[4];
	const char *user_answer;
	int prompts;
	int answered;		/* answers[] used so far */
	bool fail;		/* return PAM_CONV_ERR to every call */
	bool empty_reply;	/* return PAM_SUCCESS without answers */
};

static int scripted_conv(int num_msg, const struct pam_message **msg,
			 struct pam_response **resp, void *appdata_ptr)
{
	struct conv_script *script = appdata_ptr;
	struct pam_response *replies;
	const char *answer;
	int i;

	*resp = NULL;
	for (i = 0; i < num_msg; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			script->prompts++;
	}
	if (script->fail)
		return PAM_CONV_ERR;
	if (script->empty_reply)
		return PAM_SUCCESS;

	replies = calloc((size_t)num_msg, sizeof(*replies));
	if (replies == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < num_msg; i++) {
		answer = NULL;
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF) {
			if (script->answered < 4)
				answer = script->answers[script->answered];
			script->answered++;
			if (answer == NULL)
				goto fail;
		} else if (msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
			answer = script->user_answer;
			if (answer == NULL)
				goto fail;
		}
		if (answer != NULL) {
			replies[i].resp = strdup(answer);
			if (replies[i].resp == NULL)
				goto fail;
		}
	}
	*resp = replies;
	return PAM_SUCCESS;
fail:
	for (i = 0; i < num_msg; i++)
		free(replies[i].resp);
	free(replies);
	return PAM_CONV_ERR;
}

/* Runs pam_authenticate() for service and user with a scripted
 * conversation through libpamtest and returns its result. */
static int authenticate(const char *service, const char *user,
			struct conv_script *script)
{
	struct pam_testcase tests[] = {
		pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS),
	};
	enum pamtest_err perr;

	perr = _pamtest_conv(service, user, scripted_conv, script, tests, 1,
			     NULL);
	ck_assert_msg(perr == PAMTEST_ERR_OK || perr == PAMTEST_ERR_CASE,
		      "libpamtest failed for service %s: %s", service,
		      pamtest_strerror(perr));
	return tests[0].op_rv;
}

/* Starts a PAM transaction the test drives call by call. */
static pam_handle_t *start(const char *service, const char *user,
			   struct pam_conv *conv)
{
	pam_handle_t *pamh = NULL;
	int rc;

	rc = pam_start(service, user, conv, &pamh);
	ck_assert_msg(rc == PAM_SUCCESS, "pam_start(%s) failed: %d", service,
		      rc);
	return pamh;
}

/* ---- Files ---- */

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		fprintf(stderr, "cannot create %s: %s\n", path,
			strerror(errno));
		exit(EXIT_HARD_ERROR);
	}
	/* open() applies the umask; the tests rely on the exact mode. */
	if (fchmod(fd, mode) != 0) {
		fprintf(stderr, "cannot chmod %s: %s\n", path, strerror(errno));
		exit(EXIT_HARD_ERROR);
	}
	f = fdopen(fd, "w");
	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		exit(EXIT_HARD_ERROR);
	}
}

/* Reads a whole file into a NUL-terminated string the caller frees. */
static char *read_file(const char *path)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f;

	f = fopen(path, "re");
	if (f == NULL)
		return NULL;
	text = malloc(1 << 20);
	if (text != NULL) {
		size = fread(text, 1, (1 << 20) - 1, f);
		text[size] = '\0';
	}
	fclose(f);
	return text;
}

static void write_service(const char *name, const char *text)
{
	char path[4352];

	snprintf(path, sizeof(path), "%s/%s", service_dir, name);
	write_file(path, text, 0644);
}

/* Appends printf-style text to a fixed buffer, failing the run when it
 * does not fit. */
static void append(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - len) {
		fprintf(stderr, "test buffer too small\n");
		exit(EXIT_HARD_ERROR);
	}
}

/* ---- Captured log ---- */

/* pam_wrapper prints the messages modules send with pam_syslog() on
 * standard error, prefixed with "SYSLOG(priority)", when
 * PAM_WRAPPER_DEBUGLEVEL is at least 2 (debug). */
struct capture {
	int saved_fd;
	char path[4352];
};

static void capture_begin(struct capture *cap, const char *name)
{
	int fd;

	snprintf(cap->path, sizeof(cap->path), "%s/%s", test_dir, name);
	fflush(stderr);
	cap->saved_fd = dup(STDERR_FILENO);
	ck_assert_int_ge(cap->saved_fd, 0);
	fd = open(cap->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	setenv("PAM_WRAPPER_DEBUGLEVEL", "2", 1);
}

/* Restores standard error and returns the lines pam_syslog() produced,
 * which the caller frees. pam_wrapper's own tracing, which prints items
 * such as PAM_AUTHTOK by design, is left out. */
static char *capture_end(struct capture *cap)
{
	char *all, *syslog_lines, *line, *next;
	size_t len = 0;

	fflush(stderr);
	unsetenv("PAM_WRAPPER_DEBUGLEVEL");
	ck_assert_int_eq(dup2(cap->saved_fd, STDERR_FILENO), STDERR_FILENO);
	close(cap->saved_fd);

	all = read_file(cap->path);
	ck_assert_ptr_nonnull(all);
	syslog_lines = calloc(1, strlen(all) + 1);
	ck_assert_ptr_nonnull(syslog_lines);
	for (line = all; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		next = next != NULL ? next + 1 : line + strlen(line);
		if (memmem(line, (size_t)(next - line), "SYSLOG(", 7) == NULL)
			continue;
		memcpy(syslog_lines + len, line, (size_t)(next - line));
		len += (size_t)(next - line);
	}
	free(all);
	return syslog_lines;
}

/* ---- Token server test API ---- */

/* Collects a response body of the token server's test API. */
static size_t collect_body(char *data, size_t size, size_t count,
			   void *userdata)
{
	char **body = userdata;
	size_t old_len = *body != NULL ? strlen(*body) : 0;
	size_t n = size * count;
	char *grown;

	grown = realloc(*body, old_len + n + 1);
	if (grown == NULL)
		return 0;
	memcpy(grown + old_len, data, n);
	grown[old_len + n] = '\0';
	*body = grown;
	return n;
}

/* Sends a request to the token server's test API. Returns the HTTP
 * status, or 0 when no response arrived. *response, if response is not
 * NULL, receives the body, which the caller frees. */
static long call_test_api(const char *method, const char *path,
			  const char *json, char **response)
{
	struct curl_slist *headers = NULL;
	char *body = NULL;
	char url[1024];
	long status = 0;
	CURL *curl;
	CURLcode rc;

	snprintf(url, sizeof(url), "%s%s", getenv("FLOWCRED_TEST_URL"), path);
	curl = curl_easy_init();
	if (curl == NULL)
		return 0;
	headers = curl_slist_append(headers, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (json != NULL)
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_CAINFO, getenv("FLOWCRED_TEST_CA"));
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	else
		fprintf(stderr, "%s %s failed: %s\n", method, url,
			curl_easy_strerror(rc));
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	if (response != NULL)
		*response = body;
	else
		free(body);
	return status;
}

/* ---- Interactive users ---- */

START_TEST(interactive_success)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };

	ck_assert_int_eq(authenticate("fc-interactive", USER_INTERACTIVE,
				      &script),
			 PAM_SUCCESS);
	ck_assert_int_eq(script.prompts, 1);
}
END_TEST

START_TEST(interactive_special_characters)
{
	struct conv_script script = { .answers = { SPECIAL_PASSWORD } };

	ck_assert_int_eq(authenticate("fc-interactive", USER_SPECIAL, &script),
			 PAM_SUCCESS);
}
END_TEST

START_TEST(interactive_wrong_password)
{
	struct conv_script script = { .answers = { "wrong-password" } };

	ck_assert_int_eq(authenticate("fc-interactive", USER_INTERACTIVE,
				      &script),
			 PAM_AUTH_ERR);
}
END_TEST

START_TEST(interactive_empty_password)
{
	struct conv_script script = { .answers = { "" } };

	ck_assert_int_eq(authenticate("fc-interactive", USER_INTERACTIVE,
				      &script),
			 PAM_AUTH_ERR);
}
END_TEST

START_TEST(interactive_ignores_stored_password)
{
	/* robot has a stored password, but without "keyring" the typed one
	 * is used. */
	struct conv_script script = { .answers = { "wrong-password" } };

	ck_assert_int_eq(authenticate("fc-interactive", USER_MACHINE, &script),
			 PAM_AUTH_ERR);
	ck_assert_int_eq(script.prompts, 1);
}
END_TEST

START_TEST(interactive_user_prompted)
{
	/* No user given to pam_start: pam_get_user() prompts for one. */
	struct conv_script script = {
		.answers = { IFS_PASSWORD },
		.user_answer = USER_INTERACTIVE,
	};

	ck_assert_int_eq(authenticate("fc-interactive", NULL, &script),
			 PAM_SUCCESS);
	ck_assert_int_eq(script.prompts, 2);
}
END_TEST

/* ---- Machine workflows ---- */

START_TEST(machine_success_without_prompt)
{
	struct conv_script script = { .fail = true };

	ck_assert_int_eq(authenticate("fc-machine", USER_MACHINE, &script),
			 PAM_SUCCESS);
	ck_assert_int_eq(script.prompts, 0);
}
END_TEST

START_TEST(machine_without_stored_password)
{
	struct conv_script script = { .fail = true };

	ck_assert_int_eq(authenticate("fc-machine", USER_INTERACTIVE, &script),
			 PAM_AUTHINFO_UNAVAIL);
	ck_assert_int_eq(script.prompts, 0);
}
END_TEST

START_TEST(machine_null_conversation)
{
	struct pam_conv conv = { NULL, NULL };
	pam_handle_t *pamh;

	pamh = start("fc-machine", USER_MACHINE, &conv);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
}
END_TEST

/* ---- Result codes ---- */

START_TEST(unknown_user_interactive)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };

	ck_assert_int_eq(authenticate("fc-interactive", USER_UNKNOWN, &script),
			 PAM_USER_UNKNOWN);
}
END_TEST

START_TEST(unknown_user_machine)
{
	struct conv_script script = { .fail = true };

	ck_assert_int_eq(authenticate("fc-machine", USER_UNKNOWN, &script),
			 PAM_USER_UNKNOWN);
	ck_assert_int_eq(script.prompts, 0);
}
END_TEST

START_TEST(user_with_control_character)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };

	ck_assert_int_eq(authenticate("fc-interactive", "alice\nroot",
				      &script),
			 PAM_USER_UNKNOWN);
	ck_assert_int_eq(script.prompts, 0);
}
END_TEST

START_TEST(account_disabled)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };

	ck_assert_int_eq(authenticate("fc-interactive", USER_DISABLED,
				      &script),
			 PAM_AUTH_ERR);
}
END_TEST

START_TEST(account_not_set_up)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };

	ck_assert_int_eq(authenticate("fc-interactive", USER_NOTSETUP,
				      &script),
			 PAM_AUTH_ERR);
}
END_TEST

START_TEST(endpoint_down_interactive)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };

	ck_assert_int_eq(authenticate("fc-down", USER_INTERACTIVE, &script),
			 PAM_AUTHINFO_UNAVAIL);
}
END_TEST

START_TEST(endpoint_down_machine)
{
	struct conv_script script = { .fail = true };

	ck_assert_int_eq(authenticate("fc-down-machine", USER_MACHINE,
				      &script),
			 PAM_AUTHINFO_UNAVAIL);
}
END_TEST

START_TEST(endpoint_server_error)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };

	ck_assert_int_eq(authenticate("fc-broken", USER_INTERACTIVE, &script),
			 PAM_AUTHINFO_UNAVAIL);
}
END_TEST

START_TEST(endpoint_rate_limited)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };

	ck_assert_int_eq(authenticate("fc-busy", USER_INTERACTIVE, &script),
			 PAM_AUTHINFO_UNAVAIL);
}
END_TEST

START_TEST(client_rejected)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };

	ck_assert_int_eq(authenticate("fc-nodirect", USER_INTERACTIVE,
				      &script),
			 PAM_SERVICE_ERR);
}
END_TEST

START_TEST(unknown_connector)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };

	/* libflowcred reports an unknown connector like an unknown user. */
	ck_assert_int_eq(authenticate("fc-unknown-connector", USER_INTERACTIVE,
				      &script),
			 PAM_USER_UNKNOWN);
}
END_TEST

/* The keyring is reached through the session bus named by
 * DBUS_SESSION_BUS_ADDRESS. A socket path in the test directory that
 * nothing listens on makes it unavailable for this process only. */
static void break_session_bus(void)
{
	char address[4352];

	snprintf(address, sizeof(address), "unix:path=%s/no-such-bus",
		 test_dir);
	setenv("DBUS_SESSION_BUS_ADDRESS", address, 1);
}

START_TEST(keyring_unavailable_interactive)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };

	if (!fork_mode)
		return; /* the broken bus address would leak into later tests */
	break_session_bus();
	ck_assert_int_eq(authenticate("fc-interactive", USER_INTERACTIVE,
				      &script),
			 PAM_AUTHINFO_UNAVAIL);
}
END_TEST

START_TEST(keyring_unavailable_machine)
{
	struct conv_script script = { .fail = true };

	if (!fork_mode)
		return;
	break_session_bus();
	ck_assert_int_eq(authenticate("fc-machine", USER_MACHINE, &script),
			 PAM_AUTHINFO_UNAVAIL);
	ck_assert_int_eq(script.prompts, 0);
}
END_TEST

START_TEST(config_missing)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };

	ck_assert_int_eq(authenticate("fc-config-missing", USER_INTERACTIVE,
				      &script),
			 PAM_SERVICE_ERR);
}
END_TEST

START_TEST(config_unsafe_mode)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };

	ck_assert_int_eq(authenticate("fc-config-unsafe", USER_INTERACTIVE,
				      &script),
			 PAM_SERVICE_ERR);
}
END_TEST

/* ---- Conversation ---- */

START_TEST(null_conversation)
{
	struct pam_conv conv = { NULL, NULL };
	pam_handle_t *pamh;

	pamh = start("fc-interactive", USER_INTERACTIVE, &conv);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_CONV_ERR);
	pam_end(pamh, PAM_CONV_ERR);
}
END_TEST

START_TEST(null_conversation_without_user)
{
	struct pam_conv conv = { NULL, NULL };
	pam_handle_t *pamh;

	pamh = start("fc-machine", NULL, &conv);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_CONV_ERR);
	pam_end(pamh, PAM_CONV_ERR);
}
END_TEST

START_TEST(failing_conversation)
{
	struct conv_script script = { .fail = true };

	ck_assert_int_eq(authenticate("fc-interactive", USER_INTERACTIVE,
				      &script),
			 PAM_CONV_ERR);
	ck_assert_int_eq(script.prompts, 1);
}
END_TEST

START_TEST(conversation_without_answer)
{
	struct conv_script script = { .empty_reply = true };

	ck_assert_int_eq(authenticate("fc-interactive", USER_INTERACTIVE,
				      &script),
			 PAM_CONV_ERR);
}
END_TEST

/* ---- Module arguments ---- */

START_TEST(use_first_pass_shared)
{
	/* The probe prompts first, as pam_unix would, and pam_flowcred
	 * must not prompt again. */
	struct conv_script script = { .answers = { IFS_PASSWORD } };

	ck_assert_int_eq(authenticate("fc-use-first", USER_INTERACTIVE,
				      &script),
			 PAM_SUCCESS);
	ck_assert_int_eq(script.prompts, 1);
}
END_TEST

START_TEST(use_first_pass_without_password)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };

	ck_assert_int_eq(authenticate("fc-use-first-alone", USER_INTERACTIVE,
				      &script),
			 PAM_AUTH_ERR);
	ck_assert_int_eq(script.prompts, 0);
}
END_TEST

START_TEST(use_first_pass_wrong_shared)
{
	struct conv_script script = {
		.answers = { "wrong-password", IFS_PASSWORD },
	};

	ck_assert_int_eq(authenticate("fc-use-first", USER_INTERACTIVE,
				      &script),
			 PAM_AUTH_ERR);
	ck_assert_int_eq(script.prompts, 1);
}
END_TEST

START_TEST(try_first_pass_shared)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };

	ck_assert_int_eq(authenticate("fc-try-first", USER_INTERACTIVE,
				      &script),
			 PAM_SUCCESS);
	ck_assert_int_eq(script.prompts, 1);
}
END_TEST

START_TEST(try_first_pass_prompts)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };

	ck_assert_int_eq(authenticate("fc-try-first-alone", USER_INTERACTIVE,
				      &script),
			 PAM_SUCCESS);
	ck_assert_int_eq(script.prompts, 1);
}
END_TEST

START_TEST(no_first_pass_prompts_again)
{
	/* Without use_first_pass or try_first_pass the earlier module's
	 * password is not used, so the user is prompted again. */
	struct conv_script script = {
		.answers = { "wrong-password", IFS_PASSWORD },
	};

	ck_assert_int_eq(authenticate("fc-no-first", USER_INTERACTIVE,
				      &script),
			 PAM_SUCCESS);
	ck_assert_int_eq(script.prompts, 2);
}
END_TEST

/* Service lines with arguments that must be rejected, each with the
 * correct password offered, so only the argument check can fail them. */
static const char *const bad_arguments[] = {
	"config=@CONFIG@",					/* no connector */
	"connector= config=@CONFIG@",				/* empty */
	"connector=pamtest connector=pamtest config=@CONFIG@",	/* twice */
	"connector=pamtest config=relative/flowcred.conf",
	"connector=pamtest config=@CONFIG@ frobnicate",
	"connector=pamtest config=@CONFIG@ password=" IFS_PASSWORD,
	"connector=pamtest config=@CONFIG@ DEBUG",
	"connector=pamtest config=@CONFIG@ export=",
	"connector=pamtest config=@CONFIG@ export=1TOKEN",
	"connector=pamtest config=@CONFIG@ export=FLOW-TOKEN",
	"connector=pamtest config=@CONFIG@ export=A export=B",
	"connector=pamtest config=@CONFIG@ keyring use_first_pass",
	"connector=pamtest config=@CONFIG@ keyring try_first_pass",
};

#define N_BAD_ARGUMENTS (sizeof(bad_arguments) / sizeof(bad_arguments[0]))

START_TEST(bad_argument_rejected)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };
	struct capture cap;
	char service[64];
	char *log;

	snprintf(service, sizeof(service), "fc-bad-%d", _i);
	capture_begin(&cap, "bad-argument.log");
	ck_assert_msg(authenticate(service, USER_MACHINE, &script) ==
			      PAM_SERVICE_ERR,
		      "arguments \"%s\" were not rejected", bad_arguments[_i]);
	log = capture_end(&cap);
	ck_assert_msg(script.prompts == 0,
		      "arguments \"%s\" prompted before rejection",
		      bad_arguments[_i]);
	ck_assert_msg(strstr(log, "invalid module argument") != NULL ||
			      strstr(log, "missing module argument") != NULL,
		      "arguments \"%s\" logged no error", bad_arguments[_i]);
	ck_assert_msg(strstr(log, IFS_PASSWORD) == NULL,
		      "the value of a bad argument reached the log");
	free(log);
}
END_TEST

START_TEST(bad_argument_other_facilities)
{
	struct pam_testcase tests[] = {
		pam_test(PAMTEST_ACCOUNT, PAM_SERVICE_ERR),
		pam_test(PAMTEST_OPEN_SESSION, PAM_SERVICE_ERR),
		pam_test(PAMTEST_CLOSE_SESSION, PAM_SERVICE_ERR),
		pam_test(PAMTEST_SETCRED, PAM_SERVICE_ERR),
	};
	struct conv_script script = { .fail = true };
	enum pamtest_err perr;

	perr = _pamtest_conv("fc-bad-other", USER_MACHINE, scripted_conv,
			     &script, tests, 4, NULL);
	ck_assert_msg(perr == PAMTEST_ERR_OK, "%s: case %d returned %d",
		      pamtest_strerror(perr),
		      (int)(pamtest_failed_case(tests) - tests),
		      pamtest_failed_case(tests) != NULL ?
			      pamtest_failed_case(tests)->op_rv : 0);
}
END_TEST

/* ---- Token hand-off ---- */

START_TEST(token_reaches_module_and_application)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };
	struct pam_conv conv = { scripted_conv, &script };
	char expected[128];
	const char *token;
	pam_handle_t *pamh;

	pamh = start("fc-probe", USER_INTERACTIVE, &conv);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);

	token = pam_getenv(pamh, EXPORT_VARIABLE);
	ck_assert_ptr_nonnull(token);
	ck_assert_uint_gt(strlen(token), 0);
	snprintf(expected, sizeof(expected), "len=%zu,first=%c", strlen(token),
		 token[0]);
	ck_assert_ptr_nonnull(pam_getenv(pamh, "FLOWCRED_PROBE_AUTH"));
	ck_assert_str_eq(pam_getenv(pamh, "FLOWCRED_PROBE_AUTH"), expected);

	ck_assert_int_eq(pam_acct_mgmt(pamh, 0), PAM_SUCCESS);
	ck_assert_int_eq(pam_setcred(pamh, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	ck_assert_int_eq(pam_open_session(pamh, 0), PAM_SUCCESS);
	ck_assert_ptr_nonnull(pam_getenv(pamh, "FLOWCRED_PROBE_OPEN"));
	ck_assert_str_eq(pam_getenv(pamh, "FLOWCRED_PROBE_OPEN"), expected);

	ck_assert_int_eq(pam_close_session(pamh, 0), PAM_SUCCESS);
	ck_assert_ptr_null(pam_getenv(pamh, EXPORT_VARIABLE));
	ck_assert_ptr_nonnull(pam_getenv(pamh, "FLOWCRED_PROBE_CLOSE"));
	ck_assert_str_eq(pam_getenv(pamh, "FLOWCRED_PROBE_CLOSE"), "absent");
	pam_end(pamh, PAM_SUCCESS);
}
END_TEST

START_TEST(token_not_exported_by_default)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };
	struct pam_conv conv = { scripted_conv, &script };
	pam_handle_t *pamh;
	char **env;
	size_t i;

	pamh = start("fc-probe-noexport", USER_INTERACTIVE, &conv);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
	ck_assert_ptr_nonnull(pam_getenv(pamh, "FLOWCRED_PROBE_AUTH"));
	ck_assert_str_ne(pam_getenv(pamh, "FLOWCRED_PROBE_AUTH"), "absent");

	env = pam_getenvlist(pamh);
	ck_assert_ptr_nonnull(env);
	for (i = 0; env[i] != NULL; i++) {
		ck_assert_msg(strncmp(env[i], "FLOWCRED_PROBE_", 15) == 0,
			      "unexpected PAM environment entry %.*s",
			      (int)strcspn(env[i], "="), env[i]);
		free(env[i]);
	}
	free(env);
	pam_end(pamh, PAM_SUCCESS);
}
END_TEST

START_TEST(setcred_delete_removes_token)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };
	struct pam_conv conv = { scripted_conv, &script };
	pam_handle_t *pamh;

	pamh = start("fc-probe", USER_INTERACTIVE, &conv);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
	ck_assert_ptr_nonnull(pam_getenv(pamh, EXPORT_VARIABLE));
	ck_assert_int_eq(pam_setcred(pamh, PAM_DELETE_CRED), PAM_SUCCESS);
	ck_assert_ptr_null(pam_getenv(pamh, EXPORT_VARIABLE));
	ck_assert_ptr_nonnull(pam_getenv(pamh, "FLOWCRED_PROBE_SETCRED"));
	ck_assert_str_eq(pam_getenv(pamh, "FLOWCRED_PROBE_SETCRED"), "absent");
	pam_end(pamh, PAM_SUCCESS);
}
END_TEST

START_TEST(failed_retry_drops_token)
{
	/* A second authentication in the same handle that fails must not
	 * leave the first one's token behind. */
	struct conv_script script = {
		.answers = { IFS_PASSWORD, "wrong-password" },
	};
	struct pam_conv conv = { scripted_conv, &script };
	pam_handle_t *pamh;

	pamh = start("fc-probe", USER_INTERACTIVE, &conv);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
	ck_assert_ptr_nonnull(pam_getenv(pamh, EXPORT_VARIABLE));
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_AUTH_ERR);
	ck_assert_ptr_null(pam_getenv(pamh, EXPORT_VARIABLE));
	ck_assert_ptr_nonnull(pam_getenv(pamh, "FLOWCRED_PROBE_AUTH"));
	ck_assert_str_eq(pam_getenv(pamh, "FLOWCRED_PROBE_AUTH"), "absent");
	pam_end(pamh, PAM_AUTH_ERR);
}
END_TEST

START_TEST(machine_token_exported)
{
	struct conv_script script = { .fail = true };
	struct pam_conv conv = { scripted_conv, &script };
	pam_handle_t *pamh;

	pamh = start("fc-machine-export", USER_MACHINE, &conv);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
	ck_assert_ptr_nonnull(pam_getenv(pamh, EXPORT_VARIABLE));
	ck_assert_uint_gt(strlen(pam_getenv(pamh, EXPORT_VARIABLE)), 0);
	ck_assert_int_eq(pam_close_session(pamh, 0), PAM_SUCCESS);
	ck_assert_ptr_null(pam_getenv(pamh, EXPORT_VARIABLE));
	ck_assert_int_eq(script.prompts, 0);
	pam_end(pamh, PAM_SUCCESS);
}
END_TEST

/* libflowcred ends the IAM sessions of a context when it closes, unless
 * that option is turned off. The module closes its context before returning, so the
 * token it handed over must not be logged out then. */
START_TEST(token_session_stays_open)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };
	struct conv_script machine = { .fail = true };
	char *requests = NULL;

	ck_assert_int_eq(call_test_api("POST", "/_test/reset", NULL, NULL),
			 204);
	ck_assert_int_eq(authenticate("fc-interactive", USER_INTERACTIVE,
				      &script),
			 PAM_SUCCESS);
	ck_assert_int_eq(authenticate("fc-machine", USER_MACHINE, &machine),
			 PAM_SUCCESS);
	ck_assert_int_eq(call_test_api("GET", "/_test/requests", NULL,
				       &requests),
			 200);
	ck_assert_ptr_nonnull(requests);
	ck_assert_ptr_nonnull(strstr(requests, "\"endpoint\":\"token\""));
	ck_assert_msg(strstr(requests, "\"endpoint\":\"logout\"") == NULL,
		      "the module logged its token's session out");
	ck_assert_msg(strstr(requests, "\"endpoint\":\"revoke\"") == NULL,
		      "the module revoked its token");
	free(requests);
}
END_TEST

/* ---- Other facilities ---- */

/* Service "fc-expect-ignore" stacks the module as
 * "[ignore=1 default=die]" before pam_deny and pam_permit, so a facility
 * succeeds exactly when pam_flowcred returned PAM_IGNORE. */
START_TEST(account_ignores_without_auth)
{
	struct pam_testcase tests[] = {
		pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
	};
	enum pamtest_err perr;

	perr = run_pamtest("fc-expect-ignore", USER_INTERACTIVE, NULL, tests,
			   NULL);
	ck_assert_msg(perr == PAMTEST_ERR_OK, "account returned %d",
		      tests[0].op_rv);
}
END_TEST

START_TEST(session_ignores_without_auth)
{
	struct pam_testcase tests[] = {
		pam_test(PAMTEST_OPEN_SESSION, PAM_SUCCESS),
	};
	enum pamtest_err perr;

	perr = run_pamtest("fc-expect-ignore", USER_INTERACTIVE, NULL, tests,
			   NULL);
	ck_assert_msg(perr == PAMTEST_ERR_OK, "open_session returned %d",
		      tests[0].op_rv);
}
END_TEST

START_TEST(chauthtok_ignored)
{
	struct pam_testcase tests[] = {
		pam_test(PAMTEST_CHAUTHTOK, PAM_SUCCESS),
	};
	enum pamtest_err perr;

	perr = run_pamtest("fc-expect-ignore", USER_INTERACTIVE, NULL, tests,
			   NULL);
	ck_assert_msg(perr == PAMTEST_ERR_OK, "chauthtok returned %d",
		      tests[0].op_rv);
}
END_TEST

START_TEST(account_alone_without_auth_denied)
{
	struct pam_testcase tests[] = {
		pam_test(PAMTEST_ACCOUNT, PAM_SUCCESS),
	};

	run_pamtest("fc-interactive", USER_INTERACTIVE, NULL, tests, NULL);
	ck_assert_int_ne(tests[0].op_rv, PAM_SUCCESS);
}
END_TEST

/* ---- Logging ---- */

START_TEST(debug_log_has_no_secret)
{
	struct conv_script script = {
		.answers = { IFS_PASSWORD, "wrong-password" },
	};
	struct conv_script machine = { .fail = true };
	struct pam_conv conv = { scripted_conv, &script };
	struct pam_conv machine_conv = { scripted_conv, &machine };
	struct capture cap;
	char *tokens[2] = { NULL, NULL };
	pam_handle_t *pamh;
	char *log;
	int i;

	capture_begin(&cap, "debug.log");
	pamh = start("fc-debug", USER_INTERACTIVE, &conv);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
	ck_assert_ptr_nonnull(pam_getenv(pamh, EXPORT_VARIABLE));
	tokens[0] = strdup(pam_getenv(pamh, EXPORT_VARIABLE));
	ck_assert_int_eq(pam_open_session(pamh, 0), PAM_SUCCESS);
	ck_assert_int_eq(pam_close_session(pamh, 0), PAM_SUCCESS);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_AUTH_ERR);
	pam_end(pamh, PAM_SUCCESS);

	pamh = start("fc-machine-debug", USER_MACHINE, &machine_conv);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
	ck_assert_ptr_nonnull(pam_getenv(pamh, EXPORT_VARIABLE));
	tokens[1] = strdup(pam_getenv(pamh, EXPORT_VARIABLE));
	pam_end(pamh, PAM_SUCCESS);
	log = capture_end(&cap);

	/* The capture worked: the module's debug lines are there. */
	ck_assert_ptr_nonnull(strstr(log, "requesting a token"));
	ck_assert_ptr_nonnull(strstr(log, "authentication failed"));
	ck_assert_msg(strstr(log, IFS_PASSWORD) == NULL,
		      "the password reached the log");
	ck_assert_msg(strstr(log, "wrong-password") == NULL,
		      "the wrong password reached the log");
	ck_assert_msg(strstr(log, CLIENT_SECRET) == NULL,
		      "the client secret reached the log");
	for (i = 0; i < 2; i++) {
		ck_assert_ptr_nonnull(tokens[i]);
		ck_assert_msg(strstr(log, tokens[i]) == NULL,
			      "a token reached the log");
		free(tokens[i]);
	}
	free(log);
}
END_TEST

START_TEST(failure_logged_with_context)
{
	struct conv_script script = { .answers = { "wrong-password" } };
	struct capture cap;
	char *log;

	capture_begin(&cap, "failure.log");
	ck_assert_int_eq(authenticate("fc-interactive", USER_INTERACTIVE,
				      &script),
			 PAM_AUTH_ERR);
	log = capture_end(&cap);
	ck_assert_ptr_nonnull(strstr(log, "SYSLOG(5)"));
	ck_assert_ptr_nonnull(strstr(log, "authentication failed for Flow "
					  "user \"" USER_INTERACTIVE "\""));
	ck_assert_ptr_nonnull(strstr(log, "connector \"" CONNECTOR "\""));
	ck_assert_ptr_nonnull(strstr(log, "service \"fc-interactive\""));
	ck_assert_ptr_nonnull(strstr(log, flowcred_strerror(FLOWCRED_DENIED)));
	/* Without debug no debug line is sent. */
	ck_assert_ptr_null(strstr(log, "SYSLOG(7)"));
	free(log);
}
END_TEST

/* ---- The files in pam.d-examples ---- */

START_TEST(example_interactive_login)
{
	struct conv_script script = { .answers = { IFS_PASSWORD } };
	struct pam_conv conv = { scripted_conv, &script };
	pam_handle_t *pamh;

	pamh = start("example-flow-login", USER_INTERACTIVE, &conv);
	ck_assert_int_eq(pam_authenticate(pamh, 0), PAM_SUCCESS);
	ck_assert_int_eq(script.prompts, 1);
	ck_assert_int_eq(pam_acct_mgmt(pamh, 0), PAM_SUCCESS);
	ck_assert_int_eq(pam_setcred(pamh, PAM_ESTABLISH_CRED), PAM_SUCCESS);
	ck_assert_int_eq(pam_open_session(pamh, 0), PAM_SUCCESS);
	ck_assert_ptr_nonnull(pam_getenv(pamh, "FLOWCRED_TOKEN"));
	ck_assert_int_eq(pam_close_session(pamh, 0), PAM_SUCCESS);
	ck_assert_ptr_null(pam_getenv(pamh, "FLOWCRED_TOKEN"));
	ck_assert_int_eq(pam_setcred(pamh, PAM_DELETE_CRED), PAM_SUCCESS);
	pam_end(pamh, PAM_SUCCESS);
}
END_TEST

START_TEST(example_interactive_wrong_password)
{
	struct conv_script script = { .answers = { "wrong-password" } };

	ck_assert_int_eq(authenticate("example-flow-login", USER_INTERACTIVE,
				      &script),
			 PAM_AUTH_ERR);
}
END_TEST

START_TEST(example_machine_workflow)
{
	struct conv_script script = { .fail = true };
	struct pam_conv conv = { scripted_conv, &script };
	pam_handle_t *pamh;

	pamh = start("example-flow-machine", USER_MACHINE, &conv);
	ck_assert_int_eq(pam_authenticate(pamh, PAM_SILENT), PAM_SUCCESS);
	ck_assert_int_eq(pam_acct_mgmt(pamh, PAM_SILENT), PAM_SUCCESS);
	ck_assert_int_eq(pam_open_session(pamh, PAM_SILENT), PAM_SUCCESS);
	ck_assert_ptr_nonnull(pam_getenv(pamh, "FLOWCRED_TOKEN"));
	ck_assert_int_eq(pam_close_session(pamh, PAM_SILENT), PAM_SUCCESS);
	ck_assert_ptr_null(pam_getenv(pamh, "FLOWCRED_TOKEN"));
	ck_assert_int_eq(script.prompts, 0);
	pam_end(pamh, PAM_SUCCESS);
}
END_TEST

/* ---- Fixture ---- */

/* Expands @CONFIG@ in a module argument template. */
static void expand_arguments(char *out, size_t size, const char *template)
{
	const char *at;

	out[0] = '\0';
	while ((at = strstr(template, "@CONFIG@")) != NULL) {
		append(out, size, "%.*s%s", (int)(at - template), template,
		       config_path);
		template = at + 8;
	}
	append(out, size, "%s", template);
}

/* Rewrites an example service file for the test: the module by its
 * absolute build path, the test's connector and configuration file. */
static void install_example(const char *example, const char *service)
{
	char path[4352];
	char out[16384] = "";
	char *text, *line, *next, *word;
	size_t n, len;

	snprintf(path, sizeof(path), "%s/%s", EXAMPLES_DIR, example);
	text = read_file(path);
	if (text == NULL) {
		fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
		exit(EXIT_HARD_ERROR);
	}
	for (line = text; *line != '\0'; line = next) {
		n = strcspn(line, "\n");
		next = line[n] == '\n' ? line + n + 1 : line + n;
		line[n] = '\0';
		if (line[strspn(line, " \t")] == '#' ||
		    strstr(line, "pam_flowcred.so") == NULL) {
			append(out, sizeof(out), "%s\n", line);
			continue;
		}
		for (word = line + strspn(line, " \t"); *word != '\0';
		     word += len, word += strspn(word, " \t")) {
			len = strcspn(word, " \t");
			if (len == 15 && strncmp(word, "pam_flowcred.so", 15) == 0)
				append(out, sizeof(out), "%s ", PAM_MODULE);
			else if (strncmp(word, "connector=", 10) == 0)
				append(out, sizeof(out),
				       "connector=" CONNECTOR " config=%s ",
				       config_path);
			else if (strncmp(word, "config=", 7) != 0)
				append(out, sizeof(out), "%.*s ", (int)len,
				       word);
		}
		append(out, sizeof(out), "\n");
	}
	free(text);
	write_service(service, out);
}

static void write_services(void)
{
	char text[8192];
	char args[4608];
	size_t i;

	write_service("other",
		      "auth     required pam_deny.so\n"
		      "account  required pam_deny.so\n"
		      "password required pam_deny.so\n"
		      "session  required pam_deny.so\n");

#define AUTH_LINE(connector, extra)                                        \
	"auth required " PAM_MODULE " connector=" connector " config=%s"   \
	extra "\n"

	snprintf(text, sizeof(text),
		 AUTH_LINE(CONNECTOR, "") "account required " PAM_MODULE "\n"
		 "session required " PAM_MODULE "\n",
		 config_path);
	write_service("fc-interactive", text);

	snprintf(text, sizeof(text), AUTH_LINE(CONNECTOR, " keyring"),
		 config_path);
	write_service("fc-machine", text);

	snprintf(text, sizeof(text),
		 AUTH_LINE(CONNECTOR, " keyring export=" EXPORT_VARIABLE)
		 "session required " PAM_MODULE "\n",
		 config_path);
	write_service("fc-machine-export", text);

	snprintf(text, sizeof(text),
		 AUTH_LINE(CONNECTOR, " export=" EXPORT_VARIABLE)
		 "auth required " PROBE_MODULE "\n"
		 "account required " PAM_MODULE "\n"
		 "account required " PROBE_MODULE "\n"
		 "session required " PAM_MODULE "\n"
		 "session required " PROBE_MODULE "\n",
		 config_path);
	write_service("fc-probe", text);

	snprintf(text, sizeof(text),
		 AUTH_LINE(CONNECTOR, "") "auth required " PROBE_MODULE "\n",
		 config_path);
	write_service("fc-probe-noexport", text);

	snprintf(text, sizeof(text),
		 AUTH_LINE(CONNECTOR, " debug export=" EXPORT_VARIABLE)
		 "session required " PAM_MODULE " debug\n",
		 config_path);
	write_service("fc-debug", text);

	snprintf(text, sizeof(text),
		 AUTH_LINE(CONNECTOR, " debug keyring export=" EXPORT_VARIABLE),
		 config_path);
	write_service("fc-machine-debug", text);

	snprintf(text, sizeof(text), AUTH_LINE(CONNECTOR_DOWN, ""),
		 config_path);
	write_service("fc-down", text);
	snprintf(text, sizeof(text), AUTH_LINE(CONNECTOR_DOWN, " keyring"),
		 config_path);
	write_service("fc-down-machine", text);
	snprintf(text, sizeof(text), AUTH_LINE(CONNECTOR_NODIRECT, ""),
		 config_path);
	write_service("fc-nodirect", text);
	snprintf(text, sizeof(text), AUTH_LINE(CONNECTOR_BUSY, ""),
		 config_path);
	write_service("fc-busy", text);
	snprintf(text, sizeof(text), AUTH_LINE(CONNECTOR_BROKEN, ""),
		 config_path);
	write_service("fc-broken", text);
	snprintf(text, sizeof(text), AUTH_LINE("nosuchconnector", ""),
		 config_path);
	write_service("fc-unknown-connector", text);

	snprintf(text, sizeof(text),
		 "auth required " PROBE_MODULE " prompt\n"
		 AUTH_LINE(CONNECTOR, " use_first_pass"), config_path);
	write_service("fc-use-first", text);
	snprintf(text, sizeof(text), AUTH_LINE(CONNECTOR, " use_first_pass"),
		 config_path);
	write_service("fc-use-first-alone", text);
	snprintf(text, sizeof(text),
		 "auth required " PROBE_MODULE " prompt\n"
		 AUTH_LINE(CONNECTOR, " try_first_pass"), config_path);
	write_service("fc-try-first", text);
	snprintf(text, sizeof(text), AUTH_LINE(CONNECTOR, " try_first_pass"),
		 config_path);
	write_service("fc-try-first-alone", text);
	snprintf(text, sizeof(text),
		 "auth required " PROBE_MODULE " prompt\n"
		 AUTH_LINE(CONNECTOR, ""), config_path);
	write_service("fc-no-first", text);

	snprintf(text, sizeof(text),
		 "auth required " PAM_MODULE " connector=" CONNECTOR
		 " config=%s/no-such-file.conf\n", test_dir);
	write_service("fc-config-missing", text);
	snprintf(text, sizeof(text),
		 "auth required " PAM_MODULE " connector=" CONNECTOR
		 " config=%s/unsafe.conf\n", test_dir);
	write_service("fc-config-unsafe", text);

	for (i = 0; i < N_BAD_ARGUMENTS; i++) {
		char name[64];

		expand_arguments(args, sizeof(args), bad_arguments[i]);
		snprintf(text, sizeof(text), "auth required " PAM_MODULE " %s\n",
			 args);
		snprintf(name, sizeof(name), "fc-bad-%zu", i);
		write_service(name, text);
	}
	write_service("fc-bad-other",
		      "account  required " PAM_MODULE " frobnicate\n"
		      "session  required " PAM_MODULE " frobnicate\n"
		      "auth     required " PAM_MODULE " frobnicate\n");

	write_service("fc-expect-ignore",
		      "account  [ignore=1 default=die] " PAM_MODULE "\n"
		      "account  requisite pam_deny.so\n"
		      "account  required pam_permit.so\n"
		      "session  [ignore=1 default=die] " PAM_MODULE "\n"
		      "session  requisite pam_deny.so\n"
		      "session  required pam_permit.so\n"
		      "password [ignore=1 default=die] " PAM_MODULE "\n"
		      "password requisite pam_deny.so\n"
		      "password required pam_permit.so\n");
#undef AUTH_LINE

	install_example("flow-login", "example-flow-login");
	install_example("flow-machine", "example-flow-machine");
}

/* Returns a TCP port on 127.0.0.1 that refuses connections for as long
 * as the returned socket stays open: bound, but never listening. */
static int reserve_closed_port(int *fd_out)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	int fd;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
		fprintf(stderr, "cannot reserve a port: %s\n", strerror(errno));
		exit(EXIT_HARD_ERROR);
	}
	*fd_out = fd;
	return ntohs(addr.sin_port);
}

static void write_config(int closed_port)
{
	const char *url = getenv("FLOWCRED_TEST_URL");
	const char *ca = getenv("FLOWCRED_TEST_CA");
	char text[8192] = "";
	char path[4352];

	append(text, sizeof(text), "[flowcred]\nkeyring_timeout = 5\n\n");
	append(text, sizeof(text),
	       "[" CONNECTOR "]\n"
	       "token_url = %s/auth/realms/test/protocol/openid-connect/token\n"
	       "client_id = " CLIENT_ID "\nclient_secret = " CLIENT_SECRET "\n"
	       "ca_file = %s\nconnect_timeout = 5\ntimeout = 10\n\n",
	       url, ca);
	append(text, sizeof(text),
	       "[" CONNECTOR_DOWN "]\n"
	       "token_url = https://127.0.0.1:%d/auth/realms/test/protocol/openid-connect/token\n"
	       "client_id = " CLIENT_ID "\nclient_secret = " CLIENT_SECRET "\n"
	       "ca_file = %s\nconnect_timeout = 2\ntimeout = 5\n\n",
	       closed_port, ca);
	append(text, sizeof(text),
	       "[" CONNECTOR_NODIRECT "]\n"
	       "token_url = %s/auth/realms/test/protocol/openid-connect/token\n"
	       "client_id = " NODIRECT_CLIENT_ID "\n"
	       "client_secret = " NODIRECT_CLIENT_SECRET "\n"
	       "ca_file = %s\nconnect_timeout = 5\ntimeout = 10\n\n",
	       url, ca);
	append(text, sizeof(text),
	       "[" CONNECTOR_BUSY "]\n"
	       "token_url = %s/auth/realms/pambusy/protocol/openid-connect/token\n"
	       "client_id = " CLIENT_ID "\nclient_secret = " CLIENT_SECRET "\n"
	       "ca_file = %s\nconnect_timeout = 5\ntimeout = 10\n\n",
	       url, ca);
	append(text, sizeof(text),
	       "[" CONNECTOR_BROKEN "]\n"
	       "token_url = %s/auth/realms/pambroken/protocol/openid-connect/token\n"
	       "client_id = " CLIENT_ID "\nclient_secret = " CLIENT_SECRET "\n"
	       "ca_file = %s\nconnect_timeout = 5\ntimeout = 10\n",
	       url, ca);
	write_file(config_path, text, 0600);

	/* Group- and world-writable: libflowcred must reject it. */
	snprintf(path, sizeof(path), "%s/unsafe.conf", test_dir);
	write_file(path, text, 0666);
}

/* Installs a realm that returns a canned response on the token server. */
static bool put_canned_realm(const char *realm, const char *json)
{
	char path[256];
	long status;

	snprintf(path, sizeof(path), "/_test/realms/%s", realm);
	status = call_test_api("PUT", path, json, NULL);
	if (status != 204) {
		fprintf(stderr, "installing realm %s returned HTTP %ld\n",
			realm, status);
		return false;
	}
	return true;
}

struct credential {
	const char *connector;
	const char *flow_user;
	const char *ifs_user;
	const char *password;
};

static int store_credentials(void)
{
	static const char *const connectors[] = {
		CONNECTOR, CONNECTOR_DOWN, CONNECTOR_NODIRECT, CONNECTOR_BUSY,
		CONNECTOR_BROKEN,
	};
	static const struct credential users[] = {
		{ NULL, USER_INTERACTIVE, IFS_USER, NULL },
		{ NULL, USER_MACHINE, IFS_USER, IFS_PASSWORD },
		{ NULL, USER_SPECIAL, SPECIAL_IFS_USER, NULL },
		{ NULL, USER_DISABLED, "DISABLED_USER", NULL },
		{ NULL, USER_NOTSETUP, "NOTSETUP_USER", NULL },
	};
	char detail[FLOWCRED_DETAIL_MAX];
	flowcred_ctx *ctx = NULL;
	flowcred_status status;
	size_t c, u;

	status = flowcred_open(config_path, &ctx, detail, sizeof(detail));
	if (status != FLOWCRED_OK) {
		fprintf(stderr, "flowcred_open: %s: %s\n",
			flowcred_strerror(status), detail);
		return 1;
	}
	flowcred_set_log_func(ctx, NULL, NULL, 0);
	for (c = 0; c < sizeof(connectors) / sizeof(connectors[0]); c++) {
		for (u = 0; u < sizeof(users) / sizeof(users[0]); u++) {
			status = flowcred_store_credentials(
				ctx, connectors[c], users[u].flow_user,
				users[u].ifs_user, users[u].password, detail,
				sizeof(detail));
			if (status != FLOWCRED_OK) {
				fprintf(stderr, "storing %s/%s: %s: %s\n",
					connectors[c], users[u].flow_user,
					flowcred_strerror(status), detail);
				flowcred_close(ctx);
				return 1;
			}
		}
	}
	flowcred_close(ctx);
	return 0;
}

/* Stores the keyring items and installs the canned realms in a child
 * process, so this process never starts GLib's D-Bus threads, which
 * would not survive Check's fork() of each test. */
static void prepare_services(void)
{
	pid_t pid;
	int status = 0;
	int rc;

	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(EXIT_HARD_ERROR);
	}
	if (pid == 0) {
		rc = store_credentials();
		if (rc == 0 &&
		    (!put_canned_realm("pambusy",
				       "{\"canned\":{\"status\":429,"
				       "\"headers\":{\"Retry-After\":\"1\"},"
				       "\"body\":\"\"}}") ||
		     !put_canned_realm("pambroken",
				       "{\"canned\":{\"status\":503,"
				       "\"body\":\"Service Unavailable\"}}")))
			rc = 1;
		_exit(rc);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "preparing the keyring and token server failed\n");
		exit(EXIT_HARD_ERROR);
	}
}

/* ---- Start-up ---- */

static bool pam_wrapper_loaded(void)
{
	return dlsym(RTLD_DEFAULT, "pam_wrapper_enabled") != NULL;
}

static void self_path(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);

	if (n < 0) {
		perror("readlink /proc/self/exe");
		exit(EXIT_HARD_ERROR);
	}
	buf[n] = '\0';
}

/* Runs this test again inside the service harness. */
static int reexec_in_harness(char **argv)
{
	char self[4096];
	char *args[] = { (char *)HARNESS, self, NULL };

	if (access(HARNESS, X_OK) != 0) {
		printf("SKIP: %s is missing and FLOWCRED_TEST_DIR is unset\n",
		       HARNESS);
		return EXIT_SKIP;
	}
	self_path(self, sizeof(self));
	execv(HARNESS, args);
	fprintf(stderr, "cannot run %s: %s\n", HARNESS, strerror(errno));
	return EXIT_HARD_ERROR;
}

/* Appends ":option" to the variable name, or sets it to option. */
static void append_option(const char *name, const char *option)
{
	const char *old = getenv(name);
	char value[8192];

	if (old != NULL && old[0] != '\0')
		snprintf(value, sizeof(value), "%s:%s", old, option);
	else
		snprintf(value, sizeof(value), "%s", option);
	setenv(name, value, 1);
}

/* Prepares a run under AddressSanitizer or valgrind, which both preload
 * their own library and break on libpam loaded with RTLD_DEEPBIND. */
static void prepare_sanitizer(void)
{
	char suppressions[4352];

	/* pam_wrapper 1.1.4 (Debian 12) reads the variable under the name
	 * uid_wrapper uses; later releases read the first. */
	setenv("PAM_WRAPPER_DISABLE_DEEPBIND", "1", 1);
	setenv("UID_WRAPPER_DISABLE_DEEPBIND", "1", 1);
	if (dlsym(RTLD_DEFAULT, "__asan_init") == NULL)
		return;
	/* libpam_wrapper.so comes before the runtime in the preload list,
	 * and its constructor's copies of the configuration paths are never
	 * freed in a forked child. */
	append_option("ASAN_OPTIONS", "verify_asan_link_order=0");
	snprintf(suppressions, sizeof(suppressions), "%s/lsan.supp", test_dir);
	write_file(suppressions, "leak:libpam_wrapper.so\n", 0600);
	snprintf(suppressions, sizeof(suppressions), "suppressions=%s/lsan.supp",
		 test_dir);
	append_option("LSAN_OPTIONS", suppressions);
}

/* Runs this test again with pam_wrapper preloaded. */
static int reexec_with_pam_wrapper(char **argv)
{
	const char *preload = getenv("LD_PRELOAD");
	char self[4096];

	if (getenv("FLOWCRED_PAM_TEST_PRELOADED") != NULL) {
		fprintf(stderr, "libpam_wrapper.so was preloaded but is not "
				"loaded; install libpam-wrapper\n");
		return EXIT_HARD_ERROR;
	}
	if ((preload != NULL && (strstr(preload, "asan") != NULL ||
				 strstr(preload, "vgpreload") != NULL)) ||
	    dlsym(RTLD_DEFAULT, "__asan_init") != NULL)
		prepare_sanitizer();
	/* A sanitizer or valgrind preload must stay first in the list. */
	append_option("LD_PRELOAD", "libpam_wrapper.so");
	setenv("PAM_WRAPPER", "1", 1);
	setenv("PAM_WRAPPER_SERVICE_DIR", service_dir, 1);
	setenv("FLOWCRED_PAM_TEST_PRELOADED", "1", 1);
	self_path(self, sizeof(self));
	execv(self, argv);
	fprintf(stderr, "cannot run %s: %s\n", self, strerror(errno));
	return EXIT_HARD_ERROR;
}

static Suite *pam_suite(void)
{
	Suite *s = suite_create("pam_flowcred");
	TCase *tc;

#define ADD_CASE(name, ...)                                                \
	do {                                                               \
		tc = tcase_create(name);                                   \
		tcase_set_timeout(tc, 60);                                 \
		__VA_ARGS__;                                               \
		suite_add_tcase(s, tc);                                    \
	} while (0)

	ADD_CASE("interactive",
		 tcase_add_test(tc, interactive_success);
		 tcase_add_test(tc, interactive_special_characters);
		 tcase_add_test(tc, interactive_wrong_password);
		 tcase_add_test(tc, interactive_empty_password);
		 tcase_add_test(tc, interactive_ignores_stored_password);
		 tcase_add_test(tc, interactive_user_prompted));
	ADD_CASE("machine",
		 tcase_add_test(tc, machine_success_without_prompt);
		 tcase_add_test(tc, machine_without_stored_password);
		 tcase_add_test(tc, machine_null_conversation));
	ADD_CASE("result codes",
		 tcase_add_test(tc, unknown_user_interactive);
		 tcase_add_test(tc, unknown_user_machine);
		 tcase_add_test(tc, user_with_control_character);
		 tcase_add_test(tc, account_disabled);
		 tcase_add_test(tc, account_not_set_up);
		 tcase_add_test(tc, endpoint_down_interactive);
		 tcase_add_test(tc, endpoint_down_machine);
		 tcase_add_test(tc, endpoint_server_error);
		 tcase_add_test(tc, endpoint_rate_limited);
		 tcase_add_test(tc, client_rejected);
		 tcase_add_test(tc, unknown_connector);
		 tcase_add_test(tc, keyring_unavailable_interactive);
		 tcase_add_test(tc, keyring_unavailable_machine);
		 tcase_add_test(tc, config_missing);
		 tcase_add_test(tc, config_unsafe_mode));
	ADD_CASE("conversation",
		 tcase_add_test(tc, null_conversation);
		 tcase_add_test(tc, null_conversation_without_user);
		 tcase_add_test(tc, failing_conversation);
		 tcase_add_test(tc, conversation_without_answer));
	ADD_CASE("arguments",
		 tcase_add_test(tc, use_first_pass_shared);
		 tcase_add_test(tc, use_first_pass_without_password);
		 tcase_add_test(tc, use_first_pass_wrong_shared);
		 tcase_add_test(tc, try_first_pass_shared);
		 tcase_add_test(tc, try_first_pass_prompts);
		 tcase_add_test(tc, no_first_pass_prompts_again);
		 tcase_add_loop_test(tc, bad_argument_rejected, 0,
				     (int)N_BAD_ARGUMENTS);
		 tcase_add_test(tc, bad_argument_other_facilities));
	ADD_CASE("token hand-off",
		 tcase_add_test(tc, token_reaches_module_and_application);
		 tcase_add_test(tc, token_not_exported_by_default);
		 tcase_add_test(tc, setcred_delete_removes_token);
		 tcase_add_test(tc, failed_retry_drops_token);
		 tcase_add_test(tc, machine_token_exported);
		 tcase_add_test(tc, token_session_stays_open));
	ADD_CASE("other facilities",
		 tcase_add_test(tc, account_ignores_without_auth);
		 tcase_add_test(tc, session_ignores_without_auth);
		 tcase_add_test(tc, chauthtok_ignored);
		 tcase_add_test(tc, account_alone_without_auth_denied));
	ADD_CASE("logging",
		 tcase_add_test(tc, debug_log_has_no_secret);
		 tcase_add_test(tc, failure_logged_with_context));
	ADD_CASE("examples",
		 tcase_add_test(tc, example_interactive_login);
		 tcase_add_test(tc, example_interactive_wrong_password);
		 tcase_add_test(tc, example_machine_workflow));
#undef ADD_CASE
	return s;
}

int main(int argc, char **argv)
{
	const char *dir = getenv("FLOWCRED_TEST_DIR");
	const char *ck_fork = getenv("CK_FORK");
	SRunner *runner;
	int closed_fd;
	int failed;

	if (dir == NULL || dir[0] == '\0')
		return reexec_in_harness(argv);
	if (getenv("FLOWCRED_TEST_NO_KEYRING") != NULL) {
		printf("SKIP: the PAM tests need the keyring\n");
		return EXIT_SKIP;
	}
	snprintf(test_dir, sizeof(test_dir), "%s/pam", dir);
	snprintf(service_dir, sizeof(service_dir), "%s/pam/pam.d", dir);
	snprintf(config_path, sizeof(config_path), "%s/pam/flowcred.conf",
		 dir);
	fork_mode = ck_fork == NULL || strcmp(ck_fork, "no") != 0;

	/* pam_wrapper copies the service directory when it is loaded, so
	 * the service files exist before the test runs with it. */
	if (!pam_wrapper_loaded()) {
		if ((mkdir(test_dir, 0700) != 0 && errno != EEXIST) ||
		    (mkdir(service_dir, 0700) != 0 && errno != EEXIST)) {
			fprintf(stderr, "cannot create %s: %s\n", service_dir,
				strerror(errno));
			return EXIT_HARD_ERROR;
		}
		write_services();
		return reexec_with_pam_wrapper(argv);
	}

	write_config(reserve_closed_port(&closed_fd));
	prepare_services();

	runner = srunner_create(pam_suite());
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	close(closed_fd);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

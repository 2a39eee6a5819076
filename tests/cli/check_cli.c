/* Tests of the flowcred command line program.
 *
 * Each test runs the built program as a child process, with its standard
 * input fed through a pipe (or a pseudo-terminal for the prompt), against
 * the keyring and token server of tests/harness/with-services.sh, and
 * checks its exit status and output. Expected values come from the
 * program's specification and the server's fixture realm "test".
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <linux/keyctl.h>

#include "testutil.h"

#ifndef FLOWCRED_CLI
#error "FLOWCRED_CLI must be defined as the path of the built flowcred program"
#endif

/* Seconds a single run of the program may take. The slowest case is the
 * unreachable endpoint, bounded by its connect_timeout below. */
#define CLI_TIMEOUT 30

/* Exit codes from the program's specification. */
enum {
	EXIT_OK = 0,
	EXIT_OTHER = 1,
	EXIT_USAGE = 2,
	EXIT_NOT_FOUND = 3,
	EXIT_DENIED = 4,
	EXIT_ACCOUNT = 5,
	EXIT_CLIENT_REJECTED = 6,
	EXIT_CONFIG = 7,
	EXIT_UNAVAILABLE = 8,
	EXIT_TRY_AGAIN = 9,
	EXIT_PROTOCOL = 10,
};

/* Configuration written by setup(): connector "test" uses the fixture
 * client NC_FlowPassCred, "nodirect" the client without Direct Access
 * Grants, "plainhttp" an http:// token URL, which is invalid, and "down"
 * a port on 127.0.0.1 where nothing listens. */
static char *config_path;

struct cli_result {
	int status;
	char *out;
	char *err;
};

static void setup(void)
{
	char *url = tu_token_url("test");
	int closed_port = tu_closed_port();
	const char *ca = tu_env("FLOWCRED_TEST_CA");

	unsetenv("FLOWCRED_CONFIG");
	config_path = tu_write_filef("cli.conf", 0600,
		"[test]\n"
		"token_url = %s\n"
		"client_id = " TU_CLIENT_ID "\n"
		"client_secret = " TU_CLIENT_SECRET "\n"
		"ca_file = %s\n"
		"\n"
		"[listing]\n"
		"token_url = %s\n"
		"client_id = " TU_CLIENT_ID "\n"
		"client_secret = " TU_CLIENT_SECRET "\n"
		"ca_file = %s\n"
		"\n"
		"[nodirect]\n"
		"token_url = %s\n"
		"client_id = " TU_NODIRECT_CLIENT_ID "\n"
		"client_secret = nodirect-secret-1\n"
		"ca_file = %s\n"
		"\n"
		"[plainhttp]\n"
		"token_url = http://127.0.0.1:%s/auth/realms/test/protocol/openid-connect/token\n"
		"client_id = " TU_CLIENT_ID "\n"
		"client_secret = " TU_CLIENT_SECRET "\n"
		"\n"
		"[down]\n"
		"token_url = https://127.0.0.1:%d/auth/realms/test/protocol/openid-connect/token\n"
		"client_id = " TU_CLIENT_ID "\n"
		"client_secret = " TU_CLIENT_SECRET "\n"
		"ca_file = %s\n"
		"connect_timeout = 5\n"
		"timeout = 10\n",
		url, ca, url, ca, url, ca, tu_env("FLOWCRED_TEST_PORT"),
		closed_port, ca);
	free(url);
}

static void teardown(void)
{
	if (config_path)
		unlink(config_path);
	free(config_path);
	config_path = NULL;
}

/* Runs the program with the arguments that follow input, up to a NULL,
 * and with input (NULL for none) on its standard input. */
static struct cli_result run_cli(const char *input, ...)
{
	struct cli_result result = { 0 };
	char *argv[32];
	size_t n = 0;
	va_list ap;
	char *arg;

	argv[n++] = (char *)FLOWCRED_CLI;
	va_start(ap, input);
	while ((arg = va_arg(ap, char *)) != NULL) {
		ck_assert_uint_lt(n, sizeof(argv) / sizeof(argv[0]) - 1);
		argv[n++] = arg;
	}
	va_end(ap);
	argv[n] = NULL;

	result.status = tu_run_program(argv, input, &result.out, &result.err,
				       CLI_TIMEOUT);
	return result;
}

static void cli_result_free(struct cli_result *result)
{
	free(result->out);
	free(result->err);
	result->out = NULL;
	result->err = NULL;
}

/* Stores an item with --password-stdin (password NULL: --no-password)
 * and aborts the test unless the program succeeds. */
static void store_item(const char *connector, const char *flow_user,
		       const char *ifs_user, const char *password)
{
	struct cli_result r;

	if (password)
		r = run_cli(password, "--config", config_path, "store",
			    connector, flow_user, "--ifs-user", ifs_user,
			    "--password-stdin", NULL);
	else
		r = run_cli(NULL, "--config", config_path, "store", connector,
			    flow_user, "--ifs-user", ifs_user, "--no-password",
			    NULL);
	ck_assert_msg(r.status == EXIT_OK, "store %s %s exited with %d: %s",
		      connector, flow_user, r.status, r.err);
	cli_result_free(&r);
}

/* Returns the decoded payload of a JWT as a JSON object, or NULL. */
static struct json_object *jwt_payload(const char *token)
{
	const char *start = strchr(token, '.');
	const char *end = start ? strchr(start + 1, '.') : NULL;
	struct json_object *payload;
	GString *text;
	guchar *decoded;
	gsize decoded_len;
	char *json;

	if (!end)
		return NULL;
	text = g_string_new_len(start + 1, end - start - 1);
	g_strdelimit(text->str, "-", '+');
	g_strdelimit(text->str, "_", '/');
	while (text->len % 4)
		g_string_append_c(text, '=');
	decoded = g_base64_decode(text->str, &decoded_len);
	g_string_free(text, TRUE);
	json = g_strndup((const char *)decoded, decoded_len);
	g_free(decoded);
	payload = json_tokener_parse(json);
	g_free(json);
	return payload;
}

/* Returns the last recorded password grant's form fields, as an object
 * owned by *requests, which the caller releases with json_object_put(). */
static struct json_object *last_grant_form(struct json_object **requests)
{
	*requests = tu_server_requests();
	return tu_last_form(*requests);
}

/* Returns the number of recorded requests to an endpoint ("token",
 * "logout") of realm. */
static size_t count_requests(struct json_object *requests, const char *realm,
			     const char *endpoint)
{
	size_t count = 0;
	size_t i;

	for (i = 0; i < json_object_array_length(requests); i++) {
		struct json_object *request =
			json_object_array_get_idx(requests, i);
		const char *name = tu_json_string(request, "realm");
		const char *kind = tu_json_string(request, "endpoint");

		if (name && strcmp(name, realm) == 0 && kind &&
		    strcmp(kind, endpoint) == 0)
			count++;
	}
	return count;
}

static size_t count_token_requests(struct json_object *requests,
				   const char *realm)
{
	return count_requests(requests, realm, "token");
}

/* Returns 1 when this process may use its user's kernel keyring, where
 * the library caches tokens between processes. Container runtimes often
 * deny keyctl(2) with their seccomp profile. */
static int kernel_keyring_usable(void)
{
	long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID,
			  KEY_SPEC_USER_KEYRING, 0);

	if (id < 0)
		fprintf(stderr, "kernel keyring unusable (%s): the token cache "
			"checks of this test are skipped\n", strerror(errno));
	return id >= 0;
}

/* Runs `token test FLOW_USER` and returns its output, which must be a
 * token and a newline. */
static char *get_token_output(const char *flow_user)
{
	struct cli_result r;
	char *out;

	r = run_cli(NULL, "--config", config_path, "token", "test", flow_user,
		    NULL);
	ck_assert_msg(r.status == EXIT_OK, "token %s exited with %d: %s",
		      flow_user, r.status, r.err);
	out = r.out;
	r.out = NULL;
	cli_result_free(&r);
	return out;
}

/* ---- store, lookup, token, clear ---- */

START_TEST(test_special_user_round_trip)
{
	const char *ifs_user = TU_SPECIAL_USER;
	const char *password = TU_SPECIAL_PASSWORD;
	char *flow_user = tu_unique("roundtrip");
	struct json_object *requests, *form, *claims;
	struct cli_result r;
	char *expected;
	char *token;

	r = run_cli(TU_SPECIAL_PASSWORD "\n", "--config", config_path,
		    "store", "test", flow_user, "--ifs-user", ifs_user,
		    "--password-stdin", NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	ck_assert_str_eq(r.out, "");
	ck_assert_ptr_null(strstr(r.err, password));
	cli_result_free(&r);

	r = run_cli(NULL, "--config", config_path, "lookup", "test",
		    flow_user, NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	ck_assert_int_ne(asprintf(&expected, "IFS user: %s\n", ifs_user), -1);
	ck_assert_ptr_nonnull(strstr(r.out, expected));
	ck_assert_ptr_nonnull(strstr(r.out, "password stored"));
	ck_assert_ptr_null(strstr(r.out, password));
	ck_assert_ptr_null(strstr(r.err, password));
	free(expected);
	cli_result_free(&r);

	tu_server_reset();
	r = run_cli(NULL, "--config", config_path, "token", "test", flow_user,
		    NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	ck_assert_str_eq(r.err, "");
	ck_assert_uint_gt(strlen(r.out), 1);
	ck_assert_int_eq(r.out[strlen(r.out) - 1], '\n');
	token = g_strndup(r.out, strlen(r.out) - 1);
	ck_assert_ptr_null(strchr(token, '\n'));
	ck_assert_msg(tu_is_jwt_shaped(token), "stdout is not a token: %s",
		      r.out);
	claims = jwt_payload(token);
	ck_assert_ptr_nonnull(claims);
	/* The server's access tokens carry typ "Bearer" and the user name
	 * in lower case; its refresh and ID tokens do not. */
	ck_assert_str_eq(tu_json_string(claims, "typ"), "Bearer");
	ck_assert_str_eq(tu_json_string(claims, "preferred_username"),
			 ifs_user);
	json_object_put(claims);
	g_free(token);
	cli_result_free(&r);

	form = last_grant_form(&requests);
	ck_assert_str_eq(tu_json_string(form, "grant_type"), "password");
	ck_assert_str_eq(tu_json_string(form, "username"), ifs_user);
	ck_assert_str_eq(tu_json_string(form, "password"), password);
	json_object_put(requests);

	r = run_cli(NULL, "--config", config_path, "clear", "test", flow_user,
		    NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	cli_result_free(&r);

	r = run_cli(NULL, "--config", config_path, "lookup", "test",
		    flow_user, NULL);
	ck_assert_int_eq(r.status, EXIT_NOT_FOUND);
	ck_assert_str_eq(r.out, "");
	ck_assert_msg(strncmp(r.err, "flowcred: ", 10) == 0,
		      "stderr lacks the program prefix: %s", r.err);
	cli_result_free(&r);
	free(flow_user);
}
END_TEST

START_TEST(test_store_replaces_item)
{
	char *flow_user = tu_unique("replace");
	struct cli_result r;

	store_item("test", flow_user, "DISABLED_USER", "first-password");
	store_item("test", flow_user, TU_USER, NULL);

	r = run_cli(NULL, "--config", config_path, "lookup", "test",
		    flow_user, NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	ck_assert_ptr_nonnull(strstr(r.out, "IFS user: " TU_USER "\n"));
	ck_assert_ptr_null(strstr(r.out, "DISABLED_USER"));
	ck_assert_ptr_nonnull(strstr(r.out, "no password"));
	cli_result_free(&r);
	free(flow_user);
}
END_TEST

START_TEST(test_clear_missing_item_not_found)
{
	char *flow_user = tu_unique("never-stored");
	struct cli_result r;

	r = run_cli(NULL, "--config", config_path, "clear", "test", flow_user,
		    NULL);
	ck_assert_int_eq(r.status, EXIT_NOT_FOUND);
	cli_result_free(&r);
	free(flow_user);
}
END_TEST

/* Stores input as the password of IFS user IFSAPP, requests a token, and
 * checks the password the token server received. */
static void check_stored_password(const char *input, const char *expected)
{
	char *flow_user = tu_unique("newline");
	struct json_object *requests, *form;
	struct cli_result r;

	store_item("test", flow_user, TU_USER, input);
	tu_server_reset();
	r = run_cli(NULL, "--config", config_path, "token", "test", flow_user,
		    NULL);
	/* The stored password is not the fixture's, so the grant fails. */
	ck_assert_int_eq(r.status, EXIT_DENIED);
	cli_result_free(&r);

	form = last_grant_form(&requests);
	ck_assert_str_eq(tu_json_string(form, "username"), TU_USER);
	ck_assert_str_eq(tu_json_string(form, "password"), expected);
	json_object_put(requests);
	free(flow_user);
}

START_TEST(test_stdin_one_newline_stripped)
{
	check_stored_password("abc\n", "abc");
}
END_TEST

START_TEST(test_stdin_second_newline_kept)
{
	check_stored_password("abc\n\n", "abc\n");
}
END_TEST

START_TEST(test_stdin_without_newline_kept)
{
	check_stored_password("abc", "abc");
}
END_TEST

START_TEST(test_stdin_other_whitespace_kept)
{
	check_stored_password(" abc \r\n", " abc \r");
}
END_TEST

START_TEST(test_stdin_empty_password_rejected)
{
	char *flow_user = tu_unique("empty");
	struct cli_result r;

	r = run_cli("", "--config", config_path, "store", "test", flow_user,
		    "--ifs-user", TU_USER, "--password-stdin", NULL);
	ck_assert_int_eq(r.status, EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(r.err, "empty"));
	cli_result_free(&r);

	r = run_cli("\n", "--config", config_path, "store", "test", flow_user,
		    "--ifs-user", TU_USER, "--password-stdin", NULL);
	ck_assert_int_eq(r.status, EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(r.err, "empty"));
	cli_result_free(&r);

	r = run_cli(NULL, "--config", config_path, "lookup", "test",
		    flow_user, NULL);
	ck_assert_int_eq(r.status, EXIT_NOT_FOUND);
	cli_result_free(&r);
	free(flow_user);
}
END_TEST

START_TEST(test_stdin_nul_byte_rejected)
{
	char *flow_user = tu_unique("nul");
	char *argv[] = { "/bin/sh", "-c",
			 "printf 'ab\\000cd' | \"$0\" --config \"$1\" store test \"$2\" --ifs-user IFSAPP --password-stdin",
			 (char *)FLOWCRED_CLI, config_path, flow_user, NULL };
	char *out = NULL, *err = NULL;
	int status;

	status = tu_run_program(argv, NULL, &out, &err, CLI_TIMEOUT);
	ck_assert_int_eq(status, EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "NUL"));
	free(out);
	free(err);
	free(flow_user);
}
END_TEST

START_TEST(test_stdin_too_long_rejected)
{
	char *flow_user = tu_unique("long");
	char *input = g_strnfill(70000, 'x');
	struct cli_result r;

	r = run_cli(input, "--config", config_path, "store", "test", flow_user,
		    "--ifs-user", TU_USER, "--password-stdin", NULL);
	ck_assert_int_eq(r.status, EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(r.err, "longer"));
	cli_result_free(&r);
	g_free(input);
	free(flow_user);
}
END_TEST

/* ---- interactive users ---- */

START_TEST(test_no_password_item)
{
	char *flow_user = tu_unique("interactive");
	struct cli_result r;

	store_item("test", flow_user, TU_USER, NULL);

	r = run_cli(NULL, "--config", config_path, "lookup", "test",
		    flow_user, NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	ck_assert_ptr_nonnull(strstr(r.out, "IFS user: " TU_USER "\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "no password"));
	ck_assert_ptr_null(strstr(r.out, "password stored"));
	cli_result_free(&r);

	r = run_cli(NULL, "--config", config_path, "token", "test", flow_user,
		    NULL);
	ck_assert_int_eq(r.status, EXIT_NOT_FOUND);
	ck_assert_str_eq(r.out, "");
	cli_result_free(&r);

	r = run_cli(TU_PASSWORD "\n", "--config", config_path, "token", "test",
		    flow_user, "--password-stdin", NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	ck_assert_msg(tu_is_jwt_shaped(g_strchomp(r.out)),
		      "stdout is not a token: %s", r.out);
	cli_result_free(&r);
	free(flow_user);
}
END_TEST

/* ---- grant failures ---- */

START_TEST(test_wrong_password_denied)
{
	char *flow_user = tu_unique("wrong");
	struct cli_result r;

	store_item("test", flow_user, TU_USER, "not-the-password");
	r = run_cli(NULL, "--config", config_path, "token", "test", flow_user,
		    NULL);
	ck_assert_int_eq(r.status, EXIT_DENIED);
	ck_assert_str_eq(r.out, "");
	ck_assert_msg(strncmp(r.err, "flowcred: ", 10) == 0,
		      "stderr lacks the program prefix: %s", r.err);
	ck_assert_ptr_null(strstr(r.err, "not-the-password"));
	cli_result_free(&r);
	free(flow_user);
}
END_TEST

START_TEST(test_disabled_account)
{
	char *flow_user = tu_unique("disabled");
	struct cli_result r;

	store_item("test", flow_user, "DISABLED_USER", TU_PASSWORD);
	r = run_cli(NULL, "--config", config_path, "token", "test", flow_user,
		    NULL);
	ck_assert_int_eq(r.status, EXIT_ACCOUNT);
	cli_result_free(&r);
	free(flow_user);
}
END_TEST

START_TEST(test_unknown_connector_not_found)
{
	struct cli_result r;

	r = run_cli(NULL, "--config", config_path, "token", "no-such-connector",
		    "flowbot", NULL);
	ck_assert_int_eq(r.status, EXIT_NOT_FOUND);
	ck_assert_str_eq(r.out, "");
	cli_result_free(&r);
}
END_TEST

START_TEST(test_endpoint_down_unavailable)
{
	char *flow_user = tu_unique("down");
	struct cli_result r;

	store_item("down", flow_user, TU_USER, TU_PASSWORD);
	r = run_cli(NULL, "--config", config_path, "token", "down", flow_user,
		    NULL);
	ck_assert_int_eq(r.status, EXIT_UNAVAILABLE);
	ck_assert_str_eq(r.out, "");
	cli_result_free(&r);
	free(flow_user);
}
END_TEST

START_TEST(test_server_slow_down_try_again)
{
	char *config, *url;
	struct cli_result r;
	char *flow_user = tu_unique("busy");

	tu_server_put_canned("busy", 429, "{\"Retry-After\":\"5\"}", "");
	url = tu_token_url("busy");
	config = tu_write_filef("busy.conf", 0600,
				"[busy]\ntoken_url = %s\nclient_id = "
				TU_CLIENT_ID "\nclient_secret = "
				TU_CLIENT_SECRET "\nca_file = %s\n",
				url, tu_env("FLOWCRED_TEST_CA"));
	r = run_cli(TU_PASSWORD, "--config", config, "store", "busy",
		    flow_user, "--ifs-user", TU_USER, "--password-stdin", NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	cli_result_free(&r);

	r = run_cli(NULL, "--config", config, "token", "busy", flow_user, NULL);
	ck_assert_int_eq(r.status, EXIT_TRY_AGAIN);
	cli_result_free(&r);
	unlink(config);
	free(config);
	free(url);
	free(flow_user);
}
END_TEST

START_TEST(test_invalid_answer_protocol_error)
{
	char *config, *url;
	struct cli_result r;
	char *flow_user = tu_unique("garbled");

	/* JSON, but neither a token response nor an error response. */
	tu_server_put_canned("garbled", 200,
			     "{\"Content-Type\":\"application/json\"}",
			     "{\"token_type\":\"Bearer\"}");
	url = tu_token_url("garbled");
	config = tu_write_filef("garbled.conf", 0600,
				"[garbled]\ntoken_url = %s\nclient_id = "
				TU_CLIENT_ID "\nclient_secret = "
				TU_CLIENT_SECRET "\nca_file = %s\n",
				url, tu_env("FLOWCRED_TEST_CA"));
	r = run_cli(TU_PASSWORD, "--config", config, "store", "garbled",
		    flow_user, "--ifs-user", TU_USER, "--password-stdin", NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	cli_result_free(&r);

	r = run_cli(NULL, "--config", config, "token", "garbled", flow_user,
		    NULL);
	ck_assert_int_eq(r.status, EXIT_PROTOCOL);
	ck_assert_str_eq(r.out, "");
	cli_result_free(&r);
	unlink(config);
	free(config);
	free(url);
	free(flow_user);
}
END_TEST

/* ---- token cache ---- */

START_TEST(test_second_token_served_from_cache)
{
	char *flow_user = tu_unique("cached");
	struct json_object *requests;
	char *first, *second;

	if (!kernel_keyring_usable())
		return;
	store_item("test", flow_user, TU_USER, TU_PASSWORD);
	first = get_token_output(flow_user);
	tu_server_reset();
	second = get_token_output(flow_user);

	ck_assert_str_eq(second, first);
	requests = tu_server_requests();
	ck_assert_uint_eq(count_token_requests(requests, "test"), 0);
	json_object_put(requests);
	free(first);
	free(second);
	free(flow_user);
}
END_TEST

START_TEST(test_clear_drops_cached_token)
{
	char *flow_user = tu_unique("cleared");
	struct cli_result r;
	char *token;

	store_item("test", flow_user, TU_USER, TU_PASSWORD);
	token = get_token_output(flow_user);

	r = run_cli(NULL, "--config", config_path, "clear", "test", flow_user,
		    NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	cli_result_free(&r);

	r = run_cli(NULL, "--config", config_path, "token", "test", flow_user,
		    NULL);
	ck_assert_int_eq(r.status, EXIT_NOT_FOUND);
	ck_assert_str_eq(r.out, "");
	cli_result_free(&r);
	free(token);
	free(flow_user);
}
END_TEST

START_TEST(test_changed_config_bypasses_cache)
{
	char *flow_user = tu_unique("changed");
	struct cli_result r;

	if (!kernel_keyring_usable())
		return;
	store_item("test", flow_user, TU_USER, TU_PASSWORD);
	free(get_token_output(flow_user));

	/* The cached token came from the file as it was: once the file
	 * is unsafe, the token command reports that instead of serving
	 * the cached token. */
	ck_assert_int_eq(chmod(config_path, 0666), 0);
	r = run_cli(NULL, "--config", config_path, "token", "test", flow_user,
		    NULL);
	ck_assert_int_eq(chmod(config_path, 0600), 0);
	ck_assert_int_eq(r.status, EXIT_CONFIG);
	ck_assert_str_eq(r.out, "");
	cli_result_free(&r);
	free(flow_user);
}
END_TEST

START_TEST(test_token_leaves_session_open)
{
	char *flow_user = tu_unique("open");
	struct json_object *requests;
	struct cli_result r;

	store_item("test", flow_user, TU_USER, NULL);
	tu_server_reset();
	r = run_cli(TU_PASSWORD, "--config", config_path, "token", "test",
		    flow_user, "--password-stdin", NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	cli_result_free(&r);

	/* The printed token must stay usable after the program exits. */
	requests = tu_server_requests();
	ck_assert_uint_eq(count_token_requests(requests, "test"), 1);
	ck_assert_uint_eq(count_requests(requests, "test", "logout"), 0);
	json_object_put(requests);
	free(flow_user);
}
END_TEST

START_TEST(test_logout_ends_cached_session)
{
	char *flow_user = tu_unique("logout");
	struct json_object *requests;
	struct cli_result r;

	if (!kernel_keyring_usable())
		return;
	store_item("test", flow_user, TU_USER, TU_PASSWORD);
	/* A reset also ends the server's sessions, so there is none
	 * between the grant and the logout. */
	tu_server_reset();
	free(get_token_output(flow_user));

	r = run_cli(NULL, "--config", config_path, "logout", "test", flow_user,
		    NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	cli_result_free(&r);
	requests = tu_server_requests();
	ck_assert_uint_eq(count_requests(requests, "test", "logout"), 1);
	json_object_put(requests);

	/* The cached token is gone, so the next one needs a grant. */
	free(get_token_output(flow_user));
	requests = tu_server_requests();
	ck_assert_uint_eq(count_token_requests(requests, "test"), 2);
	json_object_put(requests);
	free(flow_user);
}
END_TEST

START_TEST(test_logout_without_session_not_found)
{
	char *flow_user = tu_unique("no-session");
	struct cli_result r;

	store_item("test", flow_user, TU_USER, TU_PASSWORD);
	r = run_cli(NULL, "--config", config_path, "logout", "test", flow_user,
		    NULL);
	ck_assert_int_eq(r.status, EXIT_NOT_FOUND);
	cli_result_free(&r);
	free(flow_user);
}
END_TEST

/* ---- configuration ---- */

START_TEST(test_http_token_url_config_invalid)
{
	struct cli_result r;

	r = run_cli(NULL, "--config", config_path, "token", "plainhttp",
		    "flowbot", NULL);
	ck_assert_int_eq(r.status, EXIT_CONFIG);
	cli_result_free(&r);

	r = run_cli(NULL, "--config", config_path, "check", "plainhttp", NULL);
	ck_assert_int_eq(r.status, EXIT_CONFIG);
	cli_result_free(&r);
}
END_TEST

START_TEST(test_world_writable_config_invalid)
{
	char *config = tu_write_filef("unsafe.conf", 0666,
				      "[test]\ntoken_url = %s\n"
				      "client_id = " TU_CLIENT_ID "\n",
				      tu_env("FLOWCRED_TEST_URL"));
	struct cli_result r;

	r = run_cli(NULL, "--config", config, "list", NULL);
	ck_assert_int_eq(r.status, EXIT_CONFIG);
	ck_assert_ptr_nonnull(strstr(r.err, config));
	cli_result_free(&r);
	unlink(config);
	free(config);
}
END_TEST

START_TEST(test_missing_config_invalid)
{
	char *config;
	struct cli_result r;

	ck_assert_int_ne(asprintf(&config, "%s/no-such-file.conf",
				  tu_env("FLOWCRED_TEST_DIR")), -1);
	r = run_cli(NULL, "--config", config, "list", NULL);
	ck_assert_int_eq(r.status, EXIT_CONFIG);
	cli_result_free(&r);
	free(config);
}
END_TEST

START_TEST(test_config_from_environment)
{
	struct cli_result r;

	setenv("FLOWCRED_CONFIG", config_path, 1);
	r = run_cli(NULL, "check", "test", NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	cli_result_free(&r);
}
END_TEST

START_TEST(test_config_option_overrides_environment)
{
	char *missing;
	struct cli_result r;

	ck_assert_int_ne(asprintf(&missing, "%s/no-such-file.conf",
				  tu_env("FLOWCRED_TEST_DIR")), -1);
	setenv("FLOWCRED_CONFIG", missing, 1);
	r = run_cli(NULL, "--config", config_path, "check", "test", NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	cli_result_free(&r);

	r = run_cli(NULL, "check", "test", NULL);
	ck_assert_int_eq(r.status, EXIT_CONFIG);
	cli_result_free(&r);
	free(missing);
}
END_TEST

/* ---- list and check ---- */

START_TEST(test_list_lines)
{
	struct cli_result r;

	store_item("listing", "alice", TU_USER, TU_PASSWORD);
	store_item("listing", "bob", "DISABLED_USER", NULL);

	r = run_cli(NULL, "--config", config_path, "list", "listing", NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	ck_assert_str_eq(r.out,
			 "listing\talice\t" TU_USER "\tpassword stored\n"
			 "listing\tbob\tDISABLED_USER\tno password\n");
	ck_assert_ptr_null(strstr(r.out, TU_PASSWORD));
	cli_result_free(&r);

	/* Without a connector every item is listed, these two included. */
	r = run_cli(NULL, "--config", config_path, "list", NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	ck_assert_ptr_nonnull(strstr(r.out, "listing\talice\t" TU_USER
					    "\tpassword stored\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "listing\tbob\tDISABLED_USER"
					    "\tno password\n"));
	cli_result_free(&r);

	r = run_cli(NULL, "--config", config_path, "list", "nodirect", NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	ck_assert_str_eq(r.out, "");
	cli_result_free(&r);
}
END_TEST

START_TEST(test_check_good_connector)
{
	struct cli_result r;

	r = run_cli(NULL, "--config", config_path, "check", "test", NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	ck_assert_ptr_nonnull(strstr(r.out, "test"));
	ck_assert_ptr_nonnull(strstr(r.out, "OK"));
	ck_assert_str_eq(r.err, "");
	cli_result_free(&r);
}
END_TEST

START_TEST(test_check_no_direct_grants_rejected)
{
	struct cli_result r;

	r = run_cli(NULL, "--config", config_path, "check", "nodirect", NULL);
	ck_assert_int_eq(r.status, EXIT_CLIENT_REJECTED);
	ck_assert_msg(strncmp(r.err, "flowcred: ", 10) == 0,
		      "stderr lacks the program prefix: %s", r.err);
	cli_result_free(&r);
}
END_TEST

/* ---- output formats ---- */

START_TEST(test_token_json_format)
{
	char *flow_user = tu_unique("json");
	struct json_object *answer, *member;
	struct cli_result r;
	int64_t expires_at;
	time_t before = time(NULL);

	store_item("test", flow_user, TU_USER, TU_PASSWORD);
	r = run_cli(NULL, "--config", config_path, "token", "test", flow_user,
		    "--format=json", NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	answer = json_tokener_parse(r.out);
	ck_assert_ptr_nonnull(answer);
	ck_assert_msg(tu_is_jwt_shaped(tu_json_string(answer, "access_token")),
		      "access_token is not a token: %s", r.out);
	ck_assert_str_eq(tu_json_string(answer, "token_type"), "Bearer");
	ck_assert(json_object_object_get_ex(answer, "expires_at", &member));
	ck_assert(json_object_is_type(member, json_type_int));
	expires_at = json_object_get_int64(member);
	ck_assert_int_ge(expires_at, (int64_t)before + TU_FIXTURE_EXPIRES_IN - 5);
	ck_assert_int_le(expires_at,
			 (int64_t)time(NULL) + TU_FIXTURE_EXPIRES_IN + 5);
	json_object_put(answer);
	cli_result_free(&r);
	free(flow_user);
}
END_TEST

START_TEST(test_large_token_repeats_grant)
{
	/* Larger than the program's first 16 KiB token buffer. */
	const size_t token_len = 20000;
	char *flow_user = tu_unique("large");
	char *token = g_strnfill(token_len, 'A');
	struct json_object *requests;
	char *config, *url, *body, *expected;
	struct cli_result r;

	ck_assert_int_ne(asprintf(&body,
				  "{\"access_token\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":300}",
				  token), -1);
	tu_server_put_canned("large", 200,
			     "{\"Content-Type\":\"application/json\"}", body);
	url = tu_token_url("large");
	config = tu_write_filef("large.conf", 0600,
				"[large]\ntoken_url = %s\nclient_id = "
				TU_CLIENT_ID "\nclient_secret = "
				TU_CLIENT_SECRET "\nca_file = %s\n",
				url, tu_env("FLOWCRED_TEST_CA"));
	r = run_cli(TU_PASSWORD, "--config", config, "store", "large",
		    flow_user, "--ifs-user", TU_USER, "--password-stdin", NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	cli_result_free(&r);

	tu_server_reset();
	r = run_cli(NULL, "--config", config, "token", "large", flow_user,
		    NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	ck_assert_int_ne(asprintf(&expected, "%s\n", token), -1);
	ck_assert_str_eq(r.out, expected);
	cli_result_free(&r);

	/* The first call's token did not fit. The library keeps the token
	 * of that call in its context cache until shortly before it
	 * expires, so the repeat is served from there without a second
	 * grant. A canned realm records its requests without form fields. */
	requests = tu_server_requests();
	ck_assert_uint_eq(count_token_requests(requests, "large"), 1);
	json_object_put(requests);
	unlink(config);
	free(expected);
	free(config);
	free(url);
	free(body);
	g_free(token);
	free(flow_user);
}
END_TEST

START_TEST(test_invalid_format_usage_error)
{
	struct cli_result r;

	r = run_cli(NULL, "--config", config_path, "token", "test", "flowbot",
		    "--format=xml", NULL);
	ck_assert_int_eq(r.status, EXIT_USAGE);
	cli_result_free(&r);
}
END_TEST

/* ---- secrets on stderr ---- */

START_TEST(test_verbose_output_has_no_secrets)
{
	char *flow_user = tu_unique("verbose");
	struct cli_result r;
	char *token;

	r = run_cli(TU_SPECIAL_PASSWORD, "-vv", "--config", config_path,
		    "store", "test", flow_user, "--ifs-user", TU_SPECIAL_USER,
		    "--password-stdin", NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	ck_assert_ptr_null(strstr(r.err, TU_SPECIAL_PASSWORD));
	ck_assert_ptr_null(strstr(r.err, TU_CLIENT_SECRET));
	cli_result_free(&r);

	r = run_cli(NULL, "-vv", "--config", config_path, "token", "test",
		    flow_user, NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	token = g_strchomp(g_strdup(r.out));
	ck_assert_uint_gt(strlen(token), 0);
	ck_assert_ptr_null(strstr(r.err, token));
	ck_assert_ptr_null(strstr(r.err, TU_SPECIAL_PASSWORD));
	ck_assert_ptr_null(strstr(r.err, TU_CLIENT_SECRET));
	g_free(token);
	cli_result_free(&r);

	r = run_cli(NULL, "-vv", "--config", config_path, "lookup", "test",
		    flow_user, NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	ck_assert_ptr_null(strstr(r.err, TU_SPECIAL_PASSWORD));
	ck_assert_ptr_null(strstr(r.out, TU_SPECIAL_PASSWORD));
	cli_result_free(&r);

	r = run_cli(NULL, "-vv", "--config", config_path, "check", "test",
		    NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	ck_assert_ptr_null(strstr(r.err, TU_CLIENT_SECRET));
	ck_assert_ptr_null(strstr(r.out, TU_CLIENT_SECRET));
	cli_result_free(&r);
	free(flow_user);
}
END_TEST

START_TEST(test_verbose_failure_has_no_secrets)
{
	char *flow_user = tu_unique("verbose-fail");
	struct cli_result r;

	store_item("test", flow_user, TU_USER, "wrong-" TU_SPECIAL_PASSWORD);
	r = run_cli(NULL, "-vv", "--config", config_path, "token", "test",
		    flow_user, NULL);
	ck_assert_int_eq(r.status, EXIT_DENIED);
	ck_assert_ptr_null(strstr(r.err, TU_SPECIAL_PASSWORD));
	ck_assert_ptr_null(strstr(r.err, TU_CLIENT_SECRET));
	cli_result_free(&r);
	free(flow_user);
}
END_TEST

START_TEST(test_verbose_prints_library_messages)
{
	struct cli_result r;

	r = run_cli(NULL, "-vv", "--config", config_path, "check", "nodirect",
		    NULL);
	ck_assert_int_eq(r.status, EXIT_CLIENT_REJECTED);
	/* At least one library message besides the final error. */
	ck_assert_ptr_nonnull(strstr(r.err, "flowcred: "));
	ck_assert_ptr_nonnull(strchr(strchr(r.err, '\n') + 1, '\n'));
	cli_result_free(&r);
}
END_TEST

/* ---- usage ---- */

START_TEST(test_no_command_usage_error)
{
	struct cli_result r = run_cli(NULL, "--config", config_path, NULL);

	ck_assert_int_eq(r.status, EXIT_USAGE);
	ck_assert_str_eq(r.out, "");
	cli_result_free(&r);
}
END_TEST

START_TEST(test_unknown_command_usage_error)
{
	struct cli_result r = run_cli(NULL, "--config", config_path, "fetch",
				      "test", "flowbot", NULL);

	ck_assert_int_eq(r.status, EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(r.err, "fetch"));
	cli_result_free(&r);
}
END_TEST

START_TEST(test_missing_ifs_user_usage_error)
{
	struct cli_result r = run_cli(TU_PASSWORD, "--config", config_path,
				      "store", "test", "flowbot",
				      "--password-stdin", NULL);

	ck_assert_int_eq(r.status, EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(r.err, "--ifs-user"));
	cli_result_free(&r);
}
END_TEST

START_TEST(test_missing_argument_usage_error)
{
	struct cli_result r = run_cli(NULL, "--config", config_path, "lookup",
				      "test", NULL);

	ck_assert_int_eq(r.status, EXIT_USAGE);
	cli_result_free(&r);
}
END_TEST

START_TEST(test_extra_argument_usage_error)
{
	struct cli_result r = run_cli(NULL, "--config", config_path, "check",
				      "test", "extra", NULL);

	ck_assert_int_eq(r.status, EXIT_USAGE);
	cli_result_free(&r);
}
END_TEST

START_TEST(test_password_option_rejected)
{
	struct cli_result r = run_cli(NULL, "--config", config_path, "store",
				      "test", "flowbot", "--ifs-user", TU_USER,
				      "--password=hunter2", NULL);

	ck_assert_int_eq(r.status, EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(r.err, "--password-stdin"));
	ck_assert_ptr_null(strstr(r.err, "hunter2"));
	cli_result_free(&r);
}
END_TEST

START_TEST(test_password_option_separate_value_rejected)
{
	struct cli_result r = run_cli(NULL, "--config", config_path, "token",
				      "test", "flowbot", "--password",
				      "hunter2", NULL);

	ck_assert_int_eq(r.status, EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(r.err, "--password-stdin"));
	ck_assert_ptr_null(strstr(r.err, "hunter2"));
	cli_result_free(&r);
}
END_TEST

START_TEST(test_abbreviated_password_option_rejected)
{
	struct cli_result r = run_cli(NULL, "--config", config_path, "token",
				      "test", "flowbot", "--pass=hunter2",
				      NULL);

	ck_assert_int_eq(r.status, EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(r.err, "--password-stdin"));
	ck_assert_ptr_null(strstr(r.err, "hunter2"));
	cli_result_free(&r);
}
END_TEST

START_TEST(test_store_without_terminal_usage_error)
{
	char *flow_user = tu_unique("notty");
	struct cli_result r;

	r = run_cli(TU_PASSWORD, "--config", config_path, "store", "test",
		    flow_user, "--ifs-user", TU_USER, NULL);
	ck_assert_int_eq(r.status, EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(r.err, "--password-stdin"));
	cli_result_free(&r);
	free(flow_user);
}
END_TEST

START_TEST(test_conflicting_password_options_usage_error)
{
	struct cli_result r = run_cli(TU_PASSWORD, "--config", config_path,
				      "store", "test", "flowbot", "--ifs-user",
				      TU_USER, "--password-stdin",
				      "--no-password", NULL);

	ck_assert_int_eq(r.status, EXIT_USAGE);
	cli_result_free(&r);
}
END_TEST

START_TEST(test_option_of_other_command_usage_error)
{
	struct cli_result r = run_cli(NULL, "--config", config_path, "lookup",
				      "test", "flowbot", "--ifs-user", TU_USER,
				      NULL);

	ck_assert_int_eq(r.status, EXIT_USAGE);
	cli_result_free(&r);
}
END_TEST

START_TEST(test_unknown_option_usage_error)
{
	struct cli_result r = run_cli(NULL, "--config", config_path, "list",
				      "--colour", NULL);

	ck_assert_int_eq(r.status, EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(r.err, "--colour"));
	cli_result_free(&r);
}
END_TEST

START_TEST(test_options_before_and_after_command)
{
	char *first = tu_unique("order-a");
	char *second = tu_unique("order-b");
	struct cli_result r;

	r = run_cli(TU_PASSWORD, "--config", config_path, "store", "test",
		    first, "--ifs-user", TU_USER, "--password-stdin", NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	cli_result_free(&r);

	r = run_cli(TU_PASSWORD, "store", "--ifs-user", TU_USER, "test",
		    second, "--password-stdin", "--config", config_path, NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	cli_result_free(&r);

	r = run_cli(NULL, "lookup", "test", second, "--config", config_path,
		    NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	ck_assert_ptr_nonnull(strstr(r.out, "IFS user: " TU_USER "\n"));
	cli_result_free(&r);
	free(first);
	free(second);
}
END_TEST

START_TEST(test_help_documents_exit_codes)
{
	static const char *const codes[] = {
		"0  success", "1  other failure", "2  usage error",
		"3  not found", "4  denied", "5  account problem",
		"6  client rejected", "7  configuration invalid",
		"8  unavailable", "9  try again later", "10  protocol error",
	};
	static const char *const commands[] = {
		"store", "lookup", "clear", "list", "token", "logout", "check",
	};
	struct cli_result r = run_cli(NULL, "--help", NULL);
	size_t i;

	ck_assert_int_eq(r.status, EXIT_OK);
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		ck_assert_msg(strstr(r.out, codes[i]) != NULL,
			      "--help lacks exit code line \"%s\"", codes[i]);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		ck_assert_msg(strstr(r.out, commands[i]) != NULL,
			      "--help lacks command %s", commands[i]);
	ck_assert_ptr_nonnull(strstr(r.out, "tab"));
	ck_assert_str_eq(r.err, "");
	cli_result_free(&r);
}
END_TEST

START_TEST(test_version_printed)
{
	struct cli_result r = run_cli(NULL, "--version", NULL);
	char *expected;

	ck_assert_int_ne(asprintf(&expected, "flowcred %d.%d.%d\n",
				  FLOWCRED_VERSION_MAJOR,
				  FLOWCRED_VERSION_MINOR,
				  FLOWCRED_VERSION_PATCH), -1);
	ck_assert_int_eq(r.status, EXIT_OK);
	ck_assert_str_eq(r.out, expected);
	free(expected);
	cli_result_free(&r);
}
END_TEST

/* ---- terminal prompt ---- */

/* Output of a run on a pseudo-terminal. */
struct tty_result {
	int status;
	GString *transcript;	/* everything the program wrote */
};

/* Reads from the terminal master into transcript until it contains
 * expected, the program closes the terminal, or CLI_TIMEOUT passes.
 * Returns 1 when expected was seen. expected NULL waits for the close. */
static int read_transcript_until(int master, GString *transcript,
				 const char *expected, size_t from)
{
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (tu_elapsed(&start) < CLI_TIMEOUT) {
		struct pollfd pfd = { .fd = master, .events = POLLIN };
		char chunk[512];
		ssize_t n;

		if (expected && strstr(transcript->str + from, expected))
			return 1;
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = read(master, chunk, sizeof(chunk));
		if (n <= 0)
			return 0;	/* EIO once the program has exited */
		g_string_append_len(transcript, chunk, n);
	}
	return 0;
}

/* Starts `store test FLOW_USER --ifs-user IFS_USER` in a new session
 * whose controlling terminal is a new pseudo-terminal, so that /dev/tty
 * opens it. Returns the child's pid and the terminal's master side in
 * *master. */
static pid_t spawn_store_on_tty(const char *flow_user, const char *ifs_user,
				int *master)
{
	pid_t pid;

	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(*master, 0);
	ck_assert_int_eq(grantpt(*master), 0);
	ck_assert_int_eq(unlockpt(*master), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int slave;

		if (setsid() < 0)
			_exit(126);
		slave = open(ptsname(*master), O_RDWR);
		if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0 ||
		    dup2(slave, STDIN_FILENO) < 0 ||
		    dup2(slave, STDOUT_FILENO) < 0 ||
		    dup2(slave, STDERR_FILENO) < 0)
			_exit(126);
		execl(FLOWCRED_CLI, FLOWCRED_CLI, "--config", config_path,
		      "store", "test", flow_user, "--ifs-user", ifs_user,
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Runs store on a new terminal and types first and second at its two
 * prompts. */
static struct tty_result run_store_on_tty(const char *flow_user,
					  const char *ifs_user,
					  const char *first, const char *second)
{
	struct tty_result result = { -1, g_string_new("") };
	size_t mark;
	int master, wstatus;
	pid_t pid;

	pid = spawn_store_on_tty(flow_user, ifs_user, &master);

	/* Typing before a prompt would be flushed when echo is turned
	 * off, so each answer waits for its prompt. */
	ck_assert_msg(read_transcript_until(master, result.transcript,
					    "IFS password", 0),
		      "no first prompt: %s", result.transcript->str);
	ck_assert_int_gt(write(master, first, strlen(first)), 0);
	mark = result.transcript->len;
	ck_assert_msg(read_transcript_until(master, result.transcript,
					    "Retype", mark),
		      "no second prompt: %s", result.transcript->str);
	ck_assert_int_gt(write(master, second, strlen(second)), 0);
	read_transcript_until(master, result.transcript, NULL, 0);

	while (waitpid(pid, &wstatus, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	close(master);
	ck_assert(WIFEXITED(wstatus));
	result.status = WEXITSTATUS(wstatus);
	return result;
}

START_TEST(test_terminal_prompt_stores_password)
{
	char *flow_user = tu_unique("prompt");
	struct tty_result t;
	struct cli_result r;

	t = run_store_on_tty(flow_user, TU_USER, TU_PASSWORD "\n",
			     TU_PASSWORD "\n");
	ck_assert_int_eq(t.status, EXIT_OK);
	ck_assert_ptr_nonnull(strstr(t.transcript->str, TU_USER));
	ck_assert_msg(strstr(t.transcript->str, TU_PASSWORD) == NULL,
		      "the password was echoed: %s", t.transcript->str);
	g_string_free(t.transcript, TRUE);

	r = run_cli(NULL, "--config", config_path, "token", "test", flow_user,
		    NULL);
	ck_assert_int_eq(r.status, EXIT_OK);
	cli_result_free(&r);
	free(flow_user);
}
END_TEST

START_TEST(test_terminal_prompt_mismatch_stores_nothing)
{
	char *flow_user = tu_unique("mismatch");
	struct tty_result t;
	struct cli_result r;

	t = run_store_on_tty(flow_user, TU_USER, TU_PASSWORD "\n",
			     "something-else\n");
	ck_assert_int_eq(t.status, EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(t.transcript->str, "do not match"));
	g_string_free(t.transcript, TRUE);

	r = run_cli(NULL, "--config", config_path, "lookup", "test",
		    flow_user, NULL);
	ck_assert_int_eq(r.status, EXIT_NOT_FOUND);
	cli_result_free(&r);
	free(flow_user);
}
END_TEST

START_TEST(test_terminal_prompt_interrupt_restores_echo)
{
	char *flow_user = tu_unique("interrupt");
	GString *transcript = g_string_new("");
	struct termios settings;
	struct cli_result r;
	int master, slave, wstatus;
	pid_t pid;

	pid = spawn_store_on_tty(flow_user, TU_USER, &master);
	ck_assert_msg(read_transcript_until(master, transcript, "IFS password",
					    0),
		      "no prompt: %s", transcript->str);
	/* This side stays open after the program exits, so its settings
	 * can be read. */
	slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(slave, 0);
	ck_assert_int_eq(tcgetattr(slave, &settings), 0);
	ck_assert_int_eq(settings.c_lflag & ECHO, 0);

	ck_assert_int_gt(write(master, "partial", 7), 0);
	ck_assert_int_eq(kill(pid, SIGINT), 0);
	while (waitpid(pid, &wstatus, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	ck_assert(WIFSIGNALED(wstatus));
	ck_assert_int_eq(WTERMSIG(wstatus), SIGINT);

	ck_assert_int_eq(tcgetattr(slave, &settings), 0);
	ck_assert_int_ne(settings.c_lflag & ECHO, 0);
	close(slave);
	close(master);
	g_string_free(transcript, TRUE);

	r = run_cli(NULL, "--config", config_path, "lookup", "test",
		    flow_user, NULL);
	ck_assert_int_eq(r.status, EXIT_NOT_FOUND);
	cli_result_free(&r);
	free(flow_user);
}
END_TEST

/* ---- standard output errors ---- */

START_TEST(test_full_stdout_fails)
{
	char *flow_user = tu_unique("full");
	char *argv[] = { "/bin/sh", "-c",
			 "exec \"$0\" --config \"$1\" token test \"$2\" >/dev/full",
			 (char *)FLOWCRED_CLI, config_path, flow_user, NULL };
	char *out = NULL, *err = NULL;
	int status;

	store_item("test", flow_user, TU_USER, TU_PASSWORD);
	status = tu_run_program(argv, NULL, &out, &err, CLI_TIMEOUT);
	ck_assert_int_eq(status, EXIT_OTHER);
	ck_assert_ptr_nonnull(strstr(err, "standard output"));
	free(out);
	free(err);
	free(flow_user);
}
END_TEST

static Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc;

	tc = tcase_create("credentials");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_special_user_round_trip);
	tcase_add_test(tc, test_store_replaces_item);
	tcase_add_test(tc, test_clear_missing_item_not_found);
	tcase_add_test(tc, test_no_password_item);
	tcase_add_test(tc, test_list_lines);
	tcase_add_test(tc, test_options_before_and_after_command);
	suite_add_tcase(s, tc);

	tc = tcase_create("password input");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_stdin_one_newline_stripped);
	tcase_add_test(tc, test_stdin_second_newline_kept);
	tcase_add_test(tc, test_stdin_without_newline_kept);
	tcase_add_test(tc, test_stdin_other_whitespace_kept);
	tcase_add_test(tc, test_stdin_empty_password_rejected);
	tcase_add_test(tc, test_stdin_nul_byte_rejected);
	tcase_add_test(tc, test_stdin_too_long_rejected);
	tcase_add_test(tc, test_terminal_prompt_stores_password);
	tcase_add_test(tc, test_terminal_prompt_mismatch_stores_nothing);
	tcase_add_test(tc, test_terminal_prompt_interrupt_restores_echo);
	suite_add_tcase(s, tc);

	tc = tcase_create("exit codes");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_wrong_password_denied);
	tcase_add_test(tc, test_disabled_account);
	tcase_add_test(tc, test_unknown_connector_not_found);
	tcase_add_test(tc, test_endpoint_down_unavailable);
	tcase_add_test(tc, test_server_slow_down_try_again);
	tcase_add_test(tc, test_invalid_answer_protocol_error);
	tcase_add_test(tc, test_http_token_url_config_invalid);
	tcase_add_test(tc, test_world_writable_config_invalid);
	tcase_add_test(tc, test_missing_config_invalid);
	tcase_add_test(tc, test_check_good_connector);
	tcase_add_test(tc, test_check_no_direct_grants_rejected);
	tcase_add_test(tc, test_full_stdout_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("token cache");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_second_token_served_from_cache);
	tcase_add_test(tc, test_clear_drops_cached_token);
	tcase_add_test(tc, test_changed_config_bypasses_cache);
	tcase_add_test(tc, test_token_leaves_session_open);
	tcase_add_test(tc, test_logout_ends_cached_session);
	tcase_add_test(tc, test_logout_without_session_not_found);
	suite_add_tcase(s, tc);

	tc = tcase_create("configuration path");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_config_from_environment);
	tcase_add_test(tc, test_config_option_overrides_environment);
	suite_add_tcase(s, tc);

	tc = tcase_create("output");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_token_json_format);
	tcase_add_test(tc, test_large_token_repeats_grant);
	tcase_add_test(tc, test_invalid_format_usage_error);
	tcase_add_test(tc, test_verbose_output_has_no_secrets);
	tcase_add_test(tc, test_verbose_failure_has_no_secrets);
	tcase_add_test(tc, test_verbose_prints_library_messages);
	tcase_add_test(tc, test_help_documents_exit_codes);
	tcase_add_test(tc, test_version_printed);
	suite_add_tcase(s, tc);

	tc = tcase_create("usage");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_no_command_usage_error);
	tcase_add_test(tc, test_unknown_command_usage_error);
	tcase_add_test(tc, test_missing_ifs_user_usage_error);
	tcase_add_test(tc, test_missing_argument_usage_error);
	tcase_add_test(tc, test_extra_argument_usage_error);
	tcase_add_test(tc, test_password_option_rejected);
	tcase_add_test(tc, test_password_option_separate_value_rejected);
	tcase_add_test(tc, test_abbreviated_password_option_rejected);
	tcase_add_test(tc, test_store_without_terminal_usage_error);
	tcase_add_test(tc, test_conflicting_password_options_usage_error);
	tcase_add_test(tc, test_option_of_other_command_usage_error);
	tcase_add_test(tc, test_unknown_option_usage_error);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(cli_suite());
}

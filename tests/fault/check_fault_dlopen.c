/* dlopen() host safety: a host that loads libflowcred.so.1, uses it,
 * closes it with dlclose() and loads it again in the same process must
 * get working calls every time. This program does not link the library:
 * every entry point is resolved with dlsym(), as the Flow server does,
 * so dlclose() really drops the last reference.
 *
 * Environment (set by the build and tests/harness/with-services.sh):
 * FLOWCRED_TEST_LIB, the built libflowcred.so.1, and the harness's
 * FLOWCRED_TEST_DIR, FLOWCRED_TEST_URL and FLOWCRED_TEST_CA.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <check.h>

#include "flowcred.h"

#define CONNECTOR "fault"
#define CLIENT_ID "NC_FlowPassCred"
#define CLIENT_SECRET "flow-secret-1"
#define IFS_USER "IFSAPP"
#define PASSWORD "Passw0rd!"
#define TOKEN_BUFFER_SIZE 8192
#define ROUNDS 3

struct plugin {
	void *handle;
	__typeof__(flowcred_strerror) *strerror;
	__typeof__(flowcred_open) *open;
	__typeof__(flowcred_close) *close;
	__typeof__(flowcred_set_log_func) *set_log_func;
	__typeof__(flowcred_get_token) *get_token;
	__typeof__(flowcred_store_credentials) *store_credentials;
	__typeof__(flowcred_clear_credentials) *clear_credentials;
};

static char config_path[1024];
static char flow_user[64];
static char log_text[64 * 1024];
static size_t log_len;

static const char *env(const char *name)
{
	const char *value = getenv(name);

	ck_assert_msg(value != NULL && value[0] != '\0',
		      "%s is not set; run through tests/harness/with-services.sh",
		      name);
	return value;
}

static void capture_log(int priority, const char *message, void *userdata)
{
	size_t n = strlen(message);

	(void)userdata;
	fprintf(stderr, "flowcred log [%d]: %s\n", priority, message);
	if (n > sizeof(log_text) - log_len - 2)
		n = sizeof(log_text) - log_len - 2;
	memcpy(log_text + log_len, message, n);
	log_len += n;
	log_text[log_len++] = '\n';
	log_text[log_len] = '\0';
}

static void *resolve(void *handle, const char *name)
{
	void *symbol = dlsym(handle, name);

	ck_assert_msg(symbol != NULL, "dlsym(%s): %s", name, dlerror());
	return symbol;
}

static void load(struct plugin *p)
{
	const char *path = env("FLOWCRED_TEST_LIB");

	memset(p, 0, sizeof(*p));
	p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(p->handle != NULL, "dlopen(%s): %s", path, dlerror());
	p->strerror = resolve(p->handle, "flowcred_strerror");
	p->open = resolve(p->handle, "flowcred_open");
	p->close = resolve(p->handle, "flowcred_close");
	p->set_log_func = resolve(p->handle, "flowcred_set_log_func");
	p->get_token = resolve(p->handle, "flowcred_get_token");
	p->store_credentials = resolve(p->handle, "flowcred_store_credentials");
	p->clear_credentials = resolve(p->handle, "flowcred_clear_credentials");
}

static void unload(struct plugin *p)
{
	ck_assert_msg(dlclose(p->handle) == 0, "dlclose: %s", dlerror());
	memset(p, 0, sizeof(*p));
}

static void write_config(void)
{
	FILE *f;

	snprintf(config_path, sizeof(config_path), "%s/dlopen-%ld.conf",
		 env("FLOWCRED_TEST_DIR"), (long)getpid());
	snprintf(flow_user, sizeof(flow_user), "dlopen-%ld", (long)getpid());
	f = fopen(config_path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[" CONNECTOR "]\n"
		"token_url = %s/auth/realms/test/protocol/openid-connect/token\n"
		"client_id = " CLIENT_ID "\n"
		"client_secret = " CLIENT_SECRET "\n"
		"ca_file = %s\n"
		"connect_timeout = 2\n"
		"timeout = 2\n"
		"\n[flowcred]\nkeyring_timeout = 2\n",
		env("FLOWCRED_TEST_URL"), env("FLOWCRED_TEST_CA"));
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(config_path, 0600), 0);
}

static flowcred_ctx *open_context(const struct plugin *p)
{
	char detail[FLOWCRED_DETAIL_MAX] = "";
	flowcred_ctx *ctx = NULL;
	flowcred_status status;

	status = p->open(config_path, &ctx, detail, sizeof(detail));
	ck_assert_msg(status == FLOWCRED_OK, "flowcred_open: %s: %s",
		      p->strerror(status), detail);
	p->set_log_func(ctx, capture_log, NULL, LOG_DEBUG);
	return ctx;
}

/* Stores the user's password and gets one token; returns it (free()). */
static char *use_library(const struct plugin *p, int store)
{
	char detail[FLOWCRED_DETAIL_MAX] = "";
	char token[TOKEN_BUFFER_SIZE];
	flowcred_ctx *ctx = open_context(p);
	flowcred_status status;
	size_t len = 0;
	char *copy;

	if (store) {
		status = p->store_credentials(ctx, CONNECTOR, flow_user,
					      IFS_USER, PASSWORD, detail,
					      sizeof(detail));
		ck_assert_msg(status == FLOWCRED_OK, "store: %s: %s",
			      p->strerror(status), detail);
	}
	status = p->get_token(ctx, CONNECTOR, flow_user, NULL, token,
			      sizeof(token), &len, NULL, NULL, detail,
			      sizeof(detail));
	ck_assert_msg(status == FLOWCRED_OK, "get_token: %s: %s",
		      p->strerror(status), detail);
	ck_assert_uint_eq(len, strlen(token));
	ck_assert_ptr_null(strstr(detail, PASSWORD));
	p->close(ctx);
	copy = strdup(token);
	explicit_bzero(token, sizeof(token));
	return copy;
}

static void assert_log_clean(char **tokens, int n)
{
	int i;

	ck_assert_ptr_null(strstr(log_text, PASSWORD));
	ck_assert_ptr_null(strstr(log_text, CLIENT_SECRET));
	for (i = 0; i < n; i++)
		ck_assert_msg(strstr(log_text, tokens[i]) == NULL,
			      "the log contains token %d", i);
}

START_TEST(test_reload_after_use)
{
	char *tokens[ROUNDS];
	struct plugin p;
	int round;

	write_config();
	for (round = 0; round < ROUNDS; round++) {
		load(&p);
		tokens[round] = use_library(&p, round == 0);
		unload(&p);
	}
	assert_log_clean(tokens, ROUNDS);
	for (round = 0; round < ROUNDS; round++)
		free(tokens[round]);
}
END_TEST

/* Loaded and closed before any call, then loaded again and used. */
START_TEST(test_reload_before_use)
{
	struct plugin p;
	char *token;

	write_config();
	load(&p);
	unload(&p);
	load(&p);
	token = use_library(&p, 1);
	assert_log_clean(&token, 1);
	unload(&p);
	free(token);
}
END_TEST

/* Two handles at once: closing one leaves the other working. */
START_TEST(test_second_handle_survives_close)
{
	struct plugin first;
	struct plugin second;
	char *token;

	write_config();
	load(&first);
	load(&second);
	token = use_library(&first, 1);
	free(token);
	unload(&first);
	token = use_library(&second, 0);
	assert_log_clean(&token, 1);
	unload(&second);
	free(token);
}
END_TEST

static Suite *dlopen_suite(void)
{
	Suite *suite = suite_create("fault_dlopen");
	TCase *tc = tcase_create("reload");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_reload_after_use);
	tcase_add_test(tc, test_reload_before_use);
	tcase_add_test(tc, test_second_handle_survives_close);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	SRunner *runner = srunner_create(dlopen_suite());
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

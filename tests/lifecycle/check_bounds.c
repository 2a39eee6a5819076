/* Time bounds and credential changes. A stopped keyring daemon, a bus
 * that never responds and a FIFO in the configuration each fail within
 * the configured bound. New credentials end the old identity's tokens,
 * and URL credentials never reach a message. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "flowcred.h"
#include "testutil.h"

/* Reads the PID of the keyring daemon the harness started. */
static pid_t keyring_pid(void)
{
	const char *path = tu_env("FLOWCRED_TEST_KEYRING_PID_FILE");
	FILE *file = fopen(path, "r");
	long pid = 0;

	ck_assert_ptr_nonnull(file);
	ck_assert_int_eq(fscanf(file, "%ld", &pid), 1);
	fclose(file);
	ck_assert_int_gt(pid, 1);
	return (pid_t)pid;
}

static char *write_bounded_config(const char *connector, const char *realm)
{
	char *url = tu_token_url(realm);
	char *path = tu_write_filef("bounds", 0600,
				    "[flowcred]\nkeyring_timeout = 1\n"
				    "[%s]\ntoken_url = %s\nclient_id = %s\n"
				    "client_secret = %s\nca_file = %s\n",
				    connector, url, TU_CLIENT_ID,
				    TU_CLIENT_SECRET, tu_env("FLOWCRED_TEST_CA"));

	free(url);
	return path;
}

START_TEST(stopped_keyring_times_out)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char ifs_user[256];
	char *connector = tu_unique("bounds");
	char *config = write_bounded_config(connector, "test");
	flowcred_ctx *ctx = tu_open(config);
	struct timespec start;
	flowcred_status status;
	pid_t pid = keyring_pid();
	size_t len;
	int has_password;

	tu_store(ctx, connector, "bot", TU_USER, TU_PASSWORD);
	flowcred_close(ctx);
	/* A fresh context has no connection yet, so it has to connect and
	 * open a session to the stopped daemon. */
	ctx = tu_open(config);
	ck_assert_int_eq(kill(pid, SIGSTOP), 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	status = flowcred_lookup_credentials(ctx, connector, "bot", ifs_user,
					     sizeof(ifs_user), &len,
					     &has_password, detail,
					     sizeof(detail));
	ck_assert_int_eq(kill(pid, SIGCONT), 0);
	ck_assert_int_eq(status, FLOWCRED_UNAVAILABLE);
	ck_assert_double_lt(tu_elapsed(&start), 3.0);
	ck_assert_ptr_nonnull(strstr(detail, "keyring_timeout"));
	flowcred_close(ctx);
	free(config);
	free(connector);
}
END_TEST

struct silent_bus {
	int listener;
	int stop;
};

/* Accepts connections and never writes a byte. */
static void *serve_silence(void *arg)
{
	struct silent_bus *bus = arg;
	int clients[16];
	int n = 0;

	while (!__atomic_load_n(&bus->stop, __ATOMIC_RELAXED) && n < 16) {
		int fd = accept(bus->listener, NULL, NULL);

		if (fd >= 0)
			clients[n++] = fd;
		else if (errno != EAGAIN && errno != EINTR)
			break;
		else
			usleep(10000);
	}
	while (n > 0)
		close(clients[--n]);
	return NULL;
}

static void lookup_on_silent_bus(struct tu_child_result *result, void *arg)
{
	char ifs_user[256];
	struct timespec start;
	size_t len;
	int has_password;
	const char *config = arg;
	char *address;
	flowcred_ctx *ctx = NULL;

	if (asprintf(&address, "unix:path=%s/silent.sock",
		     tu_env("FLOWCRED_TEST_DIR")) < 0)
		return;
	setenv("DBUS_SESSION_BUS_ADDRESS", address, 1);
	free(address);
	if (flowcred_open(config, &ctx, result->detail,
			  sizeof(result->detail)) != FLOWCRED_OK) {
		snprintf(result->error, sizeof(result->error), "open failed");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	result->status = flowcred_lookup_credentials(ctx, "bounds-silent", "bot",
						     ifs_user, sizeof(ifs_user),
						     &len, &has_password,
						     result->detail,
						     sizeof(result->detail));
	result->elapsed = tu_elapsed(&start);
	flowcred_close(ctx);
}

START_TEST(silent_bus_times_out)
{
	struct tu_child_result result;
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	struct silent_bus bus = { 0 };
	pthread_t thread;
	char *config = write_bounded_config("bounds-silent", "test");

	snprintf(address.sun_path, sizeof(address.sun_path), "%s/silent.sock",
		 tu_env("FLOWCRED_TEST_DIR"));
	unlink(address.sun_path);
	bus.listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(bus.listener, 0);
	ck_assert_int_eq(bind(bus.listener, (struct sockaddr *)&address,
			      sizeof(address)), 0);
	ck_assert_int_eq(listen(bus.listener, 16), 0);
	ck_assert_int_eq(pthread_create(&thread, NULL, serve_silence, &bus), 0);

	tu_run_in_child(lookup_on_silent_bus, config, &result);
	__atomic_store_n(&bus.stop, 1, __ATOMIC_RELAXED);
	pthread_join(thread, NULL);
	close(bus.listener);

	ck_assert_int_eq(result.status, FLOWCRED_UNAVAILABLE);
	ck_assert_double_lt(result.elapsed, 3.0);
	ck_assert_ptr_nonnull(strstr(result.detail, "keyring_timeout"));
	free(config);
}
END_TEST

START_TEST(fifo_config_rejected_at_once)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char *path;
	flowcred_ctx *ctx = NULL;
	struct timespec start;
	flowcred_status status;

	if (asprintf(&path, "%s/config.fifo", tu_env("FLOWCRED_TEST_DIR")) < 0)
		ck_abort();
	unlink(path);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	status = flowcred_open(path, &ctx, detail, sizeof(detail));
	ck_assert_int_eq(status, FLOWCRED_CONFIG);
	ck_assert_ptr_null(ctx);
	ck_assert_double_lt(tu_elapsed(&start), 1.0);
	ck_assert_ptr_nonnull(strstr(detail, "not a regular file"));
	free(path);
}
END_TEST

START_TEST(fifo_secret_file_rejected)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char token[8192];
	char *fifo;
	char *config;
	char *url = tu_token_url("test");
	flowcred_ctx *ctx;

	if (asprintf(&fifo, "%s/secret.fifo", tu_env("FLOWCRED_TEST_DIR")) < 0)
		ck_abort();
	unlink(fifo);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	config = tu_write_filef("fifo-secret", 0600,
				"[c]\ntoken_url = %s\nclient_id = %s\n"
				"client_secret_file = %s\n", url, TU_CLIENT_ID,
				fifo);
	ctx = tu_open(config);
	ck_assert_int_eq(tu_get_token(ctx, "c", "bot", TU_PASSWORD, token,
				      sizeof(token), NULL, NULL, detail),
			 FLOWCRED_CONFIG);
	ck_assert_ptr_nonnull(strstr(detail, "client_secret_file"));
	flowcred_close(ctx);
	free(config);
	free(fifo);
	free(url);
}
END_TEST

START_TEST(url_credentials_never_shown)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char token[8192];
	char *config;
	flowcred_ctx *ctx;

	config = tu_write_filef("proxy-password", 0600,
				"[c]\ntoken_url = https://127.0.0.1:1/token\n"
				"client_id = %s\n"
				"proxy = http://puser:PROXYPASS@127.0.0.1:99999\n",
				TU_CLIENT_ID);
	ctx = tu_open(config);
	ck_assert_int_eq(tu_get_token(ctx, "c", "bot", TU_PASSWORD, token,
				      sizeof(token), NULL, NULL, detail),
			 FLOWCRED_CONFIG);
	ck_assert_ptr_nonnull(strstr(detail, "proxy"));
	ck_assert_ptr_null(strstr(detail, "PROXYPASS"));
	ck_assert_ptr_null(strstr(tu_log_text(), "PROXYPASS"));
	flowcred_close(ctx);
	free(config);
}
END_TEST

START_TEST(proxy_password_needs_private_mode)
{
	char detail[FLOWCRED_DETAIL_MAX];
	flowcred_ctx *ctx = NULL;
	char *config;

	config = tu_write_filef("proxy-mode", 0644,
				"[c]\ntoken_url = https://127.0.0.1:1/token\n"
				"client_id = %s\n"
				"proxy = http://puser:secret@127.0.0.1:3128\n",
				TU_CLIENT_ID);
	ck_assert_int_eq(flowcred_open(config, &ctx, detail, sizeof(detail)),
			 FLOWCRED_CONFIG);
	ck_assert_ptr_nonnull(strstr(detail, "chmod o-r"));
	ck_assert_ptr_null(strstr(detail, "secret@"));
	free(config);
}
END_TEST

/* The harness sets no_proxy='*'; a configured proxy must be used all the
 * same. A closed port as proxy makes the request fail. */
START_TEST(configured_proxy_ignores_no_proxy)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char token[8192];
	char extra[128];
	char *connector = tu_unique("proxied");
	char *config;
	flowcred_ctx *ctx;

	setenv("no_proxy", "*", 1);
	setenv("NO_PROXY", "*", 1);
	snprintf(extra, sizeof(extra), "proxy = http://127.0.0.1:%d\n",
		 tu_closed_port());
	config = tu_write_config(connector, "test", TU_CLIENT_ID,
				 TU_CLIENT_SECRET, extra);
	ctx = tu_open(config);
	tu_store(ctx, connector, "bot", TU_USER, TU_PASSWORD);
	tu_server_reset();
	ck_assert_int_eq(tu_get_token(ctx, connector, "bot", NULL, token,
				      sizeof(token), NULL, NULL, detail),
			 FLOWCRED_UNAVAILABLE);
	ck_assert_uint_eq(tu_count_token_requests(tu_server_requests()), 0);
	flowcred_close(ctx);
	free(config);
	free(connector);
}
END_TEST

/* Returns the username of the last password grant the server recorded,
 * copied into buf. */
static const char *last_grant_user(char *buf, size_t size)
{
	struct json_object *requests = tu_server_requests();
	struct json_object *form = tu_last_form(requests);
	const char *user = tu_json_string(form, "username");

	snprintf(buf, size, "%s", user != NULL ? user : "");
	json_object_put(requests);
	return buf;
}

START_TEST(store_ends_old_identity)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char token[8192];
	char user[256];
	char *connector = tu_unique("identity");
	char *config = tu_write_config(connector, "test", TU_CLIENT_ID,
				       TU_CLIENT_SECRET, NULL);
	flowcred_ctx *ctx = tu_open(config);

	tu_store(ctx, connector, "bot", TU_USER, TU_PASSWORD);
	ck_assert_int_eq(tu_get_token(ctx, connector, "bot", NULL, token,
				      sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	tu_store(ctx, connector, "bot", TU_SPECIAL_USER, TU_SPECIAL_PASSWORD);
	tu_server_reset();
	ck_assert_int_eq(tu_get_token(ctx, connector, "bot", NULL, token,
				      sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	ck_assert_str_eq(last_grant_user(user, sizeof(user)), TU_SPECIAL_USER);
	flowcred_close(ctx);
	free(config);
	free(connector);
}
END_TEST

/* Another process changes the keyring item: the next renewal starts a
 * new session for the new IFS user instead of refreshing the old one. */
START_TEST(renewal_rereads_keyring)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char token[8192];
	char user[256];
	char json[1024];
	char *realm = tu_unique("short");
	char *connector = tu_unique("renew");
	char *config;
	flowcred_ctx *ctx;
	flowcred_ctx *admin;
	struct timespec pause = { 1, 200000000 };

	snprintf(json, sizeof(json),
		 "{\"accessTokenLifespan\": 2, \"refreshTokenLifespan\": 600,"
		 " \"clients\": [{\"clientId\": \"%s\", \"secret\": \"%s\","
		 " \"directAccessGrants\": true,"
		 " \"scopes\": [\"openid\", \"microprofile-jwt\"]}],"
		 " \"users\": [{\"username\": \"%s\", \"password\": \"%s\"},"
		 " {\"username\": \"OTHER\", \"password\": \"other-pw\"}]}",
		 TU_CLIENT_ID, TU_CLIENT_SECRET, TU_USER, TU_PASSWORD);
	tu_server_put_realm(realm, json);
	config = tu_write_config(connector, realm, TU_CLIENT_ID,
				 TU_CLIENT_SECRET, NULL);
	ctx = tu_open(config);
	admin = tu_open(config);
	tu_store(admin, connector, "bot", TU_USER, TU_PASSWORD);
	ck_assert_int_eq(tu_get_token(ctx, connector, "bot", NULL, token,
				      sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	tu_store(admin, connector, "bot", "OTHER", "other-pw");
	tu_server_reset();
	nanosleep(&pause, NULL);
	ck_assert_int_eq(tu_get_token(ctx, connector, "bot", NULL, token,
				      sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	ck_assert_str_eq(last_grant_user(user, sizeof(user)), "OTHER");
	flowcred_close(admin);
	flowcred_close(ctx);
	free(config);
	free(connector);
	free(realm);
}
END_TEST

/* A token cached in the kernel keyring must not outlive a store by a
 * context that does not use the kernel cache itself, as the CLI's store
 * command is. */
START_TEST(store_drops_kernel_cached_token)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char token[8192];
	char user[256];
	char *connector = tu_unique("kstore");
	char *config = tu_write_config(connector, "test", TU_CLIENT_ID,
				       TU_CLIENT_SECRET, NULL);
	flowcred_ctx *first = tu_open(config);
	flowcred_ctx *admin = tu_open(config);
	flowcred_ctx *later = tu_open(config);

	ck_assert_int_eq(flowcred_set_option(first, FLOWCRED_OPT_KERNEL_CACHE,
					     1), FLOWCRED_OK);
	ck_assert_int_eq(flowcred_set_option(later, FLOWCRED_OPT_KERNEL_CACHE,
					     1), FLOWCRED_OK);
	tu_store(admin, connector, "bot", TU_USER, TU_PASSWORD);
	ck_assert_int_eq(tu_get_token(first, connector, "bot", NULL, token,
				      sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	tu_store(admin, connector, "bot", TU_SPECIAL_USER, TU_SPECIAL_PASSWORD);
	tu_server_reset();
	ck_assert_int_eq(tu_get_token(later, connector, "bot", NULL, token,
				      sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	ck_assert_str_eq(last_grant_user(user, sizeof(user)), TU_SPECIAL_USER);
	flowcred_close(later);
	flowcred_close(admin);
	flowcred_close(first);
	free(config);
	free(connector);
}
END_TEST

/* A one-letter password must not be masked inside the library's own
 * words, which would show the letter. */
START_TEST(short_password_not_revealed)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char token[8192];
	char *connector = tu_unique("short-pw");
	char *config = tu_write_config(connector, "test", TU_CLIENT_ID,
				       TU_CLIENT_SECRET, NULL);
	flowcred_ctx *ctx = tu_open(config);

	tu_store(ctx, connector, "bot", TU_USER, "e");
	ck_assert_int_eq(tu_get_token(ctx, connector, "bot", NULL, token,
				      sizeof(token), NULL, NULL, detail),
			 FLOWCRED_DENIED);
	ck_assert_ptr_nonnull(strstr(detail, "rejected"));
	ck_assert_ptr_null(strstr(detail, "*"));
	flowcred_close(ctx);
	free(config);
	free(connector);
}
END_TEST

static Suite *bounds_suite(void)
{
	Suite *suite = suite_create("bounds");
	TCase *time_bounds = tcase_create("time_bounds");
	TCase *secrets = tcase_create("secrets");
	TCase *identity = tcase_create("identity");

	tcase_set_timeout(time_bounds, 30);
	tcase_add_test(time_bounds, stopped_keyring_times_out);
	tcase_add_test(time_bounds, silent_bus_times_out);
	tcase_add_test(time_bounds, fifo_config_rejected_at_once);
	tcase_add_test(time_bounds, fifo_secret_file_rejected);
	suite_add_tcase(suite, time_bounds);

	tcase_add_test(secrets, url_credentials_never_shown);
	tcase_add_test(secrets, proxy_password_needs_private_mode);
	tcase_add_test(secrets, configured_proxy_ignores_no_proxy);
	tcase_add_test(secrets, short_password_not_revealed);
	suite_add_tcase(suite, secrets);

	tcase_set_timeout(identity, 30);
	tcase_add_test(identity, store_ends_old_identity);
	tcase_add_test(identity, renewal_rereads_keyring);
	tcase_add_test(identity, store_drops_kernel_cached_token);
	suite_add_tcase(suite, identity);
	return suite;
}

int main(void)
{
	return tu_run_suite(bounds_suite());
}

#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <curl/curl.h>

#include "testutil.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_text;
static size_t log_len;

/* Returns the build's default for a variable that make check exports
 * (see AM_TESTS_ENVIRONMENT in tests/Makefile.inc), or NULL. */
static const char *build_default(const char *name)
{
#if defined(TU_DEFAULT_SRCDIR) && defined(TU_DEFAULT_BUILDDIR)
	if (strcmp(name, "FLOWCRED_TEST_SRCDIR") == 0)
		return TU_DEFAULT_SRCDIR;
	if (strcmp(name, "FLOWCRED_TEST_BUILDDIR") == 0)
		return TU_DEFAULT_BUILDDIR;
	if (strcmp(name, "FLOWCRED_TEST_LIB") == 0)
		return TU_DEFAULT_BUILDDIR "/.libs/libflowcred.so.1";
	if (strcmp(name, "FLOWCRED_TEST_HOST") == 0)
		return TU_DEFAULT_BUILDDIR "/tests/host-dlopen";
#endif
	(void)name;
	return NULL;
}

const char *tu_env(const char *name)
{
	const char *value = getenv(name);

	if (!value || !value[0])
		value = build_default(name);
	ck_assert_msg(value && value[0],
		      "environment variable %s is not set; run the test through tests/harness/with-services.sh",
		      name);
	return value;
}

char *tu_unique(const char *prefix)
{
	static unsigned int counter;
	char *name;

	ck_assert_int_ne(asprintf(&name, "%s-%ld-%u", prefix, (long)getpid(),
				  ++counter), -1);
	return name;
}

char *tu_write_file(const char *name, mode_t mode, const char *content)
{
	char *unique = tu_unique(name);
	char *path;
	size_t len = strlen(content);
	size_t done = 0;
	int fd;

	ck_assert_int_ne(asprintf(&path, "%s/%s", tu_env("FLOWCRED_TEST_DIR"),
				  unique), -1);
	free(unique);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "cannot create %s: %s", path, strerror(errno));
	while (done < len) {
		ssize_t n = write(fd, content + done, len - done);

		ck_assert_msg(n > 0, "cannot write %s: %s", path,
			      strerror(errno));
		done += (size_t)n;
	}
	ck_assert_msg(fchmod(fd, mode) == 0, "cannot chmod %s: %s", path,
		      strerror(errno));
	ck_assert_int_eq(close(fd), 0);
	return path;
}

char *tu_write_filef(const char *name, mode_t mode, const char *fmt, ...)
{
	va_list ap;
	char *content;
	char *path;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&content, fmt, ap);
	va_end(ap);
	ck_assert_int_ne(n, -1);
	path = tu_write_file(name, mode, content);
	free(content);
	return path;
}

char *tu_token_url(const char *realm)
{
	char *url;

	ck_assert_int_ne(asprintf(&url,
				  "%s/auth/realms/%s/protocol/openid-connect/token",
				  tu_env("FLOWCRED_TEST_URL"), realm), -1);
	return url;
}

char *tu_write_config(const char *connector, const char *realm,
		      const char *client_id, const char *client_secret,
		      const char *extra)
{
	char *url = tu_token_url(realm);
	char *path;

	path = tu_write_filef("flowcred.conf", 0600,
			      "[%s]\n"
			      "token_url = %s\n"
			      "client_id = %s\n"
			      "%s%s%s"
			      "ca_file = %s\n"
			      "%s",
			      connector, url, client_id,
			      client_secret ? "client_secret = " : "",
			      client_secret ? client_secret : "",
			      client_secret ? "\n" : "",
			      tu_env("FLOWCRED_TEST_CA"),
			      extra ? extra : "");
	free(url);
	return path;
}

static void capture_log(int priority, const char *message, void *userdata)
{
	size_t len = strlen(message);
	char *grown;

	(void)userdata;
	fprintf(stderr, "flowcred log [%d]: %s\n", priority, message);

	pthread_mutex_lock(&log_lock);
	grown = realloc(log_text, log_len + len + 2);
	if (grown) {
		log_text = grown;
		memcpy(log_text + log_len, message, len);
		log_len += len;
		log_text[log_len++] = '\n';
		log_text[log_len] = '\0';
	}
	pthread_mutex_unlock(&log_lock);
}

flowcred_ctx *tu_open(const char *config_path)
{
	char detail[FLOWCRED_DETAIL_MAX] = "";
	flowcred_ctx *ctx = NULL;
	flowcred_status status;

	status = flowcred_open(config_path, &ctx, detail, sizeof(detail));
	ck_assert_msg(status == FLOWCRED_OK, "flowcred_open(%s): %s: %s",
		      config_path ? config_path : "NULL",
		      flowcred_strerror(status), detail);
	ck_assert_ptr_nonnull(ctx);
	flowcred_set_log_func(ctx, capture_log, NULL, LOG_DEBUG);
	return ctx;
}

const char *tu_log_text(void)
{
	return log_text ? log_text : "";
}

struct response_buffer {
	char *data;
	size_t len;
};

static size_t collect_response(char *data, size_t size, size_t nmemb,
			       void *userdata)
{
	struct response_buffer *buffer = userdata;
	size_t n = size * nmemb;
	char *grown = realloc(buffer->data, buffer->len + n + 1);

	if (!grown)
		return 0;
	buffer->data = grown;
	memcpy(buffer->data + buffer->len, data, n);
	buffer->len += n;
	buffer->data[buffer->len] = '\0';
	return n;
}

long tu_http(const char *method, const char *path, const char *body,
	     char **response)
{
	struct response_buffer buffer = { NULL, 0 };
	struct curl_slist *headers = NULL;
	char error[CURL_ERROR_SIZE] = "";
	char *url;
	long http_status = 0;
	CURLcode rc;
	CURL *curl;

	ck_assert_int_ne(asprintf(&url, "%s%s", tu_env("FLOWCRED_TEST_URL"),
				  path), -1);
	curl = curl_easy_init();
	ck_assert_ptr_nonnull(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CAINFO, tu_env("FLOWCRED_TEST_CA"));
	curl_easy_setopt(curl, CURLOPT_PROXY, "");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_response);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buffer);
	if (body) {
		headers = curl_slist_append(headers,
					    "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	}
	rc = curl_easy_perform(curl);
	ck_assert_msg(rc == CURLE_OK, "%s %s failed: %s", method, url,
		      error[0] ? error : curl_easy_strerror(rc));
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	free(url);

	if (response)
		*response = buffer.data ? buffer.data : strdup("");
	else
		free(buffer.data);
	return http_status;
}

void tu_server_reset(void)
{
	long status = tu_http("POST", "/_test/reset", "{}", NULL);

	ck_assert_msg(status >= 200 && status < 300,
		      "POST /_test/reset returned HTTP %ld", status);
}

void tu_server_put_realm(const char *name, const char *json)
{
	char *path;
	char *response = NULL;
	long status;

	ck_assert_int_ne(asprintf(&path, "/_test/realms/%s", name), -1);
	status = tu_http("PUT", path, json, &response);
	ck_assert_msg(status >= 200 && status < 300,
		      "PUT %s returned HTTP %ld: %s", path, status, response);
	free(response);
	free(path);
}

void tu_server_put_canned(const char *name, int status, const char *headers,
			  const char *body)
{
	struct json_object *realm = json_object_new_object();
	struct json_object *canned = json_object_new_object();

	json_object_object_add(canned, "status", json_object_new_int(status));
	if (headers) {
		struct json_object *parsed = json_tokener_parse(headers);

		ck_assert_msg(parsed != NULL, "invalid headers JSON: %s",
			      headers);
		json_object_object_add(canned, "headers", parsed);
	}
	if (body)
		json_object_object_add(canned, "body",
				       json_object_new_string(body));
	json_object_object_add(realm, "canned", canned);
	tu_server_put_realm(name,
			    json_object_to_json_string_ext(realm,
							   JSON_C_TO_STRING_PLAIN));
	json_object_put(realm);
}

void tu_server_put_hang(const char *name)
{
	tu_server_put_realm(name, "{\"canned\":{\"hang\":true}}");
}

struct json_object *tu_server_requests(void)
{
	struct json_object *requests;
	char *response = NULL;
	long status;

	status = tu_http("GET", "/_test/requests", NULL, &response);
	ck_assert_msg(status == 200, "GET /_test/requests returned HTTP %ld",
		      status);
	requests = json_tokener_parse(response);
	ck_assert_msg(requests != NULL, "GET /_test/requests: invalid JSON: %s",
		      response);
	free(response);
	ck_assert_msg(json_object_is_type(requests, json_type_array),
		      "GET /_test/requests did not return an array");
	return requests;
}

const char *tu_json_string(struct json_object *obj, const char *key)
{
	struct json_object *member;

	if (!obj || !json_object_object_get_ex(obj, key, &member) ||
	    !json_object_is_type(member, json_type_string))
		return NULL;
	return json_object_get_string(member);
}

static struct json_object *request_form(struct json_object *request)
{
	struct json_object *form;

	if (!json_object_object_get_ex(request, "form", &form) ||
	    !json_object_is_type(form, json_type_object))
		return NULL;
	return form;
}

size_t tu_count_grants(struct json_object *requests)
{
	size_t count = 0;
	size_t i;

	for (i = 0; i < json_object_array_length(requests); i++) {
		struct json_object *form =
			request_form(json_object_array_get_idx(requests, i));
		const char *grant_type = tu_json_string(form, "grant_type");

		if (grant_type && strcmp(grant_type, "password") == 0)
			count++;
	}
	return count;
}

static int is_token_request(struct json_object *request)
{
	const char *endpoint = tu_json_string(request, "endpoint");

	return endpoint && strcmp(endpoint, "token") == 0;
}

size_t tu_count_token_requests(struct json_object *requests)
{
	size_t count = 0;
	size_t i;

	for (i = 0; i < json_object_array_length(requests); i++)
		if (is_token_request(json_object_array_get_idx(requests, i)))
			count++;
	return count;
}

struct json_object *tu_only_token_request(struct json_object *requests)
{
	struct json_object *found = NULL;
	size_t i;

	ck_assert_uint_eq(tu_count_token_requests(requests), 1);
	for (i = 0; i < json_object_array_length(requests); i++) {
		struct json_object *request =
			json_object_array_get_idx(requests, i);

		if (is_token_request(request))
			found = request;
	}
	return found;
}

struct json_object *tu_last_form(struct json_object *requests)
{
	size_t n = json_object_array_length(requests);
	struct json_object *form = NULL;

	while (n > 0 && !form) {
		struct json_object *request =
			json_object_array_get_idx(requests, --n);

		if (is_token_request(request))
			form = request_form(request);
	}
	ck_assert_msg(form != NULL,
		      "the token server recorded no token request with form fields");
	return form;
}

void tu_store(flowcred_ctx *ctx, const char *connector, const char *flow_user,
	      const char *ifs_user, const char *password)
{
	char detail[FLOWCRED_DETAIL_MAX] = "";
	flowcred_status status;

	status = flowcred_store_credentials(ctx, connector, flow_user,
					    ifs_user, password, detail,
					    sizeof(detail));
	ck_assert_msg(status == FLOWCRED_OK,
		      "flowcred_store_credentials(%s, %s): %s: %s", connector,
		      flow_user, flowcred_strerror(status), detail);
}

flowcred_status tu_get_token(flowcred_ctx *ctx, const char *connector,
			     const char *flow_user, const char *password,
			     char *token, size_t token_size,
			     char *token_type, int64_t *expires_at,
			     char *detail)
{
	char local_token[8192];
	size_t token_len = 0;
	flowcred_status status;

	if (!token) {
		token = local_token;
		token_size = sizeof(local_token);
	}
	status = flowcred_get_token(ctx, connector, flow_user, password,
				    token, token_size, &token_len, token_type,
				    expires_at, detail, FLOWCRED_DETAIL_MAX);
	if (status == FLOWCRED_OK)
		ck_assert_uint_eq(token_len, strlen(token));
	explicit_bzero(local_token, sizeof(local_token));
	return status;
}

int tu_contains_nocase(const char *haystack, const char *needle)
{
	size_t n = strlen(needle);

	if (!haystack)
		return 0;
	for (; *haystack; haystack++)
		if (strncasecmp(haystack, needle, n) == 0)
			return 1;
	return n == 0;
}

int tu_closed_port(void)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
	ck_assert_int_eq(close(fd), 0);
	return ntohs(addr.sin_port);
}

double tu_elapsed(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static int is_base64url_part(const char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

int tu_is_jwt_shaped(const char *token)
{
	const char *first = strchr(token, '.');
	const char *second;

	if (!first)
		return 0;
	second = strchr(first + 1, '.');
	if (!second || strchr(second + 1, '.'))
		return 0;
	return is_base64url_part(token, (size_t)(first - token)) &&
	       is_base64url_part(first + 1, (size_t)(second - first - 1)) &&
	       is_base64url_part(second + 1, strlen(second + 1));
}

void tu_run_in_child(void (*func)(struct tu_child_result *result, void *arg),
		     void *arg, struct tu_child_result *result)
{
	size_t done = 0;
	int fds[2];
	int wstatus;
	pid_t pid;

	memset(result, 0, sizeof(*result));
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct tu_child_result child_result;
		const char *p = (const char *)&child_result;
		size_t written = 0;

		close(fds[0]);
		memset(&child_result, 0, sizeof(child_result));
		func(&child_result, arg);
		while (written < sizeof(child_result)) {
			ssize_t n = write(fds[1], p + written,
					  sizeof(child_result) - written);

			if (n <= 0)
				_exit(3);
			written += (size_t)n;
		}
		_exit(0);
	}

	close(fds[1]);
	while (done < sizeof(*result)) {
		ssize_t n = read(fds[0], (char *)result + done,
				 sizeof(*result) - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &wstatus, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	ck_assert_msg(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0,
		      "child process failed (wait status 0x%x)", wstatus);
	ck_assert_uint_eq(done, sizeof(*result));
	ck_assert_msg(result->error[0] == '\0', "child process: %s",
		      result->error);
}

struct output_buffer {
	char *data;
	size_t len;
};

static void output_append(struct output_buffer *buffer, const char *data,
			  size_t n)
{
	char *grown = realloc(buffer->data, buffer->len + n + 1);

	ck_assert_ptr_nonnull(grown);
	buffer->data = grown;
	memcpy(buffer->data + buffer->len, data, n);
	buffer->len += n;
	buffer->data[buffer->len] = '\0';
}

int tu_run_program(char *const argv[], const char *input,
		   char **out, char **err, int timeout_seconds)
{
	struct output_buffer outputs[2] = { { NULL, 0 }, { NULL, 0 } };
	int in_pipe[2], out_pipe[2], err_pipe[2];
	size_t input_len = input ? strlen(input) : 0;
	size_t input_done = 0;
	struct timespec start;
	int wstatus;
	pid_t pid;
	int i;

	/* A program that exits before reading all its input must not kill
	 * the test with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe2(in_pipe, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(out_pipe, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err_pipe, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (dup2(in_pipe[0], STDIN_FILENO) < 0 ||
		    dup2(out_pipe[1], STDOUT_FILENO) < 0 ||
		    dup2(err_pipe[1], STDERR_FILENO) < 0)
			_exit(126);
		execv(argv[0], argv);
		dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	close(in_pipe[0]);
	close(out_pipe[1]);
	close(err_pipe[1]);
	if (input_len == 0) {
		close(in_pipe[1]);
		in_pipe[1] = -1;
	}

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (out_pipe[0] >= 0 || err_pipe[0] >= 0) {
		struct pollfd fds[3] = {
			{ .fd = out_pipe[0], .events = POLLIN },
			{ .fd = err_pipe[0], .events = POLLIN },
			{ .fd = in_pipe[1], .events = POLLOUT },
		};
		int *readers[2] = { &out_pipe[0], &err_pipe[0] };
		char chunk[4096];
		int ready;

		if (tu_elapsed(&start) > timeout_seconds) {
			kill(pid, SIGKILL);
			waitpid(pid, &wstatus, 0);
			ck_abort_msg("%s ran longer than %d s", argv[0],
				     timeout_seconds);
		}
		ready = poll(fds, 3, 200);
		if (ready < 0 && errno == EINTR)
			continue;
		ck_assert_int_ge(ready, 0);

		for (i = 0; i < 2; i++) {
			ssize_t n;

			if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(*readers[i], chunk, sizeof(chunk));
			if (n > 0) {
				output_append(&outputs[i], chunk, (size_t)n);
			} else if (n == 0 || errno != EINTR) {
				close(*readers[i]);
				*readers[i] = -1;
			}
		}
		if (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) {
			ssize_t n = write(in_pipe[1], input + input_done,
					  input_len - input_done);

			if (n > 0)
				input_done += (size_t)n;
			if (n <= 0 || input_done == input_len) {
				close(in_pipe[1]);
				in_pipe[1] = -1;
			}
		}
	}
	if (in_pipe[1] >= 0)
		close(in_pipe[1]);
	while (waitpid(pid, &wstatus, 0) < 0)
		ck_assert_int_eq(errno, EINTR);

	for (i = 0; i < 2; i++) {
		char **target = i == 0 ? out : err;

		if (!outputs[i].data)
			output_append(&outputs[i], "", 0);
		if (target)
			*target = outputs[i].data;
		else
			free(outputs[i].data);
	}
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return WEXITSTATUS(wstatus);
}

int tu_run_suite(Suite *suite)
{
	SRunner *runner = srunner_create(suite);
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

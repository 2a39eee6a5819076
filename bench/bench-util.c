#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "bench-util.h"

/* Timeout of one control API request, in seconds. */
#define BENCH_CONTROL_TIMEOUT 30L

int64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int bench_compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return (x > y) - (x < y);
}

void bench_stats_compute(double *values, size_t n, struct bench_stats *out)
{
	size_t rank;

	qsort(values, n, sizeof(*values), bench_compare_doubles);
	out->n = n;
	if (n % 2 == 1)
		out->median = values[n / 2];
	else
		out->median = (values[n / 2 - 1] + values[n / 2]) / 2;
	/* Nearest rank: the smallest value with at least 90 % of the sample
	 * at or below it. */
	rank = (n * 9 + 9) / 10;
	out->p90 = values[rank - 1];
	out->min = values[0];
	out->max = values[n - 1];
}

const char *bench_env(const char *name)
{
	const char *value = getenv(name);

	if (value == NULL || value[0] == '\0') {
		fprintf(stderr,
			"bench: %s is not set; run the benchmarks with "
			"bench/run.sh, which starts tests/harness/with-services.sh\n",
			name);
		exit(1);
	}
	return value;
}

const char *bench_config_path(void)
{
	static char path[4096];

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "%s/bench.conf",
			 bench_env("FLOWCRED_TEST_DIR"));
	return path;
}

const char *bench_token_url(void)
{
	static char url[512];

	if (url[0] == '\0')
		snprintf(url, sizeof(url),
			 "%s/auth/realms/test/protocol/openid-connect/token",
			 bench_env("FLOWCRED_TEST_URL"));
	return url;
}

void bench_fail_status(const char *what, flowcred_status status,
		       const char *detail)
{
	fprintf(stderr, "bench: %s failed: %s: %s\n", what,
		flowcred_strerror(status), detail != NULL ? detail : "");
	exit(1);
}

flowcred_ctx *bench_open(void)
{
	char detail[FLOWCRED_DETAIL_MAX] = "";
	flowcred_status status;
	flowcred_ctx *ctx;

	status = flowcred_open(bench_config_path(), &ctx, detail,
			       sizeof(detail));
	if (status != FLOWCRED_OK)
		bench_fail_status("flowcred_open", status, detail);
	flowcred_set_log_func(ctx, NULL, NULL, LOG_DEBUG);
	return ctx;
}

struct response_buffer {
	char *data;
	size_t len;
};

static size_t collect(char *data, size_t size, size_t count, void *userdata)
{
	struct response_buffer *buffer = userdata;
	size_t n = size * count;
	char *grown = realloc(buffer->data, buffer->len + n + 1);

	if (grown == NULL)
		return 0;
	memcpy(grown + buffer->len, data, n);
	buffer->data = grown;
	buffer->len += n;
	grown[buffer->len] = '\0';
	return n;
}

long bench_control(const char *method, const char *path, const char *body,
		   char **response)
{
	struct curl_slist *headers = NULL;
	struct response_buffer buffer = { 0 };
	char error[CURL_ERROR_SIZE] = "";
	char url[512];
	long http_status = 0;
	CURLcode rc;
	CURL *curl;

	snprintf(url, sizeof(url), "%s%s", bench_env("FLOWCRED_TEST_URL"),
		 path);
	curl = curl_easy_init();
	if (curl == NULL) {
		fprintf(stderr, "bench: curl_easy_init failed\n");
		exit(1);
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CAINFO, bench_env("FLOWCRED_TEST_CA"));
	curl_easy_setopt(curl, CURLOPT_PROXY, "");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, BENCH_CONTROL_TIMEOUT);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		headers = curl_slist_append(NULL,
					    "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
	}
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buffer);
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		fprintf(stderr, "bench: %s %s failed: %s\n", method, url,
			error[0] != '\0' ? error : curl_easy_strerror(rc));
		exit(1);
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	if (response != NULL)
		*response = buffer.data != NULL ? buffer.data : strdup("");
	else
		free(buffer.data);
	return http_status;
}

void bench_server_reset(void)
{
	long http_status = bench_control("POST", "/_test/reset", NULL, NULL);

	if (http_status < 200 || http_status >= 300) {
		fprintf(stderr, "bench: POST /_test/reset returned HTTP %ld\n",
			http_status);
		exit(1);
	}
}

/* Returns the requests the server recorded since the last reset as a
 * JSON array (json_object_put()). Their bodies carry test passwords. */
static json_object *server_requests(void)
{
	json_object *requests;
	char *body = NULL;

	if (bench_control("GET", "/_test/requests", NULL, &body) != 200) {
		fprintf(stderr, "bench: GET /_test/requests failed\n");
		exit(1);
	}
	requests = json_tokener_parse(body);
	explicit_bzero(body, strlen(body));
	free(body);
	if (requests == NULL || !json_object_is_type(requests, json_type_array)) {
		fprintf(stderr,
			"bench: GET /_test/requests did not return a JSON array\n");
		exit(1);
	}
	return requests;
}

static int is_password_grant(json_object *record)
{
	json_object *member;
	const char *value;

	return json_object_object_get_ex(record, "grant_type", &member) &&
	       (value = json_object_get_string(member)) != NULL &&
	       strcmp(value, "password") == 0;
}

char *bench_server_last_grant_body(void)
{
	json_object *requests = server_requests();
	char *body = NULL;
	size_t i;

	for (i = 0; i < json_object_array_length(requests); i++) {
		json_object *record = json_object_array_get_idx(requests, i);
		json_object *member;

		if (is_password_grant(record) &&
		    json_object_object_get_ex(record, "raw_body", &member) &&
		    json_object_get_string(member) != NULL) {
			if (body != NULL) {
				explicit_bzero(body, strlen(body));
				free(body);
			}
			body = strdup(json_object_get_string(member));
		}
	}
	json_object_put(requests);
	return body;
}

static long record_id(json_object *record)
{
	json_object *member;

	if (!json_object_object_get_ex(record, "id", &member))
		return 0;
	return (long)json_object_get_int64(member);
}

long bench_server_last_id(void)
{
	json_object *requests = server_requests();
	size_t n = json_object_array_length(requests);
	long id = n > 0 ? record_id(json_object_array_get_idx(requests, n - 1)) :
			  0;

	json_object_put(requests);
	return id;
}

size_t bench_server_count_grants(long after_id, size_t *token_requests)
{
	json_object *requests = server_requests();
	size_t grants = 0;
	size_t tokens = 0;
	size_t i;

	for (i = 0; i < json_object_array_length(requests); i++) {
		json_object *record = json_object_array_get_idx(requests, i);
		json_object *member;
		const char *value;

		if (record_id(record) <= after_id)
			continue;
		if (json_object_object_get_ex(record, "endpoint", &member) &&
		    (value = json_object_get_string(member)) != NULL &&
		    strcmp(value, "token") == 0)
			tokens++;
		if (is_password_grant(record))
			grants++;
	}
	json_object_put(requests);
	if (token_requests != NULL)
		*token_requests = tokens;
	return grants;
}

/* Appends name=value, percent-encoded as flowcred encodes form fields
 * (libcurl's escaping of everything but RFC 3986 unreserved characters). */
static void append_field(char *body, size_t size, const char *name,
			 const char *value)
{
	char *escaped = curl_easy_escape(NULL, value, 0);

	if (escaped == NULL) {
		fprintf(stderr, "bench: curl_easy_escape failed\n");
		exit(1);
	}
	if (body[0] != '\0')
		strncat(body, "&", size - strlen(body) - 1);
	strncat(body, name, size - strlen(body) - 1);
	strncat(body, "=", size - strlen(body) - 1);
	strncat(body, escaped, size - strlen(body) - 1);
	explicit_bzero(escaped, strlen(escaped));
	curl_free(escaped);
}

char *bench_grant_body(void)
{
	const size_t size = 1024;
	char *body = calloc(1, size);

	if (body == NULL) {
		fprintf(stderr, "bench: out of memory\n");
		exit(1);
	}
	/* The fields in flowcred's order, so the bodies are byte-identical. */
	append_field(body, size, "grant_type", "password");
	append_field(body, size, "username", BENCH_IFS_USER);
	append_field(body, size, "password", BENCH_IFS_PASSWORD);
	append_field(body, size, "scope", BENCH_SCOPE);
	append_field(body, size, "client_id", BENCH_CLIENT_ID);
	append_field(body, size, "client_secret", BENCH_CLIENT_SECRET);
	return body;
}

/* Sends the benchmark user's password grant to realm "test" and returns
 * the answer's body (free()). */
static char *fetch_grant_answer(void)
{
	char *body = bench_grant_body();
	struct response_buffer buffer = { 0 };
	long http_status = 0;
	CURLcode rc;
	CURL *curl = curl_easy_init();

	if (curl == NULL) {
		fprintf(stderr, "bench: curl_easy_init failed\n");
		exit(1);
	}
	curl_easy_setopt(curl, CURLOPT_URL, bench_token_url());
	curl_easy_setopt(curl, CURLOPT_CAINFO, bench_env("FLOWCRED_TEST_CA"));
	curl_easy_setopt(curl, CURLOPT_PROXY, "");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, BENCH_CONTROL_TIMEOUT);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buffer);
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
	curl_easy_cleanup(curl);
	explicit_bzero(body, strlen(body));
	free(body);
	if (rc != CURLE_OK || http_status != 200 || buffer.data == NULL) {
		fprintf(stderr, "bench: password grant for the canned realm "
			"failed: %s, HTTP %ld\n", curl_easy_strerror(rc),
			http_status);
		exit(1);
	}
	return buffer.data;
}

void bench_server_put_canned_realm(void)
{
	char *answer = fetch_grant_answer();
	json_object *definition = json_object_new_object();
	json_object *canned = json_object_new_object();
	json_object *headers = json_object_new_object();
	long http_status;

	json_object_object_add(headers, "Content-Type",
			       json_object_new_string("application/json"));
	json_object_object_add(headers, "Cache-Control",
			       json_object_new_string("no-store"));
	json_object_object_add(canned, "status", json_object_new_int(200));
	json_object_object_add(canned, "headers", headers);
	json_object_object_add(canned, "body", json_object_new_string(answer));
	json_object_object_add(definition, "canned", canned);
	http_status = bench_control("PUT", "/_test/realms/bench-canned",
				    json_object_to_json_string(definition),
				    NULL);
	json_object_put(definition);
	explicit_bzero(answer, strlen(answer));
	free(answer);
	if (http_status != 204) {
		fprintf(stderr, "bench: PUT /_test/realms/bench-canned returned HTTP %ld\n",
			http_status);
		exit(1);
	}
}

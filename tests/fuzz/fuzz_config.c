/* libFuzzer target for fc_config_load(): the input is the configuration
 * file. It is written with mode 0600 to one file in a private directory
 * created once, on tmpfs where /dev/shm exists, and loaded from there.
 *
 * Besides crashes and leaks, the target checks what a loaded
 * configuration promises (https token URLs, bounded timeouts and sizes)
 * and that an inline client_secret never reaches the detail or the log:
 * each 12-byte run of a client_secret value that occurs nowhere else in
 * the input must be absent from both.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "text.h"

/* Length of the runs of a secret looked for in messages. */
#define SECRET_RUN 12

static char config_path[256];
static char log_text[64 * 1024];
static size_t log_len;

static void capture_log(int priority, const char *message, void *userdata)
{
	size_t n = strlen(message);

	(void)priority;
	(void)userdata;
	if (n > sizeof(log_text) - log_len - 2)
		n = sizeof(log_text) - log_len - 2;
	memcpy(log_text + log_len, message, n);
	log_len += n;
	log_text[log_len++] = '\n';
	log_text[log_len] = '\0';
}

static void make_directory(void)
{
	char directory[] = "/dev/shm/fuzz-config.XXXXXX";
	char fallback[] = "/tmp/fuzz-config.XXXXXX";
	const char *made = mkdtemp(directory);

	if (made == NULL)
		made = mkdtemp(fallback);
	if (made == NULL) {
		fprintf(stderr, "fuzz_config: cannot create a directory: %s\n",
			strerror(errno));
		abort();
	}
	snprintf(config_path, sizeof(config_path), "%s/flowcred.conf", made);
}

static void write_config(const uint8_t *data, size_t size)
{
	size_t done = 0;
	int fd;

	fd = open(config_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0)
		abort();
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n <= 0)
			abort();
		done += (size_t)n;
	}
	close(fd);
}

static const uint8_t *find_bytes(const uint8_t *haystack, size_t len,
				 const uint8_t *needle, size_t needle_len)
{
	return memmem(haystack, len, needle, needle_len);
}

/* Returns the number of times needle occurs in the input. */
static size_t count_occurrences(const uint8_t *data, size_t size,
				const uint8_t *needle, size_t needle_len)
{
	const uint8_t *p = data;
	size_t left = size;
	size_t count = 0;
	const uint8_t *hit;

	while ((hit = find_bytes(p, left, needle, needle_len)) != NULL) {
		count++;
		left -= (size_t)(hit - p) + 1;
		p = hit + 1;
	}
	return count;
}

/* Tells whether run also appears in the detail or the log when the value
 * at data[offset..offset+len) is replaced by 'x' bytes: then it is the
 * library's own text, such as the token_url hint, and not the secret. */
static int run_is_library_text(const uint8_t *data, size_t size,
			       size_t offset, size_t len, const uint8_t *run)
{
	static char saved_log[sizeof(log_text)];
	struct fc_logger logger = { capture_log, NULL, LOG_DEBUG };
	char detail[FLOWCRED_DETAIL_MAX] = "";
	struct fc_config *config = NULL;
	size_t saved_len = log_len;
	uint8_t *copy = malloc(size);
	int found;

	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	memset(copy + offset, 'x', len);
	memcpy(saved_log, log_text, log_len + 1);
	log_len = 0;
	log_text[0] = '\0';
	write_config(copy, size);
	fc_config_load(config_path, &logger, &config, detail, sizeof(detail));
	fc_config_free(config);
	found = find_bytes((const uint8_t *)detail, strlen(detail), run,
			   SECRET_RUN) != NULL ||
		find_bytes((const uint8_t *)log_text, log_len, run,
			   SECRET_RUN) != NULL;
	memcpy(log_text, saved_log, saved_len + 1);
	log_len = saved_len;
	free(copy);
	return found;
}

/* Checks that no run of the raw value of a "client_secret =" line that
 * is unique in the input appears in the detail or the log. */
static void check_secret_runs(const uint8_t *data, size_t size,
			      const char *detail)
{
	const uint8_t *line = data;
	const uint8_t *end = data + size;

	while (line < end) {
		const uint8_t *newline = memchr(line, '\n', (size_t)(end - line));
		const uint8_t *line_end = newline != NULL ? newline : end;
		const uint8_t *p = line;
		const uint8_t *value;
		size_t value_len;
		size_t i;

		while (p < line_end && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(line_end - p) < sizeof("client_secret") ||
		    memcmp(p, "client_secret", 13) != 0)
			goto next;
		p += 13;
		while (p < line_end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == line_end || *p != '=')
			goto next;
		value = p + 1;
		value_len = (size_t)(line_end - value);
		for (i = 0; i + SECRET_RUN <= value_len; i++) {
			const uint8_t *run = value + i;

			if (memchr(run, '\0', SECRET_RUN) != NULL ||
			    count_occurrences(data, size, run, SECRET_RUN) != 1)
				continue;
			if ((find_bytes((const uint8_t *)detail, strlen(detail),
					run, SECRET_RUN) != NULL ||
			     find_bytes((const uint8_t *)log_text, log_len, run,
					SECRET_RUN) != NULL) &&
			    !run_is_library_text(data, size,
						 (size_t)(value - data),
						 value_len, run)) {
				fprintf(stderr,
					"fuzz_config: client_secret bytes "
					"%.12s leaked\ndetail: %s\nlog: %s\n",
					(const char *)run, detail, log_text);
				abort();
			}
		}
next:
		line = line_end + 1;
	}
}

static int has_prefix_nocase(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static void check_connector(const struct fc_connector *c)
{
	if (c->name == NULL)
		abort();
	if (c->error != NULL)
		return;
	/* A connector without error is usable as it is. The scheme is
	 * case-insensitive, and libcurl's parser also accepts "https:/h/p"
	 * and "https:h/p", so only "https:" is required here. */
	if (c->token_url == NULL || !has_prefix_nocase(c->token_url, "https:"))
		abort();
	if (!fc_name_valid(c->name) || !fc_name_valid(c->client_id))
		abort();
	if (c->scope == NULL || c->scope[0] == '\0')
		abort();
	if (c->client_secret != NULL && c->client_secret[0] == '\0')
		abort();
	if (c->client_auth == FC_CLIENT_AUTH_BASIC && c->client_secret == NULL)
		abort();
	if (c->connect_timeout_ms < 1 || c->connect_timeout_ms > 300 * 1000 ||
	    c->timeout_ms < 1 || c->timeout_ms > 600 * 1000)
		abort();
	if (c->default_expires_in < 1 || c->default_expires_in > 86400)
		abort();
	if (c->max_response_size < 1024 ||
	    c->max_response_size > 16 * 1024 * 1024)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fc_logger logger = { capture_log, NULL, LOG_DEBUG };
	char detail[FLOWCRED_DETAIL_MAX];
	struct fc_config *config = NULL;
	flowcred_status status;
	size_t i;

	if (config_path[0] == '\0')
		make_directory();
	write_config(data, size);
	log_len = 0;
	log_text[0] = '\0';
	detail[0] = '\0';

	status = fc_config_load(config_path, &logger, &config, detail,
				sizeof(detail));
	if (memchr(detail, '\0', sizeof(detail)) == NULL)
		abort();
	if (status == FLOWCRED_OK) {
		if (config == NULL)
			abort();
		if (config->keyring_timeout_ms < 1 ||
		    config->keyring_timeout_ms > 120 * 1000)
			abort();
		for (i = 0; i < config->n_connectors; i++) {
			check_connector(&config->connectors[i]);
			if (fc_config_find(config,
					   config->connectors[i].name) == NULL)
				abort();
		}
	} else {
		if (config != NULL)
			abort();
		if (status != FLOWCRED_CONFIG && status != FLOWCRED_NO_MEMORY)
			abort();
	}
	check_secret_runs(data, size, detail);
	fc_config_free(config);
	return 0;
}

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <glib.h>

#include "conf.h"
#include "text.h"
#include "wipe.h"

/* Largest configuration or secret file read, in bytes. */
#define FC_CONFIG_FILE_MAX (1024 * 1024)
#define FC_SECRET_FILE_MAX (64 * 1024)

#define FC_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define FC_DEFAULT_TIMEOUT_MS 30000
#define FC_DEFAULT_EXPIRES_IN 60
#define FC_DEFAULT_MAX_RESPONSE 65536
#define FC_DEFAULT_KEYRING_TIMEOUT_MS 5000
#define FC_DEFAULT_EXPIRY_MARGIN 30
#define FC_DEFAULT_DENIED_BACKOFF 300
#define FC_DEFAULT_RETRY_BACKOFF 30

static const char *const connector_keys[] = {
	"token_url", "client_id", "client_secret", "client_secret_file",
	"scope", "client_auth", "ca_file", "connect_timeout", "timeout",
	"default_expires_in", "max_response_size", "proxy", "expiry_margin",
	"denied_backoff", "retry_backoff", "logout", "logout_url", NULL
};

static const char *const global_keys[] = { "keyring_timeout", NULL };

flowcred_status fc_config_check_file_mode(int fd, const char *path,
					  int holds_secret,
					  char *detail, size_t detail_size)
{
	struct stat st;
	unsigned int mode;

	if (fstat(fd, &st) != 0) {
		fc_detail(detail, detail_size, "%s: cannot stat: %s", path,
			  strerror(errno));
		return FLOWCRED_CONFIG;
	}
	if (!S_ISREG(st.st_mode)) {
		fc_detail(detail, detail_size, "%s: not a regular file", path);
		return FLOWCRED_CONFIG;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		fc_detail(detail, detail_size,
			  "%s: owned by uid %u, which is neither root nor uid %u; "
			  "run chown root %s", path, (unsigned int)st.st_uid,
			  (unsigned int)geteuid(), path);
		return FLOWCRED_CONFIG;
	}
	mode = (unsigned int)(st.st_mode & 07777);
	if ((mode & (S_IWGRP | S_IWOTH)) != 0) {
		fc_detail(detail, detail_size,
			  "%s: mode %04o lets group or others write it; "
			  "run chmod go-w %s (0640 or 0600)", path, mode, path);
		return FLOWCRED_CONFIG;
	}
	if (holds_secret && (mode & S_IROTH) != 0) {
		fc_detail(detail, detail_size,
			  "%s: mode %04o lets others read a client secret; "
			  "run chmod o-r %s (0640 or 0600)", path, mode, path);
		return FLOWCRED_CONFIG;
	}
	return FLOWCRED_OK;
}

/* Reads the whole file at path into buf after checking its mode.
 * holds_secret < 0 defers the "readable by others" check to the caller,
 * which decides from the contents. */
static flowcred_status read_file(const char *path, int holds_secret,
				 size_t max, struct fc_buf *buf,
				 struct stat *stat_out,
				 char *detail, size_t detail_size)
{
	flowcred_status status;
	struct stat st;
	char chunk[4096];
	ssize_t n;
	int fd;
	int rc;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer. The mode
	 * check below rejects anything that is not a regular file before a
	 * single byte is read. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		fc_detail(detail, detail_size, "%s: cannot open: %s", path,
			  strerror(errno));
		return FLOWCRED_CONFIG;
	}
	status = fc_config_check_file_mode(fd, path, holds_secret > 0,
					   detail, detail_size);
	if (status != FLOWCRED_OK)
		goto out;
	if (stat_out != NULL && fstat(fd, &st) == 0)
		*stat_out = st;

	buf->max = max;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fc_detail(detail, detail_size, "%s: cannot read: %s",
				  path, strerror(errno));
			status = FLOWCRED_CONFIG;
			goto out;
		}
		if (n == 0)
			break;
		rc = fc_buf_append(buf, chunk, (size_t)n);
		if (rc == -2) {
			fc_detail(detail, detail_size,
				  "%s: larger than %zu bytes", path, max);
			status = FLOWCRED_CONFIG;
			goto out;
		}
		if (rc != 0) {
			status = FLOWCRED_NO_MEMORY;
			goto out;
		}
	}
	if (buf->data == NULL && fc_buf_append(buf, "", 0) != 0)
		status = FLOWCRED_NO_MEMORY;
out:
	fc_wipe(chunk, sizeof(chunk));
	close(fd);
	if (status != FLOWCRED_OK)
		fc_buf_clear(buf);
	return status;
}

/* A group's parsing state: the first error found wins. */
struct group_parser {
	GKeyFile *keyfile;
	const char *path;
	const char *group;
	char *error;
	int no_memory;
};

static void parser_error(struct group_parser *p, const char *key,
			 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void parser_error(struct group_parser *p, const char *key,
			 const char *fmt, ...)
{
	char message[384];
	char *error;
	va_list ap;
	int n;

	if (p->error != NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (key != NULL)
		n = asprintf(&error, "%s: [%s] %s: %s", p->path, p->group, key,
			     message);
	else
		n = asprintf(&error, "%s: [%s]: %s", p->path, p->group,
			     message);
	if (n < 0)
		p->no_memory = 1;
	else
		p->error = error;
}

/* Returns a malloc'd copy of the key's value, or NULL when it is absent
 * or on error (recorded in p). */
static char *get_string(struct group_parser *p, const char *key)
{
	GError *error = NULL;
	char *value;
	char *copy;

	if (!g_key_file_has_key(p->keyfile, p->group, key, NULL))
		return NULL;
	value = g_key_file_get_string(p->keyfile, p->group, key, &error);
	if (value == NULL) {
		/* GLib's message quotes the value, which may be a secret. */
		parser_error(p, key,
			     "invalid value: it is not valid UTF-8 or has an "
			     "invalid escape sequence");
		g_error_free(error);
		return NULL;
	}
	copy = strdup(value);
	fc_wipe(value, strlen(value));
	g_free(value);
	if (copy == NULL)
		p->no_memory = 1;
	return copy;
}

/* Reads a duration in seconds, decimals allowed, into milliseconds. */
static long get_seconds(struct group_parser *p, const char *key,
			double max_seconds, long default_ms)
{
	char *value = get_string(p, key);
	char *end = NULL;
	double seconds;
	long ms = default_ms;

	if (value == NULL)
		return default_ms;
	errno = 0;
	seconds = g_ascii_strtod(value, &end);
	if (errno != 0 || end == value || *end != '\0' || !isfinite(seconds) ||
	    seconds <= 0 || seconds > max_seconds) {
		parser_error(p, key,
			     "invalid value '%s': expected a number of seconds "
			     "greater than 0 and at most %g", value,
			     max_seconds);
	} else {
		ms = (long)ceil(seconds * 1000.0);
	}
	free(value);
	return ms;
}

static long get_integer(struct group_parser *p, const char *key,
			long min, long max, const char *unit, long fallback)
{
	char *value = get_string(p, key);
	char *end = NULL;
	long long number;
	long result = fallback;

	if (value == NULL)
		return fallback;
	errno = 0;
	number = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || number < min ||
	    number > max) {
		parser_error(p, key,
			     "invalid value '%s': expected a whole number of "
			     "%s from %ld to %ld", value, unit, min, max);
	} else {
		result = (long)number;
	}
	free(value);
	return result;
}

/* Returns a copy of url for messages, with any user name and password
 * between "//" and "@" replaced by "***", or NULL when out of memory. A
 * URL that libcurl cannot parse has no parts to ask it for, so this is
 * done on the text. */
static char *redact_url(const char *url)
{
	const char *start = strstr(url, "//");
	const char *end;
	const char *at = NULL;
	char *redacted;

	if (start == NULL)
		return strdup(url);
	start += 2;
	end = start + strcspn(start, "/?#");
	for (const char *c = start; c < end; c++) {
		if (*c == '@')
			at = c;
	}
	if (at == NULL)
		return strdup(url);
	if (asprintf(&redacted, "%.*s***%s", (int)(start - url), url, at) < 0)
		return NULL;
	return redacted;
}

/* Checks an absolute URL with libcurl's parser and returns its scheme,
 * malloc'd, or NULL with the error recorded. */
static char *check_url(struct group_parser *p, const char *key,
		       const char *url, int allow_credentials)
{
	CURLU *u = curl_url();
	char *scheme = NULL;
	char *host = NULL;
	char *user = NULL;
	char *fragment = NULL;
	char *result = NULL;
	char *redacted;
	CURLUcode rc;

	if (u == NULL) {
		p->no_memory = 1;
		return NULL;
	}
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc != CURLUE_OK) {
		redacted = redact_url(url);
		parser_error(p, key, "invalid URL '%s': %s",
			     redacted != NULL ? redacted : "(not shown)",
			     curl_url_strerror(rc));
		free(redacted);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0') {
		parser_error(p, key, "invalid URL '%s': no host", url);
		goto out;
	}
	if (!allow_credentials &&
	    curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		parser_error(p, key,
			     "the URL must not contain a user name or password; "
			     "put the client credentials in client_id and "
			     "client_secret");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK) {
		parser_error(p, key, "invalid URL: it has a fragment");
		goto out;
	}
	result = strdup(scheme);
	if (result == NULL)
		p->no_memory = 1;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(fragment);
	curl_url_cleanup(u);
	return result;
}

/* Checks a scope value against RFC 6749 section 3.3: scope tokens of
 * printable ASCII other than space, '"' and '\', separated by single
 * spaces. */
static int scope_valid(const char *scope)
{
	const unsigned char *c = (const unsigned char *)scope;
	int in_token = 0;

	if (*c == '\0')
		return 0;
	for (; *c != '\0'; c++) {
		if (*c == ' ') {
			if (!in_token)
				return 0;
			in_token = 0;
		} else if (*c >= 0x21 && *c <= 0x7e && *c != '"' &&
			   *c != '\\') {
			in_token = 1;
		} else {
			return 0;
		}
	}
	return in_token;
}

/* Reads a client secret file: one trailing "\n" or "\r\n" is not part of
 * the secret. */
static char *read_secret_file(struct group_parser *p, const char *path)
{
	char detail[FLOWCRED_DETAIL_MAX];
	struct fc_buf buf = { 0 };
	flowcred_status status;
	char *secret = NULL;

	status = read_file(path, 1, FC_SECRET_FILE_MAX, &buf, NULL, detail,
			   sizeof(detail));
	if (status == FLOWCRED_NO_MEMORY) {
		p->no_memory = 1;
		return NULL;
	}
	if (status != FLOWCRED_OK) {
		parser_error(p, "client_secret_file", "%s", detail);
		return NULL;
	}
	if (buf.len > 0 && buf.data[buf.len - 1] == '\n')
		buf.data[--buf.len] = '\0';
	if (buf.len > 0 && buf.data[buf.len - 1] == '\r')
		buf.data[--buf.len] = '\0';
	if (memchr(buf.data, '\0', buf.len) != NULL)
		parser_error(p, "client_secret_file",
			     "%s contains a NUL byte", path);
	else if (buf.len == 0)
		parser_error(p, "client_secret_file",
			     "%s is empty; write the client secret into it",
			     path);
	else if ((secret = fc_strdup_secret(buf.data)) == NULL)
		p->no_memory = 1;
	fc_buf_clear(&buf);
	return secret;
}

static void check_known_keys(struct group_parser *p,
			     const char *const *known)
{
	gchar **keys = g_key_file_get_keys(p->keyfile, p->group, NULL, NULL);
	size_t i;
	size_t k;

	for (i = 0; keys != NULL && keys[i] != NULL; i++) {
		for (k = 0; known[k] != NULL; k++) {
			if (strcmp(keys[i], known[k]) == 0)
				break;
		}
		if (known[k] == NULL)
			parser_error(p, keys[i],
				     "unknown key; check its spelling");
	}
	g_strfreev(keys);
}

static void parse_client_auth(struct group_parser *p,
			      struct fc_connector *c)
{
	char *value = get_string(p, "client_auth");

	c->client_auth = FC_CLIENT_AUTH_POST;
	if (value == NULL)
		return;
	if (strcmp(value, "post") == 0 ||
	    strcmp(value, "client_secret_post") == 0)
		c->client_auth = FC_CLIENT_AUTH_POST;
	else if (strcmp(value, "basic") == 0 ||
		 strcmp(value, "client_secret_basic") == 0)
		c->client_auth = FC_CLIENT_AUTH_BASIC;
	else
		parser_error(p, "client_auth",
			     "invalid value '%s': expected post or basic",
			     value);
	free(value);
}

static void parse_token_url(struct group_parser *p, struct fc_connector *c)
{
	char *scheme;

	c->token_url = get_string(p, "token_url");
	if (c->token_url == NULL) {
		parser_error(p, "token_url",
			     "missing; set it to https://HOST/auth/realms/"
			     "NAMESPACE/protocol/openid-connect/token");
		return;
	}
	scheme = check_url(p, "token_url", c->token_url, 0);
	if (scheme != NULL && strcmp(scheme, "https") != 0)
		parser_error(p, "token_url",
			     "invalid value '%s': the token endpoint must use "
			     "https://", c->token_url);
	free(scheme);
}

static void parse_client(struct group_parser *p, struct fc_connector *c)
{
	char *secret_file;

	c->client_id = get_string(p, "client_id");
	if (c->client_id == NULL)
		parser_error(p, "client_id",
			     "missing; set it to the Client ID of the IFS IAM "
			     "client (case-sensitive)");
	else if (!fc_name_valid(c->client_id))
		parser_error(p, "client_id",
			     "invalid value: expected 1 to %d bytes of UTF-8 "
			     "without control characters", FC_NAME_MAX);

	c->client_secret = get_string(p, "client_secret");
	secret_file = get_string(p, "client_secret_file");
	if (c->client_secret != NULL && secret_file != NULL)
		parser_error(p, "client_secret_file",
			     "set either client_secret or client_secret_file, "
			     "not both");
	else if (c->client_secret != NULL && c->client_secret[0] == '\0')
		parser_error(p, "client_secret",
			     "empty; set the client secret or remove the key");
	else if (secret_file != NULL)
		c->client_secret = read_secret_file(p, secret_file);
	free(secret_file);

	parse_client_auth(p, c);
	if (c->client_auth == FC_CLIENT_AUTH_BASIC && c->client_secret == NULL)
		parser_error(p, "client_auth",
			     "basic needs client_secret or client_secret_file");
}

/* Checks that path names a regular file this process can read, without
 * blocking on a FIFO or device. */
static void check_readable_file(struct group_parser *p, const char *key,
				const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0) {
		parser_error(p, key, "cannot read '%s': %s", path,
			     strerror(errno));
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		parser_error(p, key, "'%s' is not a regular file", path);
	close(fd);
}

static void parse_transport(struct group_parser *p, struct fc_connector *c)
{
	char *scheme;

	c->ca_file = get_string(p, "ca_file");
	if (c->ca_file != NULL)
		check_readable_file(p, "ca_file", c->ca_file);

	c->proxy = get_string(p, "proxy");
	if (c->proxy != NULL) {
		scheme = check_url(p, "proxy", c->proxy, 1);
		free(scheme);
	}

	c->connect_timeout_ms = get_seconds(p, "connect_timeout", 300,
					    FC_DEFAULT_CONNECT_TIMEOUT_MS);
	c->timeout_ms = get_seconds(p, "timeout", 600, FC_DEFAULT_TIMEOUT_MS);
	c->default_expires_in = get_integer(p, "default_expires_in", 1, 86400,
					    "seconds", FC_DEFAULT_EXPIRES_IN);
	c->max_response_size = (size_t)get_integer(p, "max_response_size",
						   1024, 16L * 1024 * 1024,
						   "bytes",
						   FC_DEFAULT_MAX_RESPONSE);
}

static int get_boolean(struct group_parser *p, const char *key, int fallback)
{
	char *value = get_string(p, key);
	int result = fallback;

	if (value == NULL)
		return fallback;
	if (strcmp(value, "true") == 0)
		result = 1;
	else if (strcmp(value, "false") == 0)
		result = 0;
	else
		parser_error(p, key, "invalid value '%s': expected true or false",
			     value);
	free(value);
	return result;
}

static void parse_lifecycle(struct group_parser *p, struct fc_connector *c)
{
	char *scheme;

	c->expiry_margin = get_integer(p, "expiry_margin", 0, 3600, "seconds",
				       FC_DEFAULT_EXPIRY_MARGIN);
	c->denied_backoff = get_integer(p, "denied_backoff", 0, 86400,
					"seconds", FC_DEFAULT_DENIED_BACKOFF);
	c->retry_backoff = get_integer(p, "retry_backoff", 0, 3600, "seconds",
				       FC_DEFAULT_RETRY_BACKOFF);
	c->logout = get_boolean(p, "logout", 1);
	c->logout_url = get_string(p, "logout_url");
	if (c->logout_url != NULL) {
		scheme = check_url(p, "logout_url", c->logout_url, 0);
		if (scheme != NULL && strcmp(scheme, "https") != 0)
			parser_error(p, "logout_url",
				     "invalid value '%s': the logout endpoint "
				     "must use https://", c->logout_url);
		free(scheme);
	}
}

static flowcred_status parse_connector(GKeyFile *keyfile, const char *path,
				       const char *group,
				       struct fc_connector *c)
{
	struct group_parser p = { keyfile, path, group, NULL, 0 };

	c->name = strdup(group);
	if (c->name == NULL)
		return FLOWCRED_NO_MEMORY;
	if (!fc_name_valid(group))
		parser_error(&p, NULL,
			     "invalid connector name: expected 1 to %d bytes "
			     "of UTF-8 without control characters",
			     FC_NAME_MAX);
	check_known_keys(&p, connector_keys);
	parse_token_url(&p, c);
	parse_client(&p, c);

	c->scope = get_string(&p, "scope");
	if (c->scope == NULL && !p.no_memory)
		c->scope = strdup(FC_DEFAULT_SCOPE);
	if (c->scope == NULL)
		p.no_memory = 1;
	else if (!scope_valid(c->scope))
		parser_error(&p, "scope",
			     "invalid value '%s': expected scope names of "
			     "printable ASCII separated by single spaces",
			     c->scope);

	parse_transport(&p, c);
	parse_lifecycle(&p, c);
	c->error = p.error;
	return p.no_memory ? FLOWCRED_NO_MEMORY : FLOWCRED_OK;
}

static flowcred_status parse_global(GKeyFile *keyfile, const char *path,
				    struct fc_config *config,
				    char *detail, size_t detail_size)
{
	struct group_parser p = { keyfile, path, FC_GLOBAL_GROUP, NULL, 0 };
	flowcred_status status = FLOWCRED_OK;

	config->keyring_timeout_ms = FC_DEFAULT_KEYRING_TIMEOUT_MS;
	if (!g_key_file_has_group(keyfile, FC_GLOBAL_GROUP))
		return FLOWCRED_OK;
	check_known_keys(&p, global_keys);
	config->keyring_timeout_ms = get_seconds(&p, "keyring_timeout", 120,
						 FC_DEFAULT_KEYRING_TIMEOUT_MS);
	if (p.no_memory) {
		status = FLOWCRED_NO_MEMORY;
	} else if (p.error != NULL) {
		fc_detail(detail, detail_size, "%s", p.error);
		status = FLOWCRED_CONFIG;
	}
	free(p.error);
	return status;
}

static int keyfile_holds_secret(GKeyFile *keyfile)
{
	gchar **groups = g_key_file_get_groups(keyfile, NULL);
	int found = 0;
	size_t i;

	for (i = 0; groups[i] != NULL && !found; i++) {
		gchar *proxy = g_key_file_get_value(keyfile, groups[i], "proxy",
						    NULL);

		/* A proxy URL with a password is a secret too. */
		found = g_key_file_has_key(keyfile, groups[i], "client_secret",
					   NULL) ||
			(proxy != NULL && strchr(proxy, '@') != NULL);
		g_free(proxy);
	}
	g_strfreev(groups);
	return found;
}

static flowcred_status parse_keyfile(GKeyFile *keyfile,
				     struct fc_config *config,
				     const struct fc_logger *logger,
				     char *detail, size_t detail_size)
{
	gchar **groups = g_key_file_get_groups(keyfile, NULL);
	flowcred_status status;
	size_t n = g_strv_length(groups);
	size_t i;

	status = parse_global(keyfile, config->path, config, detail,
			      detail_size);
	if (status != FLOWCRED_OK)
		goto out;
	config->connectors = calloc(n == 0 ? 1 : n, sizeof(*config->connectors));
	if (config->connectors == NULL) {
		status = FLOWCRED_NO_MEMORY;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct fc_connector *c;

		if (strcmp(groups[i], FC_GLOBAL_GROUP) == 0)
			continue;
		c = &config->connectors[config->n_connectors++];
		status = parse_connector(keyfile, config->path, groups[i], c);
		if (status != FLOWCRED_OK)
			goto out;
		if (c->error != NULL)
			fc_log(logger, LOG_ERR, "%s", c->error);
	}
out:
	g_strfreev(groups);
	return status;
}

flowcred_status fc_config_load(const char *path,
			       const struct fc_logger *logger,
			       struct fc_config **config_out,
			       char *detail, size_t detail_size)
{
	struct fc_config *config = NULL;
	struct fc_buf buf = { 0 };
	GKeyFile *keyfile = NULL;
	GError *error = NULL;
	flowcred_status status;
	struct stat file_stat;
	unsigned int mode;

	*config_out = NULL;
	memset(&file_stat, 0, sizeof(file_stat));
	status = read_file(path, -1, FC_CONFIG_FILE_MAX, &buf, &file_stat,
			   detail, detail_size);
	if (status != FLOWCRED_OK)
		goto out;

	keyfile = g_key_file_new();
	if (!g_key_file_load_from_data(keyfile, buf.data, buf.len,
				       G_KEY_FILE_NONE, &error)) {
		fc_detail(detail, detail_size, "%s: invalid syntax: %s", path,
			  error->message);
		status = FLOWCRED_CONFIG;
		goto out;
	}
	mode = (unsigned int)(file_stat.st_mode & 07777);
	if ((mode & S_IROTH) != 0 && keyfile_holds_secret(keyfile)) {
		fc_detail(detail, detail_size,
			  "%s: mode %04o lets others read a client secret or "
			  "proxy password; run chmod o-r %s (0640 or 0600)",
			  path, mode, path);
		status = FLOWCRED_CONFIG;
		goto out;
	}

	config = calloc(1, sizeof(*config));
	if (config == NULL || (config->path = strdup(path)) == NULL) {
		status = FLOWCRED_NO_MEMORY;
		goto out;
	}
	config->file_stat = file_stat;
	status = parse_keyfile(keyfile, config, logger, detail, detail_size);
	if (status == FLOWCRED_NO_MEMORY)
		fc_detail(detail, detail_size, "out of memory reading %s",
			  path);
	if (status != FLOWCRED_OK)
		goto out;
	*config_out = config;
	config = NULL;
out:
	/* NOTE: GKeyFile keeps its own copy of an inline client_secret and
	 * frees it unwiped; client_secret_file avoids that copy. */
	if (keyfile != NULL)
		g_key_file_free(keyfile);
	if (error != NULL)
		g_error_free(error);
	fc_buf_clear(&buf);
	fc_config_free(config);
	return status;
}

const struct fc_connector *fc_config_find(const struct fc_config *config,
					  const char *name)
{
	size_t i;

	for (i = 0; i < config->n_connectors; i++) {
		if (strcmp(config->connectors[i].name, name) == 0)
			return &config->connectors[i];
	}
	return NULL;
}

static void connector_free(struct fc_connector *c)
{
	free(c->name);
	free(c->token_url);
	free(c->client_id);
	fc_clear_string(&c->client_secret);
	free(c->scope);
	free(c->ca_file);
	free(c->proxy);
	free(c->logout_url);
	free(c->error);
}

void fc_config_free(struct fc_config *config)
{
	size_t i;

	if (config == NULL)
		return;
	for (i = 0; i < config->n_connectors; i++)
		connector_free(&config->connectors[i]);
	free(config->connectors);
	free(config->path);
	free(config);
}

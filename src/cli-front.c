/* flowcred: the command users run. It serves `flowcred token CONNECTOR
 * FLOW_USER` from the kernel key cache when a fresh token is there, and
 * hands every other command line to flowcred-admin with exec().
 *
 * A process that links libsecret, libcurl and json-c spends milliseconds
 * starting before it does anything, so this program links only libc and
 * libkeyutils: a machine workflow that requests a token every minute pays
 * that cost only when the token has to be renewed. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kkey.h"
#include "wipe.h"

#ifndef FLOWCRED_ADMIN_PATH
#error "FLOWCRED_ADMIN_PATH must name the installed flowcred-admin"
#endif

/* The token command this program can serve itself. */
struct token_request {
	const char *config;
	const char *connector;
	const char *flow_user;
};

/* Recognises `[--config FILE] token CONNECTOR FLOW_USER [--config
 * FILE]` and nothing else: any other option, such as --password-stdin,
 * -v or --format, goes to flowcred-admin. Returns 1 when argv is such a
 * command line. */
static int parse_token_request(int argc, char **argv,
			       struct token_request *request)
{
	const char *positional[3];
	int n = 0;
	int i;

	request->config = NULL;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			request->config = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			request->config = argv[i] + 9;
		} else if (argv[i][0] == '-' || n == 3) {
			return 0;
		} else {
			positional[n++] = argv[i];
		}
	}
	if (n != 3 || strcmp(positional[0], "token") != 0)
		return 0;
	request->connector = positional[1];
	request->flow_user = positional[2];
	if (request->config == NULL)
		request->config = getenv("FLOWCRED_CONFIG");
	if (request->config == NULL || request->config[0] == '\0')
		request->config = FLOWCRED_DEFAULT_CONFIG;
	return 1;
}

/* Writes all of s and a newline to standard output with write(2), so no
 * copy of the token stays in a stdio buffer. Returns 1 on success. */
static int write_line(const char *s)
{
	size_t len = strlen(s);
	ssize_t n;

	while (len > 0) {
		n = write(STDOUT_FILENO, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		s += n;
		len -= (size_t)n;
	}
	while ((n = write(STDOUT_FILENO, "\n", 1)) < 0 && errno == EINTR)
		;
	return n == 1;
}

/* Prints a fresh cached token. Returns 1 when it did. */
static int print_cached_token(const struct token_request *request)
{
	char description[FC_KKEY_DESCRIPTION_MAX];
	struct fc_kkey_file_id config;
	struct fc_kkey_record record;
	struct stat st;
	char *config_path;
	int printed = 0;

	config_path = realpath(request->config, NULL);
	if (config_path == NULL)
		return 0;
	if (stat(config_path, &st) == 0 &&
	    fc_kkey_describe(description, sizeof(description), config_path,
			     request->connector, request->flow_user) == 0 &&
	    fc_kkey_load(description, &record) == 0) {
		/* A token made under another version of the configuration
		 * file, or before its mode changed, goes the long way. */
		fc_kkey_file_id_from_stat(&config, &st);
		if (memcmp(&config, &record.config, sizeof(config)) == 0 &&
		    fc_kkey_boot_ns() < record.renew_boot_ns)
			printed = write_line(record.access_token);
		fc_kkey_record_clear(&record);
	}
	free(config_path);
	return printed;
}

/* Finds flowcred-admin: next to this program in a build tree, else where
 * it is installed. */
static const char *admin_path(char *buffer, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buffer, size - 1);
	char *slash;
	static const char name[] = "flowcred-admin";

	if (n > 0) {
		buffer[n] = '\0';
		slash = strrchr(buffer, '/');
		if (slash != NULL &&
		    (size_t)(slash + 1 - buffer) + sizeof(name) <= size) {
			memcpy(slash + 1, name, sizeof(name));
			if (access(buffer, X_OK) == 0)
				return buffer;
		}
	}
	return FLOWCRED_ADMIN_PATH;
}

int main(int argc, char **argv)
{
	struct token_request request;
	char buffer[PATH_MAX];
	const char *admin;

	/* A set-user-ID or capability-raising start never trusts the
	 * environment's FLOWCRED_CONFIG with someone else's keys. */
	if (!getauxval(AT_SECURE) && parse_token_request(argc, argv, &request) &&
	    print_cached_token(&request))
		return 0;

	admin = admin_path(buffer, sizeof(buffer));
	argv[0] = (char *)"flowcred";
	execv(admin, argv);
	fprintf(stderr, "flowcred: cannot run %s: %s; reinstall flowcred\n",
		admin, strerror(errno));
	return 1;
}

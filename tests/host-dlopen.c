/* Loads libflowcred.so.1 the way the Flow server does and obtains tokens
 * through it.
 *
 * The program links against nothing but libdl: every entry point of the
 * plugin is resolved by name with dlsym(), so it also checks that the
 * shared object exports the whole ABI of include/flowcred.h. It gets one
 * token for a machine-workflow user, whose password the library reads
 * from the keyring, and optionally one for an interactive user, whose
 * password is read from standard input (never from argv).
 *
 * Usage:
 *   host-dlopen [--plugin PATH] --config FILE --connector NAME
 *               --machine-user FLOW_USER [--interactive-user FLOW_USER]
 *
 * The plugin is PATH, else $FLOWCRED_PLUGIN, else "libflowcred.so.1" from
 * the dynamic linker's search path.
 *
 * Exit status: 0 on success, 1 when loading the plugin or a library call
 * fails (the status text and detail go to stderr), 2 on a usage error.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* Only the types and constants of the header are used; no symbol of the
 * library is referenced at link time. */
#include "flowcred.h"

#define PROGRAM_NAME "host-dlopen"
#define DEFAULT_PLUGIN "libflowcred.so.1"
#define PASSWORD_MAX 1024
#define TOKEN_BUFFER_SIZE 16384

/* The entry points of the plugin, typed from the header's declarations. */
struct plugin {
	void *handle;
	__typeof__(flowcred_strerror) *strerror;
	__typeof__(flowcred_abi_version) *abi_version;
	__typeof__(flowcred_version) *version;
	__typeof__(flowcred_open) *open;
	__typeof__(flowcred_close) *close;
	__typeof__(flowcred_set_log_func) *set_log_func;
	__typeof__(flowcred_set_option) *set_option;
	__typeof__(flowcred_get_token) *get_token;
	__typeof__(flowcred_logout) *logout;
	__typeof__(flowcred_store_credentials) *store_credentials;
	__typeof__(flowcred_lookup_credentials) *lookup_credentials;
	__typeof__(flowcred_clear_credentials) *clear_credentials;
	__typeof__(flowcred_list_credentials) *list_credentials;
	__typeof__(flowcred_check_connector) *check_connector;
};

struct options {
	const char *plugin_path;
	const char *config_path;
	const char *connector;
	const char *machine_user;
	const char *interactive_user;
	int verbose;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [--plugin PATH] --config FILE --connector NAME\n"
		"       --machine-user FLOW_USER [--interactive-user FLOW_USER]\n"
		"\n"
		"Loads the flowcred plugin with dlopen() and prints a bearer\n"
		"token for each Flow user.\n"
		"\n"
		"  --plugin PATH              shared object to load (default:\n"
		"                             $FLOWCRED_PLUGIN, else %s)\n"
		"  --config FILE              flowcred configuration file\n"
		"  --connector NAME           connector (configuration group)\n"
		"  --machine-user FLOW_USER   Flow user whose password is in the\n"
		"                             keyring\n"
		"  --interactive-user FLOW_USER\n"
		"                             Flow user whose IFS password is read\n"
		"                             from standard input, one line\n"
		"  --verbose                  also print the library's debug log\n"
		"  --help                     print this help\n",
		PROGRAM_NAME, DEFAULT_PLUGIN);
}

static void *resolve(struct plugin *plugin, const char *name, int *missing)
{
	void *symbol;

	dlerror();
	symbol = dlsym(plugin->handle, name);
	if (!symbol) {
		const char *error = dlerror();

		fprintf(stderr, "%s: symbol %s not found in plugin: %s\n",
			PROGRAM_NAME, name, error ? error : "NULL address");
		*missing = 1;
	}
	return symbol;
}

/* Loads the plugin and resolves every entry point. Returns 0, or -1 after
 * printing why on stderr. */
static int plugin_load(struct plugin *plugin, const char *path)
{
	int missing = 0;

	memset(plugin, 0, sizeof(*plugin));
	plugin->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!plugin->handle) {
		fprintf(stderr, "%s: cannot load plugin %s: %s\n",
			PROGRAM_NAME, path, dlerror());
		return -1;
	}

	plugin->strerror = (__typeof__(plugin->strerror))
		resolve(plugin, "flowcred_strerror", &missing);
	plugin->abi_version = (__typeof__(plugin->abi_version))
		resolve(plugin, "flowcred_abi_version", &missing);
	plugin->version = (__typeof__(plugin->version))
		resolve(plugin, "flowcred_version", &missing);
	plugin->open = (__typeof__(plugin->open))
		resolve(plugin, "flowcred_open", &missing);
	plugin->close = (__typeof__(plugin->close))
		resolve(plugin, "flowcred_close", &missing);
	plugin->set_log_func = (__typeof__(plugin->set_log_func))
		resolve(plugin, "flowcred_set_log_func", &missing);
	plugin->set_option = (__typeof__(plugin->set_option))
		resolve(plugin, "flowcred_set_option", &missing);
	plugin->get_token = (__typeof__(plugin->get_token))
		resolve(plugin, "flowcred_get_token", &missing);
	plugin->logout = (__typeof__(plugin->logout))
		resolve(plugin, "flowcred_logout", &missing);
	plugin->store_credentials = (__typeof__(plugin->store_credentials))
		resolve(plugin, "flowcred_store_credentials", &missing);
	plugin->lookup_credentials = (__typeof__(plugin->lookup_credentials))
		resolve(plugin, "flowcred_lookup_credentials", &missing);
	plugin->clear_credentials = (__typeof__(plugin->clear_credentials))
		resolve(plugin, "flowcred_clear_credentials", &missing);
	plugin->list_credentials = (__typeof__(plugin->list_credentials))
		resolve(plugin, "flowcred_list_credentials", &missing);
	plugin->check_connector = (__typeof__(plugin->check_connector))
		resolve(plugin, "flowcred_check_connector", &missing);
	if (missing)
		return -1;

	if (plugin->abi_version() != FLOWCRED_ABI_VERSION) {
		fprintf(stderr,
			"%s: plugin %s has ABI version %u, expected %u\n",
			PROGRAM_NAME, path, plugin->abi_version(),
			(unsigned int)FLOWCRED_ABI_VERSION);
		return -1;
	}
	return 0;
}

static void log_to_stderr(int priority, const char *message, void *userdata)
{
	(void)userdata;
	fprintf(stderr, "%s: flowcred[%d]: %s\n", PROGRAM_NAME, priority,
		message);
}

/* Reads one line from standard input into password, without the newline,
 * reading byte by byte so that no stdio buffer keeps a copy. Echo is
 * turned off while a terminal is read. Returns 0, or -1 after printing
 * why on stderr. */
static int read_password(const char *flow_user, char *password, size_t size)
{
	struct termios saved, quiet;
	int echo_off = 0;
	size_t len = 0;
	int ret = -1;

	if (isatty(STDIN_FILENO)) {
		fprintf(stderr, "IFS password for Flow user %s: ", flow_user);
		if (tcgetattr(STDIN_FILENO, &saved) == 0) {
			quiet = saved;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0)
				echo_off = 1;
		}
	}

	for (;;) {
		char c;
		ssize_t n = read(STDIN_FILENO, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "%s: cannot read the password: %s\n",
				PROGRAM_NAME, strerror(errno));
			goto out;
		}
		if (n == 0 || c == '\n')
			break;
		if (len + 1 >= size) {
			fprintf(stderr,
				"%s: password longer than %zu bytes\n",
				PROGRAM_NAME, size - 1);
			goto out;
		}
		password[len++] = c;
	}
	password[len] = '\0';
	ret = 0;
out:
	if (echo_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
		fputc('\n', stderr);
	}
	if (ret != 0)
		explicit_bzero(password, size);
	return ret;
}

static void format_expiry(int64_t expires_at, char *out, size_t size)
{
	time_t t = (time_t)expires_at;
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "%" PRId64 " (seconds since the Epoch)",
			 expires_at);
}

/* Obtains and prints the token of one Flow user. password is NULL for a
 * machine-workflow user. Returns 0, or -1 after printing the status and
 * detail on stderr. */
static int print_token(const struct plugin *plugin, flowcred_ctx *ctx,
		       const char *connector, const char *flow_user,
		       const char *password)
{
	char detail[FLOWCRED_DETAIL_MAX] = "";
	char token_type[FLOWCRED_TOKEN_TYPE_MAX] = "";
	char expiry[64];
	char *token = NULL;
	size_t token_size = TOKEN_BUFFER_SIZE;
	size_t token_len = 0;
	int64_t expires_at = 0;
	flowcred_status status;
	int ret = -1;

	token = malloc(token_size);
	if (!token) {
		fprintf(stderr, "%s: out of memory\n", PROGRAM_NAME);
		goto out;
	}
	status = plugin->get_token(ctx, connector, flow_user, password,
				   token, token_size, &token_len, token_type,
				   &expires_at, detail, sizeof(detail));
	if (status == FLOWCRED_BUFFER_TOO_SMALL) {
		/* A token larger than the usual buffer: retry once with the
		 * size the library reported. */
		explicit_bzero(token, token_size);
		free(token);
		token_size = token_len;
		token = malloc(token_size);
		if (!token) {
			fprintf(stderr, "%s: out of memory\n", PROGRAM_NAME);
			goto out;
		}
		status = plugin->get_token(ctx, connector, flow_user, password,
					   token, token_size, &token_len,
					   token_type, &expires_at, detail,
					   sizeof(detail));
	}
	if (status != FLOWCRED_OK) {
		fprintf(stderr, "%s: no token for Flow user %s on connector %s: %s%s%s\n",
			PROGRAM_NAME, flow_user, connector,
			plugin->strerror(status), detail[0] ? ": " : "",
			detail);
		goto out;
	}

	format_expiry(expires_at, expiry, sizeof(expiry));
	/* Printing the bearer token on stdout is this program's purpose: it
	 * is the end of the demonstration and the output the tests read. A
	 * real host hands the token to its HTTP client instead. */
	printf("connector: %s\n", connector);
	printf("flow user: %s\n", flow_user);
	printf("token type: %s\n", token_type);
	printf("expires: %s\n", expiry);
	printf("token: %s\n", token);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "%s: cannot write to standard output: %s\n",
			PROGRAM_NAME, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (token) {
		explicit_bzero(token, token_size);
		free(token);
	}
	return ret;
}

/* Parses the command line. Returns 0, 1 after --help, or -1 after
 * printing a usage error. */
static int parse_options(int argc, char **argv, struct options *opts)
{
	static const struct option long_options[] = {
		{ "plugin", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "connector", required_argument, NULL, 'n' },
		{ "machine-user", required_argument, NULL, 'm' },
		{ "interactive-user", required_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(opts, 0, sizeof(*opts));
	while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		switch (c) {
		case 'p':
			opts->plugin_path = optarg;
			break;
		case 'c':
			opts->config_path = optarg;
			break;
		case 'n':
			opts->connector = optarg;
			break;
		case 'm':
			opts->machine_user = optarg;
			break;
		case 'i':
			opts->interactive_user = optarg;
			break;
		case 'v':
			opts->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument %s\n", PROGRAM_NAME,
			argv[optind]);
		usage(stderr);
		return -1;
	}
	if (!opts->config_path || !opts->connector || !opts->machine_user) {
		fprintf(stderr,
			"%s: --config, --connector and --machine-user are required\n",
			PROGRAM_NAME);
		usage(stderr);
		return -1;
	}
	if (!opts->plugin_path)
		opts->plugin_path = getenv("FLOWCRED_PLUGIN");
	if (!opts->plugin_path || !opts->plugin_path[0])
		opts->plugin_path = DEFAULT_PLUGIN;
	return 0;
}

int main(int argc, char **argv)
{
	struct options opts;
	struct plugin plugin = { 0 };
	flowcred_ctx *ctx = NULL;
	char detail[FLOWCRED_DETAIL_MAX] = "";
	char password[PASSWORD_MAX];
	int have_password = 0;
	flowcred_status status;
	int ret;

	ret = parse_options(argc, argv, &opts);
	if (ret != 0)
		return ret > 0 ? 0 : 2;
	ret = 1;

	/* Read the password before any network traffic, as a login
	 * prompt would. */
	if (opts.interactive_user) {
		if (read_password(opts.interactive_user, password,
				  sizeof(password)) != 0)
			goto out;
		have_password = 1;
	}

	if (plugin_load(&plugin, opts.plugin_path) != 0)
		goto out;

	status = plugin.open(opts.config_path, &ctx, detail, sizeof(detail));
	if (status != FLOWCRED_OK) {
		fprintf(stderr, "%s: cannot open %s: %s%s%s\n", PROGRAM_NAME,
			opts.config_path, plugin.strerror(status),
			detail[0] ? ": " : "", detail);
		goto out;
	}
	plugin.set_log_func(ctx, log_to_stderr, NULL,
			    opts.verbose ? LOG_DEBUG : LOG_NOTICE);

	if (print_token(&plugin, ctx, opts.connector, opts.machine_user,
			NULL) != 0)
		goto out;
	if (opts.interactive_user) {
		printf("\n");
		if (print_token(&plugin, ctx, opts.connector,
				opts.interactive_user, password) != 0)
			goto out;
	}
	ret = 0;
out:
	if (have_password)
		explicit_bzero(password, sizeof(password));
	if (ctx)
		plugin.close(ctx);
	/* The library is linked with -z nodelete, so dlclose() only drops
	 * the reference; it is still called as a host that unloads would. */
	if (plugin.handle)
		dlclose(plugin.handle);
	return ret;
}

/* Resident memory of a host that loads libflowcred.so.1 with dlopen(), as
 * the Flow server does, and of the token cache as it fills.
 *
 * Usage: bench-memory PLUGIN ENTRIES
 *
 * It reads VmRSS and VmHWM from /proc/self/status before and after
 * dlopen(), after flowcred_open(), after the first token (which brings
 * up TLS and the D-Bus connection), and after ENTRIES more cache entries.
 * The entries are tokens of one interactive user with ENTRIES distinct
 * typed passwords, each its own cache entry, from realm "bench-canned",
 * whose endpoint accepts any password (bench-flowcred store installs
 * it). Like tests/host-dlopen it links nothing of libflowcred and takes
 * every entry point from dlsym(). It prints Markdown.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "flowcred.h"

#define CONNECTOR "bench"
#define CANNED_CONNECTOR "bench-canned"
#define MACHINE_USER "bench-machine"
#define INTERACTIVE_USER "bench-interactive"
#define TOKEN_MAX 16384

struct plugin {
	__typeof__(flowcred_open) *open;
	__typeof__(flowcred_close) *close;
	__typeof__(flowcred_set_log_func) *set_log_func;
	__typeof__(flowcred_set_option) *set_option;
	__typeof__(flowcred_get_token) *get_token;
	__typeof__(flowcred_strerror) *strerror;
};

/* Memory figures of this process, in KiB. */
struct memory {
	long rss;
	long hwm;
};

static void read_memory(struct memory *m)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	m->rss = -1;
	m->hwm = -1;
	if (f == NULL) {
		fprintf(stderr, "bench-memory: cannot open /proc/self/status: %s\n",
			strerror(errno));
		exit(1);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			m->rss = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			m->hwm = strtol(line + 6, NULL, 10);
	}
	fclose(f);
	if (m->rss < 0 || m->hwm < 0) {
		fprintf(stderr, "bench-memory: no VmRSS or VmHWM in /proc/self/status\n");
		exit(1);
	}
}

static void print_row(const char *state, const struct memory *m,
		      const struct memory *before, long entries)
{
	printf("| %s | %.1f | %.1f | %+.1f |", state, m->rss / 1024.0,
	       m->hwm / 1024.0, (m->rss - before->rss) / 1024.0);
	if (entries > 0)
		printf(" %.2f |\n", (double)(m->rss - before->rss) / entries);
	else
		printf(" |\n");
}

static void *resolve(void *handle, const char *name)
{
	void *symbol = dlsym(handle, name);

	if (symbol == NULL) {
		fprintf(stderr, "bench-memory: %s not found: %s\n", name,
			dlerror());
		exit(1);
	}
	return symbol;
}

static void get_token(const struct plugin *p, flowcred_ctx *ctx,
		      const char *connector, const char *flow_user,
		      const char *password, char *token)
{
	char detail[FLOWCRED_DETAIL_MAX] = "";
	flowcred_status status;
	size_t token_len;

	status = p->get_token(ctx, connector, flow_user, password, token,
			      TOKEN_MAX, &token_len, NULL, NULL, detail,
			      sizeof(detail));
	if (status != FLOWCRED_OK) {
		fprintf(stderr, "bench-memory: flowcred_get_token failed: %s: %s\n",
			p->strerror(status), detail);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	char detail[FLOWCRED_DETAIL_MAX] = "";
	struct memory start, loaded, opened, first, checkpoint;
	struct plugin p;
	flowcred_ctx *ctx;
	flowcred_status status;
	char config[4096];
	char password[64];
	char *token;
	char *end = NULL;
	const char *dir = getenv("FLOWCRED_TEST_DIR");
	void *handle;
	long entries;
	long next_checkpoint = 100;
	long done = 0;
	struct timespec t0, t1;

	if (argc != 3 || dir == NULL) {
		fprintf(stderr, "usage: bench-memory PLUGIN ENTRIES (inside bench/run.sh)\n");
		return 2;
	}
	entries = strtol(argv[2], &end, 10);
	if (*end != '\0' || entries < 1 || entries > 1000000) {
		fprintf(stderr, "bench-memory: invalid ENTRIES '%s': expected 1 to 1000000\n",
			argv[2]);
		return 2;
	}
	snprintf(config, sizeof(config), "%s/bench.conf", dir);
	token = malloc(TOKEN_MAX);
	if (token == NULL)
		return 1;

	read_memory(&start);
	handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL) {
		fprintf(stderr, "bench-memory: dlopen %s: %s\n", argv[1], dlerror());
		return 1;
	}
	p.open = resolve(handle, "flowcred_open");
	p.close = resolve(handle, "flowcred_close");
	p.set_log_func = resolve(handle, "flowcred_set_log_func");
	p.set_option = resolve(handle, "flowcred_set_option");
	p.get_token = resolve(handle, "flowcred_get_token");
	p.strerror = resolve(handle, "flowcred_strerror");
	read_memory(&loaded);

	status = p.open(config, &ctx, detail, sizeof(detail));
	if (status != FLOWCRED_OK) {
		fprintf(stderr, "bench-memory: flowcred_open failed: %s: %s\n",
			p.strerror(status), detail);
		return 1;
	}
	p.set_log_func(ctx, NULL, NULL, LOG_DEBUG);
	/* 10,000 sessions are not worth ending one by one at close. */
	status = p.set_option(ctx, FLOWCRED_OPT_LOGOUT_ON_CLOSE, 0);
	if (status != FLOWCRED_OK) {
		fprintf(stderr, "bench-memory: flowcred_set_option failed: %s\n",
			p.strerror(status));
		return 1;
	}
	read_memory(&opened);
	get_token(&p, ctx, CONNECTOR, MACHINE_USER, NULL, token);
	read_memory(&first);

	printf("| state | VmRSS MiB | VmHWM MiB | VmRSS change MiB | KiB per cache entry |\n");
	printf("|---|---:|---:|---:|---:|\n");
	print_row("host started, plugin not loaded", &start, &start, 0);
	print_row("after dlopen()", &loaded, &start, 0);
	print_row("after flowcred_open()", &opened, &loaded, 0);
	print_row("after the first token (TLS, D-Bus up)", &first, &opened, 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (done < entries) {
		snprintf(password, sizeof(password), "bench-password-%07ld", done);
		get_token(&p, ctx, CANNED_CONNECTOR, INTERACTIVE_USER, password,
			  token);
		done++;
		if (done == next_checkpoint || done == entries) {
			char state[96];

			read_memory(&checkpoint);
			snprintf(state, sizeof(state),
				 "after %ld more cache entries", done);
			print_row(state, &checkpoint, &first, done);
			next_checkpoint *= 10;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("\nFilling the cache took %.1f s (a keyring read and a grant per entry).\n",
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	p.close(ctx);
	explicit_bzero(token, TOKEN_MAX);
	free(token);
	return 0;
}

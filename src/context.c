#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "context.h"
#include "grant.h"
#include "kcache.h"
#include "text.h"
#include "wipe.h"

const char fc_no_flow_user[] = "";

/* Counts the fork() calls of this process in children, so a context can
 * tell that it runs in a child of the process that set it up. */
static unsigned int fork_generation;
static pthread_mutex_t fork_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void count_fork_in_child(void)
{
	__atomic_add_fetch(&fork_generation, 1, __ATOMIC_RELAXED);
	pthread_mutex_init(&fork_lock, NULL);
}

static void register_fork_handler(void)
{
	pthread_atfork(NULL, NULL, count_fork_in_child);
}

void fc_ctx_enter(flowcred_ctx *ctx)
{
	unsigned int now = __atomic_load_n(&fork_generation, __ATOMIC_RELAXED);
	struct fc_http *http;

	if (__atomic_load_n(&ctx->fork_generation, __ATOMIC_ACQUIRE) == now)
		return;
	pthread_mutex_lock(&fork_lock);
	if (ctx->fork_generation != now) {
		fc_cache_after_fork(&ctx->cache);
		fc_keyring_after_fork(ctx->keyring);
		/* The parent's pool is left alone: closing its connections
		 * here could send TLS alerts on sockets the parent still
		 * uses. */
		http = fc_http_new();
		ctx->http = http;
		__atomic_store_n(&ctx->fork_generation, now, __ATOMIC_RELEASE);
		fc_log(&ctx->logger, LOG_DEBUG,
		       "context used in a child process after fork()");
	}
	pthread_mutex_unlock(&fork_lock);
}

FLOWCRED_EXPORT flowcred_status
flowcred_open(const char *config_path, flowcred_ctx **ctx_out,
	      char *detail, size_t detail_size)
{
	flowcred_ctx *ctx = NULL;
	flowcred_status status;
	const char *path = config_path != NULL ? config_path :
			   FLOWCRED_DEFAULT_CONFIG;

	fc_detail_clear(detail, detail_size);
	if (ctx_out == NULL) {
		fc_detail(detail, detail_size, "ctx_out is NULL");
		return FLOWCRED_INVALID_ARGUMENT;
	}
	*ctx_out = NULL;
	if (path[0] == '\0') {
		fc_detail(detail, detail_size,
			  "the configuration path is empty; pass NULL for %s",
			  FLOWCRED_DEFAULT_CONFIG);
		return FLOWCRED_INVALID_ARGUMENT;
	}
	status = fc_grant_global_init(detail, detail_size);
	if (status != FLOWCRED_OK)
		return status;

	pthread_once(&fork_once, register_fork_handler);
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return FLOWCRED_NO_MEMORY;
	ctx->fork_generation = __atomic_load_n(&fork_generation,
					       __ATOMIC_RELAXED);
	ctx->logout_on_close = 1;
	fc_logger_init_default(&ctx->logger);
	status = fc_config_load(path, &ctx->logger, &ctx->config, detail,
				detail_size);
	if (status != FLOWCRED_OK)
		goto out;
	ctx->keyring = fc_keyring_new(ctx->config->keyring_timeout_ms,
				      &ctx->logger);
	ctx->http = fc_http_new();
	ctx->config_realpath = realpath(path, NULL);
	if (ctx->keyring == NULL || ctx->http == NULL ||
	    ctx->config_realpath == NULL || fc_cache_init(&ctx->cache) != 0) {
		fc_detail(detail, detail_size,
			  "cannot set up a context for %s: %s", path,
			  strerror(errno));
		status = FLOWCRED_NO_MEMORY;
		goto out;
	}
	*ctx_out = ctx;
	ctx = NULL;
out:
	flowcred_close(ctx);
	return status;
}

FLOWCRED_EXPORT void flowcred_close(flowcred_ctx *ctx)
{
	if (ctx == NULL)
		return;
	if (ctx->config != NULL && ctx->http != NULL)
		fc_token_logout_all(ctx);
	fc_cache_destroy(&ctx->cache);
	fc_http_free(ctx->http);
	fc_keyring_free(ctx->keyring);
	fc_config_free(ctx->config);
	free(ctx->config_realpath);
	free(ctx);
}

FLOWCRED_EXPORT void flowcred_set_log_func(flowcred_ctx *ctx,
					   flowcred_log_func func,
					   void *userdata, int max_priority)
{
	if (ctx == NULL)
		return;
	ctx->logger.func = func;
	ctx->logger.userdata = userdata;
	ctx->logger.max_priority = max_priority;
}

FLOWCRED_EXPORT flowcred_status flowcred_set_option(flowcred_ctx *ctx,
						    flowcred_option option,
						    long value)
{
	if (ctx == NULL || (value != 0 && value != 1))
		return FLOWCRED_INVALID_ARGUMENT;
	switch (option) {
	case FLOWCRED_OPT_LOGOUT_ON_CLOSE:
		ctx->logout_on_close = (int)value;
		return FLOWCRED_OK;
	case FLOWCRED_OPT_KERNEL_CACHE:
		ctx->kernel_cache = (int)value;
		return FLOWCRED_OK;
	}
	return FLOWCRED_INVALID_ARGUMENT;
}

/* Checks a name argument; what names the argument in the detail. */
static flowcred_status check_name(const char *name, const char *what,
				  char *detail, size_t detail_size)
{
	if (fc_name_valid(name))
		return FLOWCRED_OK;
	fc_detail(detail, detail_size,
		  "invalid %s: expected 1 to %d bytes of UTF-8 without control "
		  "characters", what, FC_NAME_MAX);
	return FLOWCRED_INVALID_ARGUMENT;
}

flowcred_status fc_ctx_find_connector(flowcred_ctx *ctx, const char *name,
				      const char *flow_user, int require_valid,
				      const struct fc_connector **connector,
				      char *detail, size_t detail_size)
{
	flowcred_status status;

	fc_detail_clear(detail, detail_size);
	if (ctx == NULL) {
		fc_detail(detail, detail_size, "ctx is NULL");
		return FLOWCRED_INVALID_ARGUMENT;
	}
	status = check_name(name, "connector name", detail, detail_size);
	if (status == FLOWCRED_OK && flow_user != FC_NO_FLOW_USER)
		status = check_name(flow_user, "Flow user", detail, detail_size);
	if (status != FLOWCRED_OK)
		return status;
	*connector = fc_config_find(ctx->config, name);
	if (*connector == NULL) {
		fc_detail(detail, detail_size,
			  "no connector '%s' in %s; add a [%s] group", name,
			  ctx->config->path, name);
		return FLOWCRED_NOT_FOUND;
	}
	if (require_valid && (*connector)->error != NULL) {
		fc_detail(detail, detail_size, "%s", (*connector)->error);
		return FLOWCRED_CONFIG;
	}
	return FLOWCRED_OK;
}

/* Copies s into buf when it fits; *len receives its length, or the size
 * buf needs when it does not fit. */
static flowcred_status copy_out(const char *s, char *buf, size_t size,
				size_t *len)
{
	size_t n = strlen(s);

	if (buf == NULL || n + 1 > size) {
		*len = n + 1;
		return FLOWCRED_BUFFER_TOO_SMALL;
	}
	memcpy(buf, s, n + 1);
	*len = n;
	return FLOWCRED_OK;
}

FLOWCRED_EXPORT flowcred_status
flowcred_store_credentials(flowcred_ctx *ctx, const char *connector,
			   const char *flow_user, const char *ifs_user,
			   const char *password,
			   char *detail, size_t detail_size)
{
	const struct fc_connector *c;
	flowcred_status status;

	status = fc_ctx_find_connector(ctx, connector, flow_user, 0, &c, detail,
				detail_size);
	if (status == FLOWCRED_OK)
		status = check_name(ifs_user, "IFS user", detail, detail_size);
	if (status != FLOWCRED_OK)
		return status;
	if (password != NULL && password[0] == '\0') {
		fc_detail(detail, detail_size,
			  "the password is empty; pass NULL to store an "
			  "interactive user without a password");
		return FLOWCRED_INVALID_ARGUMENT;
	}
	status = fc_keyring_store(ctx->keyring, connector, flow_user, ifs_user,
				  password, detail, detail_size);
	if (status != FLOWCRED_OK)
		return status;
	/* Tokens obtained with the old credentials must not outlive them. */
	fc_ctx_enter(ctx);
	fc_token_forget(ctx, connector, flow_user);
	/* Whatever this context's option, another process may have cached
	 * a token of this user in the kernel keyring. */
	fc_kcache_remove(ctx, c, flow_user);
	fc_log(&ctx->logger, LOG_NOTICE,
	       "connector '%s': stored credentials of Flow user '%s' (IFS user "
	       "'%s', %s)", connector, flow_user, ifs_user,
	       password != NULL ? "with password" : "interactive");
	return FLOWCRED_OK;
}

FLOWCRED_EXPORT flowcred_status
flowcred_lookup_credentials(flowcred_ctx *ctx, const char *connector,
			    const char *flow_user,
			    char *ifs_user, size_t ifs_user_size,
			    size_t *ifs_user_len, int *has_password,
			    char *detail, size_t detail_size)
{
	const struct fc_connector *c;
	flowcred_status status;
	char *password = NULL;
	char *stored_user = NULL;

	status = fc_ctx_find_connector(ctx, connector, flow_user, 0, &c, detail,
				detail_size);
	if (status != FLOWCRED_OK)
		return status;
	if (ifs_user_len == NULL || has_password == NULL) {
		fc_detail(detail, detail_size,
			  "ifs_user_len and has_password must not be NULL");
		return FLOWCRED_INVALID_ARGUMENT;
	}
	status = fc_keyring_lookup(ctx->keyring, connector, flow_user,
				   &stored_user, &password, detail,
				   detail_size);
	if (status != FLOWCRED_OK)
		return status;
	status = copy_out(stored_user, ifs_user, ifs_user_size, ifs_user_len);
	if (status == FLOWCRED_OK)
		*has_password = password != NULL;
	else
		fc_detail(detail, detail_size,
			  "the IFS user needs a buffer of %zu bytes",
			  *ifs_user_len);
	fc_clear_string(&password);
	free(stored_user);
	return status;
}

FLOWCRED_EXPORT flowcred_status
flowcred_clear_credentials(flowcred_ctx *ctx, const char *connector,
			   const char *flow_user,
			   char *detail, size_t detail_size)
{
	const struct fc_connector *c;
	flowcred_status status;

	status = fc_ctx_find_connector(ctx, connector, flow_user, 0, &c, detail,
				detail_size);
	if (status != FLOWCRED_OK)
		return status;
	status = fc_keyring_clear(ctx->keyring, connector, flow_user, detail,
				  detail_size);
	fc_ctx_enter(ctx);
	fc_token_forget(ctx, connector, flow_user);
	/* Whatever this context's option, another process may have cached
	 * a token of this user in the kernel keyring. */
	fc_kcache_remove(ctx, c, flow_user);
	if (status == FLOWCRED_OK)
		fc_log(&ctx->logger, LOG_NOTICE,
		       "connector '%s': cleared credentials of Flow user '%s'",
		       connector, flow_user);
	return status;
}

FLOWCRED_EXPORT flowcred_status
flowcred_list_credentials(flowcred_ctx *ctx, const char *connector,
			  flowcred_list_func func, void *userdata,
			  char *detail, size_t detail_size)
{
	fc_detail_clear(detail, detail_size);
	if (ctx == NULL || func == NULL) {
		fc_detail(detail, detail_size, "ctx and func must not be NULL");
		return FLOWCRED_INVALID_ARGUMENT;
	}
	if (connector != NULL && !fc_name_valid(connector))
		return check_name(connector, "connector name", detail,
				  detail_size);
	return fc_keyring_list(ctx->keyring, connector, func, userdata, detail,
			       detail_size);
}

static int count_item(const char *connector, const char *flow_user,
		      const char *ifs_user, int has_password, void *userdata)
{
	(void)connector;
	(void)flow_user;
	(void)ifs_user;
	(void)has_password;
	(*(size_t *)userdata)++;
	return 0;
}

FLOWCRED_EXPORT flowcred_status
flowcred_check_connector(flowcred_ctx *ctx, const char *connector,
			 char *detail, size_t detail_size)
{
	char keyring_detail[FLOWCRED_DETAIL_MAX] = "";
	char endpoint_detail[FLOWCRED_DETAIL_MAX] = "";
	const struct fc_connector *c;
	flowcred_status keyring_status;
	flowcred_status status;
	size_t items = 0;

	status = fc_ctx_find_connector(ctx, connector, FC_NO_FLOW_USER, 1, &c,
				       detail, detail_size);
	if (status != FLOWCRED_OK)
		return status;
	keyring_status = fc_keyring_list(ctx->keyring, connector, count_item,
					 &items, keyring_detail,
					 sizeof(keyring_detail));
	if (keyring_status == FLOWCRED_OK)
		snprintf(keyring_detail, sizeof(keyring_detail),
			 "%zu credential item%s", items,
			 items == 1 ? "" : "s");
	fc_ctx_enter(ctx);
	status = fc_grant_probe(ctx->http, c, &ctx->logger, endpoint_detail,
				sizeof(endpoint_detail));
	fc_detail(detail, detail_size,
		  "configuration valid; keyring: %s; token endpoint: %s",
		  keyring_detail, endpoint_detail);
	return keyring_status != FLOWCRED_OK ? keyring_status : status;
}

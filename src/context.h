/* The context behind the public API. */
#ifndef FC_CONTEXT_H
#define FC_CONTEXT_H

#include "cache.h"
#include "conf.h"
#include "flowcred.h"
#include "keyring.h"
#include "log.h"

struct fc_http;

struct flowcred_ctx {
	struct fc_config *config;	/* read-only after flowcred_open() */
	char *config_realpath;
	struct fc_logger logger;
	struct fc_keyring *keyring;
	struct fc_http *http;
	struct fc_cache cache;
	unsigned int fork_generation;	/* of the process that last used it */
	int logout_on_close;
	int kernel_cache;
	int kernel_cache_failed;	/* warned once; guarded by cache.lock */
};

/* Passed as flow_user to fc_ctx_find_connector() by calls that take no
 * Flow user. Any other value, NULL included, is checked as a name. */
extern const char fc_no_flow_user[];
#define FC_NO_FLOW_USER fc_no_flow_user

/* Checks the arguments every call shares and finds the connector. With
 * require_valid, a connector whose group is invalid is an error. */
flowcred_status fc_ctx_find_connector(flowcred_ctx *ctx, const char *name,
				      const char *flow_user, int require_valid,
				      const struct fc_connector **connector,
				      char *detail, size_t detail_size);

/* Prepares a context for use in a child process after fork(), once per
 * fork: fresh locks, a fresh connection pool, and a keyring that fails
 * fast when the parent's D-Bus connection cannot be used. */
void fc_ctx_enter(flowcred_ctx *ctx);

/* Drops the cached tokens of a Flow user of a connector. */
void fc_token_forget(flowcred_ctx *ctx, const char *connector,
		     const char *flow_user);

/* Ends the IAM sessions the context opened, when logout on close is on. */
void fc_token_logout_all(flowcred_ctx *ctx);

#endif

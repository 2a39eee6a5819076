/* Compiled, never run, by tests/abi/header.sh as C and as C++ with
 * warnings as errors: flowcred.h must be self-contained, include-guarded
 * and usable from both languages. Every declaration of the header is
 * used once, so a prototype that a compiler rejects or warns about
 * fails the build. */
#include <flowcred.h>
#include <flowcred.h>

#if FLOWCRED_VERSION_MAJOR < 1 || FLOWCRED_ABI_VERSION != 1
#error "unexpected version macros in flowcred.h"
#endif

static int print_item(const char *connector, const char *flow_user,
		      const char *ifs_user, int has_password, void *userdata)
{
	(void)connector;
	(void)flow_user;
	(void)ifs_user;
	(void)has_password;
	(void)userdata;
	return 0;
}

static void log_message(int priority, const char *message, void *userdata)
{
	(void)priority;
	(void)message;
	(void)userdata;
}

int use_flowcred(void);

int use_flowcred(void)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char token[4096];
	char token_type[FLOWCRED_TOKEN_TYPE_MAX];
	char ifs_user[256];
	size_t token_len = 0;
	size_t ifs_user_len = 0;
	int64_t expires_at = 0;
	int has_password = 0;
	flowcred_ctx *ctx = NULL;
	flowcred_status status;
	flowcred_log_func log_func = log_message;
	flowcred_list_func list_func = print_item;

	if (flowcred_abi_version() != FLOWCRED_ABI_VERSION ||
	    flowcred_version() == NULL)
		return 1;
	status = flowcred_open(NULL, &ctx, detail, sizeof(detail));
	if (status != FLOWCRED_OK)
		return (int)status;
	flowcred_set_log_func(ctx, log_func, NULL, 7);
	status = flowcred_set_option(ctx, FLOWCRED_OPT_LOGOUT_ON_CLOSE, 0);
	if (status == FLOWCRED_OK)
		status = flowcred_set_option(ctx, FLOWCRED_OPT_KERNEL_CACHE, 1);
	if (status == FLOWCRED_OK)
		status = flowcred_store_credentials(ctx, "ifs-prod", "flowbot",
						    "IFSAPP", NULL, detail,
						    sizeof(detail));
	if (status == FLOWCRED_OK)
		status = flowcred_lookup_credentials(ctx, "ifs-prod", "flowbot",
						     ifs_user, sizeof(ifs_user),
						     &ifs_user_len,
						     &has_password, detail,
						     sizeof(detail));
	if (status == FLOWCRED_OK)
		status = flowcred_get_token(ctx, "ifs-prod", "flowbot", NULL,
					    token, sizeof(token), &token_len,
					    token_type, &expires_at, detail,
					    sizeof(detail));
	if (status == FLOWCRED_OK)
		status = flowcred_logout(ctx, "ifs-prod", "flowbot", detail,
					 sizeof(detail));
	if (status == FLOWCRED_OK)
		status = flowcred_list_credentials(ctx, NULL, list_func, NULL,
						   detail, sizeof(detail));
	if (status == FLOWCRED_OK)
		status = flowcred_check_connector(ctx, "ifs-prod", detail,
						  sizeof(detail));
	if (status == FLOWCRED_OK)
		status = flowcred_clear_credentials(ctx, "ifs-prod", "flowbot",
						    detail, sizeof(detail));
	if (status != FLOWCRED_OK && flowcred_strerror(status) == NULL)
		status = FLOWCRED_INTERNAL;
	flowcred_close(ctx);
	return (int)status;
}

/* The kernel keyring as a second token cache, shared by the processes of
 * one user: a machine workflow that runs `flowcred token` every minute
 * reuses one IAM session instead of opening a new one each time. */
#ifndef FC_KCACHE_H
#define FC_KCACHE_H

#include "context.h"
#include "grant.h"

/* Copies the token of a Flow user into the kernel keyring. Failures are
 * logged once per context and otherwise ignored. */
void fc_kcache_store(flowcred_ctx *ctx, const struct fc_connector *c,
		     const char *flow_user, const char *ifs_user,
		     const struct fc_token *token);

/* Adopts the kernel keyring's record of a Flow user into entry: its
 * access token while it is fresh, else its refresh token. Returns 1 when
 * the entry now has a fresh access token. The cache lock must be held. */
int fc_kcache_adopt(flowcred_ctx *ctx, const struct fc_connector *c,
		    const char *flow_user, struct fc_entry *entry);

/* Removes the record of a Flow user and returns its refresh token in
 * *refresh_token (NULL when none), to end its IAM session. */
flowcred_status fc_kcache_take_refresh(flowcred_ctx *ctx,
				       const struct fc_connector *c,
				       const char *flow_user,
				       char **refresh_token);

/* Removes the record of a Flow user, if any. */
void fc_kcache_remove(flowcred_ctx *ctx, const struct fc_connector *c,
		      const char *flow_user);

/* Tells whether another process of this user saw IFS reject password
 * for ifs_user less than denied_backoff seconds ago. Returns the
 * seconds left, or 0 when the password may be sent. */
long fc_kcache_guard_left(flowcred_ctx *ctx, const struct fc_connector *c,
			  const char *ifs_user, const char *password);

/* Records a rejection of password for ifs_user for denied_backoff
 * seconds, or lifts the record after a success. */
void fc_kcache_note_guard(flowcred_ctx *ctx, const struct fc_connector *c,
			  const char *ifs_user, const char *password,
			  flowcred_status status);

#endif

/* Credentials in the Secret Service keyring, through libsecret.
 *
 * One item per (connector, Flow user) with attributes connector,
 * flow-user and ifs-user, and the IFS password as the secret. An
 * interactive user's item has an empty secret. Attributes and labels are
 * stored unencrypted and may be listed by any client of the session bus,
 * so no secret ever goes into them. */
#ifndef FC_KEYRING_H
#define FC_KEYRING_H

#include <stddef.h>

#include "flowcred.h"
#include "log.h"

/* A connection to the Secret Service, opened on first use and reopened
 * after the service went away. Safe to share between threads. */
struct fc_keyring;

/* Returns a new handle that times D-Bus calls out after timeout_ms, or
 * NULL when out of memory. Nothing is connected until first use. */
struct fc_keyring *fc_keyring_new(long timeout_ms,
				  const struct fc_logger *logger);

void fc_keyring_free(struct fc_keyring *keyring);

/* Prepares the handle for a child process after fork(). GDBus keeps a
 * worker thread that a child does not inherit, so once any connection
 * to the session bus existed in the parent, every later keyring call in
 * the child fails fast with FLOWCRED_UNAVAILABLE instead of hanging. */
void fc_keyring_after_fork(struct fc_keyring *keyring);

/* Looks up the item of (connector, flow_user). On FLOWCRED_OK
 * *ifs_user_out receives the IFS user ID (free()) and *password_out the
 * stored password, or NULL for an interactive user; the caller wipes it
 * with fc_clear_string(). password_out may be NULL to skip the secret. */
flowcred_status fc_keyring_lookup(struct fc_keyring *keyring,
				  const char *connector, const char *flow_user,
				  char **ifs_user_out, char **password_out,
				  char *detail, size_t detail_size);

/* Stores or replaces the item of (connector, flow_user). A NULL password
 * stores an interactive user. */
flowcred_status fc_keyring_store(struct fc_keyring *keyring,
				 const char *connector, const char *flow_user,
				 const char *ifs_user, const char *password,
				 char *detail, size_t detail_size);

/* Deletes the items of (connector, flow_user). */
flowcred_status fc_keyring_clear(struct fc_keyring *keyring,
				 const char *connector, const char *flow_user,
				 char *detail, size_t detail_size);

/* Calls func for each item of connector, or of every connector when it
 * is NULL, sorted by connector and Flow user. */
flowcred_status fc_keyring_list(struct fc_keyring *keyring,
				const char *connector,
				flowcred_list_func func, void *userdata,
				char *detail, size_t detail_size);

#endif

/* flowcred: OAuth 2.0 password grant against IFS Cloud IAM for Novacura Flow.
 *
 * This is the stable C ABI of libflowcred.so.1. A host (the Flow server, a
 * PAM module, the flowcred CLI) opens a context from a configuration file,
 * then requests bearer tokens from it by connector name and Flow user. The
 * library reads the IFS user ID and, for machine workflows, the password
 * from the Secret Service keyring, performs the grant, and copies the token
 * into a buffer the caller owns, so no secret crosses allocators.
 *
 * The library never prints. It reports through a status code, an optional
 * per-call detail buffer, and a log function the host may install.
 *
 * The keyring is reached through GLib's D-Bus client, which starts a
 * worker thread at first use. The host's SIGPIPE disposition is restored
 * after GLib changes it. A child of fork() gets tokens from the cache but
 * no keyring access (see flowcred_get_token()).
 */
#ifndef FLOWCRED_H
#define FLOWCRED_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define FLOWCRED_EXPORT __attribute__((visibility("default")))
#else
#define FLOWCRED_EXPORT
#endif

#if defined(__GNUC__)
#define FLOWCRED_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define FLOWCRED_WARN_UNUSED
#endif

/* Compile-time release version. Compare with flowcred_version() at run
 * time when the host must know which release it loaded. */
#define FLOWCRED_VERSION_MAJOR 1
#define FLOWCRED_VERSION_MINOR 0
#define FLOWCRED_VERSION_PATCH 0

/* ABI generation. It grows only when the soname changes. */
#define FLOWCRED_ABI_VERSION 1

/* Size of a detail buffer that is never truncated in practice. A smaller
 * buffer still receives a NUL-terminated, truncated message. */
#define FLOWCRED_DETAIL_MAX 512

/* Size of a token type buffer that fits every type the library returns. */
#define FLOWCRED_TOKEN_TYPE_MAX 16

/* Result of every call. Values are never renumbered or reused, so a host
 * may switch on them and store them. */
typedef enum flowcred_status {
	FLOWCRED_OK = 0,
	/* No such connector, no credentials for the Flow user in the
	 * keyring, or no stored password for a machine workflow. */
	FLOWCRED_NOT_FOUND = 1,
	/* IFS Cloud IAM rejected the user name or password. Keycloak gives
	 * the same response for an unknown user, a wrong password, a missing
	 * one-time code and a brute-force lockout. */
	FLOWCRED_DENIED = 2,
	/* The IFS account is disabled or not fully set up. */
	FLOWCRED_ACCOUNT = 3,
	/* IFS Cloud IAM rejected the connector's client: wrong client ID or
	 * secret, invalid scope, or Direct Access Grants disabled. */
	FLOWCRED_CLIENT_REJECTED = 4,
	/* The local configuration is invalid: file syntax, a key's value, or
	 * the mode or owner of the file or of a secret file. */
	FLOWCRED_CONFIG = 5,
	/* The token endpoint or the keyring cannot be used now: connection
	 * refused or timed out, TLS failure, HTTP 5xx, a response that is not
	 * JSON, no session bus, no Secret Service, a locked collection. */
	FLOWCRED_UNAVAILABLE = 6,
	/* The token endpoint asked the client to slow down (HTTP 429). */
	FLOWCRED_TRY_AGAIN = 7,
	/* A caller-provided buffer is too small. The required size is
	 * reported through the size output of the call. */
	FLOWCRED_BUFFER_TOO_SMALL = 8,
	/* The token endpoint returned JSON that is not a valid token or
	 * error response. */
	FLOWCRED_PROTOCOL = 9,
	/* The caller passed a NULL pointer, an empty name or a name with
	 * control characters where the call does not accept one. */
	FLOWCRED_INVALID_ARGUMENT = 10,
	FLOWCRED_NO_MEMORY = 11,
	/* An unexpected failure inside the library or a library it uses. */
	FLOWCRED_INTERNAL = 12
} flowcred_status;

/* Opaque context. One context may be used by many threads at once. */
typedef struct flowcred_ctx flowcred_ctx;

/* Receives one log message. priority is a syslog(3) level such as
 * LOG_ERR or LOG_DEBUG. The message is NUL-terminated, never contains a
 * password, client secret or token, and is valid only during the call.
 * The function may be called from any thread that uses the context. */
typedef void (*flowcred_log_func)(int priority, const char *message,
				  void *userdata);

/* Returns the static text of a status, for example "access denied".
 * Unknown values give "unknown status". */
FLOWCRED_EXPORT const char *flowcred_strerror(flowcred_status status);

/* Returns the ABI generation of the loaded library (FLOWCRED_ABI_VERSION
 * of the header it was built from). */
FLOWCRED_EXPORT unsigned int flowcred_abi_version(void);

/* Returns the release version of the loaded library as a static string,
 * for example "1.0.0". */
FLOWCRED_EXPORT const char *flowcred_version(void);

/* Opens a context from the configuration file at config_path, or from
 * the default path (/etc/flowcred/flowcred.conf unless chosen otherwise
 * at build time) when config_path is NULL.
 *
 * The whole file is read and checked here. A file that cannot be read,
 * has invalid syntax, or has an unsafe mode or owner fails the call with
 * FLOWCRED_CONFIG. A connector group with an invalid value does not fail
 * the call: the error is logged and returned by every later call for that
 * connector.
 *
 * On success *ctx_out receives a context the caller releases with
 * flowcred_close(). On failure *ctx_out is set to NULL. detail, if not
 * NULL, receives a message of at most detail_size bytes, NUL included. */
FLOWCRED_EXPORT FLOWCRED_WARN_UNUSED flowcred_status
flowcred_open(const char *config_path, flowcred_ctx **ctx_out,
	      char *detail, size_t detail_size);

/* Closes a context and wipes every secret it holds. NULL is accepted.
 * No other thread may use the context during or after this call. */
FLOWCRED_EXPORT void flowcred_close(flowcred_ctx *ctx);

/* Installs the log function of a context, replacing the default, which
 * sends messages to syslog(3) with facility LOG_AUTHPRIV. Messages with a
 * priority numerically greater than max_priority are dropped, so LOG_INFO
 * drops only debug messages. A NULL func silences the context. Call it
 * before the context is shared between threads. */
FLOWCRED_EXPORT void flowcred_set_log_func(flowcred_ctx *ctx,
					   flowcred_log_func func,
					   void *userdata, int max_priority);

/* Options of flowcred_set_option(). */
typedef enum flowcred_option {
	/* 1 (the default): when the context closes, end the IAM sessions
	 * it opened on connectors whose logout key is true. 0: never. A
	 * host that hands tokens to others, as a PAM module does, sets 0. */
	FLOWCRED_OPT_LOGOUT_ON_CLOSE = 1,
	/* 1: also keep machine-workflow tokens in the calling user's kernel
	 * keyring, where the user's other processes find them, and leave
	 * their sessions open at close. 0 (the default): in the context
	 * only. Where the kernel denies keyctl(2), one warning is logged and
	 * the context works without it. */
	FLOWCRED_OPT_KERNEL_CACHE = 2
} flowcred_option;

/* Sets an option of a context. Call it before the context is shared
 * between threads. Unknown options and values give
 * FLOWCRED_INVALID_ARGUMENT. */
FLOWCRED_EXPORT flowcred_status flowcred_set_option(flowcred_ctx *ctx,
						    flowcred_option option,
						    long value);

/* Obtains an access token for a Flow user of a connector with the OAuth
 * 2.0 password grant.
 *
 * connector names a group of the configuration file. flow_user is the
 * Flow user's name; its keyring item gives the IFS user ID. password is
 * the IFS password typed at an interactive login, or NULL to use the
 * password stored in the keyring (machine workflows). The library does not
 * keep a reference to password after the call.
 *
 * On FLOWCRED_OK the token, NUL-terminated, is in token and its length
 * without the NUL in *token_len. On FLOWCRED_BUFFER_TOO_SMALL *token_len
 * is the size token_size must have, NUL included, and token contains no
 * part of the secret. token_type, if not NULL, receives the token type ("Bearer")
 * and must be at least FLOWCRED_TOKEN_TYPE_MAX bytes. expires_at, if not
 * NULL, receives the expiry as seconds since the Epoch (UTC). Outputs are
 * written only on success, except *token_len as described.
 *
 * A token stays cached in the context until its expiry minus the
 * connector's expiry_margin, measured on the monotonic clock, and is
 * then renewed with the refresh token or, failing that, the password.
 * Concurrent calls for the same token send one request and share its
 * result. A stored password that IFS rejected is not sent again for
 * denied_backoff seconds unless a new one is stored, and after HTTP 429
 * or 5xx the endpoint gets no request for Retry-After or retry_backoff
 * seconds. A typed password only ever matches tokens it obtained.
 *
 * detail, if not NULL, receives a message for the admin on any status,
 * never containing a secret. The call blocks for at most the connector's
 * configured timeouts plus the keyring's. */
FLOWCRED_EXPORT FLOWCRED_WARN_UNUSED flowcred_status
flowcred_get_token(flowcred_ctx *ctx, const char *connector,
		   const char *flow_user, const char *password,
		   char *token, size_t token_size, size_t *token_len,
		   char *token_type, int64_t *expires_at,
		   char *detail, size_t detail_size);

/* Ends the IAM sessions of a Flow user of a connector that this context,
 * or with FLOWCRED_OPT_KERNEL_CACHE the kernel key cache, holds: their
 * refresh tokens are sent to Keycloak's logout endpoint and the cached
 * tokens are dropped. FLOWCRED_NOT_FOUND when there is none. */
FLOWCRED_EXPORT FLOWCRED_WARN_UNUSED flowcred_status
flowcred_logout(flowcred_ctx *ctx, const char *connector,
		const char *flow_user, char *detail, size_t detail_size);

/* Stores the credentials of a Flow user of a connector in the default
 * keyring collection, replacing any earlier item for the same pair.
 * password is the IFS password for machine workflows, or NULL for an
 * interactive user, whose item carries the IFS user ID only. The
 * connector must exist in the configuration. */
FLOWCRED_EXPORT FLOWCRED_WARN_UNUSED flowcred_status
flowcred_store_credentials(flowcred_ctx *ctx, const char *connector,
			   const char *flow_user, const char *ifs_user,
			   const char *password,
			   char *detail, size_t detail_size);

/* Looks up the keyring item of a Flow user of a connector without
 * returning its password. ifs_user receives the IFS user ID,
 * NUL-terminated; on FLOWCRED_BUFFER_TOO_SMALL *ifs_user_len is the size
 * needed, NUL included, otherwise its length. *has_password is set to 1
 * when a password is stored, else 0. */
FLOWCRED_EXPORT FLOWCRED_WARN_UNUSED flowcred_status
flowcred_lookup_credentials(flowcred_ctx *ctx, const char *connector,
			    const char *flow_user,
			    char *ifs_user, size_t ifs_user_size,
			    size_t *ifs_user_len, int *has_password,
			    char *detail, size_t detail_size);

/* Deletes the keyring items of a Flow user of a connector. Deleting what
 * does not exist returns FLOWCRED_NOT_FOUND. */
FLOWCRED_EXPORT FLOWCRED_WARN_UNUSED flowcred_status
flowcred_clear_credentials(flowcred_ctx *ctx, const char *connector,
			   const char *flow_user,
			   char *detail, size_t detail_size);

/* Receives one keyring item during flowcred_list_credentials(). The
 * strings are valid only during the call. Returning non-zero stops the
 * listing. */
typedef int (*flowcred_list_func)(const char *connector,
				  const char *flow_user,
				  const char *ifs_user, int has_password,
				  void *userdata);

/* Lists the keyring items of one connector, or of all connectors when
 * connector is NULL, sorted by connector and Flow user. Locked items are
 * not listed; a locked collection returns FLOWCRED_UNAVAILABLE. */
FLOWCRED_EXPORT FLOWCRED_WARN_UNUSED flowcred_status
flowcred_list_credentials(flowcred_ctx *ctx, const char *connector,
			  flowcred_list_func func, void *userdata,
			  char *detail, size_t detail_size);

/* Checks a connector without touching any IFS account: the configuration
 * group is valid, the keyring responds, and the token endpoint accepts the
 * client. It sends a password grant without user name, which Keycloak
 * rejects with invalid_request only after it has authenticated the client
 * and found Direct Access Grants enabled. */
FLOWCRED_EXPORT FLOWCRED_WARN_UNUSED flowcred_status
flowcred_check_connector(flowcred_ctx *ctx, const char *connector,
			 char *detail, size_t detail_size);

#ifdef __cplusplus
}
#endif

#endif /* FLOWCRED_H */

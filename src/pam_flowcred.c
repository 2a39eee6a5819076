/* pam_flowcred: log a Novacura Flow user in against IFS Cloud IAM.
 *
 * The auth facility obtains an OAuth 2.0 password-grant bearer token for
 * the Flow user PAM_USER through libflowcred and hands it to later
 * modules (pam_get_data() under FLOWCRED_PAM_DATA_TOKEN) and, on request,
 * to the application (the PAM environment). Interactive users type their
 * IFS password; machine workflows use the password stored in the keyring
 * and are never prompted. pam_flowcred(8) documents the arguments, the
 * return codes and the hand-off.
 */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_ext.h>
/* The entry points must stay visible under -fvisibility=hidden; the
 * version script then exports them and nothing else. */
#pragma GCC visibility push(default)
#include <security/pam_modules.h>
#pragma GCC visibility pop

#include "flowcred.h"
#include "wipe.h"

/* Module data names, part of the interface for later modules. The token
 * is a NUL-terminated string owned by the PAM handle. */
#define FLOWCRED_PAM_DATA_TOKEN "flowcred_token"
/* Name of the PAM environment variable this module exported, so that
 * close_session and setcred(PAM_DELETE_CRED) can remove it. */
#define FLOWCRED_PAM_DATA_EXPORT "flowcred_export"

#define PASSWORD_PROMPT "IFS password: "

/* Maximum length of an export= variable name. */
#define EXPORT_NAME_MAX 128

/* First token buffer size: the library's default max_response_size, so a
 * token from a connector with default settings always fits. A larger
 * token costs a second call with a buffer of the size the library
 * reported, which libflowcred serves from the token it cached. */
#define TOKEN_BUFFER_SIZE 65536

/* The largest token buffer the module allocates after the library
 * reported FLOWCRED_BUFFER_TOO_SMALL. */
#define TOKEN_BUFFER_MAX (16 * 1024 * 1024)

struct module_options {
	const char *connector;
	const char *config;
	const char *export_name;
	bool debug;
	bool use_first_pass;
	bool try_first_pass;
	bool keyring;
};

/* Argument rules of the facility being parsed. */
enum parse_mode {
	PARSE_AUTH,	/* connector= is required */
	PARSE_OTHER	/* connector= is optional */
};

/* Wipes and frees a string the module owns. */
static void clear_string(char *s)
{
	fc_clear_string(&s);
}

/* Checks for ASCII control characters only, whatever the locale, so
 * that UTF-8 names are accepted. */
static bool has_control_chars(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	}
	return false;
}

static bool is_ascii_letter(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_valid_variable_name(const char *name)
{
	size_t i;

	if (name[0] == '\0' || strlen(name) > EXPORT_NAME_MAX)
		return false;
	if (!is_ascii_letter(name[0]) && name[0] != '_')
		return false;
	for (i = 1; name[i] != '\0'; i++) {
		if (!is_ascii_letter(name[i]) && name[i] != '_' &&
		    !(name[i] >= '0' && name[i] <= '9'))
			return false;
	}
	return true;
}

/* Logs a bad argument by its name only, because the value of an unknown
 * argument could be a secret an admin put in the wrong place. */
static void log_bad_argument(pam_handle_t *pamh, const char *arg,
			     const char *problem)
{
	size_t name_len = strcspn(arg, "=");

	if (has_control_chars(arg)) {
		pam_syslog(pamh, LOG_ERR,
			   "invalid module argument: %s; fix the PAM service file",
			   problem);
		return;
	}
	pam_syslog(pamh, LOG_ERR,
		   "invalid module argument \"%.*s\": %s; fix the PAM service file",
		   (int)name_len, arg, problem);
}

/* Stores the value of a NAME=VALUE argument in *value. Returns false,
 * after logging, when the argument repeats or its value is empty. */
static bool take_value(pam_handle_t *pamh, const char *arg, size_t name_len,
		       const char **value)
{
	if (*value != NULL) {
		log_bad_argument(pamh, arg, "given more than once");
		return false;
	}
	if (arg[name_len] == '\0') {
		log_bad_argument(pamh, arg, "the value is empty");
		return false;
	}
	*value = arg + name_len;
	return true;
}

static bool parse_argument(pam_handle_t *pamh, const char *arg,
			   struct module_options *opts)
{
	if (strcmp(arg, "debug") == 0) {
		opts->debug = true;
	} else if (strcmp(arg, "use_first_pass") == 0) {
		opts->use_first_pass = true;
	} else if (strcmp(arg, "try_first_pass") == 0) {
		opts->try_first_pass = true;
	} else if (strcmp(arg, "keyring") == 0) {
		opts->keyring = true;
	} else if (strncmp(arg, "connector=", 10) == 0) {
		if (!take_value(pamh, arg, 10, &opts->connector))
			return false;
		if (has_control_chars(opts->connector)) {
			log_bad_argument(pamh, arg,
					 "the connector name contains control characters");
			return false;
		}
	} else if (strncmp(arg, "config=", 7) == 0) {
		if (!take_value(pamh, arg, 7, &opts->config))
			return false;
		if (opts->config[0] != '/') {
			log_bad_argument(pamh, arg, "the path must be absolute");
			return false;
		}
	} else if (strncmp(arg, "export=", 7) == 0) {
		if (!take_value(pamh, arg, 7, &opts->export_name))
			return false;
		if (!is_valid_variable_name(opts->export_name)) {
			log_bad_argument(pamh, arg,
					 "the variable name must match [A-Za-z_][A-Za-z0-9_]* and have at most 128 characters");
			return false;
		}
	} else {
		log_bad_argument(pamh, arg, "unknown argument");
		return false;
	}
	return true;
}

/* Parses the module arguments into opts. Returns PAM_SUCCESS or, after
 * logging every problem at LOG_ERR, PAM_SERVICE_ERR. */
static int parse_options(pam_handle_t *pamh, int argc, const char **argv,
			 enum parse_mode mode, struct module_options *opts)
{
	bool valid = true;
	int i;

	memset(opts, 0, sizeof(*opts));
	for (i = 0; i < argc; i++) {
		if (argv[i] == NULL || !parse_argument(pamh, argv[i], opts))
			valid = false;
	}

	if (opts->keyring && (opts->use_first_pass || opts->try_first_pass)) {
		pam_syslog(pamh, LOG_ERR,
			   "invalid module arguments: keyring never uses a typed password, so it cannot be combined with use_first_pass or try_first_pass");
		valid = false;
	}
	if (mode == PARSE_AUTH && opts->connector == NULL) {
		pam_syslog(pamh, LOG_ERR,
			   "missing module argument connector=NAME: name a connector of the flowcred configuration file");
		valid = false;
	}
	return valid ? PAM_SUCCESS : PAM_SERVICE_ERR;
}

/* Forwards libflowcred's log messages to pam_syslog(). The library never
 * puts a password, client secret or token into a message. */
static void forward_log(int priority, const char *message, void *userdata)
{
	pam_handle_t *pamh = userdata;

	pam_syslog(pamh, priority, "%s", message);
}

static void cleanup_token(pam_handle_t *pamh, void *data, int error_status)
{
	clear_string(data);
}

static void cleanup_export(pam_handle_t *pamh, void *data, int error_status)
{
	free(data);
}

static const char *service_name(pam_handle_t *pamh)
{
	const void *item = NULL;

	if (pam_get_item(pamh, PAM_SERVICE, &item) != PAM_SUCCESS ||
	    item == NULL)
		return "(unknown)";
	return item;
}

static bool has_token(pam_handle_t *pamh)
{
	const void *data = NULL;

	return pam_get_data(pamh, FLOWCRED_PAM_DATA_TOKEN, &data) ==
		       PAM_SUCCESS &&
	       data != NULL;
}

/* Removes the token this module handed over: the module data, which the
 * cleanup function wipes, and the exported environment variable. */
static void drop_token(pam_handle_t *pamh, const struct module_options *opts)
{
	const void *data = NULL;

	if (pam_get_data(pamh, FLOWCRED_PAM_DATA_EXPORT, &data) ==
		    PAM_SUCCESS &&
	    data != NULL) {
		/* PAM_BAD_ITEM only means that the variable is already gone. */
		(void)pam_putenv(pamh, data);
		if (opts->debug)
			pam_syslog(pamh, LOG_DEBUG,
				   "removed %s from the PAM environment",
				   (const char *)data);
		pam_set_data(pamh, FLOWCRED_PAM_DATA_EXPORT, NULL, NULL);
	}
	if (has_token(pamh)) {
		pam_set_data(pamh, FLOWCRED_PAM_DATA_TOKEN, NULL, NULL);
		if (opts->debug)
			pam_syslog(pamh, LOG_DEBUG, "removed the token data");
	}
}

static bool has_conversation(pam_handle_t *pamh)
{
	const void *item = NULL;
	const struct pam_conv *conv;

	if (pam_get_item(pamh, PAM_CONV, &item) != PAM_SUCCESS)
		return false;
	conv = item;
	return conv != NULL && conv->conv != NULL;
}

/* Gets the Flow user name into *user. */
static int get_flow_user(pam_handle_t *pamh, const char **user)
{
	const void *item = NULL;
	int rc;

	/* pam_get_user() prompts when PAM_USER is unset, and libpam returns
	 * PAM_SYSTEM_ERR for a missing conversation function. */
	if ((pam_get_item(pamh, PAM_USER, &item) != PAM_SUCCESS ||
	     item == NULL) &&
	    !has_conversation(pamh)) {
		pam_syslog(pamh, LOG_ERR,
			   "no user name and no conversation function to prompt for one");
		return PAM_CONV_ERR;
	}

	rc = pam_get_user(pamh, user, NULL);
	switch (rc) {
	case PAM_SUCCESS:
		break;
	case PAM_CONV_AGAIN:
		return PAM_INCOMPLETE;
	case PAM_BUF_ERR:
		pam_syslog(pamh, LOG_CRIT, "out of memory reading the user name");
		return PAM_BUF_ERR;
	default:
		pam_syslog(pamh, LOG_ERR, "failed to read the user name: %s",
			   pam_strerror(pamh, rc));
		return PAM_CONV_ERR;
	}

	if (*user == NULL || (*user)[0] == '\0') {
		pam_syslog(pamh, LOG_NOTICE, "empty user name");
		return PAM_USER_UNKNOWN;
	}
	if (has_control_chars(*user)) {
		pam_syslog(pamh, LOG_NOTICE,
			   "user name with control characters rejected");
		return PAM_USER_UNKNOWN;
	}
	return PAM_SUCCESS;
}

/* Gets the typed IFS password into *password, borrowed from PAM_AUTHTOK.
 * The rules follow pam_unix: use_first_pass takes the password of an
 * earlier module or fails, try_first_pass takes it when there is one and
 * prompts otherwise, and without either the user is always prompted. The
 * typed password becomes PAM_AUTHTOK for later modules. */
static int get_typed_password(pam_handle_t *pamh,
			      const struct module_options *opts,
			      const char **password)
{
	const void *item = NULL;
	int rc;

	if (pam_get_item(pamh, PAM_AUTHTOK, &item) != PAM_SUCCESS)
		item = NULL;

	if (opts->use_first_pass) {
		if (item == NULL) {
			pam_syslog(pamh, LOG_NOTICE,
				   "use_first_pass: no password from an earlier module");
			return PAM_AUTH_ERR;
		}
	} else if (!opts->try_first_pass && item != NULL) {
		/* pam_get_authtok() returns a set item without prompting. */
		rc = pam_set_item(pamh, PAM_AUTHTOK, NULL);
		if (rc != PAM_SUCCESS) {
			pam_syslog(pamh, LOG_ERR, "failed to reset PAM_AUTHTOK: %s",
				   pam_strerror(pamh, rc));
			return PAM_SERVICE_ERR;
		}
		item = NULL;
	}

	if (item == NULL && !has_conversation(pamh)) {
		pam_syslog(pamh, LOG_ERR,
			   "no conversation function to prompt for the password");
		return PAM_CONV_ERR;
	}

	rc = pam_get_authtok(pamh, PAM_AUTHTOK, password, PASSWORD_PROMPT);
	switch (rc) {
	case PAM_SUCCESS:
		break;
	case PAM_CONV_AGAIN:
		return PAM_INCOMPLETE;
	case PAM_BUF_ERR:
		pam_syslog(pamh, LOG_CRIT, "out of memory reading the password");
		return PAM_BUF_ERR;
	case PAM_AUTH_ERR:
		return PAM_AUTH_ERR;
	default:
		/* Linux-PAM reports a failed or empty conversation as
		 * PAM_AUTHTOK_ERR or as the conversation's own error. */
		pam_syslog(pamh, LOG_ERR, "failed to read the password: %s",
			   pam_strerror(pamh, rc));
		return PAM_CONV_ERR;
	}

	if (*password == NULL || (*password)[0] == '\0') {
		pam_syslog(pamh, LOG_NOTICE, "empty password rejected");
		return PAM_AUTH_ERR;
	}
	return PAM_SUCCESS;
}

/* Maps a libflowcred status of the auth facility to a PAM return code.
 * classify_not_found() refines FLOWCRED_NOT_FOUND, which covers more
 * than an unknown Flow user. */
static int map_status(flowcred_status status)
{
	switch (status) {
	case FLOWCRED_OK:
		return PAM_SUCCESS;
	case FLOWCRED_NOT_FOUND:
		return PAM_USER_UNKNOWN;
	case FLOWCRED_DENIED:
	case FLOWCRED_ACCOUNT:
		return PAM_AUTH_ERR;
	case FLOWCRED_UNAVAILABLE:
	case FLOWCRED_TRY_AGAIN:
		return PAM_AUTHINFO_UNAVAIL;
	case FLOWCRED_NO_MEMORY:
		return PAM_BUF_ERR;
	case FLOWCRED_CLIENT_REJECTED:
	case FLOWCRED_CONFIG:
	case FLOWCRED_BUFFER_TOO_SMALL:
	case FLOWCRED_PROTOCOL:
	case FLOWCRED_INVALID_ARGUMENT:
	case FLOWCRED_INTERNAL:
		break;
	}
	return PAM_SERVICE_ERR;
}

/* The syslog level of a failed authentication: problems an admin has to
 * fix get LOG_ERR, everything a user or the network can cause gets
 * LOG_NOTICE. */
static int failure_priority(flowcred_status status)
{
	switch (status) {
	case FLOWCRED_CLIENT_REJECTED:
	case FLOWCRED_CONFIG:
	case FLOWCRED_PROTOCOL:
	case FLOWCRED_INVALID_ARGUMENT:
	case FLOWCRED_INTERNAL:
	case FLOWCRED_BUFFER_TOO_SMALL:
		return LOG_ERR;
	case FLOWCRED_NO_MEMORY:
		return LOG_CRIT;
	default:
		return LOG_NOTICE;
	}
}

static void log_failure(pam_handle_t *pamh, const struct module_options *opts,
			const char *user, flowcred_status status,
			const char *detail)
{
	pam_syslog(pamh, failure_priority(status),
		   "authentication failed for Flow user \"%s\" (connector \"%s\", service \"%s\"): %s: %s",
		   user, opts->connector, service_name(pamh),
		   flowcred_strerror(status),
		   detail[0] != '\0' ? detail : "no detail");
}

/* Finds out why flowcred_get_token() returned FLOWCRED_NOT_FOUND, which
 * covers an unknown connector, a Flow user without keyring item and,
 * for machine workflows, an item without stored password. Returns the
 * PAM code and logs the failure.
 *
 * NOTE: the public API has no call that distinguishes an unknown
 * connector from an unknown Flow user without contacting the token
 * endpoint, so a connector= naming no configuration group gives
 * PAM_USER_UNKNOWN. The log line carries the library's detail, which
 * names the missing group. */
static int classify_not_found(pam_handle_t *pamh, flowcred_ctx *ctx,
			      const struct module_options *opts,
			      const char *user, const char *detail)
{
	/* Holds any IFS user ID the library stores (at most 256 bytes). */
	char ifs_user[512];
	char lookup_detail[FLOWCRED_DETAIL_MAX] = "";
	size_t ifs_user_len = 0;
	int has_password = 0;
	flowcred_status status;

	status = flowcred_lookup_credentials(ctx, opts->connector, user,
					     ifs_user, sizeof(ifs_user),
					     &ifs_user_len, &has_password,
					     lookup_detail,
					     sizeof(lookup_detail));
	if (status == FLOWCRED_OK && opts->keyring && !has_password) {
		pam_syslog(pamh, LOG_NOTICE,
			   "authentication failed for Flow user \"%s\" (connector \"%s\", service \"%s\"): the keyring item has no stored password, so the user cannot log in as a machine workflow; store one with flowcred store",
			   user, opts->connector, service_name(pamh));
		return PAM_AUTHINFO_UNAVAIL;
	}
	if (status != FLOWCRED_OK && status != FLOWCRED_NOT_FOUND &&
	    status != FLOWCRED_BUFFER_TOO_SMALL) {
		log_failure(pamh, opts, user, status, lookup_detail);
		return map_status(status);
	}
	log_failure(pamh, opts, user, FLOWCRED_NOT_FOUND, detail);
	return PAM_USER_UNKNOWN;
}

/* Runs the password grant into a buffer the caller wipes and frees with
 * clear_string(). */
static flowcred_status request_token(flowcred_ctx *ctx,
				     const struct module_options *opts,
				     const char *user, const char *password,
				     char **token_out, int64_t *expires_at,
				     char *detail, size_t detail_size)
{
	size_t size = TOKEN_BUFFER_SIZE;
	size_t token_len = 0;
	flowcred_status status;
	char *token;
	int attempt;

	*token_out = NULL;
	for (attempt = 0; attempt < 2; attempt++) {
		token = malloc(size);
		if (token == NULL)
			return FLOWCRED_NO_MEMORY;
		status = flowcred_get_token(ctx, opts->connector, user,
					    password, token, size, &token_len,
					    NULL, expires_at, detail,
					    detail_size);
		if (status == FLOWCRED_OK) {
			/* The handle keeps the token for the whole
			 * transaction, so keep no more than it needs. */
			*token_out = malloc(token_len + 1);
			if (*token_out != NULL)
				memcpy(*token_out, token, token_len + 1);
			fc_wipe(token, token_len + 1);
			free(token);
			return *token_out != NULL ? FLOWCRED_OK
						  : FLOWCRED_NO_MEMORY;
		}
		fc_wipe(token, size);
		free(token);
		if (status != FLOWCRED_BUFFER_TOO_SMALL ||
		    token_len <= size || token_len > TOKEN_BUFFER_MAX)
			return status;
		size = token_len;
	}
	return FLOWCRED_BUFFER_TOO_SMALL;
}

/* Hands the token over: module data for later modules and, with export=,
 * the PAM environment. Takes ownership of token. */
static int hand_over_token(pam_handle_t *pamh,
			   const struct module_options *opts, char *token)
{
	char *variable = NULL;
	char *name_value = NULL;
	size_t name_len, token_len;
	int rc;

	rc = pam_set_data(pamh, FLOWCRED_PAM_DATA_TOKEN, token, cleanup_token);
	if (rc != PAM_SUCCESS) {
		clear_string(token);
		pam_syslog(pamh, LOG_ERR, "failed to store the token data: %s",
			   pam_strerror(pamh, rc));
		return rc == PAM_BUF_ERR ? PAM_BUF_ERR : PAM_SERVICE_ERR;
	}
	if (opts->export_name == NULL)
		return PAM_SUCCESS;

	name_len = strlen(opts->export_name);
	token_len = strlen(token);
	variable = strdup(opts->export_name);
	name_value = malloc(name_len + 1 + token_len + 1);
	if (variable == NULL || name_value == NULL) {
		rc = PAM_BUF_ERR;
		pam_syslog(pamh, LOG_CRIT, "out of memory exporting the token");
		goto out;
	}
	memcpy(name_value, opts->export_name, name_len);
	name_value[name_len] = '=';
	memcpy(name_value + name_len + 1, token, token_len + 1);

	rc = pam_putenv(pamh, name_value);
	if (rc != PAM_SUCCESS) {
		pam_syslog(pamh, rc == PAM_BUF_ERR ? LOG_CRIT : LOG_ERR,
			   "failed to put %s into the PAM environment: %s",
			   opts->export_name, pam_strerror(pamh, rc));
		goto out;
	}
	rc = pam_set_data(pamh, FLOWCRED_PAM_DATA_EXPORT, variable,
			  cleanup_export);
	if (rc != PAM_SUCCESS) {
		(void)pam_putenv(pamh, opts->export_name);
		pam_syslog(pamh, LOG_ERR, "failed to store the export data: %s",
			   pam_strerror(pamh, rc));
		goto out;
	}
	variable = NULL;
	if (opts->debug)
		pam_syslog(pamh, LOG_DEBUG, "exported the token as %s",
			   opts->export_name);
out:
	if (name_value != NULL) {
		fc_wipe(name_value, name_len + 1 + token_len);
		free(name_value);
	}
	free(variable);
	if (rc != PAM_SUCCESS) {
		/* Never leave half a hand-over behind a failure. */
		pam_set_data(pamh, FLOWCRED_PAM_DATA_TOKEN, NULL, NULL);
		if (rc != PAM_BUF_ERR)
			rc = PAM_SERVICE_ERR;
	}
	return rc;
}

static int open_context(pam_handle_t *pamh, const struct module_options *opts,
			flowcred_ctx **ctx)
{
	char detail[FLOWCRED_DETAIL_MAX] = "";
	flowcred_status status;

	status = flowcred_open(opts->config, ctx, detail, sizeof(detail));
	if (status != FLOWCRED_OK) {
		pam_syslog(pamh,
			   status == FLOWCRED_NO_MEMORY ? LOG_CRIT : LOG_ERR,
			   "failed to open the flowcred configuration %s: %s: %s",
			   opts->config != NULL ? opts->config : "(default)",
			   flowcred_strerror(status),
			   detail[0] != '\0' ? detail : "no detail");
		return status == FLOWCRED_NO_MEMORY ? PAM_BUF_ERR
						    : PAM_SERVICE_ERR;
	}
	flowcred_set_log_func(*ctx, forward_log, pamh,
			      opts->debug ? LOG_DEBUG : LOG_INFO);

	/* The context closes before pam_sm_authenticate() returns, while
	 * the token it handed over is still in use, so closing must not end
	 * the token's IAM session. */
	status = flowcred_set_option(*ctx, FLOWCRED_OPT_LOGOUT_ON_CLOSE, 0);
	if (status != FLOWCRED_OK) {
		pam_syslog(pamh, LOG_ERR,
			   "failed to turn off logout on close: %s",
			   flowcred_strerror(status));
		flowcred_close(*ctx);
		*ctx = NULL;
		return PAM_SERVICE_ERR;
	}
	return PAM_SUCCESS;
}

/* The context is opened per authentication and closed before returning:
 * configuration changes apply to the next login, and no D-Bus connection
 * or HTTP state is carried across the fork() many PAM applications make
 * between authentication and session. The cost is one read of a small
 * file next to an HTTPS round trip. */
int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
			const char **argv)
{
	struct module_options opts;
	char detail[FLOWCRED_DETAIL_MAX] = "";
	flowcred_ctx *ctx = NULL;
	flowcred_status status;
	const char *user = NULL;
	const char *password = NULL;
	char *token = NULL;
	int64_t expires_at = 0;
	int rc;

	rc = parse_options(pamh, argc, argv, PARSE_AUTH, &opts);
	if (rc != PAM_SUCCESS)
		return rc;

	/* A token from an earlier authentication in this handle must not
	 * outlive a failure of this one. */
	drop_token(pamh, &opts);

	rc = get_flow_user(pamh, &user);
	if (rc != PAM_SUCCESS)
		return rc;

	if (!opts.keyring) {
		rc = get_typed_password(pamh, &opts, &password);
		if (rc != PAM_SUCCESS) {
			if (rc == PAM_AUTH_ERR || rc == PAM_CONV_ERR)
				pam_syslog(pamh, LOG_NOTICE,
					   "authentication failed for Flow user \"%s\" (connector \"%s\", service \"%s\"): no password",
					   user, opts.connector,
					   service_name(pamh));
			return rc;
		}
	}

	rc = open_context(pamh, &opts, &ctx);
	if (rc != PAM_SUCCESS)
		return rc;

	if (opts.debug)
		pam_syslog(pamh, LOG_DEBUG,
			   "requesting a token for Flow user \"%s\" (connector \"%s\") with the %s password",
			   user, opts.connector,
			   opts.keyring ? "stored" : "typed");

	status = request_token(ctx, &opts, user, password, &token,
			       &expires_at, detail, sizeof(detail));
	if (status == FLOWCRED_NOT_FOUND) {
		rc = classify_not_found(pamh, ctx, &opts, user, detail);
		goto out;
	}
	if (status != FLOWCRED_OK) {
		log_failure(pamh, &opts, user, status, detail);
		rc = map_status(status);
		goto out;
	}

	rc = hand_over_token(pamh, &opts, token);
	token = NULL;
	if (rc == PAM_SUCCESS && opts.debug)
		pam_syslog(pamh, LOG_DEBUG,
			   "Flow user \"%s\" authenticated (connector \"%s\"), token valid for %lld s",
			   user, opts.connector,
			   (long long)(expires_at - (int64_t)time(NULL)));
out:
	clear_string(token);
	flowcred_close(ctx);
	return rc;
}

/* The token was handed over by pam_sm_authenticate(), so establishing,
 * refreshing or reinitialising credentials has nothing left to do and
 * succeeds. PAM_DELETE_CRED removes the token. */
int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc,
		   const char **argv)
{
	struct module_options opts;
	int rc;

	rc = parse_options(pamh, argc, argv, PARSE_OTHER, &opts);
	if (rc != PAM_SUCCESS)
		return rc;

	if (flags & PAM_DELETE_CRED)
		drop_token(pamh, &opts);
	return PAM_SUCCESS;
}

/* IFS Cloud IAM checks the account (disabled, not fully set up) during
 * the password grant, so a token in this handle means that the account was
 * valid a moment ago. Without one the module does not take part. */
int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc,
		     const char **argv)
{
	struct module_options opts;
	int rc;

	rc = parse_options(pamh, argc, argv, PARSE_OTHER, &opts);
	if (rc != PAM_SUCCESS)
		return rc;

	if (has_token(pamh))
		return PAM_SUCCESS;
	if (opts.debug)
		pam_syslog(pamh, LOG_DEBUG,
			   "no token from pam_flowcred in this handle, ignoring");
	return PAM_IGNORE;
}

int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc,
			const char **argv)
{
	struct module_options opts;
	int rc;

	rc = parse_options(pamh, argc, argv, PARSE_OTHER, &opts);
	if (rc != PAM_SUCCESS)
		return rc;

	return has_token(pamh) ? PAM_SUCCESS : PAM_IGNORE;
}

/* Removes the token from the handle and the exported variable from the
 * PAM environment, so nothing of it outlives the session. */
int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc,
			 const char **argv)
{
	struct module_options opts;
	int rc;

	rc = parse_options(pamh, argc, argv, PARSE_OTHER, &opts);
	if (rc != PAM_SUCCESS)
		return rc;

	drop_token(pamh, &opts);
	return PAM_SUCCESS;
}

/* IFS passwords are changed in IFS Cloud, never through PAM. */
int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc,
		     const char **argv)
{
	struct module_options opts;
	int rc;

	rc = parse_options(pamh, argc, argv, PARSE_OTHER, &opts);
	if (rc != PAM_SUCCESS)
		return rc;

	if (opts.debug && (flags & PAM_UPDATE_AUTHTOK))
		pam_syslog(pamh, LOG_DEBUG,
			   "password changes happen in IFS Cloud, ignoring");
	return PAM_IGNORE;
}

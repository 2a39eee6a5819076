/* A PAM module for the tests only, stacked after or before pam_flowcred.
 *
 * It reports what a later module sees of the token that pam_flowcred
 * stored under the module data name "flowcred_token", as a non-secret
 * marker in the PAM environment: FLOWCRED_PROBE_<FACILITY>=len=N,first=C
 * or FLOWCRED_PROBE_<FACILITY>=absent. The length and the first
 * character identify the token without copying it.
 *
 * With the argument "prompt" its auth function first asks for a password
 * with pam_get_authtok(), as pam_unix would, so that pam_flowcred's
 * use_first_pass and try_first_pass can be tested.
 */
#include <stdio.h>
#include <string.h>

#include <security/pam_ext.h>
/* The entry points must stay visible under -fvisibility=hidden. */
#pragma GCC visibility push(default)
#include <security/pam_modules.h>
#pragma GCC visibility pop

static int report(pam_handle_t *pamh, const char *facility)
{
	char marker[128];
	const void *data = NULL;
	const char *token;

	if (pam_get_data(pamh, "flowcred_token", &data) != PAM_SUCCESS ||
	    data == NULL) {
		snprintf(marker, sizeof(marker), "FLOWCRED_PROBE_%s=absent",
			 facility);
	} else {
		token = data;
		snprintf(marker, sizeof(marker),
			 "FLOWCRED_PROBE_%s=len=%zu,first=%c", facility,
			 strlen(token), token[0] != '\0' ? token[0] : '-');
	}
	return pam_putenv(pamh, marker) == PAM_SUCCESS ? PAM_SUCCESS
						       : PAM_SERVICE_ERR;
}

int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
				     const char **argv)
{
	const char *password = NULL;
	int rc;

	if (argc > 0 && strcmp(argv[0], "prompt") == 0) {
		rc = pam_get_authtok(pamh, PAM_AUTHTOK, &password,
				     "Probe password: ");
		return rc == PAM_SUCCESS ? PAM_SUCCESS : PAM_AUTH_ERR;
	}
	return report(pamh, "AUTH");
}

int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc,
				const char **argv)
{
	return report(pamh, "SETCRED");
}

int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc,
				  const char **argv)
{
	return report(pamh, "ACCOUNT");
}

int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc,
				     const char **argv)
{
	return report(pamh, "OPEN");
}

int pam_sm_close_session(pam_handle_t *pamh, int flags,
				      int argc, const char **argv)
{
	return report(pamh, "CLOSE");
}

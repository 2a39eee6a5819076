#include "config.h"

#include "flowcred.h"

FLOWCRED_EXPORT const char *flowcred_strerror(flowcred_status status)
{
	switch (status) {
	case FLOWCRED_OK:
		return "success";
	case FLOWCRED_NOT_FOUND:
		return "connector, user or keyring item not found";
	case FLOWCRED_DENIED:
		return "IFS rejected the user name or password";
	case FLOWCRED_ACCOUNT:
		return "IFS account disabled or not fully set up";
	case FLOWCRED_CLIENT_REJECTED:
		return "IFS IAM rejected the client configuration";
	case FLOWCRED_CONFIG:
		return "invalid configuration";
	case FLOWCRED_UNAVAILABLE:
		return "token endpoint or keyring unavailable";
	case FLOWCRED_TRY_AGAIN:
		return "rate limited, try again later";
	case FLOWCRED_BUFFER_TOO_SMALL:
		return "buffer too small";
	case FLOWCRED_PROTOCOL:
		return "invalid answer from the token endpoint";
	case FLOWCRED_INVALID_ARGUMENT:
		return "invalid argument";
	case FLOWCRED_NO_MEMORY:
		return "out of memory";
	case FLOWCRED_INTERNAL:
		return "internal error";
	}
	return "unknown status";
}

FLOWCRED_EXPORT unsigned int flowcred_abi_version(void)
{
	return FLOWCRED_ABI_VERSION;
}

FLOWCRED_EXPORT const char *flowcred_version(void)
{
	return PACKAGE_VERSION;
}

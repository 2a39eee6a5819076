/* Encoders for the token request: the application/x-www-form-urlencoded
 * body and the HTTP Basic client credentials of RFC 6749 section 2.3.1. */
#ifndef FC_FORM_H
#define FC_FORM_H

#include "wipe.h"

/* Appends "name=value" to form, with '&' before it when form is not
 * empty. Both are percent-encoded by libcurl. Returns 0, or -1 when out
 * of memory. */
int fc_form_add(struct fc_buf *form, const char *name, const char *value);

/* Returns the header line "Authorization: Basic B64" where B64 is the
 * Base64 of the form-urlencoded client_id, ':' and the form-urlencoded
 * client_secret, as RFC 6749 section 2.3.1 requires. The caller wipes it
 * with fc_clear_string(). Returns NULL when out of memory. */
char *fc_basic_authorization(const char *client_id,
			     const char *client_secret);

#endif

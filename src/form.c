#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <glib.h>

#include "form.h"

/* Percent-encodes s into out. libcurl leaves only RFC 3986 unreserved
 * characters as they are, which every form decoder accepts. */
static int append_escaped(struct fc_buf *out, const char *s)
{
	char *escaped = curl_easy_escape(NULL, s, (int)strlen(s));
	int rc;

	if (escaped == NULL)
		return -1;
	rc = fc_buf_append(out, escaped, strlen(escaped));
	fc_wipe(escaped, strlen(escaped));
	curl_free(escaped);
	return rc;
}

int fc_form_add(struct fc_buf *form, const char *name, const char *value)
{
	if (form->len > 0 && fc_buf_append(form, "&", 1) != 0)
		return -1;
	if (append_escaped(form, name) != 0 ||
	    fc_buf_append(form, "=", 1) != 0 ||
	    append_escaped(form, value) != 0)
		return -1;
	return 0;
}

char *fc_basic_authorization(const char *client_id,
			     const char *client_secret)
{
	static const char prefix[] = "Authorization: Basic ";
	struct fc_buf credentials = { 0 };
	struct fc_buf header = { 0 };
	gchar *encoded = NULL;
	char *result = NULL;

	if (append_escaped(&credentials, client_id) != 0 ||
	    fc_buf_append(&credentials, ":", 1) != 0 ||
	    append_escaped(&credentials, client_secret) != 0)
		goto out;
	encoded = g_base64_encode((const guchar *)credentials.data,
				  credentials.len);
	if (fc_buf_append(&header, prefix, sizeof(prefix) - 1) != 0 ||
	    fc_buf_append(&header, encoded, strlen(encoded)) != 0)
		goto out;
	result = header.data;
	header.data = NULL;
out:
	if (encoded != NULL) {
		fc_wipe(encoded, strlen(encoded));
		g_free(encoded);
	}
	fc_buf_clear(&credentials);
	fc_buf_clear(&header);
	return result;
}

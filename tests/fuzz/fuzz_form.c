/* libFuzzer target for the request encoders: fc_form_add() and
 * fc_basic_authorization(). Each encoding is decoded again with GLib's
 * independent decoders (g_uri_unescape_string(), g_base64_decode()) and
 * must give back the input byte for byte.
 *
 * Input format: up to four NUL-separated strings, in order a form field
 * name, its value, a client ID and a client secret. Missing ones are
 * empty.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "form.h"

#define N_FIELDS 4

static const char basic_prefix[] = "Authorization: Basic ";

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') ||
	       (c >= 'a' && c <= 'f');
}

/* Requires s[0..len) to be percent-encoding over RFC 3986 unreserved
 * characters only, which every form decoder reads the same way. */
static void check_escaped(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '%') {
			if (i + 2 >= len)
				abort();
			if (!is_hex(s[i + 1]) || !is_hex(s[i + 2]))
				abort();
			i += 2;
			continue;
		}
		if (!g_ascii_isalnum(c) && strchr("-._~", c) == NULL)
			abort();
	}
}

/* Decodes one percent-encoded component and requires it to equal
 * expected. */
static void require_decodes_to(const char *escaped, size_t len,
			       const char *expected)
{
	char *copy = g_strndup(escaped, len);
	char *decoded;

	check_escaped(copy, len);
	decoded = g_uri_unescape_string(copy, NULL);
	if (decoded == NULL || strcmp(decoded, expected) != 0)
		abort();
	g_free(decoded);
	g_free(copy);
}

/* Requires pair[0..len) to be "NAME=VALUE" encoding name and value. */
static void require_pair(const char *pair, size_t len, const char *name,
			 const char *value)
{
	const char *equals = memchr(pair, '=', len);

	if (equals == NULL)
		abort();
	require_decodes_to(pair, (size_t)(equals - pair), name);
	require_decodes_to(equals + 1, len - (size_t)(equals - pair) - 1,
			   value);
}

static void check_form(const char *const field[N_FIELDS])
{
	struct fc_buf form = { 0 };
	const char *amp;

	if (fc_form_add(&form, field[0], field[1]) != 0 ||
	    fc_form_add(&form, field[2], field[3]) != 0)
		abort();
	if (form.data == NULL || form.len != strlen(form.data) ||
	    form.len >= form.cap)
		abort();
	/* Every '&' and '=' in the body is a separator: the encoded
	 * components contain neither. */
	amp = memchr(form.data, '&', form.len);
	if (amp == NULL || memchr(amp + 1, '&', form.len -
				  (size_t)(amp - form.data) - 1) != NULL)
		abort();
	require_pair(form.data, (size_t)(amp - form.data), field[0], field[1]);
	require_pair(amp + 1, form.len - (size_t)(amp - form.data) - 1,
		     field[2], field[3]);
	fc_buf_clear(&form);
	if (form.data != NULL || form.len != 0 || form.cap != 0)
		abort();
}

static void check_basic(const char *client_id, const char *client_secret)
{
	char *header = fc_basic_authorization(client_id, client_secret);
	const char *encoded;
	guchar *decoded;
	gsize decoded_len = 0;
	char *text;
	char *colon;

	if (header == NULL)
		abort();
	if (strncmp(header, basic_prefix, sizeof(basic_prefix) - 1) != 0)
		abort();
	encoded = header + sizeof(basic_prefix) - 1;
	if (strspn(encoded, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789+/=") != strlen(encoded))
		abort();
	decoded = g_base64_decode(encoded, &decoded_len);
	text = g_strndup((const char *)decoded, decoded_len);
	if (strlen(text) != decoded_len)
		abort();
	colon = strchr(text, ':');
	if (colon == NULL || strchr(colon + 1, ':') != NULL)
		abort();
	require_decodes_to(text, (size_t)(colon - text), client_id);
	require_decodes_to(colon + 1, strlen(colon + 1), client_secret);
	g_free(text);
	g_free(decoded);
	fc_clear_string(&header);
	if (header != NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *field[N_FIELDS] = { "", "", "", "" };
	char *copy = malloc(size + 1);
	size_t start = 0;
	size_t n = 0;
	size_t i;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (i = 0; i <= size && n < N_FIELDS; i++) {
		if (copy[i] == '\0') {
			field[n++] = copy + start;
			start = i + 1;
		}
	}
	check_form(field);
	check_basic(field[2], field[3]);
	free(copy);
	return 0;
}

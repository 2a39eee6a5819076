/* Unit tests of the wipe primitives in src/wipe.c, linked against the
 * library's internal objects.
 *
 * Whether a block is wiped before it is freed cannot be read back after
 * free() portably, so this program is linked with -Wl,--wrap=free: every
 * free() call from the library's objects and from this file goes through
 * __wrap_free(), which checks a block the test watches for non-zero
 * bytes just before releasing it.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "grant.h"
#include "wipe.h"

#define PATTERN 0xa5

void __real_free(void *p);
void __wrap_free(void *p);

/* The block the next free() of which is checked, and what was seen. */
static void *watched_block;
static size_t watched_size;
static int watched_freed;	/* the watched block was freed */
static int watched_was_zero;	/* ... and held only zero bytes then */

static int all_zero(const void *p, size_t n)
{
	const volatile unsigned char *bytes = p;
	size_t i;

	for (i = 0; i < n; i++) {
		if (bytes[i] != 0)
			return 0;
	}
	return 1;
}

void __wrap_free(void *p)
{
	if (p != NULL && p == watched_block) {
		watched_was_zero = all_zero(p, watched_size);
		watched_freed = 1;
		watched_block = NULL;
	}
	__real_free(p);
}

static void watch(void *block, size_t size)
{
	watched_block = block;
	watched_size = size;
	watched_freed = 0;
	watched_was_zero = 0;
}

static void assert_watched_freed_zero(void)
{
	ck_assert_msg(watched_freed, "the watched block was not freed");
	ck_assert_msg(watched_was_zero,
		      "the watched block held non-zero bytes when freed");
}

/* --- fc_wipe ------------------------------------------------------------------ */

START_TEST(test_wipe_zeroes_memory)
{
	unsigned char *block = malloc(4096);
	volatile unsigned char *view = block;
	size_t i;

	ck_assert_ptr_nonnull(block);
	memset(block, PATTERN, 4096);
	fc_wipe(block, 4096);
	for (i = 0; i < 4096; i++)
		ck_assert_uint_eq(view[i], 0);
	free(block);
}
END_TEST

START_TEST(test_wipe_stays_in_range)
{
	unsigned char block[64];
	volatile unsigned char *view = block;
	size_t i;

	memset(block, PATTERN, sizeof(block));
	fc_wipe(block + 16, 32);
	for (i = 0; i < 16; i++)
		ck_assert_uint_eq(view[i], PATTERN);
	for (i = 16; i < 48; i++)
		ck_assert_uint_eq(view[i], 0);
	for (i = 48; i < sizeof(block); i++)
		ck_assert_uint_eq(view[i], PATTERN);
}
END_TEST

START_TEST(test_wipe_null_accepted)
{
	fc_wipe(NULL, 0);
	fc_wipe(NULL, 16);
}
END_TEST

/* --- fc_clear_string, fc_clear_buffer, fc_strdup_secret ---------------------- */

START_TEST(test_clear_string_wipes_frees_nulls)
{
	char *secret = fc_strdup_secret("Passw0rd!-clear-string");

	ck_assert_ptr_nonnull(secret);
	watch(secret, strlen(secret));
	fc_clear_string(&secret);
	ck_assert_ptr_null(secret);
	assert_watched_freed_zero();
}
END_TEST

START_TEST(test_clear_string_null_accepted)
{
	char *none = NULL;

	fc_clear_string(NULL);
	fc_clear_string(&none);
	ck_assert_ptr_null(none);
}
END_TEST

START_TEST(test_clear_buffer_wipes_frees_nulls)
{
	void *buffer = malloc(100);

	ck_assert_ptr_nonnull(buffer);
	memset(buffer, PATTERN, 100);
	watch(buffer, 100);
	fc_clear_buffer(&buffer, 100);
	ck_assert_ptr_null(buffer);
	assert_watched_freed_zero();
	fc_clear_buffer(NULL, 10);
	fc_clear_buffer(&buffer, 10);
	ck_assert_ptr_null(buffer);
}
END_TEST

START_TEST(test_strdup_secret_copies)
{
	const char *original = "s+e&c=r%e\"t!: \xe2\x9c\x93 \xc3\xbc";
	char *copy = fc_strdup_secret(original);

	ck_assert_ptr_nonnull(copy);
	ck_assert_ptr_ne(copy, original);
	ck_assert_str_eq(copy, original);
	fc_clear_string(&copy);
}
END_TEST

/* --- struct fc_buf ---------------------------------------------------------- */

static void assert_buf_invariants(const struct fc_buf *b, const char *expected,
				  size_t expected_len)
{
	ck_assert_ptr_nonnull(b->data);
	ck_assert_uint_eq(b->len, expected_len);
	ck_assert_uint_gt(b->cap, b->len);
	ck_assert_int_eq(b->data[b->len], '\0');
	ck_assert_int_eq(memcmp(b->data, expected, expected_len), 0);
	if (b->max != 0)
		ck_assert_uint_le(b->len, b->max);
}

START_TEST(test_buf_append_keeps_contents)
{
	static char expected[20000];
	struct fc_buf b = { 0 };
	size_t len = 0;
	size_t chunk = 1;
	size_t i;

	for (i = 0; i < sizeof(expected); i++)
		expected[i] = (char)('a' + i % 26);
	while (len < sizeof(expected)) {
		if (chunk > sizeof(expected) - len)
			chunk = sizeof(expected) - len;
		ck_assert_int_eq(fc_buf_append(&b, expected + len, chunk), 0);
		len += chunk;
		assert_buf_invariants(&b, expected, len);
		chunk = chunk * 3 % 997 + 1;
	}
	fc_buf_clear(&b);
}
END_TEST

START_TEST(test_buf_append_zero_bytes)
{
	struct fc_buf b = { 0 };

	ck_assert_int_eq(fc_buf_append(&b, "", 0), 0);
	assert_buf_invariants(&b, "", 0);
	ck_assert_int_eq(fc_buf_append(&b, NULL, 0), 0);
	assert_buf_invariants(&b, "", 0);
	fc_buf_clear(&b);
}
END_TEST

/* Growing moves the contents to a new block: the old one must be wiped
 * before it is freed, over its whole capacity. */
START_TEST(test_buf_growth_wipes_old_block)
{
	struct fc_buf b = { 0 };
	char chunk[100];
	void *old;
	size_t old_cap;
	int grown = 0;

	memset(chunk, 'S', sizeof(chunk));
	ck_assert_int_eq(fc_buf_append(&b, chunk, sizeof(chunk)), 0);
	while (grown < 4) {
		old = b.data;
		old_cap = b.cap;
		if (b.len + sizeof(chunk) + 1 > b.cap) {
			watch(old, old_cap);
			ck_assert_int_eq(fc_buf_append(&b, chunk, sizeof(chunk)), 0);
			ck_assert_ptr_ne(b.data, old);
			ck_assert_uint_gt(b.cap, old_cap);
			assert_watched_freed_zero();
			grown++;
		} else {
			ck_assert_int_eq(fc_buf_append(&b, chunk, sizeof(chunk)), 0);
			ck_assert_ptr_eq(b.data, old);
		}
	}
	watch(b.data, b.cap);
	fc_buf_clear(&b);
	assert_watched_freed_zero();
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
}
END_TEST

START_TEST(test_buf_max_enforced)
{
	struct fc_buf b = { 0 };

	b.max = 10;
	ck_assert_int_eq(fc_buf_append(&b, "0123456789", 10), 0);
	assert_buf_invariants(&b, "0123456789", 10);
	ck_assert_int_eq(fc_buf_append(&b, "x", 1), -2);
	assert_buf_invariants(&b, "0123456789", 10);
	fc_buf_clear(&b);
	b.max = 10;
	ck_assert_int_eq(fc_buf_append(&b, "0123456789A", 11), -2);
	ck_assert_uint_eq(b.len, 0);
	fc_buf_clear(&b);
}
END_TEST

START_TEST(test_buf_huge_append_rejected)
{
	struct fc_buf b = { 0 };

	ck_assert_int_eq(fc_buf_append(&b, "abc", 3), 0);
	ck_assert_int_eq(fc_buf_append(&b, "x", SIZE_MAX), -1);
	ck_assert_int_eq(fc_buf_append(&b, "x", SIZE_MAX - 3), -1);
	assert_buf_invariants(&b, "abc", 3);
	fc_buf_clear(&b);
}
END_TEST

START_TEST(test_buf_clear_empty_accepted)
{
	struct fc_buf b = { 0 };

	fc_buf_clear(&b);
	ck_assert_ptr_null(b.data);
	fc_buf_clear(&b);
	ck_assert_uint_eq(b.cap, 0);
}
END_TEST

/* --- tokens ------------------------------------------------------------------- */

START_TEST(test_token_clear_wipes_tokens)
{
	struct fc_token token;

	memset(&token, 0, sizeof(token));
	token.access_token = fc_strdup_secret("eyJhbGciOiJSUzI1NiJ9.access.sig");
	token.refresh_token = fc_strdup_secret("eyJhbGciOiJIUzI1NiJ9.refresh.sig");
	ck_assert_ptr_nonnull(token.access_token);
	ck_assert_ptr_nonnull(token.refresh_token);
	memcpy(token.token_type, "Bearer", 7);
	token.expires_in = 300;

	watch(token.refresh_token, strlen(token.refresh_token));
	fc_token_clear(&token);
	assert_watched_freed_zero();
	ck_assert_ptr_null(token.access_token);
	ck_assert_ptr_null(token.refresh_token);
	ck_assert_int_eq(token.token_type[0], '\0');
	ck_assert_int_eq(token.expires_in, 0);
	fc_token_clear(NULL);
}
END_TEST

static Suite *wipe_suite(void)
{
	Suite *suite = suite_create("wipe");
	TCase *tc;

	tc = tcase_create("wipe");
	tcase_add_test(tc, test_wipe_zeroes_memory);
	tcase_add_test(tc, test_wipe_stays_in_range);
	tcase_add_test(tc, test_wipe_null_accepted);
	suite_add_tcase(suite, tc);

	tc = tcase_create("strings");
	tcase_add_test(tc, test_clear_string_wipes_frees_nulls);
	tcase_add_test(tc, test_clear_string_null_accepted);
	tcase_add_test(tc, test_clear_buffer_wipes_frees_nulls);
	tcase_add_test(tc, test_strdup_secret_copies);
	suite_add_tcase(suite, tc);

	tc = tcase_create("buffer");
	tcase_add_test(tc, test_buf_append_keeps_contents);
	tcase_add_test(tc, test_buf_append_zero_bytes);
	tcase_add_test(tc, test_buf_growth_wipes_old_block);
	tcase_add_test(tc, test_buf_max_enforced);
	tcase_add_test(tc, test_buf_huge_append_rejected);
	tcase_add_test(tc, test_buf_clear_empty_accepted);
	suite_add_tcase(suite, tc);

	tc = tcase_create("tokens");
	tcase_add_test(tc, test_token_clear_wipes_tokens);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	SRunner *runner = srunner_create(wipe_suite());
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

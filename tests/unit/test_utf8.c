// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* UTF-8 for label values (user/util/utf8.c): what passes, what is replaced. */
#include <string.h>

#include "util/utf8.h"
#include "tap.h"

#define R UTF8_REPLACEMENT

static const char *clean(const char *in)
{
	static char out[64];

	utf8__sanitize(in, out, sizeof(out));
	return out;
}

int main(void)
{
	char small[8];

	ok(!strcmp(clean("redis-server"), "redis-server"), "ASCII unchanged");
	ok(!strcmp(clean("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x98"),
		   "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x98"),
	   "two-, three- and four-byte characters unchanged");
	ok(!strcmp(clean("\xc3\xa9\xc3\xa9\xc3"), "\xc3\xa9\xc3\xa9" R),
	   "a character cut at the end (a 15-byte comm): replaced");
	ok(!strcmp(clean("a\xffz"), "a" R "z"), "a byte that starts nothing: replaced");
	ok(!strcmp(clean("\x80x"), R "x"), "a lone continuation byte: replaced");
	ok(!strcmp(clean("\xc0\xaf"), R R), "an overlong form: replaced byte by byte");
	ok(!strcmp(clean("\xe0\x80\xaf"), R R R), "an overlong three-byte form: replaced");
	ok(!strcmp(clean("\xed\xa0\x80"), R R R), "a surrogate: replaced");
	ok(!strcmp(clean("\xf4\x90\x80\x80"), R R R R), "above U+10FFFF: replaced");
	ok(!strcmp(clean("\xe2\x82z"), R R "z"), "a sequence cut in the middle: replaced");
	ok(utf8__sanitize("abcdefghij", small, sizeof(small)) == 7 && !strcmp(small, "abcdefg"),
	   "stops when full, NUL-terminated");
	ok(utf8__sanitize("abcd\xc3\xa9", small, 6) == 4 && !strcmp(small, "abcd"),
	   "never cuts a character to fit");
	ok(utf8__sanitize("abc", small, 0) == 0, "no room: nothing written");
	return done_testing();
}

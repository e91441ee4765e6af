// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* pushname.c - see pushname.h. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "output/pushname.h"
#include "util/strbuf.h"
#include "util/utf8.h"

static bool is_name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* The characters `app{k=v,...}` uses as syntax, and those a query string would mangle. */
static bool is_value_char(char c)
{
	return (unsigned char)c > ' ' && c != '{' && c != '}' && c != ',' && c != '=' && c != '"' &&
	       c != 0x7f;
}

static bool is_reserved_key(const char *key, size_t len)
{
	return (len >= 2 && key[0] == '_' && key[1] == '_') ||
	       (len == strlen("service_name") && !strncmp(key, "service_name", len));
}

bool pushname__valid_label(const char *kv)
{
	const char *eq = strchr(kv, '='), *p;
	size_t klen;

	if (!eq || eq == kv || !eq[1] || strlen(eq + 1) > PUSHNAME_MAX_VALUE)
		return false;
	klen = (size_t)(eq - kv);
	if (!is_name_start(kv[0]) || is_reserved_key(kv, klen))
		return false;
	for (p = kv; p < eq; p++)
		if (!is_name_char(*p))
			return false;
	for (p = eq + 1; *p; p++)
		if (!is_value_char(*p))
			return false;
	return true;
}

/* Appends `s` (at most max bytes), each character not ok() as '_'. */
static int add_fitted(struct strbuf *sb, const char *s, size_t max, bool (*ok)(char))
{
	size_t i, n = strnlen(s, max);
	int err = strbuf__grow(sb, n ? n : 1);

	if (err)
		return err;
	for (i = 0; i < n; i++)
		sb->buf[sb->len++] = ok(s[i]) ? s[i] : '_';
	if (!n)
		sb->buf[sb->len++] = '_';
	sb->buf[sb->len] = '\0';
	return 0;
}

static bool is_service_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

/* The key as it will be written: invalid characters as '_', a leading digit prefixed. */
static int add_key(struct strbuf *sb, const char *key)
{
	int err = 0;

	if (!is_name_start(key[0]))
		err = strbuf__add(sb, "_");
	return err ? err : add_fitted(sb, key, 128, is_name_char);
}

/* Whether labels[i]'s key, made to fit, equals an earlier one's or a reserved one. */
static bool is_duplicate(const struct push_label *labels, size_t i, struct strbuf *tmp)
{
	struct strbuf other = { 0 };
	bool dup = false;
	size_t j;

	strbuf__reset(tmp);
	if (add_key(tmp, labels[i].key))
		return true;
	if (is_reserved_key(strbuf__str(tmp), tmp->len))
		return true;
	for (j = 0; j < i && !dup; j++) {
		strbuf__reset(&other);
		if (add_key(&other, labels[j].key))
			break;
		dup = !strcmp(strbuf__str(&other), strbuf__str(tmp));
	}
	strbuf__release(&other);
	return dup;
}

int pushname__format(struct strbuf *sb, const char *service, const struct push_label *labels,
		     size_t nr, size_t *dropped)
{
	struct strbuf key = { 0 };
	size_t i, used = 0, left_out = 0;
	int err;

	err = add_fitted(sb, service, 200, is_service_char);
	if (!err)
		err = strbuf__add(sb, "{");
	for (i = 0; i < nr && !err; i++) {
		if (!labels[i].key[0] || is_duplicate(labels, i, &key) ||
		    used + 1 >= PUSHNAME_MAX_LABELS) {
			left_out++;
			continue;
		}
		err = strbuf__add(sb, used ? "," : "");
		if (!err)
			err = strbuf__add(sb, strbuf__str(&key));
		if (!err)
			err = strbuf__add(sb, "=");
		if (!err) {
			/* Valid UTF-8 first (a comm may be cut inside a character), whole characters. */
			char value[PUSHNAME_MAX_VALUE + 1];

			utf8__sanitize(labels[i].value, value, sizeof(value));
			err = add_fitted(sb, value, PUSHNAME_MAX_VALUE, is_value_char);
		}
		used++;
	}
	if (!err)
		err = strbuf__add(sb, "}");
	strbuf__release(&key);
	if (dropped)
		*dropped = left_out;
	return err;
}

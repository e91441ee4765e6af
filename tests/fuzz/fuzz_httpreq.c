// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* fuzz_httpreq.c - request heads, query parameters and listen addresses, as clients send them. */
#include <stdlib.h>

#include "fuzz.h"
#include "http/httpreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const params[] = { "seconds", "debug", "gc", "pid" };
	struct http_request req;
	char value[64], host[256], port[16], *text;
	size_t i;

	if (httpreq__parse((const char *)data, size, &req) == 0)
		for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
			httpreq__query(req.query, params[i], value, sizeof(value));
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	httpreq__parse_addr(text, host, sizeof(host), port, sizeof(port));
	httpreq__query(text, "seconds", value, sizeof(value));
	free(text);
	return 0;
}

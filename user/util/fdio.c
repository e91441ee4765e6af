// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* fdio.c - see fdio.h. */
#include <errno.h>
#include <unistd.h>

#include "util/fdio.h"

int fdio__write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * fdio.h - whole writes to a file descriptor.
 */
#ifndef HEAPTRACE_FDIO_H
#define HEAPTRACE_FDIO_H

#include <stddef.h>

/*
 * Writes all `len` bytes of `buf` to `fd`, again after EINTR and after a
 * short write. 0, or the negative errno of the write that failed (-EIO
 * when one wrote nothing).
 */
int fdio__write_all(int fd, const void *buf, size_t len);

#endif /* HEAPTRACE_FDIO_H */

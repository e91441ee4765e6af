/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * gzip.h - gzip compression, streamed into a file descriptor or a bounded
 * memory buffer, and decompression of a whole buffer (zlib).
 *
 * A writer batches the caller's appends (often a few bytes each, as
 * protobuf-c makes them) into 64 KiB before handing them to deflate(), and
 * writes compressed output as it comes: a large profile is never held
 * uncompressed in memory, nor compressed when it goes to a file.
 *
 * Errors are sticky: once an append fails, later appends and
 * gzip__finish() return the same error without doing anything.
 */
#ifndef HEAPTRACE_GZIP_H
#define HEAPTRACE_GZIP_H

#include <stddef.h>

struct gzip_writer;

/*
 * A writer that compresses at zlib `level` into `fd` when fd >= 0 (written
 * with write(2) as output is produced; never closed here), else into a
 * malloc'ed buffer of at most `max_len` bytes. Returns 0 with *out set, or
 * -ENOMEM or -EINVAL (a bad level).
 */
int gzip__new(int fd, size_t max_len, int level, struct gzip_writer **out);

/*
 * Appends `len` uncompressed bytes. Returns 0 or the writer's error: a
 * negative errno of write(2), -EFBIG when the memory buffer would exceed
 * max_len, -EIO when zlib fails.
 */
int gzip__write(struct gzip_writer *w, const void *data, size_t len);

/*
 * Compresses what is staged and writes the gzip trailer. A memory writer
 * then hands its buffer over: *out (the caller frees it) and *out_len; a
 * file writer ignores both (they may be NULL). Returns 0 or the writer's
 * error; the writer is still to be freed either way.
 */
int gzip__finish(struct gzip_writer *w, void **out, size_t *out_len);

/* Frees the writer (and a buffer not handed over); gzip__free(NULL) is a no-op. */
void gzip__free(struct gzip_writer *w);

/*
 * Inflates `in`, gzip (or zlib) data, into a new malloc'ed buffer (*out,
 * the caller frees it); data that does not start with gzip's magic bytes
 * is copied as is. Returns 0, -EBADMSG when the data is corrupt or
 * truncated, -EFBIG when the output would pass max_out bytes, or -ENOMEM.
 */
int gzip__inflate(const void *in, size_t in_len, size_t max_out, void **out, size_t *out_len);

#endif /* HEAPTRACE_GZIP_H */

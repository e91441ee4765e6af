// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* gzip.c - see gzip.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "util/gzip.h"
#include "util/vec.h"
#include "util/fdio.h"

/* Staging buffers between the caller's many tiny appends, zlib and write(2). */
#define GZ_IN_SIZE  (64 * 1024)
#define GZ_OUT_SIZE (64 * 1024)

struct gzip_writer {
	z_stream zs;
	int fd;		    /* file to write, or -1 to append to mem */
	unsigned char *mem; /* growable output when fd < 0 */
	size_t mem_len, mem_cap, mem_max;
	int err;
	size_t in_len;
	unsigned char in[GZ_IN_SIZE];
	unsigned char out[GZ_OUT_SIZE];
};

int gzip__new(int fd, size_t max_len, int level, struct gzip_writer **out)
{
	struct gzip_writer *w = malloc(sizeof(*w));
	int ret;

	if (!w)
		return -ENOMEM;
	/* The staging buffers need no clearing. */
	memset(w, 0, offsetof(struct gzip_writer, in));
	w->fd = fd;
	w->mem_max = max_len;
	/* 15 + 16: a gzip wrapper, not zlib's. */
	ret = deflateInit2(&w->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	if (ret != Z_OK) {
		free(w);
		return ret == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
	}
	*out = w;
	return 0;
}

static int mem_append(struct gzip_writer *w, const unsigned char *data, size_t len)
{
	if (len > w->mem_max - w->mem_len)
		return -EFBIG;
	if (VEC_RESERVE(w->mem, w->mem_cap, w->mem_len + len))
		return -ENOMEM;
	memcpy(w->mem + w->mem_len, data, len);
	w->mem_len += len;
	return 0;
}

/* Hands the staged input to zlib and writes out everything it produces. */
static int deflate_staged(struct gzip_writer *w, int flush)
{
	size_t n;
	int ret, err;

	w->zs.next_in = w->in;
	w->zs.avail_in = w->in_len;
	do {
		w->zs.next_out = w->out;
		w->zs.avail_out = sizeof(w->out);
		ret = deflate(&w->zs, flush);
		if (ret == Z_STREAM_ERROR)
			return -EIO;
		n = sizeof(w->out) - w->zs.avail_out;
		err = w->fd >= 0 ? fdio__write_all(w->fd, w->out, n) : mem_append(w, w->out, n);
		if (err)
			return err;
	} while (w->zs.avail_out == 0);
	w->in_len = 0;
	if (flush == Z_FINISH && ret != Z_STREAM_END)
		return -EIO;
	return 0;
}

/* Compresses the caller's data in place: a large append need not be copied to be staged. */
static int deflate_direct(struct gzip_writer *w, const unsigned char *data, size_t len)
{
	size_t n;
	int err;

	w->zs.next_in = (unsigned char *)data;
	w->zs.avail_in = len;
	while (w->zs.avail_in) {
		w->zs.next_out = w->out;
		w->zs.avail_out = sizeof(w->out);
		if (deflate(&w->zs, Z_NO_FLUSH) == Z_STREAM_ERROR)
			return -EIO;
		n = sizeof(w->out) - w->zs.avail_out;
		err = w->fd >= 0 ? fdio__write_all(w->fd, w->out, n) : mem_append(w, w->out, n);
		if (err)
			return err;
	}
	return 0;
}

int gzip__write(struct gzip_writer *w, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t n;

	/* The common case: a few bytes that fit the staging buffer. */
	if (!w->err && len < sizeof(w->in) - w->in_len) {
		memcpy(w->in + w->in_len, p, len);
		w->in_len += len;
		return w->err;
	}
	if (!w->err && !w->in_len && len >= sizeof(w->in))
		return w->err = deflate_direct(w, p, len);
	while (len && !w->err) {
		n = sizeof(w->in) - w->in_len;
		if (n > len)
			n = len;
		memcpy(w->in + w->in_len, p, n);
		w->in_len += n;
		p += n;
		len -= n;
		if (w->in_len == sizeof(w->in))
			w->err = deflate_staged(w, Z_NO_FLUSH);
	}
	return w->err;
}

int gzip__finish(struct gzip_writer *w, void **out, size_t *out_len)
{
	if (w->err)
		return w->err;
	w->err = deflate_staged(w, Z_FINISH);
	if (w->err)
		return w->err;
	if (w->fd < 0 && out && out_len) {
		*out = w->mem;
		*out_len = w->mem_len;
		w->mem = NULL;
	}
	return 0;
}

void gzip__free(struct gzip_writer *w)
{
	if (!w)
		return;
	deflateEnd(&w->zs);
	free(w->mem);
	free(w);
}

static int copy_plain(const void *in, size_t in_len, void **out, size_t *out_len)
{
	void *buf = malloc(in_len ? in_len : 1);

	if (!buf)
		return -ENOMEM;
	memcpy(buf, in, in_len);
	*out = buf;
	*out_len = in_len;
	return 0;
}

int gzip__inflate(const void *in, size_t in_len, size_t max_out, void **out, size_t *out_len)
{
	const unsigned char *magic = in;
	unsigned char *buf = NULL;
	size_t cap = 0;
	z_stream zs = {};
	int ret, err = 0;

	if (in_len < 2 || magic[0] != 0x1f || magic[1] != 0x8b)
		return copy_plain(in, in_len, out, out_len);
	/* 15 + 32: gzip or zlib, whichever the header says. */
	if (inflateInit2(&zs, 15 + 32) != Z_OK)
		return -ENOMEM;
	zs.next_in = (unsigned char *)in;
	zs.avail_in = in_len;
	do {
		if (zs.total_out == cap) {
			if (cap >= max_out || VEC_RESERVE(buf, cap, cap + 4 * in_len + 65536)) {
				err = cap >= max_out ? -EFBIG : -ENOMEM;
				goto cleanup;
			}
		}
		zs.next_out = buf + zs.total_out;
		zs.avail_out = cap - zs.total_out;
		ret = inflate(&zs, Z_NO_FLUSH);
		if (ret != Z_OK && ret != Z_STREAM_END) {
			err = ret == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
			goto cleanup;
		}
		if (ret == Z_OK && zs.avail_in == 0 && zs.avail_out) {
			err = -EBADMSG; /* truncated */
			goto cleanup;
		}
	} while (ret != Z_STREAM_END);
	*out = buf;
	*out_len = zs.total_out;
	buf = NULL;
cleanup:
	inflateEnd(&zs);
	free(buf);
	return err;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The USDT note reader (user/probe/usdt.c) on real files: heaptrace's own
 * sampler and a program built with <sys/sdt.h>, then a copy of the sampler
 * whose first note is cut short (read as malformed, nothing else lost).
 */
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe/usdt.h"
#include "tap.h"

static const struct usdt_probe *find(const struct usdt_notes *n, const char *name)
{
	size_t i;

	for (i = 0; i < n->nr; i++)
		if (!strcmp(n->probes[i].name, name))
			return &n->probes[i];
	return NULL;
}

/* The byte at `off` in the file at `path`. */
static int byte_at(const char *path, uint64_t off)
{
	unsigned char b = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || pread(fd, &b, 1, (off_t)off) != 1)
		b = 0;
	if (fd >= 0)
		close(fd);
	return b;
}

static int eight_byte_args(const char *args)
{
	int n = 0;

	for (; (args = strstr(args, "8@")) != NULL; args += 2)
		n++;
	return n;
}

static void test_file(const char *path, const char *alloc_args)
{
	struct usdt_notes n;
	const struct usdt_probe *a, *f;
	int fd = open(path, O_RDONLY), err;

	err = fd < 0 ? -1 : usdt__read_notes(fd, USDT_OTEL_PROVIDER, &n);
	if (fd >= 0)
		close(fd);
	ok(err == 0, "%s: notes read", path);
	if (err)
		return;
	a = find(&n, "alloc");
	f = find(&n, "free");
	ok(n.nr == 2 && a && f && !n.malformed, "%s: alloc and free, nothing malformed (%zu)", path,
	   n.nr);
	if (!a || !f)
		goto out;
	/* A compiler picks the registers of a <sys/sdt.h> probe: then only their count is known. */
	ok(!strcmp(a->provider, "otel_memory") &&
	       (alloc_args ? !strcmp(a->args, alloc_args) : eight_byte_args(a->args) == 3),
	   "%s: alloc's arguments '%s'", path, a->args);
	ok(a->semaphore && f->semaphore && a->semaphore != f->semaphore, "%s: each has a semaphore",
	   path);
	ok(a->semaphore_ok && f->semaphore_ok, "%s: the kernel can count both semaphores", path);
	/* A probe site is a nop: 0x90, or the first byte of a 5-byte one (0x0f). */
	ok(a->file_offset &&
	       (byte_at(path, a->file_offset) == 0x90 || byte_at(path, a->file_offset) == 0x0f),
	   "%s: alloc's file offset is its nop (0x%02x)", path, byte_at(path, a->file_offset));
out:
	usdt__notes_release(&n);
}

/* A copy of `path` whose first stapsdt note says its desc is 8 bytes long. */
static int cut_copy(const char *path, char *tmp)
{
	int in = open(path, O_RDONLY), out = mkstemp(tmp), err = -1;
	char buf[65536];
	ssize_t r;
	Elf *e = NULL;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	if (in < 0 || out < 0)
		goto done;
	while ((r = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)r) != r)
			goto done;
	elf_version(EV_CURRENT);
	e = elf_begin(in, ELF_C_READ, NULL);
	if (!e || elf_getshdrstrndx(e, &shstrndx))
		goto done;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		const char *name;
		uint32_t descsz = 8;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(e, shstrndx, sh.sh_name)) ||
		    strcmp(name, ".note.stapsdt"))
			continue;
		/* Elf64_Nhdr: namesz, descsz, type. */
		if (pwrite(out, &descsz, 4, (off_t)(sh.sh_offset + 4)) == 4)
			err = 0;
		break;
	}
done:
	if (e)
		elf_end(e);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return err;
}

int main(int argc, char **argv)
{
	char tmp[] = "/tmp/test_usdt.XXXXXX";
	struct usdt_notes n;
	int fd, err;

	if (argc < 3) {
		fprintf(stderr, "usage: test_usdt SAMPLER.so SDT_PROGRAM\n");
		return 2;
	}
	test_file(argv[1], "8@%rdi 8@%rsi 8@%rdx");
	test_file(argv[2], NULL);

	ok(cut_copy(argv[1], tmp) == 0, "a copy with its first note cut short");
	fd = open(tmp, O_RDONLY);
	err = fd < 0 ? -1 : usdt__read_notes(fd, USDT_OTEL_PROVIDER, &n);
	if (fd >= 0)
		close(fd);
	ok(err == 0 && n.malformed >= 1, "a note cut short is counted malformed, not fatal (%zu)",
	   err ? 0 : n.malformed);
	if (!err)
		usdt__notes_release(&n);
	unlink(tmp);

	fd = open("/bin/true", O_RDONLY);
	err = usdt__read_notes(fd, USDT_OTEL_PROVIDER, &n);
	close(fd);
	ok(err == 0 && n.nr == 0, "a file without notes has no probes");
	usdt__notes_release(&n);
	return done_testing();
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* usdt.c - see usdt.h. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe/usdt.h"
#include "util/log.h"
#include "util/procfs.h"
#include "util/vec.h"

#define SDT_NOTE_OWNER "stapsdt"
#define SDT_NOTE_TYPE  3

/* The link-time address of `.stapsdt.base` (0: none), and the note section. */
static Elf_Scn *find_sections(Elf *e, uint64_t *base)
{
	Elf_Scn *scn = NULL, *notes = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	*base = 0;
	if (elf_getshdrstrndx(e, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(e, scn)) != NULL) {
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (!strcmp(name, ".stapsdt.base"))
			*base = sh.sh_addr;
		else if (sh.sh_type == SHT_NOTE && !strcmp(name, ".note.stapsdt"))
			notes = scn;
	}
	return notes;
}

/* The file offset of link-time address `addr`, through the segment that loads it. */
static uint64_t file_offset_of(Elf *e, uint64_t addr)
{
	size_t n, i;
	GElf_Phdr ph;

	if (elf_getphdrnum(e, &n))
		return 0;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (addr >= ph.p_vaddr && addr < ph.p_vaddr + ph.p_filesz)
			return addr - ph.p_vaddr + ph.p_offset;
	}
	return 0;
}

/*
 * Whether the kernel can count a semaphore at link-time address `addr`: it
 * only adds to one in a writable private mapping of the file, so it must be
 * in a writable loaded segment, and not in the part made read-only after
 * relocation (PT_GNU_RELRO). Anywhere else the semaphore would stay 0, and
 * a process gated by it would never fire its probes.
 */
static bool semaphore_countable(Elf *e, uint64_t addr)
{
	bool writable = false, relro = false;
	size_t n, i;
	GElf_Phdr ph;

	if (!addr)
		return true;
	if (elf_getphdrnum(e, &n))
		return false;
	for (i = 0; i < n; i++) {
		bool in;

		if (!gelf_getphdr(e, (int)i, &ph))
			continue;
		in = addr >= ph.p_vaddr && addr + 2 <= ph.p_vaddr + ph.p_memsz;
		if (in && ph.p_type == PT_LOAD && (ph.p_flags & PF_W))
			writable = true;
		if (in && ph.p_type == PT_GNU_RELRO)
			relro = true;
	}
	return writable && !relro;
}

/* One note's desc: three addresses, then provider, name and arguments. */
static int parse_desc(const char *desc, size_t len, struct usdt_probe *p)
{
	const char *prov, *name, *args, *end = desc + len;
	uint64_t words[3];

	if (len < sizeof(words) + 3)
		return -EINVAL;
	memcpy(words, desc, sizeof(words));
	prov = desc + sizeof(words);
	/* Past each terminator only once it is found: no arithmetic on NULL. */
	name = memchr(prov, '\0', (size_t)(end - prov));
	if (!name || ++name >= end)
		return -EINVAL;
	args = memchr(name, '\0', (size_t)(end - name));
	if (!args)
		return -EINVAL;
	args++;
	if (!memchr(args, '\0', (size_t)(end - args)) && args != end)
		return -EINVAL;
	*p = (struct usdt_probe){ .pc = words[0], .semaphore = words[2] };
	p->provider = strdup(prov);
	p->name = strdup(name);
	p->args = strdup(args < end ? args : "");
	if (!p->provider || !p->name || !p->args)
		return -ENOMEM;
	/* words[1] is where .stapsdt.base was at link time; the caller moves pc. */
	p->file_offset = words[1];
	return 0;
}

static void probe_release(struct usdt_probe *p)
{
	free(p->provider);
	free(p->name);
	free(p->args);
}

static int add_note(Elf *e, uint64_t base, const char *desc, size_t len, const char *provider,
		    struct usdt_notes *out)
{
	struct usdt_probe p = { 0 };
	uint64_t note_base;
	int err = parse_desc(desc, len, &p);

	if (err) {
		probe_release(&p);
		if (err == -ENOMEM)
			return err;
		out->malformed++;
		return 0;
	}
	if (provider && strcmp(p.provider, provider)) {
		probe_release(&p);
		return 0;
	}
	note_base = p.file_offset;
	/* Prelinked elsewhere: the probe moved with .stapsdt.base. */
	if (base && note_base)
		p.pc += base - note_base;
	p.file_offset = file_offset_of(e, p.pc);
	if (p.semaphore && base && note_base)
		p.semaphore += base - note_base;
	p.semaphore_ok = semaphore_countable(e, p.semaphore);
	if (VEC_RESERVE(out->probes, out->cap, out->nr + 1)) {
		probe_release(&p);
		return -ENOMEM;
	}
	out->probes[out->nr++] = p;
	return 0;
}

int usdt__read_notes(int fd, const char *provider, struct usdt_notes *out)
{
	Elf_Data *data = NULL;
	uint64_t base;
	Elf_Scn *scn;
	int err = 0;
	Elf *e;

	*out = (struct usdt_notes){ 0 };
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e)
		return -EINVAL;
	scn = elf_kind(e) == ELF_K_ELF ? find_sections(e, &base) : NULL;
	while (scn && !err && (data = elf_getdata(scn, data)) != NULL) {
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;

		while (!err && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			const char *name = (const char *)data->d_buf + name_off;

			if (nh.n_type != SDT_NOTE_TYPE || nh.n_namesz != sizeof(SDT_NOTE_OWNER) ||
			    memcmp(name, SDT_NOTE_OWNER, sizeof(SDT_NOTE_OWNER)))
				continue;
			err = add_note(e, base, (const char *)data->d_buf + desc_off, nh.n_descsz,
				       provider, out);
		}
	}
	elf_end(e);
	if (err)
		usdt__notes_release(out);
	return err;
}

void usdt__notes_release(struct usdt_notes *n)
{
	size_t i;

	for (i = 0; i < n->nr; i++)
		probe_release(&n->probes[i]);
	free(n->probes);
	*n = (struct usdt_notes){ 0 };
}

static bool seen(const struct usdt_plan *p, const char *shown)
{
	size_t i;

	for (i = 0; i < p->nr; i++)
		if (!strcmp(p->objects[i].shown, shown))
			return true;
	return false;
}

/* The range the object's code is mapped at: where the sampler's own frames are. */
static void text_range(const struct procmaps *maps, const char *path, struct usdt_object *o)
{
	size_t i;

	for (i = 0; i < maps->nr; i++) {
		const struct procmap *m = &maps->maps[i];

		if (m->perms[2] != 'x' || strcmp(m->path, path))
			continue;
		if (!o->text_start || m->start < o->text_start)
			o->text_start = m->start;
		if (m->end > o->text_end)
			o->text_end = m->end;
	}
}

/* The arguments of a format string: "8@%rdi 8@%rsi" has two. */
static int count_args(const char *args)
{
	int n = 0;
	bool in = false;

	for (; *args; args++) {
		if (*args == ' ') {
			in = false;
		} else if (!in) {
			in = true;
			n++;
		}
	}
	return n;
}

/* Reads one mapped object's otel_memory probes into *o; -ENOENT when it has no alloc probe. */
static int read_object(pid_t pid, const struct procmap *m, struct usdt_object *o)
{
	char path[PATH_MAX + 64];
	size_t i;
	int fd, err;

	err = procfs__mapped_path(pid, m->path, m->start, m->end, path, sizeof(path));
	if (err)
		return err;
	fd = procfs__open_mapped(pid, m->path, m->start, m->end, m->inode, NULL);
	if (fd < 0)
		return fd;
	err = usdt__read_notes(fd, USDT_OTEL_PROVIDER, &o->notes);
	close(fd);
	if (err)
		return err;
	for (i = 0; i < o->notes.nr; i++) {
		const struct usdt_probe *u = &o->notes.probes[i];
		bool alloc = !strcmp(u->name, "alloc"), free_ = !strcmp(u->name, "free");
		int want = alloc ? 3 : 1;

		if ((alloc || free_) && count_args(u->args) != want) {
			/* Another form of the contract: counting it would count it wrong. */
			log_warn(
			    "'%s': otel_memory:%s takes %d arguments, not %d (another version of "
			    "the contract?): its probes are not used",
			    m->path, u->name, count_args(u->args), want);
			return -EPROTO;
		}
		if ((alloc || free_) && !u->semaphore_ok) {
			log_warn("'%s': the semaphore of otel_memory:%s (0x%" PRIx64
				 ") is not in writable memory, where the kernel could count it: "
				 "its probes are not used",
				 m->path, u->name, u->semaphore);
			return -EPROTO;
		}
		o->has_alloc |= alloc;
		o->has_free |= free_;
	}
	if (o->notes.malformed)
		log_warn("'%s': %zu USDT note%s that cannot be read: ignored", m->path,
			 o->notes.malformed, o->notes.malformed == 1 ? "" : "s");
	if (!o->has_alloc)
		return -ENOENT;
	if (!o->has_free) {
		/* Its blocks would never be seen freed: in use for ever. */
		log_warn(
		    "'%s': otel_memory:alloc without otel_memory:free: its probes are not used",
		    m->path);
		return -EPROTO;
	}
	o->path = strdup(path);
	o->shown = strdup(m->path);
	return o->path && o->shown ? 0 : -ENOMEM;
}

static void object_release(struct usdt_object *o)
{
	free(o->path);
	free(o->shown);
	usdt__notes_release(&o->notes);
}

int usdt__find(pid_t pid, const struct procmaps *maps, struct usdt_plan **out)
{
	struct usdt_plan *p = calloc(1, sizeof(*p));
	const char *exe = NULL;
	size_t i;
	int err = 0;

	if (!p)
		return -ENOMEM;
	for (i = 0; i < maps->nr && !err; i++) {
		const struct procmap *m = &maps->maps[i];
		struct usdt_object o = { 0 };

		if (m->path[0] != '/')
			continue;
		/* The program is mapped below its libraries: the first file mapping. */
		if (!exe)
			exe = m->path;
		if (m->offset != 0 || seen(p, m->path))
			continue;
		err = read_object(pid, m, &o);
		if (!err && VEC_RESERVE(p->objects, p->cap, p->nr + 1))
			err = -ENOMEM;
		if (err) {
			object_release(&o);
			/* An object that cannot be read or has no probes is not one of ours. */
			err = err == -ENOMEM ? err : 0;
			continue;
		}
		o.is_exe = !strcmp(m->path, exe);
		text_range(maps, m->path, &o);
		p->objects[p->nr++] = o;
	}
	if (!err && !p->nr)
		err = -ENOENT;
	if (err) {
		usdt__plan_free(p);
		return err;
	}
	*out = p;
	return 0;
}

void usdt__plan_write(const struct usdt_plan *p, FILE *f)
{
	size_t i, j;

	for (i = 0; i < p->nr; i++) {
		const struct usdt_object *o = &p->objects[i];

		for (j = 0; j < o->notes.nr; j++) {
			const struct usdt_probe *u = &o->notes.probes[j];

			fprintf(f, "%s\t%s:%s\t@0x%" PRIx64 "\tusdt\targs '%s', semaphore %s\n",
				o->shown, u->provider, u->name, u->file_offset, u->args,
				u->semaphore ? "yes (counted by the kernel)" : "none");
		}
	}
}

void usdt__plan_free(struct usdt_plan *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nr; i++)
		object_release(&p->objects[i]);
	free(p->objects);
	free(p);
}

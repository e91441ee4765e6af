// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * elfsym.c - build id, PT_LOAD segments and a sorted function symbol table
 * of one ELF object, with separate debug file lookup.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gelf.h>
#include <zlib.h>

#include "symbol/elfsym.h"

#define DEBUG_ROOT "/usr/lib/debug"

struct elfsym_seg {
	uint64_t offset;
	uint64_t filesz;
	uint64_t vaddr;
};

struct elfsym_func {
	uint64_t addr;
	uint64_t end; /* first address past the function */
	const char *name;
};

struct elfsym {
	int fd;
	Elf *elf;
	int dbg_fd;
	Elf *dbg_elf;
	char *dbg_path;
	Elf *dwarf_elf;
	char *build_id;
	struct elfsym_seg *segs;
	size_t nr_segs;
	struct elfsym_func *funcs;
	size_t nr_funcs;
	bool own_symtab; /* the object's own .symtab (not .dynsym, not a debug file's) */
};

/* A candidate symbol while the table is built: ranks decide between aliases. */
struct sym_tmp {
	uint64_t addr;
	uint64_t size;
	uint64_t sec_end; /* end of its section, 0 when unknown */
	const char *name;
	int bind_rank;
};

/* What a scan of the section headers found. */
struct elf_sections {
	Elf_Scn *symtab;
	Elf_Scn *dynsym;
	Elf_Scn *debuglink;
	bool debug_info;
};

static void scan_sections(Elf *elf, struct elf_sections *secs)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	memset(secs, 0, sizeof(*secs));
	if (elf_getshdrstrndx(elf, &shstrndx))
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB) {
			secs->symtab = scn;
			continue;
		}
		if (sh.sh_type == SHT_DYNSYM) {
			secs->dynsym = scn;
			continue;
		}
		if (sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info"))
			secs->debug_info = true;
		else if (!strcmp(name, ".gnu_debuglink"))
			secs->debuglink = scn;
	}
}

/* Looks for NT_GNU_BUILD_ID in one note buffer; fills hex (2 * 64 + 1 bytes). */
static bool note_build_id(Elf_Data *data, char *hex)
{
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;

	while (off < data->d_size && (next = gelf_getnote(data, off, &nh, &name_off, &desc_off))) {
		const unsigned char *desc = (const unsigned char *)data->d_buf + desc_off;

		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && nh.n_descsz > 0 &&
		    nh.n_descsz <= 64 && !memcmp((const char *)data->d_buf + name_off, "GNU", 4)) {
			static const char digits[] = "0123456789abcdef";
			size_t i;

			for (i = 0; i < nh.n_descsz; i++) {
				hex[2 * i] = digits[desc[i] >> 4];
				hex[2 * i + 1] = digits[desc[i] & 15];
			}
			hex[2 * i] = '\0';
			return true;
		}
		off = next;
	}
	return false;
}

/* The build id as lowercase hex, or "" (sections first; PT_NOTE for section-less files). */
static void read_build_id(Elf *elf, char *hex)
{
	Elf_Scn *scn = NULL;
	size_t i, nr;

	hex[0] = '\0';
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (data && note_build_id(data, hex))
			return;
	}
	if (elf_getphdrnum(elf, &nr))
		return;
	for (i = 0; i < nr; i++) {
		GElf_Phdr ph;
		Elf_Data *data;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		data = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
					    ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		if (data && note_build_id(data, hex))
			return;
	}
}

static int read_segments(struct elfsym *e)
{
	size_t i, nr;

	if (elf_getphdrnum(e->elf, &nr))
		return -ENOEXEC;
	e->segs = calloc(nr ? nr : 1, sizeof(*e->segs));
	if (!e->segs)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		e->segs[e->nr_segs].offset = ph.p_offset;
		e->segs[e->nr_segs].filesz = ph.p_filesz;
		e->segs[e->nr_segs].vaddr = ph.p_vaddr;
		e->nr_segs++;
	}
	return 0;
}

static uint64_t section_end(Elf *elf, size_t shndx)
{
	Elf_Scn *scn;
	GElf_Shdr sh;

	if (shndx == SHN_UNDEF || shndx >= SHN_LORESERVE)
		return 0;
	scn = elf_getscn(elf, shndx);
	if (!scn || !gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC))
		return 0;
	return sh.sh_addr + sh.sh_size;
}

/* Appends the functions of one symbol table to *tmp. */
static int collect_symbols(Elf *elf, Elf_Scn *scn, struct sym_tmp **tmp, size_t *nr)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	struct sym_tmp *t;
	GElf_Shdr sh;
	size_t i, count;

	if (!data || !gelf_getshdr(scn, &sh) || !sh.sh_entsize)
		return 0;
	count = sh.sh_size / sh.sh_entsize;
	t = realloc(*tmp, (*nr + count + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	*tmp = t;
	for (i = 0; i < count; i++) {
		struct sym_tmp *s = &t[*nr];
		GElf_Sym sym;
		int type, bind;
		const char *name;

		if (!gelf_getsym(data, (int)i, &sym))
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
		    !sym.st_value)
			continue;
		name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		bind = GELF_ST_BIND(sym.st_info);
		s->addr = sym.st_value;
		s->size = sym.st_size;
		s->name = name;
		s->bind_rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
		/* Only size-0 symbols need their section's end as a bound. */
		s->sec_end = sym.st_size ? 0 : section_end(elf, sym.st_shndx);
		(*nr)++;
	}
	return 0;
}

/* Address, then the preferred alias first: global, no leading '_', sized, by name. */
static int cmp_sym(const void *a, const void *b)
{
	const struct sym_tmp *x = a, *y = b;
	int ux, uy;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->bind_rank != y->bind_rank)
		return x->bind_rank - y->bind_rank;
	ux = x->name[0] == '_';
	uy = y->name[0] == '_';
	if (ux != uy)
		return ux - uy;
	if (!x->size != !y->size)
		return !x->size - !y->size;
	return strcmp(x->name, y->name);
}

/* Sorts, merges aliases, and bounds size-0 symbols by the next one. */
static int build_table(struct elfsym *e, struct sym_tmp *tmp, size_t nr)
{
	size_t i, j, n = 0;

	if (!nr)
		return 0;
	qsort(tmp, nr, sizeof(*tmp), cmp_sym);
	e->funcs = malloc(nr * sizeof(*e->funcs));
	if (!e->funcs)
		return -ENOMEM;
	for (i = 0; i < nr; i = j) {
		struct elfsym_func *f = &e->funcs[n++];
		uint64_t sec_end = tmp[i].sec_end;

		f->addr = tmp[i].addr;
		f->name = tmp[i].name;
		f->end = 0;
		for (j = i; j < nr && tmp[j].addr == tmp[i].addr; j++) {
			if (tmp[j].size && tmp[j].addr + tmp[j].size > f->end)
				f->end = tmp[j].addr + tmp[j].size;
			if (!sec_end)
				sec_end = tmp[j].sec_end;
		}
		if (!f->end) {
			/* Unsized: up to the next symbol, within the section when known. */
			f->end = j < nr ? tmp[j].addr : UINT64_MAX;
			if (sec_end > f->addr && sec_end < f->end)
				f->end = sec_end;
		}
	}
	e->nr_funcs = n;
	return 0;
}

/* Standard CRC-32 of a whole file, as .gnu_debuglink records it. */
static int file_crc32(int fd, uint32_t *crc)
{
	unsigned char buf[65536];
	uLong c = crc32(0L, Z_NULL, 0);
	off_t off = 0;

	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!n)
			break;
		c = crc32(c, buf, (uInt)n);
		off += n;
	}
	*crc = (uint32_t)c;
	return 0;
}

/*
 * Tries `file` as the debug file: it must not be the object itself, must
 * carry .symtab or DWARF, and must match the build id (or the CRC).
 */
static bool try_debug_file(struct elfsym *e, const char *file, const uint32_t *crc)
{
	struct stat st_obj, st_dbg;
	struct elf_sections secs;
	char hex[2 * 64 + 1];
	Elf *elf = NULL;
	int fd;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (!fstat(fd, &st_dbg) && !fstat(e->fd, &st_obj) && st_dbg.st_dev == st_obj.st_dev &&
	    st_dbg.st_ino == st_obj.st_ino)
		goto reject;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF)
		goto reject;
	if (e->build_id[0]) {
		read_build_id(elf, hex);
		if (strcmp(hex, e->build_id))
			goto reject;
	} else if (crc) {
		uint32_t c;

		if (file_crc32(fd, &c) || c != *crc)
			goto reject;
	} else {
		goto reject;
	}
	scan_sections(elf, &secs);
	if (!secs.symtab && !secs.debug_info)
		goto reject;
	e->dbg_path = strdup(file);
	if (!e->dbg_path)
		goto reject;
	e->dbg_fd = fd;
	e->dbg_elf = elf;
	return true;
reject:
	if (elf)
		elf_end(elf);
	close(fd);
	return false;
}

static bool try_debug_path(struct elfsym *e, const char *root, const char *fmt_dir, const char *dir,
			   const char *name, const uint32_t *crc)
{
	char file[PATH_MAX];
	int n;

	n = snprintf(file, sizeof(file), fmt_dir, root, dir, name);
	if (n < 0 || (size_t)n >= sizeof(file))
		return false;
	return try_debug_file(e, file, crc);
}

static void find_debug_file(struct elfsym *e, const char *root, Elf_Scn *debuglink,
			    const char *path)
{
	char dir[PATH_MAX];
	const char *slash;
	Elf_Data *data;

	if (strlen(e->build_id) > 2) {
		const char *fmt = "%s" DEBUG_ROOT "/.build-id/%.2s/%s.debug";
		char file[PATH_MAX];

		snprintf(file, sizeof(file), fmt, root, e->build_id, e->build_id + 2);
		if (try_debug_file(e, file, NULL))
			return;
		/* The host's debug files serve a container too: the build id is checked. */
		snprintf(file, sizeof(file), fmt, "", e->build_id, e->build_id + 2);
		if (root[0] && try_debug_file(e, file, NULL))
			return;
	}
	if (!debuglink)
		return;
	data = elf_getdata(debuglink, NULL);
	if (data && data->d_size > 4) {
		const char *name = data->d_buf;
		size_t len = strnlen(name, data->d_size);
		uint32_t crc;

		/* The name, NUL padded to 4 bytes, then the CRC in the object's byte order. */
		if (len == 0 || len >= data->d_size || ((len + 4) & ~(size_t)3) + 4 > data->d_size)
			return;
		memcpy(&crc, (const char *)data->d_buf + ((len + 4) & ~(size_t)3), 4);
		if (elf_getident(e->elf, NULL)[EI_DATA] !=
		    (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB))
			crc = __builtin_bswap32(crc);
		slash = strrchr(path, '/');
		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 0, path);
		if (try_debug_path(e, root, "%s%s/%s", dir, name, &crc) ||
		    try_debug_path(e, root, "%s%s/.debug/%s", dir, name, &crc) ||
		    try_debug_path(e, root, "%s" DEBUG_ROOT "%s/%s", dir, name, &crc))
			return;
	}
}

int elfsym__open_fd(int fd, const char *root, const char *path, struct elfsym **out)
{
	struct elf_sections secs, dbg_secs;
	struct sym_tmp *tmp = NULL;
	struct elfsym *e;
	size_t nr = 0;
	int err;

	*out = NULL;
	e = calloc(1, sizeof(*e));
	if (!e) {
		close(fd);
		return -ENOMEM;
	}
	e->fd = fd;
	e->dbg_fd = -1;
	elf_version(EV_CURRENT);
	e->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto cleanup;
	}
	e->build_id = malloc(2 * 64 + 1);
	if (!e->build_id) {
		err = -ENOMEM;
		goto cleanup;
	}
	read_build_id(e->elf, e->build_id);
	err = read_segments(e);
	if (err)
		goto cleanup;
	scan_sections(e->elf, &secs);
	/* A stripped object keeps its names (and DWARF) in a separate debug file. */
	if (!secs.symtab || !secs.debug_info)
		find_debug_file(e, root, secs.debuglink, path);
	memset(&dbg_secs, 0, sizeof(dbg_secs));
	if (e->dbg_elf)
		scan_sections(e->dbg_elf, &dbg_secs);

	e->own_symtab = secs.symtab != NULL;
	if (secs.symtab)
		err = collect_symbols(e->elf, secs.symtab, &tmp, &nr);
	else if (dbg_secs.symtab)
		err = collect_symbols(e->dbg_elf, dbg_secs.symtab, &tmp, &nr);
	else if (secs.dynsym)
		err = collect_symbols(e->elf, secs.dynsym, &tmp, &nr);
	if (!err)
		err = build_table(e, tmp, nr);
	if (err)
		goto cleanup;

	if (secs.debug_info)
		e->dwarf_elf = e->elf;
	else if (dbg_secs.debug_info)
		e->dwarf_elf = e->dbg_elf;
	free(tmp);
	*out = e;
	return 0;
cleanup:
	free(tmp);
	elfsym__free(e);
	return err;
}

int elfsym__open(const char *path, struct elfsym **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		*out = NULL;
		return -errno;
	}
	return elfsym__open_fd(fd, "", path, out);
}

void elfsym__free(struct elfsym *e)
{
	if (!e)
		return;
	if (e->dbg_elf)
		elf_end(e->dbg_elf);
	if (e->dbg_fd >= 0)
		close(e->dbg_fd);
	if (e->elf)
		elf_end(e->elf);
	close(e->fd);
	free(e->dbg_path);
	free(e->build_id);
	free(e->segs);
	free(e->funcs);
	free(e);
}

bool elfsym__wants_debug_file(const struct elfsym *e)
{
	return !e->dbg_elf && e->build_id[0] && (!e->own_symtab || !e->dwarf_elf);
}

int elfsym__add_debug_file(struct elfsym *e, const char *path)
{
	struct elf_sections secs;
	struct sym_tmp *tmp = NULL;
	size_t nr = 0;
	int err;

	if (!elfsym__wants_debug_file(e))
		return -EEXIST;
	if (!try_debug_file(e, path, NULL))
		return -ENOENT;
	scan_sections(e->dbg_elf, &secs);
	if (!e->dwarf_elf && secs.debug_info)
		e->dwarf_elf = e->dbg_elf;
	if (e->own_symtab || !secs.symtab)
		return 0;
	/* The debug file's .symtab replaces the .dynsym table: it names local functions too. */
	err = collect_symbols(e->dbg_elf, secs.symtab, &tmp, &nr);
	if (!err && nr) {
		struct elfsym_func *old = e->funcs;
		size_t old_nr = e->nr_funcs;

		e->funcs = NULL;
		e->nr_funcs = 0;
		err = build_table(e, tmp, nr);
		if (err) {
			e->funcs = old;
			e->nr_funcs = old_nr;
		} else {
			free(old);
		}
	}
	free(tmp);
	return err;
}

const char *elfsym__build_id(const struct elfsym *e)
{
	return e->build_id;
}

bool elfsym__has_symbols(const struct elfsym *e)
{
	return e->nr_funcs > 0;
}

Elf *elfsym__dwarf_elf(const struct elfsym *e)
{
	return e->dwarf_elf;
}

const char *elfsym__debug_path(const struct elfsym *e)
{
	return e->dbg_path;
}

int elfsym__offset_to_vaddr(const struct elfsym *e, uint64_t offset, uint64_t *vaddr)
{
	size_t i;

	for (i = 0; i < e->nr_segs; i++) {
		const struct elfsym_seg *s = &e->segs[i];

		if (offset >= s->offset && offset < s->offset + s->filesz) {
			*vaddr = offset - s->offset + s->vaddr;
			return 0;
		}
	}
	/* A mapping starts at the page holding the segment's first byte. */
	for (i = 0; i < e->nr_segs; i++) {
		const struct elfsym_seg *s = &e->segs[i];

		if (offset >= (s->offset & ~(uint64_t)4095) && offset < s->offset + s->filesz) {
			*vaddr = s->vaddr - (s->offset - offset);
			return 0;
		}
	}
	return -ENOENT;
}

const char *elfsym__lookup(const struct elfsym *e, uint64_t vaddr, uint64_t *sym_addr)
{
	size_t lo = 0, hi = e->nr_funcs, i, stop;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e->funcs[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* The nearest symbol below may be nested in a larger one: look back a little. */
	stop = lo > 8 ? lo - 8 : 0;
	for (i = lo; i > stop; i--) {
		const struct elfsym_func *f = &e->funcs[i - 1];

		if (vaddr < f->end) {
			if (sym_addr)
				*sym_addr = f->addr;
			return f->name;
		}
	}
	return NULL;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * discover.c - find the objects serving a process's allocations the way the
 * dynamic linker resolves malloc, and list their entry points. See
 * discover.h for the rule.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "probe/discover.h"
#include "util/procfs.h"
#include "util/procname.h"
#include "util/strbuf.h"
#include "util/vec.h"

/* Which API a catalogue name belongs to: it decides classification and forwarding checks. */
enum family {
	FAM_STD,    /* C: malloc ... pvalloc, free */
	FAM_C23,    /* free_sized, free_aligned_sized */
	FAM_JE,	    /* jemalloc's own names, plain or prefixed */
	FAM_TC,	    /* tcmalloc's tc_* */
	FAM_MI,	    /* mimalloc's mi_* */
	FAM_NEW,    /* C++ operator new family */
	FAM_DELETE, /* C++ operator delete family */
	FAM_MARK,   /* only tells which allocator an object is; never probed */
	FAM_PY,	    /* CPython's pymalloc arenas (mmap, munmap): only in a CPython process */
};

struct cat_name {
	const char *name;
	enum discover_entry_kind kind;
	enum family fam;
};

/*
 * jemalloc's names under a prefix ("je_", or Rust's "_rjem_"): one row per
 * name, each row a whole initializer with its comma, so the list needs none
 * after it.
 */
#define JE_NAMES(p)                                                                                \
	JE_NAME(p, "malloc", DISCOVER_MALLOC)                                                      \
	JE_NAME(p, "calloc", DISCOVER_CALLOC)                                                      \
	JE_NAME(p, "realloc", DISCOVER_REALLOC)                                                    \
	JE_NAME(p, "free", DISCOVER_FREE)                                                          \
	JE_NAME(p, "posix_memalign", DISCOVER_POSIX_MEMALIGN)                                      \
	JE_NAME(p, "aligned_alloc", DISCOVER_MEMALIGN)                                             \
	JE_NAME(p, "memalign", DISCOVER_MEMALIGN)                                                  \
	JE_NAME(p, "valloc", DISCOVER_VALLOC)                                                      \
	JE_NAME(p, "mallocx", DISCOVER_MALLOCX)                                                    \
	JE_NAME(p, "rallocx", DISCOVER_RALLOCX)                                                    \
	JE_NAME(p, "xallocx", DISCOVER_XALLOCX)                                                    \
	JE_NAME(p, "dallocx", DISCOVER_DALLOCX)                                                    \
	JE_NAME(p, "sdallocx", DISCOVER_SDALLOCX)
#define JE_NAME(p, name, kind) { p name, kind, FAM_JE },

/*
 * Every name that can be an allocator entry point. Order matters: of names
 * sharing an address, the first listed is kept, so the standard names
 * come first.
 */
static const struct cat_name catalog[] = {
	{ "malloc", DISCOVER_MALLOC, FAM_STD },
	{ "calloc", DISCOVER_CALLOC, FAM_STD },
	{ "realloc", DISCOVER_REALLOC, FAM_STD },
	{ "reallocarray", DISCOVER_REALLOCARRAY, FAM_STD },
	{ "free", DISCOVER_FREE, FAM_STD },
	{ "posix_memalign", DISCOVER_POSIX_MEMALIGN, FAM_STD },
	{ "aligned_alloc", DISCOVER_MEMALIGN, FAM_STD },
	{ "memalign", DISCOVER_MEMALIGN, FAM_STD },
	{ "valloc", DISCOVER_VALLOC, FAM_STD },
	{ "pvalloc", DISCOVER_PVALLOC, FAM_STD },
	{ "free_sized", DISCOVER_SIZED_FREE, FAM_C23 },
	{ "free_aligned_sized", DISCOVER_SIZED_FREE, FAM_C23 },
	/* jemalloc: the plain standard names are above; mallocx etc. only here. */
	{ "mallocx", DISCOVER_MALLOCX, FAM_JE },
	{ "rallocx", DISCOVER_RALLOCX, FAM_JE },
	{ "xallocx", DISCOVER_XALLOCX, FAM_JE },
	{ "dallocx", DISCOVER_DALLOCX, FAM_JE },
	{ "sdallocx", DISCOVER_SDALLOCX, FAM_JE },
	/* jemalloc built with a prefix */
	JE_NAMES("je_")
	/* Rust's tikv-jemallocator */
	JE_NAMES("_rjem_")
	/* tcmalloc (gperftools) */
	{ "tc_malloc", DISCOVER_MALLOC, FAM_TC },
	{ "tc_malloc_skip_new_handler", DISCOVER_MALLOC, FAM_TC },
	{ "tc_calloc", DISCOVER_CALLOC, FAM_TC },
	{ "tc_realloc", DISCOVER_REALLOC, FAM_TC },
	{ "tc_memalign", DISCOVER_MEMALIGN, FAM_TC },
	{ "tc_posix_memalign", DISCOVER_POSIX_MEMALIGN, FAM_TC },
	{ "tc_valloc", DISCOVER_VALLOC, FAM_TC },
	{ "tc_pvalloc", DISCOVER_PVALLOC, FAM_TC },
	{ "tc_free", DISCOVER_FREE, FAM_TC },
	{ "tc_cfree", DISCOVER_FREE, FAM_TC },
	{ "tc_free_sized", DISCOVER_SIZED_FREE, FAM_TC },
	{ "tc_new", DISCOVER_NEW, FAM_TC },
	{ "tc_newarray", DISCOVER_NEW, FAM_TC },
	{ "tc_new_nothrow", DISCOVER_NEW, FAM_TC },
	{ "tc_newarray_nothrow", DISCOVER_NEW, FAM_TC },
	{ "tc_new_aligned", DISCOVER_NEW, FAM_TC },
	{ "tc_newarray_aligned", DISCOVER_NEW, FAM_TC },
	{ "tc_new_aligned_nothrow", DISCOVER_NEW, FAM_TC },
	{ "tc_newarray_aligned_nothrow", DISCOVER_NEW, FAM_TC },
	{ "tc_delete", DISCOVER_FREE, FAM_TC },
	{ "tc_deletearray", DISCOVER_FREE, FAM_TC },
	{ "tc_delete_nothrow", DISCOVER_FREE, FAM_TC },
	{ "tc_deletearray_nothrow", DISCOVER_FREE, FAM_TC },
	{ "tc_delete_aligned", DISCOVER_FREE, FAM_TC },
	{ "tc_deletearray_aligned", DISCOVER_FREE, FAM_TC },
	{ "tc_delete_aligned_nothrow", DISCOVER_FREE, FAM_TC },
	{ "tc_deletearray_aligned_nothrow", DISCOVER_FREE, FAM_TC },
	{ "tc_delete_sized", DISCOVER_SIZED_FREE, FAM_TC },
	{ "tc_deletearray_sized", DISCOVER_SIZED_FREE, FAM_TC },
	{ "tc_delete_sized_aligned", DISCOVER_SIZED_FREE, FAM_TC },
	{ "tc_deletearray_sized_aligned", DISCOVER_SIZED_FREE, FAM_TC },
	/* mimalloc: size comes first in mi_malloc_aligned and mi_new_aligned. */
	{ "mi_malloc", DISCOVER_MALLOC, FAM_MI },
	{ "mi_zalloc", DISCOVER_MALLOC, FAM_MI },
	{ "mi_malloc_aligned", DISCOVER_MALLOC, FAM_MI },
	{ "mi_zalloc_aligned", DISCOVER_MALLOC, FAM_MI },
	{ "mi_calloc", DISCOVER_CALLOC, FAM_MI },
	{ "mi_realloc", DISCOVER_REALLOC, FAM_MI },
	{ "mi_reallocn", DISCOVER_REALLOCARRAY, FAM_MI },
	{ "mi_reallocarray", DISCOVER_REALLOCARRAY, FAM_MI },
	{ "mi_posix_memalign", DISCOVER_POSIX_MEMALIGN, FAM_MI },
	{ "mi_memalign", DISCOVER_MEMALIGN, FAM_MI },
	{ "mi_aligned_alloc", DISCOVER_MEMALIGN, FAM_MI },
	{ "mi_valloc", DISCOVER_VALLOC, FAM_MI },
	{ "mi_pvalloc", DISCOVER_PVALLOC, FAM_MI },
	{ "mi_new", DISCOVER_NEW, FAM_MI },
	{ "mi_new_nothrow", DISCOVER_NEW, FAM_MI },
	{ "mi_new_aligned", DISCOVER_NEW, FAM_MI },
	{ "mi_free", DISCOVER_FREE, FAM_MI },
	{ "mi_free_aligned", DISCOVER_FREE, FAM_MI },
	{ "mi_free_size", DISCOVER_SIZED_FREE, FAM_MI },
	{ "mi_free_size_aligned", DISCOVER_SIZED_FREE, FAM_MI },
	/* C++ (Itanium ABI, size_t is 'm' on x86-64) */
	{ "_Znwm", DISCOVER_NEW, FAM_NEW },
	{ "_Znam", DISCOVER_NEW, FAM_NEW },
	{ "_ZnwmRKSt9nothrow_t", DISCOVER_NEW, FAM_NEW },
	{ "_ZnamRKSt9nothrow_t", DISCOVER_NEW, FAM_NEW },
	{ "_ZnwmSt11align_val_t", DISCOVER_NEW, FAM_NEW },
	{ "_ZnamSt11align_val_t", DISCOVER_NEW, FAM_NEW },
	{ "_ZnwmSt11align_val_tRKSt9nothrow_t", DISCOVER_NEW, FAM_NEW },
	{ "_ZnamSt11align_val_tRKSt9nothrow_t", DISCOVER_NEW, FAM_NEW },
	{ "_ZdlPv", DISCOVER_FREE, FAM_DELETE },
	{ "_ZdaPv", DISCOVER_FREE, FAM_DELETE },
	{ "_ZdlPvRKSt9nothrow_t", DISCOVER_FREE, FAM_DELETE },
	{ "_ZdaPvRKSt9nothrow_t", DISCOVER_FREE, FAM_DELETE },
	{ "_ZdlPvSt11align_val_t", DISCOVER_FREE, FAM_DELETE },
	{ "_ZdaPvSt11align_val_t", DISCOVER_FREE, FAM_DELETE },
	{ "_ZdlPvSt11align_val_tRKSt9nothrow_t", DISCOVER_FREE, FAM_DELETE },
	{ "_ZdaPvSt11align_val_tRKSt9nothrow_t", DISCOVER_FREE, FAM_DELETE },
	{ "_ZdlPvm", DISCOVER_SIZED_FREE, FAM_DELETE },
	{ "_ZdaPvm", DISCOVER_SIZED_FREE, FAM_DELETE },
	{ "_ZdlPvmSt11align_val_t", DISCOVER_SIZED_FREE, FAM_DELETE },
	{ "_ZdaPvmSt11align_val_t", DISCOVER_SIZED_FREE, FAM_DELETE },
	/* glibc's malloc: tcmalloc also defines __libc_malloc, but not these. */
	{ "malloc_trim", DISCOVER_MALLOC, FAM_MARK },
	{ "mallinfo2", DISCOVER_MALLOC, FAM_MARK },
	/*
	 * CPython's object allocator: an object defining PyObject_Malloc makes
	 * the process a CPython one, whose pymalloc arenas are seen where they
	 * come from, the mmap and munmap the process resolves (bpf/heaptrace.h,
	 * HT_PY_ARENA_SIZE).
	 */
	{ "PyObject_Malloc", DISCOVER_MALLOC, FAM_MARK },
	{ "mmap", DISCOVER_PY_ARENA, FAM_PY },
	{ "munmap", DISCOVER_PY_ARENA_FREE, FAM_PY },
};

#define NR_CAT (sizeof(catalog) / sizeof(catalog[0]))

/* Catalogue indices of the names the search and the printer single out. */
enum { CAT_MALLOC = 0, CAT_FREE = 4 };

/* Per BPF entry program, what every kind it serves inherits (bpf/entry_kinds.h). */
static const struct discover_kind_info program_info[HT_NR_ENTRIES] = {
#define PROGRAM_INFO_(ENTRY, prog, SIG, CLASS, always_track)                                       \
	[HT_##ENTRY] = { NULL, #prog "_entry", HT_##ENTRY, HT_SIG_NARGS_##SIG,                     \
			 HT_CLASS_ALLOCATES_##CLASS },
	HT_ENTRY_PROGRAMS(PROGRAM_INFO_)
#undef PROGRAM_INFO_
};

/* Per kind: its name and its program. */
static const struct {
	const char *name;
	enum ht_entry entry;
} kind_rows[DISCOVER_NR_KINDS] = {
#define KIND_ROW_(KIND, name, ENTRY) [DISCOVER_##KIND] = { name, HT_##ENTRY },
	HT_ENTRY_KINDS(KIND_ROW_)
#undef KIND_ROW_
};

/* The two joined: filled once, by tables_init(). */
static struct discover_kind_info kind_info[DISCOVER_NR_KINDS];

/* Where an object defines a catalogue name. */
enum { HIT_NONE, HIT_EXPORTED, HIT_INTERNAL };

struct hit {
	uint64_t value;
	uint8_t where;
};

struct seg {
	uint64_t vaddr, offset, filesz;
};

/* One mapped ELF object while discovery runs. */
struct dobj {
	char *map_path;
	char *path;
	uint32_t dev_major, dev_minor;
	uint64_t inode;
	int err; /* why it could not be read, or 0 */
	int fd;
	Elf *elf;
	bool x86_64;
	char *soname;
	char **needed;
	size_t nr_needed, cap_needed;
	struct seg *segs;
	size_t nr_segs;
	struct hit hits[NR_CAT];
	bool placed;
	enum discover_origin origin;
	unsigned int order;
	/* Filled by resolution: the catalogue names this object wins. */
	bool wins[NR_CAT];
	bool skip[NR_CAT];
	char skip_why[NR_CAT][160];
};

struct discover {
	struct discover_object *objs;
	size_t nr_objs;
	struct dobj **search; /* search list; owns the dobjs' strings */
	size_t nr_search;
	struct dobj *all; /* every mapped ELF object, maps order */
	size_t nr_all;
	enum discover_allocator allocator;
};

/* Catalogue lookup by name: a sorted index built on first use. */
static size_t cat_sorted[NR_CAT];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static int cmp_cat(const void *a, const void *b)
{
	return strcmp(catalog[*(const size_t *)a].name, catalog[*(const size_t *)b].name);
}

static void tables_build(void)
{
	size_t i;

	for (i = 0; i < NR_CAT; i++)
		cat_sorted[i] = i;
	qsort(cat_sorted, NR_CAT, sizeof(cat_sorted[0]), cmp_cat);
	for (i = 0; i < DISCOVER_NR_KINDS; i++) {
		kind_info[i] = program_info[kind_rows[i].entry];
		kind_info[i].name = kind_rows[i].name;
	}
}

/* Once per process, whichever thread asks first. */
static void tables_init(void)
{
	pthread_once(&tables_once, tables_build);
}

/* Catalogue index of `name`, or -1. */
static long cat_find(const char *name)
{
	size_t lo = 0, hi = NR_CAT;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, catalog[cat_sorted[mid]].name);

		if (!c)
			return (long)cat_sorted[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* ------------------------------------------------------------ reading ---- */

static int read_segments(struct dobj *o)
{
	size_t i, nr;

	if (elf_getphdrnum(o->elf, &nr))
		return -ENOEXEC;
	o->segs = calloc(nr ? nr : 1, sizeof(*o->segs));
	if (!o->segs)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(o->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		o->segs[o->nr_segs].vaddr = ph.p_vaddr;
		o->segs[o->nr_segs].offset = ph.p_offset;
		o->segs[o->nr_segs].filesz = ph.p_filesz;
		o->nr_segs++;
	}
	return 0;
}

static int vaddr_to_offset(const struct dobj *o, uint64_t vaddr, uint64_t *offset)
{
	size_t i;

	for (i = 0; i < o->nr_segs; i++) {
		const struct seg *s = &o->segs[i];

		if (vaddr >= s->vaddr && vaddr < s->vaddr + s->filesz) {
			*offset = vaddr - s->vaddr + s->offset;
			return 0;
		}
	}
	return -ENOENT;
}

/* DT_SONAME and DT_NEEDED, in file order. */
static int read_dynamic(struct dobj *o)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(o->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		for (i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Dyn dyn;
			const char *s;

			if (!gelf_getdyn(data, (int)i, &dyn) || dyn.d_tag == DT_NULL)
				break;
			if (dyn.d_tag != DT_NEEDED && dyn.d_tag != DT_SONAME)
				continue;
			s = elf_strptr(o->elf, sh.sh_link, dyn.d_un.d_val);
			if (!s)
				continue;
			if (dyn.d_tag == DT_SONAME) {
				free(o->soname);
				o->soname = strdup(s);
				if (!o->soname)
					return -ENOMEM;
			} else {
				if (VEC_RESERVE(o->needed, o->cap_needed, o->nr_needed + 1))
					return -ENOMEM;
				o->needed[o->nr_needed] = strdup(s);
				if (!o->needed[o->nr_needed])
					return -ENOMEM;
				o->nr_needed++;
			}
		}
		break;
	}
	return 0;
}

/* The GNU version index array parallel to .dynsym, or NULL. */
static Elf_Data *versym_data(Elf *elf)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_versym)
			return elf_getdata(scn, NULL);
	}
	return NULL;
}

/*
 * Records the catalogue names one symbol table defines. Only global or weak
 * functions count; in .dynsym a hidden version (the 0x8000 bit, an old
 * compatibility symbol) or a local one never answers a plain lookup.
 */
static void scan_symbols(struct dobj *o, Elf_Scn *scn, uint8_t where)
{
	Elf_Data *data = elf_getdata(scn, NULL), *vs = NULL;
	GElf_Shdr sh;
	size_t i, n;

	if (!data || !gelf_getshdr(scn, &sh) || !sh.sh_entsize)
		return;
	if (sh.sh_type == SHT_DYNSYM)
		vs = versym_data(o->elf);
	n = sh.sh_size / sh.sh_entsize;
	for (i = 0; i < n; i++) {
		GElf_Sym sym;
		const char *name;
		long c;
		int bind;

		if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
		    GELF_ST_TYPE(sym.st_info) != STT_FUNC || !sym.st_value)
			continue;
		bind = GELF_ST_BIND(sym.st_info);
		if (bind != STB_GLOBAL && bind != STB_WEAK)
			continue;
		/* Hidden names are not exported, but inside an executable's own
		 * code they are still called (static glibc's malloc is hidden). */
		if (sh.sh_type == SHT_DYNSYM && (GELF_ST_VISIBILITY(sym.st_other) == STV_HIDDEN ||
						 GELF_ST_VISIBILITY(sym.st_other) == STV_INTERNAL))
			continue;
		if (vs && (i + 1) * sizeof(uint16_t) <= vs->d_size) {
			uint16_t v = ((const uint16_t *)vs->d_buf)[i];

			if (v == 0 || (v & 0x8000))
				continue;
		}
		name = elf_strptr(o->elf, sh.sh_link, sym.st_name);
		if (!name || (c = cat_find(name)) < 0 || o->hits[c].where == HIT_EXPORTED)
			continue;
		if (where == HIT_INTERNAL && o->hits[c].where)
			continue;
		o->hits[c].value = sym.st_value;
		o->hits[c].where = where;
	}
}

/* Opens one object and reads what the search needs; sets o->err on failure. */
static void dobj_read(struct dobj *o, bool is_exe)
{
	Elf_Scn *scn = NULL, *dynsym = NULL, *symtab = NULL;
	GElf_Ehdr eh;
	int err;

	o->fd = open(o->path, O_RDONLY | O_CLOEXEC);
	if (o->fd < 0) {
		o->err = -errno;
		return;
	}
	o->elf = elf_begin(o->fd, ELF_C_READ_MMAP, NULL);
	if (!o->elf || elf_kind(o->elf) != ELF_K_ELF || !gelf_getehdr(o->elf, &eh)) {
		o->err = -ENOEXEC;
		return;
	}
	o->x86_64 = eh.e_machine == EM_X86_64;
	err = read_segments(o);
	if (!err)
		err = read_dynamic(o);
	if (err) {
		o->err = err;
		return;
	}
	while ((scn = elf_nextscn(o->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNSYM)
			dynsym = scn;
		else if (sh.sh_type == SHT_SYMTAB)
			symtab = scn;
	}
	if (dynsym)
		scan_symbols(o, dynsym, HIT_EXPORTED);
	/* Only the executable's private definitions matter: a library's
	 * .symtab-only names are invisible to every other object. */
	if (is_exe && symtab)
		scan_symbols(o, symtab, dynsym ? HIT_INTERNAL : HIT_EXPORTED);
}

static void dobj_fini(struct dobj *o)
{
	size_t i;

	if (o->elf)
		elf_end(o->elf);
	if (o->fd >= 0)
		close(o->fd);
	for (i = 0; i < o->nr_needed; i++)
		free(o->needed[i]);
	free(o->needed);
	free(o->soname);
	free(o->segs);
	free(o->map_path);
	free(o->path);
}

/* ------------------------------------------------------- search list ---- */

/* The address the process started at (AT_ENTRY), or 0. */
static uint64_t read_entry(pid_t pid)
{
	char path[64];
	uint64_t av[2], entry = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (read(fd, av, sizeof(av)) == (ssize_t)sizeof(av) && av[0] != AT_NULL) {
		if (av[0] == AT_ENTRY) {
			entry = av[1];
			break;
		}
	}
	close(fd);
	return entry;
}

/* Reads a whole small file into a NUL-terminated buffer; *len excludes the NUL. */
static char *read_file(const char *path, size_t *len)
{
	size_t cap = 0, n = 0;
	char *buf = NULL;
	int fd;

	if (VEC_RESERVE(buf, cap, 4096))
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			/* An environment this large is not worth more; nor is failing over it. */
			if (cap >= (1u << 24) || VEC_RESERVE(buf, cap, cap + 1))
				break;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Appends o to the search list unless it is there already or unreadable. */
static void place(struct discover *d, struct dobj *o, enum discover_origin origin)
{
	if (o->placed || o->err)
		return;
	o->placed = true;
	o->origin = origin;
	o->order = (unsigned int)d->nr_search;
	d->search[d->nr_search++] = o;
}

/* A DT_NEEDED or bare preload name: the object of that soname, else of that file name. */
static struct dobj *find_by_name(struct discover *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->nr_all; i++)
		if (d->all[i].soname && !strcmp(d->all[i].soname, name))
			return &d->all[i];
	for (i = 0; i < d->nr_all; i++)
		if (!strcmp(base_name(d->all[i].map_path), name))
			return &d->all[i];
	return NULL;
}

/*
 * A preload entry with a slash is a path in the process's file system; the
 * mapped file is its symlink target, so compare device and inode, and fall
 * back to the file name.
 */
static struct dobj *find_preload(struct discover *d, pid_t pid, const char *entry)
{
	char path[PATH_MAX];
	struct stat st;
	size_t i;

	if (!strchr(entry, '/'))
		return find_by_name(d, entry);
	if (entry[0] == '/' && !procfs__mapped_path(pid, entry, 0, 0, path, sizeof(path)) &&
	    !stat(path, &st)) {
		for (i = 0; i < d->nr_all; i++) {
			struct dobj *o = &d->all[i];

			if (o->inode == st.st_ino && o->dev_major == major(st.st_dev) &&
			    o->dev_minor == minor(st.st_dev))
				return o;
		}
	}
	return find_by_name(d, base_name(entry));
}

/* Places every object a preload list names; separators as the dynamic linker's. */
static void place_preloads(struct discover *d, pid_t pid, char *list, enum discover_origin origin)
{
	char *save = NULL, *tok;

	for (tok = strtok_r(list, " \t\n:", &save); tok; tok = strtok_r(NULL, " \t\n:", &save)) {
		struct dobj *o = find_preload(d, pid, tok);

		if (o)
			place(d, o, origin);
	}
}

static void build_search(struct discover *d, pid_t pid, struct dobj *exe)
{
	char path[PATH_MAX], *buf;
	size_t len, i, j;

	if (exe)
		place(d, exe, DISCOVER_FROM_EXECUTABLE);

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	buf = read_file(path, &len);
	if (buf) {
		const char *p = buf, *end = buf + len;

		for (; p < end; p += strlen(p) + 1) {
			if (!strncmp(p, "LD_PRELOAD=", 11)) {
				char *list = strdup(p + 11);

				if (list)
					place_preloads(d, pid, list, DISCOVER_FROM_LD_PRELOAD);
				free(list);
				break;
			}
		}
		free(buf);
	}
	buf = NULL;
	if (!procfs__mapped_path(pid, "/etc/ld.so.preload", 0, 0, path, sizeof(path)))
		buf = read_file(path, &len);
	if (buf) {
		place_preloads(d, pid, buf, DISCOVER_FROM_PRELOAD_FILE);
		free(buf);
	}
	/* Breadth-first: the list grows while it is walked. */
	for (i = 0; i < d->nr_search; i++) {
		struct dobj *o = d->search[i];

		for (j = 0; j < o->nr_needed; j++) {
			struct dobj *n = find_by_name(d, o->needed[j]);

			if (n)
				place(d, n, DISCOVER_FROM_NEEDED);
		}
	}
	for (i = 0; i < d->nr_all; i++)
		place(d, &d->all[i], DISCOVER_FROM_MAPPED);
}

/* ------------------------------------------------------- resolution ---- */

/* The object and address that a process-wide lookup of catalogue name c gives. */
static struct dobj *resolve(const struct discover *d, size_t c)
{
	size_t i;

	for (i = 0; i < d->nr_search; i++)
		if (d->search[i]->hits[c].where == HIT_EXPORTED)
			return d->search[i];
	return NULL;
}

static bool read_code(const struct dobj *o, uint64_t vaddr, uint8_t *buf, size_t len)
{
	uint64_t off;

	if (vaddr_to_offset(o, vaddr, &off))
		return false;
	return pread(o->fd, buf, len, (off_t)off) == (ssize_t)len;
}

/* The symbol of the relocation that fills GOT slot `slot`, or NULL. */
static const char *got_symbol(const struct dobj *o, uint64_t slot)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(o->elf, scn))) {
		Elf_Data *data, *symdata;
		GElf_Shdr sh, symsh;
		Elf_Scn *symscn;
		size_t i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		symscn = elf_getscn(o->elf, sh.sh_link);
		if (!data || !symscn || !gelf_getshdr(symscn, &symsh))
			continue;
		symdata = elf_getdata(symscn, NULL);
		if (!symdata)
			continue;
		for (i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela r;
			GElf_Sym sym;

			if (!gelf_getrela(data, (int)i, &r) || r.r_offset != slot)
				continue;
			if (!GELF_R_SYM(r.r_info) ||
			    !gelf_getsym(symdata, (int)GELF_R_SYM(r.r_info), &sym))
				return NULL;
			return elf_strptr(o->elf, symsh.sh_link, sym.st_name);
		}
	}
	return NULL;
}

/*
 * One step of a forwarding chain (x86-64 only): if the code at vaddr is a
 * direct jump, where it lands: in this object (*to_obj = o), or through a
 * PLT or GOT stub on the imported catalogue name the process resolves. An
 * endbr64 or a bnd prefix before the jump is skipped.
 */
static bool jump_target(const struct discover *d, const struct dobj *o, uint64_t vaddr,
			const struct dobj **to_obj, uint64_t *to, const char **via)
{
	uint8_t b[16];
	size_t i = 0;
	int32_t rel;

	if (!o->x86_64 || !read_code(o, vaddr, b, sizeof(b)))
		return false;
	if (b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa)
		i = 4;
	if (b[i] == 0xf2)
		i++;
	if (b[i] == 0xe9) {
		memcpy(&rel, b + i + 1, 4);
		*to = vaddr + i + 5 + (int64_t)rel;
	} else if (b[i] == 0xeb) {
		*to = vaddr + i + 2 + (int8_t)b[i + 1];
	} else if (b[i] == 0xff && b[i + 1] == 0x25) {
		/* jmp *slot(%rip): a PLT or GOT stub, or a jump through the GOT itself. */
		const char *name;
		long c;

		memcpy(&rel, b + i + 2, 4);
		name = got_symbol(o, vaddr + i + 6 + (int64_t)rel);
		if (!name || (c = cat_find(name)) < 0 || catalog[c].fam == FAM_MARK)
			return false;
		*to_obj = resolve(d, (size_t)c);
		if (!*to_obj)
			return false;
		*to = (*to_obj)->hits[c].value;
		*via = catalog[c].name;
		return true;
	} else {
		return false;
	}
	*to_obj = o;
	return true;
}

/* A free-family kind: its program releases a block and allocates none. */
static bool is_free_kind(enum discover_entry_kind k)
{
	return !kind_info[k].allocates;
}

/* The catalogue name a free-family entry of `o` won at `value`, or -1. */
static long free_entry_at(const struct dobj *o, uint64_t value)
{
	size_t c;

	for (c = 0; c < NR_CAT; c++)
		if (o->wins[c] && o->hits[c].value == value && is_free_kind(catalog[c].kind))
			return (long)c;
	return -1;
}

/*
 * A free-family entry whose code only jumps (directly, or through the PLT)
 * to another probed free-family entry is skipped: the probe there sees the
 * same pointer, and a second trap per call buys nothing. Each PLT call is
 * two jumps (to the stub, then through the GOT): libstdc++'s operator
 * delete[] takes four to reach free, so allow eight.
 */
static void mark_forwarders(struct discover *d)
{
	size_t i, c;

	for (i = 0; i < d->nr_all; i++) {
		struct dobj *o = &d->all[i];

		for (c = 0; c < NR_CAT; c++) {
			const struct dobj *at = o, *next = NULL;
			const char *via = NULL, *plt = NULL;
			uint64_t addr = o->hits[c].value, to = 0;
			bool ended = false;
			int hops;
			long t;

			if (!o->wins[c] || !is_free_kind(catalog[c].kind))
				continue;
			for (hops = 0; hops < 8 && !ended; hops++) {
				if (!jump_target(d, at, addr, &next, &to, &via)) {
					ended = true;
					break;
				}
				at = next;
				addr = to;
				if (via)
					plt = via;
				via = NULL;
			}
			/* Only a chain that ends in real code names a probe that will fire. */
			if (!hops || !ended || (at == o && addr == o->hits[c].value))
				continue;
			t = free_entry_at(at, addr);
			if (t < 0)
				continue;
			o->skip[c] = true;
			snprintf(o->skip_why[c], sizeof(o->skip_why[c]),
				 "not probed: its code jumps to %s%s%s, which is probed%s%s%s",
				 catalog[t].name, at == o ? "" : " in ",
				 at == o ? "" : base_name(at->map_path),
				 plt ? " (through the PLT entry of " : "", plt ? plt : "",
				 plt ? ")" : "");
		}
	}
}

static enum discover_allocator classify(const struct dobj *o)
{
	static const char *const je[] = { "mallocx", "je_malloc", "je_mallocx", "_rjem_malloc",
					  "_rjem_mallocx" };
	size_t i;

#define HAS(name) (cat_find(name) >= 0 && o->hits[cat_find(name)].where != HIT_NONE)
	if (HAS("tc_malloc"))
		return DISCOVER_ALLOC_TCMALLOC;
	for (i = 0; i < sizeof(je) / sizeof(je[0]); i++)
		if (HAS(je[i]))
			return DISCOVER_ALLOC_JEMALLOC;
	if (HAS("mi_malloc"))
		return DISCOVER_ALLOC_MIMALLOC;
	if (HAS("malloc") || HAS("free"))
		return HAS("malloc_trim") || HAS("mallinfo2") ? DISCOVER_ALLOC_GLIBC
							      : DISCOVER_ALLOC_OTHER;
	if (HAS("_Znwm"))
		return DISCOVER_ALLOC_CXXRT;
#undef HAS
	return DISCOVER_ALLOC_NONE;
}

/* Whether an object of the process defines CPython's PyObject_Malloc. */
static bool has_pymalloc(const struct discover *d)
{
	int c = cat_find("PyObject_Malloc");
	size_t i;

	for (i = 0; c >= 0 && i < d->nr_search; i++)
		if (d->search[i]->hits[c].where != HIT_NONE)
			return true;
	return false;
}

static void resolve_all(struct discover *d, struct dobj *exe)
{
	bool python = has_pymalloc(d);
	size_t c;

	for (c = 0; c < NR_CAT; c++) {
		struct dobj *o;

		if (catalog[c].fam == FAM_MARK || (catalog[c].fam == FAM_PY && !python))
			continue;
		o = resolve(d, c);
		if (o)
			o->wins[c] = true;
		/* The executable's own calls bind to its private definition. */
		if (exe && exe->hits[c].where == HIT_INTERNAL)
			exe->wins[c] = true;
	}
}

/* Builds the public object list from the resolution. */
static int build_objects(struct discover *d)
{
	struct strbuf *aliases = NULL;
	size_t i, c, k;
	int err = 0;

	d->objs = calloc(d->nr_search ? d->nr_search : 1, sizeof(*d->objs));
	if (!d->objs)
		return -ENOMEM;
	for (i = 0; i < d->nr_search; i++) {
		struct dobj *o = d->search[i];
		struct discover_object *out = &d->objs[d->nr_objs];
		size_t nwin = 0;

		for (c = 0; c < NR_CAT; c++)
			nwin += o->wins[c];
		if (!nwin)
			continue;
		out->path = strdup(o->path);
		out->map_path = strdup(o->map_path);
		out->entries = calloc(nwin, sizeof(*out->entries));
		out->skipped = calloc(nwin, sizeof(*out->skipped));
		/* Per entry, while its aliases are collected. */
		aliases = calloc(nwin, sizeof(*aliases));
		if (!out->path || !out->map_path || !out->entries || !out->skipped || !aliases) {
			d->nr_objs++; /* so that discover__free releases it */
			err = -ENOMEM;
			goto cleanup;
		}
		out->allocator = classify(o);
		out->origin = o->origin;
		out->order = o->order;
		if (o->wins[CAT_MALLOC])
			out->serves |= DISCOVER_SERVES_MALLOC;
		if (o->wins[CAT_FREE])
			out->serves |= DISCOVER_SERVES_FREE;
		if (o->wins[cat_find("_Znwm")])
			out->serves |= DISCOVER_SERVES_NEW;
		for (c = 0; c < NR_CAT; c++) {
			struct discover_entry *e = NULL;

			if (!o->wins[c])
				continue;
			if (o->skip[c]) {
				struct discover_skip *s = &out->skipped[out->nr_skipped++];

				s->symbol = catalog[c].name;
				snprintf(s->why, sizeof(s->why), "%s", o->skip_why[c]);
				continue;
			}
			/* One probe per address: a later name is an alias of the first. */
			for (k = 0; k < out->nr_entries; k++)
				if (out->entries[k].value == o->hits[c].value)
					e = &out->entries[k];
			if (e) {
				struct strbuf *sb = &aliases[e - out->entries];

				strbuf__addf(sb, "%s%s", sb->len ? " " : "", catalog[c].name);
				continue;
			}
			e = &out->entries[out->nr_entries];
			if (vaddr_to_offset(o, o->hits[c].value, &e->offset))
				continue; /* not in any loaded segment: nothing to probe */
			out->nr_entries++;
			e->symbol = catalog[c].name;
			e->kind = catalog[c].kind;
			e->value = o->hits[c].value;
			e->internal = o->hits[c].where == HIT_INTERNAL;
		}
		/* The entries own their aliases from here; an empty list is never allocated. */
		for (k = 0; k < nwin; k++) {
			if (aliases[k].failed)
				err = -ENOMEM;
			if (k < out->nr_entries) {
				out->entries[k].aliases = aliases[k].len ? aliases[k].buf : "";
				if (aliases[k].len)
					aliases[k] = (struct strbuf){ 0 };
			}
			strbuf__release(&aliases[k]);
		}
		free(aliases);
		aliases = NULL;
		d->nr_objs++;
		if (err)
			return err;
	}
	return 0;
cleanup:
	free(aliases);
	return err;
}

/* Collects the mapped ELF candidates: file-backed, with executable code, once each. */
static int collect(struct discover *d, const struct procmaps *pm, pid_t pid, uint64_t entry,
		   struct dobj **exe)
{
	size_t i, j;

	d->all = calloc(pm->nr ? pm->nr : 1, sizeof(*d->all));
	if (!d->all)
		return -ENOMEM;
	for (i = 0; i < pm->nr; i++) {
		const struct procmap *m = &pm->maps[i];
		struct dobj *o = NULL;
		char buf[PATH_MAX + 64];

		if (m->path[0] != '/' || m->perms[2] != 'x')
			continue;
		for (j = 0; j < d->nr_all && !o; j++)
			if (!strcmp(d->all[j].map_path, m->path))
				o = &d->all[j];
		if (!o) {
			o = &d->all[d->nr_all++];
			o->fd = -1;
			o->map_path = strdup(m->path);
			/* A replaced file is still reachable through the mapping itself. A path
			 * too long to open is kept in the list, unread. */
			o->err =
			    procfs__mapped_path(pid, m->path, m->start, m->end, buf, sizeof(buf));
			o->path = strdup(o->err ? m->path : buf);
			if (!o->map_path || !o->path)
				return -ENOMEM;
			o->dev_major = m->dev_major;
			o->dev_minor = m->dev_minor;
			o->inode = m->inode;
		}
		if (entry && entry >= m->start && entry < m->end)
			*exe = o;
	}
	/* Without auxv, the lowest file mapping is the executable on every loader we know. */
	if (!*exe && d->nr_all && !entry)
		*exe = &d->all[0];
	for (i = 0; i < d->nr_all; i++)
		if (!d->all[i].err)
			dobj_read(&d->all[i], &d->all[i] == *exe);
	return 0;
}

int discover__run(const struct procmaps *pm, pid_t pid, struct discover **out)
{
	struct discover *d;
	struct dobj *exe = NULL;
	char proc[64];
	int err;

	*out = NULL;
	tables_init();
	elf_version(EV_CURRENT);
	snprintf(proc, sizeof(proc), "/proc/%d", pid);
	if (access(proc, F_OK))
		return -ESRCH;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	err = collect(d, pm, pid, read_entry(pid), &exe);
	if (err)
		goto cleanup;
	d->search = calloc(d->nr_all ? d->nr_all : 1, sizeof(*d->search));
	if (!d->search) {
		err = -ENOMEM;
		goto cleanup;
	}
	build_search(d, pid, exe && !exe->err ? exe : NULL);
	resolve_all(d, exe && !exe->err ? exe : NULL);
	mark_forwarders(d);
	err = build_objects(d);
	if (err)
		goto cleanup;
	{
		const struct discover_object *m = discover__serving(d, DISCOVER_SERVES_MALLOC);

		d->allocator = m ? m->allocator : DISCOVER_ALLOC_NONE;
	}
	*out = d;
	return 0;
cleanup:
	discover__free(d);
	return err;
}

void discover__free(struct discover *d)
{
	size_t i, j;

	if (!d)
		return;
	for (i = 0; i < d->nr_objs; i++) {
		for (j = 0; j < d->objs[i].nr_entries; j++) {
			const char *a = d->objs[i].entries[j].aliases;

			/* "" is a literal: only a list of names was allocated. */
			if (a && a[0])
				free((char *)a);
		}
		free(d->objs[i].path);
		free(d->objs[i].map_path);
		free(d->objs[i].entries);
		free(d->objs[i].skipped);
	}
	free(d->objs);
	for (i = 0; i < d->nr_all; i++)
		dobj_fini(&d->all[i]);
	free(d->all);
	free(d->search);
	free(d);
}

size_t discover__nr_objects(const struct discover *d)
{
	return d->nr_objs;
}

const struct discover_object *discover__object(const struct discover *d, size_t i)
{
	return i < d->nr_objs ? &d->objs[i] : NULL;
}

const struct discover_object *discover__serving(const struct discover *d, unsigned int serves)
{
	size_t i;

	for (i = 0; i < d->nr_objs; i++)
		if (d->objs[i].serves & serves)
			return &d->objs[i];
	return NULL;
}

enum discover_allocator discover__allocator(const struct discover *d)
{
	return d->allocator;
}

size_t discover__nr_unread(const struct discover *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->nr_all; i++)
		n += d->all[i].err && d->all[i].err != -ENOEXEC;
	return n;
}

size_t discover__nr_searched(const struct discover *d)
{
	return d->nr_all; /* the search list, then the unreadable objects */
}

const char *discover__searched(const struct discover *d, size_t i, enum discover_origin *origin,
			       int *err)
{
	const struct dobj *o = NULL;
	size_t j, k = d->nr_search;

	if (i < d->nr_search) {
		o = d->search[i];
	} else {
		/* Unreadable objects follow the list, in maps order. */
		for (j = 0; j < d->nr_all; j++) {
			if (d->all[j].placed)
				continue;
			if (k++ == i) {
				o = &d->all[j];
				break;
			}
		}
	}
	if (!o)
		return NULL;
	if (origin)
		*origin = o->placed ? o->origin : DISCOVER_FROM_MAPPED;
	if (err)
		*err = o->err;
	return o->map_path;
}

const char *discover__allocator_name(enum discover_allocator a)
{
	switch (a) {
	case DISCOVER_ALLOC_NONE:
		return "none";
	case DISCOVER_ALLOC_GLIBC:
		return "glibc";
	case DISCOVER_ALLOC_JEMALLOC:
		return "jemalloc";
	case DISCOVER_ALLOC_TCMALLOC:
		return "tcmalloc";
	case DISCOVER_ALLOC_MIMALLOC:
		return "mimalloc";
	case DISCOVER_ALLOC_CXXRT:
		return "C++ runtime";
	case DISCOVER_ALLOC_OTHER:
		return "other";
	}
	return "?";
}

const char *discover__origin_name(enum discover_origin o)
{
	switch (o) {
	case DISCOVER_FROM_EXECUTABLE:
		return "executable";
	case DISCOVER_FROM_LD_PRELOAD:
		return "LD_PRELOAD";
	case DISCOVER_FROM_PRELOAD_FILE:
		return "/etc/ld.so.preload";
	case DISCOVER_FROM_NEEDED:
		return "DT_NEEDED";
	case DISCOVER_FROM_MAPPED:
		return "mapped";
	}
	return "?";
}

const struct discover_kind_info *discover__kind_info(enum discover_entry_kind k)
{
	tables_init();
	return k < DISCOVER_NR_KINDS ? &kind_info[k] : NULL;
}

/* ------------------------------------------------------------ printing ---- */

/* Why object `o` serves name `sym`, in words. */
static void entry_why(const struct discover_object *o, const struct discover_entry *e, char *buf,
		      size_t len)
{
	if (e->internal)
		snprintf(buf, len, "the executable defines %s privately (.symtab): its own calls",
			 e->symbol);
	else if (o->origin == DISCOVER_FROM_EXECUTABLE)
		snprintf(buf, len, "the executable defines %s", e->symbol);
	else if (o->origin == DISCOVER_FROM_LD_PRELOAD || o->origin == DISCOVER_FROM_PRELOAD_FILE)
		snprintf(buf, len, "%s: first object defining %s", discover__origin_name(o->origin),
			 e->symbol);
	else
		snprintf(buf, len, "first object defining %s in link order", e->symbol);
}

static void serves_text(unsigned int serves, char *buf, size_t len)
{
	static const char *const names[] = { "malloc", "free", "operator new" };
	size_t i, n;

	n = (size_t)snprintf(buf, len, "%s", serves ? "serves" : "serves only the names below");
	for (i = 0; i < 3 && n < len; i++) {
		if (!(serves & (1u << i)))
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s %s",
				      serves & ((1u << i) - 1) ? "," : "", names[i]);
	}
}

int discover__write(const struct discover *d, pid_t pid, FILE *f)
{
	const struct discover_object *m = discover__serving(d, DISCOVER_SERVES_MALLOC);
	char comm[32], why[256], serves[96], exe[256] = "", name[320];
	size_t i, j;

	/* A process gone meanwhile is still written about, as "?". */
	snprintf(comm, sizeof(comm), "?");
	procfs__read_comm(pid, comm, sizeof(comm));
	procname__exe(pid, exe, sizeof(exe));
	procname__describe(comm, exe, name, sizeof(name));
	if (m)
		fprintf(f, "pid %d (%s): malloc is %s's, from %s\n", pid, name,
			discover__allocator_name(m->allocator), m->map_path);
	else if (discover__nr_unread(d))
		fprintf(f,
			"pid %d (%s): no object read defines malloc, and %zu mapped files could "
			"not be read (see \"not read\" below): nothing to probe\n",
			pid, comm, discover__nr_unread(d));
	else
		fprintf(f,
			"pid %d (%s): no mapped object defines malloc (a stripped static binary?): "
			"nothing to probe\n",
			pid, name);
	fprintf(f, "search order (the dynamic linker's, approximated):\n");
	for (i = 0; i < discover__nr_searched(d); i++) {
		enum discover_origin origin;
		const char *p;
		int err;

		p = discover__searched(d, i, &origin, &err);
		if (err)
			fprintf(f, "  %3zu %s: not read: %s\n", i, p, strerror(-err));
		else
			fprintf(f, "  %3zu %s (%s)\n", i, p, discover__origin_name(origin));
	}
	for (i = 0; i < d->nr_objs; i++) {
		const struct discover_object *o = &d->objs[i];

		serves_text(o->serves, serves, sizeof(serves));
		fprintf(f, "object %s: %s, %s, search position %u (%s)\n", o->path,
			discover__allocator_name(o->allocator), serves, o->order,
			discover__origin_name(o->origin));
		for (j = 0; j < o->nr_entries; j++) {
			const struct discover_entry *e = &o->entries[j];

			entry_why(o, e, why, sizeof(why));
			fprintf(f, "  probe %-34s %-19s offset 0x%-8llx %s -> %s%s%s\n", e->symbol,
				kind_info[e->kind].name, (unsigned long long)e->offset, why,
				kind_info[e->kind].program, e->aliases[0] ? "; aliases: " : "",
				e->aliases);
		}
		for (j = 0; j < o->nr_skipped; j++)
			fprintf(f, "  skip  %-34s %s\n", o->skipped[j].symbol, o->skipped[j].why);
	}
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

int discover__print(FILE *f, pid_t pid)
{
	struct procmaps *pm = NULL;
	struct discover *d = NULL;
	int err;

	err = procmaps__load(pid, &pm);
	if (!err && pm->nr == 0)
		err = -ESRCH;
	if (err) {
		fprintf(f, "cannot read the maps of pid %d: %s\n", pid, strerror(-err));
		goto cleanup;
	}
	err = discover__run(pm, pid, &d);
	if (err) {
		fprintf(f, "cannot discover the allocator of pid %d: %s\n", pid, strerror(-err));
		goto cleanup;
	}
	err = discover__write(d, pid, f);
cleanup:
	discover__free(d);
	procmaps__free(pm);
	return err;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * pprof.c - build a Go-style pprof heap profile and write it gzipped.
 *
 * Everything is kept in flat, growable arrays with open-addressing hash
 * tables over them, so each add is O(1) amortized even with hundreds of
 * thousands of distinct stacks. The protobuf-c message graph (which wants
 * arrays of pointers) is only built for the duration of pprof__write_gz().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "profile.pb-c.h"
#include "pprof.h"

/* Ids are stored in 32 bits; a profile never gets near that. */
#define PPROF_MAX_ID (UINT32_MAX - 1)

/* Staging buffers between protobuf-c's many tiny appends, zlib and write(2). */
#define GZ_IN_SIZE  (64 * 1024)
#define GZ_OUT_SIZE (64 * 1024)

/* One hash table slot: ref is an array index + 1, so 0 marks an empty slot. */
struct hslot {
	uint32_t hash;
	uint32_t ref;
};

struct htab {
	struct hslot *slots;
	size_t mask; /* capacity - 1; capacity is a power of two */
	size_t len;
};

struct pprof_loc {
	uint64_t address;
	uint64_t mapping_id;
	uint32_t nlines; /* its lines follow the previous location's in b->lines */
};

struct pprof_sample {
	int64_t values[PPROF_NR_VALUES];
	int64_t bytes_label; /* 0: no label */
	uint32_t nlocs;	     /* its ids follow the previous sample's in b->loc_ids */
};

struct pprof_builder {
	int64_t period;
	int64_t time_nanos;
	int64_t duration_nanos;

	char **strings;
	size_t nstrings, strings_cap;
	struct htab string_tab;

	Perftools__Profiles__Mapping *mappings;
	size_t nmappings, mappings_cap;
	struct htab mapping_tab;

	Perftools__Profiles__Function *functions;
	size_t nfunctions, functions_cap;
	struct htab function_tab;

	struct pprof_loc *locs;
	size_t nlocs, locs_cap;
	struct htab loc_tab;

	Perftools__Profiles__Line *lines;
	size_t nlines, lines_cap;

	struct pprof_sample *samples;
	size_t nsamples, samples_cap;

	uint64_t *loc_ids;
	size_t nloc_ids, loc_ids_cap;

	int64_t *comments;
	size_t ncomments, comments_cap;

	/* String indices of the fixed heap-profile vocabulary. */
	int64_t str_types[PPROF_NR_VALUES], str_units[PPROF_NR_VALUES];
	int64_t str_space, str_bytes;
};

/* Makes room for `need` elements, doubling so appends stay amortized O(1). */
static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / elem)
			return -ENOMEM;
		ncap *= 2;
	}
	p = realloc(*arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Through a real void *: writing a T * via a (void **) cast breaks strict aliasing. */
#define GROW(arr, cap, need)                                                                       \
	({                                                                                         \
		void *grow_p_ = (arr);                                                             \
		int grow_err_ = grow(&grow_p_, &(cap), (need), sizeof(*(arr)));                    \
		if (!grow_err_)                                                                    \
			(arr) = grow_p_;                                                           \
		grow_err_;                                                                         \
	})

static uint64_t mix64(uint64_t h)
{
	/* splitmix64's finalizer: cheap, and every input bit reaches the low bits we mask. */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

static uint32_t fold(uint64_t h)
{
	return (uint32_t)(h ^ (h >> 32));
}

static uint32_t hash_str(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return fold(mix64(h));
}

static uint32_t hash_u64s(const uint64_t *v, size_t n)
{
	uint64_t h = 0;
	size_t i;

	for (i = 0; i < n; i++)
		h = mix64(h ^ v[i]) + i;
	return fold(h);
}

/* Keeps the load factor at most 1/2 so probe sequences stay short. */
static int htab_reserve(struct htab *t)
{
	struct hslot *slots;
	size_t cap, i;

	if (t->slots && (t->len + 1) * 2 <= t->mask + 1)
		return 0;
	cap = t->slots ? (t->mask + 1) * 2 : 64;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	if (t->slots) {
		for (i = 0; i <= t->mask; i++) {
			size_t j = t->slots[i].hash & (cap - 1);

			if (!t->slots[i].ref)
				continue;
			while (slots[j].ref)
				j = (j + 1) & (cap - 1);
			slots[j] = t->slots[i];
		}
		free(t->slots);
	}
	t->slots = slots;
	t->mask = cap - 1;
	return 0;
}

typedef bool (*htab_eq_fn)(const struct pprof_builder *b, uint32_t ref, const void *key);

/*
 * Returns the slot holding the entry equal to `key`, or the empty slot
 * where it belongs (ref == 0); NULL only when the table was never reserved.
 */
static struct hslot *htab_find(const struct htab *t, uint32_t hash, htab_eq_fn eq,
			       const struct pprof_builder *b, const void *key)
{
	size_t i;

	if (!t->slots)
		return NULL;
	for (i = hash & t->mask;; i = (i + 1) & t->mask) {
		struct hslot *s = &t->slots[i];

		if (!s->ref)
			return s;
		if (s->hash == hash && eq(b, s->ref, key))
			return s;
	}
}

static void htab_free(struct htab *t)
{
	free(t->slots);
	t->slots = NULL;
	t->mask = t->len = 0;
}

static bool string_eq(const struct pprof_builder *b, uint32_t ref, const void *key)
{
	return strcmp(b->strings[ref - 1], key) == 0;
}

/* Returns the string table index of `s` (NULL is ""), or a negative errno. */
static int64_t intern(struct pprof_builder *b, const char *s)
{
	struct hslot *slot;
	uint32_t hash;
	size_t len;
	char *copy;
	int err;

	if (!s)
		s = "";
	len = strlen(s);
	hash = hash_str(s, len);
	err = htab_reserve(&b->string_tab);
	if (err)
		return err;
	slot = htab_find(&b->string_tab, hash, string_eq, b, s);
	if (slot->ref)
		return slot->ref - 1;
	if (b->nstrings >= PPROF_MAX_ID)
		return -EOVERFLOW;
	err = GROW(b->strings, b->strings_cap, b->nstrings + 1);
	if (err)
		return err;
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, s, len + 1);
	b->strings[b->nstrings++] = copy;
	slot->hash = hash;
	slot->ref = b->nstrings;
	b->string_tab.len++;
	return b->nstrings - 1;
}

struct pprof_builder *pprof__new(int64_t period, int64_t time_nanos, int64_t duration_nanos)
{
	static const char *const types[PPROF_NR_VALUES] = {"alloc_objects", "alloc_space",
							   "inuse_objects", "inuse_space"};
	static const char *const units[PPROF_NR_VALUES] = {"count", "bytes", "count", "bytes"};
	struct pprof_builder *b;
	int64_t idx;
	int i;

	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->period = period;
	b->time_nanos = time_nanos;
	b->duration_nanos = duration_nanos;

	/* pprof requires string_table[0] == "". */
	if (intern(b, "") != 0)
		goto fail;
	for (i = 0; i < PPROF_NR_VALUES; i++) {
		idx = intern(b, types[i]);
		if (idx < 0)
			goto fail;
		b->str_types[i] = idx;
		idx = intern(b, units[i]);
		if (idx < 0)
			goto fail;
		b->str_units[i] = idx;
	}
	b->str_space = intern(b, "space");
	b->str_bytes = intern(b, "bytes");
	if (b->str_space < 0 || b->str_bytes < 0)
		goto fail;
	return b;

fail:
	pprof__free(b);
	return NULL;
}

struct mapping_key {
	uint64_t start, limit, offset;
	int64_t file;
};

static bool mapping_eq(const struct pprof_builder *b, uint32_t ref, const void *key)
{
	const Perftools__Profiles__Mapping *m = &b->mappings[ref - 1];
	const struct mapping_key *k = key;

	return m->memory_start == k->start && m->memory_limit == k->limit &&
	       m->file_offset == k->offset && m->filename == k->file;
}

int64_t pprof__add_mapping(struct pprof_builder *b, const struct pprof_mapping_info *m)
{
	Perftools__Profiles__Mapping init = PERFTOOLS__PROFILES__MAPPING__INIT, *pm;
	struct mapping_key k;
	struct hslot *slot;
	int64_t file, build_id;
	uint32_t hash;
	int err;

	if (!b || !m)
		return -EINVAL;
	file = intern(b, m->file);
	if (file < 0)
		return file;
	build_id = intern(b, m->build_id);
	if (build_id < 0)
		return build_id;

	k = (struct mapping_key){
	    .start = m->start, .limit = m->limit, .offset = m->offset, .file = file};
	hash = hash_u64s((const uint64_t[]){k.start, k.limit, k.offset, (uint64_t)k.file}, 4);
	err = htab_reserve(&b->mapping_tab);
	if (err)
		return err;
	slot = htab_find(&b->mapping_tab, hash, mapping_eq, b, &k);
	if (slot->ref)
		return slot->ref;
	if (b->nmappings >= PPROF_MAX_ID)
		return -EOVERFLOW;
	err = GROW(b->mappings, b->mappings_cap, b->nmappings + 1);
	if (err)
		return err;

	pm = &b->mappings[b->nmappings++];
	*pm = init;
	pm->id = b->nmappings;
	pm->memory_start = m->start;
	pm->memory_limit = m->limit;
	pm->file_offset = m->offset;
	pm->filename = file;
	pm->build_id = build_id;
	pm->has_functions = m->has_functions;
	pm->has_filenames = m->has_filenames;
	pm->has_line_numbers = m->has_line_numbers;
	pm->has_inline_frames = m->has_inline_frames;
	slot->hash = hash;
	slot->ref = pm->id;
	b->mapping_tab.len++;
	return pm->id;
}

static bool function_eq(const struct pprof_builder *b, uint32_t ref, const void *key)
{
	const Perftools__Profiles__Function *f = &b->functions[ref - 1];
	const Perftools__Profiles__Function *k = key;

	return f->name == k->name && f->system_name == k->system_name &&
	       f->filename == k->filename && f->start_line == k->start_line;
}

static int64_t add_function(struct pprof_builder *b, const struct pprof_frame *fr)
{
	Perftools__Profiles__Function k = PERFTOOLS__PROFILES__FUNCTION__INIT;
	struct hslot *slot;
	uint32_t hash;
	int err;

	k.name = intern(b, fr->function);
	if (k.name < 0)
		return k.name;
	k.system_name = fr->system_name ? intern(b, fr->system_name) : k.name;
	if (k.system_name < 0)
		return k.system_name;
	k.filename = intern(b, fr->file);
	if (k.filename < 0)
		return k.filename;
	k.start_line = fr->start_line;

	hash = hash_u64s((const uint64_t[]){k.name, k.system_name, k.filename, k.start_line}, 4);
	err = htab_reserve(&b->function_tab);
	if (err)
		return err;
	slot = htab_find(&b->function_tab, hash, function_eq, b, &k);
	if (slot->ref)
		return slot->ref;
	if (b->nfunctions >= PPROF_MAX_ID)
		return -EOVERFLOW;
	err = GROW(b->functions, b->functions_cap, b->nfunctions + 1);
	if (err)
		return err;
	k.id = b->nfunctions + 1;
	b->functions[b->nfunctions++] = k;
	slot->hash = hash;
	slot->ref = k.id;
	b->function_tab.len++;
	return k.id;
}

static bool loc_eq(const struct pprof_builder *b, uint32_t ref, const void *key)
{
	const struct pprof_loc *l = &b->locs[ref - 1];
	const uint64_t *k = key;

	return l->address == k[0] && l->mapping_id == k[1];
}

int64_t pprof__add_location(struct pprof_builder *b, uint64_t address, uint64_t mapping_id,
			    const struct pprof_frame *frames, size_t nframes)
{
	const uint64_t key[2] = {address, mapping_id};
	size_t saved_nlines;
	struct hslot *slot;
	uint32_t hash;
	int64_t ret;
	size_t i;

	if (!b || (nframes && !frames) || mapping_id > b->nmappings)
		return -EINVAL;
	hash = hash_u64s(key, 2);
	slot = htab_find(&b->loc_tab, hash, loc_eq, b, key);
	if (slot && slot->ref)
		return slot->ref;
	if (b->nlocs >= PPROF_MAX_ID || nframes > PPROF_MAX_ID)
		return -EOVERFLOW;

	/* A location's lines must be contiguous: undo a partial append on error. */
	saved_nlines = b->nlines;
	for (i = 0; i < nframes; i++) {
		const struct pprof_frame *fr = &frames[i];
		Perftools__Profiles__Line line = PERFTOOLS__PROFILES__LINE__INIT;

		/* A frame with neither name nor file tells pprof nothing: leave it out. */
		if (!fr->function && !fr->file)
			continue;
		ret = add_function(b, fr);
		if (ret < 0)
			goto cleanup;
		line.function_id = ret;
		line.line = fr->line;
		ret = GROW(b->lines, b->lines_cap, b->nlines + 1);
		if (ret)
			goto cleanup;
		b->lines[b->nlines++] = line;
	}

	ret = htab_reserve(&b->loc_tab);
	if (ret)
		goto cleanup;
	ret = GROW(b->locs, b->locs_cap, b->nlocs + 1);
	if (ret)
		goto cleanup;
	b->locs[b->nlocs++] = (struct pprof_loc){
	    .address = address,
	    .mapping_id = mapping_id,
	    .nlines = b->nlines - saved_nlines,
	};
	/* The table may have grown since the first lookup. */
	slot = htab_find(&b->loc_tab, hash, loc_eq, b, key);
	slot->hash = hash;
	slot->ref = b->nlocs;
	b->loc_tab.len++;
	return b->nlocs;

cleanup:
	b->nlines = saved_nlines;
	return ret;
}

int pprof__add_sample(struct pprof_builder *b, const uint64_t *location_ids, size_t n,
		      const int64_t values[PPROF_NR_VALUES], int64_t bytes_label)
{
	struct pprof_sample *s;
	size_t i;
	int err;

	if (!b || !values || (n && !location_ids))
		return -EINVAL;
	/* pprof rejects a profile that names a location it does not hold. */
	for (i = 0; i < n; i++) {
		if (!location_ids[i] || location_ids[i] > b->nlocs)
			return -EINVAL;
	}
	if (n > PPROF_MAX_ID)
		return -EOVERFLOW;
	err = GROW(b->loc_ids, b->loc_ids_cap, b->nloc_ids + n);
	if (err)
		return err;
	err = GROW(b->samples, b->samples_cap, b->nsamples + 1);
	if (err)
		return err;
	if (n)
		memcpy(b->loc_ids + b->nloc_ids, location_ids, n * sizeof(*location_ids));
	b->nloc_ids += n;
	s = &b->samples[b->nsamples++];
	memcpy(s->values, values, sizeof(s->values));
	s->bytes_label = bytes_label > 0 ? bytes_label : 0;
	s->nlocs = n;
	return 0;
}

int pprof__add_comment(struct pprof_builder *b, const char *comment)
{
	int64_t idx;
	int err;

	if (!b || !comment)
		return -EINVAL;
	idx = intern(b, comment);
	if (idx < 0)
		return idx;
	err = GROW(b->comments, b->comments_cap, b->ncomments + 1);
	if (err)
		return err;
	b->comments[b->ncomments++] = idx;
	return 0;
}

/*
 * A ProtobufCBuffer that gzips into a file descriptor, so the encoded
 * profile never has to be held in memory whole.
 */
struct gz_sink {
	ProtobufCBuffer base; /* first: sink_append() casts back from it */
	z_stream zs;
	int fd;
	int err;
	size_t in_len;
	unsigned char in[GZ_IN_SIZE];
	unsigned char out[GZ_OUT_SIZE];
};

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

/* Hands the staged input to zlib and writes out everything it produces. */
static int sink_deflate(struct gz_sink *s, int flush)
{
	int ret, err;

	s->zs.next_in = s->in;
	s->zs.avail_in = s->in_len;
	do {
		s->zs.next_out = s->out;
		s->zs.avail_out = sizeof(s->out);
		ret = deflate(&s->zs, flush);
		if (ret == Z_STREAM_ERROR)
			return -EIO;
		err = write_all(s->fd, s->out, sizeof(s->out) - s->zs.avail_out);
		if (err)
			return err;
	} while (s->zs.avail_out == 0);
	s->in_len = 0;
	if (flush == Z_FINISH && ret != Z_STREAM_END)
		return -EIO;
	return 0;
}

static void sink_append(ProtobufCBuffer *buf, size_t len, const uint8_t *data)
{
	struct gz_sink *s = (struct gz_sink *)buf;
	size_t n;

	/* protobuf-c appends a few bytes at a time: batch them before deflate(). */
	while (len && !s->err) {
		n = sizeof(s->in) - s->in_len;
		if (n > len)
			n = len;
		memcpy(s->in + s->in_len, data, n);
		s->in_len += n;
		data += n;
		len -= n;
		if (s->in_len == sizeof(s->in))
			s->err = sink_deflate(s, Z_NO_FLUSH);
	}
}

static void *alloc_array(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

/* Builds the protobuf-c message graph over the builder's arrays and streams it. */
static int encode(struct pprof_builder *b, int fd)
{
	Perftools__Profiles__Profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType vt_init = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	Perftools__Profiles__Location loc_init = PERFTOOLS__PROFILES__LOCATION__INIT;
	Perftools__Profiles__Sample sample_init = PERFTOOLS__PROFILES__SAMPLE__INIT;
	Perftools__Profiles__Label label_init = PERFTOOLS__PROFILES__LABEL__INIT;
	Perftools__Profiles__ValueType types[PPROF_NR_VALUES], *type_ptrs[PPROF_NR_VALUES];
	Perftools__Profiles__ValueType period_type = vt_init;
	Perftools__Profiles__Mapping **mapping_ptrs = NULL;
	Perftools__Profiles__Function **function_ptrs = NULL;
	Perftools__Profiles__Location *locs = NULL, **loc_ptrs = NULL;
	Perftools__Profiles__Line **line_ptrs = NULL;
	Perftools__Profiles__Sample *samples = NULL, **sample_ptrs = NULL;
	Perftools__Profiles__Label *labels = NULL, **label_ptrs = NULL;
	struct gz_sink *sink = NULL;
	bool zinit = false;
	size_t i, line_pos = 0, id_pos = 0, nlabels = 0;
	int ret;

	mapping_ptrs = alloc_array(b->nmappings, sizeof(*mapping_ptrs));
	function_ptrs = alloc_array(b->nfunctions, sizeof(*function_ptrs));
	locs = alloc_array(b->nlocs, sizeof(*locs));
	loc_ptrs = alloc_array(b->nlocs, sizeof(*loc_ptrs));
	line_ptrs = alloc_array(b->nlines, sizeof(*line_ptrs));
	samples = alloc_array(b->nsamples, sizeof(*samples));
	sample_ptrs = alloc_array(b->nsamples, sizeof(*sample_ptrs));
	labels = alloc_array(b->nsamples, sizeof(*labels));
	label_ptrs = alloc_array(b->nsamples, sizeof(*label_ptrs));
	sink = malloc(sizeof(*sink));
	if (!mapping_ptrs || !function_ptrs || !locs || !loc_ptrs || !line_ptrs || !samples ||
	    !sample_ptrs || !labels || !label_ptrs || !sink) {
		ret = -ENOMEM;
		goto cleanup;
	}

	for (i = 0; i < PPROF_NR_VALUES; i++) {
		types[i] = vt_init;
		types[i].type = b->str_types[i];
		types[i].unit = b->str_units[i];
		type_ptrs[i] = &types[i];
	}
	period_type.type = b->str_space;
	period_type.unit = b->str_bytes;

	for (i = 0; i < b->nmappings; i++)
		mapping_ptrs[i] = &b->mappings[i];
	for (i = 0; i < b->nfunctions; i++)
		function_ptrs[i] = &b->functions[i];
	for (i = 0; i < b->nlines; i++)
		line_ptrs[i] = &b->lines[i];
	for (i = 0; i < b->nlocs; i++) {
		locs[i] = loc_init;
		locs[i].id = i + 1;
		locs[i].mapping_id = b->locs[i].mapping_id;
		locs[i].address = b->locs[i].address;
		locs[i].n_line = b->locs[i].nlines;
		locs[i].line = b->locs[i].nlines ? &line_ptrs[line_pos] : NULL;
		line_pos += b->locs[i].nlines;
		loc_ptrs[i] = &locs[i];
	}
	for (i = 0; i < b->nsamples; i++) {
		struct pprof_sample *s = &b->samples[i];

		samples[i] = sample_init;
		samples[i].n_location_id = s->nlocs;
		samples[i].location_id = s->nlocs ? &b->loc_ids[id_pos] : NULL;
		id_pos += s->nlocs;
		samples[i].n_value = PPROF_NR_VALUES;
		samples[i].value = s->values;
		if (s->bytes_label) {
			labels[nlabels] = label_init;
			labels[nlabels].key = b->str_bytes;
			labels[nlabels].num = s->bytes_label;
			label_ptrs[nlabels] = &labels[nlabels];
			samples[i].n_label = 1;
			samples[i].label = &label_ptrs[nlabels];
			nlabels++;
		}
		sample_ptrs[i] = &samples[i];
	}

	prof.n_sample_type = PPROF_NR_VALUES;
	prof.sample_type = type_ptrs;
	prof.n_sample = b->nsamples;
	prof.sample = sample_ptrs;
	prof.n_mapping = b->nmappings;
	prof.mapping = mapping_ptrs;
	prof.n_location = b->nlocs;
	prof.location = loc_ptrs;
	prof.n_function = b->nfunctions;
	prof.function = function_ptrs;
	prof.n_string_table = b->nstrings;
	prof.string_table = b->strings;
	prof.time_nanos = b->time_nanos;
	prof.duration_nanos = b->duration_nanos;
	prof.period_type = &period_type;
	prof.period = b->period;
	prof.n_comment = b->ncomments;
	prof.comment = b->comments;
	prof.default_sample_type = b->str_types[PPROF_NR_VALUES - 1]; /* inuse_space */

	memset(sink, 0, offsetof(struct gz_sink, in));
	sink->base.append = sink_append;
	sink->fd = fd;
	/*
	 * 15 + 16: a gzip wrapper, not zlib's. Best speed, as Go's runtime does:
	 * profiles are rewritten often and size matters less than time.
	 */
	ret = deflateInit2(&sink->zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	if (ret != Z_OK) {
		ret = ret == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
		goto cleanup;
	}
	zinit = true;
	perftools__profiles__profile__pack_to_buffer(&prof, &sink->base);
	ret = sink->err ? sink->err : sink_deflate(sink, Z_FINISH);

cleanup:
	if (zinit)
		deflateEnd(&sink->zs);
	free(sink);
	free(label_ptrs);
	free(labels);
	free(sample_ptrs);
	free(samples);
	free(line_ptrs);
	free(loc_ptrs);
	free(locs);
	free(function_ptrs);
	free(mapping_ptrs);
	return ret;
}

/* Makes the rename durable; the profile is complete either way, so errors are ignored. */
static void sync_dir(const char *path, size_t dirlen)
{
	char *dir;
	int fd;

	dir = dirlen ? strndup(path, dirlen) : strdup(".");
	if (!dir)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

int pprof__write_gz(struct pprof_builder *b, const char *path)
{
	static const char suffix[] = ".tmp.XXXXXX";
	bool created = false, renamed = false;
	const char *base;
	size_t dirlen, baselen;
	char *tmp = NULL;
	int fd = -1;
	int err;

	if (!b || !path)
		return -EINVAL;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	dirlen = base - path;
	baselen = strlen(base);
	if (!baselen)
		return -EISDIR;

	/* Same directory as the target, so rename() is atomic; hidden from globs. */
	tmp = malloc(dirlen + 1 + baselen + sizeof(suffix));
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, path, dirlen);
	tmp[dirlen] = '.';
	memcpy(tmp + dirlen + 1, base, baselen);
	memcpy(tmp + dirlen + 1 + baselen, suffix, sizeof(suffix));

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	created = true;
	/* mkstemp() makes the file 0600; a profile is meant to be read by other tools. */
	if (fchmod(fd, 0644)) {
		err = -errno;
		goto cleanup;
	}
	err = encode(b, fd);
	if (err)
		goto cleanup;
	/* Some filesystems only report ENOSPC or EIO at fsync() or close(). */
	if (fsync(fd)) {
		err = -errno;
		goto cleanup;
	}
	err = close(fd);
	fd = -1;
	if (err) {
		err = -errno;
		goto cleanup;
	}
	if (rename(tmp, path)) {
		err = -errno;
		goto cleanup;
	}
	renamed = true;
	sync_dir(path, dirlen);

cleanup:
	if (fd >= 0)
		close(fd);
	if (created && !renamed)
		unlink(tmp);
	free(tmp);
	return err;
}

void pprof__free(struct pprof_builder *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->nstrings; i++)
		free(b->strings[i]);
	free(b->strings);
	free(b->mappings);
	free(b->functions);
	free(b->locs);
	free(b->lines);
	free(b->samples);
	free(b->loc_ids);
	free(b->comments);
	htab_free(&b->string_tab);
	htab_free(&b->mapping_tab);
	htab_free(&b->function_tab);
	htab_free(&b->loc_tab);
	free(b);
}

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

#include "util/hash.h"
#include "profile.pb-c.h"
#include "output/pprof.h"

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
	size_t line_pos; /* index of its first line */
};

struct pprof_sample {
	int64_t values[PPROF_NR_VALUES];
	int64_t raw[PPROF_NR_VALUES]; /* sampled counts before unbiasing, when has_raw */
	bool has_raw;
	int64_t bytes_label; /* 0: no label */
	uint32_t nlocs;	     /* its ids follow the previous sample's in b->loc_ids */
	size_t loc_pos;	     /* index of its first id */
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
	int default_type; /* index into str_types */
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
	b->default_type = PPROF_NR_VALUES - 1; /* inuse_space, as Go's heap profile */

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
	    .line_pos = saved_nlines,
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

int64_t pprof__find_location(const struct pprof_builder *b, uint64_t address, uint64_t mapping_id)
{
	const uint64_t key[2] = {address, mapping_id};
	struct hslot *slot;

	if (!b)
		return -EINVAL;
	slot = htab_find(&b->loc_tab, hash_u64s(key, 2), loc_eq, b, key);
	return slot ? slot->ref : 0;
}

int pprof__add_sample_raw(struct pprof_builder *b, const uint64_t *location_ids, size_t n,
			  const int64_t values[PPROF_NR_VALUES], const int64_t raw[PPROF_NR_VALUES],
			  int64_t bytes_label)
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
	s = &b->samples[b->nsamples++];
	s->loc_pos = b->nloc_ids;
	b->nloc_ids += n;
	memcpy(s->values, values, sizeof(s->values));
	s->has_raw = raw != NULL;
	if (raw)
		memcpy(s->raw, raw, sizeof(s->raw));
	else
		memset(s->raw, 0, sizeof(s->raw));
	s->bytes_label = bytes_label > 0 ? bytes_label : 0;
	s->nlocs = n;
	return 0;
}

int pprof__add_sample(struct pprof_builder *b, const uint64_t *location_ids, size_t n,
		      const int64_t values[PPROF_NR_VALUES], int64_t bytes_label)
{
	return pprof__add_sample_raw(b, location_ids, n, values, NULL, bytes_label);
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
	int fd;		    /* file to write, or -1 to append to mem */
	unsigned char *mem; /* growable output when fd < 0 */
	size_t mem_len, mem_cap, mem_max;
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

static int mem_append(struct gz_sink *s, const unsigned char *data, size_t len)
{
	if (len > s->mem_max - s->mem_len)
		return -EFBIG;
	if (GROW(s->mem, s->mem_cap, s->mem_len + len))
		return -ENOMEM;
	memcpy(s->mem + s->mem_len, data, len);
	s->mem_len += len;
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
		if (s->fd >= 0)
			err = write_all(s->fd, s->out, sizeof(s->out) - s->zs.avail_out);
		else
			err = mem_append(s, s->out, sizeof(s->out) - s->zs.avail_out);
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
static int encode(struct pprof_builder *b, int fd, size_t mem_max, void **mem, size_t *mem_len)
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
	if (sink)
		sink->mem = NULL;
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
	prof.default_sample_type = b->str_types[b->default_type];

	memset(sink, 0, offsetof(struct gz_sink, in));
	sink->base.append = sink_append;
	sink->fd = fd;
	sink->mem_max = mem_max;
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
	if (!ret && fd < 0) {
		*mem = sink->mem;
		*mem_len = sink->mem_len;
		sink->mem = NULL;
	}

cleanup:
	if (zinit)
		deflateEnd(&sink->zs);
	if (sink)
		free(sink->mem);
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
	err = encode(b, fd, 0, NULL, NULL);
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

int pprof__encode_gz(struct pprof_builder *b, size_t max_len, void **out, size_t *out_len)
{
	if (!b || !out || !out_len)
		return -EINVAL;
	return encode(b, -1, max_len, out, out_len);
}

int pprof__set_default_sample_type(struct pprof_builder *b, int index)
{
	if (!b || index < 0 || index >= PPROF_NR_VALUES)
		return -EINVAL;
	b->default_type = index;
	return 0;
}

/* ------------------------------------------------------------ reading ---- */

/* Decompressed profiles larger than this are refused: a bad file must not eat memory. */
#define PPROF_MAX_DECODED (1u << 30)

static int read_file(const char *path, unsigned char **out, size_t *out_len)
{
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (len == cap && GROW(buf, cap, len + 65536)) {
			err = -ENOMEM;
			goto cleanup;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto cleanup;
		}
		if (n == 0)
			break;
		len += n;
		if (len > PPROF_MAX_DECODED) {
			err = -EFBIG;
			goto cleanup;
		}
	}
	*out = buf;
	*out_len = len;
	buf = NULL;
cleanup:
	free(buf);
	close(fd);
	return err;
}

/* Inflates gzip (or zlib) data; data that is not compressed is returned as is. */
static int gunzip(const unsigned char *in, size_t in_len, unsigned char **out, size_t *out_len)
{
	unsigned char *buf = NULL;
	size_t cap = 0;
	z_stream zs = {};
	int ret, err = 0;

	if (in_len < 2 || in[0] != 0x1f || in[1] != 0x8b) {
		buf = malloc(in_len ? in_len : 1);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, in, in_len);
		*out = buf;
		*out_len = in_len;
		return 0;
	}
	if (inflateInit2(&zs, 15 + 32) != Z_OK)
		return -ENOMEM;
	zs.next_in = (unsigned char *)in;
	zs.avail_in = in_len;
	do {
		if (zs.total_out == cap) {
			if (cap >= PPROF_MAX_DECODED || GROW(buf, cap, cap + 4 * in_len + 65536)) {
				err = cap >= PPROF_MAX_DECODED ? -EFBIG : -ENOMEM;
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

/* Files usually number their objects 1..n in order; anything else is found by a scan. */
#define PB_FIND(arr, n, want)                                                                      \
	({                                                                                         \
		size_t pbf_i_ = (size_t)-1, pbf_k_;                                                \
		if ((want) >= 1 && (want) <= (n) && (arr)[(want)-1]->id == (want))                 \
			pbf_i_ = (want)-1;                                                         \
		for (pbf_k_ = 0; pbf_i_ == (size_t)-1 && pbf_k_ < (n); pbf_k_++)                   \
			if ((arr)[pbf_k_]->id == (want))                                           \
				pbf_i_ = pbf_k_;                                                   \
		pbf_i_;                                                                            \
	})

static const char *pb_string(const Perftools__Profiles__Profile *p, int64_t idx)
{
	if (idx <= 0 || (size_t)idx >= p->n_string_table)
		return NULL;
	return p->string_table[idx];
}

/* Adds the decoded message's content to b (a fresh builder of the same layout). */
static int load_message(struct pprof_builder *b, const Perftools__Profiles__Profile *p)
{
	static const char *const types[PPROF_NR_VALUES] = {"alloc_objects", "alloc_space",
							   "inuse_objects", "inuse_space"};
	uint64_t *map_ids = NULL, *loc_ids = NULL, *stack = NULL;
	struct pprof_frame *frames = NULL;
	size_t i, j, max_lines = 1, max_locs = 1;
	int err = 0;

	if (p->n_sample_type != PPROF_NR_VALUES)
		return -EPROTO;
	for (i = 0; i < PPROF_NR_VALUES; i++) {
		const char *t = pb_string(p, p->sample_type[i]->type);

		if (!t || strcmp(t, types[i]))
			return -EPROTO;
	}
	for (i = 0; i < PPROF_NR_VALUES; i++) {
		const char *t = pb_string(p, p->default_sample_type);

		if (t && !strcmp(t, types[i]))
			b->default_type = (int)i;
	}
	for (i = 0; i < p->n_location; i++)
		if (p->location[i]->n_line > max_lines)
			max_lines = p->location[i]->n_line;
	for (i = 0; i < p->n_sample; i++)
		if (p->sample[i]->n_location_id > max_locs)
			max_locs = p->sample[i]->n_location_id;
	map_ids = calloc(p->n_mapping + 1, sizeof(*map_ids));
	loc_ids = calloc(p->n_location + 1, sizeof(*loc_ids));
	stack = calloc(max_locs, sizeof(*stack));
	frames = calloc(max_lines, sizeof(*frames));
	if (!map_ids || !loc_ids || !stack || !frames) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* Ids in the file are arbitrary: map each to the builder's own. */
	for (i = 0; i < p->n_mapping; i++) {
		const Perftools__Profiles__Mapping *m = p->mapping[i];
		struct pprof_mapping_info mi = {
		    .start = m->memory_start,
		    .limit = m->memory_limit,
		    .offset = m->file_offset,
		    .file = pb_string(p, m->filename),
		    .build_id = pb_string(p, m->build_id),
		    .has_functions = m->has_functions,
		    .has_filenames = m->has_filenames,
		    .has_line_numbers = m->has_line_numbers,
		    .has_inline_frames = m->has_inline_frames,
		};
		int64_t id;

		if (!mi.file)
			mi.file = "";
		id = pprof__add_mapping(b, &mi);
		if (id < 0) {
			err = (int)id;
			goto cleanup;
		}
		map_ids[i] = (uint64_t)id;
	}
	for (i = 0; i < p->n_location; i++) {
		const Perftools__Profiles__Location *l = p->location[i];
		size_t mi = PB_FIND(p->mapping, p->n_mapping, l->mapping_id);
		uint64_t mid = mi == (size_t)-1 ? 0 : map_ids[mi];
		int64_t id;

		for (j = 0; j < l->n_line; j++) {
			size_t k = PB_FIND(p->function, p->n_function, l->line[j]->function_id);
			const Perftools__Profiles__Function *f =
			    k == (size_t)-1 ? NULL : p->function[k];

			frames[j] = (struct pprof_frame){.line = l->line[j]->line};
			if (f) {
				frames[j].function = pb_string(p, f->name);
				frames[j].system_name = pb_string(p, f->system_name);
				frames[j].file = pb_string(p, f->filename);
				frames[j].start_line = f->start_line;
			}
		}
		id = pprof__add_location(b, l->address, mid, frames, l->n_line);
		if (id < 0) {
			err = (int)id;
			goto cleanup;
		}
		loc_ids[i] = (uint64_t)id;
	}
	for (i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Sample *s = p->sample[i];
		int64_t label = 0;

		if (s->n_value != PPROF_NR_VALUES) {
			err = -EPROTO;
			goto cleanup;
		}
		for (j = 0; j < s->n_location_id; j++) {
			size_t k = PB_FIND(p->location, p->n_location, s->location_id[j]);

			stack[j] = k == (size_t)-1 ? 0 : loc_ids[k];
			if (!stack[j]) {
				err = -EPROTO;
				goto cleanup;
			}
		}
		for (j = 0; j < s->n_label; j++) {
			const char *k = pb_string(p, s->label[j]->key);

			if (k && !strcmp(k, "bytes"))
				label = s->label[j]->num;
		}
		err = pprof__add_sample(b, stack, s->n_location_id, s->value, label);
		if (err)
			goto cleanup;
	}
	for (i = 0; i < p->n_comment; i++) {
		const char *c = pb_string(p, p->comment[i]);

		if (c && (err = pprof__add_comment(b, c)))
			goto cleanup;
	}
cleanup:
	free(frames);
	free(stack);
	free(loc_ids);
	free(map_ids);
	return err;
}

int pprof__read_gz(const char *path, struct pprof_builder **out)
{
	unsigned char *file = NULL, *raw = NULL;
	Perftools__Profiles__Profile *p = NULL;
	struct pprof_builder *b = NULL;
	size_t file_len = 0, raw_len = 0;
	int err;

	if (!path || !out)
		return -EINVAL;
	err = read_file(path, &file, &file_len);
	if (err)
		goto cleanup;
	err = gunzip(file, file_len, &raw, &raw_len);
	if (err)
		goto cleanup;
	p = perftools__profiles__profile__unpack(NULL, raw_len, raw);
	if (!p) {
		err = -EBADMSG;
		goto cleanup;
	}
	b = pprof__new(p->period, p->time_nanos, p->duration_nanos);
	if (!b) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = load_message(b, p);
	if (err)
		goto cleanup;
	*out = b;
	b = NULL;
cleanup:
	pprof__free(b);
	if (p)
		perftools__profiles__profile__free_unpacked(p, NULL);
	free(raw);
	free(file);
	return err;
}

/* ------------------------------------------------------------ merging ---- */

/* Same stack: equal location id lists. key is a struct pprof_sample_view. */
static bool sample_eq(const struct pprof_builder *b, uint32_t ref, const void *key)
{
	const struct pprof_sample *s = &b->samples[ref - 1];
	const struct pprof_sample_view *v = key;

	return s->nlocs == v->n &&
	       !memcmp(b->loc_ids + s->loc_pos, v->location_ids, v->n * sizeof(*v->location_ids));
}

int pprof__merge(struct pprof_builder *dst, const struct pprof_builder *src, int64_t sign)
{
	uint64_t *src_locs = NULL, *stack = NULL, *map_ids = NULL;
	struct htab index = {};
	struct pprof_frame *frames = NULL;
	size_t i, j, pos, max_lines = 1;
	int err = 0;

	if (!dst || !src || (sign != 1 && sign != -1))
		return -EINVAL;
	for (i = 0; i < src->nlocs; i++)
		if (src->locs[i].nlines > max_lines)
			max_lines = src->locs[i].nlines;
	map_ids = calloc(src->nmappings + 1, sizeof(*map_ids));
	src_locs = calloc(src->nlocs + 1, sizeof(*src_locs));
	stack = calloc(src->nloc_ids + 1, sizeof(*stack));
	frames = calloc(max_lines, sizeof(*frames));
	if (!map_ids || !src_locs || !stack || !frames) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < src->nmappings; i++) {
		const Perftools__Profiles__Mapping *m = &src->mappings[i];
		struct pprof_mapping_info mi = {
		    .start = m->memory_start,
		    .limit = m->memory_limit,
		    .offset = m->file_offset,
		    .file = src->strings[m->filename],
		    .build_id = src->strings[m->build_id],
		    .has_functions = m->has_functions,
		    .has_filenames = m->has_filenames,
		    .has_line_numbers = m->has_line_numbers,
		    .has_inline_frames = m->has_inline_frames,
		};
		int64_t id = pprof__add_mapping(dst, &mi);

		if (id < 0) {
			err = (int)id;
			goto cleanup;
		}
		map_ids[i + 1] = (uint64_t)id;
	}
	for (i = 0, pos = 0; i < src->nlocs; i++) {
		const struct pprof_loc *l = &src->locs[i];
		int64_t id;

		for (j = 0; j < l->nlines; j++) {
			const Perftools__Profiles__Line *ln = &src->lines[pos + j];
			const Perftools__Profiles__Function *f =
			    &src->functions[ln->function_id - 1];

			frames[j] = (struct pprof_frame){
			    .function = f->name ? src->strings[f->name] : NULL,
			    .system_name = f->system_name ? src->strings[f->system_name] : NULL,
			    .file = f->filename ? src->strings[f->filename] : NULL,
			    .start_line = f->start_line,
			    .line = ln->line,
			};
		}
		pos += l->nlines;
		id =
		    pprof__add_location(dst, l->address, map_ids[l->mapping_id], frames, l->nlines);
		if (id < 0) {
			err = (int)id;
			goto cleanup;
		}
		src_locs[i + 1] = (uint64_t)id;
	}
	/* Index dst's samples by stack, so that equal stacks add up. */
	for (i = 0; i < dst->nsamples; i++) {
		struct pprof_sample_view key = {.location_ids =
						    dst->loc_ids + dst->samples[i].loc_pos,
						.n = dst->samples[i].nlocs};
		uint32_t hash = hash_u64s(key.location_ids, key.n);
		struct hslot *slot;

		err = htab_reserve(&index);
		if (err)
			goto cleanup;
		slot = htab_find(&index, hash, sample_eq, dst, &key);
		if (slot->ref)
			continue;
		slot->hash = hash;
		slot->ref = i + 1;
		index.len++;
	}
	for (i = 0; i < src->nsamples; i++) {
		const struct pprof_sample *s = &src->samples[i];
		int64_t values[PPROF_NR_VALUES], raw[PPROF_NR_VALUES];
		struct pprof_sample_view key = {.location_ids = stack, .n = s->nlocs};
		struct hslot *slot;
		size_t k;

		for (j = 0; j < s->nlocs; j++)
			stack[j] = src_locs[src->loc_ids[s->loc_pos + j]];
		for (k = 0; k < PPROF_NR_VALUES; k++) {
			values[k] = sign * s->values[k];
			raw[k] = sign * s->raw[k];
		}
		slot = htab_find(&index, hash_u64s(stack, s->nlocs), sample_eq, dst, &key);
		if (slot && slot->ref) {
			struct pprof_sample *d = &dst->samples[slot->ref - 1];

			for (k = 0; k < PPROF_NR_VALUES; k++) {
				d->values[k] += values[k];
				d->raw[k] += raw[k];
			}
			d->has_raw = d->has_raw && s->has_raw;
			continue;
		}
		err = pprof__add_sample_raw(dst, stack, s->nlocs, values, s->has_raw ? raw : NULL,
					    s->bytes_label);
		if (err)
			goto cleanup;
	}
cleanup:
	htab_free(&index);
	free(frames);
	free(stack);
	free(src_locs);
	free(map_ids);
	return err;
}

/* ------------------------------------------------------------ viewing ---- */

int64_t pprof__period(const struct pprof_builder *b)
{
	return b->period;
}

size_t pprof__nr_samples(const struct pprof_builder *b)
{
	return b->nsamples;
}

int pprof__sample(const struct pprof_builder *b, size_t idx, struct pprof_sample_view *v)
{
	const struct pprof_sample *s;

	if (!b || !v || idx >= b->nsamples)
		return -EINVAL;
	s = &b->samples[idx];
	v->location_ids = b->loc_ids + s->loc_pos;
	v->n = s->nlocs;
	memcpy(v->values, s->values, sizeof(v->values));
	memcpy(v->raw, s->raw, sizeof(v->raw));
	v->has_raw = s->has_raw;
	v->bytes_label = s->bytes_label;
	return 0;
}

int pprof__location(const struct pprof_builder *b, uint64_t id, uint64_t *address,
		    struct pprof_frame *frames, size_t max)
{
	const struct pprof_loc *l;
	size_t i, pos, n;

	if (!b || !id || id > b->nlocs)
		return -EINVAL;
	l = &b->locs[id - 1];
	pos = l->line_pos;
	*address = l->address;
	n = l->nlines < max ? l->nlines : max;
	for (i = 0; i < n; i++) {
		const Perftools__Profiles__Line *ln = &b->lines[pos + i];
		const Perftools__Profiles__Function *f = &b->functions[ln->function_id - 1];

		frames[i] = (struct pprof_frame){
		    .function = f->name ? b->strings[f->name] : NULL,
		    .system_name = f->system_name ? b->strings[f->system_name] : NULL,
		    .file = f->filename ? b->strings[f->filename] : NULL,
		    .start_line = f->start_line,
		    .line = ln->line,
		};
	}
	return (int)n;
}

size_t pprof__nr_comments(const struct pprof_builder *b)
{
	return b->ncomments;
}

const char *pprof__comment(const struct pprof_builder *b, size_t idx)
{
	return idx < b->ncomments ? b->strings[b->comments[idx]] : NULL;
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

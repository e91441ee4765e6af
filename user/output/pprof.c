// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * pprof.c - build a Go-style pprof heap profile and encode it gzipped.
 *
 * The builder's arrays and tables are described in pprof_impl.h. The
 * protobuf-c message graph (which wants arrays of pointers) is only built
 * for the duration of one encoding, and streamed through gzip (util/gzip.h)
 * into memory or into a file replaced atomically (util/atomicfile.h).
 * Reading and merging are in pprof_read.c.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "util/atomicfile.h"
#include "util/gzip.h"
#include "util/hash.h"
#include "output/pprof_impl.h"

const struct pprof_sample_type pprof_sample_types[PPROF_NR_VALUES] = {
	[PPROF_ALLOC_OBJECTS] = { "alloc_objects", "count" },
	[PPROF_ALLOC_SPACE] = { "alloc_space", "bytes" },
	[PPROF_INUSE_OBJECTS] = { "inuse_objects", "count" },
	[PPROF_INUSE_SPACE] = { "inuse_space", "bytes" },
};

/* Table entries are uint32_t indices into the builder's arrays; ctx is the builder. */
static inline uint32_t entry_index(const void *entry)
{
	return *(const uint32_t *)entry;
}

static bool string_eq(const void *entry, const void *key, const void *ctx)
{
	const struct pprof_builder *b = ctx;

	return strcmp(b->strings[entry_index(entry)], key) == 0;
}

struct mapping_key {
	uint64_t start, limit, offset;
	int64_t file;
};

static bool mapping_eq(const void *entry, const void *key, const void *ctx)
{
	const struct pprof_builder *b = ctx;
	const Perftools__Profiles__Mapping *m = &b->mappings[entry_index(entry)];
	const struct mapping_key *k = key;

	return m->memory_start == k->start && m->memory_limit == k->limit &&
	       m->file_offset == k->offset && m->filename == k->file;
}

static bool function_eq(const void *entry, const void *key, const void *ctx)
{
	const struct pprof_builder *b = ctx;
	const Perftools__Profiles__Function *f = &b->functions[entry_index(entry)];
	const Perftools__Profiles__Function *k = key;

	return f->name == k->name && f->system_name == k->system_name &&
	       f->filename == k->filename && f->start_line == k->start_line;
}

/* key: {address, mapping id}. */
static bool loc_eq(const void *entry, const void *key, const void *ctx)
{
	const struct pprof_builder *b = ctx;
	const struct pprof_loc *l = &b->locs[entry_index(entry)];
	const uint64_t *k = key;

	return l->address == k[0] && l->mapping_id == k[1];
}

/* Returns the string table index of `s` (NULL is ""), or a negative errno. */
static int64_t intern(struct pprof_builder *b, const char *s)
{
	size_t len;
	uint32_t *e;
	char *copy;
	bool found;
	int err;

	if (!s)
		s = "";
	len = strlen(s);
	e = htab__insert(&b->string_tab, hash_bytes(s, len), s, string_eq, &found);
	if (!e)
		return -ENOMEM;
	if (found)
		return *e;
	/* A new entry is only filled in on success: take it out again on failure. */
	err = b->nstrings >= PPROF_MAX_ID
		  ? -EOVERFLOW
		  : VEC_RESERVE(b->strings, b->strings_cap, b->nstrings + 1);
	copy = err ? NULL : malloc(len + 1);
	if (!copy) {
		htab__remove(&b->string_tab, e);
		return err ? err : -ENOMEM;
	}
	memcpy(copy, s, len + 1);
	*e = b->nstrings;
	b->strings[b->nstrings++] = copy;
	return *e;
}

struct pprof_builder *pprof__new(int64_t period, int64_t time_nanos, int64_t duration_nanos)
{
	struct pprof_builder *b;
	int64_t idx;
	int i;

	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->period = period;
	b->time_nanos = time_nanos;
	b->duration_nanos = duration_nanos;
	b->default_type = PPROF_DEFAULT_VALUE;
	htab__init(&b->string_tab, sizeof(uint32_t), b);
	htab__init(&b->mapping_tab, sizeof(uint32_t), b);
	htab__init(&b->function_tab, sizeof(uint32_t), b);
	htab__init(&b->loc_tab, sizeof(uint32_t), b);

	/* pprof requires string_table[0] == "". */
	if (intern(b, "") != 0)
		goto fail;
	for (i = 0; i < PPROF_NR_VALUES; i++) {
		idx = intern(b, pprof_sample_types[i].type);
		if (idx < 0)
			goto fail;
		b->str_types[i] = idx;
		idx = intern(b, pprof_sample_types[i].unit);
		if (idx < 0)
			goto fail;
		b->str_units[i] = idx;
	}
	b->str_period_type = intern(b, PPROF_PERIOD_TYPE);
	b->str_period_unit = intern(b, PPROF_PERIOD_UNIT);
	b->str_label_bytes = intern(b, PPROF_LABEL_BYTES);
	b->str_label_samples = intern(b, PPROF_LABEL_SAMPLES);
	b->str_label_age = intern(b, PPROF_LABEL_AGE);
	b->str_label_age_unit = intern(b, PPROF_LABEL_AGE_UNIT);
	if (b->str_period_type < 0 || b->str_period_unit < 0 || b->str_label_bytes < 0 ||
	    b->str_label_samples < 0 || b->str_label_age < 0 || b->str_label_age_unit < 0)
		goto fail;
	return b;

fail:
	pprof__free(b);
	return NULL;
}

int64_t pprof__add_mapping(struct pprof_builder *b, const struct pprof_mapping_info *m)
{
	Perftools__Profiles__Mapping init = PERFTOOLS__PROFILES__MAPPING__INIT, *pm;
	struct mapping_key k;
	int64_t file, build_id;
	uint32_t *e;
	bool found;
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
		.start = m->start, .limit = m->limit, .offset = m->offset, .file = file
	};
	e = htab__insert(&b->mapping_tab,
			 hash_u64s(0, (const uint64_t[]){ k.start, k.limit, k.offset, k.file }, 4),
			 &k, mapping_eq, &found);
	if (!e)
		return -ENOMEM;
	if (found)
		return *e + 1;
	err = b->nmappings >= PPROF_MAX_ID
		  ? -EOVERFLOW
		  : VEC_RESERVE(b->mappings, b->mappings_cap, b->nmappings + 1);
	if (err) {
		htab__remove(&b->mapping_tab, e);
		return err;
	}
	*e = b->nmappings;
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
	return pm->id;
}

static int64_t add_function(struct pprof_builder *b, const struct pprof_frame *fr)
{
	Perftools__Profiles__Function k = PERFTOOLS__PROFILES__FUNCTION__INIT;
	uint64_t hash;
	uint32_t *e;
	bool found;
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

	hash =
	    hash_u64s(0, (const uint64_t[]){ k.name, k.system_name, k.filename, k.start_line }, 4);
	e = htab__insert(&b->function_tab, hash, &k, function_eq, &found);
	if (!e)
		return -ENOMEM;
	if (found)
		return *e + 1;
	err = b->nfunctions >= PPROF_MAX_ID
		  ? -EOVERFLOW
		  : VEC_RESERVE(b->functions, b->functions_cap, b->nfunctions + 1);
	if (err) {
		htab__remove(&b->function_tab, e);
		return err;
	}
	*e = b->nfunctions;
	k.id = b->nfunctions + 1;
	b->functions[b->nfunctions++] = k;
	return k.id;
}

/* Appends the lines of a new location; on error the caller truncates b->lines back. */
static int add_lines(struct pprof_builder *b, const struct pprof_frame *frames, size_t nframes)
{
	size_t i;
	int64_t ret;

	for (i = 0; i < nframes; i++) {
		const struct pprof_frame *fr = &frames[i];
		Perftools__Profiles__Line line = PERFTOOLS__PROFILES__LINE__INIT;

		/* A frame with neither name nor file tells pprof nothing: leave it out. */
		if (!fr->function && !fr->file)
			continue;
		ret = add_function(b, fr);
		if (ret < 0)
			return (int)ret;
		line.function_id = ret;
		line.line = fr->line;
		ret = VEC_RESERVE(b->lines, b->lines_cap, b->nlines + 1);
		if (ret)
			return (int)ret;
		b->lines[b->nlines++] = line;
	}
	return 0;
}

/*
 * A mapping's has_* flags tell pprof what it need not look up again (it
 * asks /debug/pprof/symbol for the function names of a mapping without
 * has_functions): each stays true only while every location of the mapping
 * has it, so they say what was done, not what the file could give.
 */
static void settle_mapping_flags(Perftools__Profiles__Mapping *m, const struct pprof_frame *frames,
				 size_t nframes)
{
	bool functions = true, files = true, lines = true;
	size_t i, kept = 0;

	for (i = 0; i < nframes; i++) {
		if (!frames[i].function && !frames[i].file)
			continue; /* add_lines drops it */
		kept++;
		functions = functions && frames[i].function;
		files = files && frames[i].file;
		lines = lines && frames[i].line > 0;
	}
	if (!kept)
		functions = files = lines = false;
	m->has_functions = m->has_functions && functions;
	m->has_filenames = m->has_filenames && files;
	m->has_line_numbers = m->has_line_numbers && lines;
}

int64_t pprof__add_location(struct pprof_builder *b, uint64_t address, uint64_t mapping_id,
			    const struct pprof_frame *frames, size_t nframes)
{
	const uint64_t key[2] = { address, mapping_id };
	size_t saved_nlines;
	uint64_t hash;
	uint32_t *e;
	int err;

	if (!b || (nframes && !frames) || mapping_id > b->nmappings)
		return -EINVAL;
	hash = hash_u64s(0, key, 2);
	e = htab__find(&b->loc_tab, hash, key, loc_eq);
	if (e)
		return *e + 1;
	if (b->nlocs >= PPROF_MAX_ID || nframes > PPROF_MAX_ID)
		return -EOVERFLOW;

	/* A location's lines must be contiguous: undo a partial append on error. */
	saved_nlines = b->nlines;
	err = add_lines(b, frames, nframes);
	if (err)
		goto cleanup;
	err = VEC_RESERVE(b->locs, b->locs_cap, b->nlocs + 1);
	if (err)
		goto cleanup;
	e = htab__insert(&b->loc_tab, hash, key, loc_eq, NULL);
	if (!e) {
		err = -ENOMEM;
		goto cleanup;
	}
	*e = b->nlocs;
	if (mapping_id)
		settle_mapping_flags(&b->mappings[mapping_id - 1], frames, nframes);
	b->locs[b->nlocs++] = (struct pprof_loc){
		.address = address,
		.mapping_id = mapping_id,
		.nlines = b->nlines - saved_nlines,
		.line_pos = saved_nlines,
	};
	return b->nlocs;

cleanup:
	b->nlines = saved_nlines;
	return err;
}

int64_t pprof__find_location(const struct pprof_builder *b, uint64_t address, uint64_t mapping_id)
{
	const uint64_t key[2] = { address, mapping_id };
	const uint32_t *e;

	if (!b)
		return -EINVAL;
	e = htab__find(&b->loc_tab, hash_u64s(0, key, 2), key, loc_eq);
	return e ? *e + 1 : 0;
}

int pprof__add_sample_raw(struct pprof_builder *b, const uint64_t *location_ids, size_t n,
			  const int64_t values[PPROF_NR_VALUES], const int64_t raw[PPROF_NR_VALUES],
			  int64_t bytes_label)
{
	const struct pprof_labels l = { .bytes = bytes_label,
					.samples = PPROF_NO_LABEL,
					.age = -1 };

	return pprof__add_sample_labeled(b, location_ids, n, values, raw, &l);
}

int pprof__add_sample_labeled(struct pprof_builder *b, const uint64_t *location_ids, size_t n,
			      const int64_t values[PPROF_NR_VALUES],
			      const int64_t raw[PPROF_NR_VALUES], const struct pprof_labels *l)
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
	/* One more than needed: a builder with samples always has the array, so that
	 * loc_ids + loc_pos is defined even when every stack is empty. */
	err = VEC_RESERVE(b->loc_ids, b->loc_ids_cap, b->nloc_ids + n + 1);
	if (err)
		return err;
	err = VEC_RESERVE(b->samples, b->samples_cap, b->nsamples + 1);
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
	s->bytes_label = l->bytes > 0 ? l->bytes : 0;
	s->samples_label = l->samples;
	s->age_label = l->age;
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
	err = VEC_RESERVE(b->comments, b->comments_cap, b->ncomments + 1);
	if (err)
		return err;
	b->comments[b->ncomments++] = idx;
	return 0;
}

int pprof__set_default_sample_type(struct pprof_builder *b, int index)
{
	if (!b || index < 0 || index >= PPROF_NR_VALUES)
		return -EINVAL;
	b->default_type = index;
	return 0;
}

/* ----------------------------------------------------------- encoding ---- */

/*
 * The arrays of pointers protobuf-c wants, over the builder's own arrays
 * (mappings, functions, lines, location ids and values are not copied).
 */
struct pb_graph {
	Perftools__Profiles__Profile prof;
	Perftools__Profiles__ValueType types[PPROF_NR_VALUES], *type_ptrs[PPROF_NR_VALUES];
	Perftools__Profiles__ValueType period_type;
	Perftools__Profiles__Mapping **mapping_ptrs;
	Perftools__Profiles__Function **function_ptrs;
	Perftools__Profiles__Location *locs, **loc_ptrs;
	Perftools__Profiles__Line **line_ptrs;
	Perftools__Profiles__Sample *samples, **sample_ptrs;
	Perftools__Profiles__Label *labels, **label_ptrs;
};

static void *alloc_array(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

static void graph_free(struct pb_graph *g)
{
	free(g->label_ptrs);
	free(g->labels);
	free(g->sample_ptrs);
	free(g->samples);
	free(g->line_ptrs);
	free(g->loc_ptrs);
	free(g->locs);
	free(g->function_ptrs);
	free(g->mapping_ptrs);
}

static int graph_alloc(const struct pprof_builder *b, struct pb_graph *g)
{
	g->mapping_ptrs = alloc_array(b->nmappings, sizeof(*g->mapping_ptrs));
	g->function_ptrs = alloc_array(b->nfunctions, sizeof(*g->function_ptrs));
	g->locs = alloc_array(b->nlocs, sizeof(*g->locs));
	g->loc_ptrs = alloc_array(b->nlocs, sizeof(*g->loc_ptrs));
	g->line_ptrs = alloc_array(b->nlines, sizeof(*g->line_ptrs));
	g->samples = alloc_array(b->nsamples, sizeof(*g->samples));
	g->sample_ptrs = alloc_array(b->nsamples, sizeof(*g->sample_ptrs));
	g->labels = alloc_array(b->nsamples * PPROF_MAX_LABELS, sizeof(*g->labels));
	g->label_ptrs = alloc_array(b->nsamples * PPROF_MAX_LABELS, sizeof(*g->label_ptrs));
	if (!g->mapping_ptrs || !g->function_ptrs || !g->locs || !g->loc_ptrs || !g->line_ptrs ||
	    !g->samples || !g->sample_ptrs || !g->labels || !g->label_ptrs)
		return -ENOMEM;
	return 0;
}

static void graph_locations(struct pprof_builder *b, struct pb_graph *g)
{
	Perftools__Profiles__Location loc_init = PERFTOOLS__PROFILES__LOCATION__INIT;
	size_t i, line_pos = 0;

	for (i = 0; i < b->nmappings; i++)
		g->mapping_ptrs[i] = &b->mappings[i];
	for (i = 0; i < b->nfunctions; i++)
		g->function_ptrs[i] = &b->functions[i];
	for (i = 0; i < b->nlines; i++)
		g->line_ptrs[i] = &b->lines[i];
	for (i = 0; i < b->nlocs; i++) {
		Perftools__Profiles__Location *l = &g->locs[i];

		*l = loc_init;
		l->id = i + 1;
		l->mapping_id = b->locs[i].mapping_id;
		l->address = b->locs[i].address;
		l->n_line = b->locs[i].nlines;
		l->line = b->locs[i].nlines ? &g->line_ptrs[line_pos] : NULL;
		line_pos += b->locs[i].nlines;
		g->loc_ptrs[i] = l;
	}
}

/* One numeric label more on sample ps, whose labels are the last ones added. */
static void add_label(struct pb_graph *g, size_t *nlabels, Perftools__Profiles__Sample *ps,
		      int64_t key, int64_t num, int64_t unit)
{
	Perftools__Profiles__Label label_init = PERFTOOLS__PROFILES__LABEL__INIT;
	Perftools__Profiles__Label *l = &g->labels[*nlabels];

	*l = label_init;
	l->key = key;
	l->num = num;
	l->num_unit = unit;
	g->label_ptrs[(*nlabels)++] = l;
	ps->n_label++;
}

static void graph_samples(struct pprof_builder *b, struct pb_graph *g)
{
	Perftools__Profiles__Sample sample_init = PERFTOOLS__PROFILES__SAMPLE__INIT;
	size_t i, id_pos = 0, nlabels = 0;

	for (i = 0; i < b->nsamples; i++) {
		struct pprof_sample *s = &b->samples[i];
		Perftools__Profiles__Sample *ps = &g->samples[i];

		*ps = sample_init;
		ps->n_location_id = s->nlocs;
		ps->location_id = s->nlocs ? &b->loc_ids[id_pos] : NULL;
		id_pos += s->nlocs;
		ps->n_value = PPROF_NR_VALUES;
		ps->value = s->values;
		ps->label = &g->label_ptrs[nlabels];
		if (s->bytes_label)
			add_label(g, &nlabels, ps, b->str_label_bytes, s->bytes_label, 0);
		if (s->samples_label != PPROF_NO_LABEL)
			add_label(g, &nlabels, ps, b->str_label_samples, s->samples_label, 0);
		if (s->age_label >= 0)
			add_label(g, &nlabels, ps, b->str_label_age, s->age_label,
				  b->str_label_age_unit);
		if (!ps->n_label)
			ps->label = NULL;
		g->sample_ptrs[i] = ps;
	}
}

/* Builds the message graph over the builder's arrays. */
static int graph_build(struct pprof_builder *b, struct pb_graph *g)
{
	Perftools__Profiles__Profile prof_init = PERFTOOLS__PROFILES__PROFILE__INIT;
	Perftools__Profiles__ValueType vt_init = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	Perftools__Profiles__Profile *p = &g->prof;
	size_t i;
	int err;

	err = graph_alloc(b, g);
	if (err)
		return err;
	for (i = 0; i < PPROF_NR_VALUES; i++) {
		g->types[i] = vt_init;
		g->types[i].type = b->str_types[i];
		g->types[i].unit = b->str_units[i];
		g->type_ptrs[i] = &g->types[i];
	}
	g->period_type = vt_init;
	g->period_type.type = b->str_period_type;
	g->period_type.unit = b->str_period_unit;
	graph_locations(b, g);
	graph_samples(b, g);

	*p = prof_init;
	p->n_sample_type = PPROF_NR_VALUES;
	p->sample_type = g->type_ptrs;
	p->n_sample = b->nsamples;
	p->sample = g->sample_ptrs;
	p->n_mapping = b->nmappings;
	p->mapping = g->mapping_ptrs;
	p->n_location = b->nlocs;
	p->location = g->loc_ptrs;
	p->n_function = b->nfunctions;
	p->function = g->function_ptrs;
	p->n_string_table = b->nstrings;
	p->string_table = b->strings;
	p->time_nanos = b->time_nanos;
	p->duration_nanos = b->duration_nanos;
	p->period_type = &g->period_type;
	p->period = b->period;
	p->n_comment = b->ncomments;
	p->comment = b->comments;
	p->default_sample_type = b->str_types[b->default_type];
	return 0;
}

/* protobuf-c appends a few bytes at a time: batched here, a call to gzip per 64 KiB. */
#define SINK_SIZE (64 * 1024)

/* A ProtobufCBuffer that hands protobuf-c's appends to a gzip writer. */
struct gz_sink {
	ProtobufCBuffer base; /* first: sink_append() casts back from it */
	struct gzip_writer *gz;
	int err;
	size_t len;
	unsigned char buf[SINK_SIZE];
};

static void sink_flush(struct gz_sink *s)
{
	if (!s->err)
		s->err = gzip__write(s->gz, s->buf, s->len);
	s->len = 0;
}

static void sink_append(ProtobufCBuffer *buf, size_t len, const uint8_t *data)
{
	struct gz_sink *s = (struct gz_sink *)buf;
	size_t n;

	while (len && !s->err) {
		n = sizeof(s->buf) - s->len;
		if (n > len)
			n = len;
		memcpy(s->buf + s->len, data, n);
		s->len += n;
		data += n;
		len -= n;
		if (s->len == sizeof(s->buf))
			sink_flush(s);
	}
}

/*
 * Encodes the profile gzipped into `fd`, or into memory (fd < 0: at most
 * mem_max bytes, handed over in *mem). Best speed, as Go's runtime does:
 * profiles are rewritten often and size matters less than time.
 */
static int encode(struct pprof_builder *b, int fd, size_t mem_max, void **mem, size_t *mem_len)
{
	struct pb_graph g = {};
	struct gz_sink *sink;
	int err;

	sink = malloc(sizeof(*sink));
	if (!sink)
		return -ENOMEM;
	/* The staging buffer needs no clearing. */
	memset(sink, 0, offsetof(struct gz_sink, buf));
	sink->base.append = sink_append;
	err = graph_build(b, &g);
	if (err)
		goto cleanup;
	err = gzip__new(fd, mem_max, Z_BEST_SPEED, &sink->gz);
	if (err)
		goto cleanup;
	perftools__profiles__profile__pack_to_buffer(&g.prof, &sink->base);
	sink_flush(sink);
	err = sink->err ? sink->err : gzip__finish(sink->gz, mem, mem_len);

cleanup:
	gzip__free(sink->gz);
	free(sink);
	graph_free(&g);
	return err;
}

static int encode_to_fd(int fd, void *ctx)
{
	return encode(ctx, fd, 0, NULL, NULL);
}

int pprof__write_gz(struct pprof_builder *b, const char *path)
{
	if (!b || !path)
		return -EINVAL;
	/* A profile is meant to be read by other tools. */
	return atomicfile__write(path, 0644, encode_to_fd, b);
}

int pprof__encode_gz(struct pprof_builder *b, size_t max_len, void **out, size_t *out_len)
{
	if (!b || !out || !out_len)
		return -EINVAL;
	return encode(b, -1, max_len, out, out_len);
}

/* ------------------------------------------------------------ viewing ---- */

int64_t pprof__period(const struct pprof_builder *b)
{
	return b->period;
}

int64_t pprof__time_nanos(const struct pprof_builder *b)
{
	return b->time_nanos;
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
	v->samples_label = s->samples_label;
	v->age_label = s->age_label;
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
			.function = pprof_str_or_null(b, f->name),
			.system_name = pprof_str_or_null(b, f->system_name),
			.file = pprof_str_or_null(b, f->filename),
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
	htab__release(&b->string_tab);
	htab__release(&b->mapping_tab);
	htab__release(&b->function_tab);
	htab__release(&b->loc_tab);
	free(b);
}

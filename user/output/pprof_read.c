// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * pprof_read.c - read a heap profile back into a builder, and merge one
 * builder into another (pprof.h).
 *
 * Reading goes through the public builder calls (add_mapping, ...), so a
 * profile read back is deduplicated and numbered as one built here; it has
 * to include the generated protobuf-c code to unpack the file. Merging
 * reads the source builder's arrays directly (pprof_impl.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/gzip.h"
#include "util/hash.h"
#include "util/htab.h"
#include "util/vec.h"
#include "output/pprof_impl.h"

/*
 * What reading a profile may cost. The decoded bytes are bounded, and so is
 * what unpacking them takes: protobuf-c turns every message (a sample, a
 * label, a line) into a struct of its own and every packed varint byte
 * into up to 8 bytes, so a small crafted file (a few hundred KB of gzip)
 * could take gigabytes. pprof_expansion() estimates the unpacked size from
 * the wire format before anything is unpacked. A profile of 65536 stacks
 * of 64 frames takes about a tenth of the bound.
 */
#define PPROF_MAX_DECODED  (64u << 20)
#define PPROF_MAX_EXPANDED (256ull << 20)
#define PPROF_MESSAGE_COST 96 /* a message's struct, pointer and allocator overhead */

typedef Perftools__Profiles__Profile Profile;

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
		if (len == cap && VEC_RESERVE(buf, cap, len + 65536)) {
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

static const char *pb_string(const Profile *p, int64_t idx)
{
	if (idx <= 0 || (size_t)idx >= p->n_string_table)
		return NULL;
	return p->string_table[idx];
}

/* Only Go's heap layout is read (pprof_sample_types); its default type is kept. */
static int load_sample_types(struct pprof_builder *b, const Profile *p)
{
	const char *t;
	size_t i;

	if (p->n_sample_type != PPROF_NR_VALUES)
		return -EPROTO;
	for (i = 0; i < PPROF_NR_VALUES; i++) {
		t = pb_string(p, p->sample_type[i]->type);
		if (!t || strcmp(t, pprof_sample_types[i].type))
			return -EPROTO;
	}
	t = pb_string(p, p->default_sample_type);
	for (i = 0; t && i < PPROF_NR_VALUES; i++) {
		if (!strcmp(t, pprof_sample_types[i].type))
			b->default_type = (int)i;
	}
	return 0;
}

/* Ids in the file are arbitrary: map_ids[i] is the builder's id of p->mapping[i]. */
static int load_mappings(struct pprof_builder *b, const Profile *p, uint64_t *map_ids)
{
	size_t i;

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
		if (id < 0)
			return (int)id;
		map_ids[i] = (uint64_t)id;
	}
	return 0;
}

/* loc_ids[i] is the builder's id of p->location[i]; frames has room for the most lines. */
static int load_locations(struct pprof_builder *b, const Profile *p, const uint64_t *map_ids,
			  uint64_t *loc_ids, struct pprof_frame *frames)
{
	size_t i, j;

	for (i = 0; i < p->n_location; i++) {
		const Perftools__Profiles__Location *l = p->location[i];
		size_t mi = PB_FIND(p->mapping, p->n_mapping, l->mapping_id);
		uint64_t mid = mi == (size_t)-1 ? 0 : map_ids[mi];
		int64_t id;

		for (j = 0; j < l->n_line; j++) {
			size_t k = PB_FIND(p->function, p->n_function, l->line[j]->function_id);
			const Perftools__Profiles__Function *f =
			    k == (size_t)-1 ? NULL : p->function[k];

			frames[j] = (struct pprof_frame){ .line = l->line[j]->line };
			if (f) {
				frames[j].function = pb_string(p, f->name);
				frames[j].system_name = pb_string(p, f->system_name);
				frames[j].file = pb_string(p, f->filename);
				frames[j].start_line = f->start_line;
			}
		}
		id = pprof__add_location(b, l->address, mid, frames, l->n_line);
		if (id < 0)
			return (int)id;
		loc_ids[i] = (uint64_t)id;
	}
	return 0;
}

/* stack has room for the longest sample's location ids. */
static int load_samples(struct pprof_builder *b, const Profile *p, const uint64_t *loc_ids,
			uint64_t *stack)
{
	size_t i, j;
	int err;

	for (i = 0; i < p->n_sample; i++) {
		const Perftools__Profiles__Sample *s = p->sample[i];
		struct pprof_labels label = { .bytes = 0, .samples = PPROF_NO_LABEL, .age = -1 };

		if (s->n_value != PPROF_NR_VALUES)
			return -EPROTO;
		for (j = 0; j < s->n_location_id; j++) {
			size_t k = PB_FIND(p->location, p->n_location, s->location_id[j]);

			stack[j] = k == (size_t)-1 ? 0 : loc_ids[k];
			if (!stack[j])
				return -EPROTO;
		}
		for (j = 0; j < s->n_label; j++) {
			const char *k = pb_string(p, s->label[j]->key);

			if (!k)
				continue;
			if (!strcmp(k, PPROF_LABEL_BYTES))
				label.bytes = s->label[j]->num;
			else if (!strcmp(k, PPROF_LABEL_SAMPLES))
				label.samples = s->label[j]->num;
			else if (!strcmp(k, PPROF_LABEL_AGE))
				label.age = s->label[j]->num;
		}
		err = pprof__add_sample_labeled(b, stack, s->n_location_id, s->value, NULL, &label);
		if (err)
			return err;
	}
	return 0;
}

/* Adds the decoded message's content to b (a fresh builder of the same layout). */
static int load_message(struct pprof_builder *b, const Profile *p)
{
	uint64_t *map_ids = NULL, *loc_ids = NULL, *stack = NULL;
	struct pprof_frame *frames = NULL;
	size_t i, max_lines = 1, max_locs = 1;
	int err;

	err = load_sample_types(b, p);
	if (err)
		return err;
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
	err = load_mappings(b, p, map_ids);
	if (err)
		goto cleanup;
	err = load_locations(b, p, map_ids, loc_ids, frames);
	if (err)
		goto cleanup;
	err = load_samples(b, p, loc_ids, stack);
	if (err)
		goto cleanup;
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

/* Reads a varint at *p (below end); false when it is malformed or runs past end. */
static bool wire_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	unsigned int shift;

	*v = 0;
	for (shift = 0; shift < 64 && *p < end; shift += 7) {
		unsigned char c = *(*p)++;

		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return true;
	}
	return false;
}

/*
 * Counts the length-delimited fields of the message [p, end) as messages,
 * looking `depth` levels into them (a sample's labels, a location's lines).
 * Returns the count, or -1 for a malformed message (unpacking refuses it).
 */
static int64_t wire_messages(const unsigned char *p, const unsigned char *end, int depth)
{
	int64_t n = 0, inner;
	uint64_t key, len;

	while (p < end) {
		if (!wire_varint(&p, end, &key))
			return -1;
		switch (key & 7) {
		case 0:
			if (!wire_varint(&p, end, &len))
				return -1;
			break;
		case 1:
			p += 8;
			break;
		case 5:
			p += 4;
			break;
		case 2:
			if (!wire_varint(&p, end, &len) || len > (uint64_t)(end - p))
				return -1;
			n++;
			if (depth > 0) {
				inner = wire_messages(p, p + len, depth - 1);
				/* Not a message (a packed array, a string): counted once. */
				n += inner > 0 ? inner : 0;
			}
			p += len;
			break;
		default:
			return -1;
		}
		if (p > end)
			return -1;
	}
	return n;
}

/* The memory unpacking a decoded profile may take, or -1 when it is malformed. */
static int64_t pprof_expansion(const unsigned char *raw, size_t len)
{
	int64_t messages = wire_messages(raw, raw + len, 1);

	return messages < 0 ? -1 : (int64_t)len * 8 + messages * PPROF_MESSAGE_COST;
}

int pprof__read_gz(const char *path, struct pprof_builder **out)
{
	unsigned char *file = NULL;
	void *raw = NULL;
	Profile *p = NULL;
	struct pprof_builder *b = NULL;
	size_t file_len = 0, raw_len = 0;
	int err;

	if (!path || !out)
		return -EINVAL;
	err = read_file(path, &file, &file_len);
	if (err)
		goto cleanup;
	err = gzip__inflate(file, file_len, PPROF_MAX_DECODED, &raw, &raw_len);
	if (err)
		goto cleanup;
	if (pprof_expansion(raw, raw_len) > (int64_t)PPROF_MAX_EXPANDED) {
		err = -E2BIG;
		goto cleanup;
	}
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

/* Same stack: equal location id lists. key is a struct pprof_sample_view; ctx the builder. */
static bool sample_eq(const void *entry, const void *key, const void *ctx)
{
	const struct pprof_builder *b = ctx;
	const struct pprof_sample *s = &b->samples[*(const uint32_t *)entry];
	const struct pprof_sample_view *v = key;

	/* Samples of one stack in two age buckets stay apart, as pprof keeps them. */
	return s->nlocs == v->n && s->age_label == v->age_label &&
	       !memcmp(b->loc_ids + s->loc_pos, v->location_ids, v->n * sizeof(*v->location_ids));
}

static uint64_t stack_hash(const uint64_t *ids, size_t n)
{
	return hash_u64s(0, ids, n);
}

/* src's mappings into dst: map_ids[src id] is dst's. */
static int merge_mappings(struct pprof_builder *dst, const struct pprof_builder *src,
			  uint64_t *map_ids)
{
	size_t i;

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

		if (id < 0)
			return (int)id;
		map_ids[i + 1] = (uint64_t)id;
	}
	return 0;
}

/* src's locations into dst: src_locs[src id] is dst's; frames has room for the most lines. */
static int merge_locations(struct pprof_builder *dst, const struct pprof_builder *src,
			   const uint64_t *map_ids, uint64_t *src_locs, struct pprof_frame *frames)
{
	size_t i, j, pos;

	for (i = 0, pos = 0; i < src->nlocs; i++) {
		const struct pprof_loc *l = &src->locs[i];
		int64_t id;

		for (j = 0; j < l->nlines; j++) {
			const Perftools__Profiles__Line *ln = &src->lines[pos + j];
			const Perftools__Profiles__Function *f =
			    &src->functions[ln->function_id - 1];

			frames[j] = (struct pprof_frame){
				.function = pprof_str_or_null(src, f->name),
				.system_name = pprof_str_or_null(src, f->system_name),
				.file = pprof_str_or_null(src, f->filename),
				.start_line = f->start_line,
				.line = ln->line,
			};
		}
		pos += l->nlines;
		id =
		    pprof__add_location(dst, l->address, map_ids[l->mapping_id], frames, l->nlines);
		if (id < 0)
			return (int)id;
		src_locs[i + 1] = (uint64_t)id;
	}
	return 0;
}

/* Indexes dst's samples by stack (the first of equal stacks), so that equal stacks add up. */
static int index_samples(const struct pprof_builder *dst, struct htab *index)
{
	size_t i;

	if (htab__reserve(index, dst->nsamples))
		return -ENOMEM;
	for (i = 0; i < dst->nsamples; i++) {
		struct pprof_sample_view key = { .location_ids =
						     dst->loc_ids + dst->samples[i].loc_pos,
						 .n = dst->samples[i].nlocs,
						 .age_label = dst->samples[i].age_label };
		bool found;
		uint32_t *e = htab__insert(index, stack_hash(key.location_ids, key.n), &key,
					   sample_eq, &found);

		if (!e)
			return -ENOMEM;
		if (!found)
			*e = (uint32_t)i;
	}
	return 0;
}

/*
 * src's samples into dst, times sign, for the values in mask (others count
 * as 0); stack has room for all of src's location ids.
 */
static int merge_samples(struct pprof_builder *dst, const struct pprof_builder *src,
			 const uint64_t *src_locs, int64_t sign, unsigned mask,
			 const struct htab *index, uint64_t *stack)
{
	size_t i, j, k;
	int err;

	for (i = 0; i < src->nsamples; i++) {
		const struct pprof_sample *s = &src->samples[i];
		int64_t values[PPROF_NR_VALUES], raw[PPROF_NR_VALUES];
		struct pprof_labels labels;
		struct pprof_sample_view key = { .location_ids = stack,
						 .n = s->nlocs,
						 .age_label = s->age_label };
		const uint32_t *e;

		for (j = 0; j < s->nlocs; j++)
			stack[j] = src_locs[src->loc_ids[s->loc_pos + j]];
		for (k = 0; k < PPROF_NR_VALUES; k++) {
			int64_t m = (mask >> k) & 1;

			values[k] = m * sign * s->values[k];
			raw[k] = m * sign * s->raw[k];
		}
		e = htab__find(index, stack_hash(stack, s->nlocs), &key, sample_eq);
		if (e) {
			struct pprof_sample *d = &dst->samples[*e];

			for (k = 0; k < PPROF_NR_VALUES; k++) {
				d->values[k] += values[k];
				d->raw[k] += raw[k];
			}
			d->has_raw = d->has_raw && s->has_raw;
			if (d->samples_label != PPROF_NO_LABEL &&
			    s->samples_label != PPROF_NO_LABEL)
				d->samples_label += sign * s->samples_label;
			continue;
		}
		/* Not indexed: two equal stacks of src both get a sample, as src had. */
		labels = (struct pprof_labels){ .bytes = s->bytes_label,
						.samples = s->samples_label == PPROF_NO_LABEL
							       ? PPROF_NO_LABEL
							       : sign * s->samples_label,
						.age = s->age_label };
		err = pprof__add_sample_labeled(dst, stack, s->nlocs, values,
						s->has_raw ? raw : NULL, &labels);
		if (err)
			return err;
	}
	return 0;
}

int pprof__merge(struct pprof_builder *dst, const struct pprof_builder *src, int64_t sign)
{
	return pprof__merge_values(dst, src, sign, (1u << PPROF_NR_VALUES) - 1);
}

int pprof__merge_values(struct pprof_builder *dst, const struct pprof_builder *src, int64_t sign,
			unsigned mask)
{
	uint64_t *src_locs = NULL, *stack = NULL, *map_ids = NULL;
	struct pprof_frame *frames = NULL;
	struct htab index;
	size_t i, max_lines = 1;
	int err;

	if (!dst || !src || (sign != 1 && sign != -1))
		return -EINVAL;
	htab__init(&index, sizeof(uint32_t), dst);
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
	err = merge_mappings(dst, src, map_ids);
	if (err)
		goto cleanup;
	err = merge_locations(dst, src, map_ids, src_locs, frames);
	if (err)
		goto cleanup;
	err = index_samples(dst, &index);
	if (err)
		goto cleanup;
	err = merge_samples(dst, src, src_locs, sign, mask, &index, stack);
cleanup:
	htab__release(&index);
	free(frames);
	free(stack);
	free(src_locs);
	free(map_ids);
	return err;
}

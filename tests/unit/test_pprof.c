// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_pprof.c - builds heap profiles, writes them, and reads them back
 * both with protobuf-c and, when Go is installed, with `go tool pprof`.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>

#include "profile.pb-c.h"
#include "output/pprof.h"
#include "tap.h"

#define NR_MANY 100000

typedef Perftools__Profiles__Profile Profile;

static char tmpdir[] = "/tmp/test_pprof.XXXXXX";

/* Reads and gunzips `path`, then unpacks it; NULL on any failure. */
static Profile *read_profile(const char *path)
{
	unsigned char in[16384];
	unsigned char *out = NULL, *p;
	size_t out_len = 0, out_cap = 0;
	Profile *prof = NULL;
	z_stream zs = { 0 };
	FILE *f;
	int ret = Z_OK;

	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		goto out;
	while (ret != Z_STREAM_END) {
		zs.avail_in = fread(in, 1, sizeof(in), f);
		if (!zs.avail_in)
			break;
		zs.next_in = in;
		do {
			if (out_cap - out_len < sizeof(in)) {
				out_cap = out_cap ? out_cap * 2 : 65536;
				p = realloc(out, out_cap);
				if (!p)
					goto end;
				out = p;
			}
			zs.next_out = out + out_len;
			zs.avail_out = out_cap - out_len;
			ret = inflate(&zs, Z_NO_FLUSH);
			if (ret != Z_OK && ret != Z_STREAM_END)
				goto end;
			out_len = out_cap - zs.avail_out;
		} while (zs.avail_out == 0 || (zs.avail_in && ret != Z_STREAM_END));
	}
	if (ret == Z_STREAM_END)
		prof = perftools__profiles__profile__unpack(NULL, out_len, out);
end:
	inflateEnd(&zs);
out:
	free(out);
	fclose(f);
	return prof;
}

static const char *str(const Profile *p, int64_t idx)
{
	if (idx < 0 || (size_t)idx >= p->n_string_table)
		return "<bad string index>";
	return p->string_table[idx];
}

static const Perftools__Profiles__Location *find_loc(const Profile *p, uint64_t id)
{
	size_t i;

	for (i = 0; i < p->n_location; i++) {
		if (p->location[i]->id == id)
			return p->location[i];
	}
	return NULL;
}

static const Perftools__Profiles__Function *find_func(const Profile *p, uint64_t id)
{
	size_t i;

	for (i = 0; i < p->n_function; i++) {
		if (p->function[i]->id == id)
			return p->function[i];
	}
	return NULL;
}

static const Perftools__Profiles__Mapping *find_mapping(const Profile *p, uint64_t id)
{
	size_t i;

	for (i = 0; i < p->n_mapping; i++) {
		if (p->mapping[i]->id == id)
			return p->mapping[i];
	}
	return NULL;
}

/* Name of the function of line `n` of location `id`, or "" when absent. */
static const char *loc_func(const Profile *p, uint64_t id, size_t n)
{
	const Perftools__Profiles__Location *l = find_loc(p, id);
	const Perftools__Profiles__Function *f;

	if (!l || n >= l->n_line)
		return "";
	f = find_func(p, l->line[n]->function_id);
	return f ? str(p, f->name) : "";
}

/* Entries of tmpdir whose name contains ".tmp.": leftovers of a failed write. */
static int count_temp_files(void)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(tmpdir);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += strstr(de->d_name, ".tmp.") != NULL;
	closedir(d);
	return n;
}

static char *path_in_tmp(const char *name)
{
	static char buf[4][256];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", tmpdir, name);
	return p;
}

static struct pprof_builder *build_small(int64_t ids[8])
{
	const struct pprof_mapping_info exe = {
		.start = 0x400000,
		.limit = 0x500000,
		.offset = 0,
		.file = "/usr/bin/heaptrace-test-exe",
		.build_id = "0123456789abcdef",
		.has_functions = true,
		.has_filenames = true,
		.has_line_numbers = true,
		.has_inline_frames = true,
	};
	const struct pprof_mapping_info lib = {
		.start = 0x7f0000000000,
		.limit = 0x7f0000100000,
		.offset = 0x1000,
		.file = "/usr/lib/libheaptrace-test.so",
		.build_id = NULL,
		.has_functions = true,
	};
	const struct pprof_frame inlined[] = {
		{ .function = "ht_inner", .file = "a.c", .start_line = 10, .line = 12 },
		{ .function = "ht_outer",
		  .system_name = "_Z8ht_outerv",
		  .file = "a.c",
		  .start_line = 20,
		  .line = 25 },
	};
	const struct pprof_frame outer_again[] = {
		{ .function = "ht_outer",
		  .system_name = "_Z8ht_outerv",
		  .file = "a.c",
		  .start_line = 20,
		  .line = 30 },
	};
	const struct pprof_frame libfn[] = {
		{ .function = "ht_lib_alloc", .file = "lib.c", .line = 7 },
		{ .function = NULL, .file = NULL }, /* carries nothing: dropped */
	};
	const struct pprof_frame main_fn[] = {
		{ .function = "main", .file = "main.c", .line = 3 }
	};
	struct pprof_builder *b;
	int64_t id;

	b = pprof__new(524288, 1700000000000000000LL, 30000000000LL);
	ok(b != NULL, "pprof__new");
	if (!b)
		return NULL;
	ids[0] = pprof__add_mapping(b, &exe);
	ids[1] = pprof__add_mapping(b, &lib);
	ok(ids[0] == 1 && ids[1] == 2, "mapping ids are 1 and 2 (got %lld, %lld)",
	   (long long)ids[0], (long long)ids[1]);
	id = pprof__add_mapping(b, &exe);
	ok(id == ids[0], "same mapping again is deduplicated");

	ids[2] = pprof__add_location(b, 0x401000, ids[0], inlined, 2);
	ids[3] = pprof__add_location(b, 0x402000, ids[0], outer_again, 1);
	ids[4] = pprof__add_location(b, 0x7f0000000100, ids[1], libfn, 2);
	ids[5] = pprof__add_location(b, 0x403000, ids[0], main_fn, 1);
	ids[6] = pprof__add_location(b, 0x401000, 0, NULL, 0);
	ok(ids[2] == 1 && ids[3] == 2 && ids[4] == 3 && ids[5] == 4 && ids[6] == 5,
	   "location ids are 1..5");
	id = pprof__add_location(b, 0x401000, ids[0], main_fn, 1);
	ok(id == ids[2], "same address and mapping gives the same location");
	ok(pprof__find_location(b, 0x401000, ids[0]) == ids[2] &&
	       pprof__find_location(b, 0x401000, 0) == ids[6],
	   "pprof__find_location finds an added location");
	ok(pprof__find_location(b, 0x404000, ids[0]) == 0, "pprof__find_location: 0 when absent");
	ok(pprof__add_location(b, 0x1, 3, NULL, 0) == -EINVAL, "unknown mapping id is -EINVAL");

	{
		const uint64_t st1[] = { ids[2], ids[5] };
		const uint64_t st2[] = { ids[4], ids[3], ids[5] };
		const uint64_t st3[] = { ids[6] };
		const uint64_t bad[] = { ids[2], 99 };
		const int64_t v1[] = { 10, 1000, 4, 400 };
		const int64_t v2[] = { 3, 96, 3, 96 };
		const int64_t v3[] = { 1, 8, 0, 0 };

		ok(pprof__add_sample(b, st1, 2, v1, 100) == 0, "add sample 1");
		ok(pprof__add_sample(b, st2, 3, v2, 32) == 0, "add sample 2");
		ok(pprof__add_sample(b, st3, 1, v3, 0) == 0, "add sample 3 (no label)");
		ok(pprof__add_sample(b, bad, 2, v3, 0) == -EINVAL,
		   "unknown location id is -EINVAL");
	}
	ok(pprof__add_comment(b, "heaptrace unit test") == 0, "add comment");
	ok(pprof__add_comment(b, "second comment") == 0, "add second comment");
	return b;
}

static void test_small(void)
{
	const Perftools__Profiles__Location *l;
	const Perftools__Profiles__Function *f;
	const Perftools__Profiles__Mapping *m;
	static const char *const types[] = { "alloc_objects", "alloc_space", "inuse_objects",
					     "inuse_space" };
	static const char *const units[] = { "count", "bytes", "count", "bytes" };
	const char *path = path_in_tmp("small.pb.gz");
	struct pprof_builder *b;
	struct stat st;
	int64_t ids[8];
	Profile *p;
	size_t i;
	int err;
	bool good;

	b = build_small(ids);
	if (!b)
		return;
	umask(077);
	err = pprof__write_gz(b, path);
	umask(022);
	ok(err == 0, "pprof__write_gz (%d)", err);
	if (stat(path, &st))
		st.st_mode = 0;
	ok((st.st_mode & 0777) == 0644, "profile is mode 0644 despite umask 077 (%o)",
	   st.st_mode & 0777);
	ok(count_temp_files() == 0, "no temp file left after a good write");
	pprof__free(b);

	p = read_profile(path);
	ok(p != NULL, "profile gunzips and unpacks");
	if (!p)
		return;

	ok(p->n_string_table > 0 && strcmp(p->string_table[0], "") == 0, "string_table[0] is \"\"");
	good = p->n_sample_type == 4;
	for (i = 0; good && i < 4; i++)
		good = !strcmp(str(p, p->sample_type[i]->type), types[i]) &&
		       !strcmp(str(p, p->sample_type[i]->unit), units[i]);
	ok(good, "sample types are alloc_objects/count alloc_space/bytes inuse_objects/count "
		 "inuse_space/bytes");
	ok(p->period_type && !strcmp(str(p, p->period_type->type), "space") &&
	       !strcmp(str(p, p->period_type->unit), "bytes"),
	   "period type is space/bytes");
	ok(p->period == 524288, "period");
	ok(p->time_nanos == 1700000000000000000LL && p->duration_nanos == 30000000000LL,
	   "time and duration");
	ok(!strcmp(str(p, p->default_sample_type), "inuse_space"), "default sample type");
	ok(p->n_comment == 2 && !strcmp(str(p, p->comment[0]), "heaptrace unit test") &&
	       !strcmp(str(p, p->comment[1]), "second comment"),
	   "comments");

	/* Every string is interned exactly once. */
	good = true;
	for (i = 0; i < p->n_string_table && good; i++) {
		size_t j;

		for (j = i + 1; j < p->n_string_table; j++) {
			if (!strcmp(p->string_table[i], p->string_table[j]))
				good = false;
		}
	}
	ok(good, "string table has no duplicates");

	ok(p->n_mapping == 2, "two mappings (got %zu)", p->n_mapping);
	m = find_mapping(p, 1);
	ok(m && m->memory_start == 0x400000 && m->memory_limit == 0x500000 && m->file_offset == 0 &&
	       !strcmp(str(p, m->filename), "/usr/bin/heaptrace-test-exe") &&
	       !strcmp(str(p, m->build_id), "0123456789abcdef") && m->has_functions &&
	       m->has_filenames && m->has_line_numbers && m->has_inline_frames,
	   "mapping 1 fields");
	m = find_mapping(p, 2);
	ok(m && m->file_offset == 0x1000 && !strcmp(str(p, m->build_id), "") && m->has_functions &&
	       !m->has_inline_frames,
	   "mapping 2 fields");

	ok(p->n_location == 5, "five locations (got %zu)", p->n_location);
	l = find_loc(p, ids[2]);
	ok(l && l->address == 0x401000 && l->mapping_id == 1 && l->n_line == 2 &&
	       l->line[0]->line == 12 && l->line[1]->line == 25,
	   "inlined location has two lines, innermost first");
	ok(!strcmp(loc_func(p, ids[2], 0), "ht_inner") &&
	       !strcmp(loc_func(p, ids[2], 1), "ht_outer"),
	   "inlined location's functions");
	l = find_loc(p, ids[4]);
	ok(l && l->mapping_id == 2 && l->n_line == 1 &&
	       !strcmp(loc_func(p, ids[4], 0), "ht_lib_alloc"),
	   "a frame with no name and no file is dropped");
	l = find_loc(p, ids[6]);
	ok(l && l->mapping_id == 0 && l->n_line == 0, "unsymbolized location has no lines");

	/* ht_inner, ht_outer (shared by two locations), ht_lib_alloc, main. */
	ok(p->n_function == 4, "functions are deduplicated (got %zu)", p->n_function);
	l = find_loc(p, ids[3]);
	ok(l && find_loc(p, ids[2]) &&
	       l->line[0]->function_id == find_loc(p, ids[2])->line[1]->function_id,
	   "two locations share one function");
	f = l ? find_func(p, l->line[0]->function_id) : NULL;
	ok(f && !strcmp(str(p, f->system_name), "_Z8ht_outerv") &&
	       !strcmp(str(p, f->filename), "a.c") && f->start_line == 20,
	   "function fields");
	f = find_func(p, find_loc(p, ids[5])->line[0]->function_id);
	ok(f && !strcmp(str(p, f->system_name), "main"), "system name defaults to the name");

	ok(p->n_sample == 3, "three samples (got %zu)", p->n_sample);
	if (p->n_sample == 3) {
		Perftools__Profiles__Sample **s = p->sample;

		ok(s[0]->n_location_id == 2 && s[0]->location_id[0] == (uint64_t)ids[2] &&
		       s[0]->location_id[1] == (uint64_t)ids[5],
		   "sample 1 stack, leaf first");
		ok(s[0]->n_value == 4 && s[0]->value[0] == 10 && s[0]->value[1] == 1000 &&
		       s[0]->value[2] == 4 && s[0]->value[3] == 400,
		   "sample 1 values");
		ok(s[0]->n_label == 1 && !strcmp(str(p, s[0]->label[0]->key), "bytes") &&
		       s[0]->label[0]->num == 100 && s[0]->label[0]->str == 0,
		   "sample 1 has numeric label bytes=100");
		ok(s[1]->n_location_id == 3 && s[1]->value[1] == 96 && s[1]->n_label == 1 &&
		       s[1]->label[0]->num == 32,
		   "sample 2 stack, values and label");
		ok(s[2]->n_location_id == 1 && s[2]->n_label == 0 && s[2]->value[3] == 0,
		   "sample 3 has no label");
	}
	perftools__profiles__profile__free_unpacked(p, NULL);
}

static void test_errors(void)
{
	const char *keep = path_in_tmp("keep.pb.gz");
	const char *missing = path_in_tmp("no/such/dir/x.pb.gz");
	struct rlimit old, small;
	struct pprof_builder *b;
	char buf[64] = "";
	int64_t ids[8];
	FILE *f;
	int err;

	ok(pprof__add_sample(NULL, NULL, 0, (int64_t[4]){ 0 }, 0) == -EINVAL, "NULL builder");
	pprof__free(NULL);
	ok(1, "pprof__free(NULL) is a no-op");

	b = build_small(ids);
	if (!b)
		return;
	err = pprof__write_gz(b, missing);
	ok(err == -ENOENT, "missing directory gives -ENOENT (%d)", err);
	ok(access(missing, F_OK) != 0, "nothing created there");
	ok(count_temp_files() == 0, "no temp file left");
	err = pprof__write_gz(b, path_in_tmp(""));
	ok(err < 0, "a directory path is refused (%d)", err);

	/* A write error mid-file: the file size limit turns write() into EFBIG. */
	f = fopen(keep, "w");
	ok(f && fputs("original", f) >= 0 && fclose(f) == 0, "create an existing profile");
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	small = old;
	small.rlim_cur = 16;
	setrlimit(RLIMIT_FSIZE, &small);
	err = pprof__write_gz(b, keep);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	ok(err == -EFBIG, "write error comes back as its negative errno (%d)", err);
	f = fopen(keep, "r");
	ok(f && fgets(buf, sizeof(buf), f) && !strcmp(buf, "original"),
	   "existing file left intact");
	if (f)
		fclose(f);
	ok(count_temp_files() == 0, "temp file removed after a write error");

	err = pprof__write_gz(b, keep);
	ok(err == 0, "rewrite over an existing file");
	pprof__free(b);
}

static void test_go_pprof(void)
{
	const char *path = path_in_tmp("small.pb.gz");
	bool have_types = false, have_func = false;
	char cmd[512], line[1024];
	int status;
	FILE *f;

	if (system("command -v go >/dev/null 2>&1") != 0) {
		/* CI installs Go, so there a missing go is a failure, not a skip. */
		if (getenv("CI") && !strcmp(getenv("CI"), "true"))
			ok(0, "go tool pprof: go not on PATH under CI");
		else
			ok(1, "# SKIP go not on PATH");
		return;
	}
	snprintf(cmd, sizeof(cmd), "go tool pprof -raw '%s' 2>&1", path);
	f = popen(cmd, "r");
	ok(f != NULL, "run %s", cmd);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "inuse_space/bytes[dflt]"))
			have_types = true;
		if (strstr(line, "ht_outer"))
			have_func = true;
	}
	status = pclose(f);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "go tool pprof -raw exits 0");
	ok(have_types, "go tool pprof sees inuse_space as the default sample type");
	ok(have_func, "go tool pprof names function ht_outer");
}

static void test_many(void)
{
	const char *path = path_in_tmp("many.pb.gz");
	const struct pprof_mapping_info exe = { .start = 0x400000,
						.limit = 0x40000000,
						.file = "exe" };
	struct pprof_builder *b;
	int64_t map, root, id, sum = 0, want = 0;
	bool good = true;
	char name[32];
	Profile *p;
	size_t i;

	b = pprof__new(1, 0, 0);
	ok(b != NULL, "pprof__new for %d samples", NR_MANY);
	if (!b)
		return;
	map = pprof__add_mapping(b, &exe);
	root = pprof__add_location(
	    b, 0x400000, map, &(struct pprof_frame){ .function = "main", .file = "main.c" }, 1);
	for (i = 0; i < NR_MANY && good; i++) {
		struct pprof_frame fr = { .function = name, .file = "gen.c", .line = (int64_t)i };
		uint64_t stack[2];
		int64_t v[4] = { 1, (int64_t)i + 1, i % 2, i % 2 ? (int64_t)i + 1 : 0 };

		snprintf(name, sizeof(name), "fn_%zu", i);
		id = pprof__add_location(b, 0x400010 + i * 4, map, &fr, 1);
		stack[0] = id;
		stack[1] = root;
		good = id == (int64_t)i + 2 && pprof__add_sample(b, stack, 2, v, 1) == 0;
		want += (int64_t)i + 1;
	}
	ok(good, "%d distinct locations and samples added", NR_MANY);
	for (i = 0; i < NR_MANY && good; i += 7)
		good = pprof__add_location(b, 0x400010 + i * 4, map, NULL, 0) == (int64_t)i + 2;
	ok(good, "every location is found again");
	ok(pprof__write_gz(b, path) == 0, "write %d samples", NR_MANY);
	pprof__free(b);

	p = read_profile(path);
	ok(p != NULL, "large profile reads back");
	if (!p)
		return;
	ok(p->n_sample == NR_MANY && p->n_location == NR_MANY + 1 && p->n_function == NR_MANY + 1,
	   "counts: %zu samples, %zu locations, %zu functions", p->n_sample, p->n_location,
	   p->n_function);
	for (i = 0; i < p->n_sample; i++)
		sum += p->sample[i]->value[1];
	ok(sum == want, "alloc_space sums to %lld (got %lld)", (long long)want, (long long)sum);
	ok(p->n_sample == NR_MANY &&
	       !strcmp(loc_func(p, p->sample[12345]->location_id[0], 0), "fn_12345") &&
	       !strcmp(loc_func(p, p->sample[NR_MANY - 1]->location_id[1], 0), "main"),
	   "sample stacks name the right functions");
	perftools__profiles__profile__free_unpacked(p, NULL);
}

static void cleanup_tmpdir(void)
{
	struct dirent *de;
	DIR *d = opendir(tmpdir);

	if (d) {
		while ((de = readdir(d))) {
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				unlink(path_in_tmp(de->d_name));
		}
		closedir(d);
	}
	rmdir(tmpdir);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return done_testing();
	}
	test_small();
	test_errors();
	test_go_pprof();
	test_many();
	if (!getenv("TEST_PPROF_KEEP"))
		cleanup_tmpdir();
	return done_testing();
}

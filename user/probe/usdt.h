/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * usdt.h - USDT probes (SystemTap SDT notes) in the objects a process maps,
 * for the in-process sampler's contract: provider "otel_memory", probes
 * alloc(ptr, size, weighted_bytes) and free(ptr) (docs/design.md).
 *
 * A probe is a `.note.stapsdt` note (owner "stapsdt", type 3) whose desc
 * holds the probe's address, the link-time address of `.stapsdt.base`, the
 * semaphore's address (0: none), then the provider, the name and the
 * argument formats ("8@%rdi 8@%rsi 8@%rdx"), each NUL-terminated. An object
 * prelinked at another address says so by its `.stapsdt.base` section: the
 * probe's address moves by the difference. Files are read as the process
 * sees them (procfs.h). Errors are negative errno; malformed notes are
 * skipped, not fatal, and counted.
 */
#ifndef HEAPTRACE_USDT_H
#define HEAPTRACE_USDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "symbol/procmaps.h"

#define USDT_OTEL_PROVIDER "otel_memory"

struct usdt_probe {
	char *provider;
	char *name;
	char *args;	      /* argument formats, as written in the note */
	uint64_t pc;	      /* link-time address of the probe site */
	uint64_t file_offset; /* of the probe site; 0 when no segment holds it */
	uint64_t semaphore;   /* link-time address of its semaphore, 0 when none */
	bool semaphore_ok;    /* none, or in memory the kernel can count it in */
};

/* The probes of one ELF file (an open descriptor), of `provider` (NULL: every one). */
struct usdt_notes {
	struct usdt_probe *probes;
	size_t nr, cap;
	size_t malformed; /* notes of owner "stapsdt" that could not be read */
};

int usdt__read_notes(int fd, const char *provider, struct usdt_notes *out);
void usdt__notes_release(struct usdt_notes *n);

/* A mapped object that carries otel_memory probes. */
struct usdt_object {
	char *path;	     /* as heaptrace opens it (the process's root, or map_files) */
	char *shown;	     /* as the process maps it */
	bool is_exe;	     /* the program itself (an emitter built into it) */
	uint64_t text_start; /* where its code is mapped in the process: its frames */
	uint64_t text_end;   /* at the leaf of a sample are the sampler's own */
	bool has_alloc, has_free;
	struct usdt_notes notes;
};

struct usdt_plan {
	struct usdt_object *objects;
	size_t nr, cap;
};

/*
 * The mapped objects of `pid` (per `maps`) with an otel_memory alloc probe.
 * Returns 0 with *out set (the caller frees it), -ENOENT when none has one,
 * another negative errno otherwise.
 */
int usdt__find(pid_t pid, const struct procmaps *maps, struct usdt_plan **out);

/* One line per probe, as --list-probes shows it. */
void usdt__plan_write(const struct usdt_plan *p, FILE *f);

/* usdt__plan_free(NULL) is a no-op. */
void usdt__plan_free(struct usdt_plan *p);

#endif /* HEAPTRACE_USDT_H */

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * statusline.h - the sink that says one line per profile on stderr:
 *
 *   pid 123 (server): inuse 1.2 MiB (+64.0 KiB) in 40 objects, allocated
 *   8.0 MiB, 512 samples, 0 lost
 *
 * The change is against the same process's previous profile; a process's
 * final profile ends its series.
 */
#ifndef HEAPTRACE_STATUSLINE_H
#define HEAPTRACE_STATUSLINE_H

#include <stddef.h>
#include <stdint.h>

#include "output/sink.h"

extern const struct sink_ops statusline_ops;

/* The state for statusline_ops, or NULL when out of memory. */
void *statusline__new(void);

/* `bytes` for a person: "512 B", "1.5 KiB", "-2.0 MiB". */
void statusline__format_bytes(int64_t bytes, char *buf, size_t len);

/*
 * What follows the in-use change inside its parentheses: how sure the
 * in-use figure is and the process's resident anonymous memory beside it,
 * e.g. "; ±3% from 1100 live samples; RssAnon 20.1 MiB".
 */
void statusline__format_extra(const struct profile_summary *sum, char *buf, size_t len);

#endif /* HEAPTRACE_STATUSLINE_H */

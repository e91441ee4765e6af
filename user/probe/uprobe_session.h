/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * uprobe_session.h - uprobe session links, made with the raw bpf() call.
 *
 * A uprobe session (Linux 6.13+, link type BPF_TRACE_UPROBE_SESSION over
 * uprobe_multi) runs one BPF program at a function's entry and, only when
 * that run returned 0, again at its return. It lets heaptrace arm a return
 * probe for the few calls that need one instead of for every call.
 * Debian's libbpf 1.1 can neither name the attach type nor create
 * uprobe_multi links, so this module carries the kernel's ABI for them
 * (attach type number, the link_create layout of union bpf_attr) and
 * nothing else: it knows no skeleton and prints nothing.
 *
 * A program used here must be of type BPF_PROG_TYPE_KPROBE and loaded with
 * expected_attach_type UPROBE_SESSION_ATTACH_TYPE (with libbpf:
 * bpf_program__set_expected_attach_type before load).
 *
 * Errors are negative errno values; the kernel's when it refused.
 */
#ifndef HEAPTRACE_UPROBE_SESSION_H
#define HEAPTRACE_UPROBE_SESSION_H

#include <stdint.h>
#include <sys/types.h>

/* BPF_TRACE_UPROBE_SESSION in the kernel's enum bpf_attach_type. */
#define UPROBE_SESSION_ATTACH_TYPE 57

/*
 * Whether this kernel creates uprobe session links: loads a two-instruction
 * session program and attaches it, for this process only, to a function of
 * this process's own executable that is never called; then undoes both.
 * Returns 0 when it works, or the first failure's negative errno (-EINVAL
 * or -EOPNOTSUPP from a kernel that lacks sessions, -EPERM without
 * privileges).
 */
int uprobe_session__probe(void);

/*
 * Attaches the loaded session program `prog_fd` at byte `file_offset` of the
 * file at `path` (an ELF object; the offset is a file offset, not an
 * address), firing in process `pid` only (0: every process); the program
 * reads `cookie` with bpf_get_attach_cookie(). Returns the link's
 * descriptor, which the caller owns (closing it detaches), or a negative
 * errno.
 */
int uprobe_session__attach(int prog_fd, const char *path, uint64_t file_offset, uint64_t cookie,
			   pid_t pid);

#endif /* HEAPTRACE_UPROBE_SESSION_H */

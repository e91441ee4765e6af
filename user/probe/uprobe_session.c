// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>

#include <bpf/bpf.h>

#include "probe/uprobe_session.h"

/*
 * The link_create member of union bpf_attr with its uprobe_multi part, as
 * the kernel's uapi lays it out (6.6+); Debian's <linux/bpf.h> predates it.
 * The kernel reads `size` bytes and treats the rest of the union as zero.
 */
struct uprobe_multi_link_attr {
	__u32 prog_fd;
	__u32 target_fd; /* unused by uprobe_multi */
	__u32 attach_type;
	__u32 flags;   /* link flags: none */
	__u64 path;    /* const char *: the file to probe */
	__u64 offsets; /* const __u64 *: file offsets, cnt of them */
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 multi_flags; /* BPF_F_UPROBE_MULTI_RETURN (1): must be off for sessions */
	__u32 pid;	   /* fire in this process only */
	__u32 pad;
};

_Static_assert(sizeof(struct uprobe_multi_link_attr) == 64, "link_create is 64 bytes here");

#define BPF_LINK_CREATE_CMD 28 /* enum bpf_cmd's BPF_LINK_CREATE */

int uprobe_session__attach(int prog_fd, const char *path, uint64_t file_offset, uint64_t cookie,
			   pid_t pid)
{
	struct uprobe_multi_link_attr attr;
	__u64 offset = file_offset, value = cookie;
	long fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = (__u32)prog_fd;
	attr.attach_type = UPROBE_SESSION_ATTACH_TYPE;
	attr.path = (__u64)(uintptr_t)path;
	attr.offsets = (__u64)(uintptr_t)&offset;
	attr.cookies = (__u64)(uintptr_t)&value;
	attr.cnt = 1;
	attr.pid = (__u32)pid;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE_CMD, &attr, sizeof(attr));
	return fd < 0 ? -errno : (int)fd;
}

/* The probe's target: never called, so its breakpoint never fires. */
static __attribute__((noinline, used)) void probe_target(void)
{
	__asm__ volatile("");
}

struct find_ctx {
	uintptr_t addr;
	char path[256];
	uint64_t offset;
	bool found;
};

/* Finds the loaded object holding ctx->addr and the address's file offset. */
static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
	struct find_ctx *ctx = data;
	uintptr_t vaddr = ctx->addr - info->dlpi_addr;
	int i;

	(void)size;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || vaddr < ph->p_vaddr ||
		    vaddr >= ph->p_vaddr + ph->p_filesz)
			continue;
		ctx->offset = vaddr - ph->p_vaddr + ph->p_offset;
		/* The main program has an empty name: reach it through /proc. */
		snprintf(ctx->path, sizeof(ctx->path), "%s",
			 info->dlpi_name[0] ? info->dlpi_name : "/proc/self/exe");
		ctx->found = true;
		return 1;
	}
	return 0;
}

int uprobe_session__probe(void)
{
	/* r0 = 1; exit: the entry run asks for no return run. */
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		    .expected_attach_type = (enum bpf_attach_type)UPROBE_SESSION_ATTACH_TYPE);
	struct find_ctx ctx = { .addr = (uintptr_t)&probe_target };
	int prog_fd = -1, link_fd = -1, err;

	if (!dl_iterate_phdr(find_object, &ctx) || !ctx.found) {
		err = -ENOENT;
		goto cleanup;
	}
	prog_fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "ht_sess_probe", "GPL", insns,
				sizeof(insns) / sizeof(insns[0]), &opts);
	if (prog_fd < 0) {
		err = prog_fd;
		goto cleanup;
	}
	link_fd = uprobe_session__attach(prog_fd, ctx.path, ctx.offset, 0, getpid());
	err = link_fd < 0 ? link_fd : 0;
cleanup:
	if (link_fd >= 0)
		close(link_fd);
	if (prog_fd >= 0)
		close(prog_fd);
	return err;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* privilege.c - see privilege.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/privilege.h"
#include "util/log.h"

/*
 * What tracing needs after attach (verified by the tests that run under the
 * drop; docs/reliability.md):
 *   CAP_BPF             map reads and updates, new links (later attaches)
 *   CAP_PERFMON         perf_event_open of uprobes (later attaches, re-attach)
 *   CAP_SYS_PTRACE      /proc/PID/{maps,environ,auxv,root} and per-PID uprobes
 *                       of other users' processes; the command's ptrace stops
 *   CAP_DAC_READ_SEARCH their executables and libraries, whatever the modes
 *   CAP_CHECKPOINT_RESTORE /proc/PID/map_files (deleted and chroot'ed files)
 * and, only while uprobe sessions are used, CAP_SYS_ADMIN (privilege.h).
 */
static const struct {
	int cap;
	const char *name;
} kept[] = {
	{ CAP_BPF, "cap_bpf" },
	{ CAP_PERFMON, "cap_perfmon" },
	{ CAP_SYS_PTRACE, "cap_sys_ptrace" },
	{ CAP_DAC_READ_SEARCH, "cap_dac_read_search" },
	{ CAP_CHECKPOINT_RESTORE, "cap_checkpoint_restore" },
};
#define NR_KEPT (sizeof(kept) / sizeof(kept[0]))

/* Never made once heaptrace runs; every one would widen what a compromised daemon can do. */
static const int denied_calls[] = {
	__NR_execve,
	__NR_execveat,
	__NR_mount,
	__NR_umount2,
	__NR_pivot_root,
	__NR_chroot,
	__NR_swapon,
	__NR_swapoff,
	__NR_reboot,
	__NR_kexec_load,
	__NR_kexec_file_load,
	__NR_init_module,
	__NR_finit_module,
	__NR_delete_module,
	__NR_acct,
	__NR_settimeofday,
	__NR_clock_settime,
	__NR_clock_adjtime,
	__NR_adjtimex,
	__NR_sethostname,
	__NR_setdomainname,
	__NR_iopl,
	__NR_ioperm,
	__NR_quotactl,
	__NR_unshare,
	__NR_setns,
	__NR_keyctl,
	__NR_add_key,
	__NR_request_key,
	__NR_userfaultfd,
	__NR_open_by_handle_at,
	__NR_process_vm_writev,
	__NR_fsopen,
	__NR_fsconfig,
	__NR_fsmount,
	__NR_fspick,
	__NR_move_mount,
	__NR_open_tree,
	__NR_mount_setattr,
	__NR_syslog,
	__NR_vhangup,
	__NR_uselib,
	__NR_setuid,
	__NR_setgid,
	__NR_setreuid,
	__NR_setregid,
	__NR_setresuid,
	__NR_setresgid,
	__NR_setfsuid,
	__NR_setfsgid,
	__NR_setgroups,
	__NR_capset,
	__NR_mknod,
	__NR_mknodat,
	__NR_io_uring_setup,
	__NR_io_uring_enter,
	__NR_io_uring_register,
	__NR_personality,
};
#define NR_DENIED (sizeof(denied_calls) / sizeof(denied_calls[0]))

/* Kept beyond kept[]: CAP_SYS_ADMIN for sessions, CAP_DAC_OVERRIDE for an output directory. */
struct extra_caps {
	bool sys_admin;
	bool dac_override;
};

/* The kept capabilities' names, e.g. "cap_bpf,cap_perfmon,...", for -v. */
static const char *kept_names(const struct extra_caps *x, char *buf, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < NR_KEPT; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? "," : "", kept[i].name);
	snprintf(buf + n, len - n, "%s%s", x->sys_admin ? ",cap_sys_admin" : "",
		 x->dac_override ? ",cap_dac_override" : "");
	return buf;
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int n = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = CAP_LAST_CAP;
		fclose(f);
	}
	return n;
}

static bool is_kept(int cap, const struct extra_caps *x)
{
	size_t i;

	if ((x->sys_admin && cap == CAP_SYS_ADMIN) || (x->dac_override && cap == CAP_DAC_OVERRIDE))
		return true;
	for (i = 0; i < NR_KEPT; i++)
		if (kept[i].cap == cap)
			return true;
	return false;
}

/* Needs CAP_SETPCAP, so before capset: uid 0 must not gain capabilities back (execve). */
static int lock_securebits(void)
{
	unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
			     SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
			     SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;

	return prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) ? -errno : 0;
}

static int drop_bounding(const struct extra_caps *x)
{
	int cap, last = last_cap();

	for (cap = 0; cap <= last; cap++) {
		if (is_kept(cap, x) || prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			return -errno;
	}
	return 0;
}

/*
 * Effective: the kept ones heaptrace has; inheritable: none; permitted: the
 * effective set too when `final`, else left as it is (a trial, undone by
 * the next call).
 */
static int set_caps(const struct extra_caps *x, bool final)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	uint32_t mask[2] = { 0, 0 };
	int i, cap;

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	for (cap = 0; cap < 64; cap++)
		if (is_kept(cap, x))
			mask[cap / 32] |= 1u << (cap % 32);
	for (i = 0; i < 2; i++) {
		data[i].effective = data[i].permitted & mask[i];
		if (final)
			data[i].permitted = data[i].effective;
		data[i].inheritable = 0;
	}
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

/*
 * Whether profiles can still be written into dir without CAP_DAC_OVERRIDE
 * (`sudo heaptrace` in a user's own directory needs it): asked of the
 * kernel with the reduced set in effect, so modes, ACLs and the rest count.
 */
static bool dir_needs_override(const char *dir, const struct extra_caps *x)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct saved[2];
	struct extra_caps trial = *x;
	bool needs;

	trial.dac_override = false;
	if (!dir || syscall(SYS_capget, &hdr, saved))
		return false;
	if (set_caps(&trial, false))
		return false;
	needs = faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) && errno == EACCES;
	/* Back to the whole set: the steps that follow need CAP_SETPCAP. */
	if (syscall(SYS_capset, &hdr, saved))
		return true;
	return needs;
}

/* Jumps to an EPERM answer for each denied call; everything else is allowed. */
static int install_filter(void)
{
	struct sock_filter prog[4 + NR_DENIED + 3];
	struct sock_fprog fprog = { .filter = prog };
	size_t n = 0, i;

	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						 offsetof(struct seccomp_data, arch));
	/* Another ABI (i386 through int 0x80) numbers calls differently: refuse all of it. */
	prog[n++] =
	    (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						 offsetof(struct seccomp_data, nr));
	/* The x32 ABI's calls have bit 30 set: its numbers would slip past the list. */
	prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u,
						 (uint8_t)(NR_DENIED + 1), 0);
	for (i = 0; i < NR_DENIED; i++)
		prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
							 (uint32_t)denied_calls[i],
							 (uint8_t)(NR_DENIED - i), 0);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	fprog.len = (unsigned short)n;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog))
		return -errno;
	return 0;
}

/* Threads of the process: /proc/self/task's entries. */
static int nr_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int step(const char *what, int err, int first)
{
	if (err)
		log_warn("cannot %s: %s: heaptrace keeps more privilege than it needs", what,
			 strerror(-err));
	return first ? first : err;
}

int privilege__drop(bool sessions, const char *output_dir)
{
	struct extra_caps x = { .sys_admin = sessions };
	char names[192];
	int err = 0, sb;

	x.dac_override = dir_needs_override(output_dir, &x);
	/* capset() changes the calling thread only: one started earlier would keep root's set. */
	if (nr_threads() > 1)
		log_warn(
		    "%d other threads keep every capability: they were started before the drop",
		    nr_threads() - 1);
	/* Without CAP_SETPCAP (started with a reduced set) the bounding set is already others'. */
	sb = lock_securebits();
	if (sb != -EPERM)
		err = step("lock the securebits", sb, err);
	if (sb != -EPERM)
		err = step("clear the capability bounding set", drop_bounding(&x), err);
	err = step("clear the ambient capabilities",
		   prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) ? -errno : 0, err);
	err = step("drop capabilities", set_caps(&x, true), err);
	err = step("set no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ? -errno : 0, err);
	err = step("install the seccomp filter", install_filter(), err);
	if (!err)
		log_debug("privileges: kept %s; no_new_privs; seccomp refuses %zu system calls",
			  kept_names(&x, names, sizeof(names)), NR_DENIED);
	return err;
}

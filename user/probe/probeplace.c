// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <capstone/capstone.h>

#include "probe/probeplace.h"

/* Every name of a register, sub-registers included, and who needs it unchanged. */
static const struct {
	x86_reg reg;
	unsigned int needed_by; /* PROBEPLACE_* bits; 0: always (rsp, rip) */
} protected_regs[] = {
	{ X86_REG_RDI, PROBEPLACE_ARG1 },
	{ X86_REG_EDI, PROBEPLACE_ARG1 },
	{ X86_REG_DI, PROBEPLACE_ARG1 },
	{ X86_REG_DIL, PROBEPLACE_ARG1 },
	{ X86_REG_RSI, PROBEPLACE_ARG2 },
	{ X86_REG_ESI, PROBEPLACE_ARG2 },
	{ X86_REG_SI, PROBEPLACE_ARG2 },
	{ X86_REG_SIL, PROBEPLACE_ARG2 },
	{ X86_REG_RDX, PROBEPLACE_ARG3 },
	{ X86_REG_EDX, PROBEPLACE_ARG3 },
	{ X86_REG_DX, PROBEPLACE_ARG3 },
	{ X86_REG_DL, PROBEPLACE_ARG3 },
	{ X86_REG_DH, PROBEPLACE_ARG3 },
	{ X86_REG_RSP, 0 },
	{ X86_REG_ESP, 0 },
	{ X86_REG_SP, 0 },
	{ X86_REG_SPL, 0 },
	{ X86_REG_RIP, 0 },
	{ X86_REG_EIP, 0 },
	{ X86_REG_IP, 0 },
	{ X86_REG_RBP, PROBEPLACE_STACK },
	{ X86_REG_EBP, PROBEPLACE_STACK },
	{ X86_REG_BP, PROBEPLACE_STACK },
	{ X86_REG_BPL, PROBEPLACE_STACK },
	{ X86_REG_RBX, PROBEPLACE_STACK },
	{ X86_REG_EBX, PROBEPLACE_STACK },
	{ X86_REG_BX, PROBEPLACE_STACK },
	{ X86_REG_BL, PROBEPLACE_STACK },
	{ X86_REG_BH, PROBEPLACE_STACK },
	{ X86_REG_R12, PROBEPLACE_STACK },
	{ X86_REG_R12D, PROBEPLACE_STACK },
	{ X86_REG_R12W, PROBEPLACE_STACK },
	{ X86_REG_R12B, PROBEPLACE_STACK },
	{ X86_REG_R13, PROBEPLACE_STACK },
	{ X86_REG_R13D, PROBEPLACE_STACK },
	{ X86_REG_R13W, PROBEPLACE_STACK },
	{ X86_REG_R13B, PROBEPLACE_STACK },
	{ X86_REG_R14, PROBEPLACE_STACK },
	{ X86_REG_R14D, PROBEPLACE_STACK },
	{ X86_REG_R14W, PROBEPLACE_STACK },
	{ X86_REG_R14B, PROBEPLACE_STACK },
	{ X86_REG_R15, PROBEPLACE_STACK },
	{ X86_REG_R15D, PROBEPLACE_STACK },
	{ X86_REG_R15W, PROBEPLACE_STACK },
	{ X86_REG_R15B, PROBEPLACE_STACK },
};

static bool is_protected(uint16_t reg, unsigned int needs)
{
	size_t i;

	for (i = 0; i < sizeof(protected_regs) / sizeof(protected_regs[0]); i++)
		if (protected_regs[i].reg == reg)
			return !protected_regs[i].needed_by ||
			       (protected_regs[i].needed_by & needs);
	return false;
}

static bool has_legacy_prefix(const cs_x86 *x)
{
	return x->prefix[0] || x->prefix[1] || x->prefix[2] || x->prefix[3];
}

/*
 * The instructions arch/x86/kernel/uprobes.c emulates instead of
 * single-stepping: jmp rel8/rel32, jcc rel8/rel32, call rel32 (no prefix),
 * and push of a general register (no prefix but REX.B). Nops are emulated
 * on some kernels only, so they are passed over rather than chosen.
 */
static const char *emulated_kind(const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	uint8_t op0 = x->opcode[0], op1 = x->opcode[1];

	if (insn->id == X86_INS_PUSH && op0 >= 0x50 && op0 <= 0x57 && !has_legacy_prefix(x) &&
	    ((insn->size == 1 && !x->rex) || (insn->size == 2 && x->rex == 0x41)))
		return "push";
	if (has_legacy_prefix(x) || x->rex)
		return NULL;
	if (x->op_count != 1 || x->operands[0].type != X86_OP_IMM)
		return NULL;
	if (insn->id == X86_INS_JMP && (op0 == 0xeb || op0 == 0xe9))
		return "jump";
	if (insn->id == X86_INS_CALL && op0 == 0xe8)
		return "call";
	if ((op0 >= 0x70 && op0 <= 0x7f) || (op0 == 0x0f && op1 >= 0x80 && op1 <= 0x8f))
		return "conditional jump";
	return NULL;
}

/* Instructions that, once checked below, only compute into registers or flags. */
static bool whitelisted(unsigned int id, bool *dest_is_reg)
{
	switch (id) {
	case X86_INS_ENDBR64:
	case X86_INS_NOP:
	case X86_INS_TEST:
	case X86_INS_CMP:
		*dest_is_reg = false;
		return true;
	case X86_INS_MOV:
	case X86_INS_MOVZX:
	case X86_INS_MOVSX:
	case X86_INS_MOVSXD:
	case X86_INS_LEA:
	case X86_INS_ADD:
	case X86_INS_SUB:
	case X86_INS_AND:
	case X86_INS_OR:
	case X86_INS_XOR:
	case X86_INS_SHL:
	case X86_INS_SHR:
	case X86_INS_SAR:
		*dest_is_reg = true;
		return true;
	default:
		return false;
	}
}

/*
 * Whether the probe may move past `insn`: NULL if so, else why not.
 * `why` is scratch for a formatted reason.
 */
static const char *unobservable(csh h, const cs_insn *insn, unsigned int needs, char *why,
				size_t whylen)
{
	const cs_x86 *x = &insn->detail->x86;
	cs_regs rd, wr;
	uint8_t nrd = 0, nwr = 0, i;
	bool dest_is_reg;

	if (cs_insn_group(h, insn, CS_GRP_JUMP) || cs_insn_group(h, insn, CS_GRP_CALL) ||
	    cs_insn_group(h, insn, CS_GRP_RET) || cs_insn_group(h, insn, CS_GRP_INT) ||
	    cs_insn_group(h, insn, CS_GRP_IRET))
		return "it branches";
	if (!whitelisted(insn->id, &dest_is_reg))
		return "it is not an instruction known to be harmless";
	/* lock and rep change what an instruction does; endbr64's f3 is its own encoding. */
	if (insn->id != X86_INS_ENDBR64 &&
	    (x->prefix[0] == 0xf0 || x->prefix[0] == 0xf2 || x->prefix[0] == 0xf3))
		return "it has a lock or rep prefix";
	if (dest_is_reg && (x->op_count < 1 || x->operands[0].type != X86_OP_REG))
		return "it writes memory";
	for (i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_MEM && (x->operands[i].access & CS_AC_WRITE))
			return "it writes memory";
	if (cs_regs_access(h, insn, rd, &nrd, wr, &nwr) != CS_ERR_OK)
		return "Capstone cannot tell which registers it writes";
	for (i = 0; i < nwr; i++) {
		if (is_protected(wr[i], needs)) {
			snprintf(why, whylen, "it writes %s, which the probe reads",
				 cs_reg_name(h, wr[i]));
			return why;
		}
	}
	return NULL;
}

static void format_insn(const cs_insn *insn, char *buf, size_t len)
{
	int n =
	    snprintf(buf, len, "%s%s%s", insn->mnemonic, insn->op_str[0] ? " " : "", insn->op_str);

	/* A long operand list is cut, with a mark; the text is for people. */
	if (n >= (int)len && len > 4)
		memcpy(buf + len - 4, "...", 4);
}

/* A direct branch of the function into (0, site]: the probe would fire twice. */
static bool branch_into(csh h, const cs_insn *all, size_t n, uint32_t site, uint64_t *from)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const cs_x86 *x = &all[i].detail->x86;
		int64_t target;

		if (!cs_insn_group(h, &all[i], CS_GRP_JUMP) &&
		    !cs_insn_group(h, &all[i], CS_GRP_CALL))
			continue;
		if (x->op_count != 1 || x->operands[0].type != X86_OP_IMM)
			continue;
		target = x->operands[0].imm;
		if (target > 0 && target <= (int64_t)site) {
			*from = all[i].address;
			return true;
		}
	}
	return false;
}

int probeplace__choose(const uint8_t *code, size_t len, unsigned int needs, struct probeplace *out)
{
	char why[128], skipped[160] = "";
	cs_insn *all = NULL;
	size_t n = 0, i, decoded = 0;
	const char *kind = NULL, *stop = NULL;
	uint64_t from;
	csh h;
	int err = 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->insn, sizeof(out->insn), "?");
	snprintf(out->entry_insn, sizeof(out->entry_insn), "?");
	if (!code || !len) {
		snprintf(out->reason, sizeof(out->reason),
			 "entry: the function's code is unknown (no symbol size)");
		return 0;
	}
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) {
		snprintf(out->reason, sizeof(out->reason), "entry: Capstone is unavailable");
		return -EINVAL;
	}
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	/* Offsets as addresses: branch targets read as offsets into the function. */
	n = cs_disasm(h, code, len, 0, 0, &all);
	if (n == 0) {
		snprintf(out->reason, sizeof(out->reason),
			 "entry: Capstone cannot decode the first instruction");
		goto cleanup;
	}
	for (i = 0; i < n; i++)
		decoded += all[i].size;
	format_insn(&all[0], out->insn, sizeof(out->insn));
	format_insn(&all[0], out->entry_insn, sizeof(out->entry_insn));
	out->entry_emulated = emulated_kind(&all[0]) != NULL;

	for (i = 0; i < n && i <= PROBEPLACE_MAX_SKIP; i++) {
		kind = emulated_kind(&all[i]);
		if (kind)
			break;
		stop = unobservable(h, &all[i], needs, why, sizeof(why));
		if (stop)
			break;
		if (strlen(skipped) + strlen(all[i].mnemonic) + 3 < sizeof(skipped))
			snprintf(skipped + strlen(skipped), sizeof(skipped) - strlen(skipped),
				 "%s%s", skipped[0] ? ", " : "", all[i].mnemonic);
	}
	if (!kind) {
		char first[64];

		format_insn(&all[i < n ? i : n - 1], first, sizeof(first));
		if (i == 0)
			snprintf(out->reason, sizeof(out->reason),
				 "entry: '%s' is single-stepped and the probe cannot move past it "
				 "(%s)",
				 first, stop ? stop : "no instruction follows");
		else
			snprintf(out->reason, sizeof(out->reason),
				 "entry: no emulated instruction before '%s' (%s)", first,
				 stop ? stop : "too far or past the end of the code");
		goto cleanup;
	}
	if (i == 0) {
		out->emulated = true;
		snprintf(out->reason, sizeof(out->reason),
			 "entry: the first instruction is a %s, which the kernel emulates", kind);
		goto cleanup;
	}
	/* Moving is only sound when every branch of the function is known. */
	if (decoded != len) {
		snprintf(out->reason, sizeof(out->reason),
			 "entry: Capstone cannot decode the function past +0x%zx, so branches "
			 "back into its first instructions cannot be ruled out",
			 decoded);
		goto cleanup;
	}
	if (branch_into(h, all, n, (uint32_t)all[i].address, &from)) {
		snprintf(out->reason, sizeof(out->reason),
			 "entry: the branch at +0x%" PRIx64 " lands in the first instructions",
			 from);
		goto cleanup;
	}
	out->offset = (uint32_t)all[i].address;
	out->emulated = true;
	format_insn(&all[i], out->insn, sizeof(out->insn));
	snprintf(out->reason, sizeof(out->reason),
		 "moved past %zu instruction%s that the probe cannot observe (%s) to a %s, "
		 "which the kernel emulates",
		 i, i == 1 ? "" : "s", skipped, kind);
cleanup:
	if (all)
		cs_free(all, n);
	cs_close(&h);
	return err;
}

# heaptrace build. `make` builds build/heaptrace; `make test` runs every test;
# `make SANITIZE=1` builds the userspace code with ASan+UBSan into build-san/.
# `V=1` shows every command.

SANITIZE ?=
ifeq ($(SANITIZE),1)
BUILD ?= build-san
else
BUILD ?= build
endif

ARCH ?= x86
CC ?= cc
CXX ?= c++
CLANG ?= clang
BPFTOOL ?= bpftool
PROTOC_C ?= protoc-c
PKG_CONFIG ?= pkg-config

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

LIBS_PC := libbpf libelf libdw libprotobuf-c zlib capstone libcurl
PC_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIBS_PC) 2>/dev/null)
PC_LIBS := $(shell $(PKG_CONFIG) --libs $(LIBS_PC) 2>/dev/null)

WARN := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -MMD -MP -D_GNU_SOURCE -DHEAPTRACE_VERSION='"$(VERSION)"'
CPPFLAGS += -I$(BUILD) -I$(BUILD)/proto -Ibpf -Iuser -I/usr/include/libiberty $(PC_CFLAGS)
LDLIBS += $(PC_LIBS) -liberty -lm
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
# `make fuzz` builds the library again this way (with clang) for the harnesses.
ifeq ($(FUZZ),1)
CFLAGS += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	  -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# The multiarch triplet from the system compiler: clang spells its own differently.
MULTIARCH := $(shell cc -dumpmachine)
# libbpf's usdt.bpf.h includes <linux/errno.h>, whose <asm/errno.h> lives in the
# host's multiarch directory: searched last, for constants only.
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-I$(BUILD) -Ivmlinux/$(ARCH) -Ibpf -idirafter /usr/include/$(MULTIARCH)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
# user/ has one folder per stage (docs/design.md); every module but core/main.c
# goes into one library that the binary and the unit tests link.
USER_SRCS := $(wildcard user/*/*.c)
USER_OBJS := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(USER_SRCS)) $(BUILD)/obj/profile.pb-c.o
MAIN_OBJ := $(BUILD)/obj/core/main.o
LIB_OBJS := $(filter-out $(MAIN_OBJ),$(USER_OBJS))
LIB := $(BUILD)/libheaptrace.a

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

# Fixtures are built twice: with frame pointers (-fp) and without (-nofp).
FIX_C := $(wildcard tests/fixtures/*.c)
FIX_CXX := $(wildcard tests/fixtures/*.cc)
FIX_NAMES := $(patsubst tests/fixtures/%.c,%,$(FIX_C)) $(patsubst tests/fixtures/%.cc,%,$(FIX_CXX))
FIX_BINS := $(foreach n,$(FIX_NAMES),$(BUILD)/fixtures/$(n)-fp $(BUILD)/fixtures/$(n)-nofp)
# Extra libraries of one fixture: FIX_LDLIBS_<name>. FIX_STATIC: C fixtures
# also built as one static binary, <name>-static (allocator in the executable).
FIX_LDLIBS_alloc_jemalloc := -ljemalloc
FIX_LDLIBS_slowfs := -lfuse3
FIX_STATIC := alloc_known
FIX_BINS += $(foreach n,$(FIX_STATIC),$(BUILD)/fixtures/$(n)-static)
FIX_CFLAGS := -Itests/fixtures -O2 -g -Wall -Wextra -Werror -fno-inline -fno-optimize-sibling-calls
FP_FLAGS := -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer
NOFP_FLAGS := -fomit-frame-pointer

.DELETE_ON_ERROR:
.PHONY: all clean test check test-unit fixtures vmlinux demo format format-check bench soak fuzz fuzz-bins

all: $(BUILD)/heaptrace

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/heaptrace: $(MAIN_OBJ) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# BPF object, then its skeleton: only user/collect/loader.c includes the skeleton.
$(BUILD)/heaptrace.bpf.o: bpf/heaptrace.bpf.c $(wildcard bpf/*.h) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $(BUILD)/heaptrace.tmp.bpf.o
	$(Q)$(BPFTOOL) gen object $@ $(BUILD)/heaptrace.tmp.bpf.o

$(BUILD)/heaptrace.skel.h: $(BUILD)/heaptrace.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name heaptrace_bpf > $@

$(BUILD)/proto/profile.pb-c.c $(BUILD)/proto/profile.pb-c.h: proto/profile.proto | $(BUILD)
	$(call msg,PROTOC,$<)
	$(Q)mkdir -p $(BUILD)/proto
	$(Q)$(PROTOC_C) --proto_path=proto --c_out=$(BUILD)/proto $<

$(BUILD)/obj/profile.pb-c.o: $(BUILD)/proto/profile.pb-c.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(filter-out -Wextra,$(CFLAGS)) -c $< -o $@

# Generated headers must exist before any userspace file is compiled.
$(USER_OBJS): | $(BUILD)/heaptrace.skel.h $(BUILD)/proto/profile.pb-c.h

$(BUILD)/obj/%.o: user/%.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB) | $(BUILD)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/unit $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/fixtures/%-fp: tests/fixtures/%.c | $(BUILD)
	$(call msg,FIXTURE,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(FIX_CFLAGS) $(FP_FLAGS) $< -o $@ $(FIX_LDLIBS_$*) -lpthread
$(BUILD)/fixtures/%-nofp: tests/fixtures/%.c | $(BUILD)
	$(call msg,FIXTURE,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(FIX_CFLAGS) $(NOFP_FLAGS) $< -o $@ $(FIX_LDLIBS_$*) -lpthread
$(BUILD)/fixtures/%-fp: tests/fixtures/%.cc | $(BUILD)
	$(call msg,FIXTURE,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(FIX_CFLAGS) $(FP_FLAGS) $< -o $@ $(FIX_LDLIBS_$*) -lpthread
$(BUILD)/fixtures/%-nofp: tests/fixtures/%.cc | $(BUILD)
	$(call msg,FIXTURE,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(FIX_CFLAGS) $(NOFP_FLAGS) $< -o $@ $(FIX_LDLIBS_$*) -lpthread
$(BUILD)/fixtures/%-static: tests/fixtures/%.c | $(BUILD)
	$(call msg,FIXTURE,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(FIX_CFLAGS) $(FP_FLAGS) -static $< -o $@ $(FIX_LDLIBS_$*) -lpthread

fixtures: $(FIX_BINS)

$(BUILD) $(BUILD)/:
	$(Q)mkdir -p $(BUILD)/obj $(BUILD)/tests $(BUILD)/fixtures $(BUILD)/proto

test-unit: $(UNIT_BINS)

# The one test command: the README and .ci/run both call `make test`. It
# installs missing packages first, then re-runs make so that pkg-config sees
# them. TESTS= selects test scripts (default: all).
TESTS ?= $(sort $(wildcard tests/t[0-9]*.sh))
test:
	$(Q)./scripts/install-deps.sh
	$(Q)$(MAKE) --no-print-directory check

check: all $(UNIT_BINS) $(FIX_BINS)
	$(Q)BUILD=$(BUILD) prove -v --exec bash $(TESTS)

demo:
	$(Q)./scripts/install-deps.sh
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/fixtures/demo-leak-fp
	$(Q)BUILD=$(BUILD) ./scripts/demo.sh

# bench/run.sh: every part (python, micro, redis, dump) in about 10 minutes;
# e.g. make bench BENCH_REPS=5 BENCH_PART=redis.
BENCH_REPS ?= 3
BENCH_PART ?= all
bench: all
	$(Q)BUILD=$(BUILD) bench/run.sh $(BENCH_REPS) $(BENCH_PART)

# libFuzzer harnesses (tests/fuzz/fuzz_*.c) over a clang build of the library
# with ASan and UBSan in $(FUZZ_BUILD); each runs FUZZ_RUNS inputs from its seed
# corpus (tests/fuzz/corpus/NAME) and fails on the first crash.
FUZZ_BUILD ?= build-fuzz
FUZZ_RUNS ?= 200000
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
fuzz:
	$(Q)$(MAKE) --no-print-directory FUZZ=1 CC=clang BUILD=$(FUZZ_BUILD) fuzz-bins
	$(Q)scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_RUNS) $(FUZZ_NAMES)

fuzz-bins: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(LIB) | $(BUILD)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/fuzz -fsanitize=fuzzer $< $(LIB) $(LDLIBS) -o $@

# At least ten minutes of churn under heaptrace; fails when its resources grow.
SOAK_SECONDS ?= 660
soak: all fixtures
	$(Q)scripts/soak.sh $(BUILD) $(SOAK_SECONDS)

# Regenerate the vendored vmlinux.h from the running kernel's BTF.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

FORMAT_SRCS = bpf/*.c bpf/*.h user/*/*.c user/*/*.h user/preload/src/*.c tests/preload/*.c tests/preload/*.h tests/unit/*.c tests/unit/*.h tests/fixtures/*.c \
	      tests/fixtures/*.cc tests/fuzz/*.c tests/fuzz/*.h
format:
	clang-format -i $(FORMAT_SRCS)

# Fails, naming the file and line, where a source is not as `make format` leaves it.
format-check:
	$(Q)clang-format --dry-run -Werror $(FORMAT_SRCS)

clean:
	rm -rf build build-san

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/tests/*.d)

# The in-process sampler, libheaptrace-sampler.so (docs/sampler.md).
include user/preload/build.mk

# make install, make uninstall, make deb, the man page and the units.
include dist/install.mk

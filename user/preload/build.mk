# user/preload/build.mk - libheaptrace-sampler.so, the in-process sampler
# (docs/sampler.md), and the programs its tests and benchmark run. Included
# by the top-level Makefile; its sources are in user/preload/src/, out of
# reach of the Makefile's user/*/*.c (they must not go into libheaptrace.a:
# they define malloc).

# The probe sites are 1-byte nops by default, and $(SAMPLER_OTHER) is the
# other kind: on Linux 6.18.44 a uprobe on a 5-byte nop, once the kernel has
# turned it into a trampoline call, kills a forked child that reaches it
# (SIGSEGV; docs/sampler.md). `make SAMPLER_NOP=5` swaps them.
SAMPLER_NOP ?= 1
SAMPLER_ALT := $(if $(filter 5,$(SAMPLER_NOP)),1,5)
SAMPLER := $(BUILD)/libheaptrace-sampler.so
SAMPLER_OTHER := $(BUILD)/preload/libheaptrace-sampler-nop$(SAMPLER_ALT).so
SAMPLER_NOPFLAG_1 := -DHT_SAMPLER_NOP1
SAMPLER_NOPFLAG_5 :=
SAMPLER_SRCS := $(wildcard user/preload/src/*.c)
SAMPLER_OBJS := $(patsubst user/preload/src/%.c,$(BUILD)/preload/obj-nop$(SAMPLER_NOP)/%.o,$(SAMPLER_SRCS))
SAMPLER_OTHER_OBJS := $(patsubst user/preload/src/%.c,$(BUILD)/preload/obj-nop$(SAMPLER_ALT)/%.o,$(SAMPLER_SRCS))

# No builtins: the compiler must not turn our own calloc into a call to
# calloc, nor treat our malloc as the one it knows. Thread-local state is
# initial-exec: reaching it never allocates.
# Frame pointers: a frame-pointer walk from a probe site must cross the sampler's frames.
SAMPLER_CFLAGS := -std=gnu11 -O2 -g -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
	-fno-builtin -fno-strict-aliasing -D_GNU_SOURCE $(WARN) -MMD -MP
# nodelete: blocks it sampled may be freed after a dlclose.
SAMPLER_LDFLAGS := -shared -Wl,-z,nodelete -Wl,-z,now -Wl,-z,relro -Wl,--no-undefined \
	-Wl,-soname,libheaptrace-sampler.so

SAMPLER_TEST_BINS := $(BUILD)/preload/sampler-exercise $(BUILD)/preload/sampler-known \
	$(BUILD)/preload/libsampler-dlo.so $(SAMPLER_OTHER)
# The cross-check against <sys/sdt.h> (systemtap-sdt-dev) where it is installed.
ifneq ($(shell echo "#include <sys/sdt.h>" | $(CC) -E - >/dev/null 2>&1 && echo y),)
SAMPLER_TEST_BINS += $(BUILD)/preload/sdt-reference
endif

all: $(SAMPLER)
check: $(SAMPLER_TEST_BINS)
.PHONY: sampler
sampler: $(SAMPLER) $(SAMPLER_TEST_BINS)

$(SAMPLER): $(SAMPLER_OBJS)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAMPLER_LDFLAGS) $^ -o $@

$(SAMPLER_OTHER): $(SAMPLER_OTHER_OBJS)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAMPLER_LDFLAGS) $^ -o $@

$(BUILD)/preload/obj-nop1/%.o: user/preload/src/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAMPLER_CFLAGS) $(SAMPLER_NOPFLAG_1) -c $< -o $@

$(BUILD)/preload/obj-nop5/%.o: user/preload/src/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAMPLER_CFLAGS) $(SAMPLER_NOPFLAG_5) -c $< -o $@

SAMPLER_TEST_CFLAGS := -std=gnu11 -O2 -g -D_GNU_SOURCE $(WARN) -fno-builtin -MMD -MP

$(BUILD)/preload/sampler-%: tests/preload/%.c tests/preload/check.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAMPLER_TEST_CFLAGS) $< -o $@ -lpthread

$(BUILD)/preload/libsampler-dlo.so: tests/preload/dlo.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAMPLER_TEST_CFLAGS) -fPIC -shared $< -o $@

$(BUILD)/preload/sdt-reference: tests/preload/sdt_reference.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SAMPLER_TEST_CFLAGS) $< -o $@

-include $(wildcard $(BUILD)/preload/obj-nop*/*.d $(BUILD)/preload/*.d)

# A change of flags here rebuilds the sampler.
$(SAMPLER_OBJS) $(SAMPLER_OTHER_OBJS): user/preload/build.mk

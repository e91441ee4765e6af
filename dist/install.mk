# dist/install.mk - `make install`, `make uninstall` and `make deb`; the man
# page, the systemd units and the other installed files made from dist/*.in.
# Included by the top-level Makefile.
#
# The GNU directory variables, each overridable (`make install PREFIX=/usr
# DESTDIR=/tmp/stage`). heaptrace looks for the sampler beside itself, then in
# ../lib/heaptrace/ from it, so libdir must be sbindir's sibling; it reads
# /etc/heaptrace/heaptrace.conf whatever the prefix, hence sysconfdir = /etc.
PREFIX ?= /usr/local
prefix ?= $(PREFIX)
exec_prefix ?= $(prefix)
sbindir ?= $(exec_prefix)/sbin
libdir ?= $(exec_prefix)/lib
pkglibdir ?= $(libdir)/heaptrace
datarootdir ?= $(prefix)/share
mandir ?= $(datarootdir)/man
man8dir ?= $(mandir)/man8
sysconfdir ?= /etc
systemdunitdir ?= $(prefix)/lib/systemd/system
bashcompletiondir ?= $(datarootdir)/bash-completion/completions
INSTALL ?= install

MANPAGE := $(BUILD)/heaptrace.8
UNITS := $(BUILD)/dist/heaptrace.service $(BUILD)/dist/heaptrace@.service
# The man page's date: the last commit's, so that a rebuild gives the same page
# (make deb, building outside git, passes it).
MAN_DATE ?= $(shell git log -1 --format=%cs 2>/dev/null || date -u +%F)

# The page and the units name installed paths: they are made again when a
# directory variable changes (`make install PREFIX=/usr` after `make`).
DIRS_STAMP := $(BUILD)/dist/dirs
DIRS_NOW := $(sbindir) $(pkglibdir) $(sysconfdir) $(systemdunitdir)
$(shell mkdir -p $(BUILD)/dist && { [ "$$(cat $(DIRS_STAMP) 2>/dev/null)" = "$(DIRS_NOW)" ] || \
	echo "$(DIRS_NOW)" > $(DIRS_STAMP); })

.PHONY: install uninstall deb man units
all: man units
man: $(MANPAGE)
units: $(UNITS)

# The OPTIONS section comes from the binary's own option table (--help-man).
$(MANPAGE): dist/heaptrace.8.in $(BUILD)/heaptrace dist/install.mk $(DIRS_STAMP)
	$(call msg,MAN,$@)
	$(Q)$(BUILD)/heaptrace --config /dev/null --help-man > $@.options
	$(Q)sed -e '/^@OPTIONS@$$/{r $@.options' -e 'd;}' \
		-e 's|@VERSION@|$(VERSION)|g; s|@DATE@|$(MAN_DATE)|g' \
		-e 's|@PKGLIBDIR@|$(pkglibdir)|g; s|@UNITDIR@|$(systemdunitdir)|g' $< > $@
	$(Q)rm -f $@.options

$(BUILD)/dist/%.service: dist/%.service.in dist/hardening.conf dist/install.mk $(DIRS_STAMP)
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)sed -e '/^@HARDENING@$$/{r dist/hardening.conf' -e 'd;}' \
		-e 's|@SBINDIR@|$(sbindir)|g; s|@SYSCONFDIR@|$(sysconfdir)|g' $< > $@

# An existing config file is kept: it is the administrator's.
install: all
	$(INSTALL) -d $(DESTDIR)$(sbindir) $(DESTDIR)$(pkglibdir) $(DESTDIR)$(man8dir) \
		$(DESTDIR)$(systemdunitdir) $(DESTDIR)$(bashcompletiondir) \
		$(DESTDIR)$(sysconfdir)/heaptrace
	$(INSTALL) -m 0755 $(BUILD)/heaptrace $(DESTDIR)$(sbindir)/heaptrace
	$(INSTALL) -m 0644 $(SAMPLER) $(DESTDIR)$(pkglibdir)/libheaptrace-sampler.so
	$(INSTALL) -m 0644 $(MANPAGE) $(DESTDIR)$(man8dir)/heaptrace.8
	$(INSTALL) -m 0644 $(UNITS) $(DESTDIR)$(systemdunitdir)/
	$(INSTALL) -m 0644 dist/heaptrace.bash-completion $(DESTDIR)$(bashcompletiondir)/heaptrace
	[ -e $(DESTDIR)$(sysconfdir)/heaptrace/heaptrace.conf ] || \
		$(INSTALL) -m 0644 dist/heaptrace.conf $(DESTDIR)$(sysconfdir)/heaptrace/heaptrace.conf

# Removes what install put there, and the directories of heaptrace's own; the
# config file only while it is as shipped (an edited one is the administrator's).
uninstall:
	rm -f $(DESTDIR)$(sbindir)/heaptrace $(DESTDIR)$(pkglibdir)/libheaptrace-sampler.so \
		$(DESTDIR)$(man8dir)/heaptrace.8 $(DESTDIR)$(systemdunitdir)/heaptrace.service \
		$(DESTDIR)$(systemdunitdir)/heaptrace@.service \
		$(DESTDIR)$(bashcompletiondir)/heaptrace
	-rmdir $(DESTDIR)$(pkglibdir)
	if cmp -s dist/heaptrace.conf $(DESTDIR)$(sysconfdir)/heaptrace/heaptrace.conf; then \
		rm -f $(DESTDIR)$(sysconfdir)/heaptrace/heaptrace.conf; \
		rmdir $(DESTDIR)$(sysconfdir)/heaptrace; \
	fi

# The Debian package, built from a copy of the tree (git's tracked files, as
# they are now) so that the tree and its build directory stay as they were.
# DEB_DIR: where the .deb goes.
DEB_DIR ?= $(BUILD)/deb
deb:
	$(Q)DEB_DIR=$(abspath $(DEB_DIR)) dist/make-deb.sh

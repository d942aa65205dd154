# Makefile: builds the virtual router's daemons and tools, runs the tests,
# benchmarks and fuzzers, and installs.  `make help` lists the targets.
VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
SBINDIR   ?= $(PREFIX)/sbin
BINDIR    ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
UNITDIR   ?= /lib/systemd/system
SYSUSERSDIR ?= /usr/lib/sysusers.d
TMPFILESDIR ?= /usr/lib/tmpfiles.d
CC        ?= cc
PKG_CONFIG ?= pkg-config
PKGS      := libmicrohttpd jansson libnl-3.0 libnl-route-3.0 libsystemd libnftables libnftnl libmnl nettle
MGR_PKGS  := sqlite3 libpq libvirt libcrypto libcurl

BUILD     ?= build
ifeq ($(SANITIZE),1)
BUILD     := build-san
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# FUZZ=1: the same sources built by clang with libFuzzer's instrumentation,
# ASan and UBSan (every report fatal) into build-fuzz/, for make fuzz.
ifeq ($(FUZZ),1)
BUILD     := build-fuzz
CC        := $(or $(FUZZ_CC),clang)
CFLAGS    := -g -O1
SANFLAGS  := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
endif
ifeq ($(WERROR),1)
WARN      += -Werror
endif
CFLAGS    ?= -O2 -g
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
MGR_LIBS   = $(shell $(PKG_CONFIG) --libs $(MGR_PKGS) 2>/dev/null)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DVR_VERSION=\"$(VERSION)\" $(WARN) $(CFLAGS) $(SANFLAGS) \
	     $(PKG_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(MGR_PKGS) 2>/dev/null) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)
LIBS       = $(PKG_LIBS) -lpthread

# The folders and which others each may include (and link): lib/ is shared
# helpers; state/ is the state directory's contract (the VM model, its
# documents, names and file names) between vrd, its writer, and dhcp/,
# metadata/ and manager/; none of those three reaches into vrd/.
INC_lib      := lib
INC_state    := lib state
INC_dhcp     := lib state dhcp
INC_vrd      := lib state dhcp vrd
INC_metadata := lib state metadata
INC_manager  := lib state manager
INC_bench    := lib manager bench/lib
INC_tests    := lib state dhcp vrd metadata manager
INC_fuzz     := $(INC_tests)
# -I for the folder a source file is in (its path's first component)
folder_inc = $(addprefix -I,$(INC_$(firstword $(subst /, ,$(1)))))

LIB_SRC   := lib/log.c lib/err.c lib/conf.c lib/fileio.c lib/buf.c lib/addr.c lib/token.c lib/http.c \
	     lib/base64.c lib/hmac.c lib/histogram.c lib/httpc.c lib/sdnotify.c lib/daemon.c lib/httpd.c
STATE_SRC := state/model.c state/doc.c state/names.c
DHCP_SRC  := dhcp/render.c dhcp/reload.c dhcp/release.c
VRD_CORE  := vrd/cmd.c vrd/txn.c vrd/store.c vrd/journal.c vrd/apply.c vrd/metrics.c vrd/links.c vrd/guard.c
MD_CORE   := metadata/route.c metadata/entry.c metadata/imds.c
VRD_SRC   := vrd/main.c vrd/api.c
VRCTL_SRC := vrd/vrctl.c
MD_SRC    := metadata/main.c metadata/server.c metadata/vmtable.c metadata/password.c
MGR_CORE  := $(filter-out manager/main.c,$(wildcard manager/*.c))
MGR_SRC   := manager/main.c
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_SRC  := $(wildcard fuzz/fuzz_*.c)
FUZZ_REPLAY := $(patsubst fuzz/fuzz_%.c,$(BUILD)/fuzz/replay_%,$(FUZZ_SRC))
FUZZ_BIN  := $(patsubst fuzz/fuzz_%.c,$(BUILD)/fuzz/fuzz_%,$(FUZZ_SRC))
# what a fuzz target links besides the folders' archives
FUZZ_EXTRA := metadata/password.c
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
BINS := $(BUILD)/vrd $(BUILD)/vrctl $(BUILD)/vr-metadata
ifneq ($(wildcard manager/main.c),)
BINS += $(BUILD)/vr-manager
endif

# Debian packages the build, tests, demo and benchmarks need.
DEB_PKGS := gcc make pkg-config libmicrohttpd-dev libjansson-dev libnl-3-dev \
	    libnl-route-3-dev libnftables-dev libnftnl-dev libmnl-dev nettle-dev nftables libsystemd-dev systemd libcmocka-dev dnsmasq-base \
	    udhcpc iproute2 python3 procps cloud-init wget libsqlite3-dev libpq-dev postgresql python3-psycopg2 libvirt-dev qemu-utils valgrind \
	    libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-config-nwfilter \
	    libvirt-clients qemu-system-x86 iptables ebtables openssh-client \
	    libssl-dev libcurl4-openssl-dev python3-libcloud cs python3-cs isc-dhcp-client radvd ndisc6
DEB_PKGS_BENCH := wrk nginx-light
DEB_PKGS_FUZZ := clang libclang-rt-14-dev
# what make image, make image-check and make guest-image need on top of DEB_PKGS
DEB_PKGS_IMAGE := mmdebstrap e2fsprogs qemu-utils qemu-system-x86 syslinux syslinux-common \
	    mtools dosfstools fdisk openssh-client
IMAGE_OUT ?= $(BUILD)/image
GUEST_OUT ?= build/guest

.PHONY: all check demo bench soak fuzz fuzz-targets install clean deps deps-bench deps-fuzz help unit \
	image image-check deps-image guest-image

all: $(BINS)

help:
	@echo "make            build $(BINS)"
	@echo "make check      install missing packages, build, run every test (SANITIZE=1: ASan+UBSan)"
	@echo "make demo       install missing packages, build, run the VR flow in namespaces"
	@echo "make demo VM=1  the same with a real QEMU guest (minutes: TCG)"
	@echo "make bench      benchmarks; figures go to docs/performance.md"
	@echo "make soak       boot storm, 60 s metadata load, 100,000 vrd commands; figures"
	@echo "                go to docs/reliability.md"
	@echo "make fuzz       libFuzzer targets for FUZZ_SECONDS each (default 60); they are"
	@echo "                built by make FUZZ=1 fuzz-targets (clang) into build-fuzz/fuzz/"
	@echo "make install    DESTDIR= PREFIX= (default /usr/local): binaries, systemd units"
	@echo "                (UNITDIR=$(UNITDIR)), sysusers.d, tmpfiles.d, example configs in"
	@echo "                /etc/vrd and /etc/vr-manager (an existing one is kept)"
	@echo "make image      the VR image from Debian's packages: $(IMAGE_OUT)/vr.qcow2,"
	@echo "                vmlinuz, initrd, token (docs/image.md)"
	@echo "make image-check  boot it in qemu and drive it with vrctl (TAP)"
	@echo "make guest-image  the guest template the real-VM test boots: $(GUEST_OUT)/guest.qcow2"
	@echo "                (reused while its inputs are unchanged)"
	@echo "make deps       apt-get install what is missing (deps-image: for the image)"

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(call folder_inc,$*) -c $< -o $@

# One archive per folder: a program links only the folders it may use.
A_LIB   := $(BUILD)/libvr-lib.a
A_STATE := $(BUILD)/libvr-state.a
A_DHCP  := $(BUILD)/libvr-dhcp.a
A_VRD   := $(BUILD)/libvr-vrd.a
A_MD    := $(BUILD)/libvr-metadata.a
A_MGR   := $(BUILD)/libvr-manager.a
A_ALL   := $(A_MGR) $(A_VRD) $(A_MD) $(A_DHCP) $(A_STATE) $(A_LIB)
$(A_LIB): $(call obj,$(LIB_SRC))
$(A_STATE): $(call obj,$(STATE_SRC))
$(A_DHCP): $(call obj,$(DHCP_SRC))
$(A_VRD): $(call obj,$(VRD_CORE))
$(A_MD): $(call obj,$(MD_CORE))
$(A_MGR): $(call obj,$(MGR_CORE))
$(A_ALL):
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/vrd: $(call obj,$(VRD_SRC)) $(A_VRD) $(A_DHCP) $(A_STATE) $(A_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/vrctl: $(call obj,$(VRCTL_SRC)) $(A_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/vr-metadata: $(call obj,$(MD_SRC)) $(A_MD) $(A_STATE) $(A_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/vr-manager: $(call obj,$(MGR_SRC)) $(A_MGR) $(A_STATE) $(A_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(MGR_LIBS) $(LIBS)

# Unit tests may reach every folder; manager ones need the manager's libraries.
$(BUILD)/tests/test_mgr_%: $(BUILD)/obj/tests/unit/test_mgr_%.o $(A_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(MGR_LIBS) $(LIBS) $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(A_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

# The fuzz targets without libFuzzer: fuzz/replay.c's main() feeds them the
# committed corpora in make check (tests/integration/fuzz_corpus.sh).
$(BUILD)/fuzz/replay_%: $(BUILD)/obj/fuzz/fuzz_%.o $(call obj,fuzz/replay.c $(FUZZ_EXTRA)) $(A_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(MGR_LIBS) $(LIBS)

# The same with libFuzzer's main() (make FUZZ=1 fuzz-targets; make fuzz runs them).
$(BUILD)/fuzz/fuzz_%: $(BUILD)/obj/fuzz/fuzz_%.o $(call obj,$(FUZZ_EXTRA)) $(A_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(MGR_LIBS) $(LIBS)

fuzz-targets: $(FUZZ_BIN)

BENCH_LIB := bench/lib/benchlib.c
$(BUILD)/bench/mgr_%: $(BUILD)/obj/bench/mgr_%.o $(call obj,$(BENCH_LIB)) $(A_MGR) $(A_STATE) $(A_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(MGR_LIBS) $(LIBS) -lm

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(call obj,$(BENCH_LIB)) $(A_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) -lm

unit: $(UNIT_BIN) $(FUZZ_REPLAY)

deps:
	@missing=""; for p in $(DEB_PKGS) $(EXTRA_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "deps: run as root (or install:$$missing)"; exit 1; fi; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@# libvirt's QEMU driver (embedded or in libvirtd) refuses to start without the user and
	@# group Debian's libvirt-daemon-system would make; that package also starts daemons.
	@if [ "$$(id -u)" = 0 ]; then \
	  getent group kvm >/dev/null || groupadd --system kvm; \
	  getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu; \
	  getent passwd libvirt-qemu >/dev/null || useradd --system --gid kvm --no-create-home \
	    --home-dir /var/lib/libvirt --shell /usr/sbin/nologin libvirt-qemu; fi

deps-bench:
	@$(MAKE) --no-print-directory deps EXTRA_PKGS="$(DEB_PKGS_BENCH)"

deps-fuzz:
	@$(MAKE) --no-print-directory deps EXTRA_PKGS="$(DEB_PKGS_FUZZ)"

deps-image:
	@$(MAKE) --no-print-directory deps EXTRA_PKGS="$(DEB_PKGS_IMAGE)"

check: deps
	@if [ "$(SANITIZE)" != 1 ]; then $(MAKE) --no-print-directory deps-image; fi
	@$(MAKE) --no-print-directory all unit
	@BUILD=$(BUILD) tests/run.sh

# make demo VM=1: the VM is a real QEMU guest (the guest template, built once)
demo: deps
	@$(MAKE) --no-print-directory all
	@if [ "$(VM)" = 1 ]; then $(MAKE) --no-print-directory guest-image; fi
	@BUILD=$(BUILD) VM=$(VM) tests/demo.sh

bench: deps-bench
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@$(MAKE) --no-print-directory guest-image
	@BUILD=$(BUILD) bench/run.sh

soak: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@BUILD=$(BUILD) bench/soak.sh

fuzz: deps-fuzz
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-targets
	@BUILD=build-fuzz fuzz/run.sh

image: deps-image
	@if [ "$(SANITIZE)" = 1 ]; then echo "make image: not with SANITIZE=1"; exit 2; fi
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) OUT=$(IMAGE_OUT) image/build.sh

guest-image: deps-image
	@OUT=$(GUEST_OUT) image/guest.sh

image-check: deps-image
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) OUT=$(IMAGE_OUT) image/check.sh

# systemd units (docs/systemd.md): *.in get the install paths filled in.
UNITS_IN  := vrd.service vrd-token.service vr-metadata.service vr-dnsmasq.service \
	     vr-manager.service
UNITS     := vr-dnsmasq-reconf.path vr-dnsmasq-reconf.service
UNIT_SED  := -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
	     -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SYSCONFDIR)/vrd \
	    $(DESTDIR)$(SYSCONFDIR)/vr-manager
	install -m 0755 $(BUILD)/vrd $(DESTDIR)$(SBINDIR)/vrd
	install -m 0755 $(BUILD)/vrctl $(DESTDIR)$(BINDIR)/vrctl
	install -m 0755 $(BUILD)/vr-metadata $(DESTDIR)$(SBINDIR)/vr-metadata
	if [ -x $(BUILD)/vr-manager ]; then install -m 0755 $(BUILD)/vr-manager $(DESTDIR)$(SBINDIR)/vr-manager; fi
	for u in $(UNITS_IN); do \
	  sed $(UNIT_SED) systemd/$$u.in >$(DESTDIR)$(UNITDIR)/$$u && \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	for u in $(UNITS); do install -m 0644 systemd/$$u $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	install -m 0644 systemd/vr.sysusers $(DESTDIR)$(SYSUSERSDIR)/vr.conf
	install -m 0644 systemd/vr.tmpfiles $(DESTDIR)$(TMPFILESDIR)/vr.conf
	for c in vrd/vrd.conf vrd/metadata.conf vr-manager/manager.conf; do \
	  [ -e $(DESTDIR)$(SYSCONFDIR)/$$c ] || \
	  install -m 0644 systemd/$${c#*/} $(DESTDIR)$(SYSCONFDIR)/$$c || exit 1; done
	@echo "installed; on a live system: systemd-sysusers; systemd-tmpfiles --create;" \
	    "systemctl daemon-reload; systemctl enable --now vrd vr-metadata vr-dnsmasq"

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

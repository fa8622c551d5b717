# gpatch: build, run the demo, test.
#
#   make run          build, then run the demo (echo server natively and shimmed)
#   make test         build and run every test (Criterion)
#   make test SANITIZE=1   the same with ASan/UBSan on the runtime unit tests
#   make fuzz SEEDS=5000   differential fuzzing: seeds natively and under the
#                     shim, transcripts compared (FUZZ_FIRST=0, FUZZ_JOBS=2)
#   make deb          the Debian package, build/deb/gpatch_<version>_<arch>.deb
#   make soak         redis, memcached and the echo server under the shim
#                     for SOAK_SECONDS (600) each, loopback only; one table
#   make clean
#
# Missing Debian packages are installed by `make deps` (apt-get, as root).

CC      ?= cc
BUILD   ?= $(if $(filter 1,$(SANITIZE)),build/asan,build)
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wstrict-prototypes
BASE    := -std=gnu11 -D_GNU_SOURCE -fPIC -fvisibility=hidden $(WARN)
# Three layers, each compiled seeing only those below it (runtime/README.md):
#   runtime/base  the real-symbol table, assertions, the log, the clock
#   runtime       coroutines, scheduler, loop: sees base, never shim/
#   shim          the exported libc names: sees base and runtime/rt.h
# A runtime file that includes a shim header does not compile (shim/ is not
# on its include path), and scripts/check-layers.sh, run before the library
# links, rejects the paths the include path cannot stop ("../shim/...",
# a shim file reaching into runtime internals).
RT_INC   := -Iruntime/base -Iruntime
SHIM_INC := -Iruntime/base -Iruntime -Ishim
BASE_SRC := $(wildcard runtime/base/*.c)
RT_SRC   := $(BASE_SRC) $(wildcard runtime/*.c)
SHIM_SRC := $(wildcard shim/*/*.c)
RT_OBJ   := $(patsubst %.c,$(BUILD)/obj/%.o,$(RT_SRC))
SHIM_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(SHIM_SRC))
LIB_OBJ  := $(RT_OBJ) $(SHIM_OBJ)
LIB      := $(BUILD)/libgpatch.so

PROG_SRC := $(wildcard tests/progs/*.c)
PROG_CXX := $(wildcard tests/progs/*.cc)
PROGS    := $(patsubst tests/progs/%.c,$(BUILD)/progs/%,$(PROG_SRC)) \
            $(patsubst tests/progs/%.cc,$(BUILD)/progs/%,$(PROG_CXX))

UNIT_SRC    := $(wildcard tests/unit/test_*.c)
PRELOAD_SRC := $(wildcard tests/preload/test_*.c)
TESTLIB_SRC := $(wildcard tests/lib/*.c)
UNIT_BIN    := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit_%,$(UNIT_SRC))
PRELOAD_BIN := $(patsubst tests/preload/%.c,$(BUILD)/tests/preload_%,$(PRELOAD_SRC))

# The runtime linked into unit tests: base and runtime, no hook.
UNIT_LINK_SRC := $(RT_SRC)

SANFLAGS :=
ifeq ($(SANITIZE),1)
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
endif

DEPS_PKGS := gcc g++ make pkg-config libuv1-dev libcriterion-dev valgrind \
             libssl-dev redis-server redis-tools memcached libmemcached-tools \
             python3 libpython3.11-testsuite apache2 apache2-utils squid \
             haproxy varnish mariadb-server sysbench wrk curl dpkg-dev \
             lintian libaio1

.PHONY: all deps run test test-unit test-preload clean check-exports bench \
        bench-go check-aarch64 soak fuzz fuzz-config

all: deps $(LIB) $(PROGS)

# Install what the build needs when it is missing (Debian 12).
deps:
	@sh scripts/deps.sh $(DEPS_PKGS)

RT_HEADERS   := $(wildcard runtime/base/*.h runtime/*.h)
SHIM_HEADERS := $(RT_HEADERS) $(wildcard shim/*/*.h)

$(RT_OBJ): $(BUILD)/obj/%.o: %.c $(RT_HEADERS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) $(RT_INC) -c $< -o $@

$(SHIM_OBJ): $(BUILD)/obj/%.o: %.c $(SHIM_HEADERS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) $(SHIM_INC) -c $< -o $@

$(LIB): $(LIB_OBJ) shim/exports.map scripts/check-layers.sh
	@sh scripts/check-layers.sh
	$(CC) -shared -o $@ $(LIB_OBJ) -Wl,--version-script=shim/exports.map \
	  -Wl,-soname,libgpatch.so -Wl,-z,defs -luv -ldl -lpthread

$(BUILD)/progs/%: tests/progs/%.c $(wildcard tests/progs/*.h) | deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -rdynamic \
	  $< -o $@ -pthread $(PROG_LIBS)

# Libraries the preload tests load beside the shim (tests/progs/lib/).
TESTSO := $(patsubst tests/progs/lib/%.c,$(BUILD)/progs/lib%.so,\
            $(wildcard tests/progs/lib/*.c))

$(BUILD)/progs/lib%.so: tests/progs/lib/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -shared -fPIC \
	  $< -o $@ -pthread

# Test programs that link more than libc.
$(BUILD)/progs/tls_echo: PROG_LIBS := -lssl -lcrypto

# Programs that use the C API (gpatch.h) link against the library, found
# through their run path, as one built with `pkg-config --cflags --libs
# gpatch` would.
$(BUILD)/progs/api_%: tests/progs/api_%.c shim/api/gpatch.h $(LIB) | deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -rdynamic \
	  -Ishim/api $< -o $@ -L$(BUILD) -Wl,-rpath,$(abspath $(BUILD)) \
	  -lgpatch -pthread

$(BUILD)/progs/%: tests/progs/%.cc $(wildcard tests/progs/*.h) | deps
	@mkdir -p $(dir $@)
	$(CXX) -std=c++20 -O2 -g -Wall -Wextra -Werror $< -o $@ -pthread

# Unit tests see the runtime's include path only; the one shim file they
# test (the GPATCH_* parsers) is linked by name.
$(BUILD)/tests/unit_test_config: UNIT_EXTRA := shim/core/config.c -Ishim
$(BUILD)/tests/unit_%: tests/unit/%.c $(UNIT_LINK_SRC) $(RT_HEADERS) shim/core/config.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(BASE) $(CFLAGS) $(SANFLAGS) $(RT_INC) -fvisibility=default \
	  $< $(UNIT_LINK_SRC) $(UNIT_EXTRA) -o $@ -lcriterion -luv -ldl -lpthread -lm

$(BUILD)/tests/preload_%: tests/preload/%.c $(TESTLIB_SRC) tests/lib/harness.h | deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE $(CFLAGS) $(WARN) -Itests/lib $< $(TESTLIB_SRC) \
	  -o $@ -lcriterion -pthread

$(BUILD)/bench/uv_echo: scripts/bench/uv_echo.c | deps
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror $< -o $@ -luv

# The Go baselines (scripts/bench/go_*.go), built by `make bench` when go is
# installed (golang-go, Go 1.19): plain files, no module, nothing fetched;
# the build cache lives under $(BUILD), nothing is written to $HOME.
GO_BENCH := $(patsubst scripts/bench/%.go,$(BUILD)/bench/%,\
              $(wildcard scripts/bench/go_*.go))
GO_ENV   := GO111MODULE=off GOFLAGS= GOENV=off CGO_ENABLED=0 \
            GOCACHE=$(abspath $(BUILD))/bench/gocache \
            GOPATH=$(abspath $(BUILD))/bench/gopath

$(BUILD)/bench/go_%: scripts/bench/go_%.go
	@mkdir -p $(dir $@)
	$(GO_ENV) go build -o $@ $<

bench-go: $(GO_BENCH)
	@:

# The context switch of the other architecture, under qemu-user (needs
# gcc-aarch64-linux-gnu and qemu-user; not part of make test).
check-aarch64:
	@sh scripts/deps.sh gcc-aarch64-linux-gnu qemu-user
	@mkdir -p $(BUILD)
	aarch64-linux-gnu-gcc -std=gnu11 -D_GNU_SOURCE -O2 -static -Iruntime \
	  tests/unit/ctx_selftest.c runtime/ctx.c -o $(BUILD)/ctx_selftest.aarch64
	qemu-aarch64 $(BUILD)/ctx_selftest.aarch64

check-exports: $(LIB)
	@sh scripts/check-exports.sh $(LIB) shim/exports.map

run: all
	@sh scripts/demo.sh $(BUILD)

# Speed and memory, shim against its baselines, side by side in one run.
bench: all $(BUILD)/bench/uv_echo
	-@sh scripts/deps.sh python3-gevent # the Python baseline, if it can be had
	-@sh scripts/deps.sh golang-go # the Go baseline, likewise
	-@if command -v go >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory bench-go; fi
	@sh scripts/bench.sh $(BUILD) $(if $(QUICK),quick,full)

# The soak runs (scripts/soak.sh says what each does and what "flat"
# means): SOAK_SECONDS per server, SOAK_SERVERS to choose (default: redis
# memcached echo).  A short form of each runs in make test
# (tests/preload/test_soak.c).
soak: all
	@sh scripts/soak.sh $(BUILD) $(SOAK_SERVERS)

test: all check-exports $(TESTSO) $(UNIT_BIN) $(PRELOAD_BIN)
	@sh scripts/run-tests.sh $(BUILD) $(UNIT_BIN) $(PRELOAD_BIN)

# Differential fuzzing beyond the 100 seeds of make test (scripts/fuzz.sh
# says how a mismatch is reported and replayed).
SEEDS      ?= 1000
FUZZ_FIRST ?= 0
FUZZ_JOBS  ?= 2
fuzz: $(LIB) $(BUILD)/progs/fuzz_interp
	@sh scripts/fuzz.sh -b $(BUILD) -j $(FUZZ_JOBS) $(FUZZ_FIRST) $(SEEDS)

# libFuzzer on the GPATCH_* value parsers (clang and its runtime from
# Debian: clang, libclang-rt-14-dev), FUZZ_SECONDS long.
FUZZ_SECONDS ?= 60
fuzz-config:
	@sh scripts/deps.sh clang libclang-rt-14-dev
	@mkdir -p $(BUILD)/fuzz-corpus
	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
	  -Iruntime/base -Iruntime -Ishim tests/fuzz/fuzz_config.c \
	  shim/core/config.c -o $(BUILD)/fuzz_config
	$(BUILD)/fuzz_config -max_total_time=$(FUZZ_SECONDS) -max_len=64 \
	  $(BUILD)/fuzz-corpus

clean:
	rm -rf $(BUILD)

# make install [PREFIX=/usr/local] [DESTDIR=staging root]: the library, the
# gpatch launcher, its man page, the C API's header and a pkg-config file.  The launcher's
# copy is told where the library is, relative to itself (so it also works
# from a DESTDIR staging tree) and absolute.  make uninstall removes exactly
# these files (not the directories).  The version is defined once, on the
# version= line of scripts/gpatch.
VERSION       = $(shell sed -n 's/^version=//p' scripts/gpatch)
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
MANDIR       ?= $(PREFIX)/share/man
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
LIBREL        = $(shell realpath -m -s --relative-to=$(BINDIR) $(LIBDIR))
INSTALLED     = $(BINDIR)/gpatch $(LIBDIR)/libgpatch.so \
                $(MANDIR)/man1/gpatch.1 $(PKGCONFIGDIR)/gpatch.pc \
                $(INCLUDEDIR)/gpatch.h

.PHONY: install uninstall deb

install: $(LIB) scripts/gpatch scripts/gpatch.1 scripts/gpatch.pc.in \
         shim/api/gpatch.h
	@mkdir -p $(BUILD)/install
	# Each file is written whole, then renamed: two installs at once (the
	# launcher tests run in parallel) never copy a half-written one.
	sed -e 's|^librel=.*|librel=$(LIBREL)|' -e 's|^libdir=.*|libdir=$(LIBDIR)|' \
	  scripts/gpatch > $(BUILD)/install/gpatch.$$$$ && \
	  mv $(BUILD)/install/gpatch.$$$$ $(BUILD)/install/gpatch
	sed -e '/^\.TH /s|"gpatch"|"gpatch $(VERSION)"|' scripts/gpatch.1 \
	  > $(BUILD)/install/gpatch.1.$$$$ && \
	  mv $(BUILD)/install/gpatch.1.$$$$ $(BUILD)/install/gpatch.1
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@BINDIR@|$(BINDIR)|' \
	  -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	  -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	  scripts/gpatch.pc.in > $(BUILD)/install/gpatch.pc.$$$$ && \
	  mv $(BUILD)/install/gpatch.pc.$$$$ $(BUILD)/install/gpatch.pc
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(PKGCONFIGDIR) \
	  $(DESTDIR)$(INCLUDEDIR)
	install -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libgpatch.so
	install -m 755 $(BUILD)/install/gpatch $(DESTDIR)$(BINDIR)/gpatch
	install -m 644 $(BUILD)/install/gpatch.1 $(DESTDIR)$(MANDIR)/man1/gpatch.1
	install -m 644 $(BUILD)/install/gpatch.pc $(DESTDIR)$(PKGCONFIGDIR)/gpatch.pc
	install -m 644 shim/api/gpatch.h $(DESTDIR)$(INCLUDEDIR)/gpatch.h

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

# make deb [DEBDIR=build/deb]: the Debian package DEBDIR/gpatch_<version>_
# <arch>.deb, built from $(LIB) by dpkg-dev's tools (scripts/debian/build.sh
# says how): make install stages the files with the Debian paths (the
# library in /usr/lib/<multiarch>), then the script adds the changelog,
# the copyright file and the control data, and runs dpkg-deb.
DEBDIR ?= $(BUILD)/deb
DEB_MULTIARCH = $(shell dpkg-architecture -qDEB_HOST_MULTIARCH)

deb: $(LIB) scripts/debian/build.sh scripts/debian/control \
     scripts/debian/changelog scripts/debian/copyright \
     scripts/debian/lintian-overrides | deps
	@rm -rf $(DEBDIR)/src
	@$(MAKE) -s --no-print-directory install BUILD=$(BUILD) PREFIX=/usr \
	  LIBDIR=/usr/lib/$(DEB_MULTIARCH) \
	  DESTDIR=$(abspath $(DEBDIR))/src/debian/gpatch
	@sh scripts/debian/build.sh $(abspath $(DEBDIR)) $(VERSION)

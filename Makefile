# A thin front end over meson. The product is build/agentbox.
#
#   make            install missing packages, configure and build
#   make test       build, then unit + integration tests (scripts/run-tests.sh)
#   make demo       build, then a short real demonstration (scripts/demo.sh)
#   make test-asan  the same tests on an ASan+UBSan build in build-asan/
#   make bench      start-up cost vs the kernel floor and bwrap; #17 targets
#   make install    meson install: agentbox to $(PREFIX)/bin, out of reach of
#                   the sandboxes it builds; libagentbox.so.0, libagentbox.a,
#                   agentbox.h and agentbox.pc for programs that link the
#                   library. PREFIX (default: meson's, /usr/local) and
#                   DESTDIR (a staging root, as for packages) are honoured
#   make clean      remove the build directories
#
# Every target runs scripts/install-deps.sh first; on a complete machine
# that costs one dpkg-query. AGENTBOX_SKIP_DEPS=1 skips it.

BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON      ?= meson
NINJA      ?= ninja

.PHONY: all build deps test demo test-asan bench install clean

all: build

deps:
	@bash scripts/install-deps.sh

comma := ,

# meson setup only when the directory is not configured yet; after that
# ninja re-runs meson by itself whenever a meson.build changes. A directory
# whose earlier setup stopped half-way is set up again in place.
define meson_setup
	@if [ ! -f $(1)/build.ninja ]; then \
		if [ -f $(1)/meson-private/coredata.dat ]; then \
			echo "$(MESON) setup --reconfigure $(2) $(1)"; \
			$(MESON) setup --reconfigure $(2) $(1); \
		else \
			echo "$(MESON) setup $(2) $(1)"; \
			$(MESON) setup $(2) $(1); \
		fi; \
	fi
endef

build: deps
	$(call meson_setup,$(BUILD),)
	$(NINJA) -C $(BUILD)

test: build
	bash scripts/run-tests.sh $(BUILD)

demo: build
	bash scripts/demo.sh $(BUILD)

# -Db_lundef=false: the sanitizer runtimes resolve some symbols at run time.
test-asan: deps
	$(call meson_setup,$(ASAN_BUILD),-Db_sanitize=address$(comma)undefined -Db_lundef=false)
	$(NINJA) -C $(ASAN_BUILD)
	bash scripts/run-tests.sh $(ASAN_BUILD)

bench: build
	bash bench/startup.sh $(BUILD)

# agentbox refuses to run from a directory its sandbox may write (such as a
# build directory inside the workspace); an installed copy is the usual fix.
# A PREFIX is written into the build's configuration (meson's prefix), so
# agentbox.pc names it; DESTDIR only moves where the files land.
PREFIX  ?=
DESTDIR ?=
install: build
	@if [ -n "$(PREFIX)" ]; then \
		echo "$(MESON) configure -Dprefix=$(PREFIX) $(BUILD)"; \
		$(MESON) configure -Dprefix="$(PREFIX)" $(BUILD) && $(NINJA) -C $(BUILD); \
	fi
	$(MESON) install -C $(BUILD) $(if $(DESTDIR),--destdir "$(DESTDIR)")

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) bench/out

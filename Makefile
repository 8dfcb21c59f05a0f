# updraft: one non-recursive Makefile. Outputs go to build/ (build/asan/ with SANITIZE=1).
#   make              build updraft-agent, updraft-hub and updraft-bridge
#   make test         ASan+UBSan build, unit tests (cmocka), fuzz smoke runs, integration tests
#   make run          build, then start broker + hub + agent locally (scripts/run-local.sh)
#   make bench        benchmarks under bench/ (print "name value unit" lines; installs the
#                     bench package group: scripts/install-deps.sh --bench)
#   make install      PREFIX=/usr/local DESTDIR= : binaries, example configs, systemd units
#   make format|lint  clang-format / clang-tidy + cppcheck

VERSION   := 0.1.0
PREFIX    ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR   ?= $(PREFIX)/lib/systemd/system
CC        ?= cc
PKG_CONFIG ?= pkg-config

ifeq ($(SANITIZE),1)
BUILD     ?= build/asan
SANFLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPTFLAGS  := -O1 -g
else ifeq ($(SANITIZE),thread)
BUILD     ?= build/tsan
SANFLAGS  := -fsanitize=thread -fno-omit-frame-pointer
OPTFLAGS  := -O1 -g
else
BUILD     ?= build
SANFLAGS  :=
OPTFLAGS  := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong
endif

WARNINGS  := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wformat=2 -Wvla -Wimplicit-fallthrough -Wno-format-nonliteral
CFLAGS    ?= $(OPTFLAGS)
ALL_CFLAGS := -std=c11 $(WARNINGS) $(CFLAGS) $(SANFLAGS) -I. -D_GNU_SOURCE \
              -DUPDRAFT_VERSION='"$(VERSION)"' -MMD -MP
LDFLAGS_ALL := $(LDFLAGS) $(SANFLAGS) -Wl,-z,relro,-z,now

# Libraries, found with pkg-config (paho-mqtt-c ships no .pc file).
HUB_PKGS   := libmosquitto jansson libmicrohttpd sqlite3
HUB_LIBS    = $(shell $(PKG_CONFIG) --libs $(HUB_PKGS)) -lpthread -lm
HUB_CFLAGS  = $(shell $(PKG_CONFIG) --cflags $(HUB_PKGS))
# libm and paho's plain build statically: the agent needs a few of their functions, not
# 450 KiB of mapped library pages. paho's TLS build is loaded at run time (dlopen).
AGENT_LIBS := -ldl -Wl,--push-state,-Bstatic -lpaho-mqtt3c -lm -Wl,--pop-state
# The bridge: libcoap's OpenSSL build (DTLS-PSK), libmosquitto, jansson.
BRIDGE_PKGS := libcoap-3-openssl libmosquitto jansson
BRIDGE_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(BRIDGE_PKGS))
BRIDGE_LIBS  = $(shell $(PKG_CONFIG) --libs $(BRIDGE_PKGS)) -lm
TEST_LIBS   = $(shell $(PKG_CONFIG) --libs cmocka) $(HUB_LIBS) $(BRIDGE_LIBS) $(AGENT_LIBS)

# Sources: each program is its folder; main.c holds only its start-up.
COMMON_SRCS := $(wildcard common/*.c)
AGENT_SRCS  := $(filter-out edge-agent/main.c,$(wildcard edge-agent/*.c))
HUB_SRCS    := $(filter-out hub/main.c,$(wildcard hub/*.c))
BRIDGE_SRCS := $(filter-out bridge/main.c,$(wildcard bridge/*.c))
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
SUPPORT_SRCS := $(wildcard tests/support/*.c)
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

COMMON_LIB := $(BUILD)/libupdraft_common.a
AGENT_LIB  := $(BUILD)/libupdraft_agent.a
HUB_LIB    := $(BUILD)/libupdraft_hub.a
BRIDGE_LIB := $(BUILD)/libupdraft_bridge.a

AGENT_BIN  := $(BUILD)/updraft-agent
HUB_BIN    := $(BUILD)/updraft-hub
BRIDGE_BIN := $(BUILD)/updraft-bridge
PROGRAMS   := $(AGENT_BIN) $(HUB_BIN) $(BRIDGE_BIN)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
TOOL_BINS  := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(wildcard tests/tools/*.c))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

.PHONY: all tests test unit integration fuzz run bench install clean format lint deps
all: $(PROGRAMS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(HUB_CFLAGS) $(BRIDGE_CFLAGS) -c $< -o $@

$(COMMON_LIB): $(call obj,$(COMMON_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
$(AGENT_LIB): $(call obj,$(AGENT_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
$(HUB_LIB): $(call obj,$(HUB_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
$(BRIDGE_LIB): $(call obj,$(BRIDGE_SRCS))
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(AGENT_BIN): $(call obj,edge-agent/main.c) $(AGENT_LIB) $(COMMON_LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(AGENT_LIBS)
$(HUB_BIN): $(call obj,hub/main.c) $(HUB_LIB) $(COMMON_LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(HUB_LIBS)
$(BRIDGE_BIN): $(call obj,bridge/main.c) $(BRIDGE_LIB) $(COMMON_LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(BRIDGE_LIBS)

$(BUILD)/tests/test_%: $(call obj,tests/unit/test_%.c $(SUPPORT_SRCS)) $(HUB_LIB) $(BRIDGE_LIB) $(AGENT_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(TEST_LIBS)
# The gpu collector's tests dlopen this stand-in for NVML (tests/fakes/fake_nvml.c) from
# next to the test binaries. A plain shared object (no sanitizers: nothing of it is linked in).
FAKE_NVML := $(BUILD)/tests/fake-nvml/libnvidia-ml.so.1
$(FAKE_NVML): tests/fakes/fake_nvml.c
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARNINGS) -O1 -g -fPIC -shared -o $@ $<
$(BUILD)/tests/test_collectors_sys: | $(FAKE_NVML)
$(BUILD)/tests/tools/%: $(call obj,tests/tools/%.c) $(HUB_LIB) $(BRIDGE_LIB) $(AGENT_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(TEST_LIBS)
$(BUILD)/bench/%: $(call obj,bench/%.c) $(HUB_LIB) $(BRIDGE_LIB) $(AGENT_LIB) $(COMMON_LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(TEST_LIBS)

tests: $(PROGRAMS) $(UNIT_BINS) $(TOOL_BINS)

# libFuzzer targets need clang; built only by `make fuzz` / the test runner.
FUZZ_BUILD := build/fuzz
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRCS))
# Fuzz targets link the pure common modules (not the library adapters) plus, per target,
# the pure modules they exercise: FUZZ_EXTRA_<target> = hub/chunk.c ...
FUZZ_COMMON := $(filter-out common/mqtt_client.c,$(COMMON_SRCS))
FUZZ_EXTRA_fuzz_chunk := hub/chunk.c hub/chunk_bits.c
FUZZ_EXTRA_fuzz_wal := hub/wal.c hub/chunk_bits.c
FUZZ_EXTRA_fuzz_rollup := hub/rollup.c hub/chunk.c hub/chunk_bits.c hub/query.c
FUZZ_EXTRA_fuzz_export_token := hub/export_token.c
FUZZ_EXTRA_fuzz_collectors_sys := edge-agent/collector_disk.c edge-agent/collector_net.c \
    edge-agent/counter_rate.c edge-agent/proc_lines.c edge-agent/batch.c
FUZZ_EXTRA_fuzz_spool := edge-agent/spool.c edge-agent/spool_open.c edge-agent/spool_log.c \
    edge-agent/spool_file.c edge-agent/spool_index.c
FUZZ_EXTRA_fuzz_control := edge-agent/control.c
FUZZ_EXTRA_fuzz_procfs := edge-agent/cgroup_path.c edge-agent/proc_stat.c edge-agent/connscan.c \
    edge-agent/proc_lines.c
.SECONDEXPANSION:
$(FUZZ_BUILD)/%: tests/fuzz/%.c $(FUZZ_COMMON) $$(FUZZ_EXTRA_$$*)
	@mkdir -p $(@D)
	clang -std=c11 -g -O1 -I. -D_GNU_SOURCE -DUPDRAFT_VERSION='"$(VERSION)"' \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $< $(FUZZ_COMMON) \
	    $(FUZZ_EXTRA_$*) -lm
fuzz: $(FUZZ_BINS)

# The README's test command ends here: sanitized build, then every suite, one summary line.
test:
	@$(MAKE) --no-print-directory SANITIZE=1 tests
	@$(MAKE) --no-print-directory tests
	@$(MAKE) --no-print-directory fuzz
	@bash tests/run.sh build/asan

run: all
	@bash scripts/run-local.sh $(BUILD)

# The bench package group (the peers we compare with, e.g. promtool) is installed first; a
# benchmark whose tool is still missing prints a "# skipped" line.
bench: all $(BENCH_BINS)
	@sh scripts/install-deps.sh --bench || echo "# bench: install-deps --bench failed; peers may be skipped"
	@bash bench/run.sh $(BUILD)

deps:
	@sh scripts/install-deps.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SYSCONFDIR)/updraft $(DESTDIR)$(UNITDIR)
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 config/*.conf $(DESTDIR)$(SYSCONFDIR)/updraft/
	for u in systemd/*.service; do \
	    sed -e 's|/usr/local/bin/|$(PREFIX)/bin/|g' -e 's|/etc/updraft/|$(SYSCONFDIR)/updraft/|g' \
	        $$u > $(DESTDIR)$(UNITDIR)/$$(basename $$u) && chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$u); \
	done

format:
	clang-format -i $(wildcard common/*.[ch] edge-agent/*.[ch] hub/*.[ch] bridge/*.[ch] tests/*/*.c bench/*.c)

lint:
	clang-tidy --quiet $(COMMON_SRCS) $(AGENT_SRCS) $(HUB_SRCS) $(BRIDGE_SRCS) bridge/main.c -- -std=c11 -I. -D_GNU_SOURCE -DUPDRAFT_VERSION='"$(VERSION)"'
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability -I. -D_GNU_SOURCE common edge-agent hub bridge

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)

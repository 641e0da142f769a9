# Flightdeck. `make run` serves the app with demo data; `make test` runs every
# test. Both install what they need first (scripts/deps.sh).

CC      ?= cc
WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
           -Wmissing-prototypes -Werror=implicit-function-declaration \
           $(WERROR)
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
VERSION := 0.1.0
CSTD    := -std=c11 -D_GNU_SOURCE -DFD_VERSION=\"$(VERSION)\"
CFLAGS  ?= -O2 -g
LIBS    := -lfcgi -lsqlite3 -lcjson -lsodium -lmd4c-html -lmd4c -lz -lpthread -lm
SAN     := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer

# The CLI alone links libcurl (sim.c: the reference runtime talks HTTP).
CLI_ONLY := cgi/cli.c cgi/sim.c cgi/cli_data.c cgi/cli_remote.c cgi/doctor.c
CORE_SRC := $(filter-out cgi/main.c $(CLI_ONLY),$(wildcard cgi/*.c))
HDRS     := $(wildcard cgi/*.h)
UNIT_SRC := $(wildcard tests/unit/test_*.c)

SQL      := $(sort $(wildcard sql/[0-9]*.sql))
# Embedded at build time too: the OpenAPI document GET /api/v1/openapi.json serves.
OPENAPI  := docs/openapi.json

# Release build: bin/ (what `make run` serves).
OBJ      := $(patsubst cgi/%.c,build/obj/%.o,$(CORE_SRC)) build/obj/migrations.o build/obj/openapi_doc.o
# Sanitizer build: build/san/ (what `make test` runs).
SAN_OBJ  := $(patsubst cgi/%.c,build/san/%.o,$(CORE_SRC)) build/san/migrations.o build/san/openapi_doc.o
UNIT_BIN := $(patsubst tests/unit/%.c,build/san/%,$(UNIT_SRC))

.PHONY: all build deps test-deps run test unit san clean demo
all: build
build: bin/flightdeck.fcgi bin/flightdeck

deps:
	@scripts/deps.sh run

test-deps:
	@scripts/deps.sh test

build/gen/migrations.c: $(SQL) scripts/embed-sql.sh | build/gen
	scripts/embed-sql.sh $@ $(SQL)
build/obj/migrations.o: build/gen/migrations.c cgi/db.h cgi/db_sql.h | build/obj
	$(CC) $(CSTD) $(CFLAGS) $(WARN) $(HARDEN) -Icgi -c $< -o $@
build/san/migrations.o: build/gen/migrations.c cgi/db.h cgi/db_sql.h | build/san
	$(CC) $(CSTD) -O1 -g $(WARN) $(SAN) -Icgi -c $< -o $@

build/gen/openapi_doc.c: $(OPENAPI) scripts/embed-file.sh | build/gen
	scripts/embed-file.sh $@ fd_openapi_json $(OPENAPI)
build/obj/openapi_doc.o: build/gen/openapi_doc.c | build/obj
	$(CC) $(CSTD) $(CFLAGS) $(WARN) $(HARDEN) -c $< -o $@
build/san/openapi_doc.o: build/gen/openapi_doc.c | build/san
	$(CC) $(CSTD) -O1 -g $(WARN) $(SAN) -c $< -o $@

build/obj/%.o: cgi/%.c $(HDRS) | build/obj
	$(CC) $(CSTD) $(CFLAGS) $(WARN) $(HARDEN) -Icgi -c $< -o $@
build/san/%.o: cgi/%.c $(HDRS) | build/san
	$(CC) $(CSTD) -O1 -g $(WARN) $(SAN) -Icgi -c $< -o $@

bin/flightdeck.fcgi: build/obj/main.o $(OBJ) | bin
	$(CC) $(CFLAGS) $^ -o $@ $(LIBS)
bin/flightdeck: $(patsubst cgi/%.c,build/obj/%.o,$(CLI_ONLY)) $(OBJ) | bin
	$(CC) $(CFLAGS) $^ -o $@ $(LIBS) -lcurl

build/san/flightdeck.fcgi: build/san/main.o $(SAN_OBJ)
	$(CC) $(SAN) $^ -o $@ $(LIBS)
build/san/flightdeck: $(patsubst cgi/%.c,build/san/%.o,$(CLI_ONLY)) $(SAN_OBJ)
	$(CC) $(SAN) $^ -o $@ $(LIBS) -lcurl
build/san/test_%: tests/unit/test_%.c $(wildcard tests/unit/*.h) $(SAN_OBJ) $(HDRS)
	$(CC) $(CSTD) -O1 -g $(WARN) $(SAN) -Icgi -Itests/unit $< $(SAN_OBJ) -o $@ $(LIBS)

san: build/san/flightdeck.fcgi build/san/flightdeck $(UNIT_BIN)

bin build/obj build/san build/gen:
	mkdir -p $@

run: deps build
	@scripts/run.sh

# The test build treats every warning as an error: "no warnings" is checked, not hoped.
test: deps test-deps
	@$(MAKE) --no-print-directory WERROR=-Werror build san vg
	@tests/run.sh

unit: san
	@tests/run.sh unit

# --- valgrind (issue 8): the unit tests once more, built without sanitizers
# (valgrind and ASan do not mix), under memcheck: any invalid access or leak
# fails (tests/run.sh valgrind).
VG_OBJ   := $(patsubst cgi/%.c,build/vg/%.o,$(CORE_SRC)) build/vg/migrations.o build/vg/openapi_doc.o
VG_BIN   := $(patsubst tests/unit/%.c,build/vg/%,$(UNIT_SRC))
build/vg:
	mkdir -p $@
build/vg/migrations.o: build/gen/migrations.c cgi/db.h cgi/db_sql.h | build/vg
	$(CC) $(CSTD) -O1 -g $(WARN) -Icgi -c $< -o $@
build/vg/openapi_doc.o: build/gen/openapi_doc.c | build/vg
	$(CC) $(CSTD) -O1 -g $(WARN) -c $< -o $@
build/vg/%.o: cgi/%.c $(HDRS) | build/vg
	$(CC) $(CSTD) -O1 -g $(WARN) -Icgi -c $< -o $@
build/vg/test_%: tests/unit/test_%.c $(wildcard tests/unit/*.h) $(VG_OBJ) $(HDRS)
	$(CC) $(CSTD) -O1 -g $(WARN) -Icgi -Itests/unit $< $(VG_OBJ) -o $@ $(LIBS)
.PHONY: vg valgrind
vg: $(VG_BIN)
valgrind: vg
	@tests/run.sh valgrind

# --- fuzzing (issue 8): libFuzzer targets in tests/fuzz/ (one per parser).
# `make fuzz` builds them with clang into build/fuzz/ and runs each for
# FUZZ_SECONDS (`make -j2 fuzz` runs two at a time); new corpus entries go to
# build/fuzz/corpus/<t>/, crashes to tests/fuzz/crashes/<t>/.
# `make fuzz-merge` minimises both corpora into tests/fuzz/corpus/<t>/.
# `make san` (so `make test`) also builds each target with $(CC) + ASan/UBSan
# and tests/fuzz/replay_main.c as build/san/fuzz_<t>, which tests/run.sh
# (level fuzz) runs over the corpus and the saved crashes: no clang needed.
FUZZ_TARGETS ?= tmpl ingest http route report share sessq utf8 otlp
FUZZ_SECONDS ?= 600
FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_OBJ     := $(patsubst cgi/%.c,build/fuzz/obj/%.o,$(CORE_SRC)) build/fuzz/obj/migrations.o build/fuzz/obj/openapi_doc.o
FUZZ_DEPS    := tests/fuzz/fuzz_db.h $(HDRS)
FUZZ_REPLAY  := $(patsubst %,build/san/fuzz_%,$(FUZZ_TARGETS))
build/fuzz/obj build/fuzz/corpus:
	mkdir -p $@
build/fuzz/obj/migrations.o: build/gen/migrations.c cgi/db.h cgi/db_sql.h | build/fuzz/obj
	$(FUZZ_CC) $(CSTD) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link -Icgi -c $< -o $@
build/fuzz/obj/openapi_doc.o: build/gen/openapi_doc.c | build/fuzz/obj
	$(FUZZ_CC) $(CSTD) -O1 -g -c $< -o $@
build/fuzz/obj/%.o: cgi/%.c $(HDRS) | build/fuzz/obj
	$(FUZZ_CC) $(CSTD) -O1 -g $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -Icgi -c $< -o $@
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DEPS) $(FUZZ_OBJ)
	$(FUZZ_CC) $(CSTD) -O1 -g $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer -Icgi $< $(FUZZ_OBJ) -o $@ $(LIBS)
build/san/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(FUZZ_DEPS) $(SAN_OBJ)
	$(CC) $(CSTD) -O1 -g $(WARN) $(SAN) -Icgi $< tests/fuzz/replay_main.c $(SAN_OBJ) -o $@ $(LIBS)
san: $(FUZZ_REPLAY)
.PRECIOUS: build/fuzz/obj/%.o build/fuzz/fuzz_% build/san/fuzz_%
.PHONY: fuzz fuzz-build fuzz-merge fuzz-replay
fuzz-build: $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_TARGETS))
fuzz: $(patsubst %,fuzz-run-%,$(FUZZ_TARGETS))
fuzz-run-%: build/fuzz/fuzz_% | build/fuzz/corpus
	@mkdir -p build/fuzz/corpus/$* tests/fuzz/crashes/$* tests/fuzz/corpus/$*
	@echo "fuzz $*: $(FUZZ_SECONDS)s, log build/fuzz/$*.log"
	@./build/fuzz/fuzz_$* -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
	  -dict=tests/fuzz/$*.dict -artifact_prefix=tests/fuzz/crashes/$*/ \
	  build/fuzz/corpus/$* tests/fuzz/corpus/$* >build/fuzz/$*.log 2>&1; rc=$$?; \
	  grep -E '^(#[0-9]+[[:space:]]+DONE|stat::|SUMMARY|artifact_prefix|Test unit written|==[0-9]+==ERROR)' \
	    build/fuzz/$*.log | sed 's/^/  $*: /'; exit $$rc
fuzz-merge: $(patsubst %,fuzz-merge-%,$(FUZZ_TARGETS))
fuzz-merge-%: build/fuzz/fuzz_%
	rm -rf build/fuzz/merged/$* && mkdir -p build/fuzz/merged/$* build/fuzz/corpus/$*
	./build/fuzz/fuzz_$* -merge=1 build/fuzz/merged/$* tests/fuzz/corpus/$* build/fuzz/corpus/$*
	rm -rf tests/fuzz/corpus/$* && mv build/fuzz/merged/$* tests/fuzz/corpus/$*
fuzz-replay: $(FUZZ_REPLAY)
	@tests/run.sh fuzz

# --- soak (issue 8): the long crash-safety and load runs (tests/soak/, which
# `make test` runs bounded: 8 kills over ~40 s, 50 clients for 15 s). Here:
# 40 kills over ~200 s and 200 clients for 60 s, against the release build
# (bin/; the throughput figures mean something there), plus the storage
# checks. SOAK_APP=build/san/flightdeck.fcgi runs them on the sanitizer build.
SOAK_APP ?= bin/flightdeck.fcgi
SOAK_CLI ?= bin/flightdeck
.PHONY: soak
soak: deps test-deps
	@$(MAKE) --no-print-directory WERROR=-Werror build san
	@FD_SOAK=long FD_APP=$(SOAK_APP) FD_CLI=$(SOAK_CLI) SOAK_TIMEOUT=$${SOAK_TIMEOUT:-1800} tests/run.sh soak

# --- static analysis (issue 8): cppcheck, clang-tidy (.clang-tidy) and
# gcc -fanalyzer over cgi/, each silent (scripts/lint.sh).
.PHONY: lint
lint: build/gen/migrations.c build/gen/openapi_doc.c
	@scripts/lint.sh

# --- benchmark (issue 9): `make bench` builds the dataset once (bench/gen),
# then measures pages, ingestion, memory and start-up against references
# taken in the same run, and writes bench/RESULTS.md (bench/bench.mjs).
BENCH_BIN := build/bench/gen build/bench/fcgi_ref build/bench/loadgen build/bench/sqlite_ref
.PHONY: bench bench-tools
bench: deps
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory build bench-tools
	@node bench/bench.mjs
bench-tools: $(BENCH_BIN)
build/bench:
	mkdir -p $@
build/bench/gen: bench/gen.c $(OBJ) $(HDRS) | build/bench
	$(CC) $(CSTD) $(CFLAGS) $(WARN) $(HARDEN) -Icgi $< $(OBJ) -o $@ $(LIBS)
build/bench/fcgi_ref: bench/fcgi_ref.c | build/bench
	$(CC) $(CSTD) $(CFLAGS) $(WARN) $(HARDEN) $< -o $@ -lfcgi -lpthread
build/bench/loadgen: bench/loadgen.c bench/events.h | build/bench
	$(CC) $(CSTD) $(CFLAGS) $(WARN) $(HARDEN) $< -o $@ -lcurl -lpthread -lm
# cgi/seal.c: the fd_* SQL functions the triggers of migration 011 call.
build/bench/sqlite_ref: bench/sqlite_ref.c bench/events.h cgi/seal.c cgi/seal.h | build/bench
	$(CC) $(CSTD) $(CFLAGS) $(WARN) $(HARDEN) -Icgi $< cgi/seal.c -o $@ -lsqlite3 -lsodium -lpthread -lm

clean:
	rm -rf build bin

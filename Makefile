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
LIBS    := -lfcgi -lsqlite3 -lcjson -lsodium -lmd4c-html -lmd4c -lpthread -lm
SAN     := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer

# The CLI alone links libcurl (sim.c: the reference runtime talks HTTP).
CLI_ONLY := cgi/cli.c cgi/sim.c cgi/cli_data.c cgi/cli_remote.c
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

clean:
	rm -rf build bin

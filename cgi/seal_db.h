/* seal_db: the database side of encryption at rest: `db rotate-key`
 * (docs/encryption.md). seal.h holds the keys and the SQL functions. */
#ifndef FD_SEAL_DB_H
#define FD_SEAL_DB_H

#include <stdio.h>
#include <stdint.h>

#include "db.h"

#define SEAL_TABLES 9

/* What a rotation did. */
typedef struct seal_rotation {
    uint32_t    new_key;                 /* the key every value is sealed with now */
    uint32_t    old_keys[16];   /* the keys dropped from the file */
    int         nold;
    int         resumed;                 /* finished an interrupted rotation (no new key made) */
    const char *table[SEAL_TABLES];      /* static names */
    long long   rows[SEAL_TABLES];       /* rows rewritten per table */
    long long   total;
    int         search_rebuilt;          /* encryption on: the search index was rebuilt */
    int         wal_truncated;           /* the WAL was emptied at the end (no reader in the way) */
} seal_rotation;

/* Rotate the key of the configured key file (seal_configure) while servers
 * keep running: add a new key (unless the file already holds more than one:
 * then an earlier rotation was interrupted and this one finishes it), wait
 * until running servers seal with it (they look at the file once a second),
 * re-encrypt every value sealed under another key, and, with encryption on,
 * every clear one, in batches of `batch` rows, each its own short write
 * transaction; with encryption on, rebuild the search index from what is
 * never sealed; then drop the old keys from the file (atomically). Progress
 * lines go to `log` (may be NULL). 0, or -1 with the reason in err; the key
 * file then still holds every key a value may need, and running it again
 * finishes the job. */
int seal_rotate(db *d, int batch, FILE *log, seal_rotation *r, char *err, size_t errlen);

#endif

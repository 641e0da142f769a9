/* seal: encryption at rest of payload columns (issue 11, docs/encryption.md).
 *
 * A sealed value is a BLOB:
 *   0xFD 'S' 'L' '1'   marker and format version (4 bytes)
 *   type               't' the clear value was TEXT, 'b' a BLOB (1 byte)
 *   key id             uint32, big-endian: which key of the key file sealed it
 *   nonce              24 random bytes
 *   ciphertext + tag   crypto_aead_xchacha20poly1305_ietf (16-byte tag)
 * The associated data is the 9-byte header followed by the value's place
 * ("events.body", then its row key), so a sealed value moved to another
 * row or column, or with its header changed, fails to open. Clear values
 * are TEXT (or BLOBs not starting with the marker), so sealed and clear
 * values live side by side: switching encryption on or off needs no
 * migration, and rotation is online.
 *
 * Keys live in a key file (one "key ID HEX" line per key; the highest id
 * seals new values; older ones stay to open values not yet re-encrypted),
 * mode 0600, created at first start. In memory they are kept in
 * sodium_malloc'd pages, read-only except while being loaded.
 *
 * The process-wide state (seal_configure) is used by SQL functions that
 * db_open registers on every connection (seal_register):
 *   fd_seal(v, place, k1 [, k2])  seal v when encryption is on (NULL and ''
 *                                 stay as they are); else v unchanged
 *   fd_open(v, place, k1 [, k2])  the clear value of v (clear values pass)
 *   fd_reseal(v, place, k1 [, k2]) v sealed under the current key (rotation)
 *   fd_stale(v)                   1 when rotation must rewrite v
 *   fd_key_id(v)                  the key id of a sealed v, else NULL
 *   fd_size(v)                    bytes of v's clear value
 *   fd_sealing()                  1 when encryption is on
 * All SQL of the app reads and writes payload columns through these (see
 * cgi/db_sql.h), so no C code handles ciphertext. */
#ifndef FD_SEAL_H
#define FD_SEAL_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#define SEAL_KEY_BYTES   32
#define SEAL_HEADER      9                   /* marker, type, key id */
#define SEAL_NONCE       24
#define SEAL_TAG         16
#define SEAL_OVERHEAD    (SEAL_HEADER + SEAL_NONCE + SEAL_TAG)
#define SEAL_MAX_KEYS    16

/* ---- keyring: a set of keys, in sodium_malloc'd memory ---- */
typedef struct seal_keyring seal_keyring;

/* A new, empty keyring. NULL when out of (locked) memory. The caller owns
 * it and frees it with seal_keyring_free. */
seal_keyring *seal_keyring_new(void);
/* Wipe and free. NULL is safe. */
void seal_keyring_free(seal_keyring *k);
/* Add a key under id (> 0). 0, or -1: the id is taken, 0, or the ring is
 * full. The bytes are copied; the caller wipes its own copy. */
int seal_keyring_add(seal_keyring *k, uint32_t id, const unsigned char key[SEAL_KEY_BYTES]);
/* Add a new random key whose id is one more than the highest; it becomes the
 * current key. *id (may be NULL) receives it. 0 or -1 (full). */
int seal_keyring_generate(seal_keyring *k, uint32_t *id);
/* Drop every key but the current one. */
void seal_keyring_keep_current(seal_keyring *k);
/* The id that seals new values (the highest), 0 when the ring is empty. */
uint32_t seal_keyring_current(const seal_keyring *k);
/* How many keys it holds. */
int seal_keyring_count(const seal_keyring *k);
/* Does it hold a key with this id? */
int seal_keyring_has(const seal_keyring *k, uint32_t id);

/* Read a key file into a new keyring (*out, owned by the caller). The file
 * must be a regular file without group or other permissions, hold at least
 * one well-formed key line and nothing else but comments and blank lines.
 * Returns 0; 1 when the file does not exist (*out NULL); -1 with the reason
 * in err (*out NULL). */
int seal_keyring_load(const char *path, seal_keyring **out, char *err, size_t errlen);
/* Write k to path atomically: a temporary file beside it (mode 0600,
 * O_EXCL), fsync, rename over path, fsync of the folder. excl: fail when
 * path exists (first creation, so two starting processes cannot both make
 * a key). 0, or -1 with the reason in err (EEXIST in errno for excl). */
int seal_keyring_save(const seal_keyring *k, const char *path, int excl, char *err, size_t errlen);

/* Add to dst every key of src it lacks. 0; -1 when an id is in both with
 * different bytes (two installations' keys: err says which). */
int seal_keyring_merge(seal_keyring *dst, const seal_keyring *src, char *err, size_t errlen);

/* ---- backups (cli.c db backup / restore) ---- */
/* Write the configured key file's keys to `to` (0600; an existing `to` is
 * replaced only with force). 1 when written, 0 when there is no key file
 * (nothing is sealed), -1 with the reason in err. */
int seal_export_keys(const char *to, int force, char *err, size_t errlen);
/* Add the keys of the key file `from` (a backup's) to the configured key
 * file (created when missing), atomically, and use them. 1 when `from`
 * held keys, 0 when it does not exist, -1 with the reason in err (a loose
 * or malformed file, a key id that differs, no key file configured). */
int seal_import_keys(const char *from, char *err, size_t errlen);

/* ---- sealing one value with a given keyring ---- */
/* Is p (n bytes) a sealed value (marker and minimal length)? */
int seal_is_sealed(const void *p, size_t n);
/* The key id of a sealed value; 0 when p is not one. */
uint32_t seal_value_key_id(const void *p, size_t n);
/* Seal n bytes of pt (is_blob: the clear value is a BLOB) with the current
 * key of k, bound to the place ad (adn bytes). *out is malloc'd (the caller
 * frees it), *outlen = n + SEAL_OVERHEAD. 0, or -1 (no key, no memory). */
int seal_value(const seal_keyring *k, int is_blob, const void *pt, size_t n,
               const void *ad, size_t adn, unsigned char **out, size_t *outlen);
/* Open a sealed value bound to ad. *out is malloc'd with a NUL after the
 * *outlen bytes (the caller frees it), *is_blob its type. 0; -1 when it
 * cannot be opened (malformed, tampered, another place, wrong key); -2 when
 * k holds no key with its id. */
int seal_open_value(const seal_keyring *k, const void *in, size_t n, const void *ad, size_t adn,
                    unsigned char **out, size_t *outlen, int *is_blob);

/* ---- the process's configuration ---- */
/* Configure the process (call once at start, before connections are
 * opened; again only in tests). on: seal new values; key_path: the key file
 * (required when on; when off, used only if it exists so values sealed
 * earlier stay readable). With on and no file, one is created with a new
 * key (mode 0600). Needs sodium_init (auth_init) first. 0, or -1 with the
 * reason in err (malformed file, group/other permissions, I/O). */
int seal_configure(int on, const char *key_path, char *err, size_t errlen);
/* The key file (config key_file), or when it is NULL or "" the default
 * beside the database (db_path + ".key"), into out. 0, or -1 when it does
 * not fit. */
int seal_key_path_default(const char *key_file, const char *db_path, char *out, size_t n);
/* Forget the keys (wiped). Safe to call when not configured. */
void seal_shutdown(void);
/* Is encryption on? */
int seal_enabled(void);
/* The key file configured (NULL when none). Owned by the module. */
const char *seal_key_path(void);
/* The current key id of the process (0: none). */
uint32_t seal_current_key(void);
/* Read the key file again now (rotation: a new key, or an old one dropped).
 * 0, or -1 with the reason in err (the keys in use stay). */
int seal_reload(char *err, size_t errlen);

/* Register the fd_* SQL functions on a connection. SQLITE_OK or an error. */
int seal_register(sqlite3 *h);

#endif

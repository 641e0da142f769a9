/* seal: encryption at rest. See seal.h and docs/encryption.md. */
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const unsigned char seal_marker[4] = { 0xFD, 'S', 'L', '1' };

#define KEYFILE_MAX 8192

struct seal_keyring {
    int n;
    struct { uint32_t id; unsigned char key[SEAL_KEY_BYTES]; } k[SEAL_MAX_KEYS];
};

/* ---- keyring ---- */

seal_keyring *seal_keyring_new(void)
{
    seal_keyring *k = sodium_malloc(sizeof *k);
    if (!k) return NULL;
    memset(k, 0, sizeof *k);
    /* Read-only from now on except while a key is added; should mprotect
     * fail the ring merely stays writable. */
    (void)sodium_mprotect_readonly(k);
    return k;
}

void seal_keyring_free(seal_keyring *k)
{
    if (k) sodium_free(k); /* sodium_free wipes, whatever the protection */
}

/* The key with this id in k (NULL: none). The pointer is k's. */
static const unsigned char *ring_key(const seal_keyring *k, uint32_t id)
{
    for (int i = 0; i < k->n; i++)
        if (k->k[i].id == id) return k->k[i].key;
    return NULL;
}

int seal_keyring_has(const seal_keyring *k, uint32_t id) { return k && ring_key(k, id) != NULL; }
int seal_keyring_count(const seal_keyring *k) { return k ? k->n : 0; }

uint32_t seal_keyring_current(const seal_keyring *k)
{
    uint32_t cur = 0;
    for (int i = 0; k && i < k->n; i++)
        if (k->k[i].id > cur) cur = k->k[i].id;
    return cur;
}

int seal_keyring_add(seal_keyring *k, uint32_t id, const unsigned char key[SEAL_KEY_BYTES])
{
    if (!k || id == 0 || k->n >= SEAL_MAX_KEYS || ring_key(k, id)) return -1;
    if (sodium_mprotect_readwrite(k)) return -1;
    k->k[k->n].id = id;
    memcpy(k->k[k->n].key, key, SEAL_KEY_BYTES);
    k->n++;
    (void)sodium_mprotect_readonly(k);
    return 0;
}

int seal_keyring_generate(seal_keyring *k, uint32_t *id)
{
    if (!k || k->n >= SEAL_MAX_KEYS) return -1;
    uint32_t nid = seal_keyring_current(k) + 1;
    if (nid == 0) return -1;
    if (sodium_mprotect_readwrite(k)) return -1;
    k->k[k->n].id = nid;
    crypto_aead_xchacha20poly1305_ietf_keygen(k->k[k->n].key);
    k->n++;
    (void)sodium_mprotect_readonly(k);
    if (id) *id = nid;
    return 0;
}

void seal_keyring_keep_current(seal_keyring *k)
{
    if (!k || k->n <= 1) return;
    uint32_t cur = seal_keyring_current(k);
    if (sodium_mprotect_readwrite(k)) return;
    int j = 0;
    for (int i = 0; i < k->n; i++) {
        if (k->k[i].id != cur) continue;
        if (i != j) k->k[j] = k->k[i];
        j++;
    }
    sodium_memzero(&k->k[j], sizeof k->k[0] * (size_t)(SEAL_MAX_KEYS - j));
    k->n = j;
    (void)sodium_mprotect_readonly(k);
}

int seal_keyring_merge(seal_keyring *dst, const seal_keyring *src, char *err, size_t errlen)
{
    for (int i = 0; src && i < src->n; i++) {
        const unsigned char *have = ring_key(dst, src->k[i].id);
        if (have) {
            if (sodium_memcmp(have, src->k[i].key, SEAL_KEY_BYTES) != 0) {
                snprintf(err, errlen, "key %u differs between the two key files", (unsigned)src->k[i].id);
                return -1;
            }
            continue;
        }
        if (seal_keyring_add(dst, src->k[i].id, src->k[i].key)) {
            snprintf(err, errlen, "too many keys (at most %d)", SEAL_MAX_KEYS);
            return -1;
        }
    }
    return 0;
}

/* ---- key file ---- */

/* Parse "key ID HEX" lines (comments '#', blank lines) into k. 0 or -1. */
static int parse_keyfile(seal_keyring *k, char *text, const char *path, char *err, size_t errlen)
{
    int line = 0;
    for (char *l = text, *next; l; l = next) {
        next = strchr(l, '\n');
        if (next) *next++ = 0;
        line++;
        while (*l == ' ' || *l == '\t' || *l == '\r') l++;
        size_t len = strlen(l);
        while (len && (l[len - 1] == ' ' || l[len - 1] == '\t' || l[len - 1] == '\r')) l[--len] = 0;
        if (!*l || *l == '#') continue;
        char *idp, *hexp, *end;
        if (strncmp(l, "key ", 4) != 0) goto bad;
        idp = l + 4;
        errno = 0;
        unsigned long id = strtoul(idp, &end, 10);
        if (errno || end == idp || *end != ' ' || id == 0 || id > UINT32_MAX) goto bad;
        hexp = end + 1;
        if (strlen(hexp) != 2 * SEAL_KEY_BYTES) goto bad;
        unsigned char key[SEAL_KEY_BYTES];
        size_t got = 0;
        if (sodium_hex2bin(key, sizeof key, hexp, 2 * SEAL_KEY_BYTES, NULL, &got, NULL) != 0 ||
            got != SEAL_KEY_BYTES) { sodium_memzero(key, sizeof key); goto bad; }
        int rc = seal_keyring_add(k, (uint32_t)id, key);
        sodium_memzero(key, sizeof key);
        if (rc) {
            snprintf(err, errlen, "%s: line %d: key %lu appears twice (or more than %d keys)",
                     path, line, id, SEAL_MAX_KEYS);
            return -1;
        }
        continue;
bad:
        snprintf(err, errlen, "%s: line %d is malformed (expected \"key ID HEX\" with 64 hex digits)",
                 path, line);
        return -1;
    }
    if (k->n == 0) { snprintf(err, errlen, "%s: holds no key", path); return -1; }
    return 0;
}

int seal_keyring_load(const char *path, seal_keyring **out, char *err, size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 1;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen, "%s: the key file is open to group or others (mode %04o): "
                 "run chmod 600 on it", path, (unsigned)(st.st_mode & 07777));
        close(fd);
        return -1;
    }
    char *text = sodium_malloc(KEYFILE_MAX + 1);
    if (!text) { close(fd); snprintf(err, errlen, "out of memory"); return -1; }
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, text + n, KEYFILE_MAX - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            close(fd);
            sodium_free(text);
            return -1;
        }
        if (r == 0) break;
        n += (size_t)r;
        if (n == KEYFILE_MAX) break;
    }
    close(fd);
    if (n == KEYFILE_MAX) {
        snprintf(err, errlen, "%s: too large for a key file", path);
        sodium_free(text);
        return -1;
    }
    text[n] = 0;
    if (memchr(text, 0, n)) {
        snprintf(err, errlen, "%s: malformed (binary content)", path);
        sodium_free(text);
        return -1;
    }
    seal_keyring *k = seal_keyring_new();
    int rc = k ? parse_keyfile(k, text, path, err, errlen) : (snprintf(err, errlen, "out of memory"), -1);
    sodium_free(text);
    if (rc) { seal_keyring_free(k); return -1; }
    *out = k;
    return 0;
}

/* Write all of buf. 0 or -1. */
static int write_all(int fd, const char *buf, size_t n)
{
    while (n) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsync the folder that holds path, so a rename or creation is durable.
 * 0, or -1 (errno). */
static int sync_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else { errno = ENAMETOOLONG; return -1; }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int seal_keyring_save(const seal_keyring *k, const char *path, int excl, char *err, size_t errlen)
{
    if (!k || k->n == 0) { snprintf(err, errlen, "no key to write"); return -1; }
    /* The text, in locked memory: it holds the keys in hex. */
    size_t cap = 512 + (size_t)k->n * (2 * SEAL_KEY_BYTES + 32);
    char *text = sodium_malloc(cap);
    if (!text) { snprintf(err, errlen, "out of memory"); return -1; }
    size_t len = (size_t)snprintf(text, cap,
        "# Flightdeck encryption keys (docs/encryption.md). Keep this file private\n"
        "# (mode 0600) and backed up apart from the database: without it, sealed\n"
        "# values cannot be read. The highest id seals new values.\n");
    uint32_t cur = seal_keyring_current(k);
    for (int pass = 0; pass < 2; pass++)        /* the current key first */
        for (int i = 0; i < k->n; i++) {
            if ((pass == 0) != (k->k[i].id == cur)) continue;
            char hex[2 * SEAL_KEY_BYTES + 1];
            sodium_bin2hex(hex, sizeof hex, k->k[i].key, SEAL_KEY_BYTES);
            int w = snprintf(text + len, cap - len, "key %u %s\n", (unsigned)k->k[i].id, hex);
            sodium_memzero(hex, sizeof hex);
            if (w < 0 || (size_t)w >= cap - len) { /* cannot happen: cap counts every line */
                snprintf(err, errlen, "key file text too long");
                sodium_free(text);
                return -1;
            }
            len += (size_t)w;
        }

    char tmp[PATH_MAX];
    int rc = -1, fd = -1;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        goto out;
    }
    unlink(tmp); /* a leftover of an interrupted run of this same pid */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) { snprintf(err, errlen, "%s: %s", tmp, strerror(errno)); goto out; }
    if (fchmod(fd, 0600) != 0 || write_all(fd, text, len) != 0 || fsync(fd) != 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) { fd = -1; snprintf(err, errlen, "%s: %s", tmp, strerror(errno)); goto out; }
    fd = -1;
    if (excl) {
        /* link(2) fails when path exists: the first creator wins. */
        if (link(tmp, path) != 0) {
            int e = errno;
            snprintf(err, errlen, "%s: %s", path, strerror(e));
            unlink(tmp);
            errno = e;
            goto out;
        }
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        goto out;
    }
    /* The file is in place; only its durability across a power cut is in
     * doubt, which is worth a word but not a failure. */
    if (sync_dir(path) != 0)
        fprintf(stderr, "flightdeck: warning: the folder of %s could not be synced: %s\n", path, strerror(errno));
    rc = 0;
out:
    if (fd >= 0) { close(fd); unlink(tmp); }
    sodium_free(text);
    return rc;
}

/* ---- one value ---- */

int seal_is_sealed(const void *p, size_t n)
{
    return p && n >= SEAL_OVERHEAD && memcmp(p, seal_marker, sizeof seal_marker) == 0;
}

uint32_t seal_value_key_id(const void *p, size_t n)
{
    if (!seal_is_sealed(p, n)) return 0;
    const unsigned char *b = p;
    return (uint32_t)b[5] << 24 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 8 | b[8];
}

/* header || place, the associated data. *out malloc'd. */
static unsigned char *make_ad(const unsigned char *hdr, const void *ad, size_t adn, size_t *outn)
{
    unsigned char *a = malloc(SEAL_HEADER + adn + 1);
    if (!a) return NULL;
    memcpy(a, hdr, SEAL_HEADER);
    if (adn) memcpy(a + SEAL_HEADER, ad, adn);
    *outn = SEAL_HEADER + adn;
    return a;
}

int seal_value(const seal_keyring *k, int is_blob, const void *pt, size_t n,
               const void *ad, size_t adn, unsigned char **out, size_t *outlen)
{
    *out = NULL;
    uint32_t id = seal_keyring_current(k);
    const unsigned char *key = id ? ring_key(k, id) : NULL;
    if (!key || n > SIZE_MAX - SEAL_OVERHEAD) return -1;
    unsigned char *c = malloc(n + SEAL_OVERHEAD);
    if (!c) return -1;
    memcpy(c, seal_marker, 4);
    c[4] = is_blob ? 'b' : 't';
    c[5] = (unsigned char)(id >> 24); c[6] = (unsigned char)(id >> 16);
    c[7] = (unsigned char)(id >> 8);  c[8] = (unsigned char)id;
    randombytes_buf(c + SEAL_HEADER, SEAL_NONCE);
    size_t an;
    unsigned char *a = make_ad(c, ad, adn, &an);
    if (!a) { free(c); return -1; }
    unsigned long long clen = 0;
    int rc = crypto_aead_xchacha20poly1305_ietf_encrypt(c + SEAL_HEADER + SEAL_NONCE, &clen,
                                                       pt, n, a, an, NULL, c + SEAL_HEADER, key);
    free(a);
    if (rc != 0 || clen != n + SEAL_TAG) { free(c); return -1; }
    *out = c;
    *outlen = n + SEAL_OVERHEAD;
    return 0;
}

int seal_open_value(const seal_keyring *k, const void *in, size_t n, const void *ad, size_t adn,
                    unsigned char **out, size_t *outlen, int *is_blob)
{
    *out = NULL;
    const unsigned char *c = in;
    if (!seal_is_sealed(in, n) || (c[4] != 't' && c[4] != 'b')) return -1;
    const unsigned char *key = k ? ring_key(k, seal_value_key_id(in, n)) : NULL;
    if (!key) return -2;
    size_t mlen = n - SEAL_OVERHEAD;
    unsigned char *m = malloc(mlen + 1);
    if (!m) return -1;
    size_t an;
    unsigned char *a = make_ad(c, ad, adn, &an);
    if (!a) { free(m); return -1; }
    unsigned long long got = 0;
    int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(m, &got, NULL, c + SEAL_HEADER + SEAL_NONCE,
                                                       n - SEAL_HEADER - SEAL_NONCE, a, an,
                                                       c + SEAL_HEADER, key);
    free(a);
    if (rc != 0 || got != mlen) { free(m); return -1; }
    m[mlen] = 0;
    *out = m;
    *outlen = mlen;
    *is_blob = c[4] == 'b';
    return 0;
}

/* ---- the process ---- */

static pthread_rwlock_t g_lock = PTHREAD_RWLOCK_INITIALIZER;
static seal_keyring *g_ring;       /* NULL: no key file */
static int g_on;
static char *g_path;
static struct { dev_t dev; ino_t ino; struct timespec mtime; off_t size; } g_file;
static int64_t g_checked_ms;       /* when the key file was last looked at */

#define SEAL_CHECK_MS 1000         /* how often a sealing process looks for a new key */

/* Milliseconds of the monotonic clock. */
static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Note the key file's identity and mtime as loaded (under the write lock). */
static void remember_file(void)
{
    struct stat st;
    memset(&g_file, 0, sizeof g_file);
    if (g_path && stat(g_path, &st) == 0) {
        g_file.dev = st.st_dev; g_file.ino = st.st_ino;
        g_file.mtime = st.st_mtim; g_file.size = st.st_size;
    }
}

/* Has the key file changed since remember_file? (A missing file has not:
 * the keys in use stay.) Under the write lock. */
static int file_changed(void)
{
    struct stat st;
    if (!g_path || stat(g_path, &st) != 0) return 0;
    return st.st_dev != g_file.dev || st.st_ino != g_file.ino || st.st_size != g_file.size ||
           st.st_mtim.tv_sec != g_file.mtime.tv_sec || st.st_mtim.tv_nsec != g_file.mtime.tv_nsec;
}

int seal_configure(int on, const char *key_path, char *err, size_t errlen)
{
    seal_shutdown();
    if (on && (!key_path || !*key_path)) {
        snprintf(err, errlen, "encryption is on but no key file is configured");
        return -1;
    }
    seal_keyring *k = NULL;
    if (key_path && *key_path) {
        int rc = seal_keyring_load(key_path, &k, err, errlen);
        if (rc < 0) return -1;
        for (int attempt = 0; rc == 1 && on && attempt < 3; attempt++) {
            seal_keyring *nk = seal_keyring_new();
            if (!nk || seal_keyring_generate(nk, NULL)) {
                seal_keyring_free(nk);
                snprintf(err, errlen, "cannot make a key (out of locked memory?)");
                return -1;
            }
            if (seal_keyring_save(nk, key_path, 1, err, errlen) == 0) {
                k = nk;
                break;
            }
            seal_keyring_free(nk);
            if (errno != EEXIST) return -1;
            /* Another process made it first: read theirs (once written whole). */
            rc = seal_keyring_load(key_path, &k, err, errlen);
            if (rc < 0) return -1;
        }
        if (on && !k) {
            snprintf(err, errlen, "%s: cannot create the key file", key_path);
            return -1;
        }
    }
    pthread_rwlock_wrlock(&g_lock);
    g_ring = k;
    g_on = on;
    g_path = key_path && *key_path ? strdup(key_path) : NULL;
    remember_file();
    g_checked_ms = mono_ms();
    pthread_rwlock_unlock(&g_lock);
    if (key_path && *key_path && !g_path) { snprintf(err, errlen, "out of memory"); return -1; }
    return 0;
}

int seal_export_keys(const char *to, int force, char *err, size_t errlen)
{
    const char *path = g_path;
    if (!path) return 0;
    seal_keyring *k = NULL;
    int rc = seal_keyring_load(path, &k, err, errlen);
    if (rc) return rc == 1 ? 0 : -1;
    rc = seal_keyring_save(k, to, !force, err, errlen);
    seal_keyring_free(k);
    return rc ? -1 : 1;
}

int seal_import_keys(const char *from, char *err, size_t errlen)
{
    seal_keyring *in = NULL, *live = NULL;
    int rc = seal_keyring_load(from, &in, err, errlen);
    if (rc) return rc == 1 ? 0 : -1;
    if (!g_path) {
        seal_keyring_free(in);
        snprintf(err, errlen, "%s holds keys but no key file is configured", from);
        return -1;
    }
    rc = seal_keyring_load(g_path, &live, err, errlen);
    if (rc < 0) { seal_keyring_free(in); return -1; }
    if (rc == 1) { live = in; in = NULL; }    /* no key file yet: the backup's */
    else if (seal_keyring_merge(live, in, err, errlen)) {
        seal_keyring_free(in);
        seal_keyring_free(live);
        return -1;
    }
    rc = seal_keyring_save(live, g_path, 0, err, errlen);
    seal_keyring_free(in);
    seal_keyring_free(live);
    if (rc || seal_reload(err, errlen)) return -1;
    return 1;
}

int seal_key_path_default(const char *key_file, const char *db_path, char *out, size_t n)
{
    int w = key_file && *key_file ? snprintf(out, n, "%s", key_file) : snprintf(out, n, "%s.key", db_path);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

void seal_shutdown(void)
{
    pthread_rwlock_wrlock(&g_lock);
    seal_keyring_free(g_ring);
    g_ring = NULL;
    g_on = 0;
    free(g_path);
    g_path = NULL;
    pthread_rwlock_unlock(&g_lock);
}

int seal_enabled(void)
{
    pthread_rwlock_rdlock(&g_lock);
    int on = g_on;
    pthread_rwlock_unlock(&g_lock);
    return on;
}

const char *seal_key_path(void) { return g_path; }

uint32_t seal_current_key(void)
{
    pthread_rwlock_rdlock(&g_lock);
    uint32_t c = seal_keyring_current(g_ring);
    pthread_rwlock_unlock(&g_lock);
    return c;
}

/* Read the key file into a new keyring and swap it in; on failure the
 * keys in use stay. Under the write lock. 0 or -1 (err). */
static int reload_locked(char *err, size_t errlen)
{
    if (!g_path) { snprintf(err, errlen, "no key file configured"); return -1; }
    seal_keyring *k = NULL;
    int rc = seal_keyring_load(g_path, &k, err, errlen);
    g_checked_ms = mono_ms();
    if (rc == 1) { snprintf(err, errlen, "%s: missing", g_path); return -1; }
    if (rc < 0) return -1;
    seal_keyring_free(g_ring);
    g_ring = k;
    remember_file();
    return 0;
}

int seal_reload(char *err, size_t errlen)
{
    pthread_rwlock_wrlock(&g_lock);
    int rc = reload_locked(err, errlen);
    pthread_rwlock_unlock(&g_lock);
    return rc;
}

/* A sealing process looks at the key file once a second, so a key made by
 * `db rotate-key` seals new values within a second or so. */
static void maybe_reload(void)
{
    int64_t now = mono_ms();
    pthread_rwlock_rdlock(&g_lock);
    int due = g_path && now - g_checked_ms >= SEAL_CHECK_MS;
    pthread_rwlock_unlock(&g_lock);
    if (!due) return;
    pthread_rwlock_wrlock(&g_lock);
    if (g_path && now - g_checked_ms >= SEAL_CHECK_MS) {
        g_checked_ms = now;
        if (file_changed()) {
            char err[256];
            if (reload_locked(err, sizeof err))
                fprintf(stderr, "flightdeck: key file changed but cannot be read (keeping the keys in use): %s\n", err);
        }
    }
    pthread_rwlock_unlock(&g_lock);
}

/* ---- SQL functions ---- */

/* The place of a value: "table.column" then each row key, separated by
 * 0x1F. *out malloc'd. NULL on a missing argument or no memory. */
static char *place_of(sqlite3_context *cx, int argc, sqlite3_value **argv, size_t *n)
{
    size_t len = 0;
    for (int i = 1; i < argc; i++) len += (size_t)sqlite3_value_bytes(argv[i]) + 1;
    char *p = malloc(len + 1);
    if (!p) { sqlite3_result_error_nomem(cx); return NULL; }
    size_t at = 0;
    for (int i = 1; i < argc; i++) {
        const unsigned char *t = sqlite3_value_text(argv[i]);
        size_t tn = (size_t)sqlite3_value_bytes(argv[i]);
        if (i > 1) p[at++] = 0x1F;
        if (tn) memcpy(p + at, t, tn);
        at += tn;
    }
    p[at] = 0;
    *n = at;
    return p;
}

/* Is v a sealed value (a BLOB with the marker)? */
static int value_is_sealed(sqlite3_value *v)
{
    return sqlite3_value_type(v) == SQLITE_BLOB &&
           seal_is_sealed(sqlite3_value_blob(v), (size_t)sqlite3_value_bytes(v));
}

/* Seal argv[0] under the current key into the result. */
static void seal_into(sqlite3_context *cx, int argc, sqlite3_value **argv, int is_blob,
                      const void *pt, size_t n)
{
    size_t an;
    char *ad = place_of(cx, argc, argv, &an);
    if (!ad) return;
    unsigned char *c = NULL;
    size_t cn = 0;
    pthread_rwlock_rdlock(&g_lock);
    int rc = g_ring ? seal_value(g_ring, is_blob, pt, n, ad, an, &c, &cn) : -1;
    pthread_rwlock_unlock(&g_lock);
    free(ad);
    if (rc) { sqlite3_result_error(cx, "cannot seal a value (no key?)", -1); return; }
    sqlite3_result_blob64(cx, c, cn, free);
}

/* Open a sealed argv[0] into a malloc'd buffer; a key id the process does
 * not know makes it read the key file again (a rotation it missed). */
static int open_arg(sqlite3_context *cx, int argc, sqlite3_value **argv,
                    unsigned char **out, size_t *n, int *is_blob)
{
    size_t an;
    char *ad = place_of(cx, argc, argv, &an);
    if (!ad) return -1;
    const void *in = sqlite3_value_blob(argv[0]);
    size_t inn = (size_t)sqlite3_value_bytes(argv[0]);
    pthread_rwlock_rdlock(&g_lock);
    int rc = seal_open_value(g_ring, in, inn, ad, an, out, n, is_blob);
    pthread_rwlock_unlock(&g_lock);
    if (rc == -2) {
        char err[256];
        pthread_rwlock_wrlock(&g_lock);
        if (!seal_keyring_has(g_ring, seal_value_key_id(in, inn)) && reload_locked(err, sizeof err))
            fprintf(stderr, "flightdeck: %s\n", err);
        rc = seal_open_value(g_ring, in, inn, ad, an, out, n, is_blob);
        pthread_rwlock_unlock(&g_lock);
    }
    if (rc) {
        char msg[200];
        snprintf(msg, sizeof msg, rc == -2
                 ? "sealed value of %.60s: no key %u in the key file"
                 : "sealed value of %.60s cannot be opened (tampered, moved, or a wrong key %u)",
                 ad, (unsigned)seal_value_key_id(in, inn));
        free(ad);
        sqlite3_result_error(cx, msg, -1);
        return -1;
    }
    free(ad);
    return 0;
}

/* The opened value m (malloc'd; the result takes it) as TEXT or BLOB. */
static void result_clear(sqlite3_context *cx, unsigned char *m, size_t n, int is_blob)
{
    if (is_blob) sqlite3_result_blob64(cx, m, n, free);
    else sqlite3_result_text64(cx, (char *)m, n, free, SQLITE_UTF8);
}

/* fd_seal(v, place, k1 [, k2]) */
static void fn_seal(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    sqlite3_value *v = argv[0];
    int t = sqlite3_value_type(v);
    if (value_is_sealed(v)) {
        sqlite3_result_error(cx, "fd_seal: the value is sealed already", -1);
        return;
    }
    if (t == SQLITE_NULL || sqlite3_value_bytes(v) == 0 || (t != SQLITE_TEXT && t != SQLITE_BLOB)) {
        sqlite3_result_value(cx, v);
        return;
    }
    maybe_reload();
    if (!seal_enabled()) { sqlite3_result_value(cx, v); return; }
    if (t == SQLITE_TEXT)
        seal_into(cx, argc, argv, 0, sqlite3_value_text(v), (size_t)sqlite3_value_bytes(v));
    else
        seal_into(cx, argc, argv, 1, sqlite3_value_blob(v), (size_t)sqlite3_value_bytes(v));
}

/* fd_open(v, place, k1 [, k2]) */
static void fn_open(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    if (!value_is_sealed(argv[0])) { sqlite3_result_value(cx, argv[0]); return; }
    unsigned char *m;
    size_t n;
    int is_blob;
    if (open_arg(cx, argc, argv, &m, &n, &is_blob)) return;
    result_clear(cx, m, n, is_blob);
}

/* fd_reseal(v, place, k1 [, k2]): under the current key; clear values are
 * sealed only when encryption is on. */
static void fn_reseal(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    sqlite3_value *v = argv[0];
    if (!value_is_sealed(v)) {
        int t = sqlite3_value_type(v);
        if (!seal_enabled() || (t != SQLITE_TEXT && t != SQLITE_BLOB) || sqlite3_value_bytes(v) == 0) {
            sqlite3_result_value(cx, v);
            return;
        }
        if (t == SQLITE_TEXT)
            seal_into(cx, argc, argv, 0, sqlite3_value_text(v), (size_t)sqlite3_value_bytes(v));
        else
            seal_into(cx, argc, argv, 1, sqlite3_value_blob(v), (size_t)sqlite3_value_bytes(v));
        return;
    }
    unsigned char *m;
    size_t n;
    int is_blob;
    if (open_arg(cx, argc, argv, &m, &n, &is_blob)) return;
    seal_into(cx, argc, argv, is_blob, m, n);
    sodium_memzero(m, n);
    free(m);
}

/* fd_stale(v): sealed under another key than the current one, or clear
 * (not empty) while encryption is on. */
static void fn_stale(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sqlite3_value *v = argv[0];
    int stale;
    if (value_is_sealed(v))
        stale = seal_value_key_id(sqlite3_value_blob(v), (size_t)sqlite3_value_bytes(v)) != seal_current_key();
    else {
        int t = sqlite3_value_type(v);
        stale = seal_enabled() && (t == SQLITE_TEXT || t == SQLITE_BLOB) && sqlite3_value_bytes(v) > 0;
    }
    sqlite3_result_int(cx, stale);
}

/* fd_key_id(v): the key id of a sealed v, else NULL. */
static void fn_key_id(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (!value_is_sealed(argv[0])) { sqlite3_result_null(cx); return; }
    sqlite3_result_int64(cx, seal_value_key_id(sqlite3_value_blob(argv[0]), (size_t)sqlite3_value_bytes(argv[0])));
}

/* fd_size(v): bytes of v's clear value, without opening it. */
static void fn_size(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sqlite3_value *v = argv[0];
    if (sqlite3_value_type(v) == SQLITE_NULL) { sqlite3_result_null(cx); return; }
    int n = sqlite3_value_bytes(v);
    sqlite3_result_int64(cx, value_is_sealed(v) ? n - SEAL_OVERHEAD : n);
}

/* fd_sealing(): 1 while encryption is on. */
static void fn_sealing(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc; (void)argv;
    sqlite3_result_int(cx, seal_enabled());
}

int seal_register(sqlite3 *h)
{
    static const struct {
        const char *name; int nargs; int flags;
        void (*fn)(sqlite3_context *, int, sqlite3_value **);
    } fns[] = {
        /* Not deterministic: a nonce per call, and the result depends on the keys. */
        { "fd_seal", 3, 0, fn_seal },     { "fd_seal", 4, 0, fn_seal },
        { "fd_open", 3, 0, fn_open },     { "fd_open", 4, 0, fn_open },
        { "fd_reseal", 3, 0, fn_reseal }, { "fd_reseal", 4, 0, fn_reseal },
        { "fd_stale", 1, 0, fn_stale },
        { "fd_key_id", 1, SQLITE_DETERMINISTIC, fn_key_id },
        { "fd_size", 1, SQLITE_DETERMINISTIC, fn_size },
        { "fd_sealing", 0, 0, fn_sealing },
    };
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
        int rc = sqlite3_create_function_v2(h, fns[i].name, fns[i].nargs, SQLITE_UTF8 | fns[i].flags,
                                            NULL, fns[i].fn, NULL, NULL, NULL);
        if (rc != SQLITE_OK) return rc;
    }
    return SQLITE_OK;
}

/* h_views: saved views of the History page. A view is a name for a
 * canonical query string (filters + sort) kept on the server, private to
 * its owner or shared with every user; each viewer still sees only the
 * projects they may read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "handlers.h"
#include "sessq.h"

#define VIEW_NAME_MAX 80

/* Where the saved-view forms go back to: return_to, or the History page. */
static const char *back_to(ctx *c)
{
    return page_return_to(c, "/sessions");
}

/* POST /views: name, query, shared. The query is re-parsed and written
 * back in canonical form, so a view can only hold what the page accepts. */
hres h_view_save(ctx *c)
{
    const char *back = back_to(c);
    if (c->who.kind != PRINCIPAL_USER) return ctx_error(c, 403, "forbidden", "only people have saved views");
    size_t nlen = 0;
    const char *name = http_kvs_getn(&c->req.form, "name", &nlen);
    while (name && (*name == ' ' || *name == '\t')) { name++; nlen--; }
    if (!name || nlen == 0 || nlen > VIEW_NAME_MAX || strlen(name) != nlen)
        return ctx_redirect_flash(c, back, "error",
                                  "Give the view a name of 1 to 80 characters.");
    for (size_t i = 0; i < nlen; i++)
        if ((unsigned char)name[i] < 0x20)
            return ctx_redirect_flash(c, back, "error", "A view name cannot hold control characters.");
    const char *query = http_kvs_get(&c->req.form, "query");
    http_kvs kv = { 0 };
    if (http_parse_query(c->a, query ? query : "", query ? strlen(query) : 0, &kv))
        return ctx_redirect_flash(c, back, "error", "That view's filters could not be read.");
    sessq q;
    sq_err err = { 0 };
    sessq_init(&q, 50);
    if (sessq_parse(&q, &kv, c->a, db_now_ms(), &err))
        return ctx_redirect_flash(c, back, "error",
                                  arena_printf(c->a, "Not saved: %s.", err.message));
    buf b;
    buf_init(&b);
    sessq_query_string(&b, &q, 50);
    const char *canon = b.err ? NULL : arena_strndup(c->a, buf_str(&b), b.len);
    buf_fini(&b);
    if (!canon) return HR_ERROR;
    const char *sh = http_kvs_get(&c->req.form, "shared");
    sqlite3_stmt *st = db_stmt(c->db, SQL_VIEW_SAVE);
    if (!st) return HR_ERROR;
    sqlite3_bind_int64(st, 1, c->who.id);
    db_bind_textn(st, 2, name, nlen);
    db_bind_text(st, 3, canon);
    sqlite3_bind_int(st, 4, sh && *sh && strcmp(sh, "0") != 0);
    sqlite3_bind_int64(st, 5, db_now_ms());
    if (db_exec(st)) return HR_ERROR;
    return ctx_redirect_flash(c, *canon ? arena_printf(c->a, "/sessions?%s", canon) : "/sessions", "ok",
                              arena_printf(c->a, "Saved view \"%.*s\".", (int)nlen, name));
}

/* POST /views/{id}/delete: the owner's own view, or (admins) a shared one. */
hres h_view_delete(ctx *c)
{
    const char *back = back_to(c);
    char *end;
    long long id = strtoll(ctx_param(c, 0), &end, 10);
    if (*end || id <= 0) return ctx_error(c, 404, "not_found", "No such saved view.");
    sqlite3_stmt *st = db_stmt(c->db, SQL_VIEW_DELETE);
    if (!st) return HR_ERROR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, c->who.id);
    sqlite3_bind_int(st, 3, auth_can_all(&c->who, PERM_ADMIN));
    if (db_exec(st)) return HR_ERROR;
    if (sqlite3_changes(db_handle(c->db)) == 0)
        return ctx_redirect_flash(c, back, "error", "That view is gone, or is not yours to delete.");
    return ctx_redirect_flash(c, back, "ok", "Deleted the saved view.");
}

/* report: the structured report a runtime stores on a session
 * (PUT /api/v1/sessions/{id}/report, kept in sessions.report) and what it
 * becomes for people: Markdown, and a self-contained HTML document. Also the
 * one Markdown-to-HTML conversion of the app (md4c, raw HTML refused, link
 * schemes checked), which the session page uses for messages too.
 *
 * A report is a JSON object:
 *   {"title": str?, "summary": markdown?, "sections": [{"title", "content"}]?,
 *    "markdown": markdown?, "data": any JSON?}
 * with at least one of summary, sections, markdown. A null member counts as
 * absent.
 *
 * Pure functions over cJSON and buf: no database, no request. Ownership:
 * every function appends to a buf the caller owns (buf_init / buf_fini);
 * nothing returned needs freeing. */
#ifndef FD_REPORT_H
#define FD_REPORT_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "buf.h"

#define REPORT_TITLE_MAX    500   /* bytes, report and section titles */
#define REPORT_SECTIONS_MAX 500

/* Why report_validate refused a report (0 = valid). */
typedef enum report_rc {
    REPORT_OK = 0,
    REPORT_NOT_OBJECT,     /* the report is not a JSON object */
    REPORT_UNKNOWN_FIELD,  /* a member the format does not have */
    REPORT_INVALID_FIELD,  /* wrong type, too long, not UTF-8 */
    REPORT_MISSING_FIELD   /* no summary, sections or markdown; a section without title */
} report_rc;

/* Check report r against the format above. Returns REPORT_OK, or a
 * report_rc with a sentence for the caller in err (n bytes) and *field set
 * to the top-level member at fault ("sections" also for a member inside one
 * section; the sentence names which) or NULL. Every string, keys included,
 * must be valid UTF-8. */
int report_validate(const cJSON *r, char *err, size_t n, const char **field);

/* The API error code of a report_rc: "invalid_body", "unknown_field",
 * "invalid_field", "missing_field" (NULL for REPORT_OK). */
const char *report_rc_code(int rc);

/* Append r (validated) as one Markdown document to out: "# title", the
 * summary, each section as "## title" and its content, the markdown member,
 * and data as a fenced JSON block under "## Data" — every part present, in
 * that order. Titles are put on one line. 0, or -1 when out of memory
 * (out->err). */
int report_markdown(const cJSON *r, buf *out);

/* Append a complete HTML document for r to out: inline <style>, a
 * Content-Security-Policy <meta> that lets no script run, the report
 * rendered by markdown_html, and the session's name and id (both escaped).
 * 0, or -1 on failure. */
int report_html_document(const cJSON *r, const char *session_name, const char *session_id,
                         buf *out);

/* Append md[0..n) rendered as HTML to out: md4c with MD_FLAG_NOHTML |
 * STRIKETHROUGH | TABLES | PERMISSIVEURLAUTOLINKS, so raw HTML in the text
 * comes out escaped; link targets whose scheme is not http, https or mailto
 * (images: http, https, data) become "#". 0, or -1 on failure (nothing
 * appended). */
int markdown_html(const char *md, size_t n, buf *out);


#endif

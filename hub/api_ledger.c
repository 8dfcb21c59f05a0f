/* Loss ledger endpoints of the API (see api_internal.h): one host's boots with their gaps, and
 * the fleet's totals for /api/v1/query/stats. Reads copies the ledger makes under its lock. */
#include <errno.h>
#include <stdlib.h>

#include "common/clock.h"
#include "hub/api_internal.h"
#include "hub/ledger.h"

static json_t *totals_json(const struct ledger_totals *t)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I}", "open_gaps", (json_int_t)t->open_gaps,
                     "missing_packs", (json_int_t)t->missing_packs, "lost_gaps",
                     (json_int_t)t->lost_gaps, "lost_packs", (json_int_t)t->lost_packs,
                     "gaps_filled", (json_int_t)t->gaps_filled);
}

static json_t *boot_json(const struct ledger_boot_report *b)
{
    json_t *gaps = json_array();
    for (size_t i = 0; i < b->n_gaps; i++) {
        const struct ledger_gap *g = &b->gaps[i];
        json_array_append_new(gaps, json_pack("{s:I,s:I,s:I,s:o,s:f,s:b}", "first",
                                              (json_int_t)g->first, "last", (json_int_t)g->last,
                                              "count", (json_int_t)g->last - (json_int_t)g->first + 1,
                                              "since", api_time_json(g->since_ms), "age_s",
                                              (double)g->age_ms / 1000.0, "lost", g->lost));
    }
    return json_pack("{s:s,s:o,s:o,s:I,s:o,s:I,s:o}", "boot_id", b->boot_id, "first_seq",
                     b->has_seqs ? json_integer((json_int_t)b->first_seq) : json_null(), "last_seq",
                     b->has_seqs ? json_integer((json_int_t)b->last_seq) : json_null(), "committed",
                     (json_int_t)b->committed, "last_seen_at", api_time_json(b->last_seen_ms),
                     "agent_dropped", (json_int_t)b->dropped, "gaps", gaps);
}

void api_host_gaps(struct api *api, const struct http_request *req, struct http_response *resp,
                   const char *host_id)
{
    (void)req;
    if (!api_host_exists(api, host_id)) {
        api_respond_error(resp, 404, "NOT_FOUND", "unknown host \"%.64s\"", host_id);
        return;
    }
    struct ledger_report *r = NULL;
    int rc = ledger_report(api->ledger, host_id, clock_wall_ms(), &r);
    if (rc == -ENOMEM) {
        api_respond_error(resp, 500, "INTERNAL", "out of memory");
        return;
    }
    json_t *boots = json_array();
    struct ledger_totals none = {0};
    const struct ledger_totals *t = r != NULL ? &r->totals : &none;
    for (size_t i = 0; r != NULL && i < r->n_boots; i++)
        json_array_append_new(boots, boot_json(&r->boots[i]));
    json_t *body =
        json_pack("{s:s,s:o,s:I,s:o,s:o,s:f}", "host", host_id, "boots", boots, "agent_dropped",
                  (json_int_t)t->agent_dropped, "agent_dropped_changed_at",
                  api_time_json(r != NULL ? r->agent_dropped_changed_ms : 0), "totals",
                  totals_json(t), "settle_s", (double)api->ledger_settle_ms / 1000.0);
    ledger_report_free(r);
    api_respond_json(resp, 200, body);
}

json_t *api_ledger_totals_json(struct api *api)
{
    struct ledger_totals t;
    ledger_totals(api->ledger, clock_wall_ms(), &t);
    json_t *o = totals_json(&t);
    json_object_set_new(o, "agent_dropped", json_integer((json_int_t)t.agent_dropped));
    return o;
}

/* gantry/1 protocol core and a one-axis simulated rover, freestanding C. */
#include <stdint.h>
#include "proto.h"

typedef long long i64;

/* ---- small string helpers (no libc) ---- */
static size_t slen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
static int seq(const char *a, size_t an, const char *b) {
    size_t bn = slen(b);
    if (an != bn) return 0;
    for (size_t i = 0; i < an; i++) if (a[i] != b[i]) return 0;
    return 1;
}

/* ---- output buffer ---- */
static char out[MAX_LINE + 64];
static size_t outn;
static void o_raw(const char *s, size_t n) { for (size_t i = 0; i < n && outn < sizeof out - 1; i++) out[outn++] = s[i]; }
static void o_str(const char *s) { o_raw(s, slen(s)); }
static void o_int(i64 v) {
    char b[24]; int n = 0; unsigned long long u = v < 0 ? -(unsigned long long)v : (unsigned long long)v;
    if (v < 0) o_raw("-", 1);
    do { b[n++] = (char)('0' + u % 10); u /= 10; } while (u);
    while (n) o_raw(&b[--n], 1);
}
/* o_milli prints v/1000 with up to three decimals. */
static void o_milli(i64 v) {
    if (v < 0) { o_raw("-", 1); v = -v; }
    o_int(v / 1000);
    int f = (int)(v % 1000);
    if (f) {
        char d[4] = {(char)('0' + f / 100), (char)('0' + f / 10 % 10), (char)('0' + f % 10), 0};
        int n = 3; while (d[n - 1] == '0') n--;
        o_raw(".", 1); o_raw(d, (size_t)n);
    }
}
/* ---- minimal JSON reader ---- */
typedef struct { const char *p, *e; int bad; } J;
static void ws(J *j) { while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n')) j->p++; }
static int isdig(char c) { return c >= '0' && c <= '9'; }
static void jvalue(J *j, int depth);
static void jstring(J *j) {
    if (j->p >= j->e || *j->p != '"') { j->bad = 1; return; }
    j->p++;
    while (j->p < j->e) {
        unsigned char c = (unsigned char)*j->p++;
        if (c == '"') return;
        if (c < 0x20) { j->bad = 1; return; }
        if (c == '\\') {
            if (j->p >= j->e) break;
            char x = *j->p++;
            if (x == 'u') {
                for (int i = 0; i < 4; i++, j->p++) {
                    char h = j->p < j->e ? *j->p : 0;
                    if (!(isdig(h) || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'))) { j->bad = 1; return; }
                }
            } else if (!(x == '"' || x == '\\' || x == '/' || x == 'b' || x == 'f' || x == 'n' || x == 'r' || x == 't')) { j->bad = 1; return; }
        }
    }
    j->bad = 1;
}
static void jnumber(J *j) {
    if (j->p < j->e && *j->p == '-') j->p++;
    if (j->p >= j->e || !isdig(*j->p)) { j->bad = 1; return; }
    if (*j->p == '0') j->p++; else while (j->p < j->e && isdig(*j->p)) j->p++;
    if (j->p < j->e && *j->p == '.') { j->p++; if (j->p >= j->e || !isdig(*j->p)) { j->bad = 1; return; } while (j->p < j->e && isdig(*j->p)) j->p++; }
    if (j->p < j->e && (*j->p == 'e' || *j->p == 'E')) {
        j->p++; if (j->p < j->e && (*j->p == '+' || *j->p == '-')) j->p++;
        if (j->p >= j->e || !isdig(*j->p)) { j->bad = 1; return; }
        while (j->p < j->e && isdig(*j->p)) j->p++;
    }
}
static void jlit(J *j, const char *w) { size_t n = slen(w); if ((size_t)(j->e - j->p) < n || !seq(j->p, n, w)) { j->bad = 1; return; } j->p += n; }
static void jvalue(J *j, int depth) {
    ws(j);
    if (j->p >= j->e || depth > 16) { j->bad = 1; return; }
    char c = *j->p;
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->p++; ws(j);
        if (j->p < j->e && *j->p == close) { j->p++; return; }
        for (;;) {
            if (c == '{') { ws(j); jstring(j); if (j->bad) return; ws(j); if (j->p >= j->e || *j->p != ':') { j->bad = 1; return; } j->p++; }
            jvalue(j, depth + 1); if (j->bad) return;
            ws(j);
            if (j->p < j->e && *j->p == ',') { j->p++; continue; }
            if (j->p < j->e && *j->p == close) { j->p++; return; }
            j->bad = 1; return;
        }
    }
    if (c == '"') { jstring(j); return; }
    if (c == 't') { jlit(j, "true"); return; }
    if (c == 'f') { jlit(j, "false"); return; }
    if (c == 'n') { jlit(j, "null"); return; }
    jnumber(j);
}

/* A value span and its kind. */
enum { V_NUM, V_STR, V_NULL, V_OTHER };
typedef struct { const char *k; size_t kn; const char *v; size_t vn; int kind; } Member;

static int kind_of(const char *v) { return *v == '"' ? V_STR : *v == 'n' ? V_NULL : (*v == '-' || isdig(*v)) ? V_NUM : V_OTHER; }

/* members lists an object's top-level members (up to max); -1 if not an object. */
static int members(const char *s, const char *e, Member *m, int max) {
    J j = {s, e, 0};
    ws(&j);
    if (j.p >= j.e || *j.p != '{') return -1;
    j.p++; ws(&j);
    int n = 0;
    if (j.p < j.e && *j.p == '}') return 0;
    for (;;) {
        ws(&j);
        const char *ks = j.p; jstring(&j); if (j.bad) return -1;
        const char *ke = j.p;
        ws(&j); if (j.p >= j.e || *j.p != ':') return -1;
        j.p++; ws(&j);
        const char *vs = j.p; jvalue(&j, 1); if (j.bad) return -1;
        if (n < max) { m[n].k = ks + 1; m[n].kn = (size_t)(ke - ks - 2); m[n].v = vs; m[n].vn = (size_t)(j.p - vs); m[n].kind = kind_of(vs); }
        n++;
        ws(&j);
        if (j.p < j.e && *j.p == ',') { j.p++; continue; }
        if (j.p < j.e && *j.p == '}') return n;
        return -1;
    }
}

/* num_milli parses a JSON number into thousandths; *integral says whether
 * it is a whole number. Returns 0 when out of the representable range. */
static int num_milli(const char *s, size_t n, i64 *out_v, int *integral) {
    const char *p = s, *e = s + n; int neg = 0; i64 v = 0; int frac = 0, exp = 0, fracnz = 0;
    if (p < e && *p == '-') { neg = 1; p++; }
    while (p < e && isdig(*p)) { if (v > 1000000000000LL) return 0; v = v * 10 + (*p++ - '0'); }
    v *= 1000;
    if (p < e && *p == '.') {
        p++;
        i64 scale = 100;
        while (p < e && isdig(*p)) { if (scale) { v += (*p - '0') * scale; scale /= 10; } else if (*p != '0') fracnz = 1; if (*p != '0') frac = 1; p++; }
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++; int en = 0; if (p < e && (*p == '+' || *p == '-')) { en = *p == '-'; p++; }
        while (p < e && isdig(*p)) { exp = exp * 10 + (*p++ - '0'); if (exp > 30) return 0; }
        for (int i = 0; i < exp; i++) { if (en) { if (v % 10) fracnz = 1; v /= 10; } else { if (v > 1000000000000000LL) return 0; v *= 10; } }
        frac = (v % 1000) != 0 || fracnz;
    } else {
        frac = frac || (v % 1000) != 0;
    }
    *out_v = neg ? -v : v;
    *integral = !frac;
    return 1;
}

/* ---- actions, parameters ---- */
enum { P_NUM, P_INT, P_STR };
typedef struct { const char *name; int type; i64 min, max; int required; i64 def; int has_range; } Param;
typedef struct { const char *name; const Param *params; int nparams; } Action;

static const Param p_get[] = {{"name", P_STR, 0, 0, 1, 0, 0}};
static const Param p_drive[] = {{"speed", P_NUM, -1000, 1000, 1, 0, 1}, {"ms", P_INT, 0, 5000000, 0, 500000, 1}};
static const Action actions[] = {
    {"describe", 0, 0}, {"ping", 0, 0}, {"get", p_get, 1}, {"stop", 0, 0}, {"reset", 0, 0},
    {"drive", p_drive, 2}, {"pose", 0, 0}, {"distance", 0, 0},
};
#define NACTIONS (int)(sizeof actions / sizeof actions[0])

static const char DESCRIPTION[] =
    "{\"protocol\":\"gantry/1\",\"name\":\"qrover\",\"title\":\"LM3S6965 rover\","
    "\"description\":\"Rover on a 4 m track, firmware on a Cortex-M3: drives along x, crate at x=2.6 m, walls at 0 and 4 m.\","
    "\"actions\":{\"describe\":{\"description\":\"This description\"},"
    "\"ping\":{\"description\":\"Liveness check\",\"returns\":{\"type\":\"object\",\"description\":\"{ts}\"}},"
    "\"get\":{\"description\":\"Read a property\",\"params\":{\"name\":{\"type\":\"string\",\"required\":true,"
    "\"enum\":[\"battery\",\"pose\",\"distance\",\"moving\",\"stopped\",\"odometer\",\"uptime\"]}}},"
    "\"stop\":{\"description\":\"Emergency stop, latched until reset\"},"
    "\"reset\":{\"description\":\"Clear the emergency stop\"},"
    "\"drive\":{\"description\":\"Drive along the track; stops early on a bump\",\"params\":{"
    "\"speed\":{\"type\":\"number\",\"unit\":\"m/s\",\"minimum\":-1,\"maximum\":1,\"required\":true},"
    "\"ms\":{\"type\":\"integer\",\"unit\":\"ms\",\"minimum\":0,\"maximum\":5000,\"default\":500}},"
    "\"returns\":{\"type\":\"object\",\"description\":\"{x,y,heading,moved,bumped,reason}\"}},"
    "\"pose\":{\"description\":\"Position and heading\",\"returns\":{\"type\":\"object\"}},"
    "\"distance\":{\"description\":\"Distance ahead to the crate or wall\",\"returns\":{\"type\":\"number\",\"unit\":\"m\"}}},"
    "\"properties\":{\"battery\":{\"type\":\"number\",\"unit\":\"%\",\"readOnly\":true},"
    "\"pose\":{\"type\":\"object\",\"readOnly\":true},\"distance\":{\"type\":\"number\",\"unit\":\"m\",\"readOnly\":true},"
    "\"moving\":{\"type\":\"boolean\",\"readOnly\":true},\"stopped\":{\"type\":\"boolean\",\"readOnly\":true},"
    "\"odometer\":{\"type\":\"number\",\"unit\":\"m\",\"readOnly\":true},\"uptime\":{\"type\":\"integer\",\"unit\":\"ms\",\"readOnly\":true}},"
    "\"events\":{\"bump\":{\"description\":\"Bumper hit\",\"data\":{\"type\":\"object\"}}}}";

/* ---- rover state (micrometres, micro-percent) ---- */
static i64 x_um = 500000, odo_um, batt_upct = 100000000;
static i64 uptime_ms;
static int stopped, moving;
static i64 mv_speed_mm, mv_left_ms, mv_start_odo, mv_id;
#define RADIUS_UM 100000
#define CRATE_UM 2600000
#define TRACK_UM 4000000

/* ---- idempotency cache ---- */
#define CACHE 64
#define CREPLY 320
typedef struct { i64 id; int used, pending, waiters, big; char reply[CREPLY]; uint16_t n; } Entry;
static Entry cache[CACHE];
static unsigned cache_next;

static Entry *cache_find(i64 id) { for (int i = 0; i < CACHE; i++) if (cache[i].used && cache[i].id == id) return &cache[i]; return 0; }
static Entry *cache_add(i64 id) {
    /* Replace the oldest finished entry, scanning from the ring position. */
    for (int k = 0; k < CACHE; k++) {
        Entry *e = &cache[(cache_next + k) % CACHE];
        if (!e->pending) { cache_next = (cache_next + k + 1) % CACHE; e->used = 1; e->id = id; e->pending = 1; e->waiters = 0; e->n = 0; e->big = 0; return e; }
    }
    return 0;
}

static void send_out(void) { out[outn++] = '\n'; uart_write(out, outn); }

/* finish stores out[] (a reply line without newline) for id and sends it. */
static void finish(i64 id) {
    Entry *e = cache_find(id);
    int times = 1;
    if (e) {
        e->pending = 0;
        times += e->waiters; e->waiters = 0;
        if (outn <= CREPLY) { for (size_t i = 0; i < outn; i++) e->reply[i] = out[i]; e->n = (uint16_t)outn; }
        else e->big = 1; /* only describe: re-rendered identically */
    }
    send_out();
    for (int i = 1; i < times; i++) uart_write(out, outn);
}

static void begin_reply(i64 id) { outn = 0; o_str("{\"id\":"); o_int(id); }
static void reply_error(i64 id, int has_id, const char *code, const char *msg, const char *detail) {
    outn = 0; o_str("{\"id\":");
    if (has_id) o_int(id); else o_str("null");
    o_str(",\"ok\":false,\"error\":{\"code\":\""); o_str(code); o_str("\",\"message\":\"");
    o_str(msg);
    o_str("\"");
    (void)detail;
    o_str("}}");
}

static i64 front_distance_um(void) {
    i64 d = (mv_speed_mm < 0 && moving) ? x_um - RADIUS_UM : (x_um < CRATE_UM ? CRATE_UM - x_um - RADIUS_UM : TRACK_UM - x_um - RADIUS_UM);
    return d < 0 ? 0 : d;
}
static void o_pose(void) { o_str("{\"x\":"); o_milli(x_um / 1000); o_str(",\"y\":1.5,\"heading\":0}"); }

static void motion_result(i64 id, const char *reason) {
    begin_reply(id);
    o_str(",\"ok\":true,\"result\":{\"x\":"); o_milli(x_um / 1000);
    o_str(",\"y\":1.5,\"heading\":0,\"moved\":"); o_milli((odo_um - mv_start_odo) / 1000);
    o_str(",\"bumped\":"); o_str(reason[0] == 'b' && reason[1] == 'u' ? "true" : "false");
    o_str(",\"reason\":\""); o_str(reason); o_str("\",\"battery\":"); o_milli(batt_upct / 1000);
    o_str("}}");
}

void proto_tick(void) {
    uptime_ms += 10;
    if (!moving) return;
    i64 step = mv_left_ms < 10 ? mv_left_ms : 10;
    i64 nx = x_um + mv_speed_mm * step;
    i64 a = mv_speed_mm < 0 ? -mv_speed_mm : mv_speed_mm;
    batt_upct -= (20000 + 200 * a) * step / 1000;
    if (batt_upct < 0) batt_upct = 0;
    int bump = nx - RADIUS_UM < 0 || nx + RADIUS_UM > TRACK_UM || (x_um < CRATE_UM && nx + RADIUS_UM > CRATE_UM);
    if (bump) {
        moving = 0;
        motion_result(mv_id, "bump");
        finish(mv_id);
        outn = 0; o_str("{\"event\":\"bump\",\"ts\":"); o_int(uptime_ms); o_str(",\"data\":"); o_pose(); o_str("}");
        send_out();
        return;
    }
    odo_um += (nx > x_um ? nx - x_um : x_um - nx);
    x_um = nx;
    mv_left_ms -= step;
    if (mv_left_ms <= 0 || batt_upct == 0) {
        moving = 0;
        motion_result(mv_id, batt_upct == 0 ? "battery" : "done");
        finish(mv_id);
    }
}

/* ---- request handling ---- */
static void handle_line(const char *s, size_t n) {
    J j = {s, s + n, 0};
    jvalue(&j, 0);
    ws(&j);
    Member m[8];
    int nm = -1;
    if (!j.bad && j.p == j.e) nm = members(s, s + n, m, 8);
    if (nm < 0) { reply_error(0, 0, "bad_request", "not a JSON object", 0); send_out(); return; }
    i64 id = 0; int id_ok = 0; const Member *act = 0, *args = 0;
    for (int i = 0; i < nm && i < 8; i++) {
        if (seq(m[i].k, m[i].kn, "id") && m[i].kind == V_NUM) {
            const char *p = m[i].v; size_t k = m[i].vn; id_ok = k > 0 && k <= 18 && *p != '0';
            for (size_t q = 0; q < k; q++) if (!isdig(p[q])) id_ok = 0;
            id = 0; if (id_ok) for (size_t q = 0; q < k; q++) id = id * 10 + (p[q] - '0');
        } else if (seq(m[i].k, m[i].kn, "action")) act = &m[i];
        else if (seq(m[i].k, m[i].kn, "args")) args = &m[i];
    }
    if (!id_ok) { reply_error(0, 0, "bad_request", "id missing or not a positive integer", 0); send_out(); return; }
    Entry *e = cache_find(id);
    if (e) {
        if (e->pending) { e->waiters++; return; }
        if (!e->big) { uart_write(e->reply, e->n); uart_write("\n", 1); return; }
        /* big: describe, re-rendered below without touching the cache */
    } else {
        cache_add(id);
    }
    if (!act || act->kind != V_STR || act->vn <= 2) { reply_error(id, 1, "bad_request", "action missing or not a non-empty string", 0); finish(id); return; }
    const char *an = act->v + 1; size_t al = act->vn - 2;
    const Action *a = 0;
    for (int i = 0; i < NACTIONS; i++) if (seq(an, al, actions[i].name)) a = &actions[i];
    if (!a) { reply_error(id, 1, "unknown_action", "unknown action (actions: describe, ping, get, stop, reset, drive, pose, distance)", 0); finish(id); return; }
    /* Arguments. */
    Member am[8]; int na = 0;
    if (args && args->kind != V_NULL) {
        na = members(args->v, args->v + args->vn, am, 8);
        if (na < 0) { reply_error(id, 1, "invalid_args", "args must be a JSON object", 0); finish(id); return; }
        if (na > 8) { reply_error(id, 1, "invalid_args", "too many arguments", 0); finish(id); return; }
    }
    i64 nv[4] = {0}; const char *sv[4] = {0}; size_t sl[4] = {0}; int have[4] = {0};
    for (int i = 0; i < na; i++) {
        int k = -1;
        for (int q = 0; q < a->nparams; q++) if (seq(am[i].k, am[i].kn, a->params[q].name)) k = q;
        if (k < 0) { reply_error(id, 1, "invalid_args", "unknown argument for this action", 0); finish(id); return; }
        const Param *p = &a->params[k];
        if (p->type == P_STR) {
            if (am[i].kind != V_STR) { reply_error(id, 1, "invalid_args", "argument must be a string", 0); finish(id); return; }
            sv[k] = am[i].v + 1; sl[k] = am[i].vn - 2;
        } else {
            int integral;
            if (am[i].kind != V_NUM) { reply_error(id, 1, "invalid_args", p->type == P_INT ? "argument must be an integer" : "argument must be a number", 0); finish(id); return; }
            if (!num_milli(am[i].v, am[i].vn, &nv[k], &integral)) { reply_error(id, 1, "out_of_range", "number too large", 0); finish(id); return; }
            if (p->type == P_INT && !integral) { reply_error(id, 1, "invalid_args", "argument must be an integer", 0); finish(id); return; }
            if (p->has_range && (nv[k] < p->min || nv[k] > p->max)) {
                outn = 0; o_str("{\"id\":"); o_int(id); o_str(",\"ok\":false,\"error\":{\"code\":\"out_of_range\",\"message\":\"");
                o_str(p->name); o_str(nv[k] < p->min ? " must be >= " : " must be <= "); o_milli(nv[k] < p->min ? p->min : p->max);
                o_str(", got "); o_raw(am[i].v, am[i].vn < 24 ? am[i].vn : 24); o_str("\"}}");
                finish(id); return;
            }
        }
        have[k] = 1;
    }
    for (int q = 0; q < a->nparams; q++) {
        if (have[q]) continue;
        if (a->params[q].required) { reply_error(id, 1, "invalid_args", "missing a required argument", 0); finish(id); return; }
        nv[q] = a->params[q].def;
    }
    const char *name = a->name;
    begin_reply(id);
    if (seq(name, slen(name), "describe")) { o_str(",\"ok\":true,\"result\":"); o_str(DESCRIPTION); o_str("}"); if (e) { send_out(); return; } finish(id); return; }
    if (seq(name, slen(name), "ping")) { o_str(",\"ok\":true,\"result\":{\"ts\":"); o_int(uptime_ms); o_str("}}"); finish(id); return; }
    if (seq(name, slen(name), "pose")) { o_str(",\"ok\":true,\"result\":"); o_pose(); o_str("}"); finish(id); return; }
    if (seq(name, slen(name), "distance")) { o_str(",\"ok\":true,\"result\":"); o_milli(front_distance_um() / 1000); o_str("}"); finish(id); return; }
    if (seq(name, slen(name), "get")) {
        o_str(",\"ok\":true,\"result\":");
        if (seq(sv[0], sl[0], "battery")) o_milli(batt_upct / 1000);
        else if (seq(sv[0], sl[0], "pose")) o_pose();
        else if (seq(sv[0], sl[0], "distance")) o_milli(front_distance_um() / 1000);
        else if (seq(sv[0], sl[0], "moving")) o_str(moving ? "true" : "false");
        else if (seq(sv[0], sl[0], "stopped")) o_str(stopped ? "true" : "false");
        else if (seq(sv[0], sl[0], "odometer")) o_milli(odo_um / 1000);
        else if (seq(sv[0], sl[0], "uptime")) o_int(uptime_ms);
        else { reply_error(id, 1, "invalid_args", "unknown property (battery, pose, distance, moving, stopped, odometer, uptime)", 0); finish(id); return; }
        o_str("}"); finish(id); return;
    }
    if (seq(name, slen(name), "stop")) {
        int cancelled = moving;
        stopped = 1;
        if (moving) {
            moving = 0;
            reply_error(mv_id, 1, "stopped", "drive cancelled by stop", 0);
            finish(mv_id);
        }
        begin_reply(id);
        o_str(",\"ok\":true,\"result\":{\"stopped\":true,\"cancelled\":"); o_str(cancelled ? "true" : "false");
        o_str(",\"pose\":"); o_pose(); o_str("}}"); finish(id); return;
    }
    if (seq(name, slen(name), "reset")) { stopped = 0; o_str(",\"ok\":true,\"result\":{\"stopped\":false}}"); finish(id); return; }
    if (seq(name, slen(name), "drive")) {
        if (stopped) { reply_error(id, 1, "stopped", "emergency stop is latched; send reset first", 0); finish(id); return; }
        if (moving) { reply_error(id, 1, "busy", "a drive is in flight; wait for its reply or send stop", 0); finish(id); return; }
        if (batt_upct <= 0) { reply_error(id, 1, "out_of_range", "battery is empty", 0); finish(id); return; }
        mv_speed_mm = nv[0]; mv_left_ms = nv[1] / 1000; mv_start_odo = odo_um; mv_id = id;
        if (mv_left_ms == 0) { motion_result(id, "done"); finish(id); return; }
        moving = 1; /* replies from proto_tick when done */
        return;
    }
    reply_error(id, 1, "internal", "action has no handler", 0); finish(id);
}

/* ---- line assembly ---- */
static char line[MAX_LINE];
static size_t linen;
static int discarding;

void proto_rx_byte(char c) {
    if (c == '\n') {
        if (discarding) {
            discarding = 0;
            reply_error(0, 0, "line_too_long", "line longer than 4096 bytes discarded", 0);
            send_out();
        } else {
            size_t n = linen;
            if (n && line[n - 1] == '\r') n--;
            int blank = 1;
            for (size_t i = 0; i < n; i++) if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') blank = 0;
            if (!blank) handle_line(line, n);
        }
        linen = 0;
        return;
    }
    if (discarding) return;
    if (linen >= MAX_LINE - 1) { discarding = 1; linen = 0; return; }
    line[linen++] = c;
}

/* The compiler may emit calls to memset/memcpy for zeroing arrays. */
void *memset(void *d, int c, size_t n) { unsigned char *p = d; while (n--) *p++ = (unsigned char)c; return d; }
void *memcpy(void *d, const void *s, size_t n) { unsigned char *p = d; const unsigned char *q = s; while (n--) *p++ = *q++; return d; }

/* parse.c -- text parsers behind lrcore.datasets.load_file: decimal numbers (correctly
 * rounded), CSV records and svmlight/libsvm lines.  See parse.h for the contracts.
 *
 * No global mutable state, no allocation: outputs are caller-owned arrays sized by the
 * caller (CSV: an upper bound from lrci_count_lines; svmlight: the exact counts of the
 * lrci_svm_scan pass).  The only buffer is a bounded stack array for strtod's slow path.
 */
#include "parse.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The exact fast path needs double arithmetic without excess precision (no x87). */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#define LRCI_PARSE_FAST 1
#else
#define LRCI_PARSE_FAST 0
#endif

static const double lrc_p10[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static inline int is_digit(unsigned char c) { return (unsigned)(c - '0') < 10u; }

/* ------------------------------------------------------------------------------------ */
/* numbers                                                                              */
/* ------------------------------------------------------------------------------------ */

/* Split a decimal literal s[0:n): sign, the first <= 19 significant digits (mant), the
 * number of significant digits nsig (from the first non-zero digit on), e10 such that
 * value = S * 10^e10 with S the integer of all digits, and the end of the digits
 * (start of the exponent).  Returns 0 if s is not a decimal literal. */
static int split_decimal(const char *s, ptrdiff_t n, int *neg, uint64_t *mant,
                         int64_t *nsig, int64_t *e10, ptrdiff_t *digits_end)
{
    ptrdiff_t i = 0;
    uint64_t m = 0;
    int64_t ns = 0, frac = 0, ex = 0;
    int any = 0;
    *neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        *neg = s[i] == '-';
        i++;
    }
    while (i < n && is_digit((unsigned char)s[i])) {
        unsigned d = (unsigned)(s[i] - '0');
        if (ns || d) {
            if (ns < 19) m = m * 10u + d;
            ns++;
        }
        any = 1;
        i++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && is_digit((unsigned char)s[i])) {
            unsigned d = (unsigned)(s[i] - '0');
            if (ns || d) {
                if (ns < 19) m = m * 10u + d;
                ns++;
            }
            frac++;
            any = 1;
            i++;
        }
    }
    if (!any) return 0;
    *digits_end = i;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        if (i >= n || !is_digit((unsigned char)s[i])) return 0;
        while (i < n && is_digit((unsigned char)s[i])) {
            if (ex < 100000000) ex = ex * 10 + (s[i] - '0');   /* saturates: far out of range */
            i++;
        }
        if (eneg) ex = -ex;
    }
    if (i != n) return 0;
    *mant = m;
    *nsig = ns;
    *e10 = ex - frac;
    return 1;
}

int lrci_number_syntax(const char *s, ptrdiff_t n)
{
    int neg;
    uint64_t m;
    int64_t ns, e;
    ptrdiff_t de;
    return split_decimal(s, n, &neg, &m, &ns, &e, &de);
}

int lrci_parse_double(const char *s, ptrdiff_t n, double *out)
{
    int neg;
    uint64_t m;
    int64_t ns, e, lead, x;
    ptrdiff_t de, i;
    char tmp[LRCI_PARSE_MAX_DIGITS + 32];
    int k = 0, sticky = 0;
    double v;

    if (s == NULL || n <= 0 || !split_decimal(s, n, &neg, &m, &ns, &e, &de))
        return LRCI_PARSE_ENUMBER;
    if (ns == 0) {
        *out = neg ? -0.0 : 0.0;
        return LRCI_PARSE_OK;
    }
#if LRCI_PARSE_FAST
    /* Clinger's fast path: m and 10^|e| exact doubles, one correctly rounded operation */
    if (ns <= 19 && m <= ((uint64_t)1 << 53)) {
        if (e >= 0 && e <= 22) {
            v = (double)m * lrc_p10[e];
            *out = neg ? -v : v;
            return LRCI_PARSE_OK;
        }
        if (e < 0 && e >= -22) {
            v = (double)m / lrc_p10[-e];
            *out = neg ? -v : v;
            return LRCI_PARSE_OK;
        }
        if (e > 22 && e <= 22 + 15) {
            /* 123e30 = 123000000e22 when the shifted integer stays exact */
            uint64_t mm = m;
            int64_t t = e - 22;
            while (t > 0 && mm <= ((uint64_t)1 << 53) / 10u) {
                mm *= 10u;
                t--;
            }
            if (t == 0) {
                v = (double)mm * lrc_p10[22];
                *out = neg ? -v : v;
                return LRCI_PARSE_OK;
            }
        }
    }
#endif
    /* value in [10^lead, 10^(lead+1)) */
    lead = e + ns - 1;
    if (lead > 309) {
        *out = neg ? -HUGE_VAL : HUGE_VAL;
        return LRCI_PARSE_ERANGE;
    }
    if (lead < -330) {          /* below half the smallest subnormal (4.9e-324) */
        *out = neg ? -0.0 : 0.0;
        return LRCI_PARSE_OK;
    }
    /* slow path: "DIGITSe<x>" for strtod -- no sign, no decimal point, so no locale.  At
     * most LRCI_PARSE_MAX_DIGITS significant digits; a non-zero tail becomes one sticky '1'
     * (no midpoint between doubles has more than 767 significant digits, so the rounding
     * is that of the full number). */
    for (i = 0; i < de; i++) {
        char c = s[i];
        if (!is_digit((unsigned char)c)) continue;      /* sign, decimal point */
        if (k == 0 && c == '0') continue;              /* leading zeros */
        if (k < LRCI_PARSE_MAX_DIGITS) tmp[k++] = c;
        else if (c != '0') sticky = 1;
    }
    x = e + (ns - k);
    if (sticky) {
        tmp[k++] = '1';
        x -= 1;
    }
    tmp[k++] = 'e';
    if (x < 0) {
        tmp[k++] = '-';
        x = -x;
    }
    {
        char rev[24];
        int r = 0;
        do {
            rev[r++] = (char)('0' + (int)(x % 10));
            x /= 10;
        } while (x > 0 && r < 23);
        while (r > 0) tmp[k++] = rev[--r];
    }
    tmp[k] = '\0';
    v = strtod(tmp, NULL);
    if (isinf(v)) {
        *out = neg ? -HUGE_VAL : HUGE_VAL;
        return LRCI_PARSE_ERANGE;
    }
    *out = neg ? -v : v;
    return LRCI_PARSE_OK;
}

/* ------------------------------------------------------------------------------------ */
/* lines                                                                                */
/* ------------------------------------------------------------------------------------ */

int64_t lrci_count_lines(const char *buf, ptrdiff_t len)
{
    int64_t n = 0;
    ptrdiff_t i;
    if (buf == NULL || len <= 0) return 0;
    if (memchr(buf, '\r', (size_t)len) == NULL) {
        const char *p = buf, *end = buf + len;
        while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            n++;
            p++;
        }
        return n;
    }
    for (i = 0; i + 1 < len; i++) {
        char c = buf[i];
        n += (c == '\n') + (c == '\r' && buf[i + 1] != '\n');
    }
    n += (buf[len - 1] == '\n' || buf[len - 1] == '\r');
    return n;
}

/* position after the line terminator at p (b[p] is '\r' or '\n') */
static inline ptrdiff_t skip_eol(const char *b, ptrdiff_t len, ptrdiff_t p)
{
    if (p >= len) return len;
    if (b[p] == '\r' && p + 1 < len && b[p + 1] == '\n') return p + 2;
    return p + 1;
}

/* blanks: space, tab, vertical tab, form feed */
static inline int is_blank(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

static inline void set_error(lrci_parse_error *err, int64_t line, int64_t field,
                             ptrdiff_t start, ptrdiff_t end, int64_t a, int64_t b)
{
    err->line = line;
    err->field = field;
    err->start = start;
    err->end = end;
    err->a = a;
    err->b = b;
}

/* ------------------------------------------------------------------------------------ */
/* CSV                                                                                  */
/* ------------------------------------------------------------------------------------ */

static inline int csv_blank(char c, char delim)
{
    return c == ' ' || c == '\v' || c == '\f' || (c == '\t' && delim != '\t');
}

static inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

/* "", NA, nan, N/A, null, none, ? (any case) */
static int is_missing(const char *s, ptrdiff_t n)
{
    static const char *const words[] = {"na", "nan", "n/a", "null", "none", "?"};
    size_t w;
    if (n == 0) return 1;
    for (w = 0; w < sizeof words / sizeof words[0]; w++) {
        ptrdiff_t i, m = (ptrdiff_t)strlen(words[w]);
        if (m != n) continue;
        for (i = 0; i < n && lower(s[i]) == words[w][i]; i++)
            ;
        if (i == n) return 1;
    }
    return 0;
}

static ptrdiff_t line_end(const char *b, ptrdiff_t len, ptrdiff_t p)
{
    while (p < len && b[p] != '\n' && b[p] != '\r') p++;
    return p;
}

/* One field from *pp: the token (blanks trimmed, quotes removed) in [*tb, *te); *esc set
 * if it holds a doubled quote.  *pp is left at the delimiter, line end or buffer end;
 * *line is advanced by the line breaks inside quotes. */
static int csv_field(const char *b, ptrdiff_t len, ptrdiff_t *pp, char delim, ptrdiff_t *tb,
                     ptrdiff_t *te, int *esc, int64_t *line)
{
    ptrdiff_t p = *pp;
    *esc = 0;
    while (p < len && csv_blank(b[p], delim)) p++;
    if (p < len && b[p] == '"') {
        ptrdiff_t s = p + 1, q = s, e;
        for (;;) {
            const char *h = q < len ? memchr(b + q, '"', (size_t)(len - q)) : NULL;
            if (h == NULL) {
                *tb = p;
                *te = line_end(b, len, p);
                return LRCI_PARSE_EQUOTE;
            }
            q = (ptrdiff_t)(h - b);
            if (q + 1 < len && b[q + 1] == '"') {
                *esc = 1;
                q += 2;
                continue;
            }
            break;
        }
        *line += lrci_count_lines(b + s, q - s);
        e = q;
        p = q + 1;
        while (s < e && (is_blank(b[s]) || b[s] == '\n' || b[s] == '\r')) s++;
        while (e > s && (is_blank(b[e - 1]) || b[e - 1] == '\n' || b[e - 1] == '\r')) e--;
        *tb = s;
        *te = e;
        while (p < len && csv_blank(b[p], delim)) p++;
        if (p < len && b[p] != delim && b[p] != '\n' && b[p] != '\r') {
            *tb = p;
            *te = p;
            while (*te < len && b[*te] != delim && b[*te] != '\n' && b[*te] != '\r') (*te)++;
            return LRCI_PARSE_EAFTERQUOTE;
        }
    } else {
        ptrdiff_t s = p, e;
        while (p < len) {
            char c = b[p];
            if (c == delim || c == '\n' || c == '\r') break;
            p++;
        }
        e = p;
        while (e > s && csv_blank(b[e - 1], delim)) e--;
        *tb = s;
        *te = e;
    }
    *pp = p;
    return LRCI_PARSE_OK;
}

int lrci_csv_parse(const lrci_csv_spec *sp, lrci_parse_state *st, int64_t max_rows,
                  lrci_parse_error *err)
{
    const char *b;
    ptrdiff_t len, p, j;
    int64_t line, row, stop;
    char delim;
    int need_y = 0;

    if (sp == NULL || st == NULL || err == NULL || sp->len < 0 || sp->ncols < 1 ||
        sp->colmap == NULL || sp->xcols < 0 || sp->capacity < 0 || st->pos < 0 ||
        (sp->buf == NULL && sp->len > 0))
        return LRCI_PARSE_EINVAL;
    for (j = 0; j < sp->ncols; j++) {
        int64_t c = sp->colmap[j];
        if (c < -2 || c >= sp->xcols) return LRCI_PARSE_EINVAL;
        need_y |= c == -1;
    }
    if ((need_y && sp->y == NULL) || (sp->xcols > 0 && sp->X == NULL)) return LRCI_PARSE_EINVAL;

    b = sp->buf;
    len = sp->len;
    delim = sp->delim;
    p = st->pos;
    line = st->line;
    row = st->row;
    stop = max_rows > 0 && row <= INT64_MAX - max_rows ? row + max_rows : INT64_MAX;
    while (p < len) {
        ptrdiff_t q = p;
        int64_t rec_line;
        double *xrow;
        /* (with a tab delimiter a tab is a field separator, not a blank: a line of tabs
         * is a record of empty fields, refused as missing values as numpy.loadtxt does) */
        while (q < len && csv_blank(b[q], delim)) q++;
        if (q >= len) {
            p = len;
            break;
        }
        if (b[q] == '\n' || b[q] == '\r') {         /* a blank line */
            p = skip_eol(b, len, q);
            line++;
            continue;
        }
        if (row >= stop) break;
        if (row >= sp->capacity) {
            set_error(err, line, 0, q, q, row, sp->capacity);
            return LRCI_PARSE_ESIZE;
        }
        rec_line = line;
        xrow = sp->X + (ptrdiff_t)row * sp->xcols;
        j = 0;
        for (;;) {
            ptrdiff_t tb, te;
            int esc, s = csv_field(b, len, &p, delim, &tb, &te, &esc, &line);
            if (s != LRCI_PARSE_OK) {
                set_error(err, rec_line, j, tb, te, 0, 0);
                return s;
            }
            if (j < sp->ncols) {
                double v = 0.0;
                int64_t dst = sp->colmap[j];
                s = esc ? LRCI_PARSE_ENUMBER : lrci_parse_double(b + tb, te - tb, &v);
                if (s != LRCI_PARSE_OK) {
                    if (s == LRCI_PARSE_ENUMBER && !esc && is_missing(b + tb, te - tb))
                        s = LRCI_PARSE_EMISSING;
                    set_error(err, rec_line, j, tb, te, 0, 0);
                    return s;
                }
                if (dst >= 0) xrow[dst] = v;
                else if (dst == -1) sp->y[row] = v;
            }
            j++;
            if (p < len && b[p] == delim) {
                p++;
                continue;
            }
            break;
        }
        if (j != sp->ncols) {
            set_error(err, rec_line, j - 1, p, p, j, sp->ncols);
            return LRCI_PARSE_EFIELDS;
        }
        if (p < len) {
            p = skip_eol(b, len, p);
            line++;
        }
        row++;
    }
    st->done = p >= len;
    st->pos = p;
    st->line = line;
    st->row = row;
    return LRCI_PARSE_OK;
}

/* ------------------------------------------------------------------------------------ */
/* svmlight / libsvm                                                                    */
/* ------------------------------------------------------------------------------------ */

/* byte classes */
#define SVM_BLANK 1
#define SVM_EOL 2      /* '\n', '\r' */
#define SVM_HASH 4
#define SVM_END (SVM_BLANK | SVM_EOL | SVM_HASH)   /* ends a token */

static const unsigned char svm_class[256] = {
    ['\t'] = SVM_BLANK, ['\v'] = SVM_BLANK, ['\f'] = SVM_BLANK, [' '] = SVM_BLANK,
    ['\n'] = SVM_EOL, ['\r'] = SVM_EOL, ['#'] = SVM_HASH,
};

#define CLS(c) svm_class[(unsigned char)(c)]

/* a non-negative decimal integer s[0:n) <= LRCI_SVM_MAX_INDEX, else -1 */
static inline int64_t parse_index(const char *s, ptrdiff_t n)
{
    int64_t v = 0;
    ptrdiff_t i;
    if (n <= 0) return -1;
    for (i = 0; i < n; i++) {
        unsigned d = (unsigned)((unsigned char)s[i] - '0');
        if (d > 9u) return -1;
        v = v * 10 + (int64_t)d;
        if (v > LRCI_SVM_MAX_INDEX) return -1;
    }
    return v;
}

/* an optionally signed decimal integer (qid) */
static int int_syntax(const char *s, ptrdiff_t n)
{
    ptrdiff_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= n) return 0;
    for (; i < n; i++)
        if (!is_digit((unsigned char)s[i])) return 0;
    return 1;
}

/* One pass over the lines: validate and count (fill == 0) or convert and store
 * (fill == 1).  Called with a constant `fill`, so each caller gets its own loop. */
static inline int svm_pass(const lrci_svm_spec *sp, lrci_parse_state *st, int64_t max_rows,
                           lrci_svm_info *info, lrci_parse_error *err, const int fill)
{
    const char *b = sp->buf;
    const ptrdiff_t len = sp->len;
    ptrdiff_t p = st->pos;
    int64_t line = st->line, row = st->row, k = st->nnz;
    int64_t stop = max_rows > 0 && row <= INT64_MAX - max_rows ? row + max_rows : INT64_MAX;
    int64_t maxi = 0, mini = 0, nq = 0;
    const int one_based = sp->zero_based == LRCI_SVM_ONE_BASED;

    if (!fill) {
        maxi = info->max_index;
        mini = info->min_index;
        nq = info->n_qid;
    } else if (row == 0) {
        if (sp->n_rows < 0) return LRCI_PARSE_ESIZE;
        if (sp->indptr32) sp->indptr32[0] = 0;
        else sp->indptr64[0] = 0;
    }
    while (p < len) {
        ptrdiff_t q = p, tb, te;
        int64_t prev = -1, tok = 0;
        int s;
        while (q < len && (CLS(b[q]) & SVM_BLANK)) q++;
        if (q < len && b[q] == '#')
            while (q < len && !(CLS(b[q]) & SVM_EOL)) q++;
        if (q >= len) {
            p = len;
            break;
        }
        if (CLS(b[q]) & SVM_EOL) {               /* blank or comment-only line */
            p = skip_eol(b, len, q);
            line++;
            continue;
        }
        if (row >= stop) break;

        /* the label */
        tb = q;
        while (q < len && !(CLS(b[q]) & SVM_END)) q++;
        te = q;
        if (fill) {
            double lab = 0.0;
            s = lrci_parse_double(b + tb, te - tb, &lab);
            if (s == LRCI_PARSE_OK) {
                if (row >= sp->n_rows) {
                    set_error(err, line, 0, tb, te, row, sp->n_rows);
                    return LRCI_PARSE_ESIZE;
                }
                sp->y[row] = lab;
            }
        } else {
            s = lrci_number_syntax(b + tb, te - tb) ? LRCI_PARSE_OK : LRCI_PARSE_ENUMBER;
        }
        if (s != LRCI_PARSE_OK) {
            set_error(err, line, 0, tb, te, memchr(b + tb, ':', (size_t)(te - tb)) != NULL, 0);
            return s == LRCI_PARSE_ENUMBER ? LRCI_PARSE_ELABEL : s;
        }

        /* qid:<int> and index:value pairs */
        for (;;) {
            ptrdiff_t colon = -1;
            int64_t idx;
            while (q < len && (CLS(b[q]) & SVM_BLANK)) q++;
            if (q >= len || (CLS(b[q]) & (SVM_EOL | SVM_HASH))) break;
            tok++;
            tb = q;
            while (q < len && !(CLS(b[q]) & SVM_END)) {
                if (b[q] == ':' && colon < 0) colon = q;
                q++;
            }
            te = q;
            if (colon < 0) {
                set_error(err, line, tok, tb, te, 0, 0);
                return LRCI_PARSE_EPAIR;
            }
            if (colon - tb == 3 && b[tb] == 'q' && b[tb + 1] == 'i' && b[tb + 2] == 'd') {
                if (tok != 1 || !int_syntax(b + colon + 1, te - colon - 1)) {
                    set_error(err, line, tok, tb, te, tok != 1, 0);
                    return LRCI_PARSE_EQID;
                }
                nq++;
                continue;
            }
            idx = parse_index(b + tb, colon - tb);
            if (idx < 0) {
                set_error(err, line, tok, tb, te, 0, 0);
                return LRCI_PARSE_EINDEX;
            }
            if (idx <= prev) {
                set_error(err, line, tok, tb, te, prev, idx);
                return LRCI_PARSE_EORDER;
            }
            if (one_based && idx == 0) {
                set_error(err, line, tok, tb, te, 0, 0);
                return LRCI_PARSE_EZERO;
            }
            if (fill) {
                double v = 0.0;
                int64_t col = idx - sp->offset;
                s = lrci_parse_double(b + colon + 1, te - colon - 1, &v);
                if (s != LRCI_PARSE_OK) {
                    set_error(err, line, tok, tb, te, 0, 0);
                    return s == LRCI_PARSE_ENUMBER ? LRCI_PARSE_EVALUE : s;
                }
                if (col < 0 || col >= sp->n_features) {
                    set_error(err, line, tok, tb, te, idx, sp->n_features);
                    return LRCI_PARSE_EINDEX;
                }
                if (k >= sp->nnz) {
                    set_error(err, line, tok, tb, te, k, sp->nnz);
                    return LRCI_PARSE_ESIZE;
                }
                if (sp->indices32) sp->indices32[k] = (int32_t)col;
                else sp->indices64[k] = col;
                sp->data[k] = v;
            } else {
                if (!lrci_number_syntax(b + colon + 1, te - colon - 1)) {
                    set_error(err, line, tok, tb, te, 0, 0);
                    return LRCI_PARSE_EVALUE;
                }
                if (idx > maxi) maxi = idx;
                if (idx < mini) mini = idx;
            }
            k++;
            prev = idx;
        }
        if (q < len && b[q] == '#')
            while (q < len && !(CLS(b[q]) & SVM_EOL)) q++;
        if (q < len) {
            p = skip_eol(b, len, q);
            line++;
        } else {
            p = len;
        }
        row++;
        if (fill) {
            if (sp->indptr32) sp->indptr32[row] = (int32_t)k;
            else sp->indptr64[row] = k;
        }
    }
    st->done = p >= len;
    st->pos = p;
    st->line = line;
    st->row = row;
    st->nnz = k;
    if (!fill) {
        info->n_rows = row;
        info->nnz = k;
        info->max_index = maxi;
        info->min_index = mini;
        info->n_qid = nq;
    }
    return LRCI_PARSE_OK;
}

static int svm_args_ok(const lrci_svm_spec *sp, const lrci_parse_state *st,
                       const lrci_parse_error *err)
{
    return sp != NULL && st != NULL && err != NULL && sp->len >= 0 && st->pos >= 0 &&
           (sp->buf != NULL || sp->len == 0);
}

int lrci_svm_scan(const lrci_svm_spec *sp, lrci_parse_state *st, int64_t max_rows,
                 lrci_svm_info *info, lrci_parse_error *err)
{
    if (!svm_args_ok(sp, st, err) || info == NULL ||
        (sp->zero_based != LRCI_SVM_ONE_BASED && sp->zero_based != LRCI_SVM_ZERO_BASED &&
         sp->zero_based != LRCI_SVM_AUTO))
        return LRCI_PARSE_EINVAL;
    return svm_pass(sp, st, max_rows, info, err, 0);
}

int lrci_svm_fill(const lrci_svm_spec *sp, lrci_parse_state *st, int64_t max_rows,
                 lrci_parse_error *err)
{
    if (!svm_args_ok(sp, st, err) || sp->y == NULL || sp->data == NULL || sp->n_rows < 0 ||
        sp->nnz < 0 || sp->offset < 0 || sp->n_features < 0 ||
        (sp->indptr32 == NULL) == (sp->indptr64 == NULL) ||
        (sp->indices32 == NULL) == (sp->indices64 == NULL) ||
        (sp->zero_based != LRCI_SVM_ONE_BASED && sp->zero_based != LRCI_SVM_ZERO_BASED &&
         sp->zero_based != LRCI_SVM_AUTO))
        return LRCI_PARSE_EINVAL;
    if (sp->indptr32 && (sp->nnz > INT32_MAX || sp->n_rows > INT32_MAX))
        return LRCI_PARSE_EINVAL;
    if (sp->indices32 && sp->n_features - 1 > INT32_MAX) return LRCI_PARSE_EINVAL;
    return svm_pass(sp, st, max_rows, NULL, err, 1);
}

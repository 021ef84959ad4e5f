/*
 * parse.h -- PRIVATE header of csrc/parse.c: the text parsers behind
 * lrcore.datasets.load_file (numbers, CSV records, svmlight/libsvm lines).
 *
 * Not part of the public C API (lrcore.h); only lrcore/_parse.pxi includes it.
 *
 * Plain C11, no Python headers, no global state (reentrant), nothing allocated: the
 * caller owns every output array.  Every parser works on a byte buffer with an explicit
 * length (no NUL terminator needed), returns a status code (LRCI_PARSE_OK == 0) and, on
 * an error, fills an lrci_parse_error with the line and the byte range of the offending
 * token so that the caller can write a one-line message.
 *
 * Long inputs are processed in bounded pieces: each call handles at most `max_rows`
 * records and records where it stopped in an lrci_parse_state, so the caller can check
 * for signals between calls and call again (st->done is set at the end of the buffer).
 *
 * Numbers: a decimal literal  [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?
 * -- no hexadecimal, no "inf"/"nan", no digit separators, independent of the C locale --
 * converted with correct rounding (round-half-even): exact fast path for up to 19
 * significant digits and |exponent| <= 22 (Clinger), otherwise strtod on a rewritten
 * locale-free token "DIGITSe<exp>" of at most LRCI_PARSE_MAX_DIGITS significant digits
 * plus a sticky digit (which preserves the correctly rounded result).
 */
#ifndef LRCI_PARSE_H
#define LRCI_PARSE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* status codes (private to the parsers; unrelated to lrcore.h's LRC_* codes) */
#define LRCI_PARSE_OK 0
#define LRCI_PARSE_EMISSING 1  /* CSV: a missing value ("", NA, nan, N/A, null, none, ?)  */
#define LRCI_PARSE_ENUMBER 2   /* a token that is not a decimal number                   */
#define LRCI_PARSE_ERANGE 3    /* a number beyond the float64 range (|x| > DBL_MAX)      */
#define LRCI_PARSE_EFIELDS 4   /* CSV: a record with the wrong number of fields (a=count)  */
#define LRCI_PARSE_EQUOTE 5    /* CSV: unterminated quoted field                         */
#define LRCI_PARSE_EAFTERQUOTE 6 /* CSV: text after the closing quote of a field          */
#define LRCI_PARSE_ELABEL 7    /* svmlight: the line does not start with a label          */
#define LRCI_PARSE_EPAIR 8     /* svmlight: a token that is not index:value              */
#define LRCI_PARSE_EINDEX 9    /* svmlight: index not a non-negative integer (or too big) */
#define LRCI_PARSE_EORDER 10   /* svmlight: indices not strictly increasing (a=prev, b=idx) */
#define LRCI_PARSE_EQID 11     /* svmlight: malformed qid, or qid not right after label   */
#define LRCI_PARSE_EZERO 12    /* svmlight: index 0 in a file read as 1-based            */
#define LRCI_PARSE_EVALUE 13   /* svmlight: the value of a pair is not a number          */
#define LRCI_PARSE_ESIZE 14    /* output arrays too small (caller error)                 */
#define LRCI_PARSE_EINVAL 15   /* invalid argument (caller error)                        */

/* significant digits handed to strtod (more are folded into one sticky digit) */
#define LRCI_PARSE_MAX_DIGITS 800

/* where an error is: `line` 1-based; `field` 0-based field (CSV) or token (svmlight)
 * index; [start, end) byte offsets of the token in the buffer; a, b extra numbers */
typedef struct {
    int64_t line;
    int64_t field;
    ptrdiff_t start;
    ptrdiff_t end;
    int64_t a;
    int64_t b;
} lrci_parse_error;

/* resumable position: set pos/line (and zero the counters) before the first call */
typedef struct {
    ptrdiff_t pos;    /* next byte to read                                           */
    int64_t line;     /* 1-based line number of the byte at pos                      */
    int64_t row;      /* records (rows) completed                                    */
    int64_t nnz;      /* svmlight: entries stored or counted so far                  */
    int done;         /* set when the end of the buffer is reached                   */
} lrci_parse_state;

/* Parse the decimal number s[0:n) (no surrounding blanks) into *out.
 * LRCI_PARSE_OK, LRCI_PARSE_ENUMBER (not a number; *out untouched) or LRCI_PARSE_ERANGE
 * (|value| > DBL_MAX; *out = +-inf).  Values below the subnormal range become +-0. */
int lrci_parse_double(const char *s, ptrdiff_t n, double *out);

/* 1 if s[0:n) is a decimal number in the grammar above, else 0 (no conversion). */
int lrci_number_syntax(const char *s, ptrdiff_t n);

/* Number of line terminators ("\n", "\r\n" or a lone "\r") in buf[0:len). */
int64_t lrci_count_lines(const char *buf, ptrdiff_t len);

/* ---- CSV -------------------------------------------------------------------------- */
/*
 * Records end at "\n", "\r\n" or "\r" outside quotes.  Fields are separated by `delim`;
 * blanks (space, tab unless tab is the delimiter, \v, \f) around a field are ignored; a
 * field may be quoted with '"' (a doubled "" inside is a literal quote; quoted fields may
 * span lines).  Lines holding nothing but blanks are skipped.  Every field must be a
 * number (see above); an empty field or NA/nan/N/A/null/none/? (any case) is reported as
 * LRCI_PARSE_EMISSING.  Field j goes to X[row * xcols + colmap[j]] when colmap[j] >= 0,
 * to y[row] when colmap[j] == -1, nowhere when colmap[j] == -2 (still validated).
 * err->line is the line on which the record starts.
 */
typedef struct {
    const char *buf;
    ptrdiff_t len;
    char delim;
    ptrdiff_t ncols;          /* fields per record                                       */
    const int64_t *colmap;    /* ncols destinations (see above)                          */
    double *X;                /* capacity x xcols, row-major                             */
    ptrdiff_t xcols;
    double *y;                /* capacity (may be NULL if no colmap entry is -1)          */
    int64_t capacity;         /* rows X and y can hold                                   */
} lrci_csv_spec;

int lrci_csv_parse(const lrci_csv_spec *spec, lrci_parse_state *st, int64_t max_rows,
                  lrci_parse_error *err);

/* ---- svmlight / libsvm ------------------------------------------------------------ */
/*
 * One sample per line:  <label> [qid:<int>] <index>:<value> ... [# comment]
 * Tokens are separated by blanks (space, tab, \v, \f); a line ends at "\n", "\r\n" or
 * "\r"; '#' starts a comment that runs to the end of the line; lines that are blank or
 * only a comment are skipped.  Indices are non-negative integers, strictly increasing
 * within a line.  Labels and values are numbers (see above).
 *
 * Two passes over the same buffer: lrci_svm_scan validates every line and counts rows,
 * entries and the index range (info: set max_index = -1 and min_index = INT64_MAX before
 * the first call); lrci_svm_fill then converts into arrays of exactly that size.
 */
#define LRCI_SVM_ONE_BASED 0   /* index 0 is an error (LRCI_PARSE_EZERO)                  */
#define LRCI_SVM_ZERO_BASED 1
#define LRCI_SVM_AUTO 2        /* whatever appears; min_index tells                      */

/* largest index accepted (keeps index arithmetic far from int64 overflow) */
#define LRCI_SVM_MAX_INDEX ((int64_t)1 << 53)

typedef struct {
    int64_t n_rows;
    int64_t nnz;
    int64_t max_index;
    int64_t min_index;
    int64_t n_qid;            /* lines with a qid                                       */
} lrci_svm_info;

typedef struct {
    const char *buf;
    ptrdiff_t len;
    int zero_based;           /* scan: LRCI_SVM_ONE_BASED, _ZERO_BASED or _AUTO          */
    int64_t offset;           /* fill: subtracted from every index (1 for 1-based files) */
    int64_t n_features;       /* fill: every index - offset must be below this           */
    double *y;                /* fill: n_rows labels                                    */
    int32_t *indptr32;        /* fill: n_rows + 1 row pointers, exactly one of 32/64     */
    int64_t *indptr64;
    int32_t *indices32;       /* fill: nnz column indices, exactly one of 32/64          */
    int64_t *indices64;
    double *data;             /* fill: nnz values                                       */
    int64_t n_rows;           /* fill: capacities                                       */
    int64_t nnz;
} lrci_svm_spec;

int lrci_svm_scan(const lrci_svm_spec *spec, lrci_parse_state *st, int64_t max_rows,
                 lrci_svm_info *info, lrci_parse_error *err);
int lrci_svm_fill(const lrci_svm_spec *spec, lrci_parse_state *st, int64_t max_rows,
                 lrci_parse_error *err);

#ifdef __cplusplus
}
#endif

#endif /* LRCI_PARSE_H */

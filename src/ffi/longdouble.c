/*
 * INCRBYFLOAT's arithmetic, done in C's `long double` because that is what Redis 7.0 does: the value and
 * the increment are parsed with strtold, added in extended precision (80-bit x87 on x86-64, binary128 on
 * aarch64) and printed with "%.17Lf". The digits a client sees depend on that precision (0.1 + 0.2 prints
 * as "0.3", not f64's 0.30000000000000004), so the same libc calls are used instead of an approximation.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Redis's MAX_LONG_DOUBLE_CHARS: inputs this long or longer are rejected, outputs fit in it. */
#define FERROKV_LD_CHARS (5 * 1024)

/* Redis's string2ld: the whole string must be the number (no leading space, no trailing bytes, no NUL
 * inside), overflow and underflow to zero are rejected, and so is NaN. */
static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[FERROKV_LD_CHARS];
    char *end;
    long double v;

    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || end[0] != '\0' || (size_t)(end - buf) != len ||
        (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || v == 0)) || errno == EINVAL ||
        isnan(v))
        return 0;
    *out = v;
    return 1;
}

/* Adds `incr` to `cur` (0 when `has_cur` is 0) and writes the result as Redis's ld2string in its
 * human-friendly mode does. Returns the length written to `out` (which must hold FERROKV_LD_CHARS
 * bytes), -1 when either operand is not a valid float, -2 when the sum is NaN or infinite, -3 when the
 * output does not fit. */
long ferrokv_incrbyfloat(const char *cur, size_t cur_len, int has_cur, const char *incr,
                         size_t incr_len, char *out, size_t out_cap) {
    long double value = 0, by = 0;
    int l;

    if (has_cur && !parse_ld(cur, cur_len, &value)) return -1;
    if (!parse_ld(incr, incr_len, &by)) return -1;
    value += by;
    if (isnan(value) || isinf(value)) return -2;
    l = snprintf(out, out_cap, "%.17Lf", value);
    if (l < 0 || (size_t)l + 1 > out_cap) return -3;
    if (memchr(out, '.', (size_t)l) != NULL) {
        while (out[l - 1] == '0') l--;
        if (out[l - 1] == '.') l--;
    }
    if (l == 2 && out[0] == '-' && out[1] == '0') {
        out[0] = '0';
        l = 1;
    }
    return l;
}

/* The buffer size callers must provide. */
size_t ferrokv_ld_chars(void) { return FERROKV_LD_CHARS; }

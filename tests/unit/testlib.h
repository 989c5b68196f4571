/* A minimal unit-test harness: GV_CHECK records a failure and continues, GV_TEST_MAIN runs the
 * listed tests and prints "N passed, N failed". Kept tiny on purpose; no dependencies. */
#ifndef GV_TESTLIB_H
#define GV_TESTLIB_H

#include <stdio.h>
#include <string.h>

extern int gv_test_failures;

#define GV_CHECK(cond)                                                         \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            gv_test_failures++;                                                \
        }                                                                      \
    } while (0)

#define GV_CHECK_INT(a, b)                                                     \
    do {                                                                       \
        long long va_ = (long long)(a), vb_ = (long long)(b);                  \
        if (va_ != vb_) {                                                      \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a, \
                    va_, #b, vb_);                                             \
            gv_test_failures++;                                                \
        }                                                                      \
    } while (0)

#define GV_CHECK_STR(a, b)                                                     \
    do {                                                                       \
        const char *sa_ = (a), *sb_ = (b);                                     \
        if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                           \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, \
                    sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");              \
            gv_test_failures++;                                                \
        }                                                                      \
    } while (0)

typedef struct {
    const char *name;
    void (*fn)(void);
} gv_test_case_t;

int gv_test_run(const gv_test_case_t *cases, size_t n);

#define GV_TEST(fn) {#fn, fn}
#define GV_TEST_MAIN(...)                                                      \
    int main(void)                                                             \
    {                                                                          \
        static const gv_test_case_t cases_[] = {__VA_ARGS__};                  \
        return gv_test_run(cases_, sizeof(cases_) / sizeof(cases_[0]));        \
    }

#endif

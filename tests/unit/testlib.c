/* Runner for the minimal unit-test harness (see testlib.h). */
#include "testlib.h"

int gv_test_failures;

int gv_test_run(const gv_test_case_t *cases, size_t n)
{
    int passed = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        int before = gv_test_failures;
        cases[i].fn();
        if (gv_test_failures == before) {
            passed++;
        } else {
            failed++;
            fprintf(stderr, "FAIL %s\n", cases[i].name);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

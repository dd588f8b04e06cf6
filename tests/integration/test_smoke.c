/* test_smoke.c — the whole path once: a busybox container runs, prints,
   exits with its code, and leaves nothing behind. */
#include <sys/wait.h>
#include <stdlib.h>

#include "it-helpers.h"

static void
test_echo_and_exit_code (void **state)
{
  static const char *const argv[] = { "/bin/sh", "-c", "echo hello from $(hostname); exit 3", NULL };
  it_t t;
  char *out = NULL;
  int status;
  (void) state;

  it_require_root ();
  it_init (&t, argv);
  status = it_run (&t, &out);
  assert_string_equal (out, "hello from it\n");
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 3);
  free (out);
  it_free (&t);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_echo_and_exit_code),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

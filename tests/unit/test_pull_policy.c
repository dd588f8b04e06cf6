/* test_pull_policy.c — what `up` does about an image for each pull_policy
   (present, absent, too old), the ages daily/weekly/every_<dur> mean, the
   sizes Docker prints, and the exact lines a pull prints. */
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"
#include "cli-internal.h"

#define NOW 1700000000LL
#define DAY 86400LL

static void
test_need_every_policy (void **state)
{
  static const struct
  {
    const char *policy;
    enum image_need absent, fresh, old;
  } cases[] = {
    /* NULL: no pull_policy, Compose's default (missing) */
    { NULL, IMAGE_PULL, IMAGE_USE, IMAGE_USE },
    { "missing", IMAGE_PULL, IMAGE_USE, IMAGE_USE },
    { "if_not_present", IMAGE_PULL, IMAGE_USE, IMAGE_USE },
    { "always", IMAGE_PULL, IMAGE_PULL, IMAGE_PULL },
    { "refresh", IMAGE_PULL, IMAGE_PULL, IMAGE_PULL },
    { "never", IMAGE_ABSENT, IMAGE_USE, IMAGE_USE },
    { "build", IMAGE_BUILD, IMAGE_BUILD, IMAGE_BUILD },
    { "daily", IMAGE_PULL, IMAGE_USE, IMAGE_PULL },
    { "weekly", IMAGE_PULL, IMAGE_USE, IMAGE_PULL },
    { "every_12h", IMAGE_PULL, IMAGE_USE, IMAGE_PULL },
    { "every_1w2d", IMAGE_PULL, IMAGE_USE, IMAGE_PULL },
  };
  size_t i;
  (void)state;

  for (i = 0; i < ARRAY_SIZE (cases); i++)
    {
      const char *name = cases[i].policy ? cases[i].policy : "(none)";
      /* fresh: stored a minute ago; old: stored 30 days ago */
      if (pull_policy_need (cases[i].policy, -1, NOW) != cases[i].absent)
        fail_msg ("%s, absent: %d", name, pull_policy_need (cases[i].policy, -1, NOW));
      if (pull_policy_need (cases[i].policy, NOW - 60, NOW) != cases[i].fresh)
        fail_msg ("%s, fresh: %d", name, pull_policy_need (cases[i].policy, NOW - 60, NOW));
      if (pull_policy_need (cases[i].policy, NOW - 30 * DAY, NOW) != cases[i].old)
        fail_msg ("%s, old: %d", name, pull_policy_need (cases[i].policy, NOW - 30 * DAY, NOW));
    }
}

static void
test_need_age_boundaries (void **state)
{
  (void)state;
  /* exactly the age is not older than it; a second more is */
  assert_int_equal (pull_policy_need ("daily", NOW - DAY, NOW), IMAGE_USE);
  assert_int_equal (pull_policy_need ("daily", NOW - DAY - 1, NOW), IMAGE_PULL);
  assert_int_equal (pull_policy_need ("weekly", NOW - 7 * DAY, NOW), IMAGE_USE);
  assert_int_equal (pull_policy_need ("weekly", NOW - 7 * DAY - 1, NOW), IMAGE_PULL);
  assert_int_equal (pull_policy_need ("every_12h", NOW - 12 * 3600, NOW), IMAGE_USE);
  assert_int_equal (pull_policy_need ("every_12h", NOW - 12 * 3600 - 1, NOW), IMAGE_PULL);
  assert_int_equal (pull_policy_need ("every_1w2d", NOW - 9 * DAY, NOW), IMAGE_USE);
  assert_int_equal (pull_policy_need ("every_1w2d", NOW - 9 * DAY - 1, NOW), IMAGE_PULL);
  /* stored 0 (a store that did not say when) is as old as can be */
  assert_int_equal (pull_policy_need ("daily", 0, NOW), IMAGE_PULL);
  /* a clock set back: stored "in the future" is fresh */
  assert_int_equal (pull_policy_need ("daily", NOW + 3600, NOW), IMAGE_USE);
}

static void
test_max_age (void **state)
{
  int64_t s = -7;
  (void)state;

  assert_true (pull_policy_max_age ("daily", &s));
  assert_int_equal (s, 86400);
  assert_true (pull_policy_max_age ("weekly", &s));
  assert_int_equal (s, 604800);
  assert_true (pull_policy_max_age ("every_12h", &s));
  assert_int_equal (s, 43200);
  assert_true (pull_policy_max_age ("every_1w2d", &s));
  assert_int_equal (s, 777600);
  assert_true (pull_policy_max_age ("every_1h30m15s", &s));
  assert_int_equal (s, 5415);
  assert_true (pull_policy_max_age ("every_99999999999999999999w", &s));
  assert_int_equal (s, INT64_MAX);

  s = -7;
  assert_false (pull_policy_max_age ("every_", &s));
  assert_false (pull_policy_max_age ("every_12", &s));
  assert_false (pull_policy_max_age ("every_h", &s));
  assert_false (pull_policy_max_age ("every_12x", &s));
  assert_false (pull_policy_max_age ("always", &s));
  assert_false (pull_policy_max_age ("missing", &s));
  assert_int_equal (s, -7);
}

static void
check_size (uint64_t bytes, int precision, const char *expected)
{
  char *s = human_size (bytes, precision);
  assert_string_equal (s, expected);
  free (s);
}

static void
test_human_size (void **state)
{
  (void)state;
  /* Docker's units.HumanSizeWithPrecision: decimal, %.Ng */
  check_size (0, 4, "0B");
  check_size (999, 4, "999B");
  check_size (1000, 4, "1kB");
  check_size (1234567, 4, "1.235MB");
  check_size (1234567, 3, "1.23MB");
  check_size (12345678, 3, "12.3MB");
  check_size (4194304, 3, "4.19MB");
  check_size (1500000000000ULL, 4, "1.5TB");
}

/* ---- the lines of a pull ---- */

typedef struct capture
{
  char *buf;
  size_t len;
  FILE *f;
  pull_view_t *v;
} capture_t;

static void
capture_open (capture_t *c, const char *ref, bool tty)
{
  c->buf = NULL;
  c->len = 0;
  c->f = open_memstream (&c->buf, &c->len);
  assert_non_null (c->f);
  c->v = pull_view_new (c->f, ref, tty);
}

static const char *
capture_text (capture_t *c)
{
  fflush (c->f);
  return c->buf;
}

static void
capture_close (capture_t *c)
{
  pull_view_free (c->v);
  fclose (c->f);
  free (c->buf);
}

#define L0 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define L1 "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define IMG "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static void
ev (capture_t *c, enum rt_pull_phase phase, size_t layer, size_t n, const char *digest,
    uint64_t done, uint64_t total, const char *message)
{
  rt_pull_progress_t p = {
    .phase = phase,
    .ref = "127.0.0.1:5000/x:1",
    .layer = layer,
    .n_layers = n,
    .digest = digest,
    .done = done,
    .total = total,
    .message = message,
  };
  pull_view_event (&p, c->v);
}

static void
test_plain_lines (void **state)
{
  capture_t c;
  (void)state;

  capture_open (&c, "127.0.0.1:5000/x:1", false);
  ev (&c, RT_PULL_RESOLVING, 0, 0, NULL, 0, 0, NULL);
  ev (&c, RT_PULL_RETRYING, 0, 0, NULL, 0, 0, "connection refused");
  ev (&c, RT_PULL_EXISTS, 0, 2, L0, 0, 0, NULL);
  ev (&c, RT_PULL_WAITING, 1, 2, L1, 0, 100, NULL);
  ev (&c, RT_PULL_DOWNLOADING, 1, 2, L1, 10, 100, NULL);
  ev (&c, RT_PULL_RETRYING, 1, 2, L1, 0, 100, "HTTP 503");
  ev (&c, RT_PULL_DOWNLOADING, 1, 2, L1, 50, 100, NULL);
  ev (&c, RT_PULL_DOWNLOADING, 1, 2, L1, 100, 100, NULL);
  ev (&c, RT_PULL_VERIFYING, 1, 2, L1, 100, 100, NULL);
  ev (&c, RT_PULL_EXTRACTING, 1, 2, L1, 30, 100, NULL);
  ev (&c, RT_PULL_EXTRACTING, 1, 2, L1, 100, 100, NULL);
  ev (&c, RT_PULL_COMPLETE, 1, 2, L1, 100, 100, NULL);
  ev (&c, RT_PULL_DONE, 0, 2, IMG, 0, 0, NULL);
  assert_string_equal (capture_text (&c),
                       " Image 127.0.0.1:5000/x:1  Pulling\n"
                       " Image 127.0.0.1:5000/x:1  Retrying: connection refused\n"
                       " 0123456789ab  Already exists\n"
                       " fedcba987654  Pulling fs layer\n"
                       " fedcba987654  Retrying: HTTP 503\n"
                       " fedcba987654  Download complete\n"
                       " fedcba987654  Pull complete\n"
                       " Image 127.0.0.1:5000/x:1  Pulled\n"
                       " Digest: " IMG "\n");
  capture_close (&c);
}

static void
test_plain_lines_skipped_steps (void **state)
{
  capture_t c;
  (void)state;

  /* a runtime that says less still gets every line, once and in order */
  capture_open (&c, "busybox", false);
  ev (&c, RT_PULL_DOWNLOADING, 0, 1, L0, 5, 10, NULL);
  ev (&c, RT_PULL_COMPLETE, 0, 1, L0, 10, 10, NULL);
  ev (&c, RT_PULL_COMPLETE, 0, 1, L0, 10, 10, NULL);
  ev (&c, RT_PULL_DONE, 0, 1, NULL, 0, 0, NULL);
  assert_string_equal (capture_text (&c), " Image busybox  Pulling\n"
                                          " 0123456789ab  Pulling fs layer\n"
                                          " 0123456789ab  Download complete\n"
                                          " 0123456789ab  Pull complete\n"
                                          " Image busybox  Pulled\n");
  capture_close (&c);
}

static void
test_tty_redraws_in_place (void **state)
{
  capture_t c;
  (void)state;

  capture_open (&c, "busybox", true);
  ev (&c, RT_PULL_RESOLVING, 0, 0, NULL, 0, 0, NULL);
  ev (&c, RT_PULL_WAITING, 0, 1, L0, 0, 40100000, NULL);
  ev (&c, RT_PULL_DOWNLOADING, 0, 1, L0, 12300000, 40100000, NULL);
  ev (&c, RT_PULL_DONE, 0, 1, IMG, 0, 0, NULL);
  assert_string_equal (capture_text (&c),
                       "\r\033[2K Image busybox  Pulling\n"
                       "\033[1A\r\033[2K Image busybox  Pulling\n"
                       "\r\033[2K 0123456789ab  Pulling fs layer\n"
                       "\033[2A\r\033[2K Image busybox  Pulling\n"
                       "\r\033[2K 0123456789ab  Downloading [=======>                 ]   "
                       "12.3MB/40.1MB\n"
                       "\033[2A\r\033[2K Image busybox  Pulled\n"
                       "\r\033[2K 0123456789ab  Downloading [=======>                 ]   "
                       "12.3MB/40.1MB\n"
                       " Digest: " IMG "\n");
  capture_close (&c);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_need_every_policy),
    cmocka_unit_test (test_need_age_boundaries),
    cmocka_unit_test (test_max_age),
    cmocka_unit_test (test_human_size),
    cmocka_unit_test (test_plain_lines),
    cmocka_unit_test (test_plain_lines_skipped_steps),
    cmocka_unit_test (test_tty_redraws_in_place),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

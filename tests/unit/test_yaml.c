/* test_yaml.c — the YAML layer: positions, anchors, merge keys, and the
   exact words for broken files. */
#include "helpers.h"

static void
test_syntax_error_position (void **state)
{
  th_t t;
  (void) state;
  assert_load_error (&t, "services:\n  web:\n    image: [a\n",
                     "stack: stack.yml:4:1: invalid YAML: did not find expected ',' or ']' "
                     "while parsing a flow sequence (line 3)\n");
  th_free (&t);
}

static void
test_tab_indentation (void **state)
{
  th_t t;
  (void) state;
  assert_load_error (&t, "services:\n\tweb:\n",
                     "stack: stack.yml:2:1: invalid YAML: a tab character; YAML indents with "
                     "spaces only\n");
  th_free (&t);
}

static void
test_duplicate_keys_all_reported (void **state)
{
  th_t t;
  (void) state;
  assert_load_error (&t,
                     "services:\n  web:\n    image: a\n    image: b\n  web:\n    image: c\n",
                     "stack: stack.yml:4:5: duplicate key `image` (first at line 3)\n"
                     "stack: stack.yml:5:3: duplicate key `web` (first at line 2)\n");
  th_free (&t);
}

static void
test_top_level_not_a_map (void **state)
{
  th_t t;
  (void) state;
  assert_load_error (&t, "- a\n- b\n",
                     "stack: stack.yml:1:1: the top level must be a mapping of keys (services:, "
                     "...), not a list\n");
  th_free (&t);
}

static void
test_second_document (void **state)
{
  th_t t;
  (void) state;
  assert_load_error (&t, "services: {}\n---\nservices: {}\n",
                     "stack: stack.yml:2:1: invalid YAML: a second document (`---`); a stack "
                     "file holds one\n");
  th_free (&t);
}

static void
test_unknown_anchor (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (th_load (&t, "x: *nope\n"), -1);
  assert_non_null (strstr (t.out, "stack.yml:1:4: invalid YAML:"));
  th_free (&t);
}

static void
test_billion_laughs_bounded (void **state)
{
  th_t t;
  (void) state;
  assert_load_error (&t,
                     "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                     "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                     "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
                     "stack: stack.yml:6:36: invalid YAML: aliases expand to more than 1000000 "
                     "nodes\n");
  th_free (&t);
}

static void
test_unknown_tag (void **state)
{
  th_t t;
  (void) state;
  assert_load_error (&t, "x: !weird 1\n",
                     "stack: stack.yml:1:4: invalid YAML: unknown tag `!weird` (stack knows "
                     "!reset and !override)\n");
  th_free (&t);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_syntax_error_position),
    cmocka_unit_test (test_tab_indentation),
    cmocka_unit_test (test_duplicate_keys_all_reported),
    cmocka_unit_test (test_top_level_not_a_map),
    cmocka_unit_test (test_second_document),
    cmocka_unit_test (test_unknown_anchor),
    cmocka_unit_test (test_billion_laughs_bounded),
    cmocka_unit_test (test_unknown_tag),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

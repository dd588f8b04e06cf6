/* test_load.c — what load.c decides: which files, which directory, which
   project name; and YAML merge keys end to end. */
#include <stdlib.h>

#include "helpers.h"

static void
test_merge_keys (void **state)
{
  th_t t;
  (void) state;
  /* explicit keys win over `<<`; with a list, earlier maps win */
  assert_int_equal (th_load (&t, "x-base: &base\n  image: base\n  environment: {A: '1'}\n"
                                 "x-more: &more\n  image: more\n  hostname: more\n"
                                 "services:\n"
                                 "  web:\n    <<: [*base, *more]\n    environment: {B: '2'}\n"),
                    0);
  assert_string_equal (th_json (&t, "services.web.image"), "\"base\"");
  assert_string_equal (th_json (&t, "services.web.hostname"), "\"more\"");
  assert_string_equal (th_json (&t, "services.web.environment"), "{\"B\":\"2\"}");
  th_free (&t);
}

static void
test_merge_key_needs_a_mapping (void **state)
{
  th_t t;
  (void) state;
  assert_load_error (&t, "services:\n  web:\n    <<: nope\n    image: x\n",
                     "stack: stack.yml:3:9: invalid YAML: `<<` merges mappings, not a string\n");
  th_free (&t);
}

static void
test_default_file_and_override (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  /* stack.yml comes before compose.yaml; its .override sibling is merged */
  th_write (&t, "compose.yaml", "services:\n  other:\n    image: no\n");
  th_write (&t, "stack.yml", "services:\n  web:\n    image: base\n");
  th_write (&t, "stack.override.yml", "services:\n  web:\n    image: override\n");
  t.project_name = "p";
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (th_json (&t, "services.web.image"), "\"override\"");
  assert_string_equal (th_json (&t, "services.other"), "<absent>");
  th_free (&t);
}

static void
test_no_file_found (void **state)
{
  th_t t;
  char *expected;
  (void) state;
  th_init (&t);
  assert_int_equal (th_run (&t), -1);
  expected = xasprintf ("stack: no stack file in `%s` (looked for stack.yml, stack.yaml, "
                        "compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml); "
                        "name one with -f FILE\n",
                        t.dir);
  assert_string_equal (t.out, expected);
  free (expected);
  th_free (&t);
}

static void
test_missing_file (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  t.files[0] = "nope.yml";
  assert_int_equal (th_run (&t), -1);
  assert_string_equal (t.out,
                       "stack: cannot read stack file `nope.yml`: No such file or directory\n");
  th_free (&t);
}

static void
test_name_from_directory (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  /* the first file's directory, lower-cased, invalid characters dropped */
  th_write (&t, "My Project.App/stack.yml", "services:\n  web:\n    image: x\n");
  t.files[0] = "My Project.App/stack.yml";
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (th_json (&t, "name"), "\"myprojectapp\"");
  assert_string_equal (th_json (&t, "networks.default.name"), "\"myprojectapp_default\"");
  th_free (&t);
}

static void
test_name_precedence (void **state)
{
  th_t t;
  (void) state;
  /* -p, then COMPOSE_PROJECT_NAME (environment or .env), then name:, then the directory */
  th_init (&t);
  th_write (&t, "stack.yml", "name: fromfile\nservices: {}\n");
  th_write (&t, ".env", "COMPOSE_PROJECT_NAME=fromdotenv\n");
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (th_json (&t, "name"), "\"fromdotenv\"");
  th_free (&t);

  th_init (&t);
  th_write (&t, "stack.yml", "name: fromfile\nservices: {}\n");
  t.env[0] = "COMPOSE_PROJECT_NAME=fromenv";
  t.project_name = "fromflag";
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (th_json (&t, "name"), "\"fromflag\"");
  th_free (&t);
}

static void
test_invalid_names (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, "stack.yml", "services: {}\n");
  t.project_name = "Web App";
  assert_int_equal (th_run (&t), -1);
  assert_string_equal (t.out, "stack: -p: invalid project name `Web App`: must be lower-case "
                              "letters, digits, `-` and `_`, starting with a letter or digit\n");
  th_free (&t);

  th_init (&t);
  th_write (&t, "stack.yml", "name: _shop\nservices: {}\n");
  assert_int_equal (th_run (&t), -1);
  assert_string_equal (t.out,
                       "stack: stack.yml:1:7: name: invalid project name `_shop`: must be "
                       "lower-case letters, digits, `-` and `_`, starting with a letter or digit\n");
  th_free (&t);
}

static void
test_errors_of_every_file (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, "a.yml", "services: [\n");
  th_write (&t, "b.yml", "services:\n\tx: 1\n");
  t.files[0] = "a.yml";
  t.files[1] = "b.yml";
  t.project_name = "p";
  assert_int_equal (th_run (&t), -1);
  assert_string_equal (t.out, "stack: a.yml:2:1: invalid YAML: did not find expected node content "
                              "while parsing a flow node (line 2)\n"
                              "stack: b.yml:2:1: invalid YAML: a tab character; YAML indents "
                              "with spaces only\n");
  th_free (&t);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_merge_keys),
    cmocka_unit_test (test_merge_key_needs_a_mapping),
    cmocka_unit_test (test_default_file_and_override),
    cmocka_unit_test (test_no_file_found),
    cmocka_unit_test (test_missing_file),
    cmocka_unit_test (test_name_from_directory),
    cmocka_unit_test (test_name_precedence),
    cmocka_unit_test (test_invalid_names),
    cmocka_unit_test (test_errors_of_every_file),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

/* test_include.c — other stack files pulled in by the top-level `include:`. */
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

static int
run_main (th_t *t, const char *yaml)
{
  th_write (t, "stack.yml", yaml);
  t->project_name = "test";
  return th_run (t);
}

static void
test_resources_imported (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (
      &t, "db/compose.yml",
      "name: ignored\nservices:\n  db:\n    image: postgres\n    volumes: [data:/var/lib/db]\n"
      "volumes:\n  data: {}\nnetworks:\n  backend: {}\n");
  assert_int_equal (run_main (&t, "include:\n  - db/compose.yml\nservices:\n"
                                  "  web:\n    image: nginx\n    depends_on: [db]\n"),
                    0);
  assert_string_equal (th_json (&t, "services.db.image"), "\"postgres\"");
  assert_string_equal (th_json (&t, "services.web.image"), "\"nginx\"");
  assert_string_equal (th_json (&t, "volumes.data"), "{\"name\":\"test_data\"}");
  assert_string_equal (th_json (&t, "networks.backend"), "{\"ipam\":{},\"name\":\"test_backend\"}");
  assert_string_equal (th_json (&t, "include"), "<absent>");
  assert_string_equal (t.p->name, "test");
  th_free (&t);
}

/* The included project's .env is read, but the including project's
   environment (OS, then its own .env) wins. */
static void
test_own_env (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, ".env", "SHARED=from-main\n");
  th_write (&t, "sub/.env", "TAG=from-sub\nSHARED=from-sub\nOS=from-sub\n");
  th_write (&t, "sub/compose.yml",
            "services:\n  app:\n    image: \"app:${TAG}\"\n"
            "    labels: {shared: \"${SHARED}\", os: \"${OS}\"}\n");
  t.env[0] = "OS=from-os";
  assert_int_equal (run_main (&t, "include: [sub/compose.yml]\n"), 0);
  assert_string_equal (th_json (&t, "services.app.image"), "\"app:from-sub\"");
  assert_string_equal (th_json (&t, "services.app.labels"),
                       "{\"os\":\"from-os\",\"shared\":\"from-main\"}");
  th_free (&t);
}

/* Long form: env_file relative to the including file, project_directory
   as the base of the included file's relative paths. */
static void
test_long_form (void **state)
{
  th_t t;
  node_t *build;
  char *dir;
  (void) state;
  th_init (&t);
  th_write (&t, "envs/app.env", "TAG=long\n");
  th_write (&t, "sub/compose.yml",
            "services:\n  app:\n    image: \"app:${TAG}\"\n    build: ./src\n");
  assert_int_equal (run_main (&t,
                              "include:\n  - path: sub/compose.yml\n    env_file: envs/app.env\n"
                              "    project_directory: proj\n"),
                    0);
  assert_string_equal (th_json (&t, "services.app.image"), "\"app:long\"");
  build = node_map_get (node_map_get (node_map_get (t.p->model, "services"), "app"), "build");
  dir = xasprintf ("%s/proj", t.dir);
  assert_string_equal (node_base_dir (NULL, build), dir);
  free (dir);
  th_free (&t);
}

/* Without project_directory, relative paths are the included file's own. */
static void
test_paths_relative_to_included_file (void **state)
{
  th_t t;
  node_t *build;
  char *dir;
  (void) state;
  th_init (&t);
  th_write (&t, "sub/compose.yml", "services:\n  app:\n    build: ./src\n");
  assert_int_equal (run_main (&t, "include: [sub/compose.yml]\n"), 0);
  build = node_map_get (node_map_get (node_map_get (t.p->model, "services"), "app"), "build");
  dir = xasprintf ("%s/sub", t.dir);
  assert_string_equal (node_base_dir (NULL, build), dir);
  free (dir);
  th_free (&t);
}

/* path as a list: the later files override the first, like -f. Includes
   nest, and extends inside an included project resolves there. */
static void
test_override_list_nested_and_extends (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, "sub/compose.yml",
            "include: [deeper/compose.yml]\nservices:\n  app:\n    extends: base\n"
            "    environment: {A: a}\n  base:\n    image: busybox\n");
  th_write (&t, "sub/override.yml", "services:\n  app:\n    environment: {B: b}\n");
  th_write (&t, "sub/deeper/compose.yml", "services:\n  cache:\n    image: redis\n");
  assert_int_equal (run_main (&t, "include:\n  - path: [sub/compose.yml, sub/override.yml]\n"), 0);
  assert_string_equal (th_json (&t, "services.app.environment"), "{\"A\":\"a\",\"B\":\"b\"}");
  assert_string_equal (th_json (&t, "services.app.image"), "\"busybox\"");
  assert_string_equal (th_json (&t, "services.cache.image"), "\"redis\"");
  th_free (&t);
}

static void
test_conflict (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, "sub/compose.yml",
            "services:\n  web:\n    image: other\n  same:\n    image: same\n"
            "volumes:\n  data: {driver: local}\n");
  assert_int_equal (run_main (&t,
                              "include: [sub/compose.yml]\nservices:\n  web:\n    image: nginx\n"
                              "  same:\n    image: same\nvolumes:\n  data: {}\n"),
                    -1);
  assert_string_equal (
      t.out, "stack: stack.yml:3:3: services.web: service `web` is also defined in "
             "sub/compose.yml:2:3, which `include` imports; define it in one place only\n"
             "stack: stack.yml:8:3: volumes.data: volume `data` is also defined in "
             "sub/compose.yml:7:3, which `include` imports; define it in one place only\n");
  th_free (&t);
}

static void
test_cycle (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, "a/compose.yml", "include: [../b/compose.yml]\n");
  th_write (&t, "b/compose.yml", "include:\n  - path: ../a/compose.yml\n");
  assert_int_equal (run_main (&t, "include: [a/compose.yml]\n"), -1);
  assert_string_equal (t.out, "stack: b/compose.yml:2:11: include[0].path: include cycle: "
                              "a/compose.yml -> b/compose.yml -> a/compose.yml\n");
  th_free (&t);
}

static void
test_missing_file (void **state)
{
  th_t t;
  char *want;
  (void) state;
  th_init (&t);
  assert_int_equal (run_main (&t, "services: {}\ninclude:\n  - nope.yml\n"), -1);
  want = xasprintf ("stack: stack.yml:3:5: include[0]: cannot read `%s/nope.yml`: No such file or "
                    "directory\n",
                    t.dir);
  assert_string_equal (t.out, want);
  free (want);
  th_free (&t);
}

static void
test_missing_env_file (void **state)
{
  th_t t;
  char *want;
  (void) state;
  th_init (&t);
  th_write (&t, "sub/compose.yml", "services: {}\n");
  assert_int_equal (
      run_main (&t, "include:\n  - path: sub/compose.yml\n    env_file: sub/none.env\n"), -1);
  want = xasprintf ("stack: stack.yml:3:15: include[0].env_file: cannot read env file "
                    "`%s/sub/none.env`: No such file or directory\n",
                    t.dir);
  assert_string_equal (t.out, want);
  free (want);
  th_free (&t);
}

static void
test_bad_shapes (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  assert_int_equal (run_main (&t, "include:\n  - {env_file: a.env}\n  - [x]\n  - path: {}\n"
                                  "  - path: a.yml\n    paths: b.yml\n"),
                    -1);
  assert_string_equal (
      t.out, "stack: stack.yml:2:5: include[0]: `path` is missing: name the file to include\n"
             "stack: stack.yml:3:5: include[1]: must be a path or a mapping {path, "
             "env_file, project_directory}, not a list\n"
             "stack: stack.yml:4:11: include[2].path: must be a path or a list of paths, "
             "not a mapping\n"
             "stack: stack.yml:6:5: include[3].paths: unknown key (include takes `path`, "
             "`env_file` and `project_directory`)\n");
  th_free (&t);
  th_init (&t);
  assert_int_equal (run_main (&t, "include: sub/compose.yml\n"), -1);
  assert_string_equal (t.out, "stack: stack.yml:1:10: include: must be a list of files to include, "
                              "not a string\n");
  th_free (&t);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_resources_imported),
    cmocka_unit_test (test_own_env),
    cmocka_unit_test (test_long_form),
    cmocka_unit_test (test_paths_relative_to_included_file),
    cmocka_unit_test (test_override_list_nested_and_extends),
    cmocka_unit_test (test_conflict),
    cmocka_unit_test (test_cycle),
    cmocka_unit_test (test_missing_file),
    cmocka_unit_test (test_missing_env_file),
    cmocka_unit_test (test_bad_shapes),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

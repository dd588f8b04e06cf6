/* test_extends.c — services built on other services, in this file and others. */
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

static node_t *
service (th_t *t, const char *name)
{
  return node_map_get (node_map_get (t->p->model, "services"), name);
}

static void
test_same_file (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (th_load (&t, "services:\n"
                                 "  base:\n    image: busybox\n    environment: {A: a, B: b}\n"
                                 "    command: [sleep, infinity]\n"
                                 "  web:\n    extends: base\n    environment: [B=bee, C=c]\n"
                                 "  api:\n    extends:\n      service: base\n    image: alpine\n"),
                    0);
  assert_string_equal (th_json (&t, "services.web.image"), "\"busybox\"");
  assert_string_equal (th_json (&t, "services.web.environment"),
                       "{\"A\":\"a\",\"B\":\"bee\",\"C\":\"c\"}");
  assert_string_equal (th_json (&t, "services.web.command"), "[\"sleep\",\"infinity\"]");
  assert_string_equal (th_json (&t, "services.web.extends"), "<absent>");
  assert_string_equal (th_json (&t, "services.api.image"), "\"alpine\"");
  assert_string_equal (th_json (&t, "services.api.command"), "[\"sleep\",\"infinity\"]");
  /* the base itself is untouched */
  assert_string_equal (th_json (&t, "services.base.environment"), "{\"A\":\"a\",\"B\":\"b\"}");
  th_free (&t);
}

/* c is resolved before b uses it, whatever the order in the file. */
static void
test_chain (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (th_load (&t, "services:\n"
                                 "  a:\n    extends: b\n    labels: {from: a}\n"
                                 "  b:\n    extends: c\n    environment: {B: b}\n"
                                 "  c:\n    image: busybox\n    environment: {C: c}\n"),
                    0);
  assert_string_equal (th_json (&t, "services.a.image"), "\"busybox\"");
  assert_string_equal (th_json (&t, "services.a.environment"), "{\"B\":\"b\",\"C\":\"c\"}");
  assert_string_equal (th_json (&t, "services.a.labels"), "{\"from\":\"a\"}");
  th_free (&t);
}

/* As in Compose, dependencies are never inherited. */
static void
test_dependencies_not_inherited (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (th_load (&t, "services:\n"
                                 "  db:\n    image: postgres\n"
                                 "  base:\n    image: busybox\n    depends_on: [db]\n"
                                 "    volumes_from: [db]\n    cap_add: [NET_ADMIN]\n"
                                 "  web:\n    extends: base\n"),
                    0);
  assert_string_equal (th_json (&t, "services.web.depends_on"), "<absent>");
  assert_string_equal (th_json (&t, "services.web.volumes_from"), "<absent>");
  assert_string_equal (th_json (&t, "services.web.cap_add"), "[\"NET_ADMIN\"]");
  th_free (&t);
}

/* compose-go's loader/testdata/extends/reset.yaml */
static void
test_reset_fixture (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (th_load (&t, "services:\n  init:\n    image: alpine:latest\n"
                                 "    command: \"sleep infinity\"\n"
                                 "  base:\n    extends: { service: init }\n    command: !reset"),
                    0);
  assert_string_equal (th_json (&t, "services.base.command"), "<absent>");
  assert_string_equal (th_json (&t, "services.base.image"), "\"alpine:latest\"");
  assert_string_equal (th_json (&t, "services.init.command"), "[\"sleep\",\"infinity\"]");
  th_free (&t);
}

/* A `!reset` with nothing to reset still never reaches the model. */
static void
test_reset_alone_dropped (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (th_load (&t, "services:\n  web:\n    image: x\n    ports: !reset []\n"
                                 "    dns: [a, !reset b, c]\n"),
                    0);
  assert_string_equal (th_json (&t, "services.web.ports"), "<absent>");
  assert_string_equal (th_json (&t, "services.web.dns"), "[\"a\",\"c\"]");
  th_free (&t);
}

/* Another file, whose relative paths stay relative to its own directory;
   its own extends name services of that file. */
static void
test_other_file (void **state)
{
  th_t t;
  node_t *build;
  char *dir;
  (void) state;
  th_init (&t);
  th_write (&t, "common/services.yml",
            "services:\n  base:\n    build: ./app\n    environment: {LEVEL: base}\n"
            "  mid:\n    extends: base\n    environment: {MID: \"yes\"}\n");
  th_write (&t, "stack.yml",
            "services:\n  web:\n    extends:\n      file: common/services.yml\n      service: mid\n"
            "    environment: {LEVEL: web}\n");
  t.project_name = "test";
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (th_json (&t, "services.web.environment"),
                       "{\"LEVEL\":\"web\",\"MID\":\"yes\"}");
  assert_string_equal (th_json (&t, "services.mid"), "<absent>");
  build = node_map_get (service (&t, "web"), "build");
  assert_non_null (build);
  dir = xasprintf ("%s/common", t.dir);
  assert_string_equal (node_base_dir (NULL, build), dir);
  free (dir);
  th_free (&t);
}

/* A chain that crosses files: each `file:` is relative to where it is written. */
static void
test_chain_across_files (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, "lib/base.yml",
            "services:\n  root:\n    image: busybox\n    labels: {tier: root}\n");
  th_write (&t, "mid/mid.yml",
            "services:\n  mid:\n    extends: {file: ../lib/base.yml, service: root}\n"
            "    labels: {tier: mid}\n    user: nobody\n");
  th_write (&t, "stack.yml", "services:\n  web:\n    extends: {file: mid/mid.yml, service: mid}\n");
  t.project_name = "test";
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (th_json (&t, "services.web.image"), "\"busybox\"");
  assert_string_equal (th_json (&t, "services.web.labels"), "{\"tier\":\"mid\"}");
  assert_string_equal (th_json (&t, "services.web.user"), "\"nobody\"");
  th_free (&t);
}

/* extends in an override file may name a service of an earlier -f file. */
static void
test_with_override_file (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, "a.yml", "services:\n  base:\n    image: busybox\n    user: nobody\n");
  th_write (&t, "b.yml", "services:\n  web:\n    extends: base\n    user: root\n");
  t.files[0] = "a.yml";
  t.files[1] = "b.yml";
  t.project_name = "test";
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (th_json (&t, "services.web.image"), "\"busybox\"");
  assert_string_equal (th_json (&t, "services.web.user"), "\"root\"");
  th_free (&t);
}

static void
test_cycle (void **state)
{
  th_t t;
  (void) state;
  assert_load_error (
      &t,
      "services:\n  a:\n    image: x\n    extends: b\n  b:\n    extends: c\n"
      "  c:\n    extends: a\n  d:\n    extends: c\n",
      "stack: stack.yml:4:14: services.a.extends: extends cycle: a -> b -> c -> a\n");
  th_free (&t);
}

static void
test_self (void **state)
{
  th_t t;
  (void) state;
  assert_load_error (&t, "services:\n  a:\n    extends: {service: a}\n    image: x\n",
                     "stack: stack.yml:3:14: services.a.extends: extends cycle: a -> a\n");
  th_free (&t);
}

static void
test_cycle_across_files (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, "other.yml", "services:\n  b:\n    extends: {file: stack.yml, service: a}\n");
  th_write (&t, "stack.yml", "services:\n  a:\n    extends: {file: other.yml, service: b}\n");
  t.project_name = "test";
  assert_int_equal (th_run (&t), -1);
  assert_string_equal (t.out, "stack: other.yml:3:14: services.b.extends: extends cycle: "
                              "b (other.yml) -> a (stack.yml) -> b (other.yml)\n");
  th_free (&t);
}

static void
test_missing_service (void **state)
{
  th_t t;
  (void) state;
  assert_load_error (&t,
                     "services:\n  web:\n    extends: nope\n"
                     "  api:\n    extends:\n      service: gone\n",
                     "stack: stack.yml:3:14: services.web.extends: no service `nope` to extend\n"
                     "stack: stack.yml:6:16: services.api.extends.service: no service `gone` to "
                     "extend\n");
  th_free (&t);
}

static void
test_missing_service_in_file (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, "common.yml", "services:\n  base:\n    image: x\n");
  th_write (&t, "stack.yml",
            "services:\n  web:\n    extends:\n      file: common.yml\n      service: nope\n");
  t.project_name = "test";
  assert_int_equal (th_run (&t), -1);
  assert_string_equal (t.out, "stack: stack.yml:5:16: services.web.extends.service: no service "
                              "`nope` in `common.yml` to extend\n");
  th_free (&t);
}

static void
test_missing_file (void **state)
{
  th_t t;
  char *want;
  (void) state;
  assert_int_equal (th_load (&t, "services:\n  web:\n    extends:\n      service: base\n"
                                 "      file: ../nowhere/common.yml\n"),
                    -1);
  want = xasprintf ("stack: stack.yml:5:13: services.web.extends.file: cannot read "
                    "`%.*s/nowhere/common.yml`: No such file or directory\n",
                    (int) (strrchr (t.dir, '/') - t.dir), t.dir);
  assert_string_equal (t.out, want);
  free (want);
  th_free (&t);
}

static void
test_bad_shapes (void **state)
{
  th_t t;
  (void) state;
  assert_load_error (&t,
                     "services:\n  a:\n    extends: [base]\n"
                     "  b:\n    extends: {service: base, files: x.yml}\n"
                     "  c:\n    extends: {file: x.yml}\n"
                     "  base:\n    image: x\n",
                     "stack: stack.yml:3:14: services.a.extends: must be a service name or a "
                     "mapping {service: NAME, file: PATH}, not a list\n"
                     "stack: stack.yml:5:30: services.b.extends.files: unknown key (extends takes "
                     "`service` and `file`)\n"
                     "stack: stack.yml:7:14: services.c.extends: `service` is missing: name the "
                     "service to extend\n");
  th_free (&t);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_same_file),
    cmocka_unit_test (test_chain),
    cmocka_unit_test (test_dependencies_not_inherited),
    cmocka_unit_test (test_reset_fixture),
    cmocka_unit_test (test_reset_alone_dropped),
    cmocka_unit_test (test_other_file),
    cmocka_unit_test (test_chain_across_files),
    cmocka_unit_test (test_with_override_file),
    cmocka_unit_test (test_cycle),
    cmocka_unit_test (test_self),
    cmocka_unit_test (test_cycle_across_files),
    cmocka_unit_test (test_missing_service),
    cmocka_unit_test (test_missing_service_in_file),
    cmocka_unit_test (test_missing_file),
    cmocka_unit_test (test_bad_shapes),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

/* test_profiles.c — services enabled by --profile and COMPOSE_PROFILES. The
   input uses the normalized shapes (depends_on as a mapping), which is what
   profiles_apply sees. */
#include "helpers.h"

static const char stack[] = "services:\n"
                            "  web:\n    image: nginx\n"
                            "  debug:\n    image: busybox\n    profiles: [debug]\n"
                            "  tools:\n    image: busybox\n    profiles: [tools, debug]\n"
                            "  empty:\n    image: busybox\n    profiles: []\n";

static void
test_no_profile_active (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (th_load (&t, stack), 0);
  assert_int_equal (t.p->n_services, 2);
  assert_string_equal (t.p->services[0].name, "empty");
  assert_string_equal (t.p->services[1].name, "web");
  assert_string_equal (th_json (&t, "services.debug"), "<absent>");
  th_free (&t);
}

static void
test_profile_option (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, "stack.yml", stack);
  t.project_name = "test";
  t.profiles[0] = "tools";
  assert_int_equal (th_run (&t), 0);
  assert_int_equal (t.p->n_services, 3);
  assert_string_equal (th_json (&t, "services.tools.image"), "\"busybox\"");
  assert_string_equal (th_json (&t, "services.debug"), "<absent>");
  th_free (&t);
}

/* COMPOSE_PROFILES, comma separated; --profile would win over it. */
static void
test_compose_profiles_env (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, "stack.yml", stack);
  t.project_name = "test";
  t.env[0] = "COMPOSE_PROFILES=nothing, debug";
  assert_int_equal (th_run (&t), 0);
  assert_int_equal (t.p->n_services, 4);
  th_free (&t);
}

static void
test_star_enables_all (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, "stack.yml", stack);
  t.project_name = "test";
  t.profiles[0] = "*";
  assert_int_equal (th_run (&t), 0);
  assert_int_equal (t.p->n_services, 4);
  th_free (&t);
}

static void
test_required_dependency_disabled (void **state)
{
  th_t t;
  (void) state;
  assert_load_error (
      &t,
      "services:\n"
      "  web:\n    image: nginx\n    depends_on:\n"
      "      db:\n        condition: service_started\n        required: true\n"
      "  db:\n    image: postgres\n    profiles: [data, full]\n",
      "stack: stack.yml:5:7: services.web.depends_on.db: service `db` is required by "
      "`web` but is disabled; enable it with one of --profile data, --profile full "
      "(or make the dependency `required: false`)\n");
  th_free (&t);
}

/* A disabled service may depend on anything; an enabled one may depend on
   it when it is enabled too. */
static void
test_dependency_enabled_together (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, "stack.yml",
            "services:\n"
            "  web:\n    image: nginx\n    profiles: [dev]\n    depends_on:\n"
            "      db: {condition: service_started, required: true}\n"
            "  db:\n    image: postgres\n    profiles: [dev]\n"
            "  idle:\n    image: x\n    profiles: [other]\n    depends_on:\n"
            "      db: {condition: service_started, required: true}\n");
  t.project_name = "test";
  assert_int_equal (th_run (&t), 0);
  assert_int_equal (t.p->n_services, 0);
  th_free (&t);
  th_init (&t);
  th_write (&t, "stack.yml",
            "services:\n"
            "  web:\n    image: nginx\n    profiles: [dev]\n    depends_on:\n"
            "      db: {condition: service_started, required: true}\n"
            "  db:\n    image: postgres\n    profiles: [dev]\n");
  t.project_name = "test";
  t.profiles[0] = "dev";
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (th_json (&t, "services.web.depends_on.db.condition"), "\"service_started\"");
  th_free (&t);
}

static void
test_optional_dependency_dropped (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (th_load (&t, "services:\n"
                                 "  web:\n    image: nginx\n    depends_on:\n"
                                 "      db: {condition: service_started, required: false}\n"
                                 "      cache: {condition: service_started, required: false}\n"
                                 "  db:\n    image: postgres\n    profiles: [data]\n"
                                 "  cache:\n    image: redis\n"),
                    0);
  assert_string_equal (th_json (&t, "services.web.depends_on"),
                       "{\"cache\":{\"condition\":\"service_started\",\"required\":false}}");
  th_free (&t);
  assert_int_equal (th_load (&t, "services:\n"
                                 "  web:\n    image: nginx\n    depends_on:\n"
                                 "      db: {condition: service_started, required: false}\n"
                                 "  db:\n    image: postgres\n    profiles: [data]\n"),
                    0);
  assert_string_equal (th_json (&t, "services.web.depends_on"), "<absent>");
  th_free (&t);
}

/* network_mode/ipc `service:X`, volumes_from X and links count as required. */
static void
test_implicit_dependencies (void **state)
{
  th_t t;
  (void) state;
  assert_load_error (
      &t,
      "services:\n"
      "  web:\n    image: nginx\n    network_mode: \"service:vpn\"\n"
      "    volumes_from: [\"container:other\", \"data:ro\"]\n"
      "  vpn:\n    image: vpn\n    profiles: [vpn]\n"
      "  data:\n    image: data\n    profiles: [data]\n",
      "stack: stack.yml:4:19: services.web.network_mode: service `vpn` is required by "
      "`web` (network_mode: service:vpn) but is disabled; enable it with --profile vpn\n"
      "stack: stack.yml:5:39: services.web.volumes_from[1]: service `data` is required "
      "by `web` (volumes_from: data:ro) but is disabled; enable it with --profile "
      "data\n");
  th_free (&t);
}

/* docker/compose's e2e fixture: a profiled service depending on one without. */
static void
test_e2e_container_name_fixture (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (th_load (&t, "services:\n  foo:\n    container_name: foo_c\n"
                                 "    profiles: [ test ]\n    image: alpine\n"
                                 "    depends_on:\n      db: {condition: service_started, "
                                 "required: true}\n\n"
                                 "  bar:\n    container_name: bar_c\n    profiles: [ test ]\n"
                                 "    image: alpine\n  \n"
                                 "  db:\n    container_name: db_c\n    image: alpine"),
                    0);
  assert_int_equal (t.p->n_services, 1);
  assert_string_equal (t.p->services[0].name, "db");
  th_free (&t);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_no_profile_active),
    cmocka_unit_test (test_profile_option),
    cmocka_unit_test (test_compose_profiles_env),
    cmocka_unit_test (test_star_enables_all),
    cmocka_unit_test (test_required_dependency_disabled),
    cmocka_unit_test (test_dependency_enabled_together),
    cmocka_unit_test (test_optional_dependency_dropped),
    cmocka_unit_test (test_implicit_dependencies),
    cmocka_unit_test (test_e2e_container_name_fixture),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
